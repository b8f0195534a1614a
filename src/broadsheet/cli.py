"""The `broadsheet` command: parse arguments, call one library function, print the outcome."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, catalogs
from .build import build, check, new_issue, translation_locales
from .errors import EXIT_INPUT, BroadsheetError, Diagnostic, InvalidInput, errors_in
from .settings import Project, find_project

F = TypeVar("F", bound=Callable[..., Any])


def _report(diagnostics: Iterable[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)


def _user_errors(command: F) -> F:
    """Print a `BroadsheetError` as its message and exit with its code, never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidInput as exc:
            _report(exc.diagnostics)
            sys.exit(exc.exit_code)
        except BroadsheetError as exc:
            click.echo(f"broadsheet: {exc.message}" if ": error: " not in exc.message else exc.message, err=True)
            sys.exit(exc.exit_code)

    return run  # type: ignore[return-value]


def _project(ctx: click.Context) -> Project:
    return ctx.ensure_object(dict)["project"]  # type: ignore[no-any-return]


def _display(path: Path) -> Path:
    """Paths as the user gave them; relative to the current folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


@click.group(name="broadsheet", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="broadsheet")
@click.option(
    "-C",
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder (holding broadsheet.toml). Default: the nearest one above the current folder.",
)
@click.pass_context
@_user_errors
def main(ctx: click.Context, project_dir: Path | None) -> None:
    """Compose, check and build the weekly newsletter in every language.

    Editors write issues/<date>.yaml, check it, and build it into an HTML email
    and its plain-text part for each locale.
    """
    ctx.ensure_object(dict)["project"] = find_project(project_dir or Path.cwd())


@main.command("check")
@click.argument("issues", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@_user_errors
def check_command(ctx: click.Context, issues: tuple[Path, ...]) -> None:
    """Check issue files: print every error and warning with its place.

    Exits 0 when every file is valid (warnings allowed), 1 otherwise.
    """
    project = _project(ctx)
    failed = 0
    for path in issues:
        diagnostics = check(project, _display(path))
        _report(diagnostics)
        errors = errors_in(diagnostics)
        warnings = len(diagnostics) - len(errors)
        if errors:
            failed += 1
            click.echo(f"{_display(path)}: {len(errors)} error(s), {warnings} warning(s)", err=True)
        else:
            click.echo(f"{_display(path)}: ok" + (f" ({warnings} warning(s))" if warnings else ""))
    if failed:
        sys.exit(EXIT_INPUT)


@main.command("build")
@click.argument("issue", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-l", "--locale", "locales", multiple=True, metavar="L", help="Build only this locale (repeatable). Default: every configured locale.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder. Default: build/<date>.")
@click.option("--strict", is_flag=True, help="Fail instead of falling back to English for untranslated or fuzzy messages.")
@click.pass_context
@_user_errors
def build_command(ctx: click.Context, issue: Path, locales: tuple[str, ...], out: Path | None, strict: bool) -> None:
    """Build an issue into DIR/<locale>/email.html and email.txt.

    Untranslated text falls back to English and is reported, one warning per
    catalog; --strict makes that an error and writes nothing.
    """
    built = build(_project(ctx), _display(issue), locales, out, strict=strict)
    _report(built.diagnostics)
    for path in built.files:
        click.echo(f"wrote {_display(path)} ({path.stat().st_size / 1000:.1f} KB)")


@main.command("new")
@click.argument("day", required=False, metavar="[DATE]", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.pass_context
@_user_errors
def new_command(ctx: click.Context, day: Any) -> None:
    """Start issues/<DATE>.yaml from a commented skeleton.

    DATE is YYYY-MM-DD; by default the next publication day (a Thursday unless
    the project says otherwise). Never overwrites an existing file.
    """
    chosen: date | None = day.date() if day else None
    path = new_issue(_project(ctx), chosen)
    click.echo(f"wrote {_display(path)}")


@main.group("catalog")
def catalog_group() -> None:
    """Translators' catalogs: extract, update, status, convert-zawgyi.

    Interface strings go to locales/messages.pot, organization names to
    locales/names.pot and each issue's content to locales/issues/<date>.pot;
    translations live in locales/<lang>/LC_MESSAGES/.
    """


@catalog_group.command("extract")
@click.argument("issues", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@_user_errors
def catalog_extract(ctx: click.Context, issues: tuple[Path, ...]) -> None:
    """Write the .pot templates for ISSUES (default: every issue in issues/).

    A template is rewritten only when its messages changed.
    """
    project = _project(ctx)
    written, diagnostics = catalogs.extract(project, [_display(p) for p in issues])
    _report(diagnostics)
    for result in written:
        click.echo(f"{'wrote' if result.changed else 'unchanged'} {catalogs.shown(project, result.path)}")
    if errors_in(diagnostics):
        sys.exit(EXIT_INPUT)


@catalog_group.command("update")
@click.option("-l", "--locale", "locales", multiple=True, metavar="L", help="Only this locale (repeatable). Default: every configured locale but the source one.")
@click.pass_context
@_user_errors
def catalog_update(ctx: click.Context, locales: tuple[str, ...]) -> None:
    """Create or merge each locale's .po files from the .pot templates.

    An edited paragraph becomes fuzzy, keeping the old translation for the
    translator to revise; a deleted one becomes obsolete (#~).
    """
    project = _project(ctx)
    targets = translation_locales(project, locales)
    for result in catalogs.update(project, targets):
        click.echo(f"{'wrote' if result.changed else 'unchanged'} {catalogs.shown(project, result.path)}")


@catalog_group.command("status")
@click.argument("issue", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a table.")
@click.pass_context
@_user_errors
def catalog_status(ctx: click.Context, issue: Path | None, as_json: bool) -> None:
    """How much is translated: messages and words per locale and catalog."""
    project = _project(ctx)
    rows = catalogs.status_report(project, _display(issue) if issue else None)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], ensure_ascii=False, indent=2))
        return
    from rich import box  # only this command draws tables: keep it off every other start-up
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Translation status", box=box.SIMPLE_HEAD)
    for heading in ("locale", "catalog", "translated", "fuzzy", "untranslated", "words left", "done"):
        table.add_column(heading, justify="left" if heading in ("locale", "catalog") else "right")
    for row in rows:
        table.add_row(
            row.locale, row.domain, str(row.translated), str(row.fuzzy), str(row.untranslated),
            str(row.fuzzy_words + row.untranslated_words), f"{row.percent:.0f}%",
        )
    Console(width=max(100, Console().width)).print(table)


@catalog_group.command("convert-zawgyi")
@click.argument("catalog_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@_user_errors
def catalog_convert_zawgyi(ctx: click.Context, catalog_files: tuple[Path, ...]) -> None:
    """Convert Zawgyi-encoded Burmese translations in CATALOG_FILES to Unicode, in place."""
    project = _project(ctx)
    for path in catalog_files:
        count = catalogs.convert_zawgyi(project, path)
        click.echo(f"{_display(path)}: converted {count} message(s) from Zawgyi to Unicode")
