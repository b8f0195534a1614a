"""The translators' commands: `broadsheet catalog extract`, `update`, `status` and `convert-zawgyi`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import catalogs
from ..errors import EXIT_INPUT, errors_in
from .output import print_table, project_of, report, shown


@click.group("catalog")
def catalog_group() -> None:
    """Translators' catalogs: extract, update, status, convert-zawgyi.

    Interface strings go to locales/messages.pot, organization names to
    locales/names.pot and each issue's content to locales/issues/<date>.pot;
    translations live in locales/<lang>/LC_MESSAGES/.
    """


@catalog_group.command("extract")
@click.argument("issues", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def catalog_extract(ctx: click.Context, issues: tuple[Path, ...]) -> None:
    """Write the .pot templates for ISSUES (default: every issue in issues/).

    A template is rewritten only when its messages changed. locales/names.pot
    holds the names of every issue in issues/, whichever are named; an issue
    with errors gives none until they are fixed, and keeps those it gave
    before.
    """
    project = project_of(ctx)
    written, diagnostics = catalogs.extract(project, [shown(p) for p in issues])
    report(diagnostics)
    for result in written:
        click.echo(f"{'wrote' if result.changed else 'unchanged'} {catalogs.shown(project, result.path)}")
    if errors_in(diagnostics):
        sys.exit(EXIT_INPUT)


@catalog_group.command("update")
@click.option(
    "-l",
    "--locale",
    "locales",
    multiple=True,
    metavar="L",
    help="Only this locale (repeatable). Default: every configured locale but the source one.",
)
@click.pass_context
def catalog_update(ctx: click.Context, locales: tuple[str, ...]) -> None:
    """Create or merge each locale's .po files from the .pot templates.

    An edited paragraph becomes fuzzy, keeping the old translation for the
    translator to revise; a deleted one becomes obsolete (#~). Each catalog
    written is followed by how many translations became fuzzy or obsolete.
    """
    from ..build import translation_locales

    project = project_of(ctx)
    targets = translation_locales(project, locales)
    for result in catalogs.update(project, targets):
        note = f" ({result.note})" if result.note else ""
        click.echo(
            f"{'wrote' if result.changed else 'unchanged'} {catalogs.shown(project, result.path)}{note}"
        )


@catalog_group.command("status")
@click.argument("issue", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a table.")
@click.pass_context
def catalog_status(ctx: click.Context, issue: Path | None, as_json: bool) -> None:
    """How much is translated: messages and words per locale and catalog.

    Messages are counted as catalog extract last wrote the .pot templates:
    run it first after a template changed. With ISSUE, only its catalog and
    the shared ones (messages, names), and the issue's messages as it is now
    (those not extracted yet counted untranslated, as the build counts them).
    """
    project = project_of(ctx)
    rows = catalogs.status_report(project, shown(issue) if issue else None)
    report(
        catalogs.stray_catalogs(project)
        + catalogs.header_warnings(project, rows)
        + catalogs.extract_warnings(project, rows)
    )
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], ensure_ascii=False, indent=2))
        return
    print_table(
        "Translation status",
        ("locale", "catalog", "translated", "fuzzy", "untranslated", "words left", "done"),
        [
            (
                row.locale,
                row.domain,
                row.translated,
                row.fuzzy,
                row.untranslated,
                row.fuzzy_words + row.untranslated_words,
                f"{row.percent:.0f}%",
            )
            for row in rows
        ],
        text_columns=2,
    )


@catalog_group.command("convert-zawgyi")
@click.argument(
    "catalog_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_context
def catalog_convert_zawgyi(ctx: click.Context, catalog_files: tuple[Path, ...]) -> None:
    """Convert Zawgyi-encoded Burmese translations in CATALOG_FILES to Unicode, in place."""
    project = project_of(ctx)
    for path in catalog_files:
        count = catalogs.convert_zawgyi(project, path)
        click.echo(f"{shown(path)}: converted {count} message(s) from Zawgyi to Unicode")
