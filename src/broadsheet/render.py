"""Rendering: an issue and a locale -> an `Email` (subject, responsive HTML, plain text).

Jinja2 templates in the project's `templates/` make MJML and the text part;
mjml-python turns the MJML into HTML; css-inline copies the template's
`<mj-style inline="inline">` rules onto the elements, for clients that drop
`<style>` blocks. Each edition keeps a size budget: resources that would take
its HTML past it are left to the web edition, fairly across categories.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from functools import cached_property
from gettext import NullTranslations
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import mjml
import msgspec
from markupsafe import Markup, escape

from . import burmese, cldr, i18n, markdown
from .atomic import write_atomic
from .errors import Diagnostic, InvalidInput, Severity
from .files import cache_folder
from .localize import Edition
from .model import PREFERENCES_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, Issue, Resource
from .schema import language_tag, same_language, text_direction
from .settings import SETTINGS_FILE, Organization, Project, Settings

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"

_INLINE_STYLE = re.compile(r"<mj-style\s+inline=\"inline\"\s*>(.*?)</mj-style>", re.S)

PREHEADER_COLUMNS = 150
"""The inbox preview made from the first paragraph, for an issue without a summary, in display columns."""

BYLINE_NAMES = 3
"""A by-line with more organizations than this shows the first two and "and N others" in the email."""


class TemplateProblem(InvalidInput):
    """A template in the project cannot be loaded or rendered; the diagnostic names the template."""


class Email(msgspec.Struct, frozen=True):
    """One locale's edition, ready to fill per recipient and send."""

    locale: str
    subject: str
    preheader: str
    html: str
    text: str
    diagnostics: tuple[Diagnostic, ...] = ()
    """What the build should say about this email: resources left to the web edition, a budget not kept."""

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


