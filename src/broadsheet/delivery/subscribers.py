"""The subscriber list as the editor handles it: checking what is given for a subscriber, CSV import and export,
counts, lists, and what the store holds about one person.

Every change it makes goes through `lifecycle`, whose table says what an
import may do: add and update subscribers, never re-activate an address that
unsubscribed, bounced or complained. An address is one subscriber whatever its
case (`email_key`). An address forgotten at its owner's request is kept only
as a keyed hash, and never added again.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import functools
import io
import itertools
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple, TextIO, overload

from babel import Locale
from babel.core import get_global
from babel.languages import get_official_languages
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from .. import burmese
from ..errors import LINE_BREAKS, BroadsheetError, Diagnostic, InvalidInput, Severity, UsageError
from ..files import is_utf16
from ..schema import control_character
from . import lifecycle
from .lifecycle import SubscriberRow as SubscriberRow
from .lifecycle import email_key as email_key
from .lifecycle import forget as forget
from .lifecycle import remove as remove
from .store import Event, LedgerEntry, Status, Subscriber
from .transports.mime import ascii_address

COLUMNS = ("email", "name", "locale")
"""The columns `export_csv` writes first, and an import file names in its header row (`name` may be left out,
and `locale` too when the import is given the locale of every row)."""
FIRST_NAME, LAST_NAME = "first name", "last name"
"""Columns of a list exported from a mailing tool: the name in two parts, joined for `name`."""
STATUS_COLUMN = "status"
"""An optional import column, written by `export_csv`: an address may come in unsubscribed, bounced or complained."""
CONSENTED_AT_COLUMN = "consented_at"
"""An optional import column, written by `export_csv`: when the person consented (ISO 8601 date or date and time, UTC unless it says)."""
CONSENT_TEXT_COLUMN = "consent_text"
"""An optional import column, written by `export_csv`: the statement they agreed to."""
OPTIONAL_COLUMNS = (STATUS_COLUMN, CONSENTED_AT_COLUMN, CONSENT_TEXT_COLUMN)
CONSENT_TIME_COLUMNS = ("confirm time", "optin time")
"""Columns of Mailchimp's audience export read for `consented_at` when a row gives none, the first not blank:
CONFIRM_TIME (when the person confirmed their sign-up), else OPTIN_TIME (when they signed up). Mailchimp writes
them as `2023-05-01 09:30:00`, naming no zone, and they are read as UTC: the times of Mailchimp's legacy Export
API, whose member export is "very similar to exporting via the web interface", are GMT; no zone is documented
for the web export's own."""
LEFT_COLUMNS: Final = {"clean time": Status.BOUNCED, "unsub time": Status.UNSUBSCRIBED}
"""Columns that make a file a list of those who left, as Mailchimp exports its unsubscribed and its cleaned
(bounced) members beside the subscribed (UNSUB_TIME, CLEAN_TIME), and the status every row of such a file
takes unless a `status` cell says another: read as a list of subscribers, they all came back active."""

STATUS_WORDS: Final = {
    **{status.value: status for status in Status},
    "subscribed": Status.ACTIVE,
    "confirmed": Status.ACTIVE,
    "regular": Status.ACTIVE,
    "premium": Status.ACTIVE,
    "explicit": Status.ACTIVE,
    "implicit": Status.ACTIVE,
    "cancelled": Status.UNSUBSCRIBED,
    "canceled": Status.UNSUBSCRIBED,
    "removed": Status.UNSUBSCRIBED,
    "cleaned": Status.BOUNCED,
    "undeliverable": Status.BOUNCED,
    "junk": Status.COMPLAINED,
    "spam": Status.COMPLAINED,
    "unconfirmed": Status.PENDING,
    "unactivated": Status.PENDING,
    "inactive": Status.PENDING,
    "pending confirmation": Status.PENDING,
}
"""The words a status cell may say, in any case: broadsheet's own, and as mailing tools export them (Mailchimp's
`subscribed` and `cleaned`, MailerLite's `junk` (marked as spam) and `unconfirmed`, Kit's `cancelled` and
`inactive` (never confirmed), Buttondown's `regular`, `premium`, `removed`, `undeliverable` and `unactivated`,
Constant Contact's permissions `explicit`, `implicit` and `pending confirmation`). Read as `pending`, a row is
not imported: only a confirmation subscribes an address that never confirmed."""
STATUS_COLUMNS: Final[tuple[str, ...]] = (STATUS_COLUMN, "email status", "email permission status")
"""Columns saying where a subscriber stands, each read by `STATUS_WORDS`: Constant Contact's export gives two
(`Email status`, `Email permission status`). The gravest a row's cells say is its status (`_GRAVITY`)."""
LEFT_FLAGS: Final = {
    "email blacklisted": (True, Status.UNSUBSCRIBED),
    "email disabled": (True, Status.UNSUBSCRIBED),
    "excluded from campaigns": (True, Status.UNSUBSCRIBED),
    "unsubscribed": (True, Status.UNSUBSCRIBED),
    "email opt out": (True, Status.UNSUBSCRIBED),
    "subscribed to emails": (False, Status.UNSUBSCRIBED),
}
"""Columns of yes or no saying whether a subscriber left, the answer that says so and the status it says: Brevo's
`EMAIL_BLACKLISTED` (its blocklist: unsubscribed, and addresses that bounced or complained, which it does not tell
apart), Substack's `email_disabled`, Mailjet's `Is Excluded From Campaigns`, HubSpot's `Unsubscribed from all
email`, Salesforce's `Email Opt Out`, and a no in Ghost's `subscribed_to_emails`. Ignored as other columns are,
every row of them came in active."""
_YES_NO: Final = {
    **dict.fromkeys(("yes", "y", "true", "1", "oui", "vrai"), True),
    **dict.fromkeys(("no", "n", "false", "0", "non", "faux"), False),
}
"""A cell of `LEFT_FLAGS`, in any case: as tools write it, and spreadsheets in English and French (VRAI, FAUX)."""
_MARKED: Final = re.compile(r"[x✓✔☑☒]|\d{1,4}[-./]\d{1,2}[-./]\d{1,4}(?:[ T].*)?", re.IGNORECASE)
"""A cell marking a row in a column whose yes says who left, as a sheet kept by hand marks it: a cross or a
check mark, or the date they left (`Unsubscribed: 2024-03-01`, `12/03/2024`)."""
_GRAVITY: Final = (Status.ACTIVE, Status.PENDING, Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)

_COLUMN_NAMES: Final = {
    "email": (
        "email",
        "e mail",
        "email address",
        "e mail address",
        "adresse email",
        "adresse e mail",
        "courriel",
    ),
    "name": ("name", "full name", "fullname", "display name"),
    FIRST_NAME: ("first name", "firstname", "fname", "given name", "prenom", "prénom"),
    LAST_NAME: ("last name", "lastname", "lname", "surname", "family name", "nom"),
    "locale": ("locale", "language", "lang", "preferred language", "langue"),
    STATUS_COLUMN: (
        "status",
        "subscriber status",
        "subscription status",
        "email subscriber status",
        "subscriber type",
        "subscriber state",
    ),
    **{column: (column,) for column in STATUS_COLUMNS[1:]},
    "email blacklisted": ("email blacklisted", "blacklisted", "email blocklisted", "blocklisted"),
    "email disabled": ("email disabled",),
    "excluded from campaigns": ("is excluded from campaigns", "excluded from campaigns"),
    "unsubscribed": ("unsubscribed", "is unsubscribed", "unsubscribed from all email"),
    "email opt out": ("email opt out", "opted out", "opt out", "do not email"),
    "subscribed to emails": ("subscribed to emails",),
    CONSENTED_AT_COLUMN: ("consented at",),
    CONSENT_TEXT_COLUMN: ("consent text",),
    **{column: (column,) for column in (*CONSENT_TIME_COLUMNS, *LEFT_COLUMNS)},
}
"""Each column an import reads, and the names a header may give it, written as `_column_name` writes them: as
broadsheet exports them, and as mailing tools and forms do (Mailchimp's `Email Address`, `First Name` and
`Last Name`, a form's `Language`, a French Brevo account's `PRENOM`, `NOM` and `LANGUE`)."""
_COLUMN_OF: Final = {name: column for column, names in _COLUMN_NAMES.items() for name in names}

