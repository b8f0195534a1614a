"""Publishing: every issue in every locale -> a static web archive, with an Atom feed per locale.

Pages live at `OUT/<locale>/<date>/index.html`, the address the email's
"view in browser" link gives (`web_url/<locale>/<date>/`). Links between
pages are relative, so the archive also works opened from disk.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]  # feedgen ships no type hints
from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # feedgen's own XML library

from . import __version__, burmese, cldr
from .atomic import write_changed
from .catalogs import shown
from .errors import Diagnostic, InvalidInput, errors_in
from .issue import dated_alike, issue_files, read_issue
from .localize import Edition, localize
from .model import Issue
from .pipeline import Prepared, prepare
from .render import Renderer, article_html, preheader, publisher_values
from .schema import iso_date, language_tag
from .settings import Project

INDEX_TEMPLATE = "site/index.html.j2"
ISSUE_TEMPLATE = "site/issue.html.j2"
PAGES_LIST = ".broadsheet-pages"
"""In OUT, the files the last `site` wrote there, one a line: the next build removes those it no longer writes
(the pages of an issue taken out of `issues/`, of a locale no longer configured), and nothing else in OUT."""
PAGE_NAMES = ("index.html", "feed.atom")


@dataclass(frozen=True)
class Alternate:
    """Another locale's version of a page: its code, its name in its own language, and where it is."""

    locale: str
    name: str
    href: str
    """Relative to the page that links to it."""
    url: str
    """Absolute, under `web_url`."""


def _dated_by(project: Project, until: date | None) -> tuple[list[Path], list[Path]]:
    """The issue files to publish, and those dated after `until` by their names (next week's draft, perhaps
    unfinished), which are not even read; all of them to publish when `until` is None."""
    published: list[Path] = []
    later: list[Path] = []
    for path in issue_files(project.issues_dir):
        day = iso_date(path.stem)
        (later if until and day and day > until else published).append(path)
    return published, later


def read_issues(
    project: Project, paths: Sequence[Path], until: date | None = None
) -> tuple[list[Prepared], list[Path]]:
    """The issues at `paths` dated `until` at the latest (all when None), read and checked, newest first, and the
    paths of those dated later; any invalid one stops everything, with all their errors.

    A file named after its date is left out unread when that date is later (`_dated_by`); one named otherwise
    (`special.yaml`) tells its date only once read, and is left out when it is later, with its errors if any.
    """
    prepared: list[Prepared] = []
    later: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        try:
            found = prepare(project, path, shown(project, path))
        except InvalidInput as exc:
            if until and not iso_date(path.stem) and _dated_after(project, path, until):
                # Next month's special, unfinished: its errors wait with it, as a dated file's draft does.
                later.append(path)
            else:
                problems += errors_in(exc.diagnostics)
            continue
        if until and found.issue.date > until:
            later.append(path)
        else:
            prepared.append(found)
    if problems:
        raise InvalidInput(problems)
    if not prepared:
        dated = f" dated {until} or earlier" if until else ""
        raise InvalidInput(
            [Diagnostic(str(project.issues_dir), 0, 0, "", f"no issue files (*.yaml){dated} to publish")]
        )
    repeated = dated_alike([found.issue for found in prepared])
    if repeated:
        raise InvalidInput(repeated)
    return sorted(prepared, key=lambda found: found.issue.date, reverse=True), later


def _dated_after(project: Project, path: Path, until: date) -> bool:
    """Whether the file at `path`, which has errors, gives a date after `until` all the same."""
    day = read_issue(path, project.settings).date
    return day is not None and day > until


@dataclass(frozen=True)
class Published:
    """What `build_site` wrote (the pages and feeds new or changed), and the warnings of reading, checking and localizing each issue (as build's, without the email's size budget)."""

    written: tuple[Path, ...]
    diagnostics: tuple[Diagnostic, ...]
    later: tuple[Path, ...] = ()
    """The issue files left out, dated after the day the site was built for."""
    removed: tuple[Path, ...] = ()
    """The files of the previous build that this one no longer writes, taken out of OUT."""
    pages: int = 0
    """How many pages and feeds the archive holds, `written` (those new or changed) among them."""


