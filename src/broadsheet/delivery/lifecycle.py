"""Every change of a subscriber's status and record: the rules in one table, and the functions that apply them.

Nothing else writes to the `subscribers` and `forgotten` tables. The web pages
(sign-up, confirmation, preferences, unsubscribe), SendGrid's events
(`feedback`), its suppression lists (`suppressions`) and the subscriber
commands (`subscribers`: import, add, remove, forget) call these functions,
which look each change of status up in `TRANSITIONS`. Every change of status
sets `status_changed_at`: an event that happened before it (a replayed one, or
one of an earlier spell on the list) changes nothing.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, Update, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from ..errors import BroadsheetError
from .personalize import MIN_SECRET_LENGTH, SECRET_VARIABLE, Signer
from .store import Event, Forgotten, LedgerEntry, State, Status, Subscriber, utcnow


class Cause(enum.StrEnum):
    """What may change a subscriber's status."""

    ADD = "add"
    """`broadsheet subscribers add`."""
    SIGN_UP = "sign-up"
    """The web form's sign-up: a new address awaits its confirmation."""
    CONFIRMATION = "confirmation"
    """Following the link of the confirmation email."""
    UNSUBSCRIBE = "unsubscribe"
    """The link in every email, the preferences page, SendGrid's unsubscribe events and its unsubscribe list."""
    BOUNCE = "bounce"
    """SendGrid's bounce and dropped events, and its bounce list."""
    COMPLAINT = "complaint"
    """SendGrid's spam report events and its spam report list."""
    IMPORT_ACTIVE = "import as active"
    IMPORT_UNSUBSCRIBED = "import as unsubscribed"
    IMPORT_BOUNCED = "import as bounced"
    IMPORT_COMPLAINED = "import as complained"


_: Status | None = None
"""In the table: the status stays as it is."""
NEW, PENDING, ACTIVE = None, Status.PENDING, Status.ACTIVE
UNSUBSCRIBED, BOUNCED, COMPLAINED = Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED

_COLUMNS = (NEW, PENDING, ACTIVE, UNSUBSCRIBED, BOUNCED, COMPLAINED)
# fmt: off
_RULES: dict[Cause, tuple[Status | None, ...]] = {
    # The status after each cause, by the status before (NEW: no such address yet).
    #                          NEW           PENDING       ACTIVE        UNSUBSCRIBED  BOUNCED       COMPLAINED
    Cause.ADD:                 (ACTIVE,      _,            _,            _,            _,            _),
    Cause.SIGN_UP:             (PENDING,     _,            _,            _,            _,            _),
    # The one way back onto the list: the person proves the mailbox is theirs and works (an address that left:
    # only while a sign-up of theirs awaits the confirmation, see `confirm`).
    Cause.CONFIRMATION:        (_,           ACTIVE,       _,            ACTIVE,       ACTIVE,       ACTIVE),
    # Leaving (the unsubscribe link, SendGrid's events and lists): only an active subscriber leaves, no event
    # brings anyone back, and the first reason for leaving stays.
    Cause.UNSUBSCRIBE:         (_,           _,            UNSUBSCRIBED, _,            _,            _),
    Cause.BOUNCE:              (_,           _,            BOUNCED,      _,            _,            _),
    Cause.COMPLAINT:           (_,           _,            COMPLAINED,   _,            _,            _),
    # An import never re-activates anyone, nor skips a sign-up's opt-in; it may record why an address left.
    Cause.IMPORT_ACTIVE:       (ACTIVE,      _,            _,            _,            _,            _),
    Cause.IMPORT_UNSUBSCRIBED: (UNSUBSCRIBED, UNSUBSCRIBED, UNSUBSCRIBED, _,           UNSUBSCRIBED, UNSUBSCRIBED),
    Cause.IMPORT_BOUNCED:      (BOUNCED,     BOUNCED,      BOUNCED,      BOUNCED,      _,            BOUNCED),
    Cause.IMPORT_COMPLAINED:   (COMPLAINED,  COMPLAINED,   COMPLAINED,   COMPLAINED,   COMPLAINED,   _),
}
# fmt: on

