"""The sender's commands: send an issue, and report what became of it."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from ..errors import EXIT_INPUT, BroadsheetError, InvalidInput, UsageError
from .output import print_table, project_of, report, shown

if TYPE_CHECKING:
    from ..delivery.ledger import Copy
    from ..delivery.send import Progress


@click.command("send")
@click.argument("issue", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--status",
    "show_status",
    is_flag=True,
    help="Show how many copies are in each state (pending, deferred, unknown, sent, failed...), per locale; send nothing.",
)
@click.option(
    "--list",
    "list_state",
    type=click.Choice(["unknown", "deferred", "failed"]),
    help="With --status: name each copy in this state (address, locale, last answer, subscriber id, tries).",
)
@click.option(
    "--to", "test_address", metavar="ADDRESS", help="Send one test copy to ADDRESS, outside the ledger."
)
@click.option(
    "-l",
    "--locale",
    "test_locale",
    metavar="L",
    help="With --to: the edition to send (default: the first locale).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be sent to whom; send nothing.")
@click.option(
    "--retry-unknown",
    is_flag=True,
    help="Also send again the copies of unknown fate (handed over, the answer never came).",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Also send again the failed copies (refused for good, or deferred too long), e.g. after fixing what made them fail.",
)
@click.option(
    "--give-up-deferred",
    is_flag=True,
    help="Mark every deferred copy failed, and say how many; send nothing.",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@click.option(
    "--transport",
    "transport_spec",
    metavar="SPEC",
    help="sendgrid, smtp://..., smtps://... or outbox:PATH (default: BROADSHEET_TRANSPORT or the settings).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1000),
    help="Recipients per request (default: the transport's maximum).",
)
@click.option("--strict", is_flag=True, help="Refuse to send editions with untranslated text.")
@click.pass_context
def send_command(
    ctx: click.Context,
    issue: Path,
    show_status: bool,
    list_state: str | None,
    test_address: str | None,
    test_locale: str | None,
    dry_run: bool,
    retry_unknown: bool,
    retry_failed: bool,
    give_up_deferred: bool,
    yes: bool,
    transport_spec: str | None,
    batch_size: int | None,
    strict: bool,
) -> None:
    """Deliver an issue to every active subscriber, in their language, exactly once.

    Resumable: run it again after an interruption and it sends only what was not
    sent. Copies of unknown fate (handed over, the answer never came) are never
    sent again unless --retry-unknown; deferred ones (the recipient's server said
    "later") are tried again. Needs BROADSHEET_SECRET (signs unsubscribe links);
    SendGrid needs SENDGRID_API_KEY.
    """
    from ..delivery import send as sending
    from ..delivery import subscribers
    from ..delivery.personalize import Signer, secret_from
    from ..delivery.store import State, database_url, open_store
    from ..delivery.transports import Outcome, TransportError, TransportSpecError, open_transport
    from ..issue import read_issue
    from ..pipeline import editions

    if list_state and not show_status:
        raise UsageError("--list goes with --status: broadsheet send ISSUE --status --list STATE")
    project = project_of(ctx)
    settings = project.settings
    environ = dict(os.environ)
    engine = open_store(database_url(project, environ))
    ctx.call_on_close(engine.dispose)
    if show_status or give_up_deferred:
        reading = read_issue(shown(issue), settings)
        if reading.issue is None:
            raise InvalidInput(reading.diagnostics)
        ledger = sending.ledger_of(engine, reading.issue, settings)
        if give_up_deferred:
            click.echo(f"{_copies(ledger.give_up_deferred())} of {ledger.issue} deferred, now failed")
        elif list_state:
            _print_copies(ledger.copies(State(list_state)), list_state, ledger.issue)
        else:
            counts = ledger.counts()
            states = ("pending", "queued", "sending", "deferred", "unknown", "sent", "failed")
            print_table(
                f"Copies of {ledger.issue}",
                ("locale", *states),
                [(locale, *(counts[(state, locale)] for state in states)) for locale in settings.locales]
                + [
                    # Copies made for a locale since taken out of the settings: never sent now, never hidden.
                    (f"{locale} (not in locales)", *(counts[(state, locale)] for state in states))
                    for locale in sorted({locale for _, locale in counts} - set(settings.locales))
                ],
            )
            new = ledger.unrecorded(settings.locales)
            if new.total():
                click.echo(
                    f"{_subscribers(new.total())} with no copy yet ({_by_locale(new, settings.locales)}): "
                    "the next send adds them"
                )
        return
    edition = test_locale or settings.source_locale
    if test_address:
        if edition not in settings.locales:
            raise UsageError(
                f"--locale: unknown locale {edition}; configured locales: {', '.join(settings.locales)}"
            )
        unusable = subscribers.check(test_address, "", edition, "", settings.locales).problems
        if unusable:
            raise UsageError(f"--to: {unusable[0][1]}")
    # What the command line or the environment gets wrong is said before the editions are made.
    spec = transport_spec or environ.get("BROADSHEET_TRANSPORT") or settings.transport
    signer, transport = None, None
    if not dry_run:
        signer = Signer(secret_from(environ))
        try:
            transport = open_transport(
                spec,
                environ=environ,
                unsubscribe_group=settings.sendgrid_unsubscribe_group,
                smtp_connections=settings.smtp_connections,
                sendgrid_concurrency=settings.sendgrid_concurrency,
                backoff=sending.retry_backoff(settings),
            )
        except TransportSpecError as exc:
            if transport_spec:
                raise UsageError(f"--transport: {exc}") from None
            raise
        ctx.call_on_close(transport.close)
    made = editions(project, shown(issue), strict=strict)
    found, emails = made.issue, made.emails
    report(made.diagnostics)
    for locale, number in sending.unserved(engine, list(emails)).items():
        click.echo(
            f"broadsheet: warning: {_subscribers(number)} in locale {locale!r}, which is not among the configured "
            f"locales ({', '.join(emails)}), get no copy: add it to `locales` in broadsheet.toml, or import them "
            "again with a configured locale",
            err=True,
        )
    retry = [State.UNKNOWN] * retry_unknown + [State.FAILED] * retry_failed
    if dry_run or transport is None or signer is None:
        waiting = sending.addresses_to_send(engine, found, settings, list(emails), retry=retry)
        for locale, addresses in waiting.items():
            click.echo(f"{locale}: {len(addresses)} subscriber(s), subject {emails[locale].subject!r}")
            for address in addresses:
                click.echo(f"  {address}")
        click.echo("dry run: nothing sent")
        return
    if test_address:
        delivery = sending.send_test_copy(project, found, emails[edition], transport, signer, test_address)
        click.echo(
            f"{edition} test copy to {test_address}: {delivery.outcome.value}{': ' + delivery.detail if delivery.detail else ''}"
        )
        if delivery.outcome is not Outcome.SENT:
            sys.exit(EXIT_INPUT)
        return
    left = sending.to_send(engine, found, settings, list(emails), retry=retry)
    summary = f"{_copies(left.total())} not yet sent ({_by_locale(left, list(emails))})"
    if not yes and left.total():
        if not sys.stdin.isatty():
            raise UsageError(
                f"not on a terminal, so not asking: add --yes to send {found.date.isoformat()}: {summary}"
            )
        click.confirm(f"Send {found.date.isoformat()} through {transport.name}: {summary}?", abort=True)
    stopped: TransportError | None = None
    # The bar ends before any error is printed, and gives the terminal its cursor back.
    with _progress_reporter() as progress, _terminated_as_interrupted():
        try:
            sending.send_issue(
                project,
                found,
                emails,
                engine,
                transport,
                signer,
                retry=retry,
                batch_size=batch_size,
                progress=progress,
            )
        except TransportError as exc:
            stopped = exc
    click.echo(f"sent {progress.sent}, failed {progress.failed}")
    problems = _fates_to_check(
        progress, shown(issue), settings.deferred_max_attempts, settings.deferred_max_age_hours
    )
    if progress.failed:
        # Refused for good: nothing the run can do, and no reason to stop a script, but the editor should know.
        click.echo(
            f"broadsheet: {_copies(progress.failed)} failed (refused for good, or deferred too long): "
            f"`broadsheet send {shown(issue)} --status --list failed` names them with the last answer; once what "
            "made them fail is fixed, --retry-failed sends them again",
            err=True,
        )
    for problem in problems:
        click.echo(f"broadsheet: {problem}", err=True)
    if stopped is not None:
        raise stopped
    if problems:
        sys.exit(EXIT_INPUT)


def _copies(number: int) -> str:
    return "1 copy" if number == 1 else f"{number} copies"


def _by_locale(numbers: Counter[str], locales: Sequence[str]) -> str:
    """`en: 0, my: 1`: a number for each of `locales`, none left out."""
    return ", ".join(f"{locale}: {numbers[locale]}" for locale in locales)


def _subscribers(number: int) -> str:
    return "1 active subscriber" if number == 1 else f"{number} active subscribers"


def _fates_to_check(progress: Progress, issue: Path, max_attempts: int, max_age_hours: int) -> list[str]:
    """What the editor should look at after a send: copies of unknown fate, and deferred ones."""
    problems = []
    listing = f"`broadsheet send {issue} --status --list"
    if progress.unknown:
        problems.append(
            f"{_copies(progress.unknown)} of unknown fate: {progress.unknown_answer}. They may have arrived, so nothing "
            f"sends them again by itself: {listing} unknown` names them; look for them in the mail server's (or SendGrid's) "
            "log, and rerun with --retry-unknown to send them all again"
        )
    if progress.unknown_before:
        problems.append(
            f"{_copies(progress.unknown_before)} of unknown fate from an earlier send that stopped (killed, its machine or its database "
            f"went down) after handing them over: {listing} unknown` names them; rerun with --retry-unknown to send them again"
        )
    if progress.deferred:
        problems.append(
            f"{_copies(progress.deferred)} deferred: refused for now by the recipient's mail server (a full mailbox, "
            f"greylisting). The next run tries them again, up to {max_attempts} tries or {max_age_hours} hours; "
            f"{listing} deferred` names them, --give-up-deferred marks them failed"
        )
    return problems


def _print_copies(copies: Sequence[Copy], state: str, issue: str) -> None:
    if not copies:
        click.echo(f"no {state} copies of {issue}")
        return
    print_table(
        f"{state.capitalize()} copies of {issue}",
        ("address", "locale", "last answer", "subscriber", "tries"),
        [(copy.address, copy.locale, copy.answer, copy.subscriber_id, copy.attempts) for copy in copies],
        text_columns=3,
    )


@contextmanager
def _terminated_as_interrupted() -> Iterator[None]:
    """SIGTERM (`systemctl stop`, `docker stop`, a CI job's timeout) ends the block as Ctrl-C does: a send's
    channels end after the hand-over each is in, its answer recorded. Its default, dying at once, left up to
    one copy a channel `unknown`."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only ever taken by the main thread
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _progress_reporter() -> Iterator[Progress]:
    """Progress of a send: a live bar on a terminal, ended with the block however it ends; a log line per batch otherwise."""
    from ..delivery.send import Progress

    if not sys.stderr.isatty():
        said = [""]

        def log(progress: Progress) -> None:
            waiting = "".join(
                f", {state} {count}"
                for state, count in (("deferred", progress.deferred), ("unknown", progress.unknown))
                if count
            )
            line = (
                f"sent {progress.sent}, failed {progress.failed}{waiting}, "
                f"remaining {progress.remaining} of {progress.total}"
            )
            # Called as anything changes, also what the line leaves out: the same line twice told nothing new.
            if line != said[0]:
                click.echo(line, err=True)
                said[0] = line

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
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=False,
        console=Console(stderr=True),
    )
    task = bar.add_task("send", total=None, failed=0)

    def draw(progress: Progress) -> None:
        bar.update(
            task, total=progress.total, completed=progress.sent + progress.failed, failed=progress.failed
        )

    with bar:
        yield Progress(on_change=draw)