def build_site(project: Project, out: Path | None = None, *, until: date | None = None) -> Published:
    """Write the archive of every issue to OUT (default `<build_dir>/site`), of those dated `until` at the
    latest when it is given.

    Every page is rendered before any is written: an invalid issue or a broken
    template leaves OUT as it was.
    """
    paths, later = _dated_by(project, until)
    prepared, read_later = read_issues(project, paths, until)
    issues = [found.issue for found in prepared]
    publisher = _Publisher(project)
    files: dict[Path, str] = {}
    diagnostics = [found for one in prepared for found in one.diagnostics]
    for locale in project.settings.locales:
        editions = [localize(project, issue, locale) for issue in issues]
        diagnostics += [found for edition in editions for found in edition.diagnostics]
        files[Path(locale, "index.html")] = publisher.index(locale, editions)
        for edition in editions:
            files[Path(locale, edition.issue.date.isoformat(), "index.html")] = publisher.issue_page(
                edition, issues
            )
        files[Path(locale, "feed.atom")] = publisher.feed(locale, editions)
    folder = out or project.build_dir / "site"
    stale = _no_longer_written(folder, files)
    written = tuple(
        path
        for name, content in files.items()
        if write_changed(path := folder / name, content.encode("utf-8"))
    )
    removed = _remove(folder, stale)
    listed = "".join(f"{name.as_posix()}\n" for name in sorted(files))
    write_changed(folder / PAGES_LIST, listed.encode("utf-8"))
    return Published(written, tuple(diagnostics), tuple(sorted(later + read_later)), removed, len(files))