TRANSITIONS: dict[tuple[Status | None, Cause], Status | None] = {
    (before, cause): after
    for cause, row in _RULES.items()
    for before, after in zip(_COLUMNS, row, strict=True)
}
"""(status before or None for a new address, cause) -> the status after, or None when it stays as it is."""

IMPORTED = {
    Status.ACTIVE: Cause.IMPORT_ACTIVE,
    Status.UNSUBSCRIBED: Cause.IMPORT_UNSUBSCRIBED,
    Status.BOUNCED: Cause.IMPORT_BOUNCED,
    Status.COMPLAINED: Cause.IMPORT_COMPLAINED,
}
"""The cause of an import row, by the status the file gives."""

CONSENT_SOURCE = "web form"
"""Where a confirmed sign-up came from, followed by `: ` and its form's source when it has one."""
CONFIRMATION_INTERVAL = timedelta(hours=1)
"""At most one confirmation email per address in this time, whoever asks for it."""

_BATCH = 500
"""Addresses or ids looked up per query: under every database's limit on bound parameters."""


def after(before: Status | None, cause: Cause) -> Status | None:
    """The status `cause` gives a subscriber whose status is `before` (None: a new address), or None when it
    stays as it is."""
    return TRANSITIONS[(before, cause)]


@dataclass(frozen=True)
class SubscriberRow:
    """One subscriber as listed, exported, imported and added."""

    email: str
    name: str
    locale: str
    status: Status
    consented_at: datetime | None = None
    consent_text: str = ""
    left_at: datetime | None = None
    """When the list says the address left (Mailchimp's UNSUB_TIME, CLEAN_TIME); None when it does not say."""

    @property
    def key(self) -> str:
        """The address's `email_key`: `email` is already normalized."""
        return self.email.lower()


def email_key(address: str) -> str:
    """The key that makes every spelling of an address one subscriber: its normalized form in lower case."""
    return address_keys(address)[0]


def address_keys(address: str) -> tuple[str, ...]:
    """Every `email_key` a subscriber of `address` may be stored under, as SendGrid may report the address
    (an internationalized domain in Unicode or as `xn--` ASCII): the normalized key (domain in Unicode) first,
    then the same with the domain in ASCII, which rows stored before normalization may hold."""
    try:
        valid = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError:
        return (address.strip().lower(),)
    keys = (valid.normalized.lower(), f"{valid.local_part}@{valid.ascii_domain}".lower())
    return tuple(dict.fromkeys(keys))


# -- Changes of status caused by something outside: events, suppression lists, the unsubscribe link -----------


@dataclass(frozen=True)
class Change:
    """One cause of a change of one subscriber's status."""

    subscriber_id: int
    cause: Cause
    at: datetime | None = None
    """When it happened, by the clock of whoever reports it (SendGrid's); None: now. A cause older than the
    subscriber's last change of status is about an earlier spell on the list, and changes nothing."""


def apply(session: Session, changes: Sequence[Change]) -> dict[int, Status]:
    """Apply `changes` in the order they happened, each by `TRANSITIONS`, in the transaction of `session`;
    the subscribers whose status changed and their new status. Subscribers that no longer exist are passed over."""
    now = utcnow()
    ids = sorted({change.subscriber_id for change in changes})
    found: dict[int, tuple[Status, datetime | None]] = {}
    for start in range(0, len(ids), _BATCH):
        query = select(Subscriber.id, Subscriber.status, Subscriber.status_changed_at).where(
            Subscriber.id.in_(ids[start : start + _BATCH])
        )
        found.update((identifier, (status, since)) for identifier, status, since in session.execute(query))
    current = {identifier: status for identifier, (status, _since) in found.items()}
    for change in sorted(changes, key=lambda change: change.at or now):
        if change.subscriber_id not in current:
            continue
        since = found[change.subscriber_id][1]
        # By whole seconds, as SendGrid gives its times: an event in the same second as the change still counts.
        if change.at is not None and since is not None and change.at < since.replace(microsecond=0):
            continue
        new = after(current[change.subscriber_id], change.cause)
        if new is not None:
            current[change.subscriber_id] = new
    moved = {
        identifier: status for identifier, status in current.items() if status is not found[identifier][0]
    }
    if not moved:
        return {}
    # One statement for all the rows, each only if nobody changed its status since it was read: a re-activation
    # in another request (a new spell on the list, which these causes are older than) stays.
    rows = [
        {
            "b_id": identifier,
            "b_status": found[identifier][0],
            "b_since": found[identifier][1],
            "status": status,
            "now": now,
        }
        for identifier, status in moved.items()
    ]
    return {
        identifier: moved[identifier] for identifier in _write_as_read(session, _STATUS_UPDATE, rows, now)
    }