NAME_LENGTH = 200
"""Longest name `Subscriber.name` holds."""
CONSENT_SOURCE_LENGTH = 50
"""Longest `Subscriber.consent_source`."""
ADDED_BY_HAND = "added by hand"
"""The consent source of an address added with `subscribers add`."""

IMPORT_CHUNK = 1000
"""Rows of an import file read, checked and written at a time: the memory an import takes stays the same
however long the file."""
IMPORT_LINE_LENGTH = 1_000_000
"""Characters of one line of an import file, at most: a row of a real list is under a kilobyte, and a file
without line breaks (or /dev/zero) used to be read into memory whole before the CSV reader saw any of it."""

_HIDDEN = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")
"""Characters a name may not hold: Unicode's Bidi_Control characters (marks, embeddings, overrides and
isolates), which make a name read backwards or swallow the text after it wherever it is shown (the `To`
header, a list in a terminal), and the zero-width space, word joiner and byte order mark, which hide inside
a name. Zero-width joiner and non-joiner (U+200C, U+200D) stay: Persian, Indic scripts and emoji sequences
need them to write names correctly. Burmese needs none of these in a name: U+200B only marks where a long
line of running text may break, which a name of a few syllables never needs."""
_FORMULA = re.compile("'*[=+\\-@\t\r]")
"""A cell a spreadsheet would run as a formula (OWASP's CSV injection rule), after any quotes `export_csv` put
before it: those quotes are doubled so that `import_csv` takes exactly one off."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did with the rows of a file, and what it found wrong or left alone."""

    added: int
    updated: int
    unchanged: int
    skipped: int
    """Rows with errors, and (with warnings) rows asking to re-activate an address that left, forgotten addresses,
    and pending sign-ups."""
    diagnostics: tuple[Diagnostic, ...]


class Checked(NamedTuple):
    """What `check` made of the values given for one subscriber."""

    row: SubscriberRow | None
    """The subscriber, or None when the values have a problem."""
    problems: list[tuple[str, str]]
    """What is wrong with the values: (field, message)."""
    notes: list[tuple[str, str]]
    """What the subscriber was taken with all the same, or changed into: (field, message), such as a name in
    Zawgyi."""


def check(email: str, name: str, locale: str, status: str, locales: Sequence[str]) -> Checked:
    """A subscriber from the values given for one (on a form, a command line, a row of an import file), or
    None and what is wrong with them (field, message), and notes on what was taken or changed.

    The address must be one every transport can send to: valid, with an ASCII
    part before the @, and one the mail composer can write in a header. A name
    in Zawgyi is converted to Unicode, as the newsletter is written, when PyICU
    is installed, and taken as it is otherwise: a subscriber is not refused
    over how their keyboard encodes their name. Either way a note says so.
    """
    problems: list[tuple[str, str]] = []
    email, locale, status = email.strip(), locale.strip(), status.strip().lower()
    name, notes = unicode_name(name.strip())
    try:
        # No SMTPUTF8: none of the transports could send to a non-ASCII local part (üser@), so none is taken.
        address = validate_email(email, check_deliverability=False, allow_smtputf8=False).normalized
        ascii_address(address)
    except EmailNotValidError as exc:
        problems.append(("email", f"Expected an email address but received: {email!r} ({exc})"))
    except ValueError:
        # Such as `=?utf-8?q?e6?=@example.org`: valid by RFC 5321, but no header can hold it.
        problems.append(
            (
                "email",
                f"Expected an email address but received: {email!r} (no message can be addressed to it)",
            )
        )
    problems += _name_and_locale_problems(name, locale, locales)
    # `pending` is only for sign-ups awaiting their confirmation: an import cannot skip the opt-in.
    if status and status not in (member.value for member in Status if member is not Status.PENDING):
        problems.append((STATUS_COLUMN, _unknown_status(status)))
    if problems:
        return Checked(None, problems, notes)
    chosen = configured_locale(locale, locales)
    assert chosen is not None  # else a problem above
    return Checked(SubscriberRow(address, name, chosen, Status(status or Status.ACTIVE)), [], notes)


def _unknown_status(status: str) -> str:
    statuses = ", ".join(repr(member.value) for member in Status if member is not Status.PENDING)
    return f"Expected one of {statuses} or nothing (active) but received: {status!r}"


def unicode_name(name: str) -> tuple[str, list[tuple[str, str]]]:
    """`name` in Unicode: converted when it is Zawgyi-encoded Burmese and PyICU is there to convert it, as it
    is otherwise; and a note (field, message) when it is Zawgyi."""
    if not burmese.is_zawgyi(name):
        return name, []
    try:
        converted = burmese.zawgyi_to_unicode(name)
    except burmese.ZawgyiConversionUnavailable:
        message = (
            f"{name!r} is Zawgyi-encoded Burmese, not Unicode, and is kept so: converting it needs PyICU: "
            "pip install 'broadsheet[zawgyi]', then import it again (an import updates names)"
        )
        return name, [("name", message)]
    return converted, [("name", f"{name!r} is Zawgyi-encoded Burmese; converted to Unicode: {converted!r}")]


def check_preferences(
    name: str, locale: str, locales: Sequence[str]
) -> tuple[tuple[str, str] | None, list[tuple[str, str]]]:
    """The (name, locale) a subscriber's preferences form gives, or None and what is wrong with them (field,
    message): only what the form changes is checked, not the address on record (kept under older rules)."""
    # A Zawgyi name is converted when it can be, as on the sign-up form; the person's own page says nothing of it.
    (name, _notes), locale = unicode_name(name.strip()), locale.strip()
    problems = _name_and_locale_problems(name, locale, locales)
    if problems:
        return None, problems
    chosen = configured_locale(locale, locales)
    assert chosen is not None  # else a problem above
    return (name, chosen), []


def unreadable_name(name: str) -> bool:
    """Whether `name` holds a character that cannot be seen (one that reorders or hides text) or that could
    not be read (U+FFFD, where bytes were not UTF-8): the name is refused, and the person asked to type it
    again, as what they see of it looks right."""
    return bool(_HIDDEN.search(name)) or "\ufffd" in name


