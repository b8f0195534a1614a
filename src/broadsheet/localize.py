"""Localize: an issue and one locale's catalogs -> that edition's copy of the issue.

Untranslated and fuzzy messages fall back to the source text, marked with
its language so that it renders correctly, and every catalog that lacked
something is reported once with its count. Nothing is silently lost.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable

import msgspec
import msgspec.structs

from .errors import Diagnostic, Severity
from .i18n import (
    INTERFACE,
    NAMES,
    Lookup,
    catalog_path,
    email_msgids,
    interface_msgids,
    issue_domain,
    load_lookup,
    name_language,
    shown,
    translations,
)
from .model import Footnote, Issue, Paragraph, Resource
from .schema import same_language
from .settings import Project


class Edition(msgspec.Struct, frozen=True):
    """What rendering one locale needs: the localized issue and the interface translations."""

    locale: str
    issue: Issue
    interface: gettext.NullTranslations
    publisher: str
    """The organization's name (settings' `[organization] name`) as the names catalog gives it, as the by-lines."""
    publisher_lang: str | None = None
    """The language of `publisher` when it is not the edition's: the source's, for want of a translation."""
    diagnostics: tuple[Diagnostic, ...] = ()
    fallback: bool = False
    """Whether some text is shown in the source language for want of a translation; the email tells its readers."""


def localize(project: Project, issue: Issue, locale: str, *, strict: bool = False) -> Edition:
    """The `locale` edition of `issue`; with `strict`, missing translations are errors."""
    source = project.settings.source_locale
    if locale == source:
        # Nothing to translate, but a name written in another script is in its own language still.
        named = _with_names(issue, lambda name: _name(name, None, source, locale))
        publisher, publisher_lang = organization_name(project, locale)
        return Edition(locale, named, gettext.NullTranslations(), publisher, publisher_lang)

    content_path = catalog_path(project, locale, issue_domain(issue))
    content = load_lookup(content_path, locale, shown(project, content_path))
    names_path = catalog_path(project, locale, NAMES)
    names = load_lookup(names_path, locale, shown(project, names_path))
    interface_path = catalog_path(project, locale, INTERFACE)
    interface = load_lookup(interface_path, locale, shown(project, interface_path))
    for key in interface_msgids(project):
        interface.get(key)
    in_email = email_msgids(project) & interface.missing
    # Content and names count what they lack as they are translated, below.

    localized = _translate(issue, locale, source, content, names)
    publisher, publisher_lang = organization_name(project, locale, names)
    interface_translations = translations(interface_path, locale, shown(project, interface_path))
    # `strict` refuses only English the email shows: a web page's message left untranslated stays a warning.
    diagnostics = tuple(
        Diagnostic(
            issue.source,
            0,
            0,
            "",
            f"{locale}: {_untranslated(project, lookup)}; "
            f"{'--strict forbids falling back to English' if refused else 'English shown'}",
            Severity.ERROR if refused else Severity.WARNING,
        )
        for lookup, in_edition in ((interface, in_email), (names, names.missing), (content, content.missing))
        if lookup.missing
        for refused in [strict and bool(in_edition)]
    )
    fallback = bool(in_email or names.missing or content.missing)
    return Edition(
        locale,
        localized,
        interface_translations,
        publisher,
        publisher_lang,
        _language_catalogs(project, issue, locale) + diagnostics,
        fallback=fallback,
    )


def organization_name(project: Project, locale: str, names: Lookup | None = None) -> tuple[str, str | None]:
    """The organization's name (`[organization] name`) in `locale`, as its names catalog (`names`, else read
    afresh) gives it, and the language it is in when that is not `locale`'s (`_name`). What the edition names
    its publisher, and the web app's pages and emails the organization."""
    settings = project.settings
    if names is None and locale != settings.source_locale:
        path = catalog_path(project, locale, NAMES)
        names = load_lookup(path, locale, shown(project, path))
    return _name(settings.organization.name, names, settings.source_locale, locale)


def _name(name: str, names: Lookup | None, source: str, locale: str) -> tuple[str, str | None]:
    """`name` as `names` (none in the source edition) translates it, and None; untranslated, as written, and the
    language it is written in (`name_language`) unless that is `locale`'s. The one place a name gets its language:
    the publisher's, an author's, each of a by-line's. A name already in `locale`'s language has nothing to
    translate: a translation its catalog holds is used, but none is not counted missing, nor a fallback."""
    written = name_language(name, source)
    own = same_language(written, locale)
    found = names.get(name, optional=own) if names is not None else None
    if found is not None:
        return found, None
    return name, None if own else written


