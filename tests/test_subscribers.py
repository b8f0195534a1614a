"""The subscriber list: CSV import and export, counts, add and remove, and their commands."""

from __future__ import annotations

import codecs
import io
import re
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from broadsheet.delivery import lifecycle, subscribers
from broadsheet.delivery.store import LedgerEntry, Status, Subscriber, open_store, utcnow
from broadsheet.delivery.subscribers import SubscriberRow
from broadsheet.errors import BroadsheetError, InvalidInput, Severity, UsageError
from broadsheet.settings import Project

from .support import table_rows

LOCALES = ("en", "my")
NAME_THE_ENCODING = (
    "save the file as CSV UTF-8, or import it in the encoding it was saved in: --encoding cp1252, cp874, "
    'mac_roman... (Excel\'s "CSV (Comma delimited)" saves in the code page of the computer: cp1252 in Western '
    "Europe, cp874 in Thailand, mac_roman on old Macs)"
)

Cli = Callable[..., Result]


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented CSV text to tmp_path/NAME and return its path."""

    def write(text: str, name: str = "subscribers.csv") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def _set_status(engine: Engine, email_key: str, status: Status) -> None:
    with Session(engine) as session:
        session.execute(
            update(Subscriber).where(Subscriber.email_key == email_key).values(status=status.value)
        )
        session.commit()


def _exported(engine: Engine) -> str:
    out = io.StringIO()
    subscribers.export_csv(engine, out)
    return out.getvalue()


def test_import_adds_the_valid_rows_and_reports_every_bad_one(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        """
        email,name,locale
        aung@example.org,Aung Aung,my
        not-an-address,Nobody,en
        su@example.org,Su,fr
        AUNG@Example.org,Aung again,my

        "thida@example.org","Thida, Dr",en
        mya@example.org,Mya,en,extra
        kyaw@example.org,Kyaw
        zaw@example.org,"Zaw
        Zaw",en
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:3: error: email: Expected an email address but received: 'not-an-address' (An email address must have an @-sign.)",
        f"{path}:4: error: locale: Expected one of the configured locales 'en', 'my' but received: 'fr'",
        f"{path}:5: error: email: 'AUNG@Example.org' is already on line 2, with another name: 'Aung Aung' there, "
        "'Aung again' here",
        f"{path}:8: error: Expected 3 fields, as in the header, but received 4 (quote a value that holds a comma)",
        f"{path}:9: error: Expected 3 fields, as in the header, but received 2",
        f"{path}:10: error: name: a quoted value opened on line 10 runs on to line 11, so lines 10-11 were read "
        'as one row and are skipped: close its quote where the value ends, and double a quote that belongs in it ("")',
    ]
    assert (report.added, report.updated, report.unchanged, report.skipped) == (2, 0, 0, 7)
    assert subscribers.list_subscribers(store) == [
        SubscriberRow("aung@example.org", "Aung Aung", "my", Status.ACTIVE),
        SubscriberRow("thida@example.org", "Thida, Dr", "en", Status.ACTIVE),
    ]


def test_empty_cells_past_the_header_s_are_read_as_none(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        """
        email,name,locale
        thein@example.org,Thein,my,,
        hla@example.org,Hla,en, ,
        mya@example.org,Mya,en,,note
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:4: error: Expected 3 fields, as in the header, but received 5 (quote a value that holds a comma)",
    ]
    assert subscribers.list_subscribers(store) == [
        SubscriberRow("hla@example.org", "Hla", "en", Status.ACTIVE),
        SubscriberRow("thein@example.org", "Thein", "my", Status.ACTIVE),
    ]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_excel_s_separator_line_before_the_header_names_the_separator(
    store: Engine, tmp_path: Path, separator: str
) -> None:
    path = tmp_path / "list.csv"
    rows = [f"sep={separator}", "email,name,locale".replace(",", separator), "aung@example.org,Aung,my"]
    path.write_text("\r\n".join(row.replace(",", separator) for row in rows) + "\r\n", encoding="utf-8")
    report = subscribers.import_csv(store, path, LOCALES)
    assert report.diagnostics == ()
    assert subscribers.list_subscribers(store) == [
        SubscriberRow("aung@example.org", "Aung", "my", Status.ACTIVE)
    ]


def test_a_stray_quote_is_reported_with_the_lines_it_swallowed_and_every_row_counted(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    # The tester's file: 301 rows; the quote opened on line 3 is never closed, and took the rest of the file.
    rows = [f"a{n}@example.org,A{n},en" for n in range(3, 302)]
    path = write_csv(
        "\n".join(["email,name,locale", "a1@example.org,A1,en", 'a2@example.org,"Ko ""Bo"" Aung,en', *rows])
        + "\n"
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:3: error: name: a quoted value opened on line 3 runs on to line 302, the end of the file, "
        "so lines 3-302 were read as one row and are skipped: close its quote where the value ends, "
        'and double a quote that belongs in it ("")'
    ]
    assert (report.added, report.updated, report.unchanged, report.skipped) == (1, 0, 0, 300)


def test_a_value_quoted_over_two_lines_skips_both_and_the_import_goes_on(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        """
        email,name,locale
        zaw@example.org,"Zaw
        Zaw",en
        mya@example.org,"Mya "Mya",my
        su@example.org,Su,en
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:2: error: name: a quoted value opened on line 2 runs on to line 3, so lines 2-3 were read as "
        'one row and are skipped: close its quote where the value ends, and double a quote that belongs in it ("")'
    ]
    assert (report.added, report.skipped) == (2, 2)


