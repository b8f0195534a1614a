"""The `broadsheet` command: parse arguments, call one library function, print the outcome."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, catalogs
from .build import build, check, new_issue, translation_locales
from .errors import EXIT_INPUT, BroadsheetError, Diagnostic, InvalidInput, UsageError, errors_in
from .issue import read_issue
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


@main.command("send")
@click.argument("issue", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--status", "show_status", is_flag=True, help="Show how many copies are pending, sent, failed or of unknown fate, per locale; send nothing.")
@click.option("--to", "test_address", metavar="ADDRESS", help="Send one test copy to ADDRESS, outside the ledger.")
@click.option("-l", "--locale", "test_locale", metavar="L", help="With --to: the edition to send (default: the first locale).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent to whom; send nothing.")
@click.option("--retry-unknown", is_flag=True, help="Also send copies whose fate is unknown (a sender died after handing them over).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@click.option("--transport", "transport_spec", metavar="SPEC", help="sendgrid, smtp://..., smtps://... or outbox:PATH (default: BROADSHEET_TRANSPORT or the settings).")
@click.option("--batch-size", type=click.IntRange(1, 1000), help="Recipients per request (default: the transport's maximum).")
@click.option("--strict", is_flag=True, help="Refuse to send editions with untranslated text.")
@click.pass_context
@_user_errors
def send_command(
    ctx: click.Context,
    issue: Path,
    show_status: bool,
    test_address: str | None,
    test_locale: str | None,
    dry_run: bool,
    retry_unknown: bool,
    yes: bool,
    transport_spec: str | None,
    batch_size: int | None,
    strict: bool,
) -> None:
    """Deliver an issue to every active subscriber, in their language, exactly once.

    Resumable: run it again after an interruption and it sends only what was not
    sent. Needs BROADSHEET_SECRET (signs unsubscribe links); SendGrid needs
    SENDGRID_API_KEY.
    """
    import os

    from .delivery import send as sending
    from .delivery.ledger import SendLedger
    from .delivery.personalize import Signer, secret_from
    from .delivery.store import database_url, open_store
    from .delivery.transports import open_transport
    from .pipeline import editions

    project = _project(ctx)
    environ = dict(os.environ)
    engine = open_store(database_url(project, environ))
    ctx.call_on_close(engine.dispose)
    if show_status:
        reading = read_issue(_display(issue), project.settings)
        if reading.issue is None:
            raise InvalidInput(reading.diagnostics)
        counts = SendLedger(engine, reading.issue.date.isoformat()).counts()
        _print_send_status(counts, project.settings.locales)
        return
    made = editions(project, _display(issue), strict=strict)
    found, emails = made.issue, made.emails
    _report(made.diagnostics)
    signer = Signer(secret_from(environ))
    spec = transport_spec or environ.get("BROADSHEET_TRANSPORT") or project.settings.transport
    if dry_run:
        _print_dry_run(engine, emails)
        return
    transport = open_transport(spec, environ=environ, unsubscribe_group=project.settings.sendgrid_unsubscribe_group)
    try:
        if test_address:
            locale = test_locale or project.settings.source_locale
            if locale not in emails:
                raise UsageError(f"unknown locale {locale}; configured locales: {', '.join(emails)}")
            delivery = sending.send_test_copy(project, found, emails[locale], transport, signer, test_address)
            click.echo(f"{locale} test copy to {test_address}: {delivery.outcome.value}{': ' + delivery.detail if delivery.detail else ''}")
            return
        audience = sending.audience(engine, list(emails))
        summary = ", ".join(f"{locale}: {audience[locale]}" for locale in emails)
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(f"not on a terminal, so not asking: add --yes to send {found.date.isoformat()} to active subscribers ({summary})")
            click.confirm(f"Send {found.date.isoformat()} through {transport.name} to active subscribers ({summary})?", abort=True)
        # The bar ends before any error is printed, and gives the terminal its cursor back.
        with _progress_reporter() as reporter:
            progress = sending.send_issue(
                project, found, emails, engine, transport, signer,
                retry_unknown=retry_unknown, batch_size=batch_size, progress=reporter,
            )
    finally:
        transport.close()
    click.echo(f"sent {progress.sent}, failed {progress.failed}")
    if progress.unknown:
        click.echo(
            f"{len(progress.unknown)} copies have an unknown fate (a sender died after handing them over); "
            "check the provider's log, then rerun with --retry-unknown to send them",
            err=True,
        )
        sys.exit(EXIT_INPUT)


def _print_send_status(counts: Any, locales: Sequence[str]) -> None:
    states = ("pending", "sending", "unknown", "sent", "failed")
    click.echo("locale  " + "  ".join(f"{state:>8}" for state in states))
    for locale in locales:
        click.echo(f"{locale:<6}  " + "  ".join(f"{counts[(state, locale)]:>8}" for state in states))


def _print_dry_run(engine: Any, emails: Mapping[str, Any]) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from .delivery.store import Status, Subscriber

    with Session(engine) as session:
        for locale in emails:
            addresses = session.scalars(
                select(Subscriber.email).where(Subscriber.status == Status.ACTIVE.value, Subscriber.locale == locale).order_by(Subscriber.email_key)
            ).all()
            click.echo(f"{locale}: {len(addresses)} subscriber(s), subject {emails[locale].subject!r}")
            for address in addresses:
                click.echo(f"  {address}")
    click.echo("dry run: nothing sent")


@contextmanager
def _progress_reporter() -> Iterator[Any]:
    """Progress of a send: a live bar on a terminal, ended with the block however it ends; a log line per batch otherwise."""
    from .delivery.send import Progress

    if not sys.stderr.isatty():
        def log(progress: Progress) -> None:
            click.echo(f"sent {progress.sent}, failed {progress.failed}, remaining {progress.remaining} of {progress.total}", err=True)

        yield Progress(on_change=log)
        return

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TextColumn("failed {task.fields[failed]}"),
        TransferSpeedColumn(), TimeRemainingColumn(), transient=False, console=Console(stderr=True),
    )
    task = bar.add_task("send", total=None, failed=0)

    def draw(progress: Progress) -> None:
        bar.update(task, total=progress.total, completed=progress.sent + progress.failed, failed=progress.failed)

    with bar:
        yield Progress(on_change=draw)


# The subscriber commands import the database libraries only when run: they take a second to load.


@main.group("subscribers")
def subscribers_group() -> None:
    """The subscriber list: import, export, list, add, remove.

    Subscribers live in the project's database: the database_url setting, or
    the BROADSHEET_DATABASE_URL environment variable. An import never
    re-activates an address that unsubscribed, bounced or complained.
    """


@subscribers_group.command("import")
@click.argument("file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@_user_errors
def subscribers_import(ctx: click.Context, file: Path) -> None:
    """Add and update subscribers from a CSV file (email, name, locale).

    The file is UTF-8 and its first line names the columns; status,
    consented_at and consent_text are optional. An address already subscribed
    (in any case) gets the file's name and locale. Every bad row is printed
    with its line and skipped, the valid rows are imported all the same, and
    the command then exits 1.
    """
    from .delivery import subscribers
    from .delivery.store import project_store

    project = _project(ctx)
    with project_store(project) as engine:
        report = subscribers.import_csv(engine, _display(file), project.settings.locales)
    _report(report.diagnostics)
    click.echo(
        f"{_display(file)}: added {report.added}, updated {report.updated}, "
        f"unchanged {report.unchanged}, skipped {report.skipped}"
    )
    if errors_in(report.diagnostics):
        sys.exit(EXIT_INPUT)


@subscribers_group.command("export")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file. Default: standard output.")
@click.pass_context
@_user_errors
def subscribers_export(ctx: click.Context, out: Path | None) -> None:
    """Write every subscriber as CSV, ordered by address.

    The columns are email, name, locale, status, consented_at and
    consent_text; the file imports back as it is, statuses and consents included.
    """
    from .delivery import subscribers
    from .delivery.store import project_store

    with project_store(_project(ctx)) as engine:
        if out is None:
            subscribers.export_csv(engine, sys.stdout)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8", newline="") as handle:
            count = subscribers.export_csv(engine, handle)
    click.echo(f"wrote {_display(out)} ({count} subscriber(s))")


@subscribers_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also list every address, with its locale, status and name.")
@click.pass_context
@_user_errors
def subscribers_list(ctx: click.Context, show_all: bool) -> None:
    """How many subscribers each locale has, in each status."""
    from .delivery import subscribers
    from .delivery.store import Status, project_store

    with project_store(_project(ctx)) as engine:
        counts = subscribers.list_counts(engine)
        rows = subscribers.list_subscribers(engine) if show_all else []
    if not counts:
        click.echo("no subscribers")
        return
    totals = {status: sum(by_status[status] for by_status in counts.values()) for status in Status}
    width = max(len("locale"), len("total"), *(len(locale) for locale in counts))
    click.echo(f"{'locale':<{width}}" + "".join(f"  {status.value}" for status in Status))
    for locale, by_status in [*counts.items(), ("total", totals)]:
        click.echo(f"{locale:<{width}}" + "".join(f"  {by_status[status]:>{len(status.value)}}" for status in Status))
    if rows:
        click.echo()
        email_width = max(len(row.email) for row in rows)
        locale_width = max(len(row.locale) for row in rows)
        status_width = max(len(status.value) for status in Status)
        for row in rows:
            click.echo(f"{row.email:<{email_width}}  {row.locale:<{locale_width}}  {row.status.value:<{status_width}}  {row.name}".rstrip())


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", default="", help="The subscriber's name. Default: none.")
@click.option("--locale", required=True, metavar="L", help="The edition they receive: one of the configured locales.")
@click.pass_context
@_user_errors
def subscribers_add(ctx: click.Context, email: str, name: str, locale: str) -> None:
    """Subscribe EMAIL. An address already there, whatever its status, is refused."""
    from .delivery import subscribers
    from .delivery.store import project_store

    project = _project(ctx)
    with project_store(project) as engine:
        added = subscribers.add(engine, email, name, locale, locales=project.settings.locales)
    click.echo(f"added {added.email} ({added.locale})")


@subscribers_group.command("remove")
@click.argument("email")
@click.pass_context
@_user_errors
def subscribers_remove(ctx: click.Context, email: str) -> None:
    """Delete EMAIL and its send history.

    This forgets the address entirely: an import may add it again, whereas an
    unsubscribed address is never re-activated.
    """
    from .delivery import subscribers
    from .delivery.store import project_store

    with project_store(_project(ctx)) as engine:
        removed = subscribers.remove(engine, email)
    click.echo(f"removed {removed.email}")


@main.command("preview")
@click.argument("issue", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.pass_context
@_user_errors
def preview_command(ctx: click.Context, issue: Path | None, host: str, port: int) -> None:
    """Serve a live preview of ISSUE (default: the newest in issues/) in every locale.

    The page reloads by itself when the issue, a template or a catalog changes,
    and shows the issue's errors until they are fixed.
    """
    import uvicorn

    from .preview import create_app

    project = _project(ctx)
    if issue is None:
        found = sorted(project.issues_dir.glob("*.yaml"))
        if not found:
            raise UsageError(f"no issue in {project.issues_dir}; name one, or start one with `broadsheet new`")
        issue = found[-1]
    click.echo(f"previewing {_display(issue)} at http://{host}:{port}/ (Ctrl+C stops)")
    uvicorn.run(create_app(project.root, issue.resolve()), host=host, port=port, log_level="warning")


@main.command("site")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder. Default: build/site.")
@click.pass_context
@_user_errors
def site_command(ctx: click.Context, out: Path | None) -> None:
    """Build the web archive of every issue: DIR/<locale>/index.html, a page per issue and feed.atom.

    Serve DIR at the web_url setting: the emails' "view in browser" links point there.
    """
    from .site import build_site

    published = build_site(_project(ctx), out)
    _report(published.diagnostics)
    for path in published.written:
        click.echo(f"wrote {_display(path)}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    envvar="FORWARDED_ALLOW_IPS",
    help="Comma-separated addresses or networks (10.0.0.0/8) of the reverse proxies whose X-Forwarded-For "
    "names the client, for the per-client sign-up limit.",
)
@click.pass_context
@_user_errors
def serve_command(ctx: click.Context, host: str, port: int, forwarded_allow_ips: str) -> None:
    """Serve the subscriber pages, SendGrid's Event Webhook and a health check.

    Routes: /subscribe and /confirm/<token> (sign-up with double opt-in),
    /preferences/<token>, /unsubscribe/<token>, /webhooks/sendgrid and
    /health. Needs BROADSHEET_SECRET (the one that signed the links); without
    it there is no sign-up and no preferences page. The webhook needs
    SENDGRID_WEBHOOK_PUBLIC_KEY or the sendgrid_webhook_public_key setting.
    """
    import logging
    import os

    import uvicorn

    from .delivery.personalize import Signer, secret_from
    from .delivery.store import database_url, open_store
    from .web import confirmation_link, create_app, webhook_public_key

    _trusted_proxies(forwarded_allow_ips)
    project = _project(ctx)
    environ = dict(os.environ)
    why = "before serving, the same one that signed the links in the emails: it checks them, and signs the sign-up forms"
    signer = Signer(secret_from(environ, why))
    engine = open_store(database_url(project, environ))
    ctx.call_on_close(engine.dispose)
    public_key = webhook_public_key(project, environ)
    app = create_app(project, engine, signer, webhook_public_key=public_key)
    if confirmation_link(project.settings) is None:
        click.echo(
            "broadsheet: no sign-up page: set confirm_url, the link of the confirmation emails "
            "(unsubscribe_url does not end in /unsubscribe/{token}, so where /confirm is cannot be told from it)",
            err=True,
        )
    if public_key is None:
        click.echo("broadsheet: no SENDGRID_WEBHOOK_PUBLIC_KEY (or sendgrid_webhook_public_key setting): the webhook refuses every event", err=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    click.echo(f"serving on http://{host}:{port}/ (Ctrl+C stops)")
    # uvicorn's access log would print every unsubscribe token; the app logs each request without it.
    uvicorn.run(
        app, host=host, port=port, access_log=False, log_level="info", proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips
    )


def _trusted_proxies(given: str) -> None:
    """Refuse a --forwarded-allow-ips that is not a list of addresses and networks, and '*'."""
    import ipaddress

    # Checked as uvicorn reads them: an address, or a network written exactly (10.0.0.0/8, not 10.0.0.1/8).
    for part in filter(None, (part.strip() for part in given.split(","))):
        if part == "*":
            raise UsageError(
                "--forwarded-allow-ips: '*' would let every client name its own address in X-Forwarded-For "
                "and so escape the per-client sign-up limit; give the proxy's address or network (such as 10.0.0.0/8)"
            )
        try:
            ipaddress.ip_network(part)
        except ValueError:
            raise UsageError(
                f"--forwarded-allow-ips: Expected an IP address or a network such as 10.0.0.0/8 but received: {part!r}"
            ) from None


@main.command("snippet")
@click.option("-l", "--locale", "--lang", default=None, help="Language of the form (a configured locale). Default: the source locale.")
@click.option(
    "--action",
    default=None,
    help="Address of the sign-up page it posts to. Default: beside the unsubscribe pages of the unsubscribe_url setting.",
)
@click.option(
    "--source",
    default=None,
    metavar="NAME",
    help="Which form this is (the page it goes on, say), recorded with the consent of each sign-up through it "
    "as 'web form: NAME'. Default: snippet.",
)
@click.pass_context
@_user_errors
def snippet_command(ctx: click.Context, locale: str | None, action: str | None, source: str | None) -> None:
    """Print an HTML sign-up form to paste into a page of the organization's website.

    It posts to `broadsheet serve`'s /subscribe, which shows the person its own
    form filled in, to be sent once more: a form on another site cannot carry
    the token that guards against cross-site requests.
    """
    from .schema import url_problem
    from .web import MAX_SOURCE, SNIPPET_SOURCE, form_source, public_url, snippet

    project = _project(ctx)
    settings = project.settings
    chosen = locale or settings.source_locale
    if chosen not in settings.locales:
        raise UsageError(f"--locale: unknown locale {chosen!r}; configured locales: {', '.join(settings.locales)}")
    if action is None:
        base = public_url(settings)
        if base is None:
            raise UsageError(
                "give --action URL: the unsubscribe_url setting does not end in /unsubscribe/{token}, "
                "so where the sign-up page is cannot be told from it"
            )
        action = f"{base}/subscribe"
    problem = url_problem(action)
    if problem:
        raise UsageError(f"--action: {problem}")
    if source is not None and not (source.isprintable() and 0 < len(source.strip()) <= MAX_SOURCE):
        raise UsageError(f"--source: Expected a name of 1 to {MAX_SOURCE} printable characters on one line but received: {source!r}")
    click.echo(snippet(project, chosen, action, form_source(source or SNIPPET_SOURCE)), nl=False)


@main.command("report")
@click.argument("issue", metavar="ISSUE")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a table.")
@click.pass_context
@_user_errors
def report_command(ctx: click.Context, issue: str, as_json: bool) -> None:
    """What became of an issue, per locale: copies sent, and subscribers delivered, bounced, opened, clicked, unsubscribed.

    ISSUE is its date (2024-01-04) or its file (issues/2024-01-04.yaml). Sent
    copies come from the send ledger; the rest from SendGrid's events, each
    subscriber counted once per column.
    """
    from .delivery.feedback import REPORT_COLUMNS, issue_report
    from .delivery.store import project_store

    project = _project(ctx)
    name = Path(issue).stem if issue.endswith((".yaml", ".yml")) else issue
    try:
        date.fromisoformat(name)
    except ValueError:
        raise UsageError(f"ISSUE: Expected a date such as 2024-01-04 or an issue file but received: {issue!r}") from None
    with project_store(project) as engine:
        rows = issue_report(engine, name, project.settings.locales)
    if as_json:
        click.echo(json.dumps({"issue": name, "locales": [row.as_dict() for row in rows]}, ensure_ascii=False, indent=2))
        return
    headings = ("locale", "sent", *REPORT_COLUMNS)
    widths = [max(len(heading), *(len(row.locale) for row in rows)) if heading == "locale" else len(heading) for heading in headings]
    click.echo("  ".join(f"{heading:<{widths[0]}}" if i == 0 else f"{heading:>{widths[i]}}" for i, heading in enumerate(headings)))
    for row in rows:
        values = [row.locale, *(str(value) for value in list(row.as_dict().values())[1:])]
        click.echo("  ".join(f"{value:<{widths[0]}}" if i == 0 else f"{value:>{widths[i]}}" for i, value in enumerate(values)))


@main.group("suppressions")
def suppressions_group() -> None:
    """SendGrid's suppression lists (bounces, spam reports, unsubscribes)."""