@click.command("report")
@click.argument("issue", metavar="ISSUE")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a table.")
@click.pass_context
def report_command(ctx: click.Context, issue: str, as_json: bool) -> None:
    """What became of an issue, per locale: copies sent, and subscribers delivered, bounced, opened, clicked, unsubscribed, complained.

    ISSUE is its date (2024-01-04) or its file (issues/2024-01-04.yaml). Sent
    copies come from the send ledger; the rest from SendGrid's events, each
    subscriber counted once per column.
    """
    from ..delivery.feedback import REPORT_COLUMNS, anything_recorded, issue_report
    from ..delivery.store import project_store

    project = project_of(ctx)
    from ..schema import iso_date

    name = Path(issue).stem if issue.endswith((".yaml", ".yml")) else issue
    if iso_date(name) is None:
        raise UsageError(
            f"ISSUE: Expected a date such as 2024-01-04 or an issue file but received: {issue!r}"
        )
    with project_store(project) as engine:
        if not anything_recorded(engine, name):
            raise BroadsheetError(
                f"nothing is recorded of {name}: no copy of it was sent, and no event names it; is the date right?"
            )
        rows = issue_report(engine, name, project.settings.locales)
    if as_json:
        click.echo(
            json.dumps(
                {"issue": name, "locales": [row.as_dict() for row in rows]}, ensure_ascii=False, indent=2
            )
        )
        return
    print_table(
        f"What became of {name}",
        ("locale", "sent", *REPORT_COLUMNS),
        [list(row.as_dict().values()) for row in rows],
    )