def _name_and_locale_problems(name: str, locale: str, locales: Sequence[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if len(name) > NAME_LENGTH:
        problems.append(("name", f"Expected at most {NAME_LENGTH} characters but received {len(name)}"))
    if re.search(LINE_BREAKS, name):
        problems.append(
            ("name", f"Expected a name on one line, without control characters, but received: {name!r}")
        )
    elif hidden := _HIDDEN.search(name):
        problems.append(
            (
                "name",
                f"Expected a name without invisible characters that change the direction of text or hide in it, "
                f"but received U+{ord(hidden.group()):04X} at character {hidden.start() + 1}: {name!r}",
            )
        )
    elif "\ufffd" in name:
        # U+FFFD stands where bytes could not be read as UTF-8: a name garbled on its way, not one to keep.
        problems.append(
            ("name", f"Expected a name in UTF-8 but received one with unreadable characters: {name!r}")
        )
    if configured_locale(locale, locales) is None:
        expected = ", ".join(repr(code) for code in locales)
        problems.append(
            ("locale", f"Expected one of the configured locales {expected} but received: {locale!r}")
        )
    return problems


def configured_locale(value: str, locales: Sequence[str]) -> str | None:
    """The configured locale that `value` names, or None: its code in any case (`MY`), a tag of it with a
    region (`en-US`, `my_MM`, when that region is not configured itself), its language's name in English
    or in any configured language (`Burmese`, `မြန်မာ`, `English`), or the name of the country whose
    language it is first (`Myanmar`), as forms and mailing tools write them, with a gloss in brackets
    or not (`Myanmar (Burmese)`, `English (US)`)."""
    known = _locale_names(tuple(locales))
    written = " ".join(value.replace("-", "_").casefold().split())
    found = known.get(written) or known.get(written.partition("_")[0])
    if found or not (glossed := _GLOSSED.fullmatch(written)):
        return found
    named = {known.get(part.strip()) for part in glossed.groups()} - {None}
    return named.pop() if len(named) == 1 else None


_GLOSSED: Final = re.compile(r"([^()]+)\(([^()]+)\)")
"""A name with another in brackets after it, as forms list languages: `Myanmar (Burmese)`, `English (US)`."""


_LIST_LANGUAGES: Final = ("fr", "es", "de", "pt", "it", "th")
"""Languages a list may name languages in besides English and the configured ones: those of mailing tools'
interfaces (a French Brevo account's `Birman`, `Anglais`), and Thai, where many Burmese organizations work."""


@functools.cache
def _locale_names(locales: tuple[str, ...]) -> dict[str, str]:
    """What names each of `locales`, casefolded: its code first, then its three-letter codes (ISO 639-2 and -3:
    `mya`, `bur`, `eng`), its name in English, in each of them and in `_LIST_LANGUAGES`, then the name of each
    country (`Myanmar`, of `Myanmar (Burma)`) whose first official language it is."""
    names = {code.casefold(): code for code in locales}
    for alias, language in get_global("language_aliases").items():
        if (code := names.get(language.casefold())) and len(alias) == 3:
            names.setdefault(alias.casefold(), code)
    for code in locales:
        for language in ("en", *locales, *_LIST_LANGUAGES):
            shown = Locale.parse(code).get_display_name(language)
            if shown:
                names.setdefault(shown.casefold(), code)
    for language in ("en", *locales):
        for territory, country in Locale.parse(language).territories.items():
            official = get_official_languages(territory)
            if official and (spoken := names.get(official[0].casefold())):
                for name in (country, country.partition(" (")[0]):
                    names.setdefault(name.casefold(), spoken)
    return names


def import_csv(
    engine: Engine,
    path: Path,
    locales: Sequence[str],
    *,
    locale: str | None = None,
    encoding: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> ImportReport:
    """Add the subscribers in the CSV file `path` and update those already there (name and locale).

    The header row (its first line not blank) names the columns `email`,
    `locale` and `name` (any order; see `_COLUMN_NAMES` for the other names
    they may have), separated by one of `SEPARATORS`, and may name `status`,
    `consented_at` and `consent_text` (or Mailchimp's `CONSENT_TIME_COLUMNS`
    for `consented_at`); other columns are ignored with a warning. A file of those who left (see `LEFT_COLUMNS`) brings in every
    row as they left unless its status says another. `locale` is the locale of rows that name none (with no `locale`
    column, every row's). New addresses record the import as where they
    came from. A consent in the file is recorded for an address without one,
    and never replaces one already recorded. Each bad row is reported and
    skipped while the valid ones are imported. An address that unsubscribed,
    bounced or complained stays so. An address that asked to be forgotten is
    skipped with a warning; recognising it takes BROADSHEET_SECRET (from
    `environ`) once any address was forgotten. Raises `InvalidInput` when the
    file as a whole cannot be read: not UTF-8 (nor UTF-16 after its byte
    order mark), or not in `encoding` when it is given, not CSV, or missing a
    column; then nothing is imported.

    `encoding` (see `text_encoding`) is the one the file was saved in, such as
    the code page of Excel's "CSV (Comma delimited)": it is never guessed, as
    a wrong guess garbles names without a word. A file beginning with a byte
    order mark is read by it, and one contradicting `encoding` is refused.

    The file is read, checked and written `IMPORT_CHUNK` rows at a time, in one transaction.
    """
    source = f"import of {path.name}"[:CONSENT_SOURCE_LENGTH]
    display = str(path)
    added = updated = unchanged = left_alone = 0
    named = text_encoding(encoding) if encoding is not None else None
    with _ImportFile(path, locales, locale, named) as rows, lifecycle.transaction(engine) as session:
        for chunk, merges in rows.chunks():
            done = lifecycle.import_rows(session, chunk, source, environ)
            added, updated, unchanged = added + done.added, updated + done.updated, unchanged + done.unchanged
            left_alone += len(done.left_alone)
            rows.diagnostics.extend(
                Diagnostic(display, line, 0, "email", why, Severity.WARNING) for line, why in done.left_alone
            )
            if merges:
                # Duplicates completing a row of an earlier chunk, already written: they are counted as skipped.
                merged = lifecycle.import_rows(session, merges, source, environ)
                rows.diagnostics.extend(
                    Diagnostic(display, line, 0, "email", why, Severity.WARNING)
                    for line, why in merged.left_alone
                )
    return ImportReport(
        added, updated, unchanged, rows.bad_rows + left_alone, tuple(sorted(rows.diagnostics))
    )


def text_encoding(name: str) -> str:
    """The text encoding `name` names, as Python's codecs spell it (`windows-1252` is `cp1252`, `MacRoman` is
    `mac-roman`); UsageError when Python knows no text encoding by that name."""
    try:
        io.TextIOWrapper(io.BytesIO(), encoding=name)
    except LookupError:
        raise UsageError(
            f"--encoding: unknown encoding {name!r}; name one Python knows, such as cp1252, cp874 or mac_roman"
        ) from None
    return codecs.lookup(name).name


def export_csv(engine: Engine, out: TextIO) -> int:
    """Write every subscriber to `out` as CSV (email, name, locale, status, consented_at, consent_text),
    ordered by address; returns how many.

    `import_csv` reads the file back, statuses and consents included. A cell
    that a spreadsheet would run as a formula (it begins with `=`, `+`, `-`,
    `@`, a tab or a carriage return) is written after a `'`, which
    `import_csv` takes off again.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*COLUMNS, *OPTIONAL_COLUMNS))
    rows = list_subscribers(engine)
    writer.writerows(
        (
            spreadsheet_cell(row.email), spreadsheet_cell(row.name), row.locale, row.status.value,
            _iso(row.consented_at) or "", spreadsheet_cell(row.consent_text),
        )
        for row in rows
    )  # fmt: skip
    return len(rows)


def spreadsheet_cell(text: str) -> str:
    """`text` as `export_csv` writes it: after a `'` when a spreadsheet would run it as a formula."""
    return f"'{text}" if _FORMULA.match(text) else text


def from_spreadsheet_cell(cell: str) -> str:
    """The text of a cell `spreadsheet_cell` wrote: its `'` taken off where it put one, and only there."""
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell, 1) else cell


def list_counts(engine: Engine) -> dict[str, dict[Status, int]]:
    """How many subscribers each locale has in each status (every status present, zeros too), by locale."""
    query = select(Subscriber.locale, Subscriber.status, func.count()).group_by(
        Subscriber.locale, Subscriber.status
    )
    counts: dict[str, dict[Status, int]] = {}
    with engine.connect() as connection:
        for locale, status, count in connection.execute(query):
            counts.setdefault(locale, dict.fromkeys(Status, 0))[status] = count
    return dict(sorted(counts.items()))


def list_subscribers(engine: Engine, status: Status | None = None) -> list[SubscriberRow]:
    """Every subscriber, or those with `status`, ordered by address."""
    query = select(Subscriber).order_by(Subscriber.email_key)
    if status is not None:
        query = query.where(Subscriber.status == status)
    with Session(engine) as session:
        return [lifecycle.row_of(subscriber) for subscriber in session.scalars(query)]


def add(
    engine: Engine,
    email: str,
    name: str,
    locale: str,
    *,
    locales: Sequence[str],
    environ: Mapping[str, str] = os.environ,
) -> tuple[SubscriberRow, list[tuple[str, str]]]:
    """Subscribe one address, active, in `locale` (one of the configured `locales`): see `lifecycle.add`.
    Returns the subscriber and `check`'s notes on it (field, message)."""
    new, problems, notes = check(email, name, locale, "", locales)
    if new is None:
        raise UsageError("; ".join(f"{field}: {message}" for field, message in problems))
    lifecycle.add(engine, new, ADDED_BY_HAND, environ)
    return new, notes


def personal_data(engine: Engine, email: str) -> dict[str, Any]:
    """Everything the store holds about one subscriber, as JSON-ready values: their row, ledger rows and events."""
    key = email_key(email)
    with Session(engine) as session:
        subscriber = session.scalars(select(Subscriber).where(Subscriber.email_key == key)).one_or_none()
        if subscriber is None:
            raise BroadsheetError(f"no subscriber has the address {email!r}")
        ledger = session.scalars(
            select(LedgerEntry).where(LedgerEntry.subscriber_id == subscriber.id).order_by(LedgerEntry.issue)
        )
        events = session.scalars(
            select(Event).where(Event.subscriber_id == subscriber.id).order_by(Event.created_at, Event.id)
        )
        return {
            "subscriber": {
                "email": subscriber.email,
                "name": subscriber.name,
                "locale": subscriber.locale,
                "status": subscriber.status.value,
                "created_at": _iso(subscriber.created_at),
                "updated_at": _iso(subscriber.updated_at),
                "status_changed_at": _iso(subscriber.status_changed_at),
                "confirmation_sent_at": _iso(subscriber.confirmation_sent_at),
                "consented_at": _iso(subscriber.consented_at),
                "consent_source": subscriber.consent_source,
                "consent_text": subscriber.consent_text,
                "pending_consent_text": subscriber.pending_consent_text,
                "pending_name": subscriber.pending_name,
                "pending_locale": subscriber.pending_locale,
            },
            "ledger": [
                {
                    "issue": row.issue,
                    "locale": row.locale,
                    "state": row.state,
                    "detail": row.detail,
                    "updated_at": _iso(row.updated_at),
                }
                for row in ledger
            ],
            "events": [
                {"issue": row.issue, "kind": row.kind, "created_at": _iso(row.created_at)} for row in events
            ],
        }


@overload
def _iso(moment: datetime) -> str: ...


@overload
def _iso(moment: datetime | None) -> str | None: ...


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class _ImportFile:
    """The rows of an import file, checked, `IMPORT_CHUNK` at a time (`chunks`), with a diagnostic for each
    problem (`diagnostics`) and how many rows were bad (`bad_rows`). Raises `InvalidInput` for a file that
    cannot be read as a whole: not UTF-8 (nor UTF-16), not CSV, or missing a column."""

    def __init__(
        self, path: Path, locales: Sequence[str], locale: str | None = None, named: str | None = None
    ) -> None:
        self.path, self.locales, self.locale, self.named = path, locales, locale, named
        self.display = str(path)
        self.diagnostics: list[Diagnostic] = []
        self.bad_rows = 0
        self.separator = ","
        self.encoding = "utf-8-sig"
        """How the file is read: `utf-16` when it begins with UTF-16's byte order mark, else the encoding
        `named` (as `text_encoding` gives it), if any."""
        self.left: Status | None = None
        """The status of a list of those who left (see `LEFT_COLUMNS`), the default of every row's."""
        self._first_rows = _FirstRows()
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _ImportFile:
        try:
            binary = self._stack.enter_context(self.path.open("rb"))
            # Spreadsheets save "CSV UTF-8" with a byte order mark, which `utf-8-sig` reads past; Excel saves
            # "Unicode Text" (tab-separated) in UTF-16 after its own, the one way older versions keep Burmese.
            head = binary.peek(4)[:4]
        except OSError as exc:
            raise BroadsheetError(f"{self.path}: cannot read: {exc.strerror}") from None
        self.encoding = "utf-16" if is_utf16(head) else "utf-8-sig"
        if self.named is not None:
            self.encoding = self._named_encoding(head, self.named)
        text = self._stack.enter_context(io.TextIOWrapper(binary, encoding=self.encoding, newline=""))
        self._text: TextIO = text
        self._stack.callback(self._first_rows.close)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _named_encoding(self, head: bytes, named: str) -> str:
        """How to read a file said to be in the encoding `named`, beginning with the bytes `head`: in it, or by
        its byte order mark when it has one of the same encoding. InvalidInput when it has one of another: the
        mark says what the file is, and reading it in `named` would garble every name."""
        marked = next((encoding for encoding, marks in _BYTE_ORDER_MARKS if head.startswith(marks)), None)
        if marked is None:
            return named
        if named.replace("-", "").startswith(marked.replace("-", "")):
            return "utf-8-sig" if marked == "utf-8" else marked
        self._stack.close()
        message = (
            f"begins with the byte order mark of {marked.upper()}, so it is {marked.upper()} text, not "
            f"{named}: import it without --encoding"
        )
        raise InvalidInput([Diagnostic(self.display, 1, 0, "", message)])

    def chunks(self) -> Iterator[tuple[list[tuple[int, SubscriberRow]], list[tuple[int, SubscriberRow]]]]:
        """The valid rows (line, subscriber), `IMPORT_CHUNK` at most at a time, each time with the rows that
        complete a row of an earlier time (see `_valid`)."""
        lines = _Lines(self._text)
        checked: list[_Checked] = []
        start = 1
        try:
            first = next((line for line in lines if not _EMPTY_ROW.fullmatch(line)), "")
            if hint := _EXCEL_SEPARATOR.fullmatch(first.rstrip("\r\n").strip(" ")):
                # Excel's line naming the separator, which some tools write before the header for it.
                first = next((line for line in lines if not _EMPTY_ROW.fullmatch(line)), "")
            first = self._below_a_title(first, lines, hint.group(1) if hint else None)
            separator = self.separator = hint.group(1) if hint else _separator(first)
            reader = _reader(itertools.chain([first], lines), separator)
            header = next(reader, []) if first else []
            columns = _columns(
                self.display,
                max(lines.number, 1),
                header,
                self.diagnostics,
                locale_given=self.locale is not None,
            )
            # The first in `LEFT_COLUMNS`, should a file name both: neither is sent to.
            self.left = next((status for column, status in LEFT_COLUMNS.items() if column in columns), None)
            while True:
                start = lines.number + 1
                lines.start_row()
                record = next(reader, None)
                if record is None:
                    break
                if lines.number > start and (run_on := self._run_on(start, lines, record, header, columns)):
                    self.diagnostics.append(run_on)
                    self.bad_rows += lines.number - start + 1
                elif lines.quotes and lines.quotes % 2 == 0 and _quote_not_doubled(lines.row, separator):
                    message = f"a quote inside a quoted value is not doubled, so the row is skipped: {_CLOSE_THE_QUOTE}"
                    self.diagnostics.append(Diagnostic(self.display, start, 0, "", message))
                    self.bad_rows += 1
                elif any(cell.strip() for cell in record) and (
                    row := self._check(start, record, header, columns)
                ):
                    checked.append(row)
                if len(checked) >= IMPORT_CHUNK:
                    yield self._valid(checked)
                    checked = []
            yield self._valid(checked)
        except UnicodeDecodeError:
            self._valid(checked)  # reported with the problems found before
            if self.encoding == "utf-8-sig":
                # Read as plain UTF-8, a byte order mark is a character like another: the bytes count from the
                # file's start.
                self.diagnostics.append(_not_in(self.path, "utf-8", "UTF-8", _NAME_THE_ENCODING))
            elif self.encoding == "utf-16" and self.named is None:
                self.diagnostics.append(_not_in(self.path, "utf-16", "UTF-16", _SAVE_AS_UTF8))
            else:
                label = self.named or self.encoding
                advice = f"it is in another encoding than {label}: name that one with --encoding, or {_SAVE_AS_UTF8}"
                self.diagnostics.append(_not_in(self.path, self.encoding, label, advice))
            raise InvalidInput(self.diagnostics) from None
        except csv.Error as exc:
            self._valid(checked)
            # The line too long was never counted.
            line = lines.number + isinstance(exc, _LineTooLong)
            reason = str(exc)
            if sum(map(len, lines.row)) > (limit := csv.field_size_limit()):
                # The reader's own words, 'field larger than field limit (131072)', name no field of the file.
                reason = f"a value longer than {limit:,} characters, which no address, name or consent is"
            message = f"not valid CSV: {reason}"
            if line > start:
                message += (
                    f": a quoted value opened on line {start} runs on to line {line}: {_CLOSE_THE_QUOTE}"
                )
                line = start
            self.diagnostics.append(Diagnostic(self.display, line, 0, "", message))
            raise InvalidInput(self.diagnostics) from None

    def _below_a_title(self, first: str, lines: _Lines, separator: str | None) -> str:
        """The header line: `first`, unless it names (or, as a form's, asks for) no email column and one of the
        `_TITLE_ROWS` lines after it names it, as in a sheet with a title above its table; the lines above that
        one are skipped with a warning, and the others read again as they were. A line holding an address is
        a row, whatever else it says: a form's answer `Email` to how to be reached made one the header."""
        if not first or _names_email(first, separator, asked=True):
            return first
        above = [(lines.number, first)]
        for line in lines:
            if _names_email(line, separator) and "@" not in line:
                for number, skipped in above:
                    if not _EMPTY_ROW.fullmatch(skipped):
                        shown = skipped.strip().strip(",;\t").strip()[:80]
                        message = f"skipped, as it is above the header (line {lines.number}): {shown!r}"
                        self.diagnostics.append(
                            Diagnostic(self.display, number, 0, "", message, Severity.WARNING)
                        )
                return line
            above.append((lines.number, line))
            if len(above) > _TITLE_ROWS:
                break
        lines.again([line for _, line in above[1:]])
        return first

    def _run_on(
        self, start: int, lines: _Lines, record: list[str], header: list[str], columns: dict[str, int]
    ) -> Diagnostic | None:
        """The error of a row read from several lines, `start` to the last line read: None when its line breaks
        are only in a consent text, closed (`export_csv` writes one so); else every line of it is skipped, as
        a stray quote runs on over the rows after it, which are lost from the count unless counted here."""
        broken = [index for index, cell in enumerate(record) if "\n" in cell or "\r" in cell]
        unclosed = lines.quotes % 2 == 1  # the reader ended the file still inside the quotes
        if not unclosed and broken == [columns.get(CONSENT_TEXT_COLUMN)]:
            return None
        field = header[broken[0]].strip().lower() if broken and broken[0] < len(header) else ""
        end = f"{lines.number}, the end of the file" if unclosed else str(lines.number)
        message = (
            f"a quoted value opened on line {start} runs on to line {end}, so lines {start}-{lines.number} "
            f"were read as one row and are skipped: {_CLOSE_THE_QUOTE}"
        )
        return Diagnostic(self.display, start, 0, field, message)

    def _check(
        self, line: int, record: list[str], header: list[str], columns: dict[str, int]
    ) -> _Checked | None:
        """One row checked; None for a row passed over with a warning."""
        if not any(cell.strip() for cell in record[len(header) :]):
            # Empty cells past the header's (`a@example.org,Aung,my,,`, where a column's text was cleared by
            # hand) hold nothing to misread.
            record = record[: len(header)]
        if len(record) > len(header) or len(record) <= max(columns.values()):
            # Rows may leave out trailing cells of ignored columns, not those of the columns read.
            hint = (
                f" (quote a value that holds {_SEPARATOR_NAMES[self.separator]})"
                if len(record) > len(header)
                else ""
            )
            return _Checked(
                line,
                None,
                [("", f"Expected {len(header)} fields, as in the header, but received {len(record)}{hint}")],
            )
        values = {column: from_spreadsheet_cell(record[index]) for column, index in columns.items()}
        said, said_by, unread = _said_status(values, header, columns)
        if said is Status.PENDING and not unread:
            # An export holds the sign-ups awaiting confirmation; only the person's confirmation adds them.
            message = "a sign-up awaiting its confirmation; not imported (only confirming it subscribes the address)"
            self.diagnostics.append(Diagnostic(self.display, line, 0, said_by, message, Severity.WARNING))
            self.bad_rows += 1
            return None
        email, named = _named_address(_MAILTO.sub("", values["email"], count=1))
        several = [part for part in re.split(r"[\s,;]+", email) if "@" in part]
        name = values.get("name", _joined(values.get(FIRST_NAME, ""), values.get(LAST_NAME, "")))
        # The name before an address (`Aung Kyaw <aung@example.org>`) is the name of a row that gives none.
        name = name if name.strip() else named
        if _LOST_LETTERS.search(name):
            message = (
                f'{name.strip()!r} has question marks where its letters were, as Excel\'s "CSV (Comma delimited)" '
                "writes letters it cannot save (Burmese); imported without a name, a name on record kept: save "
                "the list as CSV UTF-8 to keep the names"
            )
            self.diagnostics.append(Diagnostic(self.display, line, 0, "name", message, Severity.WARNING))
            name = ""
        locale = values.get("locale", "").strip() or self.locale or ""
        status = said or self.left
        new, problems, notes = check(email, name, locale, status.value if status else "", self.locales)
        if len(several) > 1:
            # The validator's words ("invalid characters: ',', '@', SPACE") do not say what is wrong.
            message = f"Expected one address but received {len(several)}: {email.strip()!r} (give each a row of its own)"
            problems = [("email", message) if field == "email" else (field, text) for field, text in problems]
        if not locale:
            # Lists leave the language of some readers blank: say how to give it rather than that '' is no locale.
            expected = ", ".join(repr(code) for code in self.locales)
            problems = [
                (
                    field,
                    f"Expected one of the configured locales {expected} but received a blank cell ({_GIVE_LOCALE})",
                )
                if field == "locale"
                else (field, message)
                for field, message in problems
            ]
        if unread:
            new = None
            problems += unread
        self.diagnostics.extend(
            Diagnostic(self.display, line, 0, field, message, Severity.WARNING) for field, message in notes
        )
        consented_at, problem = _moment(values.get(CONSENTED_AT_COLUMN, ""))
        if problem:
            new = None
            problems.append((CONSENTED_AT_COLUMN, problem))
        opted_in, unreadable = _first_time(values, CONSENT_TIME_COLUMNS, header, columns)
        consented_at = consented_at or opted_in
        left_at, unreadable_too = _first_time(values, LEFT_COLUMNS, header, columns)
        if unreadable or unreadable_too:
            new = None
            problems += unreadable + unreadable_too
        if control := control_character(values.get(CONSENT_TEXT_COLUMN, "")):
            new = None
            problems.append(
                (
                    CONSENT_TEXT_COLUMN,
                    f"Expected text without control characters (line breaks and tabs aside) but received {control}",
                )
            )
        if new is not None:
            new = dataclasses.replace(
                new,
                consented_at=consented_at,
                consent_text=values.get(CONSENT_TEXT_COLUMN, "").strip(),
                left_at=left_at,
            )
        if new is None and any(field == "email" for field, _ in problems):
            return _Checked(line, None, problems)
        # A row bad for another reason still claims its address: a later row with it is a duplicate.
        return _Checked(line, new, problems, new.key if new else email_key(email), values["email"].strip())

    def _valid(
        self, checked: list[_Checked]
    ) -> tuple[list[tuple[int, SubscriberRow]], list[tuple[int, SubscriberRow]]]:
        """The valid rows of `checked`, the others reported; and the rows that complete the first row of their
        address where it came in an earlier chunk, already written.

        A row whose address (in any case) came on an earlier line is imported
        with it, once, with a warning, when the two agree: the same locale and
        status, and the same name or one of them blank. The name is the one
        given, and the consent the first row's, or the later's where the
        first gives none. Rows that do not agree are an error naming what
        differs, as is a row whose address came on a line with an error.
        """
        known = self._first_rows.lookup([row.key for row in checked if row.key is not None])
        valid: list[tuple[int, SubscriberRow]] = []
        here: dict[str, int] = {}  # by key: where in `valid` a first row of this chunk is
        merges: dict[str, tuple[int, SubscriberRow]] = {}
        changed: dict[str, tuple[int, SubscriberRow | None]] = {}
        for row in checked:
            subscriber, problems = row.subscriber, row.problems
            first = known.get(row.key) if row.key is not None else None
            if first is not None and row.key is not None:
                first_line, first_row = first
                differences = _differences(first_row, subscriber) if first_row and subscriber else None
                if first_row is not None and subscriber is not None and not differences:
                    message = f"{row.written!r} is already on line {first_line}, with the same subscriber: imported once"
                    self.diagnostics.append(
                        Diagnostic(self.display, row.line, 0, "email", message, Severity.WARNING)
                    )
                    self.bad_rows += 1
                    merged = _merged(first_row, subscriber)
                    if merged != first_row:
                        known[row.key] = changed[row.key] = (first_line, merged)
                        if row.key in here:
                            valid[here[row.key]] = (first_line, merged)
                        else:
                            merges[row.key] = (row.line, merged)
                    continue
                subscriber = None
                why = f", with {'; '.join(differences)}" if differences else ""
                problems = [*problems, ("email", f"{row.written!r} is already on line {first_line}{why}")]
            elif row.key is not None:
                known[row.key] = changed[row.key] = (row.line, subscriber)
                if subscriber is not None:
                    here[row.key] = len(valid)
            if subscriber is None:
                self.bad_rows += 1
                self.diagnostics.extend(
                    Diagnostic(self.display, row.line, 0, field, message) for field, message in problems
                )
            else:
                valid.append((row.line, subscriber))
        self._first_rows.save(changed)
        return valid, list(merges.values())


def _differences(first: SubscriberRow, later: SubscriberRow) -> list[str]:
    """What makes `later`, a row with the address of `first`, another subscriber: its locale, status, or name
    (when both give one), each as `another FIELD: FIRST there, LATER here`."""
    pairs = [
        ("locale", first.locale, later.locale),
        (STATUS_COLUMN, first.status.value, later.status.value),
        ("name", first.name, later.name),
    ]
    return [
        f"another {field}: {there!r} there, {here!r} here"
        for field, there, here in pairs
        if there != here and (field != "name" or (there and here))
    ]


def _merged(first: SubscriberRow, later: SubscriberRow) -> SubscriberRow:
    """The subscriber of two rows that agree (see `_differences`): `first`, with the name of `later` where it
    gives none, and its consent where it records none."""
    consent = first if first.consented_at is not None else later
    return dataclasses.replace(
        first,
        name=first.name or later.name,
        consented_at=consent.consented_at,
        consent_text=consent.consent_text,
    )


@dataclass(frozen=True)
class _Checked:
    """One row of an import file: the subscriber it gives (None when it is bad), what is wrong with it, and the
    address key it claims with the address as written (when its address is good)."""

    line: int
    subscriber: SubscriberRow | None
    problems: list[tuple[str, str]]
    key: str | None = None
    written: str = ""


class _LineTooLong(csv.Error):
    """A line of an import file longer than `IMPORT_LINE_LENGTH`."""


_GIVE_LOCALE = "give the locale of rows naming none: --locale L"

_CLOSE_THE_QUOTE = 'close its quote where the value ends, and double a quote that belongs in it ("")'


class _Lines:
    """The lines of an import file, each read no further than `IMPORT_LINE_LENGTH` characters (`_LineTooLong`
    past it), counted (`number`), with the lines (`row`) and double quotes read since `start_row`."""

    def __init__(self, text: TextIO) -> None:
        self._text = text
        self._again: list[str] = []
        self.number = 0
        self.quotes = 0
        self.row: list[str] = []

    def again(self, lines: list[str]) -> None:
        """Give `lines`, the last read, again as the next, with their numbers."""
        self._again = lines + self._again
        self.number -= len(lines)

    def start_row(self) -> None:
        self.quotes = 0
        self.row = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._again.pop(0) if self._again else self._text.readline(IMPORT_LINE_LENGTH + 1)
        if not line:
            raise StopIteration
        if len(line) > IMPORT_LINE_LENGTH:
            raise _LineTooLong(f"a line longer than {IMPORT_LINE_LENGTH:,} characters")
        self.number += 1
        self.quotes += line.count('"')
        self.row.append(line)
        return line


class _FirstRows:
    """The first row of each address in an import file (its line, and its subscriber, None when the row was
    bad), kept in a temporary SQLite database on disk so that a file of any length takes the same memory."""

    def __init__(self) -> None:
        self._database = sqlite3.connect("")  # "": a private database in a temporary file, deleted on closing
        self._database.execute(
            "CREATE TABLE first_rows (key TEXT PRIMARY KEY, line INTEGER NOT NULL, email TEXT, name TEXT, "
            "locale TEXT, status TEXT, consented_at TEXT, consent_text TEXT, left_at TEXT)"
        )

    def lookup(self, keys: Sequence[str]) -> dict[str, tuple[int, SubscriberRow | None]]:
        """The first row (line, subscriber) of each of the address keys `keys` that came before."""
        unique = list(dict.fromkeys(keys))
        found: dict[str, tuple[int, SubscriberRow | None]] = {}
        for start in range(0, len(unique), 500):
            batch = unique[start : start + 500]
            marks = ", ".join("?" * len(batch))
            for (
                key,
                line,
                email,
                name,
                locale,
                status,
                consented_at,
                consent_text,
                left_at,
            ) in self._database.execute(f"SELECT * FROM first_rows WHERE key IN ({marks})", batch):
                row = None
                if email is not None:
                    row = SubscriberRow(
                        email,
                        name,
                        locale,
                        Status(status),
                        _from_iso(consented_at),
                        consent_text,
                        _from_iso(left_at),
                    )
                found[key] = (line, row)
        return found

    def save(self, rows: Mapping[str, tuple[int, SubscriberRow | None]]) -> None:
        """Record the first row (line, subscriber) of each address key, or what it became."""
        self._database.executemany(
            "INSERT OR REPLACE INTO first_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (key, line, None, None, None, None, None, None, None)
                if row is None
                else (
                    key, line, row.email, row.name, row.locale, row.status.value, _iso(row.consented_at),
                    row.consent_text, _iso(row.left_at),
                )
                for key, (line, row) in rows.items()
            ],
        )  # fmt: skip

    def close(self) -> None:
        self._database.close()


def _not_in(path: Path, encoding: str, label: str, advice: str) -> Diagnostic:
    """Where the first bytes of `path` that are not text in `encoding` (named `label`) are, read again
    `IMPORT_LINE_LENGTH` bytes at a time, with `advice` on what to do. Lines end as the import reads them: at a
    line feed, a carriage return (as old Mac Excel ends them) or both."""
    decoder = codecs.getincrementaldecoder(encoding)()
    number, offset, after_return = 1, 0, False
    with path.open("rb") as binary:
        while True:
            piece = binary.read(IMPORT_LINE_LENGTH)
            state = decoder.getstate()
            begun = len(state[0])
            try:
                text = decoder.decode(piece, final=not piece)
            except UnicodeDecodeError as exc:
                # The lines before the error, in the piece that holds it.
                decoder.setstate(state)
                number += _line_ends(decoder.decode(piece[: max(exc.start - begun, 0)]), after_return)
                return Diagnostic(
                    str(path),
                    number,
                    0,
                    "",
                    f"not {label} text ({exc.reason} at byte {offset - begun + exc.start}); {advice}",
                )
            if not piece:
                return Diagnostic(str(path), 1, 0, "", f"not {label} text; {advice}")
            number += _line_ends(text, after_return)
            after_return = text.endswith("\r") if text else after_return
            offset += len(piece)


def _line_ends(text: str, after_return: bool) -> int:
    """How many lines `text` ends, as a text file read with `newline=""` splits them, `after_return` when the
    text before it ended in a carriage return (then a line feed beginning it ends no line)."""
    return len(_LINE_END.findall(text)) - (after_return and text.startswith("\n"))


_LINE_END: Final = re.compile("\r\n|\r|\n")


_SAVE_AS_UTF8 = "save the file as CSV UTF-8"
_NAME_THE_ENCODING = (
    f"{_SAVE_AS_UTF8}, or import it in the encoding it was saved in: --encoding cp1252, cp874, mac_roman... "
    '(Excel\'s "CSV (Comma delimited)" saves in the code page of the computer: cp1252 in Western Europe, cp874 '
    "in Thailand, mac_roman on old Macs)"
)
_BYTE_ORDER_MARKS: Final = (
    ("utf-32", (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)),
    ("utf-16", (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)),
    ("utf-8", (codecs.BOM_UTF8,)),
)
"""The encodings a file's first bytes may say it is in, UTF-32's before UTF-16's, whose mark begins its own."""


_SEPARATOR_NAMES: Final = {",": "a comma", ";": "a semicolon", "\t": "a tab"}
SEPARATORS = tuple(_SEPARATOR_NAMES)
"""What may separate the columns of an import file: commas, or semicolons (spreadsheets save "CSV" so where the
comma is the decimal sign) or tabs (TSV)."""


def _separator(header: str) -> str:
    """The one of `SEPARATORS` that splits the `header` line into the most known column names; a comma at a tie."""
    return max(
        SEPARATORS,
        key=lambda separator: sum(
            _column_name(cell) in _COLUMN_NAMES for cell in next(_reader([header], separator), [])
        ),
    )


_EMPTY_ROW: Final = re.compile(r'[\s,;"]*')
"""A line of no text, or of separators alone (`;;;;`), as a spreadsheet saves an empty row."""
_TITLE_ROWS: Final = 10
"""Lines after the first that may hold the header, below a title a sheet has above its table."""


def _names_email(line: str, separator: str | None, *, asked: bool = False) -> bool:
    """Whether `line`, split at `separator` (else at the one that names most columns), names the email column;
    or, `asked`, one of its cells asks for it (`Your email`) beside another, as a form's header does (a title
    above a table is one cell)."""
    cells = next(_reader([line], separator or _separator(line)), [])
    names = [_column_name(cell) for cell in cells if cell.strip()]
    if "email" in names:
        return True
    return (
        asked and len(names) > 1 and bool(_asked(cells, [_column_name(cell) for cell in cells]).get("email"))
    )


_EXCEL_SEPARATOR: Final = re.compile(r"sep=([,;\t])", re.IGNORECASE)
"""`sep=;`: a first line Excel reads as the file's separator, and does not take for a row."""


def _reader(lines: Iterable[str], separator: str, *, strict: bool = False) -> Iterator[list[str]]:
    """The rows of `lines`, split at `separator`. A value may be quoted after spaces, as people write by hand
    (`a@example.org, "Aung, Aung", my`): read without them, its quotes and commas were taken for its text."""
    return csv.reader(lines, delimiter=separator, skipinitialspace=True, strict=strict)


def _quote_not_doubled(lines: list[str], separator: str) -> bool:
    """Whether the row read from `lines` has a quoted value with a quote inside it not doubled, as in
    `"Ma "Hla" Win"`: read as CSV readers do, that is `Ma Hla" Win"`, its quotes moved. Spaces after a
    closing quote are no such quote (cells are read without them)."""
    closed = [re.sub(rf'" +(?={re.escape(separator)}|[\r\n]|$)', '"', line) for line in lines]
    try:
        next(_reader(closed, separator, strict=True), None)
    except csv.Error:
        return True
    return False


def _column_name(cell: str) -> str:
    """The column a header cell names (see `_COLUMN_NAMES`), else the cell as compared: in any case, `_` and
    `-` read as spaces (`consented_at`, `E-mail`, `EMAIL_ADDRESS`)."""
    written = " ".join(cell.replace("_", " ").replace("-", " ").casefold().split())
    return _COLUMN_OF.get(written, written)


def _columns(
    display: str, line: int, header: list[str], diagnostics: list[Diagnostic], *, locale_given: bool = False
) -> dict[str, int]:
    """Where each column read is in `header`, on `line`; warns of the others and raises for a missing one
    (`locale` is not missing when the import was `locale_given`)."""
    names = [_column_name(cell) for cell in header]
    asked = _asked(header, names)
    for column, indexes in asked.items():
        if len(indexes) == 1:
            names[indexes[0]] = column
            message = f"column {header[indexes[0]].strip()!r} read as {column!r}"
            diagnostics.append(Diagnostic(display, line, 0, "", message, Severity.WARNING))
    required = ("email",) if locale_given else ("email", "locale")

    def missing(column: str) -> str:
        could = [repr(header[index].strip()) for index in asked.get(column, [])]
        return f"missing column {column!r}" + (
            f" (columns {', '.join(could)} could each be it)" if could else ""
        )

    problems = [missing(column) for column in required if column not in names] if header else []
    for column in _COLUMN_NAMES:
        cells = [cell.strip() for cell, name in zip(header, names, strict=True) if name == column]
        if len(set(cells)) > 1:
            problems.append(f"columns {', '.join(map(repr, cells))} all give {column!r}")
        elif len(cells) > 1:
            problems.append(f"column {column!r} appears {len(cells)} times")
    if not header or problems:
        hint = "" if locale_given else " (or give every row's locale: --locale L)"
        message = (
            f"{'; '.join(problems) or 'empty file'}: the first line must name the columns email and locale{hint}, "
            "and may name name, in any order (as mailing tools name them too: Email Address, Language, First Name, "
            "Last Name)"
        )
        raise InvalidInput([Diagnostic(display, line, 0, "", message)])
    read = {column: names.index(column) for column in _COLUMN_NAMES if column in names}
    if "name" in read and LAST_NAME in read and FIRST_NAME not in read:
        # MailerLite's `Name` and `Last name`: a first name beside its last.
        read[FIRST_NAME] = read.pop("name")
    elif "name" in read:  # a whole name wins over its parts
        read.pop(FIRST_NAME, None)
        read.pop(LAST_NAME, None)
    unread = [index for index in range(len(header)) if index not in read.values()]
    saying = [
        repr(header[index].strip())
        for index in unread
        if _MAY_SAY_WHO_LEFT.search(names[index])
        and not _OTHER_CHANNEL.search(names[index])
        and not _FREE_TEXT.search(names[index])
    ]
    if saying and not _SAYING_WHO_LEFT & read.keys():
        # Ignored, it let every row come in active, sending the newsletter to those who had left. (A list of
        # those who left, as Mailchimp's with its UNSUB_REASON, brings every row in as they left; a status
        # column read says who left itself.)
        message = (
            f"column(s) {', '.join(saying)} may say who left the list, which the import cannot read: every row "
            "would come in active. Leave out the rows of those who left and delete the column(s), or say who "
            "left in a status column (unsubscribed, bounced, complained)"
        )
        raise InvalidInput([Diagnostic(display, line, 0, "", message)])
    ignored = [
        repr(header[index].strip()) if header[index].strip() else f"column {index + 1} (no name)"
        for index in unread
    ]
    if ignored:
        diagnostics.append(
            Diagnostic(display, line, 0, "", f"ignored column(s) {', '.join(ignored)}", Severity.WARNING)
        )
    return read


_MAY_SAY_WHO_LEFT: Final = re.compile(
    r"unsub|\bb(?:lack|lock) ?list|bounce|\bopt(?:ed)? ?out|suppress|\bdisabled$|excluded|\bspam|complain|"
    r"^(?:.* )?(?:member|contact|list|mailing|newsletter|audience|marketing|e ?mail|consent|opt ?in|recipient|"
    r"subscriber|subscription) status$|\bdo not (?:e ?)?mail"
)
"""Words of a column name (as `_column_name` writes it) that may say who left the list, where the import reads
no such column: `Opt-out`, `Unsubscribe date`, `Hard bounce`, `Suppressed`, `Member status`. A status of
something else, as hand-made sheets keep beside the list (`Donor status`, `Membership status`, `Status of
payment`), and a need (`Disabled access`) say nothing of it."""
_SAYING_WHO_LEFT: Final = frozenset((*STATUS_COLUMNS, *LEFT_FLAGS, *LEFT_COLUMNS))
"""The columns read that say who left: beside one, another that may say it is ignored as any other."""
_FREE_TEXT: Final = re.compile(r"\b(?:notes?|comments?|remarks?)\b")
"""Words of a column name saying it holds notes (`Notes on opt-out`), which no import reads, nor a tool's list
of who left is."""
_OTHER_CHANNEL: Final = re.compile(r"\b(?:sms|phone|mobile|whatsapp|push|call)\b")
"""Words of a column name saying it is about another channel than email (Brevo's `SMS_BLACKLISTED`)."""

_LOST_LETTERS: Final = re.compile(r"(?<!\S)\?{2,}(?!\S)")
"""A word of question marks in a name: what a spreadsheet saving a list in an encoding without its letters
(Excel's "CSV" on Windows, in Windows-1252) writes for each letter, as for every Burmese name."""

_NAMED_ADDRESS: Final = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^"<>]*?))\s*<([^<>]*)>\s*')
"""An address after a name, as address books and mail programs copy one: `Aung Kyaw <aung@example.org>`,
`"Kyaw, Aung" <aung@example.org>`, `<aung@example.org>`."""


def _joined(first: str, last: str) -> str:
    """The whole name of a first name and a last name: the first alone where it holds the last already, as a
    sheet's `Name` of whole names beside its `Last name` does (MailerLite's `Name` is a first name), which gave
    `Aung San Suu Kyi Suu Kyi`. A first name of as many words as the last is joined with it (`Hla` `Hla`)."""
    first_words, last_words = first.casefold().split(), last.casefold().split()
    held = len(first_words) > len(last_words) > 0 and last_words in (
        first_words[: len(last_words)],
        first_words[-len(last_words) :],
    )
    return first.strip() if held else " ".join(filter(None, (first.strip(), last.strip())))


_MAILTO: Final = re.compile(r"\s*mailto:", re.IGNORECASE)
"""What a link to an address begins with, where the address is copied from a web page (`mailto:aung@example.org`)."""


def _named_address(cell: str) -> tuple[str, str]:
    """The address of an import's email cell and the name written before it (see `_NAMED_ADDRESS`), "" when none
    or when it is an address itself (`aung@example.org <aung@example.org>`); a cell of another form as it is."""
    named = _NAMED_ADDRESS.fullmatch(cell)
    if named is None:
        return cell, ""
    quoted, bare, address = named.groups()
    name = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
    return address, "" if "@" in name else name.strip()


_ASKED: Final = {
    "email": re.compile(r"\be ?mail\b(?! ?s\b)|အီးမေး"),
    "locale": re.compile(r"\b(?:language|languages|locale)\b|ဘာသာ"),
    "name": re.compile(r"\bname\b|အမည်|နာမည်"),
}
"""The words a form's question names a column by (`Your email`, `Which language would you like to read?`,
`What is your name?`, and in Burmese), where a form exports each question as the header of its answers."""


def _asked(header: Sequence[str], names: Sequence[str]) -> dict[str, list[int]]:
    """The cells of `header` (by index) whose question asks for each column not named in `names` (see `_ASKED`):
    taken when one cell asks for it, and named in the error when more than one do. A cell that names another
    column is asked nothing; `name` is not asked for where its parts (first and last name) are named."""
    unnamed = [index for index, name in enumerate(names) if name not in _COLUMN_NAMES]
    asked: dict[str, list[int]] = {}
    for column, words in _ASKED.items():
        if column in names or (column == "name" and {FIRST_NAME, LAST_NAME} & set(names)):
            continue
        cells = [
            index
            for index in unnamed
            if words.search(" ".join(header[index].replace("-", " ").casefold().split()))
        ]
        if cells:
            asked[column] = cells
    return asked


def _said_status(
    values: Mapping[str, str], header: Sequence[str], columns: Mapping[str, int]
) -> tuple[Status | None, str, list[tuple[str, str]]]:
    """The gravest status (see `_GRAVITY`) a row's `values` say in `STATUS_COLUMNS` and `LEFT_FLAGS`, None when
    they say none, and the column that says it; and what is wrong with each cell saying what `STATUS_WORDS` or
    `_YES_NO` do not know. Columns are named as `header` writes them."""
    said: list[tuple[Status, str]] = []
    unread: list[tuple[str, str]] = []
    for column in (*STATUS_COLUMNS, *LEFT_FLAGS):
        cell = " ".join(values.get(column, "").split())
        if not cell:
            continue
        field = header[columns[column]].strip()
        if column in LEFT_FLAGS:
            answer, left = LEFT_FLAGS[column]
            if (given := _YES_NO.get(cell.casefold())) is None and answer and _MARKED.fullmatch(cell):
                given = True
            if given is None:
                unread.append(
                    (
                        field,
                        f"Expected yes or no (true or false, 1 or 0, or a mark such as x) but received: {cell!r}",
                    )
                )
            elif given is answer:
                said.append((left, field))
        elif (status := STATUS_WORDS.get(cell.casefold())) is None:
            unread.append((field, _unknown_status(cell)))
        else:
            said.append((status, field))
    gravest, field = max(said, key=lambda pair: _GRAVITY.index(pair[0]), default=(None, ""))
    return gravest, field, unread


def _first_time(
    values: Mapping[str, str], names: Iterable[str], header: Sequence[str], columns: Mapping[str, int]
) -> tuple[datetime | None, list[tuple[str, str]]]:
    """The first time a row's `values` give in the columns `names` (Mailchimp's CONFIRM_TIME, else OPTIN_TIME),
    and what is wrong with each of those cells that gives none it can read, named as `header` writes it."""
    found, problems = None, []
    for column in names:
        moment, problem = _moment(values.get(column, ""))
        if problem:
            problems.append((header[columns[column]].strip(), problem))
        found = found or moment
    return found, problems


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _moment(text: str) -> tuple[datetime | None, str]:
    """The time an import cell gives (an ISO 8601 date, or date and time; UTC unless it names its zone), or None
    for an empty cell, and what is wrong with it ("" when nothing)."""
    text = text.strip()
    if not text:
        return None, ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return (
            None,
            f"Expected a date such as 2023-05-01 or a time such as 2023-05-01T09:30:00Z but received: {text!r}",
        )
    # In UTC, as the store keeps every time (SQLite would drop any other zone without converting).
    try:
        moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except OverflowError:
        # Such as 0001-01-01T00:00+05:00, in UTC a moment of year 0, which no datetime holds (nor 10000, ahead).
        if moment.year == 1:
            return None, f"Expected a time after 0001-01-01 but received: {text!r}"
        return None, f"Expected a time in the past but received: {text!r}"
    if moment > datetime.now(UTC):
        return None, f"Expected a time in the past but received: {text!r}"
    return moment, ""
