"""The `broadsheet` command: its own options, the commands it loads when they run, and user errors.

Each command lives in the module of its group (editor, curate, catalog, send,
subscribers, web). `broadsheet --help` lists them from `COMMANDS` without
importing any of those modules, and so without the rendering and database
libraries they need, which take most of a second to load. A `BroadsheetError`
raised by any command becomes its message and exit code here, once.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from .. import __version__
from ..errors import BroadsheetError, InvalidInput
from .output import report

# Each command: the module (in this package) and attribute defining it, and the
# first paragraph of its help, which `broadsheet --help` shows without importing it.
COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("editor:new_command", "Start issues/<DATE>.yaml from a commented skeleton."),
    "check": ("editor:check_command", "Check issue files: print every error and warning with its place."),
    "build": ("editor:build_command", "Build an issue into DIR/<locale>/email.html and email.txt."),
    "preview": (
        "editor:preview_command",
        "Serve a live preview of ISSUE (default: the newest in issues/) in every locale.",
    ),
    "site": (
        "editor:site_command",
        "Build the web archive of every issue: DIR/<locale>/index.html, a page per issue and feed.atom.",
    ),
    "add": (
        "curate:add_command",
        "Add resources to ISSUE from their URLs: title, organizations and language read from each page or PDF.",
    ),
    "collect": (
        "curate:collect_command",
        "Add to ISSUE the entries of every [[sources]] feed published since the previous issue.",
    ),
    "links": (
        "curate:links_command",
        "Check every link of ISSUE: resources, the editorial, footnotes and the image.",
    ),
    "catalog": ("catalog:catalog_group", "Translators' catalogs: extract, update, status, convert-zawgyi."),
    "send": (
        "send:send_command",
        "Deliver an issue to every active subscriber, in their language, exactly once.",
    ),
    "report": (
        "send:report_command",
        "What became of an issue, per locale: copies sent, and subscribers delivered, bounced, opened, clicked, unsubscribed, "
        "complained.",
    ),
    "subscribers": (
        "subscribers:subscribers_group",
        "The subscriber list: import, export, list, add, show, remove, forget.",
    ),
    "suppressions": (
        "subscribers:suppressions_group",
        "SendGrid's suppression lists (bounces, spam reports, unsubscribes, the unsubscribe group's).",
    ),
    "serve": (
        "web:serve_command",
        "Serve the subscriber pages, SendGrid's Event Webhook and a health check.",
    ),
    "snippet": (
        "web:snippet_command",
        "Print an HTML sign-up form to paste into a page of the organization's website.",
    ),
}


class Broadsheet(click.Group):
    """The top-level group: commands imported on first use, and every `BroadsheetError` printed in one place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attribute = COMMANDS[cmd_name][0].partition(":")
            self.add_command(getattr(_import_unwatched(f"{__name__}.{module}"), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = []
        for name in names:
            # A stand-in with the same first paragraph shortens it exactly as the real command would.
            command = self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidInput as exc:
            report(exc.diagnostics)
            sys.exit(exc.exit_code)
        except BroadsheetError as exc:
            click.echo(f"broadsheet: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            # What reads the output stopped (`broadsheet subscribers export | head`): nothing to tell it. Python
            # would say so again as it flushes standard output on the way out, were it not pointed at nothing.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            # A folder that is a file, a disk that is full or read-only, a path without permission: said in a
            # line, with the path, like every other error the user can mend.
            where = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
            click.echo(f"broadsheet: {where + ': ' if where else ''}{exc.strerror or exc}", err=True)
            sys.exit(1)
        except Exception as exc:
            if not _from_the_database(exc):
                raise
            from ..delivery.store import failure

            said = failure(exc)
            click.echo(f"broadsheet: {said.message}", err=True)
            sys.exit(said.exit_code)


def _from_the_database(exc: Exception) -> bool:
    """Whether `exc` is the database failing (SQLAlchemy's `DBAPIError`), without importing SQLAlchemy: only the
    commands that open the store load it."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.DBAPIError)


def _import_unwatched(name: str) -> ModuleType:
    """Import the module `name` with the cycle collector paused, then keep what it made out of the collector's sight.

    A command's libraries make tens of thousands of objects as they load (modules, classes,
    Babel's tables, Jinja's and markdown-it's rules), which live as long as the process. The collector, run
    every 700 new objects, walked them over and over while they loaded: 20 of the 300 ms of
    CPU of `broadsheet build` (benchmarks/README.md). `gc.freeze` leaves them out of every
    later collection; what the command then makes is collected as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(name)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@click.group(
    name="broadsheet",
    cls=Broadsheet,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="broadsheet")
@click.option(
    "-C",
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Project folder (holding broadsheet.toml). Default: the nearest one in or above the current folder. "
    "Paths given to a command (ISSUE, -o) stay relative to the current folder.",
)
@click.pass_context
def main(ctx: click.Context, project_dir: Path | None) -> None:
    """Compose, check and build the weekly newsletter in every language.

    Editors write issues/<date>.yaml, check it, and build it into an HTML email
    and its plain-text part for each locale.
    """
    from ..settings import find_project  # Babel: only once a command runs

    ctx.ensure_object(dict)["project"] = find_project(project_dir or Path.cwd())
