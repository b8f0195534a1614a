"""Erasure and access requests: `subscribers forget` keeps only a keyed hash, `subscribers show` lists everything kept."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.orm import Session

from broadsheet.delivery.ledger import SendLedger
from broadsheet.delivery.store import Event, Forgotten, LedgerEntry, Subscriber
from broadsheet.delivery.transports import Delivery, Outcome
from broadsheet.settings import Project

SECRET = "a-long-random-test-secret"
SENT_AT = datetime(2024, 1, 4, 9, 30, tzinfo=UTC)
DELIVERED_AT = datetime(2024, 1, 4, 9, 31, tzinfo=UTC)
CONSENTED_AT = datetime(2024, 1, 4, 9, 40, tzinfo=UTC)
CONSENT = "By subscribing you agree that Progressive Voice sends you its newsletter by email."

Cli = Callable[..., Result]


@pytest.fixture
def project_cli(
    cli: Cli, tmp_project: Project, store: Engine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """`broadsheet ARGS...` run in a throwaway project on the test's database, with BROADSHEET_SECRET set."""
    monkeypatch.setenv("BROADSHEET_DATABASE_URL", store_url)
    monkeypatch.setenv("BROADSHEET_SECRET", SECRET)

    def run(*args: str) -> Result:
        return cli(*args, cwd=tmp_project.root)

    return run


@pytest.fixture
def aung(store: Engine) -> int:
    """A subscriber with one ledger row and one event; their id."""
    with Session(store) as session:
        subscriber = Subscriber(
            email="Aung@Example.org",
            email_key="aung@example.org",
            name="Aung Kyaw Zin",
            locale="my",
            created_at=SENT_AT,
            updated_at=SENT_AT,
            status_changed_at=CONSENTED_AT,
            confirmation_sent_at=SENT_AT,
            consented_at=CONSENTED_AT,
            consent_source="web form",
            consent_text=CONSENT,
        )
        session.add(subscriber)
        session.flush()
        session.add(
            LedgerEntry(
                issue="2024-01-04",
                subscriber_id=subscriber.id,
                locale="my",
                state="sent",
                updated_at=SENT_AT,
                detail="outbox/2024-01-04/my/Aung@Example.org.eml",
            )
        )
        session.add(
            Event(
                sg_event_id="ev-1",
                issue="2024-01-04",
                subscriber_id=subscriber.id,
                kind="delivered",
                created_at=DELIVERED_AT,
            )
        )
        session.commit()
        return subscriber.id


def _write(tmp_project: Project, text: str) -> Path:
    path = tmp_project.root / "list.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_forget_keeps_no_name_or_address_in_any_table_only_a_keyed_hash(
    project_cli: Cli, store: Engine, aung: int
) -> None:
    result = project_cli("subscribers", "forget", "AUNG@example.org")
    # The address as it was on record, not as typed: the editor sees whom they erased.
    assert (result.exit_code, result.stdout, result.stderr) == (0, "forgot Aung@Example.org\n", "")

    metadata = MetaData()
    metadata.reflect(store)
    with store.connect() as connection:
        stored = {
            name: [tuple(row) for row in connection.execute(table.select())]
            for name, table in metadata.tables.items()
        }
    text = repr(stored).lower()
    assert "aung@example.org" not in text and "aung kyaw zin" not in text
    assert stored["subscribers"] == []
    expected = hmac.new(SECRET.encode(), b"aung@example.org", hashlib.sha256).hexdigest()
    with Session(store) as session:
        assert session.scalars(select(Forgotten.address_hash)).all() == [expected]


def test_forget_keeps_past_copies_and_events_under_an_anonymous_id_per_issue_and_drops_unsent_ones(
    project_cli: Cli, store: Engine, aung: int
) -> None:
    with Session(store) as session:
        session.add(LedgerEntry(issue="2024-01-11", subscriber_id=aung, locale="my", state="sending"))
        session.add(
            Event(
                sg_event_id="ev-2",
                issue="2024-01-11",
                subscriber_id=aung,
                kind="delivered",
                created_at=DELIVERED_AT,
            )
        )
        session.add(LedgerEntry(issue="2024-01-18", subscriber_id=aung, locale="my", state="pending"))
        session.commit()
    before = project_cli("report", "2024-01-04", "--json")
    assert project_cli("subscribers", "forget", "aung@example.org").exit_code == 0

    with Session(store) as session:
        ledger = {row.issue: row for row in session.scalars(select(LedgerEntry))}
        events = {row.issue: row for row in session.scalars(select(Event))}
    # The copy of 2024-01-18 was never handed over: it goes. That of 2024-01-11 never had its answer: failed.
    assert {issue: (row.state, row.subscriber_id) for issue, row in ledger.items()} == {
        "2024-01-04": ("sent", None),
        "2024-01-11": ("failed", None),
    }
    # The transport's answers go: they may quote the address, or name a message the mail server could find.
    assert {row.detail for row in ledger.values()} == {""}
    # One id ties each issue's copy to its events, and nothing ties one issue to the other.
    ids = {issue: row.anonymous_id for issue, row in ledger.items()}
    assert all(value is not None and str(uuid.UUID(value)) == value for value in ids.values())
    assert ids["2024-01-04"] != ids["2024-01-11"]
    assert {issue: (row.anonymous_id, row.subscriber_id) for issue, row in events.items()} == {
        issue: (ids[issue], None) for issue in ids
    }
    # SendGrid's ids, which SendGrid could look up, are gone.
    assert not {row.sg_event_id for row in events.values()} & {"ev-1", "ev-2"}
    # The issue's counts are what they were: one copy sent, one delivered.
    after = project_cli("report", "2024-01-04", "--json")
    assert (after.exit_code, after.stdout) == (0, before.stdout)
    mine = [row for row in json.loads(after.stdout)["locales"] if row["locale"] == "my"]
    assert (mine[0]["sent"], mine[0]["delivered"]) == (1, 1)


