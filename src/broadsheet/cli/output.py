"""What every command shares: the project it runs on, and how it shows paths, diagnostics and tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import BroadsheetError, Diagnostic

if TYPE_CHECKING:
    from ..settings import Project


class IsoDate(click.ParamType[date]):
    """A day written YYYY-MM-DD, as issues are dated: `2024-02-30` is no such day, `2024-2-3` not how to write one."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        from ..schema import ISO_DATE, date_hint, iso_date  # here: `--help` does not need it

        day = iso_date(value)
        if day is None:
            why = " (no such day)" if ISO_DATE.fullmatch(value) else date_hint(value)
            self.fail(f"Expected a date (YYYY-MM-DD) but received: {value!r}{why}", param, ctx)
        return day


DATE = IsoDate()


def serve(app: Any, host: str, port: int, started: str, **options: Any) -> None:
    """Run the ASGI `app` with uvicorn on `host`:`port`, saying `started` once the address is ours; an address in
    use (or not this machine's) is one line and exit 1, before anything claims to have started."""
    import socket

    import uvicorn

    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        raise BroadsheetError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(started)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, **options)).run(sockets=[listening])


def project_of(ctx: click.Context) -> Project:
    """The project `broadsheet` found (or was given with -C) before running the command."""
    return ctx.ensure_object(dict)["project"]  # type: ignore[no-any-return]


def shown(path: Path) -> Path:
    """Paths as the user gave them; relative to the current folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def report(diagnostics: Iterable[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)


def print_table(
    title: str, headings: Sequence[str], rows: Iterable[Sequence[object]], *, text_columns: int = 1
) -> None:
    """Print a table: the first `text_columns` columns aligned left, the numbers after them right.

    The table is as wide as its cells: a narrow terminal wraps its lines
    rather than rich cutting an address short.
    """
    from rich import box  # only the commands that draw tables pay for rich
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, box=box.SIMPLE_HEAD)
    for index, heading in enumerate(headings):
        table.add_column(heading, justify="left" if index < text_columns else "right")
    for row in rows:
        # Text, not markup: a subscriber named "[bold]" is shown as written.
        table.add_row(*(Text(str(cell)) for cell in row))
    console = Console()
    natural = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    console.width = max(console.width, natural)
    console.print(table)
