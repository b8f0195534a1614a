"""What comes back after a send: the subscriber an unsubscribe or preferences link names, and SendGrid's events.

Every event is kept once (by SendGrid's event id) for the per-issue report.
Bounces, complaints and unsubscribes take a subscriber off the list (`cause_of`:
not a bounce or drop about the message rather than the address), by the rules
of `lifecycle`: the first time their event id is seen, and only if they
happened after the subscriber's last change of status (an event that does not
say when it happened changes nothing).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, String, cast, func, select
from sqlalchemy import insert as insert_rows
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from ..schema import iso_date
from . import lifecycle
from .lifecycle import Cause
from .personalize import Signer
from .store import Event, LedgerEntry, State, Subscriber, utcnow

logger = logging.getLogger(__name__)

CAUSE_OF_EVENT = {
    "bounce": Cause.BOUNCE,
    "spamreport": Cause.COMPLAINT,
    "unsubscribe": Cause.UNSUBSCRIBE,
    "group_unsubscribe": Cause.UNSUBSCRIBE,
}
"""Events that may take a subscriber off the list, and what `lifecycle` takes them for (see `cause_of`; a
`dropped` event by its reason, `CAUSE_OF_DROP`)."""

CAUSE_OF_DROP = {
    "bounced address": Cause.BOUNCE,
    "invalid": Cause.BOUNCE,
    "spam reporting address": Cause.COMPLAINT,
    "unsubscribed address": Cause.UNSUBSCRIBE,
}
"""The `reason`s of a `dropped` event that are about the address (SendGrid lists it, or it is no address), by
their lower case. The others are about the message or the account (`Spam Content`, `Invalid SMTPAPI header`,
`Recipient List over Package Quota`): SendGrid drops every copy of a send alike for them."""

COUNTED_EVENTS = ("delivered", "open", "click")
RECORDED_EVENTS = frozenset(CAUSE_OF_EVENT) | {"dropped"} | frozenset(COUNTED_EVENTS)

REPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "delivered": ("delivered",),
    "bounced": ("bounce", "dropped"),
    "opened": ("open",),
    "clicked": ("click",),
    "unsubscribed": ("unsubscribe", "group_unsubscribe"),
    "complained": ("spamreport",),
}
"""The report's columns from events, and the SendGrid events each counts."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""What no database can take in a text: PostgreSQL refuses NUL, and a lone surrogate (JSON may write one,
`"\\ud800"`) is not UTF-8. One such event used to fail its whole post with a 500, and SendGrid's retries of it."""


# -- Links in the emails ---------------------------------------------------------------


def subscriber_of_token(engine: Engine, signer: Signer, token: str) -> Subscriber | None:
    """The subscriber a valid token names; None for a bad or tampered token or one naming nobody now."""
    named = signer.subscriber_of(token)
    if named is None:
        return None
    identifier, digest = named
    with Session(engine) as session:
        subscriber = session.get(Subscriber, identifier)
        if subscriber is None or Signer.address_digest(subscriber.email_key) != digest:
            return None
        session.expunge(subscriber)
        return subscriber


# -- SendGrid's events -----------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What one delivery of events did."""

    received: int = 0
    recorded: int = 0
    duplicates: int = 0
    ignored: int = 0
    """Events of other kinds (processed, deferred...), without an event id, opens by a machine
    (`sg_machine_open`), or of nobody on the list (a test copy, a subscriber removed or forgotten since):
    nothing is kept about people who are not subscribers."""
    status_changes: int = 0


