"""Rendering: an issue and a locale -> an `Email` (subject, responsive HTML, plain text).

Jinja2 templates in the project's `templates/` make MJML and the text part;
mjml-python turns the MJML into HTML; css-inline copies the template's
`<mj-style inline="inline">` rules onto the elements, for clients that drop
`<style>` blocks.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from functools import cached_property
from gettext import NullTranslations
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import mjml
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup

from . import burmese, markdown
from .atomic import write_atomic
from .errors import Diagnostic, InvalidInput, Severity
from .localize import Edition
from .model import PREFERENCES_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, Issue
from .settings import Project

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"

_INLINE_STYLE = re.compile(r"<mj-style\s+inline=\"inline\"\s*>(.*?)</mj-style>", re.S)


class TemplateProblem(InvalidInput):
    """A template in the project cannot be loaded or rendered; the diagnostic names the template."""


@dataclass(frozen=True)
class Email:
    """One locale's edition, ready to fill per recipient and send."""

    locale: str
    subject: str
    preheader: str
    html: str
    text: str

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


def reading_units(text: str) -> int:
    """How much there is to read: words, counting each Burmese syllable as one."""
    if text.isascii():
        return len(text.split())
    units = 0
    for word in text.split():
        units += max(1, burmese.count_syllables(word))
    return units


def reading_minutes(issue: Issue, rate: int) -> int:
    """Minutes to read the editorial and footnotes at `rate` words (or syllables) a minute."""
    units = 0
    for paragraph in issue.paragraphs:
        units += sum(reading_units(p) for p in markdown.to_text(paragraph.markdown, {}))
    for note in issue.footnotes:
        units += sum(reading_units(p) for p in markdown.to_text(note.markdown, {}, inline=True))
    return max(1, math.ceil(units / rate))


@jinja2.pass_context
def _number(context: jinja2.runtime.Context, value: int) -> str:
    """`value` written the way the edition's locale writes numbers, in its own digits."""
    locale = context["locale"]
    return burmese.native_digits(format_decimal(value, locale=locale), locale)


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
        )
        width = self.settings.text_width
        env.filters["wrap"] = lambda text, indent="", first=None: burmese.wrap(str(text), width, indent, first)
        env.filters["underline"] = lambda text, char="=": char * min(burmese.columns(str(text)), width)
        env.filters["number"] = _number
        return env

    def render_template(self, name: str, interface: NullTranslations, context: dict[str, Any]) -> str:
        """The project's template `name` rendered with `interface` translations; a broken template is a TemplateProblem."""
        env = self.environment
        env.install_gettext_translations(interface, newstyle=True)  # type: ignore[attr-defined]
        templates = self.project.templates_dir
        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem([Diagnostic(str(exc.filename), exc.lineno, 0, "template", str(exc.message))]) from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateProblem([Diagnostic(str(templates / str(exc.name)), 0, 0, "", "template not found")]) from None
        except jinja2.UndefinedError as exc:
            raise TemplateProblem([Diagnostic(str(templates / name), 0, 0, "", f"template uses an unknown name: {exc.message}")]) from None

    def render(self, edition: Edition) -> Email:
        """The email of one edition: MJML made into HTML once, and the text part."""
        context = self._context(edition.issue, edition.locale)
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
                [Diagnostic(str(self.project.templates_dir / HTML_TEMPLATE), 0, 0, "", f"the template made invalid MJML: {exc}")]
            ) from None
        html = self._inline_css(html, css)
        return Email(edition.locale, edition.issue.title, context["preheader"], html, text)

    def _context(self, issue: Issue, locale: str) -> dict[str, Any]:
        numbers = issue.footnote_numbers
        summary = issue.summary
        first_paragraph = " ".join(markdown.to_text(issue.paragraphs[0].markdown, numbers)) if issue.paragraphs else ""
        preheader = summary or textwrap.shorten(first_paragraph, 150, placeholder="…")
        settings = self.settings

        def digits(text: str) -> str:
            return burmese.native_digits(text, locale)

        others = sorted((set(settings.locales) | set(settings.languages)) - {locale})
        web_url = settings.web_url.rstrip("/")
        day = issue.date.isoformat()
        return {
            "locale": locale,
            "issue": issue,
            "language": settings.language(locale),
            "other_languages": {code: settings.language(code) for code in others},
            "date": burmese.native_digits(format_date(issue.date, format="long", locale=locale), locale),
            "minutes": reading_minutes(issue, settings.language(locale).reading_rate),
            "preheader": preheader,
            "paragraphs": [
                {"html": Markup(markdown.to_html(p.markdown, numbers, digits=digits)), "lang": p.lang}
                for p in issue.paragraphs
            ],
            "paragraphs_text": [
                text for p in issue.paragraphs for text in markdown.to_text(p.markdown, numbers, digits=digits)
            ],
            "footnotes": [
                {
                    "number": note.number,
                    "html": Markup(markdown.to_html(note.markdown, numbers, inline=True, digits=digits)),
                    "text": " ".join(markdown.to_text(note.markdown, numbers, inline=True, digits=digits)),
                    "lang": note.lang,
                }
                for note in issue.footnotes
            ],
            "categories": issue.categories,
            "organization": self.settings.organization,
            "view_url": f"{web_url}/{locale}/{day}/",
            # Each other edition named in its own language, for a reader who would rather read that one.
            "other_editions": [
                {"locale": other, "name": Locale.parse(other).get_display_name(other) or other, "url": f"{web_url}/{other}/{day}/"}
                for other in settings.locales
                if other != locale
            ],
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
            "preferences_url": PREFERENCES_PLACEHOLDER,
        }


def size_warnings(issue: Issue, emails: list[Email], limit: int) -> list[Diagnostic]:
    return [
        Diagnostic(
            issue.source,
            0,
            0,
            "",
            f"{email.locale}: the HTML is {email.html_bytes / 1000:.0f} KB, over {limit / 1000:.0f} KB; "
            "Gmail clips messages over about 102 KB and hides the rest, unsubscribe link included",
            Severity.WARNING,
        )
        for email in emails
        if email.html_bytes > limit
    ]


def write_email(email: Email, folder: Path) -> list[Path]:
    """Write `email.html` and `email.txt` to `folder`, each replaced whole or not at all."""
    return [write_atomic(folder / name, content.encode("utf-8")) for name, content in (("email.html", email.html), ("email.txt", email.text))]
