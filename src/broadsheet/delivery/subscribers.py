"""The subscriber list in the store: CSV import and export, counts, adding, removing and forgetting one address.

An address is one subscriber whatever its case (`email_key`). An import adds
and updates subscribers but never re-activates an address that unsubscribed,
bounced or complained: only the subscriber can undo that. An address forgotten
at its owner's request is kept only as a keyed hash, and never added again.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import hmac
import io
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, overload

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import BroadsheetError, Diagnostic, InvalidInput, Severity, UsageError
from .personalize import MIN_SECRET_LENGTH, SECRET_VARIABLE
from .store import Event, Forgotten, LedgerEntry, State, Status, Subscriber

COLUMNS = ("email", "name", "locale")
"""The columns every import file names in its header row."""
STATUS_COLUMN = "status"
"""An optional import column, written by `export_csv`: an address may come in unsubscribed, bounced or complained."""
CONSENTED_AT_COLUMN = "consented_at"
"""An optional import column, written by `export_csv`: when the person consented (ISO 8601 date or date and time, UTC unless it says)."""
CONSENT_TEXT_COLUMN = "consent_text"
"""An optional import column, written by `export_csv`: the statement they agreed to."""
OPTIONAL_COLUMNS = (STATUS_COLUMN, CONSENTED_AT_COLUMN, CONSENT_TEXT_COLUMN)

NAME_LENGTH = 200
"""Longest name `Subscriber.name` holds."""
CONSENT_SOURCE_LENGTH = 50
"""Longest `Subscriber.consent_source`."""
ADDED_BY_HAND = "added by hand"
"""The consent source of an address added with `subscribers add`."""

_BATCH = 500
"""Addresses looked up per query: under every database's limit on bound parameters."""

_LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class SubscriberRow:
    """One subscriber as listed and exported."""

    email: str
    name: str
    locale: str
    status: Status
    consented_at: datetime | None = None
    consent_text: str = ""

    @property
    def key(self) -> str:
        """The address's `email_key`: `email` is already normalized."""
        return self.email.lower()


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


@dataclass(frozen=True)
class _ValidRow:
    line: int
    subscriber: SubscriberRow


def email_key(address: str) -> str:
    """The key that makes every spelling of an address one subscriber: its normalized form in lower case."""
    try:
        address = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        address = address.strip()
    return address.lower()


def import_csv(
    engine: Engine, path: Path, locales: Sequence[str], *, environ: Mapping[str, str] = os.environ
) -> ImportReport:
    """Add the subscribers in the CSV file `path` and update those already there (name and locale).

    The header row names the columns `email`, `name` and `locale` (any order),
    and may name `status`, `consented_at` and `consent_text`; other columns
    are ignored with a warning. New addresses record the import as where they
    came from. A consent in the file is recorded for an address without one,
    and never replaces one already recorded. Each bad row is reported and
    skipped while the valid ones are imported. An address that unsubscribed,
    bounced or complained stays so. An address that asked to be forgotten is
    skipped with a warning; recognising it takes BROADSHEET_SECRET (from
    `environ`) once any address was forgotten. Raises `InvalidInput` when the file as a
    whole cannot be read: not UTF-8, not CSV, or missing a column.
    """
    rows, diagnostics, bad_rows = _read_csv(path, locales)
    source = f"import of {path.name}"[:CONSENT_SOURCE_LENGTH]
    updated = unchanged = 0
    skipped = bad_rows
    with Session(engine) as session:
        existing = _subscribers(session, [row.subscriber.key for row in rows])
        forgotten = _forgotten(session, [row.subscriber.key for row in rows if row.subscriber.key not in existing], environ)
        additions = []
        for row in rows:
            new = row.subscriber
            subscriber = existing.get(new.key)
            if subscriber is None and new.key in forgotten:
                diagnostics.append(
                    Diagnostic(
                        str(path), row.line, 0, "email", "this address asked to be forgotten; not imported", Severity.WARNING
                    )
                )
                skipped += 1
            elif subscriber is None:
                additions.append(_columns_of(new, source))
            elif subscriber.status != Status.ACTIVE and new.status is Status.ACTIVE:
                diagnostics.append(
                    Diagnostic(
                        str(path), row.line, 0, "email",
                        f"{subscriber.email!r} is {subscriber.status}: an import never re-activates an address",
                        Severity.WARNING,
                    )
                )
                skipped += 1
            else:
                gives_consent = new.consented_at is not None and subscriber.consented_at is None
                if (subscriber.name, subscriber.locale, subscriber.status) == (new.name, new.locale, new.status.value) and not gives_consent:
                    unchanged += 1
                    continue
                subscriber.name, subscriber.locale, subscriber.status = new.name, new.locale, new.status.value
                if gives_consent:
                    subscriber.consented_at, subscriber.consent_text = new.consented_at, new.consent_text or None
                    subscriber.consent_source = source
                updated += 1
        if additions:
            session.execute(insert(Subscriber), additions)
        _commit(session)
    return ImportReport(len(additions), updated, unchanged, skipped, tuple(sorted(diagnostics)))


