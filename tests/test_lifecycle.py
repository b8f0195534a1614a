"""The rules of a subscriber's status: every entry of `lifecycle.TRANSITIONS`, exercised through the functions
that apply it (the web form's sign-up and confirmation, the unsubscribe link, SendGrid's events, import, add)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

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
        event = {
            "event": EVENTS[what],
            "sg_event_id": "event-1",
            "email": EMAIL,
            "timestamp": int(time.time()),
        }
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
    back = {
        (before, what)
        for (before, what), after in TRANSITIONS.items()
        if before and before is not Status.ACTIVE and after is Status.ACTIVE
    }
    assert {what for _before, what in back} == {Cause.CONFIRMATION}


def test_every_change_of_status_records_when(engine: Engine, tmp_path: Path) -> None:
    reader = put_reader(engine, Status.ACTIVE)
    started = utcnow()
    cause(engine, Cause.BOUNCE, reader, tmp_path)
    with Session(engine) as session:
        changed = session.scalar(select(Subscriber.status_changed_at).where(Subscriber.id == reader))
    assert changed is not None and changed >= started


def meanwhile(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object], between: str = "after") -> None:
    """Run `action` (on its own connection) the first time a lifecycle function calls `lifecycle.<between>`
    (by default, looks a rule up): after it read the subscriber's row and before it writes it, as a request
    at the same moment would."""
    called = getattr(lifecycle, between)

    def first(*args: Any) -> Any:
        monkeypatch.setattr(lifecycle, between, called)
        action()
        return called(*args)

    monkeypatch.setattr(lifecycle, between, first)


def test_a_confirmation_does_not_undo_an_import_that_came_between_its_read_and_its_write(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = put_reader(store, Status.PENDING)
    # The editor imports the address as unsubscribed between the confirmation's read and its write.
    meanwhile(monkeypatch, lambda: cause(store, Cause.IMPORT_UNSUBSCRIBED, reader, tmp_path))
    subscriber, made_active = lifecycle.confirm(store, reader, Signer.address_digest(EMAIL), utcnow())
    assert (subscriber, made_active) == (None, False)
    assert status_of_reader(store) is Status.UNSUBSCRIBED


def test_a_confirmation_that_loses_a_race_to_another_confirmation_answers_as_that_one_left_it(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = put_reader(store, Status.PENDING)
    digest = Signer.address_digest(EMAIL)
    meanwhile(monkeypatch, lambda: lifecycle.confirm(store, reader, digest, utcnow()))
    subscriber, made_active = lifecycle.confirm(store, reader, digest, utcnow())
    assert subscriber is not None and subscriber.status is Status.ACTIVE and not made_active


def test_events_find_a_subscriber_of_an_internationalized_domain_in_either_form(store: Engine) -> None:
    subscribers.add(store, "a@bücher.example", "A", "en", locales=LOCALES)
    subscribers.add(store, "b@bücher.example", "B", "en", locales=LOCALES)
    with Session(store) as session, session.begin():
        # A row stored before addresses were normalized, under the ASCII form of its domain.
        session.add(
            Subscriber(
                email="c@xn--bcher-kva.example",
                email_key="c@xn--bcher-kva.example",
                name="C",
                locale="en",
                status=Status.ACTIVE,
            )
        )
    now = int(time.time())
    events = [
        {"event": "bounce", "sg_event_id": "e-a", "email": "A@XN--BCHER-KVA.example", "timestamp": now},
        {"event": "spamreport", "sg_event_id": "e-b", "email": "b@BÜCHER.example", "timestamp": now},
        {"event": "unsubscribe", "sg_event_id": "e-c", "email": "c@bücher.example", "timestamp": now},
    ]
    recorded = feedback.record_events(store, events)
    assert (recorded.recorded, recorded.ignored, recorded.status_changes) == (3, 0, 3)
    with Session(store) as session:
        statuses = {
            name: status for name, status in session.execute(select(Subscriber.name, Subscriber.status))
        }
    assert statuses == {"A": Status.BOUNCED, "B": Status.COMPLAINED, "C": Status.UNSUBSCRIBED}


def test_an_event_with_the_subscribers_id_is_theirs_whichever_form_its_domain_takes(store: Engine) -> None:
    subscribers.add(store, "a@bücher.example", "A", "en", locales=LOCALES)
    with Session(store) as session:
        reader = session.scalars(select(Subscriber.id)).one()
    event = {
        "event": "bounce",
        "sg_event_id": "e-a",
        "email": "a@xn--bcher-kva.example",
        "timestamp": int(time.time()),
        "subscriber": str(reader),
    }
    assert feedback.record_events(store, [event]).status_changes == 1


def test_an_import_does_not_undo_an_unsubscribe_that_came_between_its_read_and_its_write(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = put_reader(store, Status.ACTIVE)
    # The reader follows the unsubscribe link between the import's read and its write.
    meanwhile(monkeypatch, lambda: lifecycle.unsubscribe(store, reader))
    path = tmp_path / "subscribers.csv"
    path.write_text(f"email,name,locale\n{EMAIL},Reader Renamed,my\n", encoding="utf-8")
    subscribers.import_csv(store, path, LOCALES)
    assert status_of_reader(store) is Status.UNSUBSCRIBED


@pytest.mark.parametrize("stamp", [None, "1700000000", "not-a-number", True, 10**30], ids=repr)
def test_an_event_that_does_not_say_when_it_happened_is_kept_but_changes_no_status(
    store: Engine, stamp: object
) -> None:
    reader = put_reader(store, Status.ACTIVE)
    event = {"event": "bounce", "sg_event_id": "undated", "email": EMAIL, "subscriber": str(reader)}
    recorded = feedback.record_events(store, [event if stamp is None else {**event, "timestamp": stamp}])
    assert (recorded.recorded, recorded.status_changes) == (1, 0)
    assert status_of_reader(store) is Status.ACTIVE


def test_a_bounce_does_not_end_a_new_spell_on_the_list_that_began_between_its_read_and_its_write(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = put_reader(store, Status.ACTIVE)  # since an hour ago

    def leave_and_come_back() -> None:
        lifecycle.unsubscribe(store, reader)
        cause(store, Cause.CONFIRMATION, reader, tmp_path)  # a new sign-up, confirmed

    # A bounce of half an hour ago, applied while the reader leaves and comes back (active again since now).
    meanwhile(monkeypatch, leave_and_come_back)
    with Session(store) as session, session.begin():
        changed = lifecycle.apply(
            session, [lifecycle.Change(reader, Cause.BOUNCE, utcnow() - timedelta(minutes=30))]
        )
    assert changed == {}
    with Session(store) as session:
        found = session.get(Subscriber, reader)
        assert found is not None and (found.status, found.name) == (Status.ACTIVE, "Reader Again")


def test_an_import_counts_a_row_that_lost_a_race_as_skipped_and_says_so(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    reader = put_reader(store, Status.ACTIVE)
    with Session(store) as session, session.begin():
        session.add(
            Subscriber(email="other@example.org", email_key="other@example.org", name="Other", locale="en")
        )
    meanwhile(monkeypatch, lambda: lifecycle.unsubscribe(store, reader))
    path = tmp_path / "subscribers.csv"
    path.write_text(
        f"email,name,locale\n{EMAIL},Reader Renamed,my\nother@example.org,Other Renamed,my\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BROADSHEET_DATABASE_URL", store.url.render_as_string(hide_password=False))
    result = cli("subscribers", "import", str(path), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"subscribers.csv:2: warning: email: '{EMAIL}' changed while this import ran (an unsubscribe, an event, a "
        "confirmation): left as it is now; import the file again to update it\n"
    )
    assert result.stdout == "subscribers.csv: added 0, updated 1, unchanged 0, skipped 1\n"
    with Session(store) as session:
        found = {row.email: (row.name, row.status) for row in session.scalars(select(Subscriber))}
    assert found == {
        EMAIL: ("Reader", Status.UNSUBSCRIBED),
        "other@example.org": ("Other Renamed", Status.ACTIVE),
    }


def test_an_import_still_updates_names_and_statuses(store: Engine, tmp_path: Path) -> None:
    reader = put_reader(store, Status.ACTIVE)
    path = tmp_path / "subscribers.csv"
    path.write_text(f"email,name,locale,status\n{EMAIL},Reader Renamed,my,bounced\n", encoding="utf-8")
    subscribers.import_csv(store, path, LOCALES)
    with Session(store) as session:
        found = session.get(Subscriber, reader)
        assert found is not None and (found.name, found.locale, found.status) == (
            "Reader Renamed",
            "my",
            Status.BOUNCED,
        )


def test_a_sign_up_does_not_write_over_a_confirmation_that_came_between_its_read_and_its_write(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = put_reader(store, Status.PENDING)
    # Someone types the address on the form while the reader follows their confirmation link.
    meanwhile(
        monkeypatch,
        lambda: lifecycle.confirm(store, reader, Signer.address_digest(EMAIL), utcnow()),
        between="_recently_sent",
    )
    pending = lifecycle.sign_up(
        store,
        SubscriberRow(EMAIL, "Someone Else", "my", Status.ACTIVE),
        "I agree.",
        utcnow(),
        timedelta(days=7),
    )
    assert pending is not None and pending.active  # answered as the newer state says: the preferences link
    with Session(store) as session:
        found = session.get(Subscriber, reader)
        assert found is not None
        assert (found.name, found.locale, found.status, found.pending_consent_text) == (
            "Reader",
            "en",
            Status.ACTIVE,
            None,
        )