def _no_longer_written(folder: Path, files: Mapping[Path, str]) -> list[Path]:
    """The files `folder`'s list of pages names that are not among `files`: only pages and feeds inside it,
    whatever else a list edited by hand may hold."""
    try:
        listed = (folder / PAGES_LIST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    names = {Path(line) for line in listed if line}
    return sorted(
        folder / name
        for name in names - set(files)
        if not name.is_absolute() and ".." not in name.parts and name.name in PAGE_NAMES
    )


def _remove(folder: Path, stale: Sequence[Path]) -> tuple[Path, ...]:
    """Delete the `stale` files that are still there, and the folders inside `folder` they leave empty."""
    removed: list[Path] = []
    for path in stale:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
        for parent in path.parents:
            if parent == folder or any(parent.iterdir()):
                break
            parent.rmdir()
    return tuple(removed)


def _language_name(locale: str) -> str:
    return cldr.language_name(locale, locale)


class _Publisher:
    """Renders the pages and feeds of one project, with the email's Jinja2 environment and filters."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.settings = project.settings
        self.base_url = self.settings.web_url.rstrip("/")
        self.renderer = Renderer(project)

    def url(self, locale: str, day: str | None = None) -> str:
        return f"{self.base_url}/{locale}/{day}/" if day else f"{self.base_url}/{locale}/"

    def alternates(self, locale: str, day: str | None, root: str) -> list[Alternate]:
        """The page in every other locale, then x-default (the source locale's)."""
        path = f"{day}/index.html" if day else "index.html"
        found = [
            Alternate(code, _language_name(code), f"{root}{code}/{path}", self.url(code, day))
            for code in self.settings.locales
            if code != locale
        ]
        source = self.settings.source_locale
        return [
            *found,
            Alternate("x-default", _language_name(source), f"{root}{source}/{path}", self.url(source, day)),
        ]

    def date(self, issue: Issue, locale: str) -> str:
        return burmese.native_digits(cldr.long_date(issue.date, locale), locale)

    def index(self, locale: str, editions: Sequence[Edition]) -> str:
        entries = [
            {
                "issue": edition.issue,
                "date": self.date(edition.issue, locale),
                "href": f"{edition.issue.date.isoformat()}/index.html",
            }
            for edition in editions
        ]
        context = self._page(editions[0], None, "../") | {"entries": entries, "home": "index.html"}
        # Every edition of a locale has the same interface translations.
        return self._render(INDEX_TEMPLATE, editions[0].interface, context)

    def issue_page(self, edition: Edition, issues: Sequence[Issue]) -> str:
        issue, locale = edition.issue, edition.locale

        def digits(text: str) -> str:
            return burmese.native_digits(text, locale)

        context = self._page(edition, issue.date.isoformat(), "../../") | {
            "issue": issue,
            "date": self.date(issue, locale),
            "home": "../index.html",
            "description": preheader(issue),
        }
        context["paragraphs"], context["footnotes"] = article_html(issue, digits)
        return self._render(ISSUE_TEMPLATE, edition.interface, context)

    def _page(self, edition: Edition, day: str | None, root: str) -> dict[str, Any]:
        """What every page of `edition`'s locale shows: its language and type, the publisher, the other locales."""
        settings, locale = self.settings, edition.locale
        return {
            "locale": locale,
            "language": settings.language(locale),
            "other_languages": settings.other_languages(locale),
            **publisher_values(settings, edition),
            "canonical": self.url(locale, day),
            "alternates": self.alternates(locale, day, root),
            "feed": f"{root}{locale}/feed.atom",
        }

    def _render(self, name: str, interface: gettext.NullTranslations, context: dict[str, Any]) -> str:
        return self.renderer.render_template(name, interface, context)

    def feed(self, locale: str, editions: Sequence[Edition]) -> str:
        """An Atom feed of the locale's newest editions (`feed_entries`), newest first, dated by the issues alone so
        rebuilds match."""
        organization = self.settings.organization
        # Every edition of a locale names the publisher alike.
        publisher = editions[0].publisher
        feed = FeedGenerator()
        feed.id(self.url(locale))
        feed.title(publisher)
        feed.author({"name": publisher, **({"email": organization.email} if organization.email else {})})
        feed.link(href=self.url(locale), rel="alternate")
        feed.link(href=f"{self.url(locale)}feed.atom", rel="self")
        feed.language(language_tag(locale))
        feed.generator("broadsheet", version=__version__)
        feed.updated(_midnight(editions[0].issue))
        newest = editions[: self.settings.feed_entries]
        for edition in newest:
            issue = edition.issue
            url = self.url(locale, issue.date.isoformat())
            entry = feed.add_entry(order="append")
            entry.id(url)
            entry.title(issue.title)
            entry.link(href=url, rel="alternate")
            entry.author({"name": issue.author})
            entry.updated(_midnight(issue))
            entry.published(_midnight(issue))
            if issue.summary:
                entry.summary(issue.summary)
        atom: bytes = feed.atom_str(pretty=True)
        return _marked(atom, newest).decode("utf-8")


def _marked(atom: bytes, editions: Sequence[Edition]) -> bytes:
    """The feed `atom` with each text that is not in the feed's language marked with its own (`xml:lang`), as the
    pages mark it: the publisher's name (the feed's title and author) and each entry's title, summary and author.
    An English title left untranslated in the Burmese feed was taken for Burmese by feed readers (feedgen sets a
    language on the feed alone)."""
    publisher_lang = editions[0].publisher_lang
    marks = [
        (edition.issue.title_lang, edition.issue.summary_lang, edition.issue.author_lang)
        for edition in editions
    ]
    if not publisher_lang and not any(lang for langs in marks for lang in langs):
        return atom
    tree = etree.fromstring(atom)
    if publisher_lang:
        for path in (f"{_ATOM}title", f"{_ATOM}author/{_ATOM}name"):
            element = tree.find(path)
            if element is not None:
                element.set(_XML_LANG, language_tag(publisher_lang))
    for entry, langs in zip(tree.iterfind(f"{_ATOM}entry"), marks, strict=True):
        for path, lang in zip(("title", "summary", f"author/{_ATOM}name"), langs, strict=True):
            element = entry.find(f"{_ATOM}{path}")
            if lang and element is not None:
                element.set(_XML_LANG, language_tag(lang))
    marked: bytes = etree.tostring(tree, pretty_print=True, encoding="UTF-8", xml_declaration=True)
    return marked


_ATOM = "{http://www.w3.org/2005/Atom}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _midnight(issue: Issue) -> datetime:
    return datetime.combine(issue.date, time(0, 0), tzinfo=UTC)