def export_csv(engine: Engine, out: TextIO) -> int:
    """Write every subscriber to `out` as CSV (email, name, locale, status, consented_at, consent_text),
    ordered by address; returns how many.

    `import_csv` reads the file back, statuses and consents included.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*COLUMNS, *OPTIONAL_COLUMNS))
    rows = list_subscribers(engine)
    writer.writerows(
        (row.email, row.name, row.locale, row.status.value, _iso(row.consented_at) or "", row.consent_text) for row in rows
    )
    return len(rows)


def list_counts(engine: Engine) -> dict[str, dict[Status, int]]:
    """How many subscribers each locale has in each status (every status present, zeros too), by locale."""
    query = select(Subscriber.locale, Subscriber.status, func.count()).group_by(Subscriber.locale, Subscriber.status)
    counts: dict[str, dict[Status, int]] = {}
    with engine.connect() as connection:
        for locale, status, count in connection.execute(query):
            counts.setdefault(locale, dict.fromkeys(Status, 0))[Status(status)] = count
    return dict(sorted(counts.items()))


def list_subscribers(engine: Engine, status: Status | None = None) -> list[SubscriberRow]:
    """Every subscriber, or those with `status`, ordered by address."""
    query = select(Subscriber).order_by(Subscriber.email_key)
    if status is not None:
        query = query.where(Subscriber.status == status.value)
    with Session(engine) as session:
        return [_row(subscriber) for subscriber in session.scalars(query)]


def add(
    engine: Engine,
    email: str,
    name: str,
    locale: str,
    *,
    locales: Sequence[str],
    environ: Mapping[str, str] = os.environ,
) -> SubscriberRow:
    """Subscribe one address, active, in `locale` (one of the configured `locales`).

    An address already there is refused, whatever its status: one that left is
    subscribed again only by `remove` and then `add`, a deliberate act. An
    address that asked to be forgotten is refused; recognising it takes
    BROADSHEET_SECRET (from `environ`) once any address was forgotten.
    """
    new, problems = _check(email, name, locale, "", locales)
    if new is None:
        raise UsageError("; ".join(f"{field}: {message}" for field, message in problems))
    with Session(engine) as session:
        existing = _subscribers(session, [new.key]).get(new.key)
        if existing is not None:
            raise BroadsheetError(f"{existing.email!r} is already a subscriber ({existing.status})")
        if _forgotten(session, [new.key], environ):
            raise BroadsheetError(f"{new.email!r} asked to be forgotten: it is not subscribed again")
        session.add(Subscriber(**_columns_of(new, ADDED_BY_HAND)))
        _commit(session)
    return new


def remove(engine: Engine, email: str) -> SubscriberRow:
    """Delete a subscriber; returns what was removed. As with `forget`, their past copies and events stay,
    under an anonymous id, and their copies not yet sent go.

    Nothing keeps the address: an import may add it again. An unsubscribe (the
    link in every email) instead keeps the address, unsubscribed, which no
    import undoes; `forget` keeps a keyed hash that no import or add gets past.
    """
    key = email_key(email)
    with Session(engine) as session:
        subscriber = _subscribers(session, [key]).get(key)
        if subscriber is None:
            raise BroadsheetError(f"no subscriber has the address {email!r}")
        removed = _row(subscriber)
        _erase(session, subscriber)
        _commit(session)
    return removed


def forget(engine: Engine, email: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Erase a subscriber at their request, keeping only a keyed hash of the address so it is never added again.

    The subscriber's row goes, with their address, name and consent. Their send
    ledger rows and events stay, so that past issues keep their counts, but
    point to a random anonymous id instead of to them; ledger rows not yet
    handed to the transport go. Returns False when the address was already
    forgotten; raises for an address never seen, or without BROADSHEET_SECRET
    (from `environ`), which keys the hash.
    """
    key = email_key(email)
    digest = _address_hash(_forgetting_key(environ, f"set {SECRET_VARIABLE} before forgetting an address"), key)
    with Session(engine) as session:
        subscriber = _subscribers(session, [key]).get(key)
        known = session.scalar(select(Forgotten.id).where(Forgotten.address_hash == digest)) is not None
        if subscriber is None:
            if known:
                return False
            raise BroadsheetError(f"no subscriber has the address {email!r}, and it was never forgotten")
        _erase(session, subscriber)
        if not known:
            session.add(Forgotten(address_hash=digest))
        _commit(session)
    return True


