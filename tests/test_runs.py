"""Runs of `send` that died elsewhere: a run whose heartbeat is stale is dead wherever it ran, and its copies are settled
as a dead local process's are; a live run, on any host, keeps its copies and (on SQLite) the issue to itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from broadsheet.delivery.ledger import DIED, SendLedger, SendRefused, TakenForDead
from broadsheet.delivery.store import LedgerEntry, Run, State, Subscriber, utcnow
from broadsheet.delivery.transports import Delivery, Outcome
from broadsheet.settings import Project

from .support import (
    add_subscribers,
    environment,
    free_port,
    read_outbox,
    run_send,
    start_send,
    table_rows,
    with_settings,
)

# Most tests run `broadsheet send` as a process.
pytestmark = pytest.mark.slow


@pytest.fixture
def project(sample_project: Project) -> Project:
    # Deferred copies are tried again after a hundredth of a second: tests do not sleep through retries.
    return with_settings(sample_project, "retry_base_seconds = 0.01\n")


ISSUE = "2023-12-21"
ELSEWHERE = "sender-on-another-machine.example"


def _run_elsewhere(
    engine: Engine, heartbeat_age: timedelta, *, host: str = ELSEWHERE, pid: int = 4242
) -> str:
    """A run of `send` recorded by another machine, whose last heartbeat is `heartbeat_age` old, that took
    reader0's copy as far as `sending` and claimed reader1's and reader2's (`queued`); reader2's had been
    deferred before. The run's id."""
    SendLedger(engine, ISSUE).record(["en", "my"])
    with Session(engine) as session, session.begin():
        beaten = utcnow() - heartbeat_age
        session.add(
            Run(id="run-elsewhere", issue=ISSUE, pid=pid, host=host, started_at=beaten, heartbeat_at=beaten)
        )
        ids = dict(session.execute(select(Subscriber.email, Subscriber.id)).all())
        for address, values in [
            ("reader0@example.org", {"state": State.SENDING.value, "attempts": 1}),
            ("reader1@example.org", {"state": State.QUEUED.value}),
            (
                "reader2@example.org",
                {"state": State.QUEUED.value, "deferred_at": beaten, "detail": "452 later"},
            ),
        ]:
            session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.subscriber_id == ids[address])
                .values(run_id="run-elsewhere", **values)
            )
    return "run-elsewhere"


def _copies(engine: Engine) -> dict[str, tuple[str, str | None]]:
    """Each subscriber's copy: its state and the run that holds it."""
    with Session(engine) as session:
        rows = session.execute(
            select(Subscriber.email, LedgerEntry.state, LedgerEntry.run_id).join(
                Subscriber, LedgerEntry.subscriber_id == Subscriber.id
            )
        ).all()
        return {address: (state, run_id) for address, state, run_id in rows}


def test_a_run_of_another_machine_whose_heartbeat_is_stale_is_dead_and_a_second_send_settles_its_copies(
    project: Project, store: Engine, tmp_path: Path
) -> None:
    addresses = add_subscribers(store, 6)
    _run_elsewhere(store, timedelta(minutes=6))  # the default send_run_stale_seconds is 300
    outbox = tmp_path / "outbox"
    result = run_send(project, environment(store), "--yes", "--transport", f"outbox:{outbox}")
    # The copy it was handing over may have arrived: unknown, never sent again by itself.
    assert result.returncode == 1
    assert "1 copy of unknown fate from an earlier send that stopped" in result.stderr
    assert result.stdout.splitlines()[-1] == "sent 5, failed 0"
    assert sorted(str(message["To"]).split("<")[1].rstrip(">") for message in read_outbox(outbox)) == sorted(
        addresses[1:]
    )
    copies = _copies(store)
    assert copies["reader0@example.org"] == (State.UNKNOWN.value, "run-elsewhere")
    assert Counter(state for state, _run in copies.values()) == Counter({"sent": 5, "unknown": 1})
    with Session(store) as session:
        assert (
            session.scalar(select(LedgerEntry.detail).where(LedgerEntry.state == State.UNKNOWN.value)) == DIED
        )
        assert session.scalar(select(Run.finished_at).where(Run.id == "run-elsewhere")) is not None
    listed = run_send(project, environment(store), "--status", "--list", "unknown")
    assert "reader0@example.org" in listed.stdout