_AS_READ = (
    Subscriber.id == bindparam("b_id"),
    Subscriber.status == bindparam("b_status"),
    Subscriber.status_changed_at.is_not_distinct_from(bindparam("b_since")),
)
"""The condition of a conditional write: the row `b_id` still has the status `b_status` it was read with, since
`b_since`."""

_STATUS_UPDATE = (
    update(Subscriber)
    .where(*_AS_READ)
    .values(status=bindparam("status"), status_changed_at=bindparam("now"), updated_at=bindparam("now"))
)


def _write_as_read(
    session: Session, statement: Update, rows: list[dict[str, Any]], now: datetime
) -> set[int]:
    """Run `statement` (an UPDATE of subscribers `where(*_AS_READ)` that sets `updated_at` to `now`) for each of
    `rows` in one executemany; the ids of the rows it wrote, without those changed by someone else since they
    were read."""
    ids = [row["b_id"] for row in rows]
    if session.connection().execute(statement, rows).rowcount == len(rows):
        return set(ids)
    # Some lost that race (or the driver does not count an executemany): the rows written carry this write's time.
    return _those(session, ids, Subscriber.updated_at == now)


def _those(session: Session, ids: Sequence[int], condition: ColumnElement[bool]) -> set[int]:
    """Those of the subscribers `ids` that meet `condition`, looked up `_BATCH` at a time."""
    return {
        identifier
        for start in range(0, len(ids), _BATCH)
        for identifier in session.scalars(
            select(Subscriber.id).where(Subscriber.id.in_(ids[start : start + _BATCH]), condition)
        )
    }


@dataclass(frozen=True)
class Listing:
    """A subscriber on one of SendGrid's suppression lists."""

    subscriber_id: int
    cause: Cause
    listed_at: datetime | None
    """When SendGrid listed the address (its entry's `created`); None when the entry does not say."""


def _before_confirming(
    at: datetime | None, consented_at: datetime | None, consent_source: str | None
) -> bool:
    """Whether what a list (SendGrid's suppressions, an export of those who left) says happened `at` came before
    the subscriber confirmed a sign-up on the web form (their consent, `consented_at`, from `consent_source`):
    the only proof that the mailbox is theirs and wanted since, which makes it of an earlier spell on the list.
    By whole seconds, as the lists give their times: the same second as the confirmation still counts."""
    return (
        at is not None
        and consented_at is not None
        and (consent_source or "").startswith(CONSENT_SOURCE)
        and at < consented_at.replace(microsecond=0)
    )


def apply_listings(session: Session, listings: Sequence[Listing]) -> tuple[dict[int, Status], set[int]]:
    """Apply SendGrid's suppression list entries by `TRANSITIONS`, in the transaction of `session`: the
    subscribers whose status changed and their new status, and the active subscribers left so because they
    confirmed a sign-up after SendGrid listed them.

    A list says what SendGrid does now (it drops every message to an address on
    it), not what happened once, so an entry counts however old it is, even
    from before an import or an add: only the person's own confirmation on the
    web form proves the mailbox theirs and working since, and makes an older
    entry one of an earlier spell on the list.
    """
    ids = sorted({listing.subscriber_id for listing in listings})
    consents: dict[int, tuple[datetime | None, str | None]] = {}
    for start in range(0, len(ids), _BATCH):
        query = select(Subscriber.id, Subscriber.consented_at, Subscriber.consent_source).where(
            Subscriber.id.in_(ids[start : start + _BATCH])
        )
        consents.update((identifier, (at, source)) for identifier, at, source in session.execute(query))
    earlier = {
        listing.subscriber_id
        for listing in listings
        if listing.subscriber_id in consents
        and _before_confirming(listing.listed_at, *consents[listing.subscriber_id])
    }
    changed = apply(
        session,
        [
            Change(listing.subscriber_id, listing.cause)
            for listing in listings
            if listing.subscriber_id not in earlier
        ],
    )
    return changed, _those(session, sorted(earlier), Subscriber.status == Status.ACTIVE)