def _erase(session: Session, subscriber: Subscriber) -> None:
    """Delete `subscriber`, their copies not yet handed to the transport, and the tie of every other copy
    and event to them, so the counts of past issues hold and nothing leads back to the person.

    Each issue's copy and its events share a new random id: one issue's, not the person's, so that
    their issues cannot be strung together. A copy whose transport's answer was never recorded counts as
    failed: nobody is left to send it again to. The transport's answers go (they may quote the address, or
    name a message the mail server could look up), and so do SendGrid's event ids, for the same reason.
    """
    session.execute(
        delete(LedgerEntry).where(LedgerEntry.subscriber_id == subscriber.id, LedgerEntry.state == State.PENDING.value)
    )
    anonymous: dict[str | None, str] = {}
    for entry in session.scalars(select(LedgerEntry).where(LedgerEntry.subscriber_id == subscriber.id)):
        entry.subscriber_id, entry.anonymous_id = None, anonymous.setdefault(entry.issue, str(uuid.uuid4()))
        entry.detail = ""
        if entry.state == State.SENDING.value:
            entry.state, entry.run_id = State.FAILED.value, None
    for event in session.scalars(select(Event).where(Event.subscriber_id == subscriber.id)):
        event.subscriber_id, event.anonymous_id = None, anonymous.setdefault(event.issue, str(uuid.uuid4()))
        event.sg_event_id = f"erased:{uuid.uuid4()}"
    session.flush()
    session.delete(subscriber)


def personal_data(engine: Engine, email: str) -> dict[str, Any]:
    """Everything the store holds about one subscriber, as JSON-ready values: their row, ledger rows and events."""
    key = email_key(email)
    with Session(engine) as session:
        subscriber = _subscribers(session, [key]).get(key)
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
                "status": subscriber.status,
                "created_at": _iso(subscriber.created_at),
                "updated_at": _iso(subscriber.updated_at),
                "confirmation_sent_at": _iso(subscriber.confirmation_sent_at),
                "consented_at": _iso(subscriber.consented_at),
                "consent_source": subscriber.consent_source,
                "consent_text": subscriber.consent_text,
                "pending_consent_text": subscriber.pending_consent_text,
                "pending_name": subscriber.pending_name,
                "pending_locale": subscriber.pending_locale,
            },
            "ledger": [
                {"issue": row.issue, "locale": row.locale, "state": row.state, "detail": row.detail, "updated_at": _iso(row.updated_at)}
                for row in ledger
            ],
            "events": [{"issue": row.issue, "kind": row.kind, "created_at": _iso(row.created_at)} for row in events],
        }


def _forgetting_key(environ: Mapping[str, str], why: str) -> bytes:
    secret = environ.get(SECRET_VARIABLE, "")
    if len(secret) < MIN_SECRET_LENGTH:
        raise BroadsheetError(
            f"{why}: only a hash of a forgotten address is kept, keyed with that secret "
            f"(a long random string, at least {MIN_SECRET_LENGTH} characters; the same one every time)"
        )
    return secret.encode("utf-8")


def _address_hash(key: bytes, address_key: str) -> str:
    return hmac.new(key, address_key.encode("utf-8"), hashlib.sha256).hexdigest()