def record_events(engine: Engine, events: Sequence[Any]) -> Recorded:
    """Record SendGrid events once each, and take bounced, complaining and unsubscribing subscribers off the list.

    `events` is the decoded JSON array SendGrid posts. A subscriber is found by
    the `subscriber` custom argument that each send attaches (checked against
    the event's address), else by the address; an event of nobody on the list
    is not kept. An event already recorded (by its id) changes nothing again,
    and `lifecycle` decides what a new one does: it never re-activates anyone,
    nor turns one reason for leaving into another, and one from before the
    subscriber's last change of status (before they signed up again) changes nothing.
    """
    wanted = [event for event in events if _wanted(event)]
    received = utcnow()
    with Session(engine) as session, session.begin():
        ids = _subscriber_ids(session, wanted)
        times = [sendgrid_time(event.get("timestamp")) for event in wanted]
        rows: list[dict[str, Any]] = [
            {
                "sg_event_id": str(event["sg_event_id"])[:100],
                "issue": _issue_of(event),
                "subscriber_id": ids[index],
                "kind": str(event["event"]),
                "created_at": times[index] or received,
            }
            for index, event in enumerate(wanted)
            if index in ids
        ]
        unique = list({row["sg_event_id"]: row for row in rows}.values())
        # An event that does not say when it happened cannot be shown to be of the subscriber's present spell on
        # the list: it is kept (dated when it came), and changes no status.
        undated = {
            str(event["sg_event_id"])[:100] for index, event in enumerate(wanted) if times[index] is None
        }
        new = _insert_new(session, unique) if unique else set()
        causes = {str(event["sg_event_id"])[:100]: cause_of(event) for event in wanted}
        changes = [
            lifecycle.Change(row["subscriber_id"], cause, row["created_at"])
            for row in unique
            if row["sg_event_id"] in new
            and (cause := causes[row["sg_event_id"]]) is not None
            and row["sg_event_id"] not in undated
        ]
        changed = lifecycle.apply(session, changes)
    return Recorded(
        received=len(events),
        recorded=len(new),
        duplicates=len(rows) - len(new),
        ignored=len(events) - len(rows),
        status_changes=len(changed),
    )


def cause_of(event: Mapping[str, Any]) -> Cause | None:
    """What an event takes its subscriber off the list for, or None when it takes nobody off.

    A bounce of `type: blocked` is the receiving server refusing the message
    (the sender's reputation, its content, a full mailbox), not the address:
    SendGrid does not suppress the address, and sends to it again. A drop
    counts only for a reason about the address (`CAUSE_OF_DROP`).
    """
    kind = event.get("event")
    if kind == "bounce" and event.get("type") == "blocked":
        return None
    if kind == "dropped":
        reason = event.get("reason")
        return CAUSE_OF_DROP.get(reason.strip().lower()) if isinstance(reason, str) else None
    return CAUSE_OF_EVENT.get(kind) if isinstance(kind, str) else None


def _wanted(event: Any) -> bool:
    return (
        isinstance(event, Mapping)
        and isinstance(kind := event.get("event"), str)
        and kind in RECORDED_EVENTS
        and bool(event.get("sg_event_id"))
        and not _UNSTORABLE.search(str(event["sg_event_id"]))
        # SendGrid's mark of an open by a machine (Apple Mail Privacy Protection loads every image of every
        # email it receives, read or not): nobody opened it.
        and not (kind == "open" and event.get("sg_machine_open") is True)
    )


def _address_of(event: Mapping[str, Any]) -> str | None:
    """The address an event names, in lower case; None when it names none (see `lifecycle.address_keys`)."""
    address = event.get("email")
    return address.lower() if isinstance(address, str) else None


_LARGEST_ID = 2**63 - 1