def unsubscribe(engine: Engine, subscriber_id: int) -> bool:
    """Unsubscribe a subscriber by the link in their emails; whether anything changed (not for one already off the list)."""
    with Session(engine) as session, session.begin():
        return bool(apply(session, [Change(subscriber_id, Cause.UNSUBSCRIBE)]))


def change_preferences(engine: Engine, subscriber_id: int, name: str, locale: str) -> bool:
    """Set the name and language of an active subscriber (their preferences page); whether they were one."""
    with Session(engine) as session, session.begin():
        changed = session.execute(
            update(Subscriber)
            .where(Subscriber.id == subscriber_id, Subscriber.status == Status.ACTIVE)
            .values(name=name, locale=locale, updated_at=utcnow())
        )
        return bool(changed.rowcount)  # type: ignore[attr-defined]


# -- Sign-up on the web form, and its confirmation -------------------------------------------------------------


@dataclass(frozen=True)
class PendingSignUp:
    """A sign-up to send an email for: the subscriber's id and key, the address and name to write to, and
    the language the form gave. `active`: they already receive the newsletter, and are sent a link to their
    preferences instead of a confirmation. `source`: the form's, "" for none."""

    id: int
    email_key: str
    email: str
    name: str
    locale: str
    active: bool = False
    source: str = ""


def sign_up(
    engine: Engine, row: SubscriberRow, consent: str, now: datetime, expiry: timedelta
) -> PendingSignUp | None:
    """The sign-up of `row` (checked, as `subscribers.check` does) to send an email for (a confirmation, or
    an active address's preferences link), or None when no email should go.

    A new address is added `pending`, with the name and language given; one
    already pending takes them. An address that left (unsubscribed, bounced or
    complained) stays as it is, under its old name and language, with the new
    ones kept apart (`pending_name`, `pending_locale`) until it confirms: the
    confirmation proves the mailbox is theirs and works. Either way the
    `consent` text it would agree to waits in `pending_consent_text`, so that
    typing someone's address changes nothing on their record. An active
    address changes in nothing but is sent a link to its preferences (someone
    who forgot they subscribe, or lost the link), and no address is sent more
    than one of these emails an hour (`CONFIRMATION_INTERVAL`).
    Sign-ups that were never confirmed within `expiry` are dropped first
    (`drop_unconfirmed`).
    """
    drop_unconfirmed(engine, now - expiry)
    # An address already there is written only if its status is still the one read (a confirmation, an
    # unsubscribe or an import in another request meanwhile is not undone); a lost race is tried once more.
    for _attempt in range(2):
        with Session(engine, expire_on_commit=False) as session:
            subscriber = session.scalars(
                select(Subscriber).where(Subscriber.email_key == row.key)
            ).one_or_none()
            if subscriber is None:
                status = after(None, Cause.SIGN_UP)
                subscriber = Subscriber(
                    email=row.email, email_key=row.key, name=row.name, locale=row.locale, status=status,
                    status_changed_at=now, confirmation_sent_at=now, pending_consent_text=consent,
                )  # fmt: skip
                session.add(subscriber)
                try:
                    session.commit()
                except IntegrityError:
                    # The same address signed up in another request at the same moment (that one sends).
                    return None
                return PendingSignUp(subscriber.id, subscriber.email_key, row.email, row.name, row.locale)
            if _recently_sent(subscriber, now):
                return None
            values: dict[str, Any] = {"confirmation_sent_at": now}
            if subscriber.status is Status.ACTIVE:
                # Nothing on record changes: they are told so, with the way to their preferences.
                pass
            elif subscriber.status is Status.PENDING:
                values.update(email=row.email, name=row.name, locale=row.locale, pending_consent_text=consent)
            else:
                values.update(pending_name=row.name, pending_locale=row.locale, pending_consent_text=consent)
            if not _write_if_unchanged(session, subscriber, values):
                continue
            session.commit()
            if subscriber.status is Status.ACTIVE:
                return PendingSignUp(
                    subscriber.id,
                    subscriber.email_key,
                    subscriber.email,
                    subscriber.name,
                    row.locale,
                    active=True,
                )
            return PendingSignUp(subscriber.id, subscriber.email_key, row.email, row.name, row.locale)
    return None


