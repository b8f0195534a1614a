"""The list keeper's commands: `broadsheet subscribers ...` and `broadsheet suppressions sync`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..delivery import subscribers
from ..delivery.store import Status, project_store
from ..errors import EXIT_INPUT, UsageError, errors_in
from .output import print_table, project_of, report, shown


@click.group("subscribers")
def subscribers_group() -> None:
    """The subscriber list: import, export, list, add, show, remove, forget.

    Subscribers live in the project's database: the database_url setting, or
    the BROADSHEET_DATABASE_URL environment variable. An import never
    re-activates an address that unsubscribed, bounced or complained.
    """


@subscribers_group.command("import")
@click.argument("file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-l",
    "--locale",
    metavar="L",
    help="The locale of rows that name none (a list without a locale column: every row's).",
)
@click.option(
    "--encoding",
    metavar="NAME",
    help="The encoding the file was saved in, when it is not UTF-8: cp1252, cp874, mac_roman... "
    "(Excel's \"CSV (Comma delimited)\" saves in the computer's code page). Never guessed.",
)
@click.pass_context
def subscribers_import(ctx: click.Context, file: Path, locale: str | None, encoding: str | None) -> None:
    """Add and update subscribers from a CSV file (email, name, locale).

    The file is UTF-8 (or UTF-16, as Excel saves Unicode Text), or in the
    encoding --encoding names, and its first line names the columns, separated by commas, semicolons or tabs;
    name, status, consented_at (or Mailchimp's CONFIRM_TIME, else OPTIN_TIME) and consent_text are optional. Columns may be named as mailing tools export them (Email
    Address, First Name, Last Name, Language) or forms ask for them (Your
    email, Which language...?), and a locale by its language's name (Burmese). An address already subscribed
    (in any case) gets the file's name and locale. Every bad row is printed
    with its line and skipped, the valid rows are imported all the same, and
    the command then exits 1.
    """
    project = project_of(ctx)
    locales = project.settings.locales
    if locale is not None:
        chosen = subscribers.configured_locale(locale, locales)
        if chosen is None:
            raise UsageError(f"--locale: unknown locale {locale!r}; configured locales: {', '.join(locales)}")
        locale = chosen
    if encoding is not None:
        encoding = subscribers.text_encoding(encoding)
    with project_store(project) as engine:
        imported = subscribers.import_csv(engine, shown(file), locales, locale=locale, encoding=encoding)
    report(imported.diagnostics)
    click.echo(
        f"{shown(file)}: added {imported.added}, updated {imported.updated}, "
        f"unchanged {imported.unchanged}, skipped {imported.skipped}"
    )
    if errors_in(imported.diagnostics):
        sys.exit(EXIT_INPUT)


@subscribers_group.command("export")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file. Default: standard output.",
)
@click.pass_context
def subscribers_export(ctx: click.Context, out: Path | None) -> None:
    """Write every subscriber as CSV, ordered by address.

    The columns are email, name, locale, status, consented_at and
    consent_text; the file imports back as it is, statuses and consents included.
    """
    with project_store(project_of(ctx)) as engine:
        if out is None:
            subscribers.export_csv(engine, sys.stdout)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8", newline="") as handle:
            count = subscribers.export_csv(engine, handle)
    click.echo(f"wrote {shown(out)} ({count} subscriber(s))")


@subscribers_group.command("list")
@click.option(
    "--all", "show_all", is_flag=True, help="Also list every address, with its locale, status and name."
)
@click.pass_context
def subscribers_list(ctx: click.Context, show_all: bool) -> None:
    """How many subscribers each locale has, in each status."""
    with project_store(project_of(ctx)) as engine:
        counts = subscribers.list_counts(engine)
        rows = subscribers.list_subscribers(engine) if show_all else []
    if not counts:
        click.echo("no subscribers")
        return
    totals = {status: sum(by_status[status] for by_status in counts.values()) for status in Status}
    print_table(
        "Subscribers per locale and status",
        ("locale", *(status.value for status in Status)),
        [(locale, *by_status.values()) for locale, by_status in [*counts.items(), ("total", totals)]],
    )
    if rows:
        print_table(
            "Subscribers",
            ("email", "locale", "status", "name"),
            [(row.email, row.locale, row.status.value, row.name) for row in rows],
            text_columns=4,
        )


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", default="", help="The subscriber's name. Default: none.")
@click.option(
    "--locale", required=True, metavar="L", help="The edition they receive: one of the configured locales."
)
@click.pass_context
def subscribers_add(ctx: click.Context, email: str, name: str, locale: str) -> None:
    """Subscribe EMAIL. An address already there, whatever its status, is refused."""
    project = project_of(ctx)
    with project_store(project) as engine:
        added, notes = subscribers.add(engine, email, name, locale, locales=project.settings.locales)
    for field, message in notes:
        click.echo(f"warning: {field}: {message}", err=True)
    click.echo(f"added {added.email} ({added.locale})")


@subscribers_group.command("remove")
@click.argument("email")
@click.pass_context
def subscribers_remove(ctx: click.Context, email: str) -> None:
    """Delete EMAIL: their address, name and consent, and their copies not yet sent.

    Their past copies and events stay, counted for past issues, but no longer
    point to them. Nothing keeps the address: an import may add it again,
    whereas an unsubscribed address is never re-activated, and a forgotten
    one (subscribers forget) is never added again.
    """
    with project_store(project_of(ctx)) as engine:
        removed = subscribers.remove(engine, email)
    click.echo(f"removed {removed.email}")


@subscribers_group.command("forget")
@click.argument("email")
@click.pass_context
def subscribers_forget(ctx: click.Context, email: str) -> None:
    """Erase EMAIL at its owner's request: their address, name and consent, and their copies not yet sent.

    Their past copies and events stay, counted for past issues, but no longer
    point to them. Only a keyed hash of the address is kept (BROADSHEET_SECRET is the key), so
    that no import or add subscribes it again. Forgetting twice is harmless.
    """
    with project_store(project_of(ctx)) as engine:
        erased = subscribers.forget(engine, email)
    # As on record, or (nothing of it is left) as every spelling of it is keyed; never as typed.
    click.echo(f"forgot {erased}" if erased else f"{subscribers.email_key(email)} was already forgotten")


@subscribers_group.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a listing.")
@click.pass_context
def subscribers_show(ctx: click.Context, email: str, as_json: bool) -> None:
    """Everything stored about EMAIL: the subscriber, their send ledger rows and their events."""
    with project_store(project_of(ctx)) as engine:
        data = subscribers.personal_data(engine, email)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    width = max(map(len, data["subscriber"])) + 2
    for field, value in data["subscriber"].items():
        click.echo(f"{field + ':':<{width}}{'-' if value is None else value}")
    click.echo(f"\nledger ({len(data['ledger'])}):")
    for row in data["ledger"]:
        click.echo(
            f"  {row['issue']}  {row['locale']}  {row['state']}  {row['updated_at']}"
            + (f"  {row['detail']}" if row["detail"] else "")
        )
    click.echo(f"\nevents ({len(data['events'])}):")
    for row in data["events"]:
        click.echo(f"  {row['issue'] or '-'}  {row['kind']}  {row['created_at']}")


@click.group("suppressions")
def suppressions_group() -> None:
    """SendGrid's suppression lists (bounces, spam reports, unsubscribes, the unsubscribe group's)."""


@suppressions_group.command("sync")
@click.pass_context
def suppressions_sync(ctx: click.Context) -> None:
    """Mark subscribers SendGrid suppresses as bounced, complained or unsubscribed, so send skips them.

    With sendgrid_unsubscribe_group set, those who left that group through SendGrid's links too.
    Needs SENDGRID_API_KEY (with read access to suppressions).
    """
    from ..delivery import suppressions

    client = suppressions.client_from(os.environ)
    project = project_of(ctx)
    group = project.settings.sendgrid_unsubscribe_group
    with project_store(project) as engine:
        synced = suppressions.sync(engine, client, group)
    for name, status in suppressions.lists(group):
        label = f"unsubscribe group {group}" if name == suppressions.GROUP_LIST[0] else name
        line = f"{label}: {synced.listed[name]} on SendGrid's list, {synced.changed[name]} subscriber(s) marked {status.value}"
        if synced.confirmed_since[name]:
            line += (
                f", {synced.confirmed_since[name]} left active (they confirmed a sign-up after SendGrid listed them: "
                "SendGrid drops their mail until you take them off its list)"
            )
        click.echo(line)
