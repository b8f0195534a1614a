"""The editor's jobs on one issue, stage after stage: check it, build its editions, start a new one.

Checking and building run the issue through the pipeline (`pipeline.editions`)
and return what happened; the command line only prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import jinja2
import msgspec

from .errors import Diagnostic, InvalidInput, UsageError
from .issue import SKELETON_PARAGRAPHS
from .model import Issue
from .pipeline import editions
from .render import Email, write_email
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
    return (
        _locales(project, requested)
        if requested
        else [code for code in project.settings.locales if code != source]
    )


def check(project: Project, path: Path) -> list[Diagnostic]:
    """Every error and warning of the issue at `path` and its catalogs, its built size included."""
    try:
        return list(editions(project, path).diagnostics)
    except InvalidInput as exc:
        return list(exc.diagnostics)


class Built(msgspec.Struct, frozen=True):
    issue: Issue
    emails: tuple[Email, ...]
    files: tuple[Path, ...]
    diagnostics: tuple[Diagnostic, ...]


def build(
    project: Project,
    path: Path,
    locales: Sequence[str] = (),
    out: Path | None = None,
    *,
    strict: bool = False,
) -> Built:
    """Render the issue at `path` in each locale and write `OUT/<locale>/email.{html,txt}`.

    Nothing is written unless every locale renders; with `strict`, unless
    every message of every locale is translated.
    """
    made = editions(project, path, _locales(project, locales), strict=strict)
    folder = out or project.build_dir / made.issue.date.isoformat()
    written = [file for email in made.emails.values() for file in write_email(email, folder / email.locale)]
    return Built(made.issue, tuple(made.emails.values()), tuple(written), made.diagnostics)


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
    from importlib.resources import files  # here: importing it (and tempfile) costs every other command

    skeleton = files("broadsheet").joinpath("skeleton.yaml.j2").read_text(encoding="utf-8")
    text = (
        jinja2.Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        .from_string(skeleton)
        .render(
            date=day,
            categories=settings.categories,
            default_author=settings.default_author,
            paragraphs=SKELETON_PARAGRAPHS,
        )
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return target