def _write_if_unchanged(session: Session, subscriber: Subscriber, values: dict[str, Any]) -> bool:
    """Write `values` to the row of `subscriber` if its status is still the one read into it (neither changed
    nor dropped by another request since); whether it was."""
    written = session.execute(
        update(Subscriber).where(*_AS_READ).values(**values).execution_options(synchronize_session=False),
        {"b_id": subscriber.id, "b_status": subscriber.status, "b_since": subscriber.status_changed_at},
    )
    return bool(written.rowcount)  # type: ignore[attr-defined]


def confirm(
    engine: Engine,
    subscriber_id: int,
    digest: str,
    now: datetime,
    source: str = "",
    signed_at: datetime | None = None,
) -> tuple[Subscriber | None, bool]:
    """The subscriber of a confirmation link, made active with their consent recorded (from the form `source`
    when the link names one), and whether this link made them so (False: they already were). An address that
    left and signed up again takes the name and language of that sign-up. None when the link names nobody, or
    an address with no sign-up awaiting confirmation (it left since it signed up: the old link does not bring
    it back), or when the link was made (`signed_at`; None: now) before the record last changed (`updated_at`:
    its status, or a later sign-up of the address): a link of an earlier sign-up does not confirm the one
    awaiting confirmation now, whose name and language another person may have typed."""
    # Read, then write only if the status is still the one read: an unsubscribe or an import in another request
    # between the two is not undone. A lost race is tried once more on what is there now.
    for _attempt in range(2):
        with Session(engine, expire_on_commit=False) as session, session.begin():
            subscriber = session.get(Subscriber, subscriber_id)
            awaiting = _awaiting(subscriber, digest, signed_at)
            if subscriber is None or awaiting is None:
                return None, False
            if not awaiting:
                return subscriber, False
            returning = subscriber.status is not Status.PENDING
            new = after(subscriber.status, Cause.CONFIRMATION)
            values: dict[str, Any] = {
                "status": new,
                "status_changed_at": now,
                "updated_at": now,
                "consented_at": now,
                "consent_source": f"{CONSENT_SOURCE}: {source}" if source else CONSENT_SOURCE,
                "pending_consent_text": None,
                "pending_name": None,
                "pending_locale": None,
            }
            if returning:
                values["name"], values["locale"] = (
                    subscriber.pending_name or "",
                    subscriber.pending_locale or subscriber.locale,
                )
            if subscriber.pending_consent_text is not None:
                values["consent_text"] = subscriber.pending_consent_text
            if _write_if_unchanged(session, subscriber, values):
                session.refresh(subscriber)
                return subscriber, True
    return None, False


def confirmation_of(
    engine: Engine, subscriber_id: int, digest: str, signed_at: datetime | None = None
) -> tuple[Subscriber | None, bool]:
    """What `confirm` would find for the same link, changing nothing: the subscriber it names and whether it
    would make them active (False: they are already); (None, False) where it would confirm nobody. For the page
    a confirmation link opens, which asks before it confirms: mail scanners open the links of an email."""
    with Session(engine, expire_on_commit=False) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        awaiting = _awaiting(subscriber, digest, signed_at)
        return (subscriber, awaiting) if subscriber is not None and awaiting is not None else (None, False)


def _awaiting(subscriber: Subscriber | None, digest: str, signed_at: datetime | None) -> bool | None:
    """Whether a confirmation link for `digest` made at `signed_at` confirms `subscriber`: True, False for one
    active already, None for a link that confirms nothing (see `confirm`)."""
    if subscriber is None or Signer.address_digest(subscriber.email_key) != digest:
        return None
    if subscriber.status is Status.ACTIVE:
        return False
    returning = subscriber.status is not Status.PENDING
    if after(subscriber.status, Cause.CONFIRMATION) is None or (
        returning and subscriber.pending_locale is None
    ):
        return None
    # Every change of status sets `updated_at` too, and so does each sign-up of a pending or returning address:
    # the newest sign-up's link is made after it. By whole seconds, as the link gives its time: a link of the
    # same second as the change still counts.
    if signed_at is not None and signed_at < subscriber.updated_at.replace(microsecond=0):
        return None
    return True