def test_a_quote_not_doubled_inside_a_quoted_value_skips_its_row(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    # Read as CSV readers do, the first name was `Ma Hla" Win"` and the second `Ko Ko Gyi`.
    path = write_csv(
        """
        email,name,locale
        hla@example.org,"Ma "Hla" Win",my
        ko@example.org,"Ko Ko" Gyi,my
        su@example.org,"Daw ""Su"" Aye" ,en
        mya@example.org,Ma "Mya",my
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    message = 'a quote inside a quoted value is not doubled, so the row is skipped: close its quote where the value ends, and double a quote that belongs in it ("")'
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:2: error: {message}",
        f"{path}:3: error: {message}",
    ]
    assert (report.added, report.skipped) == (2, 2)
    assert [(row.email, row.name) for row in subscribers.list_subscribers(store)] == [
        ("mya@example.org", 'Ma "Mya"'),
        ("su@example.org", 'Daw "Su" Aye'),
    ]


def test_a_consent_text_on_several_lines_imports_as_export_wrote_it(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        'email,name,locale,consent_text\nzaw@example.org,Zaw,my,"Paper form,\nsigned in Yangon"\n'
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert (report.diagnostics, report.added) == ((), 1)
    assert _exported(store).splitlines()[1:] == [
        'zaw@example.org,Zaw,my,active,,"Paper form,',
        'signed in Yangon"',
    ]


def test_a_stray_quote_running_past_the_field_limit_says_where_it_opened(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    rows = "".join(f"reader{n}@example.org,Reader {n},en\n" for n in range(5000))
    path = write_csv('email,name,locale\na@example.org,"Aung,en\n' + rows)
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.line == 2
    assert re.fullmatch(
        "not valid CSV: a value longer than 131,072 characters, which no address, name or consent is: a quoted "
        "value opened on line 2 runs on to "
        'line [0-9]{4}: close its quote where the value ends, and double a quote that belongs in it \\(""\\)',
        diagnostic.message,
    ), diagnostic.message
    assert subscribers.list_subscribers(store) == []


def test_an_address_already_there_in_another_case_is_updated(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    subscribers.add(store, "foo@example.org", "Old Name", "en", locales=LOCALES)
    report = subscribers.import_csv(
        store, write_csv("email,name,locale\nFoo@Example.ORG,New Name,my\n"), LOCALES
    )
    assert (report.added, report.updated, report.unchanged, report.skipped) == (0, 1, 0, 0)
    assert report.diagnostics == ()
    assert subscribers.list_subscribers(store) == [
        SubscriberRow("foo@example.org", "New Name", "my", Status.ACTIVE)
    ]


@pytest.mark.parametrize("chunk", [1000, 2])
def test_rows_of_one_address_that_agree_import_once_and_those_that_differ_are_errors(
    store: Engine, write_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Two lists joined into one file: the same person in each, their address in another case, their name in
    one of them only. Read in chunks of 2, a row completes one already written; the report is the same."""
    monkeypatch.setattr(subscribers, "IMPORT_CHUNK", chunk)
    path = write_csv(
        """
        email,name,locale,status,consented_at
        upper@example.org,,my,,
        aung@example.org,Aung Aung,my,,2023-05-01
        su@example.org,Su,en,,
        hla@example.org,Hla,en,,
        mya@example.org,Mya,en,,
        zaw@example.org,Zaw,en,,
        thida@example.org,Thida,en,,
        UPPER@example.org,U Upper,my,,2022-01-01
        Aung@Example.org,,Burmese,active,2022-01-01
        su@EXAMPLE.org,Su,my,,
        HLA@example.org,Hla,en,unsubscribed,
        mya@example.org,Mya Mya,en,,
        Upper@Example.org,U Upper,my,,
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:9: warning: email: 'UPPER@example.org' is already on line 2, with the same subscriber: imported once",
        f"{path}:10: warning: email: 'Aung@Example.org' is already on line 3, with the same subscriber: imported once",
        f"{path}:11: error: email: 'su@EXAMPLE.org' is already on line 4, with another locale: 'en' there, 'my' here",
        f"{path}:12: error: email: 'HLA@example.org' is already on line 5, with another status: 'active' there, "
        "'unsubscribed' here",
        f"{path}:13: error: email: 'mya@example.org' is already on line 6, with another name: 'Mya' there, "
        "'Mya Mya' here",
        f"{path}:14: warning: email: 'Upper@Example.org' is already on line 2, with the same subscriber: imported once",
    ]
    assert (report.added, report.updated, report.unchanged, report.skipped) == (7, 0, 0, 6)
    with Session(store) as session:
        rows = session.execute(
            select(Subscriber.email, Subscriber.name, Subscriber.locale, Subscriber.consented_at)
            .where(Subscriber.email_key.in_(["upper@example.org", "aung@example.org"]))
            .order_by(Subscriber.email)
        ).all()
    # The name of the later row where the first gives none; the consent of the first, the later's where it gives none.
    assert [tuple(row) for row in rows] == [
        ("aung@example.org", "Aung Aung", "my", datetime(2023, 5, 1, tzinfo=UTC)),
        ("upper@example.org", "U Upper", "my", datetime(2022, 1, 1, tzinfo=UTC)),
    ]


def test_import_command_of_two_lists_joined_with_nothing_in_conflict_exits_0(
    project_cli: Cli, tmp_project: Project
) -> None:
    (tmp_project.root / "list.csv").write_text(
        "email,name,locale\nupper@example.org,Upper,en\nsu@example.org,Su,my\nUPPER@example.org,Upper,en\n",
        encoding="utf-8",
    )
    result = project_cli("subscribers", "import", "list.csv")
    assert (result.exit_code, result.stderr, result.stdout) == (
        0,
        "list.csv:4: warning: email: 'UPPER@example.org' is already on line 2, with the same subscriber: "
        "imported once\n",
        "list.csv: added 2, updated 0, unchanged 0, skipped 1\n",
    )


def test_a_blank_name_keeps_the_name_on_record(store: Engine, write_csv: Callable[..., Path]) -> None:
    # A list exported from another tool without names, or with the cell left empty, erases nobody's name.
    subscribers.import_csv(
        store, write_csv("email,name,locale\na@example.org,Aung Aung,en\nb@example.org,B,en\n"), LOCALES
    )
    report = subscribers.import_csv(
        store, write_csv("email,name,locale\na@example.org,,my\nb@example.org,  ,en\n"), LOCALES
    )
    assert (report.updated, report.unchanged) == (1, 1)
    assert subscribers.list_subscribers(store) == [
        SubscriberRow("a@example.org", "Aung Aung", "my", Status.ACTIVE),
        SubscriberRow("b@example.org", "B", "en", Status.ACTIVE),
    ]


def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("email,name,locale\na@example.org,A,en\nb@example.org,B,my\n")
    subscribers.import_csv(store, path, LOCALES)
    report = subscribers.import_csv(store, path, LOCALES)
    assert (report.added, report.updated, report.unchanged, report.skipped) == (0, 0, 2, 0)


def test_each_address_records_where_it_came_from(store: Engine, write_csv: Callable[..., Path]) -> None:
    path = write_csv("email,name,locale\na@example.org,A,en\n")
    subscribers.import_csv(store, path, LOCALES)
    subscribers.add(store, "b@example.org", "B", "my", locales=LOCALES)
    with Session(store) as session:
        sources = session.execute(
            select(Subscriber.email, Subscriber.consent_source, Subscriber.consented_at)
        ).all()
    # Neither consented here: when they did is not known.
    assert sorted(tuple(row) for row in sources) == [
        ("a@example.org", f"import of {path.name}", None),
        ("b@example.org", "added by hand", None),
    ]


@pytest.mark.parametrize("status", [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED])
def test_an_import_never_reactivates_an_address_that_left(
    store: Engine, write_csv: Callable[..., Path], status: Status
) -> None:
    subscribers.add(store, "gone@example.org", "Gone", "en", locales=LOCALES)
    _set_status(store, "gone@example.org", status)
    path = write_csv("email,name,locale\nnew@example.org,New,en\nGONE@example.org,Back Again,my\n")
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:3: warning: email: 'gone@example.org' is {status}: an import never re-activates an address"
    ]
    assert (report.added, report.updated, report.unchanged, report.skipped) == (1, 0, 0, 1)
    assert subscribers.list_subscribers(store, status) == [
        SubscriberRow("gone@example.org", "Gone", "en", status)
    ]


def test_an_import_never_skips_the_confirmation_of_a_pending_sign_up(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    # It said "'new@example.org' is pending: an import never re-activates an address": the address never was active.
    lifecycle.sign_up(
        store,
        SubscriberRow("new@example.org", "New", "en", Status.ACTIVE),
        "consent",
        utcnow(),
        timedelta(days=7),
    )
    path = write_csv("email,name,locale\nnew@example.org,New,en\n")
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:2: warning: email: 'new@example.org' awaits the confirmation of its sign-up: an import never skips it"
    ]
    assert (report.added, report.updated, report.unchanged, report.skipped) == (0, 0, 0, 1)
    assert subscribers.list_subscribers(store, Status.PENDING) == [
        SubscriberRow("new@example.org", "New", "en", Status.PENDING)
    ]


def test_extra_columns_are_ignored_with_one_warning(store: Engine, write_csv: Callable[..., Path]) -> None:
    path = write_csv(
        """
        Phone, Email ,Name,Locale,City,
        0912345,aung@example.org,Aung,my,Yangon,
        ,su@example.org,Su,en,,
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:1: warning: ignored column(s) 'Phone', 'City', column 6 (no name)"
    ]
    assert report.added == 2
    assert [row.email for row in subscribers.list_subscribers(store)] == [
        "aung@example.org",
        "su@example.org",
    ]


def test_a_status_column_brings_addresses_in_as_they_left_but_never_back(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    subscribers.add(store, "active@example.org", "Active", "en", locales=LOCALES)
    path = write_csv(
        """
        email,name,locale,status
        active@example.org,Active,en,unsubscribed
        bounced@example.org,Bounced,en,bounced
        new@example.org,New,en,
        odd@example.org,Odd,en,gone
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:5: error: status: Expected one of 'active', 'unsubscribed', 'bounced', 'complained' "
        "or nothing (active) but received: 'gone'"
    ]
    assert (report.added, report.updated, report.unchanged, report.skipped) == (2, 1, 0, 1)
    assert [(row.email, row.status) for row in subscribers.list_subscribers(store)] == [
        ("active@example.org", Status.UNSUBSCRIBED),
        ("bounced@example.org", Status.BOUNCED),
        ("new@example.org", Status.ACTIVE),
    ]


def test_the_statuses_of_mailing_tools_exports_import_as_they_say(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """MailerLite, Kit, Buttondown and Constant Contact name a subscriber's status in their own words and
    columns: read as broadsheet's, those who left come in as they left, and those who never confirmed not at all."""
    mailerlite = write_csv(
        """
        Subscriber,Email,Name,Status,Subscribed
        1,ml-active@example.org,Hla,Active,2023-01-01 10:00:00
        2,ml-junk@example.org,Junk,Junk,2023-01-01 10:00:00
        3,ml-unconfirmed@example.org,New,Unconfirmed,2023-01-01 10:00:00
        """,
        "mailerlite.csv",
    )
    kit = write_csv(
        """
        first_name,email_address,status
        Thu,kit-cancelled@example.org,cancelled
        Zin,kit-inactive@example.org,inactive
        """,
        "kit.csv",
    )
    buttondown = write_csv(
        """
        id,email,creation_date,subscriber_type
        a1,bd-regular@example.org,2023-01-01T00:00:00Z,regular
        a2,bd-removed@example.org,2023-01-01T00:00:00Z,removed
        a3,bd-odd@example.org,2023-01-01T00:00:00Z,gone
        """,
        "buttondown.csv",
    )
    constant_contact = write_csv(
        """
        Email address,First name,Last name,Email status,Email permission status
        cc-active@example.org,Nay,Lin,Active,Explicit
        cc-left@example.org,Old,Member,Active,Unsubscribed
        cc-bounced@example.org,Bad,Box,Bounced,Implicit
        """,
        "constant_contact.csv",
    )
    files = (mailerlite, kit, buttondown, constant_contact)
    reports = [subscribers.import_csv(store, path, LOCALES, locale="en") for path in files]
    assert [
        str(d) for report in reports for d in report.diagnostics if not d.message.startswith("ignored column")
    ] == [
        f"{mailerlite}:4: warning: Status: a sign-up awaiting its confirmation; not imported "
        "(only confirming it subscribes the address)",
        f"{kit}:3: warning: status: a sign-up awaiting its confirmation; not imported "
        "(only confirming it subscribes the address)",
        f"{buttondown}:4: error: subscriber_type: Expected one of 'active', 'unsubscribed', 'bounced', "
        "'complained' or nothing (active) but received: 'gone'",
    ]
    assert [(s.email, s.status) for s in subscribers.list_subscribers(store)] == [
        ("bd-regular@example.org", Status.ACTIVE),
        ("bd-removed@example.org", Status.UNSUBSCRIBED),
        ("cc-active@example.org", Status.ACTIVE),
        ("cc-bounced@example.org", Status.BOUNCED),
        ("cc-left@example.org", Status.UNSUBSCRIBED),
        ("kit-cancelled@example.org", Status.UNSUBSCRIBED),
        ("ml-active@example.org", Status.ACTIVE),
        ("ml-junk@example.org", Status.COMPLAINED),
    ]


def test_a_column_of_yes_or_no_saying_who_left_imports_them_as_they_left(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """Brevo's blocklist, Substack's disabled email, Mailjet's exclusion from campaigns and a no in Ghost's
    subscription to emails: ignored, every row of them came in active, and an active address here stayed so."""
    subscribers.add(store, "left@example.org", "Left", "en", locales=LOCALES)
    brevo = write_csv(
        """
        CONTACT ID;EMAIL;FIRSTNAME;LASTNAME;EMAIL_BLACKLISTED;SMS_BLACKLISTED
        1;aung@example.org;Aung;Kyaw;No;Yes
        2;left@example.org;Left;;Yes;No
        3;odd@example.org;Odd;;maybe;No
        """,
        "brevo.csv",
    )
    substack = write_csv(
        """
        email,active_subscription,expiry,plan,email_disabled,created_at
        reader@example.org,false,,,false,2022-04-01T09:00:00.000Z
        off@example.org,false,,,TRUE,2021-01-01T00:00:00.000Z
        """,
        "substack.csv",
    )
    mailjet = write_csv(
        """
        "Email","Name","Is Excluded From Campaigns"
        "mj@example.org","Mj","false"
        "excluded@example.org","Excluded","true"
        """,
        "mailjet.csv",
    )
    ghost = write_csv(
        """
        id,email,name,note,subscribed_to_emails,complimentary_plan,created_at
        1,ghost@example.org,Ghost,,true,false,2023-01-01T00:00:00.000Z
        2,ghost-left@example.org,Gone,,false,false,2023-01-01T00:00:00.000Z
        """,
        "ghost.csv",
    )
    files = (brevo, substack, mailjet, ghost)
    reports = [subscribers.import_csv(store, path, LOCALES, locale="en") for path in files]
    assert [str(d) for report in reports for d in report.diagnostics if d.severity is Severity.ERROR] == [
        f"{brevo}:4: error: EMAIL_BLACKLISTED: Expected yes or no (true or false, 1 or 0, or a mark such as x) "
        "but received: 'maybe'"
    ]
    assert [(s.email, s.status) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", Status.ACTIVE),
        ("excluded@example.org", Status.UNSUBSCRIBED),
        ("ghost-left@example.org", Status.UNSUBSCRIBED),
        ("ghost@example.org", Status.ACTIVE),
        ("left@example.org", Status.UNSUBSCRIBED),
        ("mj@example.org", Status.ACTIVE),
        ("off@example.org", Status.UNSUBSCRIBED),
        ("reader@example.org", Status.ACTIVE),
    ]


def test_a_hand_kept_column_marking_who_left_with_a_cross_or_a_date_imports_them_as_they_left(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """A sheet kept by hand marks those who left with `x`, a check mark or the day they left: each was an error,
    the row left out and the import failed; a blank cell is a reader who stayed."""
    sheet = write_csv(
        """
        Email,Name,Language,Unsubscribed
        stays@example.org,Stays,en,
        crossed@example.org,Crossed,en,X
        ticked@example.org,Ticked,my,✓
        dated@example.org,Dated,my,2024-03-01
        slashed@example.org,Slashed,en,12/03/2024
        odd@example.org,Odd,en,later
        """,
        "sheet.csv",
    )
    report = subscribers.import_csv(store, sheet, LOCALES)
    assert [str(d) for d in report.diagnostics if d.severity is Severity.ERROR] == [
        f"{sheet}:7: error: Unsubscribed: Expected yes or no (true or false, 1 or 0, or a mark such as x) but "
        "received: 'later'"
    ]
    assert [(s.email, s.status) for s in subscribers.list_subscribers(store)] == [
        ("crossed@example.org", Status.UNSUBSCRIBED),
        ("dated@example.org", Status.UNSUBSCRIBED),
        ("slashed@example.org", Status.UNSUBSCRIBED),
        ("stays@example.org", Status.ACTIVE),
        ("ticked@example.org", Status.UNSUBSCRIBED),
    ]


def test_a_column_that_may_say_who_left_and_is_not_read_refuses_the_file(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """Ignored, a column of unsubscribe dates let everyone in it come in active; one about texts is not."""
    path = write_csv(
        """
        email,name,locale,Unsubscribe date,Hard_Bounce,SMS status
        aung@example.org,Aung,my,2023-05-01,,
        """
    )
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in raised.value.diagnostics] == [
        f"{path}:1: error: column(s) 'Unsubscribe date', 'Hard_Bounce' may say who left the list, which the "
        "import cannot read: every row would come in active. Leave out the rows of those who left and delete the "
        "column(s), or say who left in a status column (unsubscribed, bounced, complained)"
    ]
    assert subscribers.list_subscribers(store) == []
    texts = write_csv("email,name,locale,SMS status,SMS_BLACKLISTED\naung@example.org,Aung,my,Active,No\n")
    assert subscribers.import_csv(store, texts, LOCALES).added == 1


def test_a_column_of_another_status_or_of_notes_is_ignored_as_any_other(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """A hand-made sheet keeps a donor's or a member's standing, a payment's, notes, beside the list: each
    refused the file as though it might say who left. Beside a status column read, so is one that may."""
    path = write_csv(
        """
        Email,Name,Language,Donor status,Membership status,Status of payment,Notes on opt-out,Disabled access
        aung@example.org,Aung,Burmese,Monthly donor,Member,Paid,,wheelchair
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:1: warning: ignored column(s) 'Donor status', 'Membership status', 'Status of payment', "
        "'Notes on opt-out', 'Disabled access'"
    ]
    with_status = write_csv(
        "email,locale,Status,Unsubscribe date\nsu@example.org,en,unsubscribed,2023-05-01\n", "status.csv"
    )
    report = subscribers.import_csv(store, with_status, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{with_status}:1: warning: ignored column(s) 'Unsubscribe date'"
    ]
    assert [(s.email, s.status) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", Status.ACTIVE),
        ("su@example.org", Status.UNSUBSCRIBED),
    ]
    member = write_csv("email,locale,Member status\nzaw@example.org,my,unsubscribed\n", "member.csv")
    with pytest.raises(InvalidInput, match="'Member status' may say who left"):
        subscribers.import_csv(store, member, LOCALES)


def test_a_file_that_is_not_utf8_is_refused_whole(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_bytes("email,name,locale\nok@example.org,Ok,en\ncafe@example.org,Café,en\n".encode("cp1252"))
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    assert str(raised.value) == (
        f"{path}:3: error: not UTF-8 text (invalid continuation byte at byte 59); {NAME_THE_ENCODING}"
    )
    assert subscribers.list_subscribers(store) == []


def test_a_file_that_is_not_csv_is_refused_whole_with_the_problems_found_before(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv('email,name,locale\nbad,Bad,en\nlong@example.org,"' + "x" * 200_000 + '",en\n')
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in raised.value.diagnostics] == [
        f"{path}:2: error: email: Expected an email address but received: 'bad' (An email address must have an @-sign.)",
        f"{path}:3: error: not valid CSV: a value longer than 131,072 characters, which no address, name or "
        "consent is",
    ]
    assert subscribers.list_subscribers(store) == []


def refused_import(store: Engine, path: Path) -> tuple[pytest.ExceptionInfo[InvalidInput], int]:
    """The error of importing `path`, refused, and the most memory the import held at once (bytes)."""
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput) as raised:
            subscribers.import_csv(store, path, LOCALES)
        return raised, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_file_without_line_breaks_is_refused_without_being_read_into_memory(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("email,name,locale\nok@example.org,Ok,en\n" + "x" * 30_000_000)
    raised, peak = refused_import(store, path)
    assert str(raised.value) == f"{path}:3: error: not valid CSV: a line longer than 1,000,000 characters"
    assert peak < 15_000_000  # the 30 MB line is never held whole
    assert subscribers.list_subscribers(store) == []


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("email,name", "missing column 'locale'"),
        ("aung@example.org,Aung,my", "missing column 'email'; missing column 'locale'"),
        ("email,name,locale,email", "column 'email' appears 2 times"),
        ("email,name,locale,Email", "columns 'email', 'Email' all give 'email'"),
        ("email,name,locale,E-mail Address", "columns 'email', 'E-mail Address' all give 'email'"),
        ("", "empty file"),
    ],
)
def test_a_file_without_the_columns_is_refused_whole(
    store: Engine, write_csv: Callable[..., Path], header: str, problem: str
) -> None:
    path = write_csv(f"{header}\nsu@example.org,Su,en\n" if header else "")
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    assert str(raised.value) == (
        f"{path}:1: error: {problem}: the first line must name the columns email and locale (or give every row's "
        "locale: --locale L), and may name name, in any order (as mailing tools name them too: Email Address, "
        "Language, First Name, Last Name)"
    )
    assert subscribers.list_subscribers(store) == []


def test_a_list_exported_from_a_mailing_tool_imports_as_it_is(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """Mailchimp's columns, a form's language names (in English and in Burmese) and browsers' tags."""
    path = write_csv(
        """
        Email Address,First Name,Last Name,Language,MEMBER_RATING,OPTIN_TIME
        aung@example.org,Aung,Kyaw,Burmese,2,2023-05-01 09:30:00
        su@example.org,Su,,မြန်မာ,3,
        thida@example.org,,,English,1,
        mya@example.org,Mya,Mya,en-US,1,
        zaw@example.org,Zaw,,MY_mm,1,
        nu@example.org,Nu,,Klingon,1,
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:1: warning: ignored column(s) 'MEMBER_RATING'",
        f"{path}:7: error: locale: Expected one of the configured locales 'en', 'my' but received: 'Klingon'",
    ]
    assert (report.added, report.skipped) == (5, 1)
    assert [(s.email, s.name, s.locale) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", "Aung Kyaw", "my"),
        ("mya@example.org", "Mya Mya", "en"),
        ("su@example.org", "Su", "my"),
        ("thida@example.org", "", "en"),
        ("zaw@example.org", "Zaw", "my"),
    ]


def test_mailchimp_s_confirmation_else_opt_in_time_is_recorded_as_the_consent_never_replacing_one(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """The columns of Mailchimp's audience export, its times in UTC without a zone."""
    subscribers.import_csv(
        store, write_csv("email,name,locale\nweb@example.org,Web,en\n", "first.csv"), LOCALES
    )
    with Session(store) as session, session.begin():
        web = session.scalars(select(Subscriber).where(Subscriber.email_key == "web@example.org")).one()
        web.consented_at, web.consent_source = datetime(2024, 1, 1, tzinfo=UTC), "web form"
    path = write_csv(
        """
        Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,TIMEZONE,LAST_CHANGED
        both@example.org,Both,,2,2023-05-01 09:30:00,203.0.113.5,2023-05-01 09:41:12,203.0.113.5,Asia/Yangon,2023-06-01 10:00:00
        optin@example.org,Optin,,2,2023-05-02 10:00:00,,,,,2023-06-01 10:00:00
        none@example.org,None,,2,,,,,,2023-06-01 10:00:00
        web@example.org,Web,,2,2022-01-01 00:00:00,,2022-01-01 00:05:00,,,2023-06-01 10:00:00
        bad@example.org,Bad,,2,2023-05-02 10:00:00,,05/02/2023 10:05 AM,,,2023-06-01 10:00:00
        later@example.org,Later,,2,2999-01-01 00:00:00,,,,,2023-06-01 10:00:00
        """,
        "mailchimp.csv",
    )
    report = subscribers.import_csv(store, path, LOCALES, locale="my")
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:1: warning: ignored column(s) 'MEMBER_RATING', 'OPTIN_IP', 'CONFIRM_IP', 'TIMEZONE', 'LAST_CHANGED'",
        f"{path}:6: error: CONFIRM_TIME: Expected a date such as 2023-05-01 or a time such as 2023-05-01T09:30:00Z "
        "but received: '05/02/2023 10:05 AM'",
        f"{path}:7: error: OPTIN_TIME: Expected a time in the past but received: '2999-01-01 00:00:00'",
    ]
    with Session(store) as session:
        rows = session.execute(
            select(Subscriber.email, Subscriber.consented_at, Subscriber.consent_source).order_by(
                Subscriber.email
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("both@example.org", datetime(2023, 5, 1, 9, 41, 12, tzinfo=UTC), "import of mailchimp.csv"),
        ("none@example.org", None, "import of mailchimp.csv"),
        ("optin@example.org", datetime(2023, 5, 2, 10, 0, tzinfo=UTC), "import of mailchimp.csv"),
        ("web@example.org", datetime(2024, 1, 1, tzinfo=UTC), "web form"),
    ]
    assert "both@example.org,Both,my,active,2023-05-01T09:41:12+00:00," in _exported(store)


def test_mailchimp_s_exports_of_those_who_unsubscribed_or_were_cleaned_import_as_they_left(
    store: Engine, tmp_path: Path
) -> None:
    """Mailchimp's audience export is three files; two list those who left (UNSUB_TIME, CLEAN_TIME), and
    must not subscribe them again, even when the address is active here."""
    common = '"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,LEID,EUID,NOTES,TAGS'
    subscribed = tmp_path / "subscribed_members_export_0a1b2c.csv"
    subscribed.write_text(
        f'{common},LAST_CHANGED\naung@example.org,Aung,Kyaw,2,"2023-05-01 09:30:00",1,a,,,\n',
        encoding="utf-8",
    )
    unsubscribed = tmp_path / "unsubscribed_members_export_0a1b2c.csv"
    unsubscribed.write_text(
        f"{common},UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_CAMPAIGN_ID,UNSUB_REASON,UNSUB_REASON_OTHER\n"
        'left@example.org,Left,,1,,2,b,,,"2024-01-04 12:00:00","January 2024",c1,'
        '"I no longer want to receive these emails",\n'
        "AUNG@example.org,Aung,Kyaw,2,,1,a,,,,,,,\n",
        encoding="utf-8",
    )
    cleaned = tmp_path / "cleaned_members_export_0a1b2c.csv"
    cleaned.write_text(
        f'{common},CLEAN_TIME,CLEAN_CAMPAIGN_TITLE,CLEAN_CAMPAIGN_ID\ngone@example.org,Gone,,1,,3,c,,,"2024-01-04 12:00:00",,\n',
        encoding="utf-8",
    )
    for path in (subscribed, unsubscribed, cleaned):
        subscribers.import_csv(store, path, LOCALES, locale="en")
    assert [(s.email, s.status) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", Status.UNSUBSCRIBED),
        ("gone@example.org", Status.BOUNCED),
        ("left@example.org", Status.UNSUBSCRIBED),
    ]


def test_a_mailchimp_export_of_those_who_left_before_a_confirmed_sign_up_here_leaves_them_subscribed(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """As SendGrid's lists are read: an unsubscribe from before the person confirmed a sign-up on the web form is
    of an earlier spell on the list. An import proves nothing about the mailbox, so only the web form counts."""
    subscribers.import_csv(
        store,
        write_csv(
            "email,name,locale\nback@example.org,Back,en\nlater@example.org,Later,en\n"
            "imported@example.org,Imported,en\n",
            "first.csv",
        ),
        LOCALES,
    )
    confirmed = datetime(2024, 6, 1, 8, 0, 0, 250000, tzinfo=UTC)
    with Session(store) as session, session.begin():
        for address, source in [
            ("back@example.org", "web form"),
            ("later@example.org", "web form: footer"),
            ("imported@example.org", "import of readers.csv"),
        ]:
            found = session.scalars(select(Subscriber).where(Subscriber.email_key == address)).one()
            found.consented_at, found.consent_source = confirmed, source
    path = write_csv(
        """
        Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,LEID,EUID,NOTES,TAGS,UNSUB_TIME,UNSUB_REASON
        back@example.org,Back,,2,,1,a,,,2024-01-04 12:00:00,
        later@example.org,Later,,2,,2,b,,,2024-06-01 08:00:00,
        imported@example.org,Imported,,2,,3,c,,,2024-01-04 12:00:00,
        bad@example.org,Bad,,2,,4,d,,,04/01/2024,
        """,
        "unsubscribed_members_export.csv",
    )

    report = subscribers.import_csv(store, path, LOCALES, locale="en")

    assert [str(d) for d in report.diagnostics] == [
        f"{path}:1: warning: ignored column(s) 'MEMBER_RATING', 'LEID', 'EUID', 'NOTES', 'TAGS', 'UNSUB_REASON'",
        f"{path}:2: warning: email: 'back@example.org' left on 2024-01-04 12:00 UTC, as this list says, before confirming "
        "a sign-up here on 2024-06-01 08:00 UTC: an earlier spell on the list; left active",
        f"{path}:5: error: UNSUB_TIME: Expected a date such as 2023-05-01 or a time such as 2023-05-01T09:30:00Z "
        "but received: '04/01/2024'",
    ]
    assert [(s.email, s.status) for s in subscribers.list_subscribers(store)] == [
        ("back@example.org", Status.ACTIVE),
        ("imported@example.org", Status.UNSUBSCRIBED),  # an import's consent proves nothing
        ("later@example.org", Status.UNSUBSCRIBED),  # in the same second as the confirmation: it counts
    ]


def test_an_address_written_after_a_name_is_read_with_the_name_for_a_row_giving_none(
    store: Engine, tmp_path: Path
) -> None:
    # As address books and mail programs copy addresses (Gmail, Outlook): a name, then the address in <>.
    path = tmp_path / "contacts.csv"
    rows = [
        "email,name,locale",
        "Aung Kyaw <aung@example.org>,,my",
        '"""Kyaw, Thida"" <thida@example.org>",,en',
        "မျိုး မြင့် <myo@example.org>,,my",
        "Daw Su <su@example.org>,Su Su,en",
        "<hla@example.org>,,en",
        "zaw@example.org <zaw@example.org>,,en",
        "Nobody <nobody>,,en",
        '"A <a@example.org>, B <b@example.org>",,en',
        "Aung <AUNG@example.org>,,my",
    ]
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:8: error: email: Expected an email address but received: 'nobody' (An email address must have an @-sign.)",
        f"{path}:9: error: email: Expected one address but received 2: 'A <a@example.org>, B <b@example.org>' "
        "(give each a row of its own)",
        f"{path}:10: error: email: 'Aung <AUNG@example.org>' is already on line 2, with another name: "
        "'Aung Kyaw' there, 'Aung' here",
    ]
    assert [(s.email, s.name) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", "Aung Kyaw"),
        ("hla@example.org", ""),
        ("myo@example.org", "မျိုး မြင့်"),
        ("su@example.org", "Su Su"),
        ("thida@example.org", "Kyaw, Thida"),
        ("zaw@example.org", ""),
    ]


def test_an_address_copied_as_a_link_is_read_and_two_in_a_cell_are_an_error_saying_so(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        """
        email,name,locale
        mailto:hla@example.org,Hla,my
        MAILTO:Su <su@example.org>,,en
        "koko@example.org, koko2@example.org",Ko Ko,my
        zaw@example.org;zaw@example.net,Zaw,my
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:4: error: email: Expected one address but received 2: 'koko@example.org, koko2@example.org' "
        "(give each a row of its own)",
        f"{path}:5: error: email: Expected one address but received 2: 'zaw@example.org;zaw@example.net' "
        "(give each a row of its own)",
    ]
    assert [(s.email, s.name) for s in subscribers.list_subscribers(store)] == [
        ("hla@example.org", "Hla"),
        ("su@example.org", "Su"),
    ]


def test_a_whole_name_is_read_before_its_parts(store: Engine, write_csv: Callable[..., Path]) -> None:
    path = write_csv("first_name,Name,last_name,EMAIL,locale\nAung,Daw Aung,Kyaw,aung@example.org,my\n")
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:1: warning: ignored column(s) 'first_name', 'last_name'"
    ]
    assert [(s.email, s.name) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", "Daw Aung")
    ]


def test_a_list_of_a_french_brevo_account_imports_as_it_is(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        """
        EMAIL;PRENOM;NOM;LANGUE;EMAIL_BLACKLISTED
        marie@example.org;Marie;Dupont;Anglais;Non
        aung@example.org;Aung;Kyaw;Birman;Oui
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert (report.added, report.diagnostics) == (2, ())
    assert [(s.email, s.name, s.locale, s.status) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", "Aung Kyaw", "my", Status.UNSUBSCRIBED),
        ("marie@example.org", "Marie Dupont", "en", Status.ACTIVE),
    ]


def test_a_name_beside_a_last_name_alone_is_a_first_name(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """MailerLite exports the first name as `Name`, beside `Last name`."""
    path = write_csv(
        "Subscriber,Email,Name,Last name,locale\n1,hla@example.org,Hla,Win,my\n2,su@example.org,Su,,en\n"
        "3,aye@example.org,Aye,Aye,my\n"
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [f"{path}:1: warning: ignored column(s) 'Subscriber'"]
    assert [(s.email, s.name) for s in subscribers.list_subscribers(store)] == [
        ("aye@example.org", "Aye Aye"),
        ("hla@example.org", "Hla Win"),
        ("su@example.org", "Su"),
    ]


def test_a_whole_name_beside_its_last_name_is_not_doubled(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """A hand-made sheet's `Name` of whole names, beside a `Last name` to sort by: read as MailerLite's first
    name, each reader was greeted `Aung San Suu Kyi Suu Kyi`."""
    path = write_csv(
        """
        Name,Last name,Email,Language
        Aung San Suu Kyi,Suu Kyi,suu@example.org,English
        Nguyen Van An,Nguyen,an@example.org,English
        Kyaw,Min,kyaw@example.org,Burmese
        """
    )
    assert subscribers.import_csv(store, path, LOCALES).added == 3
    assert [(s.email, s.name) for s in subscribers.list_subscribers(store)] == [
        ("an@example.org", "Nguyen Van An"),
        ("kyaw@example.org", "Kyaw Min"),
        ("suu@example.org", "Aung San Suu Kyi"),
    ]


def test_the_locale_given_to_an_import_is_that_of_rows_naming_none(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    no_column = write_csv("email,name\naung@example.org,Aung\n", "readers-my.csv")
    blank_cells = write_csv("email,locale\nsu@example.org,\nthida@example.org,en\n", "readers.csv")
    assert subscribers.import_csv(store, no_column, LOCALES, locale="my").added == 1
    assert subscribers.import_csv(store, blank_cells, LOCALES, locale="my").added == 2
    with pytest.raises(InvalidInput, match="missing column 'locale'"):
        subscribers.import_csv(store, no_column, LOCALES)
    report = subscribers.import_csv(store, blank_cells, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{blank_cells}:2: error: locale: Expected one of the configured locales 'en', 'my' but received a blank "
        "cell (give the locale of rows naming none: --locale L)"
    ]
    assert [(s.email, s.locale) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", "my"),
        ("su@example.org", "my"),
        ("thida@example.org", "en"),
    ]


@pytest.mark.parametrize(
    ("value", "locale"),
    [
        ("my", "my"),
        (" EN ", "en"),
        ("my-MM", "my"),
        ("en_GB", "en"),
        ("Burmese", "my"),
        ("burmese", "my"),
        ("မြန်မာ", "my"),
        ("English", "en"),
        ("အင်္ဂလိပ်", "en"),
        # As sign-up forms name languages: by the country whose language it is, and with a gloss in brackets.
        ("Myanmar", "my"),
        ("Myanmar (Burmese)", "my"),
        ("Burmese (Myanmar)", "my"),
        ("English (US)", "en"),
        ("English (United States)", "en"),
        ("English (Burmese)", None),
        # Three-letter codes (ISO 639-2 and -3), and names in the languages of mailing tools and of Thailand.
        ("mya", "my"),
        ("BUR", "my"),
        ("eng", "en"),
        ("Birman", "my"),
        ("Anglais (États-Unis)", "en"),
        ("Birmano", "my"),
        ("Englisch", "en"),
        ("พม่า", "my"),
        ("fra", None),
        ("India", None),
        ("fr", None),
        ("French", None),
        ("", None),
        ("_", None),
    ],
)
def test_a_locale_is_named_by_its_code_tag_or_language(value: str, locale: str | None) -> None:
    assert subscribers.configured_locale(value, LOCALES) == locale


def test_a_region_configured_apart_is_not_taken_for_its_language() -> None:
    assert subscribers.configured_locale("pt-BR", ("en", "pt", "pt_BR")) == "pt_BR"
    assert subscribers.configured_locale("pt-PT", ("en", "pt", "pt_BR")) == "pt"
    assert subscribers.configured_locale("Portuguese", ("en", "pt_BR")) is None


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_file_separated_by_semicolons_or_tabs_is_read_by_its_header(
    store: Engine, tmp_path: Path, separator: str
) -> None:
    # Excel saves "CSV" with semicolons where a comma is the decimal sign; Google Sheets saves TSV with tabs.
    path = tmp_path / "list.csv"
    rows = [
        "email;name;locale",
        "aung@example.org;Aung, U;my",
        'su@example.org;"Daw ""Su""";en',
        "bad;Bad;en",
        "mya@example.org;Mya;Mya;my",
    ]
    path.write_text("\n".join(row.replace(";", separator) for row in rows) + "\n", encoding="utf-8")
    report = subscribers.import_csv(store, path, LOCALES)
    named = {";": "a semicolon", "\t": "a tab"}[separator]
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:4: error: email: Expected an email address but received: 'bad' (An email address must have an @-sign.)",
        f"{path}:5: error: Expected 3 fields, as in the header, but received 4 (quote a value that holds {named})",
    ]
    assert [(row.email, row.name) for row in subscribers.list_subscribers(store)] == [
        ("aung@example.org", "Aung, U"),
        ("su@example.org", 'Daw "Su"'),
    ]


def test_a_value_quoted_after_a_space_is_read_without_its_quotes(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    # As people write a list by hand: the quotes were kept in the name, and the comma split it in two.
    path = write_csv(
        """
        email, "name", locale
        aung@example.org, "Aung, U", my
        su@example.org,  "Su Su" , en
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert report.diagnostics == ()
    assert [(row.email, row.name) for row in subscribers.list_subscribers(store)] == [
        ("aung@example.org", "Aung, U"),
        ("su@example.org", "Su Su"),
    ]


def test_blank_lines_before_the_header_are_skipped_and_lines_keep_their_numbers(
    store: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        "\n  \r\n\nemail,name,locale,phone\nsu@example.org,Su,en,1\nbad,Bad,en,2\n", encoding="utf-8"
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:4: warning: ignored column(s) 'phone'",
        f"{path}:6: error: email: Expected an email address but received: 'bad' (An email address must have an @-sign.)",
    ]
    assert (report.added, report.skipped) == (1, 1)


def test_a_sheet_with_a_title_above_its_table_imports_below_it_and_says_what_it_skipped(
    store: Engine, tmp_path: Path
) -> None:
    """Excel saves a sheet as it is laid out: a title above the table, empty rows as separators alone."""
    path = tmp_path / "readers.csv"
    path.write_text(
        "Newsletter readers 2024;;;\r\n;;;\r\nupdated by Thida;;;\r\nName;E-mail;Language;\r\n"
        "Aung;aung@example.org;Burmese;\r\n;;;\r\nSu;su@example.org;English;\r\nBad;bad;English;\r\n",
        encoding="utf-8",
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:1: warning: skipped, as it is above the header (line 4): 'Newsletter readers 2024'",
        f"{path}:3: warning: skipped, as it is above the header (line 4): 'updated by Thida'",
        f"{path}:4: warning: ignored column(s) column 4 (no name)",
        f"{path}:8: error: email: Expected an email address but received: 'bad' (An email address must have an @-sign.)",
    ]
    assert [(s.email, s.locale) for s in subscribers.list_subscribers(store)] == [
        ("aung@example.org", "my"),
        ("su@example.org", "en"),
    ]
    # Without a line naming the email column, the first is still the header, and the lines after it rows.
    untitled = tmp_path / "untitled.csv"
    untitled.write_text(";;\nReaders;;\nzaw@example.org;Zaw;my\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, untitled, LOCALES)
    assert [d.line for d in raised.value.diagnostics] == [2]


def test_a_file_of_blank_lines_is_empty(store: Engine, write_csv: Callable[..., Path]) -> None:
    path = write_csv("\n\n")
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    assert str(raised.value) == (
        f"{path}:1: error: empty file: the first line must name the columns email and locale (or give every "
        "row's locale: --locale L), and may name name, in any order (as mailing tools name them too: Email "
        "Address, Language, First Name, Last Name)"
    )


def test_a_name_whose_letters_a_spreadsheet_wrote_as_question_marks_is_imported_without_it(
    store: Engine, tmp_path: Path
) -> None:
    # Excel's "CSV (Comma delimited)" is Windows-1252: it writes a "?" for each Burmese letter, and the English
    # names around them leave the file plain ASCII, which reads as UTF-8.
    subscribers.add(store, "myo@example.org", "မျိုး", "my", locales=LOCALES)
    path = tmp_path / "excel.csv"
    rows = [
        "email,name,locale",
        "myo@example.org,မျိုး,my",
        "thu@example.org,U မြင့်,my",
        "who@example.org,Who?,en",
    ]
    path.write_bytes("\r\n".join(rows).encode("cp1252", errors="replace") + b"\r\n")
    report = subscribers.import_csv(store, path, LOCALES)
    said = (
        'has question marks where its letters were, as Excel\'s "CSV (Comma delimited)" writes letters it '
        "cannot save (Burmese); imported without a name, a name on record kept: save the list as CSV UTF-8 to "
        "keep the names"
    )
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:2: warning: name: '?????' {said}",
        f"{path}:3: warning: name: 'U ?????' {said}",
    ]
    assert [(s.email, s.name) for s in subscribers.list_subscribers(store)] == [
        ("myo@example.org", "မျိုး"),
        ("thu@example.org", ""),
        ("who@example.org", "Who?"),
    ]


def test_a_byte_order_mark_is_not_part_of_the_first_column(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("email,name,locale\r\nmya@example.org,မြ,my\r\n".encode("utf-8-sig"))
    report = subscribers.import_csv(store, path, LOCALES)
    assert report.diagnostics == ()
    assert subscribers.list_subscribers(store) == [
        SubscriberRow("mya@example.org", "မြ", "my", Status.ACTIVE)
    ]


def test_export_lists_every_subscriber_by_address_and_imports_back_the_same(
    store: Engine, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    subscribers.import_csv(
        store,
        write_csv(
            """
            email,name,locale,consented_at,consent_text
            zaw@example.org,Zaw,my,2023-05-01,"စာရင်းသွင်းရန် သဘောတူပါသည်၊ ကျေးဇူးပါ"
            Bo@Example.org,"Bo ""Tiger"" Aung",en,2023-05-02T09:30:00+06:30,At the Yangon launch
            aye@example.org,"Aye, Daw",my,,
            kyi@example.org,,en,,
            """
        ),
        LOCALES,
    )
    _set_status(store, "kyi@example.org", Status.UNSUBSCRIBED)
    exported = _exported(store)
    assert exported == textwrap.dedent(
        """\
        email,name,locale,status,consented_at,consent_text
        aye@example.org,"Aye, Daw",my,active,,
        Bo@example.org,"Bo ""Tiger"" Aung",en,active,2023-05-02T03:00:00+00:00,At the Yangon launch
        kyi@example.org,,en,unsubscribed,,
        zaw@example.org,Zaw,my,active,2023-05-01T00:00:00+00:00,စာရင်းသွင်းရန် သဘောတူပါသည်၊ ကျေးဇူးပါ
        """
    )
    elsewhere = open_store(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    try:
        report = subscribers.import_csv(elsewhere, write_csv(exported, "export.csv"), LOCALES)
        assert report.diagnostics == ()
        assert _exported(elsewhere) == exported
    finally:
        elsewhere.dispose()


def test_an_import_records_a_consent_where_none_was_and_never_replaces_one(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    subscribers.import_csv(
        store, write_csv("email,name,locale\na@example.org,A,en\nb@example.org,B,en\n", "first.csv"), LOCALES
    )
    with Session(store) as session, session.begin():
        b = session.scalars(select(Subscriber).where(Subscriber.email_key == "b@example.org")).one()
        b.consented_at, b.consent_text, b.consent_source = (
            datetime(2024, 1, 1, tzinfo=UTC),
            "Web text",
            "web form",
        )
    later = write_csv(
        "email,name,locale,consented_at,consent_text\n"
        "a@example.org,A,en,2023-06-01,Paper form\n"
        "b@example.org,B,en,2023-06-01,Paper form\n",
        "second.csv",
    )
    report = subscribers.import_csv(store, later, LOCALES)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    with Session(store) as session:
        rows = session.execute(
            select(Subscriber.email, Subscriber.consent_source, Subscriber.consent_text).order_by(
                Subscriber.email
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("a@example.org", "import of second.csv", "Paper form"),
        ("b@example.org", "web form", "Web text"),
    ]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            "01/05/2023",
            "Expected a date such as 2023-05-01 or a time such as 2023-05-01T09:30:00Z but received: '01/05/2023'",
        ),
        ("2999-01-01", "Expected a time in the past but received: '2999-01-01'"),
        # In UTC, these are before the first moment and after the last one that Python's datetime holds.
        (
            "0001-01-01T00:00:00+05:00",
            "Expected a time after 0001-01-01 but received: '0001-01-01T00:00:00+05:00'",
        ),
        (
            "9999-12-31T23:59:59-05:00",
            "Expected a time in the past but received: '9999-12-31T23:59:59-05:00'",
        ),
    ],
)
def test_a_bad_consent_time_is_reported_on_its_line_and_the_row_skipped(
    store: Engine, write_csv: Callable[..., Path], cell: str, message: str
) -> None:
    path = write_csv(f"email,name,locale,consented_at\na@example.org,A,en,{cell}\nb@example.org,B,en,\n")
    report = subscribers.import_csv(store, path, LOCALES)
    assert [(d.line, d.field, d.message) for d in report.diagnostics] == [(2, "consented_at", message)]
    assert [row.email for row in subscribers.list_subscribers(store)] == ["b@example.org"]


def test_a_control_character_in_a_consent_text_is_reported_on_its_line_and_the_row_skipped(
    sample_store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        'email,name,locale,consent_text\na@example.org,A,en,"I agree\x00"\nb@example.org,B,en,"Two\n\tlines"\n'
    )
    report = subscribers.import_csv(sample_store, path, LOCALES)
    assert [(d.line, d.field, d.message) for d in report.diagnostics] == [
        (
            2,
            "consent_text",
            "Expected text without control characters (line breaks and tabs aside) but received U+0000 at "
            "character 8",
        )
    ]
    assert [(row.email, row.consent_text) for row in subscribers.list_subscribers(sample_store)] == [
        ("b@example.org", "Two\n\tlines")
    ]


def test_counts_per_locale_and_status(store: Engine) -> None:
    assert subscribers.list_counts(store) == {}
    for email, locale in [
        ("a@example.org", "en"),
        ("b@example.org", "my"),
        ("c@example.org", "my"),
        ("d@example.org", "my"),
    ]:
        subscribers.add(store, email, "", locale, locales=LOCALES)
    _set_status(store, "c@example.org", Status.BOUNCED)
    assert subscribers.list_counts(store) == {
        "en": {
            Status.ACTIVE: 1,
            Status.UNSUBSCRIBED: 0,
            Status.BOUNCED: 0,
            Status.COMPLAINED: 0,
            Status.PENDING: 0,
        },
        "my": {
            Status.ACTIVE: 2,
            Status.UNSUBSCRIBED: 0,
            Status.BOUNCED: 1,
            Status.COMPLAINED: 0,
            Status.PENDING: 0,
        },
    }


def test_add_refuses_an_address_already_there_whatever_its_case_or_status(store: Engine) -> None:
    assert subscribers.add(store, " Su@Example.org ", " Su ", "MY", locales=LOCALES) == (
        SubscriberRow("Su@example.org", "Su", "my", Status.ACTIVE),
        [],
    )
    _set_status(store, "su@example.org", Status.UNSUBSCRIBED)
    with pytest.raises(BroadsheetError) as raised:
        subscribers.add(store, "su@example.org", "Su", "en", locales=LOCALES)
    assert raised.value.message == "'Su@example.org' is already a subscriber (unsubscribed)"


def test_add_refuses_a_bad_address_or_locale(store: Engine) -> None:
    with pytest.raises(UsageError) as raised:
        subscribers.add(store, "su@", "Su", "fr", locales=LOCALES)
    assert raised.value.message == (
        "email: Expected an email address but received: 'su@' (There must be something after the @-sign.); "
        "locale: Expected one of the configured locales 'en', 'my' but received: 'fr'"
    )
    assert subscribers.list_subscribers(store) == []


def test_remove_deletes_the_subscriber_and_their_unsent_copies_and_keeps_sent_ones_anonymous(
    store: Engine,
) -> None:
    subscribers.add(store, "su@example.org", "Su", "en", locales=LOCALES)
    subscribers.add(store, "mya@example.org", "Mya", "my", locales=LOCALES)
    with Session(store) as session:
        for subscriber in session.scalars(select(Subscriber)):
            session.add(
                LedgerEntry(
                    issue="2023-12-14", subscriber_id=subscriber.id, locale=subscriber.locale, state="sent"
                )
            )
            session.add(
                LedgerEntry(issue="2023-12-21", subscriber_id=subscriber.id, locale=subscriber.locale)
            )
        session.commit()
    assert subscribers.remove(store, "SU@example.org") == SubscriberRow(
        "su@example.org", "Su", "en", Status.ACTIVE
    )
    assert [row.email for row in subscribers.list_subscribers(store)] == ["mya@example.org"]
    with Session(store) as session:
        rows = session.execute(
            select(
                LedgerEntry.issue,
                LedgerEntry.locale,
                LedgerEntry.subscriber_id.is_(None),
                LedgerEntry.anonymous_id.is_(None),
            ).order_by(LedgerEntry.issue, LedgerEntry.locale)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("2023-12-14", "en", True, False),
        ("2023-12-14", "my", False, True),
        ("2023-12-21", "my", False, True),
    ]
    with pytest.raises(BroadsheetError) as raised:
        subscribers.remove(store, "su@example.org")
    assert raised.value.message == "no subscriber has the address 'su@example.org'"


# The commands, on the project's own SQLite file.


@pytest.fixture
def project_cli(cli: Cli, tmp_project: Project, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`broadsheet ARGS...` run in a throwaway project, on its default database."""
    monkeypatch.delenv("BROADSHEET_DATABASE_URL", raising=False)

    def run(*args: str) -> Result:
        return cli(*args, cwd=tmp_project.root)

    return run


def test_export_into_a_reader_that_stops_early_ends_without_a_word(
    project_cli: Cli, tmp_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `broadsheet subscribers export | head -1`: head stops reading; that is no error to report.
    rows = "".join(f"reader{n}@example.org,Reader {n},en\n" for n in range(5000))
    (tmp_project.root / "list.csv").write_text("email,name,locale\n" + rows, encoding="utf-8")
    assert project_cli("subscribers", "import", "list.csv").exit_code == 0
    monkeypatch.delenv("BROADSHEET_DATABASE_URL", raising=False)
    export = subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "subscribers", "export"],
        cwd=tmp_project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None and export.stderr is not None
    assert export.stdout.readline() == b"email,name,locale,status,consented_at,consent_text\n"
    export.stdout.close()
    assert export.wait(timeout=60) == 1
    said = export.stderr.read()
    export.stderr.close()
    assert said == b""


def test_import_command_prints_every_bad_row_and_exits_1_keeping_the_valid_ones(
    project_cli: Cli, tmp_project: Project
) -> None:
    (tmp_project.root / "list.csv").write_text(
        "email,name,locale,phone\nsu@example.org,Su,en,1\nbad,Bad,en,2\nmya@example.org,Mya,de,3\n",
        encoding="utf-8",
    )
    result = project_cli("subscribers", "import", "list.csv")
    assert result.exit_code == 1
    assert result.stderr == (
        "list.csv:1: warning: ignored column(s) 'phone'\n"
        "list.csv:3: error: email: Expected an email address but received: 'bad' (An email address must have an @-sign.)\n"
        "list.csv:4: error: locale: Expected one of the configured locales 'en', 'my' but received: 'de'\n"
    )
    assert result.stdout == "list.csv: added 1, updated 0, unchanged 0, skipped 2\n"
    assert (tmp_project.root / "broadsheet.db").is_file()
    assert project_cli("subscribers", "export").stdout == (
        "email,name,locale,status,consented_at,consent_text\nsu@example.org,Su,en,active,,\n"
    )


def test_import_command_of_a_good_file_exits_0(project_cli: Cli, tmp_project: Project) -> None:
    (tmp_project.root / "list.csv").write_text("email,name,locale\nsu@example.org,Su,en\n", encoding="utf-8")
    result = project_cli("subscribers", "import", "list.csv")
    assert (result.exit_code, result.stderr, result.stdout) == (
        0,
        "",
        "list.csv: added 1, updated 0, unchanged 0, skipped 0\n",
    )


def test_import_command_takes_the_locale_of_rows_naming_none(project_cli: Cli, tmp_project: Project) -> None:
    (tmp_project.root / "list.csv").write_text("Email Address,Name\nsu@example.org,Su\n", encoding="utf-8")
    refused = project_cli("subscribers", "import", "list.csv")
    assert refused.exit_code == 1
    assert "list.csv:1: error: missing column 'locale': " in refused.stderr
    assert "--locale L" in refused.stderr
    unknown = project_cli("subscribers", "import", "list.csv", "--locale", "fr")
    assert (unknown.exit_code, unknown.stderr) == (
        2,
        "broadsheet: --locale: unknown locale 'fr'; configured locales: en, my\n",
    )
    result = project_cli("subscribers", "import", "list.csv", "--locale", "Burmese")
    assert (result.exit_code, result.stderr, result.stdout) == (
        0,
        "",
        "list.csv: added 1, updated 0, unchanged 0, skipped 0\n",
    )
    assert project_cli("subscribers", "export").stdout.splitlines()[1] == "su@example.org,Su,my,active,,"


def test_import_command_reads_a_form_s_responses_by_the_questions_its_header_asks(
    project_cli: Cli, tmp_project: Project
) -> None:
    # As Google Sheets downloads a form's responses: a Timestamp, each question as a header, CRLF, no last line end.
    (tmp_project.root / "responses.csv").write_bytes(
        b"Timestamp,Your email,What is your name?,Which language would you like the newsletter in?\r\n"
        + "2024/01/04 10:15:22 AM GMT+6:30,aung@example.org,Aung Aung,Burmese (မြန်မာ)\r\n".encode()
        + b"2024/01/05 8:01:02 PM GMT+6:30,su@example.org,Su Su,English"
    )
    result = project_cli("subscribers", "import", "responses.csv")
    assert (result.exit_code, result.stderr, result.stdout) == (
        0,
        "responses.csv:1: warning: column 'What is your name?' read as 'name'\n"
        "responses.csv:1: warning: column 'Which language would you like the newsletter in?' read as 'locale'\n"
        "responses.csv:1: warning: column 'Your email' read as 'email'\n"
        "responses.csv:1: warning: ignored column(s) 'Timestamp'\n",
        "responses.csv: added 2, updated 0, unchanged 0, skipped 0\n",
    )
    assert project_cli("subscribers", "export").stdout.splitlines()[1:] == [
        "aung@example.org,Aung Aung,my,active,,",
        "su@example.org,Su Su,en,active,,",
    ]
    # Two questions asking for an address: neither is guessed at, and both are named.
    (tmp_project.root / "two.csv").write_text(
        "Your e-mail,Can we email you?,Language\nhla@example.org,Yes,en\n"
    )
    refused = project_cli("subscribers", "import", "two.csv")
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        "two.csv:1: error: missing column 'email' (columns 'Your e-mail', 'Can we email you?' could each be it): "
    )


def test_import_command_of_an_unreadable_file_exits_1(project_cli: Cli, tmp_project: Project) -> None:
    (tmp_project.root / "list.csv").write_bytes(b"email,name,locale\nsu@example.org,S\xfc,en\n")
    result = project_cli("subscribers", "import", "list.csv")
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"list.csv:2: error: not UTF-8 text (invalid start byte at byte 34); {NAME_THE_ENCODING}\n"
    )
    assert result.stdout == ""


def test_add_list_export_and_remove_commands(project_cli: Cli, tmp_project: Project) -> None:
    assert project_cli("subscribers", "list").stdout == "no subscribers\n"
    assert (
        project_cli("subscribers", "add", "su@example.org", "--name", "Su", "--locale", "en").stdout
        == "added su@example.org (en)\n"
    )
    assert (
        project_cli("subscribers", "add", "mya@example.org", "--locale", "my").stdout
        == "added mya@example.org (my)\n"
    )
    assert (
        project_cli(
            "subscribers", "add", "thida@example.org", "--name", "Daw Thida", "--locale", "my"
        ).exit_code
        == 0
    )

    listed = project_cli("subscribers", "list", "--all")
    assert listed.exit_code == 0
    assert table_rows(listed.stdout) == [
        ["Subscribers per locale and status"],
        ["locale", "active", "unsubscribed", "bounced", "complained", "pending"],
        ["en", "1", "0", "0", "0", "0"],
        ["my", "2", "0", "0", "0", "0"],
        ["total", "3", "0", "0", "0", "0"],
        ["Subscribers"],
        ["email", "locale", "status", "name"],
        ["mya@example.org", "my", "active"],
        ["su@example.org", "en", "active", "Su"],
        ["thida@example.org", "my", "active", "Daw Thida"],
    ]

    written = project_cli("subscribers", "export", "--out", "exports/list.csv")
    assert (written.exit_code, written.stdout) == (0, "wrote exports/list.csv (3 subscriber(s))\n")
    assert (tmp_project.root / "exports/list.csv").read_text(encoding="utf-8") == project_cli(
        "subscribers", "export"
    ).stdout
    assert project_cli("subscribers", "export").stdout.splitlines()[1] == "mya@example.org,,my,active,,"

    assert project_cli("subscribers", "remove", "MYA@example.org").stdout == "removed mya@example.org\n"
    gone = project_cli("subscribers", "remove", "mya@example.org")
    assert (gone.exit_code, gone.stderr) == (
        1,
        "broadsheet: no subscriber has the address 'mya@example.org'\n",
    )


def test_add_command_with_a_bad_address_is_a_usage_error(project_cli: Cli) -> None:
    result = project_cli("subscribers", "add", "not-an-address", "--locale", "en")
    assert result.exit_code == 2
    assert result.stderr == (
        "broadsheet: email: Expected an email address but received: 'not-an-address' (An email address must have an @-sign.)\n"
    )
    twice = (
        project_cli("subscribers", "add", "su@example.org", "--locale", "en"),
        project_cli("subscribers", "add", "SU@example.org", "--locale", "en"),
    )
    assert [r.exit_code for r in twice] == [0, 1]
    assert twice[1].stderr == "broadsheet: 'su@example.org' is already a subscriber (active)\n"


def test_commands_report_an_unreachable_database_without_its_password(
    project_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADSHEET_DATABASE_URL", "postgresql://news:s3cret@127.0.0.1:1/broadsheet")
    result = project_cli("subscribers", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "broadsheet: cannot open the database postgresql+psycopg://news:***@127.0.0.1:1/broadsheet: "
    )
    assert "s3cret" not in result.output


def test_an_import_cannot_skip_the_opt_in_of_a_pending_sign_up(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "pending.csv"
    path.write_text("email,name,locale,status\nnew@example.org,New,en,pending\n", encoding="utf-8")
    report = subscribers.import_csv(store, path, LOCALES)
    # An export holds pending sign-ups: its file imports without error, leaving them out.
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:2: warning: status: a sign-up awaiting its confirmation; not imported "
        "(only confirming it subscribes the address)"
    ]
    assert (report.added, report.skipped) == (0, 1)
    assert subscribers.list_subscribers(store) == []


# -- Cells a spreadsheet would run, and names that hide or reorder text -----------------------------------


def test_export_writes_formulas_as_text_and_import_reads_back_the_same_names(
    project_cli: Cli, tmp_project: Project
) -> None:
    (tmp_project.root / "list.csv").write_text(
        "email,name,locale\n"
        'a@example.org,"=HYPERLINK(""http://evil.example"",""Click"")",en\n'
        "b@example.org,+95 9 123,en\n"
        "c@example.org,-Aung,en\n"
        "d@example.org,@Daw Su,en\n"
        "e@example.org,'=quoted by hand,en\n"
        "f@example.org,'plain apostrophe,en\n"
        "-g@example.org,G,my\n",
        encoding="utf-8",
    )
    assert project_cli("subscribers", "import", "list.csv").exit_code == 0
    # A name that truly begins with a quote and =.
    assert (
        project_cli("subscribers", "add", "h@example.org", "--name", "'=genuine", "--locale", "en").exit_code
        == 0
    )
    exported = project_cli("subscribers", "export")
    assert exported.exit_code == 0
    assert exported.stdout == (
        "email,name,locale,status,consented_at,consent_text\n"
        "'-g@example.org,G,my,active,,\n"
        'a@example.org,"\'=HYPERLINK(""http://evil.example"",""Click"")",en,active,,\n'
        "b@example.org,'+95 9 123,en,active,,\n"
        "c@example.org,'-Aung,en,active,,\n"
        "d@example.org,'@Daw Su,en,active,,\n"
        # Quoted by hand in a spreadsheet, it reads as the spreadsheet shows it: =quoted by hand.
        "e@example.org,'=quoted by hand,en,active,,\n"
        "f@example.org,'plain apostrophe,en,active,,\n"
        "h@example.org,''=genuine,en,active,,\n"
    )
    (tmp_project.root / "list.csv").write_text(exported.stdout, encoding="utf-8")
    (tmp_project.root / "broadsheet.db").unlink()
    assert (
        project_cli("subscribers", "import", "list.csv").stdout
        == "list.csv: added 8, updated 0, unchanged 0, skipped 0\n"
    )
    assert project_cli("subscribers", "export").stdout == exported.stdout


@given(st.text())
def test_a_cell_written_for_a_spreadsheet_reads_back_as_it_was(text: str) -> None:
    cell = subscribers.spreadsheet_cell(text)
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert subscribers.from_spreadsheet_cell(cell) == text


@given(st.text())
def test_reading_a_cell_takes_off_only_a_quote_that_writing_would_have_put(cell: str) -> None:
    text = subscribers.from_spreadsheet_cell(cell)
    assert text == cell or (cell == f"'{text}" and subscribers.spreadsheet_cell(text) == cell)


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60).filter(
    lambda name: (
        (checked := subscribers.check("reader@example.org", name, "en", "", LOCALES)).row is not None
        and not checked.notes  # a name in Zawgyi comes back in Unicode
        and name == name.strip()
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES)
def test_any_name_comes_back_the_same_through_export_and_import(tmp_path: Path, name: str) -> None:
    source, target = (open_store(f"sqlite:///{tmp_path / f'{which}.db'}") for which in ("source", "target"))
    try:
        for engine in (source, target):
            with Session(engine) as session, session.begin():
                session.execute(delete(Subscriber))
        subscribers.add(source, "reader@example.org", name, "en", locales=LOCALES)
        path = tmp_path / "export.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            subscribers.export_csv(source, out)
        report = subscribers.import_csv(target, path, LOCALES)
        assert report.diagnostics == ()
        assert [row.name for row in subscribers.list_subscribers(target)] == [name]
    finally:
        source.dispose()
        target.dispose()


def test_an_import_refuses_names_that_reorder_or_hide_text_on_their_line(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    path = write_csv(
        "email,name,locale\na@example.org,Ko \u202eAung,en\nb@example.org,Ma\u200bMa,my\nc@example.org,\u200c\u200d,en\n"
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:2: error: name: Expected a name without invisible characters that change the direction of text "
        "or hide in it, but received U+202E at character 4: 'Ko \\u202eAung'",
        f"{path}:3: error: name: Expected a name without invisible characters that change the direction of text "
        "or hide in it, but received U+200B at character 3: 'Ma\\u200bMa'",
    ]
    assert [row.email for row in subscribers.list_subscribers(store)] == ["c@example.org"]


def test_add_command_refuses_a_name_with_an_isolate(project_cli: Cli) -> None:
    result = project_cli("subscribers", "add", "su@example.org", "--name", "\u2067Su\u2069", "--locale", "en")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "broadsheet: name: Expected a name without invisible characters that change the direction of text "
        "or hide in it, but received U+2067 at character 1: '\\u2067Su\\u2069'\n"
    )


def test_add_refuses_an_address_no_header_can_hold(store: Engine) -> None:
    with pytest.raises(UsageError) as raised:
        subscribers.add(store, "=?utf-8?q?e6?=@example.org", "", "en", locales=LOCALES)
    assert raised.value.message == (
        "email: Expected an email address but received: '=?utf-8?q?e6?=@example.org' (no message can be addressed to it)"
    )


# -- Names in Zawgyi: converted to Unicode, with a warning ----------------------------------------------

# Known pairs, checked with ICU's Zawgyi-my transliterator: (Zawgyi, Unicode). The first is the tester's.
ZAWGYI_NAMES = [("မင္း", "မင်း"), ("ေဒၚခင္ခင္", "ဒေါ်ခင်ခင်")]


def test_an_import_converts_zawgyi_names_to_unicode_with_a_warning_on_their_line(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    (zawgyi, unicode), (zawgyi_2, unicode_2) = ZAWGYI_NAMES
    path = write_csv(
        f"email,name,locale\nmin@example.org,{zawgyi},my\nkhin@example.org,{zawgyi_2},my\nmya@example.org,မြမြ,my\n"
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:2: warning: name: {zawgyi!r} is Zawgyi-encoded Burmese; converted to Unicode: {unicode!r}",
        f"{path}:3: warning: name: {zawgyi_2!r} is Zawgyi-encoded Burmese; converted to Unicode: {unicode_2!r}",
    ]
    assert (report.added, report.skipped) == (3, 0)
    assert [row.name for row in subscribers.list_subscribers(store)] == [unicode_2, unicode, "မြမြ"]


@pytest.mark.usefixtures("without_pyicu")
def test_without_pyicu_a_zawgyi_name_is_imported_as_it_is_with_a_warning_saying_how_to_convert_it(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    zawgyi, _unicode = ZAWGYI_NAMES[0]
    path = write_csv(f"email,name,locale\nmin@example.org,{zawgyi},my\n")
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:2: warning: name: {zawgyi!r} is Zawgyi-encoded Burmese, not Unicode, and is kept so: converting "
        "it needs PyICU: pip install 'broadsheet[zawgyi]', then import it again (an import updates names)"
    ]
    assert (report.added, report.skipped) == (1, 0)
    assert [row.name for row in subscribers.list_subscribers(store)] == [zawgyi]


def test_importing_again_converts_a_zawgyi_name_already_stored(
    store: Engine, write_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    zawgyi, unicode = ZAWGYI_NAMES[0]
    with Session(store) as session, session.begin():
        session.add(
            Subscriber(
                email="min@example.org",
                email_key="min@example.org",
                name=zawgyi,
                locale="my",
                status=Status.ACTIVE,
            )
        )
    report = subscribers.import_csv(
        store, write_csv(f"email,name,locale\nmin@example.org,{zawgyi},my\n"), LOCALES
    )
    assert (report.updated, [row.name for row in subscribers.list_subscribers(store)]) == (1, [unicode])


def test_the_preferences_form_takes_a_zawgyi_name_in_unicode() -> None:
    zawgyi, unicode = ZAWGYI_NAMES[1]
    assert subscribers.check_preferences(zawgyi, "my", LOCALES) == ((unicode, "my"), [])


def test_add_command_converts_a_zawgyi_name_and_says_so(project_cli: Cli) -> None:
    zawgyi, unicode = ZAWGYI_NAMES[1]
    result = project_cli("subscribers", "add", "khin@example.org", "--name", zawgyi, "--locale", "my")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "added khin@example.org (my)\n",
        f"warning: name: {zawgyi!r} is Zawgyi-encoded Burmese; converted to Unicode: {unicode!r}\n",
    )
    assert (
        project_cli("subscribers", "export").stdout.splitlines()[1]
        == f"khin@example.org,{unicode},my,active,,"
    )


# -- An import streams its file --------------------------------------------------------------------------


def test_an_import_read_in_chunks_reports_what_a_whole_reading_would(
    store: Engine, write_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscribers, "IMPORT_CHUNK", 2)
    path = write_csv(
        """
        email,name,locale
        a@example.org,A,en
        b@example.org,B,my
        bad,Bad,en
        A@EXAMPLE.org,A again,en
        c@example.org,C,xx
        C@example.org,C again,en
        d@example.org,D,my
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:4: error: email: Expected an email address but received: 'bad' (An email address must have an @-sign.)",
        f"{path}:5: error: email: 'A@EXAMPLE.org' is already on line 2, with another name: 'A' there, 'A again' here",
        f"{path}:6: error: locale: Expected one of the configured locales 'en', 'my' but received: 'xx'",
        f"{path}:7: error: email: 'C@example.org' is already on line 6",
    ]
    assert (report.added, report.updated, report.unchanged, report.skipped) == (3, 0, 0, 4)
    assert [row.email for row in subscribers.list_subscribers(store)] == [
        "a@example.org",
        "b@example.org",
        "d@example.org",
    ]


def test_a_file_found_unreadable_after_its_first_chunks_imports_nothing(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscribers, "IMPORT_CHUNK", 2)
    path = tmp_path / "subscribers.csv"
    rows = "".join(f"r{n}@example.org,R,en\n" for n in range(5))
    path.write_bytes(
        ("email,name,locale\n" + rows).encode("utf-8") + "s@example.org,Sü,en\n".encode("cp1252")
    )
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    offset = len(("email,name,locale\n" + rows).encode("utf-8")) + len("s@example.org,S")
    assert (
        str(raised.value)
        == f"{path}:7: error: not UTF-8 text (invalid start byte at byte {offset}); {NAME_THE_ENCODING}"
    )
    assert subscribers.list_subscribers(store) == []


def test_a_file_without_line_breaks_that_is_not_utf8_is_located_without_being_read_into_memory(
    store: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "subscribers.csv"
    head = b"email,name,locale\nok@example.org,Ok,en\nbad@example.org,Caf"
    path.write_bytes(head + b"\xe9" + b"x" * 30_000_000)
    raised, peak = refused_import(store, path)
    assert (
        str(raised.value)
        == f"{path}:3: error: not UTF-8 text (invalid continuation byte at byte {len(head)}); {NAME_THE_ENCODING}"
    )
    assert peak < 15_000_000  # the 30 MB line is never held whole
    assert subscribers.list_subscribers(store) == []


@pytest.mark.parametrize("split", [1, 2, 3])
def test_a_character_split_between_two_pieces_of_a_long_line_is_not_taken_for_a_bad_byte(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: int
) -> None:
    monkeypatch.setattr(subscribers, "IMPORT_LINE_LENGTH", 40)
    path = tmp_path / "subscribers.csv"
    # "မ" is three bytes: the re-reading's pieces of 40 bytes cut it after `split` of them; the bad byte comes after it.
    head = "\ufeffemail,name,locale\n".encode() + b"a@example.org," + b"x" * (25 - split) + "မ".encode()
    path.write_bytes(head + b"\xff,en\n")
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    assert (
        str(raised.value)
        == f"{path}:2: error: not UTF-8 text (invalid start byte at byte {len(head)}); {NAME_THE_ENCODING}"
    )


def test_a_file_in_utf16_as_excel_saves_unicode_text_imports_as_it_is(
    project_cli: Cli, tmp_project: Project
) -> None:
    # Excel's "Unicode Text": UTF-16 little-endian after its byte order mark, tabs, CRLF, and a value holding a
    # tab or quote quoted. Older Excel has no "CSV UTF-8": this is how it saves a Burmese name without loss.
    rows = [
        "Email Address\tName\tLanguage",
        "myo@example.org\tမျိုး မြင့်\tBurmese",
        'zoe@example.org\t"Zoë ""Z"""\tEnglish',
    ]
    (tmp_project.root / "list.txt").write_bytes(
        codecs.BOM_UTF16_LE + "\r\n".join([*rows, ""]).encode("utf-16-le")
    )
    result = project_cli("subscribers", "import", "list.txt")
    assert (result.exit_code, result.stderr, result.stdout) == (
        0,
        "",
        "list.txt: added 2, updated 0, unchanged 0, skipped 0\n",
    )
    assert project_cli("subscribers", "export").stdout.splitlines()[1:] == [
        "myo@example.org,မျိုး မြင့်,my,active,,",
        'zoe@example.org,"Zoë ""Z""",en,active,,',
    ]


@pytest.mark.parametrize(
    ("tail", "line", "problem"),
    [
        (b"\x00", 3, "truncated data at byte 86"),
        ("x@example.org\tX".encode("utf-16-le") + b"\x00\xdc", 3, "illegal encoding at byte 116"),
    ],
    ids=["half a character at the end", "half a surrogate pair"],
)
def test_a_file_in_utf16_that_is_not_is_located(
    store: Engine, tmp_path: Path, tail: bytes, line: int, problem: str
) -> None:
    path = tmp_path / "subscribers.txt"
    text = "email\tname\tlocale\r\na@example.org\tAung\ten\r\n".encode("utf-16-le")
    path.write_bytes(codecs.BOM_UTF16_LE + text + tail)
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    assert (
        str(raised.value) == f"{path}:{line}: error: not UTF-16 text ({problem}); save the file as CSV UTF-8"
    )
    assert subscribers.list_subscribers(store) == []


def test_a_file_ending_in_the_middle_of_a_character_is_located(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    head = b"email,name,locale\na@example.org,A,en\n"
    path.write_bytes(head + "မ".encode()[:2])
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES)
    assert (
        str(raised.value)
        == f"{path}:3: error: not UTF-8 text (unexpected end of data at byte {len(head)}); {NAME_THE_ENCODING}"
    )


# -- A list saved in a legacy encoding, named with --encoding ---------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "name", "line_end"),
    [
        ("cp1252", "Zoë Müller", "\r\n"),  # Excel's "CSV (Comma delimited)" on Windows in Western Europe
        ("windows-1252", "Zoë Müller", "\r\n"),
        ("cp874", "สมชาย ใจดี", "\r\n"),  # the same in Thailand
        ("mac_roman", "Zoë Müller", "\r"),  # old Mac Excel's "CSV (Macintosh)": Mac Roman, lines ended by CR
    ],
)
def test_import_command_reads_a_list_in_the_encoding_it_names(
    project_cli: Cli, tmp_project: Project, encoding: str, name: str, line_end: str
) -> None:
    text = line_end.join(["email,name,locale", f"zoe@example.org,{name},en", "su@example.org,Su,my", ""])
    (tmp_project.root / "list.csv").write_bytes(text.encode(encoding))
    refused = project_cli("subscribers", "import", "list.csv")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("list.csv:2: error: not UTF-8 text (")
    assert "--encoding cp1252, cp874, mac_roman" in refused.stderr
    result = project_cli("subscribers", "import", "list.csv", "--encoding", encoding)
    assert (result.exit_code, result.stderr, result.stdout) == (
        0,
        "",
        "list.csv: added 2, updated 0, unchanged 0, skipped 0\n",
    )
    assert project_cli("subscribers", "export").stdout.splitlines()[1:] == [
        "su@example.org,Su,my,active,,",
        f"zoe@example.org,{name},en,active,,",
    ]


@pytest.mark.parametrize("encoding", ["klingon", "hex", "rot13"])
def test_import_command_refuses_an_encoding_python_does_not_know_as_a_usage_error(
    project_cli: Cli, tmp_project: Project, encoding: str
) -> None:
    (tmp_project.root / "list.csv").write_text("email,name,locale\nsu@example.org,Su,en\n", encoding="utf-8")
    result = project_cli("subscribers", "import", "list.csv", "--encoding", encoding)
    assert (result.exit_code, result.stderr, result.stdout) == (
        2,
        f"broadsheet: --encoding: unknown encoding {encoding!r}; name one Python knows, such as cp1252, cp874 "
        "or mac_roman\n",
        "",
    )
    assert not (tmp_project.root / "broadsheet.db").exists()


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_a_byte_the_named_encoding_does_not_have_is_reported_at_its_line(
    store: Engine, tmp_path: Path, line_end: str
) -> None:
    path = tmp_path / "subscribers.csv"
    head = line_end.join(["email,name,locale", "a@example.org,สมชาย,en", "b@example.org,B"]).encode("cp874")
    path.write_bytes(head + b"\xfc" + f",en{line_end}".encode())  # 0xFC is no letter in cp874
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES, encoding="cp874")
    assert str(raised.value) == (
        f"{path}:3: error: not cp874 text (character maps to <undefined> at byte {len(head)}); it is in another "
        "encoding than cp874: name that one with --encoding, or save the file as CSV UTF-8"
    )
    assert subscribers.list_subscribers(store) == []


def test_a_file_in_a_named_encoding_streams_without_being_read_into_memory(
    store: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "subscribers.csv"
    head = "email,name,locale\nok@example.org,Zoë,en\nbad@example.org,Caf".encode("cp1252")
    path.write_bytes(head + b"x" * 30_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput) as raised:
            subscribers.import_csv(store, path, LOCALES, encoding="cp1252")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value) == f"{path}:3: error: not valid CSV: a line longer than 1,000,000 characters"
    assert peak < 15_000_000  # the 30 MB line is never held whole
    # A byte cp1252 has no letter for, before 30 MB more, is found reading the file again a piece at a time.
    path.write_bytes(head + b"\x81" + b"x" * 30_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput) as raised:
            subscribers.import_csv(store, path, LOCALES, encoding="cp1252")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value).startswith(
        f"{path}:3: error: not cp1252 text (character maps to <undefined> at byte {len(head)}); "
    )
    assert peak < 15_000_000


@pytest.mark.parametrize(
    ("mark", "encoding", "problem"),
    [
        (codecs.BOM_UTF8, "utf-8", None),
        (codecs.BOM_UTF8, "UTF8", None),
        (codecs.BOM_UTF16_LE, "utf-16", None),
        (codecs.BOM_UTF16_LE, "utf-16-le", None),
        (codecs.BOM_UTF8, "cp1252", "UTF-8 text, not cp1252"),
        (codecs.BOM_UTF16_LE, "cp874", "UTF-16 text, not cp874"),
    ],
)
def test_a_byte_order_mark_says_what_a_file_is_whatever_encoding_is_named(
    store: Engine, tmp_path: Path, mark: bytes, encoding: str, problem: str | None
) -> None:
    path = tmp_path / "subscribers.csv"
    unicode = "utf-8" if mark == codecs.BOM_UTF8 else "utf-16-le"
    path.write_bytes(mark + "email,name,locale\nzoe@example.org,Zoë,en\n".encode(unicode))
    if problem is None:
        report = subscribers.import_csv(store, path, LOCALES, encoding=encoding)
        assert (report.added, report.diagnostics) == (1, ())
        assert [row.name for row in subscribers.list_subscribers(store)] == ["Zoë"]
        return
    with pytest.raises(InvalidInput) as raised:
        subscribers.import_csv(store, path, LOCALES, encoding=encoding)
    kind = problem.split()[0]
    assert str(raised.value) == (
        f"{path}:1: error: begins with the byte order mark of {kind}, so it is {problem}: import it without "
        "--encoding"
    )


def test_a_form_s_answer_naming_email_is_no_header_below_a_title(
    store: Engine, write_csv: Callable[..., Path]
) -> None:
    """A form's header asks for the address (`Your email`) and its rows may answer `Email` to another question:
    taken for a header below a title, the row made the file's columns, and the file was refused."""
    path = write_csv(
        """
        Timestamp,Your email,Preferred language,How should we contact you?
        2024-01-01 09:00,,Burmese,Email
        2024-01-02 10:00,aung@example.org,Burmese,Email
        2024-01-03 11:00,su@example.org,English,Email
        """
    )
    report = subscribers.import_csv(store, path, LOCALES)
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:1: warning: column 'Your email' read as 'email'",
        f"{path}:1: warning: ignored column(s) 'Timestamp', 'How should we contact you?'",
        f"{path}:2: error: email: Expected an email address but received: '' (An email address must have an "
        "@-sign.)",
    ]
    assert [s.email for s in subscribers.list_subscribers(store)] == ["aung@example.org", "su@example.org"]
    # A title above the table is one cell, though it speaks of email.
    titled = write_csv("Email list 2024,,\n,,\nE-mail,Name,Language\nzaw@example.org,Zaw,my\n", "titled.csv")
    assert subscribers.import_csv(store, titled, LOCALES).added == 1
