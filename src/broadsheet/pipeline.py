"""The one driver of an issue's editions: read -> check the catalogs -> localize -> render.

`editions` runs every stage and is what check, build, send and preview call,
so that they all report the same diagnostics. The site renders web pages
instead of emails: it runs `prepare`, then `localize` and its own renderer.

    issues/<date>.yaml --read_issue--> Issue --check_catalogs--> Prepared
        --localize(locale)--> Edition --Renderer.render--> Email (+ what rendering reports: the size budget)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from .errors import Diagnostic, InvalidInput, errors_in
from .issue import read_issue
from .localize import localize
from .model import Issue
from .render import Email, Renderer
from .settings import Project


class Prepared(msgspec.Struct, frozen=True):
    """An issue read and its catalogs checked, with what both reported: ready to localize."""

    issue: Issue
    diagnostics: tuple[Diagnostic, ...]


class Editions(msgspec.Struct, frozen=True):
    """The issue, its email in each locale (in the order asked for), and every diagnostic, in the order found."""

    issue: Issue
    emails: dict[str, Email]
    diagnostics: tuple[Diagnostic, ...]


def prepare(project: Project, path: Path, shown: str | None = None, locales: Sequence[str] = ()) -> Prepared:
    """Read the issue at `path` (named `shown` in diagnostics) and check its catalogs for `locales`
    (default: every configured one; a build of some locales need not read the others' catalogs).

    Raises `InvalidInput`, with every diagnostic, when anything is an error.
    """
    reading = read_issue(path, project.settings, shown)
    if reading.issue is None:
        raise InvalidInput(reading.diagnostics)
    diagnostics = list(reading.diagnostics)
    settings = project.settings
    translated = [code for code in locales or settings.locales if code != settings.source_locale]
    if translated:
        # The translators' tooling, with Babel's catalog modules: 9 ms to import, which an
        # edition in the source language, having no catalog to check, need not pay.
        from .catalogs import check_catalogs

        diagnostics += check_catalogs(project, reading.issue, translated)
    if errors_in(diagnostics):
        raise InvalidInput(diagnostics)
    return Prepared(reading.issue, tuple(diagnostics))


def editions(
    project: Project,
    path: Path,
    locales: Sequence[str] = (),
    *,
    strict: bool = False,
    shown: str | None = None,
) -> Editions:
    """The issue at `path` rendered once per locale (default: every configured one).

    With `strict`, or when the settings refuse incomplete translations, a
    missing translation is an error. Raises `InvalidInput`, with every
    diagnostic, when anything is an error: no edition is half made.
    """
    prepared = prepare(project, path, shown, locales)
    strict = strict or not project.settings.send_incomplete_translations
    diagnostics = list(prepared.diagnostics)
    renderer = Renderer(project)
    emails: dict[str, Email] = {}
    for locale in locales or project.settings.locales:
        edition = localize(project, prepared.issue, locale, strict=strict)
        email = renderer.render(edition)
        diagnostics += [*edition.diagnostics, *email.diagnostics]
        emails[locale] = email
    if errors_in(diagnostics):
        raise InvalidInput(diagnostics)
    return Editions(prepared.issue, emails, tuple(diagnostics))