@suppressions_group.command("sync")
@click.pass_context
@_user_errors
def suppressions_sync(ctx: click.Context) -> None:
    """Mark subscribers SendGrid suppresses as bounced, complained or unsubscribed, so send skips them.

    Needs SENDGRID_API_KEY (with read access to suppressions).
    """
    import os

    from .delivery import suppressions
    from .delivery.store import project_store

    project = _project(ctx)
    client = suppressions.client_from(os.environ)
    with project_store(project) as engine:
        synced = suppressions.sync(engine, client)
    for name, _status in suppressions.LISTS:
        click.echo(f"{name}: {synced.listed[name]} on SendGrid's list, {synced.changed[name]} subscriber(s) marked {_status.value}")


@subscribers_group.command("forget")
@click.argument("email")
@click.pass_context
@_user_errors
def subscribers_forget(ctx: click.Context, email: str) -> None:
    """Erase EMAIL at its owner's request: their name, address, send history and events.

    Only a keyed hash of the address is kept (BROADSHEET_SECRET is the key), so
    that no import or add subscribes it again. Forgetting twice is harmless.
    """
    from .delivery import subscribers
    from .delivery.store import project_store

    with project_store(_project(ctx)) as engine:
        erased = subscribers.forget(engine, email)
    click.echo(f"forgot {email.strip()}" if erased else f"{email.strip()} was already forgotten")


@subscribers_group.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a listing.")
@click.pass_context
@_user_errors
def subscribers_show(ctx: click.Context, email: str, as_json: bool) -> None:
    """Everything stored about EMAIL: the subscriber, their send ledger rows and their events."""
    from .delivery import subscribers
    from .delivery.store import project_store

    with project_store(_project(ctx)) as engine:
        data = subscribers.personal_data(engine, email)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    width = max(map(len, data["subscriber"])) + 2
    for field, value in data["subscriber"].items():
        click.echo(f"{field + ':':<{width}}{'-' if value is None else value}")
    click.echo(f"\nledger ({len(data['ledger'])}):")
    for row in data["ledger"]:
        click.echo(f"  {row['issue']}  {row['locale']}  {row['state']}  {row['updated_at']}" + (f"  {row['detail']}" if row["detail"] else ""))
    click.echo(f"\nevents ({len(data['events'])}):")
    for row in data["events"]:
        click.echo(f"  {row['issue'] or '-'}  {row['kind']}  {row['created_at']}")