def forget_confirmation(engine: Engine, subscriber_id: int) -> None:
    """Record that no confirmation email went to the subscriber after all: the next sign-up may send one at once."""
    with Session(engine) as session, session.begin():
        # Not a change of the record (`updated_at` stays): a link that may have gone all the same still confirms.
        session.execute(
            update(Subscriber)
            .where(Subscriber.id == subscriber_id)
            .values(confirmation_sent_at=None, updated_at=Subscriber.updated_at)
        )


def drop_unconfirmed(engine: Engine, cutoff: datetime) -> int:
    """Drop the sign-ups last made before `cutoff` and never confirmed: delete new addresses still pending,
    and clear what a returning one gave (`pending_*`). How many rows changed. Nothing keeps an address, or
    a name, that nobody confirmed."""
    with Session(engine) as session, session.begin():
        deleted = session.execute(
            delete(Subscriber).where(Subscriber.status == Status.PENDING, Subscriber.updated_at < cutoff)
        )
        cleared = session.execute(
            update(Subscriber)
            .where(Subscriber.pending_consent_text.is_not(None), Subscriber.updated_at < cutoff)
            .values(pending_consent_text=None, pending_name=None, pending_locale=None)
        )
        return int(deleted.rowcount + cleared.rowcount)  # type: ignore[attr-defined]


def _recently_sent(subscriber: Subscriber, now: datetime) -> bool:
    sent = subscriber.confirmation_sent_at
    return sent is not None and sent > now - CONFIRMATION_INTERVAL


# -- The editor's commands: import, add, remove, forget ----------------------------------------------------------


