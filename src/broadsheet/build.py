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

from .errors import Diagnostic, InvalidInput, UsageError
from .issue import read_issue
from .model import Issue
from .render import Email, Renderer, size_warnings, write_email
from .settings import WEEKDAYS, Project


def _locales(project: Project, requested: Sequence[str]) -> list[str]:
    configured = project.settings.locales
    unknown = [code for code in requested if code not in configured]
    if unknown:
        raise UsageError(f"unknown locale {', '.join(unknown)}; configured locales: {', '.join(configured)}")
    return list(dict.fromkeys(requested)) or list(configured)


def _read_valid(project: Project, path: Path) -> tuple[Issue, list[Diagnostic]]:
    reading = read_issue(path, project.settings)
    if reading.issue is None:
        raise InvalidInput(reading.diagnostics)
    return reading.issue, list(reading.diagnostics)


def check(project: Project, path: Path) -> list[Diagnostic]:
    """Every error and warning of the issue at `path`, its built size included."""
    reading = read_issue(path, project.settings)
    if reading.issue is None:
        return list(reading.diagnostics)
    renderer = Renderer(project)
    emails = [renderer.render(reading.issue, locale) for locale in project.settings.locales]
    limit = project.settings.html_size_warning
    return list(reading.diagnostics) + size_warnings(reading.issue, emails, limit)


@dataclass(frozen=True)
class Built:
    issue: Issue
    emails: tuple[Email, ...]
    files: tuple[Path, ...]
    diagnostics: tuple[Diagnostic, ...]


def build(project: Project, path: Path, locales: Sequence[str] = (), out: Path | None = None) -> Built:
    """Render the issue at `path` in each locale and write `OUT/<locale>/email.{html,txt}`.

    Nothing is written unless every locale renders.
    """
    chosen = _locales(project, locales)
    issue, diagnostics = _read_valid(project, path)
    renderer = Renderer(project)
    emails = [renderer.render(issue, locale) for locale in chosen]
    diagnostics += size_warnings(issue, emails, project.settings.html_size_warning)
    folder = out or project.build_dir / issue.date.isoformat()
    written = [file for email in emails for file in write_email(email, folder / email.locale)]
    return Built(issue, tuple(emails), tuple(written), tuple(diagnostics))


def next_publication_day(today: date, weekday: str) -> date:
    """The first publication weekday after `today`."""
    ahead = (WEEKDAYS.index(weekday) - today.weekday()) % 7 or 7  # type: ignore[arg-type]
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