def _claimed_id(value: Any) -> int | None:
    """The subscriber id an event's `subscriber` field names: a whole number (or its ASCII digits) that a
    database id can be; None for anything else."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _LARGEST_ID else None
    )


def _issue_of(event: Mapping[str, Any]) -> str | None:
    issue = event.get("issue")
    return issue if isinstance(issue, str) and iso_date(issue) else None


def sendgrid_time(stamp: Any) -> datetime | None:
    """A time as SendGrid gives it (an event's `timestamp`, a suppression entry's `created`: seconds since 1970);
    None for anything else."""
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        try:
            return datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return None


def _subscriber_ids(session: Session, events: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """The subscriber of each event (by its index) that names one who exists."""
    claimed = {
        identifier for event in events if (identifier := _claimed_id(event.get("subscriber"))) is not None
    }
    # Each address by every key it may be stored under (SendGrid may give an IDN domain in Unicode or as xn--);
    # an address no database can take is nobody's, and not looked up.
    keys = {
        address: lifecycle.address_keys(address)
        for event in events
        if (address := _address_of(event)) and not _UNSTORABLE.search(address)
    }
    wanted = sorted({key for found in keys.values() for key in found})
    by_id = (
        {
            identifier: key
            for identifier, key in session.execute(
                select(Subscriber.id, Subscriber.email_key).where(Subscriber.id.in_(sorted(claimed)))
            )
        }
        if claimed
        else {}
    )
    by_key = (
        {
            key: identifier
            for identifier, key in session.execute(
                select(Subscriber.id, Subscriber.email_key).where(Subscriber.email_key.in_(wanted))
            )
        }
        if wanted
        else {}
    )
    found: dict[int, int] = {}
    for index, event in enumerate(events):
        address = _address_of(event)
        known = keys.get(address, ()) if address is not None else ()
        identifier = _claimed_id(event.get("subscriber"))
        # An id whose address differs belongs to someone else now (SQLite may reuse a deleted subscriber's id).
        if identifier in by_id and (address is None or by_id[identifier] in known):
            found[index] = identifier
        elif matched := next((by_key[key] for key in known if key in by_key), None):
            found[index] = matched
    return found


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose event id is new; their event ids."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(Event).on_conflict_do_nothing(index_elements=["sg_event_id"]).returning(Event.sg_event_id)
        )
        return set(session.scalars(statement, rows))
    known = set(
        session.scalars(
            select(Event.sg_event_id).where(Event.sg_event_id.in_([row["sg_event_id"] for row in rows]))
        )
    )
    new = [row for row in rows if row["sg_event_id"] not in known]
    if new:
        session.execute(insert_rows(Event), new)
    return {row["sg_event_id"] for row in new}


# -- The report of an issue ------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """One locale's copies of an issue: how many were sent, and how many subscribers each event reached."""

    locale: str
    sent: int
    counts: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "locale": self.locale,
            "sent": self.sent,
            **{column: self.counts.get(column, 0) for column in REPORT_COLUMNS},
        }


def anything_recorded(engine: Engine, issue: str) -> bool:
    """Whether the ledger holds a copy of `issue`, or an event names it: else there is nothing to report."""
    with Session(engine) as session:
        return any(
            session.scalar(select(table.id).where(table.issue == issue).limit(1)) is not None
            for table in (LedgerEntry, Event)
        )


def issue_report(engine: Engine, issue: str, locales: Iterable[str]) -> list[ReportRow]:
    """Per locale (`locales` first, then any other the ledger has), the copies sent and the subscribers per event.

    A subscriber who opened an email five times counts once under `opened`.
    An event counts under the locale of the copy the ledger recorded, else
    under the subscriber's locale now.
    """
    with Session(engine) as session:
        sent: Counter[str] = Counter()
        for where, number in session.execute(
            select(LedgerEntry.locale, func.count())
            .where(LedgerEntry.issue == issue, LedgerEntry.state == State.SENT.value)
            .group_by(LedgerEntry.locale)
        ):
            sent[where] += int(number)
        # A forgotten subscriber's events and copy are tied by their anonymous id instead: each by an index of its own.
        copy, anonymous_copy = aliased(LedgerEntry), aliased(LedgerEntry)
        locale = func.coalesce(copy.locale, anonymous_copy.locale, Subscriber.locale)
        person = func.coalesce(cast(Event.subscriber_id, String), Event.anonymous_id)
        grouped = session.execute(
            select(locale, Event.kind, func.count(func.distinct(person)))
            .outerjoin(Subscriber, Event.subscriber_id == Subscriber.id)
            .outerjoin(copy, (copy.issue == Event.issue) & (copy.subscriber_id == Event.subscriber_id))
            .outerjoin(
                anonymous_copy,
                (anonymous_copy.issue == Event.issue) & (anonymous_copy.anonymous_id == Event.anonymous_id),
            )
            .where(Event.issue == issue, person.is_not(None), locale.is_not(None))
            .group_by(locale, Event.kind)
        ).all()
    by_kind: dict[str, Counter[str]] = {}
    for where, kind, number in grouped:
        by_kind.setdefault(where, Counter())[kind] += int(number)
    order = list(dict.fromkeys([*locales, *sorted(sent), *sorted(by_kind)]))
    return [
        ReportRow(
            where,
            int(sent[where]),
            {
                column: sum(by_kind.get(where, Counter())[kind] for kind in kinds)
                for column, kinds in REPORT_COLUMNS.items()
            },
        )
        for where in order
    ]