def _forgotten(session: Session, keys: Sequence[str], environ: Mapping[str, str]) -> set[str]:
    """Those of the address keys `keys` that asked to be forgotten; raises without the secret when any address was."""
    if session.scalar(select(Forgotten.id).limit(1)) is None:
        return set()
    why = f"some addresses asked to be forgotten: set {SECRET_VARIABLE} (the one they were forgotten with) so that they are not added again"
    hasher = _forgetting_key(environ, why)
    hashes = {_address_hash(hasher, key): key for key in keys}
    found: set[str] = set()
    digests = list(hashes)
    for start in range(0, len(digests), _BATCH):
        query = select(Forgotten.address_hash).where(Forgotten.address_hash.in_(digests[start : start + _BATCH]))
        found.update(hashes[digest] for digest in session.scalars(query))
    return found


@overload
def _iso(moment: datetime) -> str: ...


@overload
def _iso(moment: datetime | None) -> str | None: ...


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    # SQLite hands back the UTC time the store wrote without its zone.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _read_csv(path: Path, locales: Sequence[str]) -> tuple[list[_ValidRow], list[Diagnostic], int]:
    """The valid rows of an import file, a diagnostic for each problem, and how many rows were bad."""
    display = str(path)
    text = _text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    diagnostics: list[Diagnostic] = []
    try:
        header = next(reader, [])
        columns = _columns(display, header, diagnostics)
        rows: list[_ValidRow] = []
        first_line: dict[str, int] = {}
        bad_rows = 0
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            new: SubscriberRow | None = None
            if len(record) > len(header) or len(record) <= max(columns.values()):
                # Rows may leave out trailing cells of ignored columns, not those of the columns read.
                hint = " (quote a value that holds a comma)" if len(record) > len(header) else ""
                problems = [("", f"Expected {len(header)} fields, as in the header, but received {len(record)}{hint}")]
            else:
                values = {column: record[index] for column, index in columns.items()}
                if values.get(STATUS_COLUMN, "").strip().lower() == Status.PENDING.value:
                    # An export holds the sign-ups awaiting confirmation; only the person's confirmation adds them.
                    message = "a sign-up awaiting its confirmation; not imported (only confirming it subscribes the address)"
                    diagnostics.append(Diagnostic(display, line, 0, STATUS_COLUMN, message, Severity.WARNING))
                    bad_rows += 1
                    continue
                new, problems = _check(
                    values["email"], values["name"], values["locale"], values.get(STATUS_COLUMN, ""), locales
                )
                consented_at, problem = _moment(values.get(CONSENTED_AT_COLUMN, ""))
                if problem:
                    new = None
                    problems.append((CONSENTED_AT_COLUMN, problem))
                elif new is not None:
                    new = dataclasses.replace(new, consented_at=consented_at, consent_text=values.get(CONSENT_TEXT_COLUMN, "").strip())
                if new is not None or not any(field == "email" for field, _ in problems):
                    key = new.key if new else email_key(values["email"])
                    if key in first_line:
                        new = None
                        problems.append(("email", f"{values['email'].strip()!r} is already on line {first_line[key]}"))
                    else:
                        first_line[key] = line
            if new is None:
                bad_rows += 1
                diagnostics.extend(Diagnostic(display, line, 0, field, message) for field, message in problems)
            else:
                rows.append(_ValidRow(line, new))
    except csv.Error as exc:
        diagnostics.append(Diagnostic(display, reader.line_num, 0, "", f"not valid CSV: {exc}"))
        raise InvalidInput(diagnostics) from None
    return rows, diagnostics, bad_rows


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BroadsheetError(f"{path}: cannot read: {exc.strerror}") from None
    # Spreadsheets save "CSV UTF-8" with a byte order mark.
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        offset = exc.start + len(data) - len(body)
        message = f"not UTF-8 text ({exc.reason} at byte {offset}); save the file as CSV UTF-8"
        raise InvalidInput([Diagnostic(str(path), line, 0, "", message)]) from None


def _columns(display: str, header: list[str], diagnostics: list[Diagnostic]) -> dict[str, int]:
    """Where each known column is in `header`; warns of the others and raises for a missing one."""
    names = [cell.strip().lower() for cell in header]
    known = (*COLUMNS, *OPTIONAL_COLUMNS)
    problems = [f"missing column {column!r}" for column in COLUMNS if column not in names] if header else ["empty file"]
    problems += [f"column {column!r} appears {names.count(column)} times" for column in known if names.count(column) > 1]
    if problems:
        wanted = ", ".join(COLUMNS)
        message = f"{'; '.join(problems)}: the first line must name the columns {wanted} (in any order)"
        raise InvalidInput([Diagnostic(display, 1, 0, "", message)])
    ignored = [
        repr(cell.strip()) if cell.strip() else f"column {index + 1} (no name)"
        for index, (cell, name) in enumerate(zip(header, names, strict=True))
        if name not in known
    ]
    if ignored:
        diagnostics.append(Diagnostic(display, 1, 0, "", f"ignored column(s) {', '.join(ignored)}", Severity.WARNING))
    return {column: names.index(column) for column in known if column in names}