def test_status_counts_a_stale_runs_copies_as_the_next_run_will_settle_them(
    project: Project, store: Engine
) -> None:
    add_subscribers(store, 6)
    _run_elsewhere(store, timedelta(hours=2))
    status = run_send(project, environment(store), "--status")
    assert status.returncode == 0, status.stderr
    assert table_rows(status.stdout)[1:] == [
        ["locale", "pending", "queued", "sending", "deferred", "unknown", "sent", "failed"],
        ["en", "1", "0", "0", "1", "1", "0", "0"],
        ["my", "3", "0", "0", "0", "0", "0", "0"],
    ]


def test_a_live_run_of_another_machine_still_refuses_a_second_send_on_sqlite(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    add_subscribers(engine, 6)
    _run_elsewhere(engine, timedelta(seconds=10))
    before = _copies(engine)
    outbox = tmp_path / "outbox"
    result = run_send(project, environment(engine), "--yes", "--transport", f"outbox:{outbox}")
    assert result.returncode == 1
    assert (
        f"another `broadsheet send` of {ISSUE} is running (process 4242 on {ELSEWHERE}); SQLite cannot share the work"
        in result.stderr
    )
    assert not outbox.exists()
    assert _copies(engine) == before


def test_a_live_run_of_another_machine_keeps_its_copies_while_a_second_send_shares_the_work_on_postgresql(
    project: Project, postgres_url: str, tmp_path: Path
) -> None:
    from broadsheet.delivery.store import open_store

    store = open_store(postgres_url)
    try:
        addresses = add_subscribers(store, 6)
        _run_elsewhere(store, timedelta(seconds=10))
        outbox = tmp_path / "outbox"
        result = run_send(project, environment(store), "--yes", "--transport", f"outbox:{outbox}")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "sent 3, failed 0"
        assert sorted(
            str(message["To"]).split("<")[1].rstrip(">") for message in read_outbox(outbox)
        ) == sorted(addresses[3:])
        copies = _copies(store)
        assert copies["reader0@example.org"] == (State.SENDING.value, "run-elsewhere")
        assert copies["reader1@example.org"] == (State.QUEUED.value, "run-elsewhere")
        assert copies["reader2@example.org"] == (State.QUEUED.value, "run-elsewhere")
    finally:
        store.dispose()


def test_a_run_of_this_machine_whose_pid_another_process_took_is_dead_once_its_heartbeat_is_stale(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    addresses = add_subscribers(engine, 4)
    # The pid is this test's own process, which runs: only the stale heartbeat says the run is gone.
    _run_elsewhere(engine, timedelta(minutes=6), host=socket.gethostname(), pid=os.getpid())
    outbox = tmp_path / "outbox"
    result = run_send(project, environment(engine), "--yes", "--transport", f"outbox:{outbox}")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "sent 3, failed 0"
    assert len(read_outbox(outbox)) == 3
    assert _copies(engine)["reader0@example.org"] == (State.UNKNOWN.value, "run-elsewhere")
    assert {_copies(engine)[address][0] for address in addresses[1:]} == {State.SENT.value}


def test_a_run_keeps_its_heartbeat_fresh_through_a_pause_longer_than_the_staleness_limit(
    store: Engine,
) -> None:
    add_subscribers(store, 2)
    stale_after = timedelta(seconds=4)  # a beat every 0.8 s: a hiccup of 3 s still leaves one fresh
    first = SendLedger(store, ISSUE, stale_after)
    first.start()
    try:
        first.record(["en", "my"])
        with store.begin() as connection:
            claimed = first.claim(connection, "en", 1)
            first.hand_over(connection, [claimed[0].entry_id])
            # Seen from another machine: only the heartbeat can tell that this run is alive.
            connection.execute(update(Run).where(Run.id == first.run_id).values(host=ELSEWHERE))
        # A long wait with no claim and no answer, as behind a rate limit's pause or a silent server.
        time.sleep(2.5 * stale_after.total_seconds())
        second = SendLedger(store, ISSUE, stale_after)
        assert second.unknown() == []
        assert second.counts()[(State.SENDING.value, "en")] == 1
        if store.dialect.name == "sqlite":
            with pytest.raises(SendRefused, match=f"process {os.getpid()} on {ELSEWHERE}"):
                second.start()
    finally:
        first.finish()


def test_a_run_taken_for_dead_claims_nothing_more(store: Engine) -> None:
    add_subscribers(store, 4)
    first = SendLedger(store, ISSUE, timedelta(hours=1))
    first.start()
    try:
        first.record(["en", "my"])
        with store.begin() as connection:
            # As if it had been stopped for longer than the limit, somewhere else.
            connection.execute(
                update(Run)
                .where(Run.id == first.run_id)
                .values(host=ELSEWHERE, heartbeat_at=utcnow() - timedelta(hours=2))
            )
        second = SendLedger(store, ISSUE, timedelta(hours=1))
        second.start()
        second.finish()
        assert first._heartbeat is not None
        first._heartbeat.beat()  # the first beat after it woke up
        with store.begin() as connection, pytest.raises(TakenForDead, match="taken for dead by another"):
            first.claim(connection, "en", 10)
    finally:
        first.finish()


class Stopping:
    """An SMTP server's handler that records every message and stops the sender (SIGSTOP, as a machine
    suspended) just after the Nth message arrived, before the sender hears its "250"."""

    def __init__(self, stop_at: int) -> None:
        self.received: list[str] = []
        self.stop_at, self.victim = stop_at, 0
        self.stopped = threading.Event()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.received.extend(envelope.rcpt_tos)  # type: ignore[attr-defined]
        if len(self.received) == self.stop_at and self.victim:
            os.kill(self.victim, signal.SIGSTOP)
            # The signal takes effect when the kernel gets to it: on a busy machine the sender went on for two
            # more messages before it did. The "250" goes out only once the sender is seen stopped.
            deadline = time.monotonic() + 10
            while not _stopped(self.victim):
                assert time.monotonic() < deadline, "the sender did not stop"
                await asyncio.sleep(0.001)
            self.stopped.set()
        return "250 OK"


def _stopped(pid: int) -> bool:
    """Whether every thread of process `pid` is stopped (state `T` in /proc/<pid>/task/*/stat): each stops on
    its own once the signal reaches it."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
            states.append((task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0])
    return bool(states) and all(state == "T" for state in states)


def test_a_sender_stopped_past_the_limit_is_taken_for_dead_and_when_it_goes_on_nobody_gets_two_copies(
    project: Project, engine: Engine
) -> None:
    settings = project.root / "broadsheet.toml"
    settings.write_text(
        "smtp_connections = 1\nsend_run_stale_seconds = 30\n" + settings.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    addresses = add_subscribers(engine, 12)
    handler = Stopping(stop_at=4)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    url = f"smtp://127.0.0.1:{port}"
    first = start_send(project, environment(engine), "--yes", "--transport", url)
    handler.victim = first.pid
    try:
        assert handler.stopped.wait(timeout=60)
        # The first sender stays stopped past send_run_stale_seconds: its heartbeat is as old as that makes it.
        with engine.begin() as connection:
            connection.execute(update(Run).values(heartbeat_at=utcnow() - timedelta(minutes=1)))
        second = run_send(project, environment(engine), "--yes", "--transport", url)
        assert second.returncode == 1  # the copy the first sender was handing over is unknown
        assert "1 copy of unknown fate from an earlier send that stopped" in second.stderr
        assert second.stdout.splitlines()[-1] == "sent 8, failed 0"
        os.kill(first.pid, signal.SIGCONT)
        _out, error = first.communicate(timeout=120)
        # It goes on, hands nothing over that the second one took, and says what happened.
        assert first.returncode == 1
        assert error.splitlines()[-1] == (
            "broadsheet: this send of 2023-12-21 was taken for dead by another: its heartbeat went unwritten for "
            "more than 30 s (was the process stopped, or the database out of reach?), so the copies it held are "
            "pending again or unknown (`--status` counts them): run `broadsheet send` again"
        )
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
            first.kill()
            first.communicate()
        controller.stop()
    assert Counter(handler.received) == Counter(addresses)  # each copy exactly once
    copies = _copies(engine)
    assert Counter(state for state, _run in copies.values()) == Counter({"sent": 11, "unknown": 1})
    assert copies[handler.received[3]][0] == State.UNKNOWN.value


def test_answers_of_their_own_are_each_recorded_on_their_row_however_many(store: Engine) -> None:
    # Rows that do not share their answer (SMTP replies, the outbox's files) are settled by statements of up
    # to 100 rows each: 250 answers of two outcomes, each on its own row.
    add_subscribers(store, 250)
    ledger = SendLedger(store, ISSUE)
    ledger.start()
    ledger.record(["en", "my"])
    with store.begin() as connection:
        claimed = ledger.claim(connection, "en", 1000) + ledger.claim(connection, "my", 1000)
        ledger.hand_over(connection, [row.entry_id for row in claimed])
    answers = {
        row.entry_id: Delivery(
            row.subscriber.email,
            Outcome.FAILED if number % 3 == 0 else Outcome.SENT,
            f"answer {number} about {row.subscriber.email}",
        )
        for number, row in enumerate(claimed)
    }
    with store.begin() as connection:
        ledger.settle(connection, list(answers.items()))
    ledger.finish()

    with Session(store) as session:
        recorded = {entry.id: (entry.state, entry.detail) for entry in session.scalars(select(LedgerEntry))}
    assert recorded == {
        entry_id: (delivery.outcome.value, delivery.detail) for entry_id, delivery in answers.items()
    }


def test_a_hand_over_and_its_answers_write_their_times_as_every_other_write_does(store: Engine) -> None:
    # The hand-over's statements go to the database's driver directly (SQLAlchemy's work on each execution cost
    # the writer more than the database's): their parameters are processed as SQLAlchemy's own writes are.
    add_subscribers(store, 60)
    ledger = SendLedger(store, ISSUE)
    ledger.start()
    ledger.record(["en", "my"])
    before = utcnow()
    with store.begin() as connection:
        claimed = ledger.claim(connection, "en", 1000)
        marked = ledger.hand_over(connection, [row.entry_id for row in claimed])
    with store.begin() as connection:
        ledger.settle(
            connection, [(row.entry_id, Delivery("", Outcome.SENT, f"{row.entry_id}")) for row in claimed]
        )
    after = utcnow()
    ledger.finish()

    assert marked == {row.entry_id for row in claimed}
    with Session(store) as session:
        entries = session.scalars(select(LedgerEntry).where(LedgerEntry.locale == "en")).all()
    assert len(entries) == 30
    for entry in entries:
        assert (entry.state, entry.detail, entry.attempts) == ("sent", str(entry.id), 1)
        assert before <= entry.updated_at <= after
    if store.dialect.name == "sqlite":
        with store.connect() as connection:
            written = connection.exec_driver_sql("SELECT created_at, updated_at FROM ledger").all()
        assert {len(created) for created, _ in written} == {len(updated) for _, updated in written}