@pytest.mark.parametrize("answer", ["settle", "release"])
def test_forgetting_during_a_send_keeps_the_copy_anonymous_whatever_the_transport_answers(
    project_cli: Cli, store: Engine, aung: int, answer: str
) -> None:
    ledger = SendLedger(store, "2024-01-11")
    ledger.start()
    ledger.record(["my"])
    with store.begin() as connection:
        [claimed] = ledger.claim(connection, "my", 10)
        assert ledger.hand_over(connection, [claimed.entry_id]) == {claimed.entry_id}
    assert project_cli("subscribers", "forget", "aung@example.org").exit_code == 0
    with store.begin() as connection:
        if answer == "settle":
            ledger.settle(
                connection,
                [
                    (
                        claimed.entry_id,
                        Delivery("Aung@Example.org", Outcome.FAILED, "550 5.1.1 <Aung@Example.org> unknown"),
                    )
                ],
            )
        else:
            ledger.release(connection, [claimed.entry_id], "connection refused")
    ledger.finish()
    with Session(store) as session:
        row = session.scalars(select(LedgerEntry).where(LedgerEntry.issue == "2024-01-11")).one()
    assert (row.state, row.subscriber_id, row.detail) == ("failed", None, "")
    # Nothing is left for a later send: no copy pending, none claimed.
    later = SendLedger(store, "2024-01-11")
    later.start()
    with store.begin() as connection:
        assert later.claim(connection, "my", 10) == []
    later.finish()


def test_forgetting_twice_is_harmless(project_cli: Cli, store: Engine, aung: int) -> None:
    assert project_cli("subscribers", "forget", "aung@example.org").exit_code == 0
    again = project_cli("subscribers", "forget", " AUNG@Example.ORG ")
    # Nothing of it is on record any more: the address as every spelling of it is keyed.
    assert (again.exit_code, again.stdout) == (0, "aung@example.org was already forgotten\n")
    with Session(store) as session:
        assert len(session.scalars(select(Forgotten)).all()) == 1


def test_forgetting_an_unknown_address_exits_1(project_cli: Cli) -> None:
    result = project_cli("subscribers", "forget", "nobody@example.org")
    assert (result.exit_code, result.stdout) == (1, "")
    assert (
        result.stderr
        == "broadsheet: no subscriber has the address 'nobody@example.org', and it was never forgotten\n"
    )


def test_an_import_skips_a_forgotten_address_with_a_warning_and_goes_on(
    project_cli: Cli, tmp_project: Project, store: Engine, aung: int
) -> None:
    project_cli("subscribers", "forget", "aung@example.org")
    _write(tmp_project, "email,name,locale\nsu@example.org,Su,en\naung@EXAMPLE.org,Aung,my\n")
    result = project_cli("subscribers", "import", "list.csv")
    assert result.exit_code == 0
    assert result.stderr == "list.csv:3: warning: email: this address asked to be forgotten; not imported\n"
    assert result.stdout == "list.csv: added 1, updated 0, unchanged 0, skipped 1\n"
    with Session(store) as session:
        assert session.scalars(select(Subscriber.email_key)).all() == ["su@example.org"]


def test_add_refuses_a_forgotten_address(project_cli: Cli, store: Engine, aung: int) -> None:
    project_cli("subscribers", "forget", "aung@example.org")
    result = project_cli("subscribers", "add", "Aung@example.org", "--locale", "my")
    assert (result.exit_code, result.stdout) == (1, "")
    assert (
        result.stderr == "broadsheet: 'Aung@example.org' asked to be forgotten: it is not subscribed again\n"
    )
    assert project_cli("subscribers", "add", "su@example.org", "--locale", "en").exit_code == 0