def _check(
    email: str, name: str, locale: str, status: str, locales: Sequence[str]
) -> tuple[SubscriberRow | None, list[tuple[str, str]]]:
    """A subscriber from the values given for one, or None and what is wrong with them (field, message)."""
    problems: list[tuple[str, str]] = []
    email, name, locale, status = email.strip(), name.strip(), locale.strip(), status.strip().lower()
    try:
        # No SMTPUTF8: none of the transports could send to a non-ASCII local part (üser@), so none is taken.
        address = validate_email(email, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError as exc:
        problems.append(("email", f"Expected an email address but received: {email!r} ({exc})"))
    if len(name) > NAME_LENGTH:
        problems.append(("name", f"Expected at most {NAME_LENGTH} characters but received {len(name)}"))
    if _LINE_BREAKS.search(name):
        problems.append(("name", f"Expected a name on one line, without control characters, but received: {name!r}"))
    elif "\ufffd" in name:
        # U+FFFD stands where bytes could not be read as UTF-8: a name garbled on its way, not one to keep.
        problems.append(("name", f"Expected a name in UTF-8 but received one with unreadable characters: {name!r}"))
    configured = {code.lower(): code for code in locales}
    if locale.lower() not in configured:
        expected = ", ".join(repr(code) for code in locales)
        problems.append(("locale", f"Expected one of the configured locales {expected} but received: {locale!r}"))
    # `pending` is only for sign-ups awaiting their confirmation: an import cannot skip the opt-in.
    statuses = [member.value for member in Status if member is not Status.PENDING]
    if status and status not in statuses:
        expected = ", ".join(repr(value) for value in statuses)
        problems.append((STATUS_COLUMN, f"Expected one of {expected} or nothing (active) but received: {status!r}"))
    if problems:
        return None, problems
    return SubscriberRow(address, name, configured[locale.lower()], Status(status or Status.ACTIVE)), []


def _subscribers(session: Session, keys: Sequence[str]) -> dict[str, Subscriber]:
    found: dict[str, Subscriber] = {}
    for start in range(0, len(keys), _BATCH):
        query = select(Subscriber).where(Subscriber.email_key.in_(keys[start : start + _BATCH]))
        found.update((subscriber.email_key, subscriber) for subscriber in session.scalars(query))
    return found


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise BroadsheetError("another program changed the same subscribers at the same time: try again") from None


def _columns_of(row: SubscriberRow, source: str) -> dict[str, Any]:
    """The columns of a new subscriber, who came from `source` (see `Subscriber.consent_source`); the rest take their defaults."""
    return {
        "email": row.email, "email_key": row.key, "name": row.name, "locale": row.locale, "status": row.status.value,
        "consent_source": source, "consented_at": row.consented_at, "consent_text": row.consent_text or None,
    }


def _row(subscriber: Subscriber) -> SubscriberRow:
    consented_at = subscriber.consented_at
    if consented_at is not None and consented_at.tzinfo is None:
        consented_at = consented_at.replace(tzinfo=UTC)  # SQLite keeps UTC without its zone
    return SubscriberRow(
        subscriber.email, subscriber.name, subscriber.locale, Status(subscriber.status), consented_at, subscriber.consent_text or ""
    )


def _moment(text: str) -> tuple[datetime | None, str]:
    """The time an import cell gives (an ISO 8601 date, or date and time; UTC unless it names its zone), or None
    for an empty cell, and what is wrong with it ("" when nothing)."""
    text = text.strip()
    if not text:
        return None, ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, f"Expected a date such as 2023-05-01 or a time such as 2023-05-01T09:30:00Z but received: {text!r}"
    # In UTC, as the store keeps every time (SQLite would drop any other zone without converting).
    moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if moment > datetime.now(UTC):
        return None, f"Expected a time in the past but received: {text!r}"
    return moment, ""
