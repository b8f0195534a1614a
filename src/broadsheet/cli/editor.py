"""The editor's commands: new, check, build, preview and site."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from ..build import build, check, new_issue
from ..errors import EXIT_INPUT, UsageError, errors_in
from .output import DATE, project_of, report, serve, shown


@click.command("new")
@click.argument("day", required=False, metavar="[DATE]", type=DATE)
@click.pass_context
def new_command(ctx: click.Context, day: date | None) -> None:
    """Start issues/<DATE>.yaml from a commented skeleton.

    DATE is YYYY-MM-DD; by default the next publication day (a Thursday unless
    the project says otherwise). Never overwrites an existing file.
    """
    path = new_issue(project_of(ctx), day)
    click.echo(f"wrote {shown(path)}")


@click.command("check")
@click.argument(
    "issues", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--links", "with_links", is_flag=True, help="Also check every link, as broadsheet links does.")
@click.pass_context
def check_command(ctx: click.Context, issues: tuple[Path, ...], with_links: bool) -> None:
    """Check issue files: print every error and warning with its place.

    Exits 0 when every file is valid (warnings allowed), 1 otherwise.
    """
    from ..catalogs import stray_catalogs

    project = project_of(ctx)
    # The project's, not an issue's: said once, however many issues are checked.
    report(stray_catalogs(project))
    failed = 0
    for path in issues:
        diagnostics = check(project, shown(path))
        if with_links:
            from .curate import link_diagnostics

            diagnostics = sorted(diagnostics + link_diagnostics(project, shown(path)))
        report(diagnostics)
        errors = errors_in(diagnostics)
        warnings = len(diagnostics) - len(errors)
        if errors:
            failed += 1
            click.echo(f"{shown(path)}: {len(errors)} error(s), {warnings} warning(s)", err=True)
        else:
            click.echo(f"{shown(path)}: ok" + (f" ({warnings} warning(s))" if warnings else ""))
    if failed:
        sys.exit(EXIT_INPUT)


@click.command("build")
@click.argument("issue", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-l",
    "--locale",
    "locales",
    multiple=True,
    metavar="L",
    help="Build only this locale (repeatable). Default: every configured locale.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder. Default: build/<date>.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail instead of falling back to English for untranslated or fuzzy messages.",
)
@click.pass_context
def build_command(
    ctx: click.Context, issue: Path, locales: tuple[str, ...], out: Path | None, strict: bool
) -> None:
    """Build an issue into DIR/<locale>/email.html and email.txt.

    Untranslated text falls back to English and is reported, one warning per
    catalog; --strict makes that an error and writes nothing.
    """
    built = build(project_of(ctx), shown(issue), locales, out, strict=strict)
    report(built.diagnostics)
    for path in built.files:
        click.echo(f"wrote {shown(path)} ({path.stat().st_size / 1000:.1f} KB)")


@click.command("preview")
@click.argument("issue", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on."
)
@click.pass_context
def preview_command(ctx: click.Context, issue: Path | None, host: str, port: int) -> None:
    """Serve a live preview of ISSUE (default: the newest in issues/) in every locale.

    The page reloads by itself when the issue, a template or a catalog changes,
    and shows the issue's errors until they are fixed.
    """
    from ..issue import newest_issue
    from ..preview import create_app

    project = project_of(ctx)
    if issue is None:
        issue = newest_issue(project.issues_dir, project.settings)
        if issue is None:
            raise UsageError(
                f"no issue in {project.issues_dir}; name one, or start one with `broadsheet new`"
            )
    serve(
        create_app(project.root, issue.resolve()),
        host,
        port,
        f"previewing {shown(issue)} at http://{host}:{port}/ (Ctrl+C stops)",
        log_level="warning",
    )


@click.command("site")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder. Default: build/site.",
)
@click.option(
    "--until",
    type=DATE,
    help="Publish the issues dated up to this day. Default: today; next week's issue waits for its day.",
)
@click.pass_context
def site_command(ctx: click.Context, out: Path | None, until: date | None) -> None:
    """Build the web archive of every issue: DIR/<locale>/index.html, a page per issue and feed.atom.

    Serve DIR at the web_url setting: the emails' "view in browser" links point there.
    """
    from ..site import build_site

    day = until or date.today()
    published = build_site(project_of(ctx), out, until=day)
    report(published.diagnostics)
    for path in published.later:
        click.echo(f"{shown(path)}: not published: dated after {day} (--until publishes it)", err=True)
    for path in published.written:
        click.echo(f"wrote {shown(path)}")
    for path in published.removed:
        click.echo(f"removed {shown(path)}")
    unchanged = published.pages - len(published.written)
    if unchanged:
        click.echo(f"{unchanged} page(s) and feed(s) unchanged")