@dataclass
class Imported:
    """What an import did with some rows: counts, and the rows it left alone (line, why)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    left_alone: list[tuple[int, str]] = field(default_factory=list)


def import_rows(
    session: Session, rows: Sequence[tuple[int, SubscriberRow]], source: str, environ: Mapping[str, str]
) -> Imported:
    """Add the subscribers of `rows` (line, row), from `source`, and update those already there (name, locale,
    and status by `TRANSITIONS`), in the transaction of `session`, with a few statements whatever the number.

    A consent in a row is recorded for an address without one, and never
    replaces one already recorded. A row asking for a status the table does
    not give (re-activating an address that left) is left alone, and so is
    an address that asked to be forgotten; recognising it takes
    BROADSHEET_SECRET (from `environ`) once any address was forgotten.
    """
    now = utcnow()
    keys = [row.key for _line, row in rows]
    existing = {
        found.email_key: found
        for start in range(0, len(keys), _BATCH)
        for found in session.execute(
            select(*_IMPORTED_COLUMNS).where(Subscriber.email_key.in_(keys[start : start + _BATCH]))
        )
    }
    forgotten = _forgotten(session, [key for key in keys if key not in existing], environ)
    done = Imported()
    additions: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    updating: dict[int, tuple[int, str]] = {}  # by subscriber id: the line and address of their row
    for line, row in rows:
        old = existing.get(row.key)
        new_status = after(old.status if old else None, IMPORTED[row.status])
        if old is None and row.key in forgotten:
            done.left_alone.append((line, "this address asked to be forgotten; not imported"))
        elif old is None:
            additions.append(_columns_of(row, source, now))
        elif new_status is not None and _before_confirming(row.left_at, old.consented_at, old.consent_source):
            done.left_alone.append(
                (
                    line,
                    f"{old.email!r} left on {row.left_at:%Y-%m-%d %H:%M} UTC, as this list says, before confirming "
                    f"a sign-up here on {old.consented_at:%Y-%m-%d %H:%M} UTC: an earlier spell on the list; left "
                    f"{old.status}",
                )
            )
        elif new_status is None and old.status is Status.PENDING:
            done.left_alone.append(
                (line, f"{old.email!r} awaits the confirmation of its sign-up: an import never skips it")
            )
        elif new_status is None and old.status is not row.status:
            done.left_alone.append(
                (line, f"{old.email!r} is {old.status}: an import never re-activates an address")
            )
        else:
            gives_consent = row.consented_at is not None and old.consented_at is None
            # A blank name keeps the one on record: a list exported without names does not erase them.
            name = row.name or old.name
            if (old.name, old.locale) == (name, row.locale) and new_status is None and not gives_consent:
                done.unchanged += 1
                continue
            updating[old.id] = (line, old.email)
            updates.append(
                {
                    "b_id": old.id,
                    "name": name,
                    "locale": row.locale,
                    "updated_at": now,
                    "status": new_status or old.status,
                    "status_changed_at": now if new_status is not None else old.status_changed_at,
                    "consented_at": row.consented_at if gives_consent else old.consented_at,
                    "consent_text": (row.consent_text or None) if gives_consent else old.consent_text,
                    "consent_source": source if gives_consent else old.consent_source,
                    "b_status": old.status,
                    "b_since": old.status_changed_at,
                }
            )
    if additions:
        session.execute(insert(Subscriber), additions)
    if updates:
        # One statement run for all the rows (executemany), each only if its status is still the one read: an
        # unsubscribe or an event between the read and the write is not undone (that row keeps what it got).
        written = _write_as_read(session, _IMPORT_UPDATE, updates, now)
        for identifier, (line, address) in updating.items():
            if identifier not in written:
                done.left_alone.append(
                    (
                        line,
                        f"{address!r} changed while this import ran (an unsubscribe, an event, a "
                        "confirmation): left as it is now; import the file again to update it",
                    )
                )
        updates = [update for update in updates if update["b_id"] in written]
    done.added, done.updated = len(additions), len(updates)
    return done


_IMPORT_UPDATED = (
    "name",
    "locale",
    "updated_at",
    "status",
    "status_changed_at",
    "consented_at",
    "consent_text",
    "consent_source",
)
_IMPORT_UPDATE = (
    update(Subscriber).where(*_AS_READ).values({column: bindparam(column) for column in _IMPORT_UPDATED})
)


_IMPORTED_COLUMNS = (
    Subscriber.id,
    Subscriber.email,
    Subscriber.email_key,
    Subscriber.name,
    Subscriber.locale,
    Subscriber.status,
    Subscriber.status_changed_at,
    Subscriber.consented_at,
    Subscriber.consent_text,
    Subscriber.consent_source,
)


def add(engine: Engine, row: SubscriberRow, source: str, environ: Mapping[str, str] = os.environ) -> None:
    """Subscribe the address of `row` (checked), active, from `source`.

    An address already there is refused, whatever its status: one that left is
    subscribed again only by `remove` and then `add`, a deliberate act. An
    address that asked to be forgotten is refused; recognising it takes
    BROADSHEET_SECRET (from `environ`) once any address was forgotten.
    """
    with transaction(engine) as session:
        existing = session.scalars(select(Subscriber).where(Subscriber.email_key == row.key)).one_or_none()
        if existing is not None:
            raise BroadsheetError(f"{existing.email!r} is already a subscriber ({existing.status})")
        if _forgotten(session, [row.key], environ):
            raise BroadsheetError(f"{row.email!r} asked to be forgotten: it is not subscribed again")
        session.add(Subscriber(**_columns_of(row, source, utcnow(), Cause.ADD)))


def remove(engine: Engine, email: str) -> SubscriberRow:
    """Delete a subscriber; returns what was removed. As with `forget`, their past copies and events stay,
    under an anonymous id, and their copies not yet sent go.

    Nothing keeps the address: an import may add it again. An unsubscribe (the
    link in every email) instead keeps the address, unsubscribed, which no
    import undoes; `forget` keeps a keyed hash that no import or add gets past.
    """
    key = email_key(email)
    with transaction(engine) as session:
        subscriber = session.scalars(select(Subscriber).where(Subscriber.email_key == key)).one_or_none()
        if subscriber is None:
            raise BroadsheetError(f"no subscriber has the address {email!r}")
        removed = row_of(subscriber)
        _erase(session, subscriber)
    return removed


def forget(engine: Engine, email: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Erase a subscriber at their request, keeping only a keyed hash of the address so it is never added again.

    The subscriber's row goes, with their address, name and consent. Their send
    ledger rows and events stay, so that past issues keep their counts, but
    point to a random anonymous id instead of to them; ledger rows not yet
    handed to the transport go. Returns the address erased, as it was on
    record, or None when the address was already forgotten; raises for an
    address never seen, or without BROADSHEET_SECRET (from `environ`), which
    keys the hash.
    """
    key = email_key(email)
    digest = _address_hash(
        _forgetting_key(environ, f"set {SECRET_VARIABLE} before forgetting an address"), key
    )
    with transaction(engine) as session:
        subscriber = session.scalars(select(Subscriber).where(Subscriber.email_key == key)).one_or_none()
        known = session.scalar(select(Forgotten.id).where(Forgotten.address_hash == digest)) is not None
        if subscriber is None:
            if known:
                return None
            raise BroadsheetError(f"no subscriber has the address {email!r}, and it was never forgotten")
        erased = subscriber.email
        _erase(session, subscriber)
        if not known:
            session.add(Forgotten(address_hash=digest))
    return erased


