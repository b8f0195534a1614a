"""The curation commands: add resources from their URLs, collect them from partners' feeds, check every link."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import EXIT_INPUT, Diagnostic, InvalidInput, errors_in
from .output import DATE, project_of, report, shown

if TYPE_CHECKING:
    from ..curate.edit import NewResource
    from ..settings import Project


@click.command("add")
@click.argument("issue", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option(
    "--category",
    metavar="KEY",
    help="Category to add under. Default: the source's (see [[sources]]), else the first configured.",
)
@click.option(
    "--by",
    "by",
    multiple=True,
    metavar="ORG",
    help="Organization behind it (repeatable); overrides what the page says.",
)
@click.option("--title", metavar="TEXT", help="Title to use; overrides what the page says.")
@click.pass_context
def add_command(
    ctx: click.Context,
    issue: Path,
    urls: tuple[str, ...],
    category: str | None,
    by: tuple[str, ...],
    title: str | None,
) -> None:
    """Add resources to ISSUE from their URLs: title, organizations and language read from each page or PDF.

    The new entries are written under their category; the rest of the file is
    left byte for byte as it was. Exits 1 if any URL could not be added.
    """
    from ..curate.add import add_resources

    path = shown(issue)
    added = add_resources(project_of(ctx), path, urls, category=category, by=by, title=title)
    for outcome in added.outcomes:
        if outcome.status == "failed":
            click.echo(f"{path}: error: {outcome.url}: {outcome.message}", err=True)
            continue
        if outcome.resource is not None:
            click.echo(f"{path}: {outcome.message}: {_resource_line(outcome.resource)}")
        else:
            click.echo(f"{path}: {outcome.url}: {outcome.message}")
        for warning in outcome.warnings:
            click.echo(f"{path}: warning: {outcome.url}: {warning}", err=True)
    if added.failed:
        sys.exit(EXIT_INPUT)


def _resource_line(resource: NewResource) -> str:
    by = f" by {', '.join(resource.by)}" if resource.by else ""
    lang = f" [{resource.lang}]" if resource.lang else ""
    return f"{resource.title!r}{lang}{by} <{resource.url}>"


@click.command("collect")
@click.argument("issue", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--since",
    type=DATE,
    metavar="DATE",
    help="Take entries published after DATE. Default: the previous issue's date.",
)
@click.pass_context
def collect_command(ctx: click.Context, issue: Path, since: date | None) -> None:
    """Add to ISSUE the entries of every [[sources]] feed published since the previous issue.

    Entries already in an issue, and entries offered before for this issue
    (deleted since by the editor), are not added. Exits 1 if a feed failed.
    """
    from ..curate.collect import collect, summary

    path = shown(issue)
    with _collect_progress() as progress:
        collected = collect(project_of(ctx), path, since=since, progress=progress)
    for category, resources in collected.added.items():
        for resource in resources:
            click.echo(f"{path}: added under {category}: {_resource_line(resource)}")
    for note in collected.notes:
        click.echo(f"{path}: warning: {note}", err=True)
    for line in summary(collected):
        click.echo(f"{path}: {line}", err=line.startswith("feed failed"))
    if collected.failed_feeds:
        sys.exit(EXIT_INPUT)


@contextmanager
def _collect_progress() -> Iterator[Callable[[int, int, str], None] | None]:
    """A live bar of feeds and pages read, on a terminal only; it goes away when collecting is done."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("collecting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        transient=True,
        console=Console(stderr=True),
    )
    task = bar.add_task("", total=None)

    def draw(done: int, total: int, what: str) -> None:
        bar.update(task, completed=done, total=total, description=what[:40])

    with bar:
        yield draw


@click.command("links")
@click.argument("issue", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fix", is_flag=True, help="Write the new URL of each permanent redirect into the file.")
@click.pass_context
def links_command(ctx: click.Context, issue: Path, fix: bool) -> None:
    """Check every link of ISSUE: resources, the editorial, footnotes and the image.

    A broken link is an error at its place; a permanent redirect is a warning
    (--fix writes the new URL). Links found good are not asked again for
    link_cache_hours. Exits 1 when any link is broken.
    """
    from ..curate.links import check_links

    path = shown(issue)
    checked = check_links(project_of(ctx), path, fix=fix)
    report(checked.diagnostics)
    errors = errors_in(checked.diagnostics)
    warnings = len(checked.diagnostics) - len(errors)
    if checked.fixed:
        click.echo(f"{path}: wrote {checked.fixed} new URL(s)")
    verdict = f"{len(errors)} broken" if errors else "ok"
    click.echo(
        f"{path}: links {verdict}" + (f" ({warnings} warning(s))" if warnings else ""), err=bool(errors)
    )
    if errors:
        sys.exit(EXIT_INPUT)


def link_diagnostics(project: Project, path: Path) -> list[Diagnostic]:
    """What `links` finds in the issue at `path`, for `check --links`; nothing for a file that is not YAML (`check` says so)."""
    from ..curate.links import check_links

    try:
        return list(check_links(project, path).diagnostics)
    except InvalidInput:
        return []