def article_html(
    issue: Issue, digits: Callable[[str], str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The editorial's paragraphs and the footnotes as safe HTML (`html`, `lang`; a footnote's `number` too), for
    one page: each footnote's first reference, wherever it is, carries the page's one `fnref-n` id."""
    numbers, cited = issue.footnote_numbers, set[int]()
    paragraphs = [
        {
            "html": Markup(
                markdown.to_html(
                    p.markdown,
                    numbers,
                    digits=digits,
                    cited=cited,
                    language=p.lang or issue.locale,
                    digits_language=issue.locale,
                )
            ),
            "lang": p.lang,
        }
        for p in issue.paragraphs
    ]
    footnotes = [
        {
            "number": note.number,
            "html": Markup(
                markdown.to_html(
                    note.markdown,
                    numbers,
                    inline=True,
                    digits=digits,
                    cited=cited,
                    language=note.lang or issue.locale,
                    digits_language=issue.locale,
                )
            ),
            "lang": note.lang,
        }
        for note in issue.footnotes
    ]
    return paragraphs, footnotes


def reading_units(text: str) -> int:
    """How much there is to read: words, counting each Burmese syllable as one."""
    if text.isascii():
        return len(text.split())
    units = 0
    for word in text.split():
        units += max(1, burmese.count_syllables(word))
    return units


def reading_minutes(issue: Issue, settings: Settings) -> int:
    """Minutes to read the editorial and footnotes, each text at the reading rate of its own language."""
    texts = [(p.lang, markdown.to_text(p.markdown, {})) for p in issue.paragraphs]
    texts += [(n.lang, markdown.to_text(n.markdown, {}, inline=True)) for n in issue.footnotes]
    read = [
        (sum(reading_units(part) for part in parts), settings.language(lang or issue.locale).reading_rate)
        for lang, parts in texts
    ]
    # Each text's units over its language's rate, summed exactly: over one denominator, every rate's multiple.
    common = math.lcm(*(rate for _, rate in read))
    units = sum(count * (common // rate) for count, rate in read)
    return max(1, -(-units // common))


def fair_shares(sizes: Sequence[int], total: int) -> list[int]:
    """How many items of each list of `sizes` to show, `total` in all: as evenly as the lists allow.

    Dealt one at a time, round after round, to each list that has some left, so
    that a short category keeps all of its items and a long one gives up the most.
    """
    shares = [0] * len(sizes)
    left = min(total, sum(sizes))
    while left:
        for index, size in enumerate(sizes):
            if left and shares[index] < size:
                shares[index] += 1
                left -= 1
    return shares


@jinja2.pass_context
def _number(context: jinja2.runtime.Context, value: int) -> str:
    """`value` written the way the edition's locale writes numbers, in its own digits."""
    locale = context["locale"]
    return burmese.native_digits(cldr.decimal(value, locale), locale)


class Renderer:
    """Renders issues of one project; templates are compiled once and reused."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.settings = project.settings
        self._inliners: dict[str, Any] = {}

    def _inline_css(self, html: str, css: str) -> str:
        """Copy `css` onto the elements of `html`; the document's own <style> blocks stay."""
        if css not in self._inliners:
            self._inliners[css] = css_inline.CSSInliner(
                inline_style_tags=False,
                keep_style_tags=True,
                load_remote_stylesheets=False,
                extra_css=css or None,
            )
        return self._inliners[css].inline(html)  # type: ignore[no-any-return]

    @cached_property
    def environment(self) -> jinja2.Environment:
        """One environment for every locale, so templates compile once per build."""
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.project.templates_dir),
            extensions=["jinja2.ext.i18n"],
            autoescape=lambda name: name is None or not name.endswith(".txt.j2"),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=_bytecode_cache(),
        )
        width = self.settings.text_width
        env.filters["wrap"] = lambda text, indent="", first=None: burmese.wrap(
            str(text), width, indent, first
        )
        env.filters["underline"] = lambda text, char="=": (
            char * min(max(map(burmese.columns, str(text).splitlines() or [""])), width)
        )
        env.filters["number"] = _number
        env.filters["names"] = _names
        env.filters["marked"] = _marked
        env.filters["lines"] = _lines
        env.filters["direction"] = text_direction
        env.filters["tag"] = language_tag
        return env

    def _not_found(self, templates: Path) -> str:
        """Why a template is not found: most often, broadsheet was run outside a project's folder."""
        if templates.is_dir():
            return "template not found"
        if not (self.project.root / SETTINGS_FILE).is_file():
            return (
                f"template not found: no {SETTINGS_FILE} in {self.project.root} or any folder above it, so this is "
                "not a project's folder; run broadsheet in one, or name one with -C DIR"
            )
        return f"template not found: the folder {templates} does not exist (templates_dir in {SETTINGS_FILE})"

    def render_template(self, name: str, interface: NullTranslations, context: dict[str, Any]) -> str:
        """The project's template `name` rendered with `interface` translations; a broken template is a TemplateProblem."""
        env = self.environment
        i18n.install(env, interface)
        templates = self.project.templates_dir
        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(
                [Diagnostic(str(exc.filename), exc.lineno, 0, "template", str(exc.message))]
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateProblem(
                [Diagnostic(str(templates / str(exc.name)), 0, 0, "", self._not_found(templates))]
            ) from None
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(
                [Diagnostic(str(templates / name), 0, 0, "", f"template uses an unknown name: {exc.message}")]
            ) from None
        except i18n.MessageFormatError as exc:
            # Jinja2 maps the traceback's frames to the template lines that raised. (`traceback` is imported
            # here, where a template has gone wrong: every build's start paid for it.)
            import traceback

            lines = [
                (frame.filename, frame.lineno or 0)
                for frame in traceback.extract_tb(exc.__traceback__)
                if frame.filename.endswith(".j2")
            ]
            where, line = lines[-1] if lines else (str(templates / name), 0)
            raise TemplateProblem([Diagnostic(where, line, 0, "", str(exc))]) from None

    def render(self, edition: Edition) -> Email:
        """The email of one edition, within the size budget: MJML made into HTML, and the text part.

        When every resource does not fit the budget, the most that do are listed,
        shared fairly across categories (found by bisection: a few renders more,
        only for editions that need it), and each category links to the rest on
        the web edition.
        """
        context = self._context(edition)
        settings = self.settings
        cap = settings.email_max_resources_per_category
        categories = edition.issue.categories
        sizes = [len(c.resources) if cap is None else min(cap, len(c.resources)) for c in categories]
        budget = settings.email_max_html_kb * 1000
        email = self._render(edition, context, sizes)
        if email.html_bytes <= budget:
            return email
        # The most resources that fit lie in [fits, too_many): bisect.
        fits, too_many = 0, sum(sizes)
        fitting = self._render(edition, context, fair_shares(sizes, 0))
        while fitting.html_bytes <= budget and too_many - fits > 1:
            middle = (fits + too_many) // 2
            candidate = self._render(edition, context, fair_shares(sizes, middle))
            if candidate.html_bytes <= budget:
                fits, fitting = middle, candidate
            else:
                too_many = middle
        warnings = self._budget_warnings(edition, sizes, fair_shares(sizes, fits), fitting)
        return Email(fitting.locale, fitting.subject, fitting.preheader, fitting.html, fitting.text, warnings)

    def _budget_warnings(
        self, edition: Edition, sizes: Sequence[int], shown: Sequence[int], email: Email
    ) -> tuple[Diagnostic, ...]:
        """A warning at the first resource the budget left out (not the cap), and one if even none fit."""
        issue, locale = edition.issue, edition.locale
        kb = self.settings.email_max_html_kb
        warnings = []
        first = next(
            ((c, n) for c, n, size in zip(issue.categories, shown, sizes, strict=True) if n < size), None
        )
        if first is not None:
            category, index = first
            warnings.append(
                Diagnostic(
                    issue.source,
                    category.resources[index].line,
                    0,
                    f"resources.{category.key}[{index}]",
                    f"{locale}: {sum(sizes) - sum(shown)} of {len(issue.resources)} resources left out of the email to keep its HTML under "
                    f"{kb} KB (email_max_html_kb); it links to the web edition, which lists them all",
                    Severity.WARNING,
                )
            )
        if email.html_bytes > kb * 1000:
            warnings.append(
                Diagnostic(
                    issue.source,
                    0,
                    0,
                    "",
                    f"{locale}: the HTML is {email.html_bytes / 1000:.0f} KB even without resources, over {kb} KB "
                    "(email_max_html_kb); Gmail clips messages over about 102 KB and hides the rest, unsubscribe link included",
                    Severity.WARNING,
                )
            )
        return tuple(warnings)

    def _render(self, edition: Edition, context: dict[str, Any], shown: Sequence[int]) -> Email:
        """The email listing the first `shown[i]` resources of category i."""
        view_url = context["view_url"]
        context = context | {
            "categories": [
                {
                    "key": category.key,
                    "label": category.label,
                    "total": len(category.resources),
                    "resources": [_listed(resource) for resource in category.resources[:count]],
                    "more": len(category.resources) - count,
                    "more_url": f"{view_url}#{category.key}",
                }
                for category, count in zip(edition.issue.categories, shown, strict=True)
                if category.resources
            ],
        }
        source = self.render_template(HTML_TEMPLATE, edition.interface, context)
        text = self.render_template(TEXT_TEMPLATE, edition.interface, context)
        css = "\n".join(_INLINE_STYLE.findall(source))
        # mjml-python writes combining marks in attribute values as `\u{103a}`, which
        # garbles Burmese alt text and titles; character references pass through it
        # intact, and the CSS inliner below writes them back as characters.
        mjml_source = _INLINE_STYLE.sub("", source).encode("ascii", "xmlcharrefreplace").decode("ascii")
        try:
            html = mjml.mjml2html(mjml_source)
        except ValueError as exc:
            raise TemplateProblem(
                [
                    Diagnostic(
                        str(self.project.templates_dir / HTML_TEMPLATE),
                        0,
                        0,
                        "",
                        f"the template made invalid MJML: {exc}",
                    )
                ]
            ) from None
        html = self._inline_css(html, css)
        return Email(edition.locale, edition.issue.title, context["preheader"], html, text)

    def _context(self, edition: Edition) -> dict[str, Any]:
        issue, locale = edition.issue, edition.locale
        numbers = issue.footnote_numbers
        settings = self.settings

        def digits(text: str) -> str:
            return burmese.native_digits(text, locale)

        paragraphs, footnotes = article_html(issue, digits)
        web_url = settings.web_url.rstrip("/")
        day = issue.date.isoformat()
        return {
            "locale": locale,
            "issue": issue,
            "language": settings.language(locale),
            "other_languages": settings.other_languages(locale),
            "date": burmese.native_digits(cldr.long_date(issue.date, locale), locale),
            "minutes": reading_minutes(issue, settings),
            "fallback": edition.fallback,
            "preheader": preheader(issue),
            "paragraphs": paragraphs,
            "paragraphs_text": [
                text
                for p in issue.paragraphs
                for text in markdown.to_text(p.markdown, numbers, digits=digits)
            ],
            "footnotes": [
                html
                | {"text": " ".join(markdown.to_text(note.markdown, numbers, inline=True, digits=digits))}
                for html, note in zip(footnotes, issue.footnotes, strict=True)
            ],
            **publisher_values(settings, edition),
            "view_url": f"{web_url}/{locale}/{day}/",
            # Each other edition named in its own language, for a reader who would rather read that one,
            # and in this edition's, for a reader who cannot read that script.
            "other_editions": [
                {
                    "locale": other,
                    "name": cldr.language_name(other, other),
                    "gloss": cldr.language_name(other, locale),
                    "url": f"{web_url}/{other}/{day}/",
                }
                for other in settings.locales
                if other != locale
            ],
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
            "text_width": settings.text_width,
            "preferences_url": PREFERENCES_PLACEHOLDER,
        }


def _listed(resource: Resource) -> dict[str, Any]:
    """A resource as the email lists it: a by-line of many organizations cut to two and a count."""
    shown = len(resource.by) if len(resource.by) <= BYLINE_NAMES else 2
    return {
        "title": resource.title,
        "url": resource.url,
        "lang": resource.lang,
        "by": resource.by[:shown],
        "by_langs": resource.by_langs[:shown],
        "others": len(resource.by) - shown,
    }


def join_names(names: Sequence[str], locale: str) -> str:
    """`names` separated as the locale separates the items of a list: "A, B" in English, "A၊ B" in Burmese."""
    return cldr.list_separator(locale).join(names)


@jinja2.pass_context
def _names(context: jinja2.runtime.Context, names: Sequence[str], langs: Sequence[str | None] = ()) -> str:
    """`names` as a list in the edition's language; in HTML, each in a language of its own (`langs`, a name left
    in English in the Burmese edition) marked with it, as `_marked` marks a text."""
    locale = context["locale"]
    if not context.eval_ctx.autoescape:
        return join_names(names, locale)
    marked = (
        i18n.in_language(name, langs[i] if i < len(langs) else None, locale) for i, name in enumerate(names)
    )
    return escape(cldr.list_separator(locale)).join(marked)


@jinja2.pass_context
def _marked(context: jinja2.runtime.Context, text: str, lang: str | None) -> str:
    """In HTML, `text` in a `<span>` marked with `lang` when that is not the edition's language (an author's name
    left in English in a Burmese sentence); in plain text, `text` as it is."""
    if not context.eval_ctx.autoescape:
        return text
    return i18n.in_language(text, lang, context["locale"])


def preheader(issue: Issue) -> str:
    """What an inbox shows after the subject, and a search engine or a shared link under the page's title: the
    summary, or else the first paragraph's text cut short."""
    if issue.summary or not issue.paragraphs:
        return issue.summary
    text = markdown.to_text(issue.paragraphs[0].markdown, issue.footnote_numbers, bare=True)
    return burmese.shorten(" ".join(text), PREHEADER_COLUMNS)


def publisher_values(settings: Settings, edition: Edition) -> dict[str, Any]:
    """What the masthead and footer of `edition`'s email and pages say of the publisher: its name as the edition
    gives it, its postal address and links, each text marked with its language where that is not the edition's.
    The address is written in the settings in the source language, and no catalog translates it."""
    source = settings.source_locale
    return {
        "organization": settings.organization,
        "publisher": edition.publisher,
        "publisher_lang": edition.publisher_lang,
        "address": footer_address(settings.organization),
        "address_lang": None if same_language(source, edition.locale) else source,
    }


def footer_address(organization: Organization) -> str:
    """The postal address, one line of it a line, without the organization's name when it is the first part of
    it (`Progressive Voice, P.O. Box 000`, not `Progressive Voices Network`): footers show the name just above."""
    lines = [" ".join(line.split()) for line in organization.address.splitlines()]
    address = "\n".join(line for line in lines if line)
    name = re.escape(" ".join(organization.name.split()))
    return re.sub(rf"\A{name}\s*(?:,\s*|\n|\Z)", "", address)


def _lines(text: str) -> Markup:
    """`text` escaped, each of its lines on a line of its own in HTML."""
    return Markup("<br>").join(escape(line) for line in text.splitlines())


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept in the user's cache between runs; none where that folder cannot be made.

    Jinja2 compiles every template anew in each process: 200 to 275 ms for the
    email's and the site's four templates here, 2 to 14 ms loaded from the cache
    (benchmarks/README.md). Entries are keyed by template path and checked against
    the source, so an edited template is compiled again.
    """
    folder = cache_folder("jinja2")
    return None if folder is None else jinja2.FileSystemBytecodeCache(str(folder))


def write_email(email: Email, folder: Path) -> list[Path]:
    """Write `email.html` and `email.txt` to `folder`, each replaced whole or not at all."""
    return [
        write_atomic(folder / name, content.encode("utf-8"))
        for name, content in (("email.html", email.html), ("email.txt", email.text))
    ]