def _untranslated(project: Project, lookup: Lookup) -> str:
    """How many of its messages `lookup` lacked, in its catalog or for want of one: a new issue's catalog was
    named as holding them untranslated when no such file was there to open."""
    counted, path = f"{len(lookup.missing)} of {len(lookup.needed)} messages", shown(project, lookup.path)
    if not lookup.exists:
        return (
            f"{counted} untranslated: {path} does not exist yet "
            "(run `broadsheet catalog extract`, then `broadsheet catalog update` to make it)"
        )
    return f"{counted} in {path} untranslated{_why_missing(lookup)}"


def _why_missing(lookup: Lookup) -> str:
    """Of what `lookup` lacked, how many are drafts marked fuzzy and how many its catalog does not hold at all,
    and what to do about each. A paragraph changed after it was translated is one or the other: `catalog update`
    offers its old translation to revise, as a draft; until then the catalog does not hold it. Without this, a
    translator's work left out read as work not done."""
    why = []
    if drafts := len(lookup.drafts):
        why.append(f"{drafts} marked fuzzy: drafts used once their translator removes the mark")
    if absent := len(lookup.absent):
        why.append(f"{absent} not in it: run `broadsheet catalog extract`, then `broadsheet catalog update`")
    return f" ({'; '.join(why)})" if why else ""


def _language_catalogs(project: Project, issue: Issue, locale: str) -> tuple[Diagnostic, ...]:
    """A warning when `locale` (`my_MM`) has no catalogs of its own but its language (`my`) has.

    gettext would fall back to the language's; the catalog commands write and count
    each locale's own folder, so reading another here would make build and `catalog
    status` disagree. Said instead, before the counts of what is untranslated.
    """
    language = locale.split("_")[0]
    own, theirs = project.locales_dir / locale, project.locales_dir / language
    if language == locale or own.is_dir() or not theirs.is_dir():
        return ()
    message = (
        f"{locale}: {shown(project, own)}/ has no catalogs, so the {locale} edition is in English; "
        f"{shown(project, theirs)}/ has the catalogs of '{language}': write '{language}' in `locales`, "
        f"or copy {shown(project, theirs)}/ to {shown(project, own)}/"
    )
    return (Diagnostic(issue.source, 0, 0, "", message, Severity.WARNING),)


def _translate(issue: Issue, locale: str, source: str, content: Lookup, names: Lookup) -> Issue:
    def text(value: str, lang: str | None = None) -> tuple[str, str | None]:
        """The translation and None, or the original and the language it is in (a title marked with its own,
        as written in this edition's language, whatever its region: `my_MM` in the `my` edition)."""
        if (lang or source) == locale or (lang and same_language(lang, locale)):
            return value, None
        found = content.get(value)
        return (found, None) if found is not None else (value, lang or source)

    title, title_lang = text(issue.title)
    summary, summary_lang = text(issue.summary) if issue.summary else ("", None)
    image = None
    if issue.image:
        alt, alt_lang = text(issue.image.alt)
        image = msgspec.structs.replace(issue.image, alt=alt, alt_lang=alt_lang)
    paragraphs = tuple(_paragraph(p, *text(p.markdown)) for p in issue.paragraphs)
    footnotes = tuple(_footnote(n, *text(n.markdown)) for n in issue.footnotes)

    categories = tuple(
        msgspec.structs.replace(
            category, resources=tuple(_resource(r, *text(r.title, r.lang)) for r in category.resources)
        )
        for category in issue.categories
    )
    translated = msgspec.structs.replace(
        issue,
        title=title,
        title_lang=title_lang,
        summary=summary,
        summary_lang=summary_lang,
        image=image,
        paragraphs=paragraphs,
        footnotes=footnotes,
        categories=categories,
        locale=locale,
    )
    return _with_names(translated, lambda value: _name(value, names, source, locale))


def _with_names(issue: Issue, name: Callable[[str], tuple[str, str | None]]) -> Issue:
    """`issue` with its author and each name of its by-lines as `name` gives it, beside the language it is in."""
    author, author_lang = name(issue.author)
    categories = tuple(
        msgspec.structs.replace(
            category,
            resources=tuple(_by(resource, [name(n) for n in resource.by]) for resource in category.resources),
        )
        for category in issue.categories
    )
    return msgspec.structs.replace(issue, author=author, author_lang=author_lang, categories=categories)


def _paragraph(paragraph: Paragraph, markdown: str, lang: str | None) -> Paragraph:
    return msgspec.structs.replace(paragraph, markdown=markdown, lang=lang)


def _footnote(note: Footnote, markdown: str, lang: str | None) -> Footnote:
    return msgspec.structs.replace(note, markdown=markdown, lang=lang)


def _resource(resource: Resource, title: str, lang: str | None) -> Resource:
    return msgspec.structs.replace(resource, title=title, lang=lang)


def _by(resource: Resource, by: list[tuple[str, str | None]]) -> Resource:
    return msgspec.structs.replace(
        resource,
        by=tuple(name for name, _lang in by),
        by_langs=tuple(name_lang for _name, name_lang in by),
    )