def test_forget_without_the_secret_is_refused_and_erases_nothing(
    project_cli: Cli, store: Engine, aung: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BROADSHEET_SECRET")
    result = project_cli("subscribers", "forget", "aung@example.org")
    assert result.exit_code == 1
    assert result.stderr == (
        "broadsheet: set BROADSHEET_SECRET before forgetting an address: only a hash of a forgotten address is kept, "
        "keyed with that secret (a long random string, at least 16 characters; the same one every time)\n"
    )
    with Session(store) as session:
        assert session.scalars(select(Subscriber.id)).all() == [aung]


def test_import_and_add_without_the_secret_are_refused_once_an_address_was_forgotten(
    project_cli: Cli, tmp_project: Project, store: Engine, aung: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_project, "email,name,locale\nsu@example.org,Su,en\n")
    monkeypatch.delenv("BROADSHEET_SECRET")
    assert project_cli("subscribers", "import", "list.csv").exit_code == 0

    monkeypatch.setenv("BROADSHEET_SECRET", SECRET)
    project_cli("subscribers", "forget", "aung@example.org")
    monkeypatch.delenv("BROADSHEET_SECRET")
    refusal = (
        "broadsheet: some addresses asked to be forgotten: set BROADSHEET_SECRET (the one they were forgotten with) "
        "so that they are not added again: only a hash of a forgotten address is kept, keyed with that secret "
        "(a long random string, at least 16 characters; the same one every time)\n"
    )
    imported = project_cli("subscribers", "import", "list.csv")
    added = project_cli("subscribers", "add", "mya@example.org", "--locale", "my")
    assert (imported.exit_code, imported.stderr, imported.stdout) == (1, refusal, "")
    assert (added.exit_code, added.stderr, added.stdout) == (1, refusal, "")


def test_show_json_prints_everything_stored_about_one_subscriber(project_cli: Cli, aung: int) -> None:
    result = project_cli("subscribers", "show", "aung@EXAMPLE.org", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "subscriber": {
            "email": "Aung@Example.org",
            "name": "Aung Kyaw Zin",
            "locale": "my",
            "status": "active",
            "created_at": "2024-01-04T09:30:00+00:00",
            "updated_at": "2024-01-04T09:30:00+00:00",
            "status_changed_at": "2024-01-04T09:40:00+00:00",
            "confirmation_sent_at": "2024-01-04T09:30:00+00:00",
            "consented_at": "2024-01-04T09:40:00+00:00",
            "consent_source": "web form",
            "consent_text": CONSENT,
            "pending_consent_text": None,
            "pending_name": None,
            "pending_locale": None,
        },
        "ledger": [
            {
                "issue": "2024-01-04",
                "locale": "my",
                "state": "sent",
                "detail": "outbox/2024-01-04/my/Aung@Example.org.eml",
                "updated_at": "2024-01-04T09:30:00+00:00",
            }
        ],
        "events": [{"issue": "2024-01-04", "kind": "delivered", "created_at": "2024-01-04T09:31:00+00:00"}],
    }


def test_show_lists_everything_stored_readably(project_cli: Cli, aung: int) -> None:
    result = project_cli("subscribers", "show", "aung@example.org")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "email:                Aung@Example.org\n"
        "name:                 Aung Kyaw Zin\n"
        "locale:               my\n"
        "status:               active\n"
        "created_at:           2024-01-04T09:30:00+00:00\n"
        "updated_at:           2024-01-04T09:30:00+00:00\n"
        "status_changed_at:    2024-01-04T09:40:00+00:00\n"
        "confirmation_sent_at: 2024-01-04T09:30:00+00:00\n"
        "consented_at:         2024-01-04T09:40:00+00:00\n"
        "consent_source:       web form\n"
        f"consent_text:         {CONSENT}\n"
        "pending_consent_text: -\n"
        "pending_name:         -\n"
        "pending_locale:       -\n"
        "\n"
        "ledger (1):\n"
        "  2024-01-04  my  sent  2024-01-04T09:30:00+00:00  outbox/2024-01-04/my/Aung@Example.org.eml\n"
        "\n"
        "events (1):\n"
        "  2024-01-04  delivered  2024-01-04T09:31:00+00:00\n"
    )


def test_show_marks_what_is_not_known_with_a_dash(project_cli: Cli) -> None:
    assert project_cli("subscribers", "add", "su@example.org", "--locale", "en").exit_code == 0
    result = project_cli("subscribers", "show", "su@example.org")
    assert result.exit_code == 0
    assert "consented_at:         -\n" in result.stdout
    assert "consent_source:       added by hand\n" in result.stdout


def test_show_of_an_unknown_address_exits_1(project_cli: Cli) -> None:
    result = project_cli("subscribers", "show", "nobody@example.org", "--json")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "broadsheet: no subscriber has the address 'nobody@example.org'\n"
