"""The editor's jobs on one issue, stage after stage: check it, build its editions, start a new one.

Each function reads the issue (compose), renders each locale (render) and
returns what happened; the command line only prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

import jinja2

from .catalogs import check_catalogs
from .errors import Diagnostic, InvalidInput, UsageError, errors_in
from .issue import read_issue
from .localize import localize
from .model import Issue
from .render import Email, Renderer, write_email
from .settings import WEEKDAYS, Project, Weekday


def _locales(project: Project, requested: Sequence[str]) -> list[str]:
    configured = project.settings.locales
    unknown = [code for code in requested if code not in configured]
    if unknown:
        raise UsageError(f"unknown locale {', '.join(unknown)}; configured locales: {', '.join(configured)}")
    return list(dict.fromkeys(requested)) or list(configured)


def translation_locales(project: Project, requested: Sequence[str]) -> list[str]:
    """The locales translators work on: `requested`, or every configured one but the source."""
    source = project.settings.source_locale
    if source in requested:
        raise UsageError(f"{source} is the source language; it has no catalogs to update")
    return _locales(project, requested) if requested else [code for code in project.settings.locales if code != source]


def _read_valid(project: Project, path: Path) -> tuple[Issue, list[Diagnostic]]:
    reading = read_issue(path, project.settings)
    if reading.issue is None:
        raise InvalidInput(reading.diagnostics)
    return reading.issue, list(reading.diagnostics)


def _editions(project: Project, issue: Issue, locales: Sequence[str], *, strict: bool) -> tuple[list[Email], list[Diagnostic]]:
    """Localize and render `issue` in each locale; the emails and what localizing reported."""
    renderer = Renderer(project)
    emails: list[Email] = []
    diagnostics: list[Diagnostic] = []
    for locale in locales:
        edition = localize(project, issue, locale, strict=strict or not project.settings.send_incomplete_translations)
        diagnostics += edition.diagnostics
        emails.append(renderer.render(edition))
        diagnostics += emails[-1].diagnostics
    return emails, diagnostics


def check(project: Project, path: Path) -> list[Diagnostic]:
    """Every error and warning of the issue at `path` and its catalogs, its built size included."""
    reading = read_issue(path, project.settings)
    if reading.issue is None:
        return list(reading.diagnostics)
    catalog_problems = check_catalogs(project, reading.issue)
    if errors_in(catalog_problems):
        return list(reading.diagnostics) + catalog_problems
    _, diagnostics = _editions(project, reading.issue, project.settings.locales, strict=False)
    return list(reading.diagnostics) + catalog_problems + diagnostics


@dataclass(frozen=True)
class Built:
    issue: Issue
    emails: tuple[Email, ...]
    files: tuple[Path, ...]
    diagnostics: tuple[Diagnostic, ...]


def build(project: Project, path: Path, locales: Sequence[str] = (), out: Path | None = None, *, strict: bool = False) -> Built:
    """Render the issue at `path` in each locale and write `OUT/<locale>/email.{html,txt}`.

    Nothing is written unless every locale renders; with `strict`, unless
    every message of every locale is translated.
    """
    chosen = _locales(project, locales)
    issue, diagnostics = _read_valid(project, path)
    catalog_problems = check_catalogs(project, issue)
    if errors_in(catalog_problems):
        raise InvalidInput(catalog_problems)
    emails, found = _editions(project, issue, chosen, strict=strict)
    diagnostics += catalog_problems + found
    if errors_in(found):
        raise InvalidInput(diagnostics)
    folder = out or project.build_dir / issue.date.isoformat()
    written = [file for email in emails for file in write_email(email, folder / email.locale)]
    return Built(issue, tuple(emails), tuple(written), tuple(diagnostics))


def next_publication_day(today: date, weekday: Weekday) -> date:
    """The first publication weekday after `today`."""
    ahead = (WEEKDAYS.index(weekday) - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def new_issue(project: Project, day: date | None = None, today: date | None = None) -> Path:
    """Write a commented skeleton to `issues/<date>.yaml`; never overwrites."""
    settings = project.settings
    day = day or next_publication_day(today or date.today(), settings.publication_weekday)
    target = project.issues_dir / f"{day.isoformat()}.yaml"
    if target.exists():
        raise InvalidInput([Diagnostic(str(target), 0, 0, "", "already exists; not overwritten")])
    skeleton = files("broadsheet").joinpath("skeleton.yaml.j2").read_text(encoding="utf-8")
    text = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True).from_string(skeleton).render(
        date=day, categories=settings.categories, default_author=settings.default_author
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return target



