"""The rules of a subscriber's status: every entry of `lifecycle.TRANSITIONS`, exercised through the functions
that apply it (the web form's sign-up and confirmation, the unsubscribe link, SendGrid's events, import, add)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from broadsheet.delivery import feedback, lifecycle, subscribers
from broadsheet.delivery.lifecycle import TRANSITIONS, Cause, SubscriberRow
from broadsheet.delivery.personalize import Signer
from broadsheet.delivery.store import Status, Subscriber, open_store, utcnow
from broadsheet.errors import BroadsheetError

LOCALES = ("en", "my")
EMAIL = "reader@example.org"
EVENTS = {Cause.BOUNCE: "bounce", Cause.COMPLAINT: "spamreport"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'broadsheet.db'}")
    yield engine
    engine.dispose()


def put_reader(engine: Engine, status: Status | None) -> int:
    """The reader, on the list in `status` since an hour ago (None: not on the list); their id (0 for none)."""
    if status is None:
        return 0
    since = utcnow() - timedelta(hours=1)
    with Session(engine) as session, session.begin():
        reader = Subscriber(
            email=EMAIL, email_key=EMAIL, name="Reader", locale="en", status=status, created_at=since,
            updated_at=since, status_changed_at=since, pending_consent_text="I agree." if status is Status.PENDING else None,
        )  # fmt: skip
        session.add(reader)
        session.flush()
        return reader.id


def status_of_reader(engine: Engine) -> Status | None:
    with Session(engine) as session:
        return session.scalar(select(Subscriber.status).where(Subscriber.email_key == EMAIL))


def cause(engine: Engine, what: Cause, reader: int, tmp_path: Path) -> None:
    """Make `what` happen to the reader as it happens in use."""
    row = SubscriberRow(EMAIL, "Reader Again", "my", Status.ACTIVE)
    if what is Cause.ADD:
        with contextlib.suppress(BroadsheetError):  # refused for an address already there
            subscribers.add(engine, EMAIL, "Reader", "en", locales=LOCALES)
    elif what is Cause.SIGN_UP:
        lifecycle.sign_up(engine, row, "I agree.", utcnow(), timedelta(days=7))
    elif what is Cause.CONFIRMATION:
        # The link of a sign-up's confirmation email; for an address not on the list, a link naming nobody.
        pending = lifecycle.sign_up(engine, row, "I agree.", utcnow(), timedelta(days=7)) if reader else None
        identifier = pending.id if pending else 12345
        lifecycle.confirm(engine, identifier, Signer.address_digest(EMAIL), utcnow())
    elif what is Cause.UNSUBSCRIBE:
        lifecycle.unsubscribe(engine, reader or 12345)
    elif what in EVENTS:
        event = {"event": EVENTS[what], "sg_event_id": "event-1", "email": EMAIL, "timestamp": int(time.time())}
        feedback.record_events(engine, [{**event, "subscriber": str(reader)} if reader else event])
    else:
        status = what.value.removeprefix("import as ")
        path = tmp_path / "subscribers.csv"
        path.write_text(f"email,name,locale,status\n{EMAIL},Reader,en,{status}\n", encoding="utf-8")
        subscribers.import_csv(engine, path, LOCALES)


@pytest.mark.parametrize(
    ("before", "what", "after"),
    [(before, what, after) for (before, what), after in TRANSITIONS.items()],
    ids=[f"{before or 'new'}-{what}" for before, what in TRANSITIONS],
)
def test_each_rule_of_the_table_is_what_happens(
    engine: Engine, tmp_path: Path, before: Status | None, what: Cause, after: Status | None
) -> None:
    reader = put_reader(engine, before)
    cause(engine, what, reader, tmp_path)
    assert status_of_reader(engine) == (after or before)


def test_the_table_has_a_rule_for_every_status_and_cause() -> None:
    assert set(TRANSITIONS) == {(before, what) for before in (None, *Status) for what in Cause}


def test_nothing_but_a_confirmation_brings_back_an_address_that_left() -> None:
    back = {(before, what) for (before, what), after in TRANSITIONS.items() if before and before is not Status.ACTIVE and after is Status.ACTIVE}
    assert {what for _before, what in back} == {Cause.CONFIRMATION}


def test_every_change_of_status_records_when(engine: Engine, tmp_path: Path) -> None:
    reader = put_reader(engine, Status.ACTIVE)
    started = utcnow()
    cause(engine, Cause.BOUNCE, reader, tmp_path)
    with Session(engine) as session:
        changed = session.scalar(select(Subscriber.status_changed_at).where(Subscriber.id == reader))
    assert changed is not None and changed >= started