def row_of(subscriber: Subscriber) -> SubscriberRow:
    """`subscriber` as listed and exported."""
    return SubscriberRow(
        subscriber.email,
        subscriber.name,
        subscriber.locale,
        subscriber.status,
        subscriber.consented_at,
        subscriber.consent_text or "",
    )


def _erase(session: Session, subscriber: Subscriber) -> None:
    """Delete `subscriber`, their copies not yet handed to the transport, and the tie of every other copy
    and event to them, so the counts of past issues hold and nothing leads back to the person.

    Each issue's copy and its events share a new random id: one issue's, not the person's, so that
    their issues cannot be strung together. A copy whose transport's answer was never recorded counts as
    failed: nobody is left to send it again to. The transport's answers go (they may quote the address, or
    name a message the mail server could look up), and so do SendGrid's event ids, for the same reason.
    """
    session.execute(
        delete(LedgerEntry).where(
            LedgerEntry.subscriber_id == subscriber.id,
            LedgerEntry.state.in_([State.PENDING.value, State.QUEUED.value]),
        )
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


def _columns_of(row: SubscriberRow, source: str, now: datetime, cause: Cause | None = None) -> dict[str, Any]:
    """The columns of a new subscriber, who came from `source` (see `Subscriber.consent_source`) by `cause`
    (default: the import of `row`); the rest take their defaults."""
    status = after(None, cause or IMPORTED[row.status])
    return {
        "email": row.email,
        "email_key": row.key,
        "name": row.name,
        "locale": row.locale,
        "status": status,
        "status_changed_at": now,
        "consent_source": source,
        "consented_at": row.consented_at,
        "consent_text": row.consent_text or None,
    }


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose changes are committed when the block ends, and rolled back if it raises. An address
    that another program added meanwhile is reported as such, not as a database error."""
    try:
        with Session(engine) as session, session.begin():
            yield session
    except IntegrityError:
        raise BroadsheetError(
            "another program changed the same subscribers at the same time: try again"
        ) from None


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


def _forgotten(session: Session, keys: Iterable[str], environ: Mapping[str, str]) -> set[str]:
    """Those of the address keys `keys` that asked to be forgotten; raises without the secret when any address was."""
    if session.scalar(select(Forgotten.id).limit(1)) is None:
        return set()
    why = f"some addresses asked to be forgotten: set {SECRET_VARIABLE} (the one they were forgotten with) so that they are not added again"
    hasher = _forgetting_key(environ, why)
    hashes = {_address_hash(hasher, key): key for key in keys}
    found: set[str] = set()
    digests = list(hashes)
    for start in range(0, len(digests), _BATCH):
        query = select(Forgotten.address_hash).where(
            Forgotten.address_hash.in_(digests[start : start + _BATCH])
        )
        found.update(hashes[digest] for digest in session.scalars(query))
    return found
