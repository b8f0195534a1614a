"""Sending against servers that misbehave as real ones do: every copy's fate exact, nobody sent two copies.

A real SMTP server (aiosmtpd) that drops connections after taking a message, refuses, defers, greylists
and closes with 421; a real `broadsheet send` killed with SIGKILL; an HTTP server standing in for SendGrid
that loses answers and rate-limits.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session as OrmSession
from werkzeug import Request, Response

from broadsheet.delivery.ledger import SendLedger
from broadsheet.delivery.store import LedgerEntry, Subscriber, utcnow
from broadsheet.settings import Project

from .support import (
    FakeSendGrid,
    accept_only,
    add_subscribers,
    environment,
    free_port,
    read_outbox,
    run_send,
    states,
    table_rows,
    with_settings,
)

ISSUE = "issues/2023-12-21.yaml"
CONNECTIONS = 4


@pytest.fixture
def project(sample_project: Project) -> Project:
    return with_settings(
        sample_project,
        f"retry_base_seconds = 0.01\nsmtp_connections = {CONNECTIONS}\nsendgrid_concurrency = 4\n",
    )


@pytest.fixture
def engine(project: Project, sample_store: Engine) -> Engine:
    return sample_store


def send(project: Project, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # Misbehaving servers make a run slow: more time than other sends get.
    return run_send(project, env, *args, timeout=300)


def over_one_connection(project: Project) -> None:
    """Make the project's sends go over one SMTP connection instead of the fixture's several."""
    settings = project.root / "broadsheet.toml"
    text = settings.read_text(encoding="utf-8")
    assert f"smtp_connections = {CONNECTIONS}\n" in text
    settings.write_text(
        text.replace(f"smtp_connections = {CONNECTIONS}", "smtp_connections = 1"), encoding="utf-8"
    )


def listed(result: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    """`send --status --list STATE` as {address: [locale, last answer, subscriber id, tries]}."""
    assert result.returncode == 0, result.stderr
    if result.stdout.startswith("no "):
        return {}
    _title, headings, *rows = table_rows(result.stdout)
    assert headings == ["address", "locale", "last answer", "subscriber", "tries"]
    return {row[0]: row[1:] for row in rows}


# -- a mail server that misbehaves on demand ------------------------------------------------------------


class Misbehaving:
    """An aiosmtpd handler that records every message it takes, and fails as it is told to."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lose_answer: set[str] = set()
        """Take the message, then drop the connection before answering."""
        self.refuse: set[str] = set()
        """550 to RCPT."""
        self.full: set[str] = set()
        """452 to RCPT, every time."""
        self.greylist: set[str] = set()
        """451 to the first RCPT, then accepted."""
        self.relay_denied = False
        """554 5.7.1 to every RCPT, as Postfix answers a client it does not relay for."""
        self.close_every = 0
        """Close the connection with 421 at every Nth MAIL (0: never)."""
        self.delay = 0.0
        """Seconds each message takes to be taken."""
        self.refuse_every_copy: Callable[[str], str | None] = lambda command: None
        """Asked at MAIL, RCPT and DATA: a refusal every copy meets alike (the sender's quota or rate, TLS wanted) to
        give instead of going on."""
        self.most_connections = 0
        """Greet a connection beyond this many open at once with 421, as Microsoft 365 does a fourth (0: any)."""
        self.connections = 0
        self.mails = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.peers: set[object] = set()
        self.lock = threading.Lock()
        self.on_lost: Callable[[], None] = lambda: None
        """Called in the server's loop when it drops a connection after taking a message."""
        self.stop_listening: Callable[[], None] = lambda: None
        """Stop taking new connections (set by the fixture)."""

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        self.peers.add(session.peer)
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mails += 1
        if self.close_every and self.mails % self.close_every == 0:
            await server.push("421 4.3.2 too many messages on this connection, closing")
            assert server.transport is not None
            server.transport.close()
            return "421 closing"
        if limit := self.refuse_every_copy("MAIL"):
            return limit
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if limit := self.refuse_every_copy("RCPT"):
            return limit
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: no such user"
        if self.relay_denied:
            return f"554 5.7.1 <{address}>: Relay access denied"
        if address in self.full:
            return f"452 4.2.2 <{address}>: mailbox full"
        if address in self.greylist:
            self.greylist.discard(address)
            return "451 4.7.1 greylisted, come back later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if limit := self.refuse_every_copy("DATA"):
            return limit
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        with self.lock:
            self.received.update(envelope.rcpt_tos)
        if self.lose_answer & set(envelope.rcpt_tos):
            self.on_lost()
            assert server.transport is not None
            server.transport.abort()
        return "250 2.0.0 queued"


class _AtMostConnections(SMTP):
    async def _handle_client(self) -> None:
        handler = self.event_handler
        assert isinstance(handler, Misbehaving) and self.transport is not None
        handler.connections += 1
        try:
            if handler.most_connections and handler.connections > handler.most_connections:
                await self.push(
                    "421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, "
                    "closing transmission channel"
                )
                self.transport.close()
                return
            await super()._handle_client()
        finally:
            handler.connections -= 1


class MisbehavingServer(Controller):
    """aiosmtpd's Controller, whose server greets connections beyond the handler's `most_connections` with 421."""

    def factory(self) -> SMTP:
        return _AtMostConnections(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def mail_server() -> Iterator[tuple[Misbehaving, str]]:
    handler = Misbehaving()
    controller = MisbehavingServer(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    assert controller.server is not None
    handler.stop_listening = controller.server.close
    yield handler, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def test_faults_of_a_real_mail_server_leave_every_copy_exact_and_hold_back_nobody(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    addresses = add_subscribers(engine, 300)
    lost = {addresses[n] for n in (10, 111, 222)}
    refused, full = addresses[50], addresses[51]
    greylisted = set(addresses[7::31])  # about 3%
    server.lose_answer |= lost
    server.refuse.add(refused)
    server.full.add(full)
    server.greylist |= greylisted
    server.close_every = 40
    env = environment(engine, BROADSHEET_TRANSPORT=url)

    first = send(project, env, "--yes")

    # One run: everyone gets exactly one copy but the refused and the full mailbox; nobody two.
    assert first.returncode == 1
    assert set(server.received) == set(addresses) - {refused, full}
    assert set(server.received.values()) == {1}
    assert first.stdout.splitlines()[-1] == "sent 295, failed 1"
    assert (
        "3 copies of unknown fate: the mail server closed the connection after the message went out, before answering"
        in first.stderr
    )
    assert "1 copy deferred: refused for now by the recipient's mail server" in first.stderr
    assert not any(address in first.stderr for address in addresses)  # logs say …@example.org
    assert states(engine) == Counter({"sent": 295, "unknown": 3, "deferred": 1, "failed": 1})

    deferred = listed(send(project, env, "--status", "--list", "deferred"))
    assert list(deferred) == [full]
    assert deferred[full][0] == "my"
    assert deferred[full][3] == "4"  # tried in the run and in three rounds after everyone else
    assert deferred[full][1] == f"RCPT TO: 452 4.2.2 <{full}>: mailbox full"
    unknown = listed(send(project, env, "--status", "--list", "unknown"))
    assert set(unknown) == lost
    assert all(
        row[1].startswith("the mail server closed the connection after the message went out")
        for row in unknown.values()
    )
    failed = listed(send(project, env, "--status", "--list", "failed"))
    assert list(failed) == [refused]

    # A rerun sends none of the unknown again, and tries the full mailbox again.
    server.lose_answer.clear()
    again = send(project, env, "--yes")
    assert again.returncode == 1
    assert again.stdout.splitlines()[-1] == "sent 0, failed 0"
    assert "3 copies of unknown fate from an earlier send" in again.stderr
    assert set(server.received.values()) == {1}

    # --retry-unknown sends exactly those.
    retried = send(project, env, "--yes", "--retry-unknown")
    assert retried.stdout.splitlines()[-1] == "sent 3, failed 0"
    assert {address for address, count in server.received.items() if count == 2} == lost
    assert set(server.received.values()) == {1, 2}
    assert send(project, env, "--status", "--list", "unknown").stdout == "no unknown copies of 2023-12-21\n"


def test_deferred_copies_fail_after_the_configured_tries_and_age_and_can_be_given_up(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    addresses = add_subscribers(engine, 6)
    server.full |= {addresses[0], addresses[1], addresses[2]}
    settings = project.root / "broadsheet.toml"
    settings.write_text(
        "deferred_max_attempts = 6\n" + settings.read_text(encoding="utf-8"), encoding="utf-8"
    )
    env = environment(engine, BROADSHEET_TRANSPORT=url)

    assert send(project, env, "--yes").returncode == 1  # 4 tries each
    assert states(engine) == Counter({"sent": 3, "deferred": 3})
    # One of them was first deferred long ago.
    with OrmSession(engine) as session, session.begin():
        session.execute(
            update(LedgerEntry)
            .where(
                LedgerEntry.subscriber_id
                == select(Subscriber.id).where(Subscriber.email == addresses[2]).scalar_subquery()
            )
            .values(deferred_at=utcnow() - timedelta(hours=73))
        )

    second = send(project, env, "--yes")  # the old one fails at once; the others' 5th and 6th tries fail too
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1] == "sent 0, failed 3"
    failed = listed(send(project, env, "--status", "--list", "failed"))
    assert set(failed) == set(addresses[:3])
    assert failed[addresses[0]][3] == "6" and failed[addresses[2]][3] == "4"
    assert all(
        row[1].startswith("gave up on a deferred copy; its last answer: RCPT TO: 452")
        for row in failed.values()
    )
    assert sum(server.received.values()) == 3
    assert (
        "broadsheet: 3 copies failed (refused for good, or deferred too long): `broadsheet send "
        "issues/2023-12-21.yaml --status --list failed` names them with the last answer; once what made them "
        "fail is fixed, --retry-failed sends them again\n"
    ) in second.stderr

    # Their mailboxes emptied, --retry-failed sends exactly those; a plain rerun would not.
    server.full.clear()
    assert send(project, env, "--yes").stdout.splitlines()[-1] == "sent 0, failed 0"
    retried = send(project, env, "--yes", "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.splitlines()[-1] == "sent 3, failed 0"
    assert server.received == Counter(addresses)
    assert states(engine) == Counter({"sent": 6})


def test_give_up_deferred_marks_them_failed_and_says_how_many(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    addresses = add_subscribers(engine, 4)
    server.full |= {addresses[1], addresses[3]}
    env = environment(engine, BROADSHEET_TRANSPORT=url)
    assert send(project, env, "--yes").returncode == 1

    given_up = send(project, env, "--give-up-deferred")

    assert (given_up.returncode, given_up.stdout) == (0, "2 copies of 2023-12-21 deferred, now failed\n")
    assert states(engine) == Counter({"sent": 2, "failed": 2})
    assert send(project, env, "--give-up-deferred").stdout == "0 copies of 2023-12-21 deferred, now failed\n"


def test_a_test_copy_the_server_refuses_or_defers_exits_1(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    server.refuse.add("editor@example.org")
    server.full.add("desk@example.org")
    env = environment(engine, BROADSHEET_TRANSPORT=url)

    refused = send(project, env, "--to", "editor@example.org")
    full = send(project, env, "--to", "desk@example.org")
    taken = send(project, env, "--to", "chief@example.org")

    assert (refused.returncode, full.returncode, taken.returncode) == (1, 1, 0)
    assert (
        refused.stdout
        == "en test copy to editor@example.org: failed: RCPT TO: 550 5.1.1 <editor@example.org>: no such user\n"
    )
    assert full.stdout.startswith("en test copy to desk@example.org: deferred: RCPT TO: 452 ")
    assert server.received == Counter({"chief@example.org": 1})
    assert states(engine) == Counter()


def test_status_list_goes_with_status() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "broadsheet", "send", ISSUE, "--list", "unknown"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == "broadsheet: --list goes with --status: broadsheet send ISSUE --status --list STATE\n"
    )


def test_connections_are_used_in_parallel_each_for_many_messages_and_nobody_twice(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    server.delay = 0.02
    addresses = add_subscribers(engine, 120)

    result = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes")

    assert result.returncode == 0, result.stderr
    assert server.received == Counter(addresses)
    assert server.most_in_flight == CONNECTIONS  # the server saw four messages at once
    assert len(server.peers) == CONNECTIONS  # each connection reused for all its messages


# -- kill -9 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kill_after", [1, 23, 70])
def test_sigkill_leaves_at_most_one_unknown_copy_per_connection_and_the_rerun_duplicates_nobody(
    project: Project, store: Engine, mail_server: tuple[Misbehaving, str], kill_after: int
) -> None:
    engine = store  # SQLite, then PostgreSQL
    server, url = mail_server
    server.delay = 0.01
    addresses = add_subscribers(engine, 100)
    env = environment(engine, BROADSHEET_TRANSPORT=url)
    sender = subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "send", ISSUE, "--yes"],
        cwd=project.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while sum(server.received.values()) < kill_after and sender.poll() is None:
            time.sleep(0.002)
        sender.send_signal(signal.SIGKILL)
    finally:
        sender.wait(60)
    assert sender.returncode == -signal.SIGKILL

    unknown = SendLedger(engine, "2023-12-21").unknown()
    assert 0 < len(unknown) <= CONNECTIONS  # the README's bound

    rerun = send(project, env, "--yes")
    assert rerun.returncode == 1
    assert set(server.received.values()) == {1}  # nobody twice
    assert set(server.received) >= set(addresses) - set(
        listed(send(project, env, "--status", "--list", "unknown"))
    )
    assert states(engine) == Counter({"sent": 100 - len(unknown), "unknown": len(unknown)})


def test_a_mail_server_that_dies_mid_send_is_named_with_what_to_do(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    addresses = add_subscribers(engine, 10)
    server.lose_answer.add(addresses[0])
    server.on_lost = server.stop_listening  # it takes the first message, then goes away
    over_one_connection(project)

    result = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes")

    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "sent 0, failed 0"
    lines = result.stderr.splitlines()
    assert lines[-2].startswith(
        "broadsheet: 1 copy of unknown fate: the mail server closed the connection after the message went out, before answering"
    )
    assert lines[-1] == (
        f"broadsheet: {url}: cannot connect ([Errno 111] Connection refused), still after 5 tries. The messages not "
        "handed over stay pending: run the same send again once the mail server takes connections"
    )
    assert states(engine) == Counter({"unknown": 1, "pending": 9})


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_mail_server_that_wants_a_login_stops_the_send_and_the_rerun_with_one_sends_each_copy_once(
    project: Project, engine: Engine
) -> None:
    handler = Misbehaving()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        auth_required=True,
        auth_require_tls=False,  # loopback: no TLS wanted
        authenticator=accept_only(b"editor", b"s3cret-pa55"),
    )
    controller.start()
    try:
        addresses = add_subscribers(engine, 20)
        url = f"smtp://127.0.0.1:{controller.port}"

        refused = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes")

        assert refused.returncode == 1
        assert refused.stdout.splitlines()[-1] == "sent 0, failed 0"
        assert refused.stderr.splitlines()[-1] == (
            f"broadsheet: {url}: the server takes no mail before a login (or TLS): MAIL FROM: 530 5.7.0 "
            "Authentication required. Put the user and password in the transport's URL, "
            "smtp://user:password@host:port"
        )
        assert states(engine) == Counter({"pending": 20})

        login = f"smtp://editor:s3cret-pa55@127.0.0.1:{controller.port}"
        logged_in = send(project, environment(engine, BROADSHEET_TRANSPORT=login), "--yes")
        assert logged_in.returncode == 0, logged_in.stderr
        assert "s3cret-pa55" not in logged_in.stdout + logged_in.stderr
        assert handler.received == Counter(addresses)
    finally:
        controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize(
    "refusal",
    [  # Gmail's, to a wrong password and to an account's own password where it wants an app password
        "535 5.7.8 Username and Password not accepted. For more information, go to",
        "534 5.7.9 Application-specific password required. For more information, go to",
    ],
)
def test_a_password_the_relay_refuses_is_tried_by_one_connection_and_stops_the_send_saying_what_to_check(
    project: Project, engine: Engine, refusal: str
) -> None:
    """Refused logins in a row lock some accounts (Microsoft 365's smart lockout): four connections trying a
    wrong password at once, each with every mechanism the server offers, made eight a send."""
    accept = accept_only(b"news@example.org", b"abcd efgh ijkl mnop")
    tried: list[object] = []

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        tried.append(session.peer)
        result = accept(server, session, envelope, mechanism, data)
        if not result.success:
            result.message = refusal
        return result

    handler = Misbehaving()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        auth_require_tls=False,  # loopback: no TLS wanted
        authenticator=authenticator,
    )
    controller.start()
    try:
        add_subscribers(engine, 20)
        url = f"smtp://news%40example.org:s3cret-pa55@127.0.0.1:{controller.port}"

        refused = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes")

        assert refused.returncode == 1
        assert "Traceback" not in refused.stderr
        assert refused.stderr.splitlines()[-1] == (
            f"broadsheet: smtp://news%40example.org@127.0.0.1:{controller.port}: the server refused the login of "
            f"'news@example.org': {refusal}. Check the user and password in the transport's URL (percent-encoded); "
            "an account with two-step verification, at Gmail or Microsoft 365, needs an app password"
        )
        assert "s3cret-pa55" not in refused.stdout + refused.stderr
        assert len(set(tried)) == 1  # one connection tried it
        assert states(engine) == Counter({"pending": 20})
    finally:
        controller.stop()


REFUSE_ANSWERS = {
    "sqlite": [
        "CREATE TRIGGER refuse_answers BEFORE UPDATE OF state ON ledger WHEN NEW.state = 'sent' "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_answers() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'database or disk is full'; END $$",
        "CREATE TRIGGER refuse_answers BEFORE UPDATE OF state ON ledger FOR EACH ROW "
        "WHEN (NEW.state = 'sent') EXECUTE FUNCTION refuse_answers()",
    ],
}
"""A trigger that makes the database refuse the first write of an answer, as a full disk would."""


def test_a_database_that_refuses_a_write_mid_send_is_a_clear_error_and_the_rerun_settles_every_copy(
    project: Project, store: Engine, tmp_path: Path
) -> None:
    # More than the outbox's two channels hold at once (two batches of 50 each), so that some copies are left.
    add_subscribers(store, 300)
    with store.begin() as connection:
        for statement in REFUSE_ANSWERS[store.dialect.name]:
            connection.exec_driver_sql(statement)
    outbox = tmp_path / "outbox"
    env = environment(store)

    result = send(project, env, "--yes", "--transport", f"outbox:{outbox}")

    # The copies written by then have no answer on record.
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    said = result.stderr.splitlines()[-1]
    assert said.startswith("broadsheet: the database failed: database or disk is full")
    assert said.endswith(
        "What was recorded before stays; run the command again once the database works (a send takes up "
        "where it stopped)"
    )
    written = len(read_outbox(outbox))
    assert 0 < written <= 200
    assert states(store) == Counter({"sending": written, "pending": 300 - written})

    with store.begin() as connection:
        connection.exec_driver_sql(
            "DROP TRIGGER refuse_answers" + (" ON ledger" if store.dialect.name == "postgresql" else "")
        )
    again = send(project, env, "--yes", "--transport", f"outbox:{outbox}")

    # Written, but with no answer on record: never sent again (`--retry-unknown` would), and named as such; the
    # rest go once.
    assert again.returncode == 1
    assert again.stderr.splitlines()[-1].startswith(
        f"broadsheet: {written} copies of unknown fate from an earlier send that stopped (killed, its machine or "
        "its database went down)"
    )
    assert states(store) == Counter({"unknown": written, "sent": 300 - written})
    assert len(read_outbox(outbox)) == 300


def test_a_mail_server_that_loses_every_answer_stops_the_send_after_a_few(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    addresses = add_subscribers(engine, 12)
    server.lose_answer |= set(addresses)
    over_one_connection(project)

    result = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes")

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"broadsheet: {url}: the mail server closed the connection after taking the data of 5 messages in a row, "
        "before answering; stopping so as to leave no more copies unknown. Check the server (or a proxy before it) "
        "and its log, then run the same send again"
    )
    assert sum(server.received.values()) == 5
    assert states(engine) == Counter({"unknown": 5, "pending": 7})


def test_a_mail_server_that_refuses_every_recipient_alike_stops_the_send_and_a_retry_sends_them_once(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    addresses = add_subscribers(engine, 12, domains=("example.org", "example.net", "example.com"))
    server.relay_denied = True
    over_one_connection(project)

    result = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"broadsheet: {url}: the mail server refused the last 5 recipients, at 3 domains, with the same answer: "
        "RCPT TO: 554 5.7.1 <…>: Relay access denied. An answer every address gets is about the server's settings "
        "or the sender (a relay it refuses, a login it wants), not about the readers: stopping before it refuses "
        "the rest. The copies it refused so are failed; once the server takes them, run the same send with --retry-failed"
    )
    assert states(engine) == Counter({"failed": 5, "pending": 7})

    server.relay_denied = False
    again = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes", "--retry-failed")

    assert again.returncode == 0, again.stderr
    assert states(engine) == Counter({"sent": 12})
    assert server.received == Counter({address: 1 for address in addresses})


@pytest.mark.parametrize("refused", ["greeting", "data"])
def test_a_relay_that_takes_fewer_connections_at_once_than_configured_sends_over_those_it_takes(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str], refused: str
) -> None:
    """Microsoft 365 takes 3 connections at once from one account: it greets a fourth with 421 4.3.2, or refuses
    its message after the data with 432 4.3.2 (its submissions at once)."""
    server, url = mail_server
    server.delay = 0.02
    if refused == "greeting":
        server.most_connections = 3
    else:
        server.refuse_every_copy = lambda command: (
            "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded [Hostname=AM0PR02MB5107]"
            if command == "DATA" and server.in_flight >= 3
            else None
        )
    addresses = add_subscribers(engine, 60)

    result = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "sent 60, failed 0"
    assert server.received == Counter(addresses)
    assert server.most_in_flight == 3
    assert "going on with 3 connections at once, as many as it takes" in result.stderr
    assert "deferred" not in result.stderr
    assert states(engine) == Counter({"sent": 60})


def test_a_relay_that_wants_tls_it_does_not_offer_stops_the_send_saying_what_to_write(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    """Gmail's and Microsoft 365's answer to a client that did not start TLS, here without STARTTLS among the
    server's extensions (as when a firewall between takes it out)."""
    server, url = mail_server
    server.refuse_every_copy = lambda command: (
        "530 5.7.0 Must issue a STARTTLS command first. d2e1a72fcca58-6e8b" if command == "MAIL" else None
    )
    add_subscribers(engine, 10)

    result = send(project, environment(engine, BROADSHEET_TRANSPORT=url), "--yes")

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"broadsheet: {url}: the server takes no mail before TLS: MAIL FROM: 530 5.7.0 Must issue a STARTTLS command "
        "first. d2e1a72fcca58-6e8b. It did not offer STARTTLS in its answer to EHLO, which smtp:// would have used "
        "(something between, such as a firewall, may take it out): write smtps:// and the port where the server "
        "speaks TLS on connect (465), or ask its administrator"
    )
    assert states(engine) == Counter({"pending": 10})


SPENT_QUOTAS = {
    "gmail": ("MAIL", "550 5.4.5 Daily user sending quota exceeded. d2e1a72fcca58-6e8b"),
    "microsoft-365": (
        "DATA",
        "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due "
        "to a permanent exception with message Cannot submit message.",
    ),
    "amazon-ses": ("DATA", "554 Throttling failure: Daily message quota exceeded."),
}


@pytest.mark.parametrize("relay", list(SPENT_QUOTAS))
def test_a_relays_daily_quota_spent_stops_the_send_failing_nobody_and_the_next_days_run_sends_the_rest(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str], relay: str
) -> None:
    server, url = mail_server
    step, reply = SPENT_QUOTAS[relay]
    addresses = add_subscribers(engine, 40, domains=("gmail.com", "example.org", "yahoo.com"))
    server.refuse_every_copy = lambda command: (
        reply if command == step and server.received.total() >= 7 else None
    )
    env = environment(engine, BROADSHEET_TRANSPORT=url)

    spent = send(project, env, "--yes")

    # The copies other connections were handing over meanwhile went too.
    taken = server.received.total()
    assert 7 <= taken < 7 + CONNECTIONS
    assert spent.returncode == 1
    assert "Traceback" not in spent.stderr
    assert spent.stdout.splitlines()[-1] == f"sent {taken}, failed 0"
    assert spent.stderr.splitlines()[-1] == (
        f"broadsheet: {url}: the mail server takes no more mail from this sender: {step.replace('MAIL', 'MAIL FROM')}: "
        f"{reply.rstrip('.')}. That is a limit on the sender (a daily sending quota, as Gmail, Microsoft 365 and Amazon "
        "SES keep), not about the readers: no copy is failed for it, and those not sent stay pending. Run the same "
        "send again once the quota renews (the next day, for a daily one): it sends only what is left"
    )
    assert states(engine) == Counter({"sent": taken, "pending": 40 - taken})

    server.refuse_every_copy = lambda command: None  # the next day
    next_day = send(project, env, "--yes")

    assert next_day.returncode == 0, next_day.stderr
    assert next_day.stdout.splitlines()[-1] == f"sent {40 - taken}, failed 0"
    assert server.received == Counter(addresses)


def test_a_relays_sending_rate_is_waited_out_deferring_and_failing_nobody(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    """Amazon SES's answer past its messages a second: each copy it holds back goes once it lets it."""
    server, url = mail_server
    addresses = add_subscribers(engine, 60, domains=("gmail.com", "example.org", "yahoo.com"))
    answers = iter(["454 Throttling failure: Maximum sending rate exceeded."] * 12)
    server.refuse_every_copy = lambda command: (
        next(answers, None) if command == "DATA" and server.received.total() % 10 == 9 else None
    )
    env = environment(engine, BROADSHEET_TRANSPORT=url)

    result = send(project, env, "--yes")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "sent 60, failed 0"
    assert server.received == Counter(addresses)
    assert (
        "DATA: 454 Throttling failure: Maximum sending rate exceeded; waiting before trying again"
        in result.stderr
    )
    assert not any(address in result.stderr for address in addresses)
    assert states(engine) == Counter({"sent": 60})


def test_a_relays_sending_rate_that_does_not_pass_stops_the_send_deferring_nobody(
    project: Project, engine: Engine, mail_server: tuple[Misbehaving, str]
) -> None:
    server, url = mail_server
    add_subscribers(engine, 30, domains=("gmail.com", "example.org", "yahoo.com"))
    server.refuse_every_copy = lambda command: (
        "451 4.7.0 Rate limit exceeded" if command == "RCPT" and server.received.total() >= 5 else None
    )
    env = environment(engine, BROADSHEET_TRANSPORT=url)

    result = send(project, env, "--yes")

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"broadsheet: {url}: the mail server still refuses mail from this sender for now, after 5 tries: RCPT TO: "
        "451 4.7.0 Rate limit exceeded. A refusal about the sender (its sending rate or quota, a check of its "
        "address) is not about the readers: no copy is deferred or failed for it, and those not sent stay pending. "
        "Run the same send again later (the next day, for a daily quota): it sends only what is left"
    )
    taken = server.received.total()
    assert set(server.received.values()) == {1}
    assert states(engine) == Counter({"sent": taken, "pending": 30 - taken})


# -- SendGrid --------------------------------------------------------------------------------------------

API_KEY = "SG.fault-test-key"


@pytest.fixture
def sendgrid() -> Iterator[tuple[FakeSendGrid, HTTPServer]]:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    fake = FakeSendGrid(API_KEY)
    server.expect_request("/v3/mail/send", method="POST").respond_with_handler(fake.handle)
    yield fake, server
    server.clear()
    server.stop()
    assert fake.problems == []


def sendgrid_env(engine: Engine, server: HTTPServer) -> dict[str, str]:
    return environment(
        engine,
        BROADSHEET_TRANSPORT="sendgrid",
        SENDGRID_API_KEY=API_KEY,
        BROADSHEET_SENDGRID_URL=server.url_for("/").rstrip("/"),
    )


def addressed(requests: list[dict[str, Any]]) -> Counter[str]:
    return Counter(to["email"] for mail in requests for p in mail["personalizations"] for to in p["to"])


def test_sendgrid_request_whose_answer_was_lost_leaves_its_recipients_unknown_and_none_is_resent(
    project: Project, engine: Engine, sendgrid: tuple[FakeSendGrid, HTTPServer]
) -> None:
    fake, server = sendgrid
    addresses = add_subscribers(engine, 2400)
    fake.drop_containing.add(addresses[4])  # an English reader: in the first English request
    env = sendgrid_env(engine, server)

    first = send(project, env, "--yes")

    assert first.returncode == 1
    assert sorted(len(mail["personalizations"]) for mail in fake.requests) == [200, 200, 1000, 1000]
    [lost] = [mail for mail in fake.requests if addresses[4] in addressed([mail])]
    lost_addresses = set(addressed([lost]))
    assert first.stdout.splitlines()[-1] == "sent 1400, failed 0"
    assert (
        "1000 copies of unknown fate: the connection to SendGrid broke after the request went out"
        in first.stderr
    )
    assert set(listed(send(project, env, "--status", "--list", "unknown"))) == lost_addresses

    again = send(project, env, "--yes")
    assert again.stdout.splitlines()[-1] == "sent 0, failed 0"
    assert addressed(fake.requests) == Counter(addresses)  # every address in exactly one request, none resent


def test_sendgrid_rate_limit_is_honoured_by_every_request_in_flight(
    project: Project, engine: Engine, sendgrid: tuple[FakeSendGrid, HTTPServer]
) -> None:
    fake, server = sendgrid
    addresses = add_subscribers(engine, 160)
    limited: list[float] = []
    accepted: list[float] = []
    resets: list[int] = []
    lock = threading.Lock()

    def rate_limited(request: Request) -> Response:
        now = time.time()
        with lock:
            if not resets:
                resets.append(math.ceil(now) + 1)  # X-RateLimit-Reset counts whole seconds
            reset = resets[0]
            if now < reset:
                limited.append(now)
                headers = {
                    "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                }
                return Response(
                    json.dumps({"errors": [{"message": "too many requests"}]}), 429, headers=headers
                )
            accepted.append(now)
        return fake.handle(request)

    server.clear()
    server.expect_request("/v3/mail/send", method="POST").respond_with_handler(rate_limited)

    result = send(project, sendgrid_env(engine, server), "--yes", "--batch-size", "10")

    assert result.returncode == 0, result.stderr
    assert addressed(fake.requests) == Counter(addresses)
    assert all(request.get("personalizations") for request in fake.requests)
    assert min(accepted) >= resets[0]
    assert 1 <= len(limited) <= 4  # the requests in flight when the limit came; the others waited for it


def test_sendgrid_addresses_it_calls_invalid_fail_alone_and_the_rest_of_their_request_goes(
    project: Project, engine: Engine, sendgrid: tuple[FakeSendGrid, HTTPServer]
) -> None:
    fake, server = sendgrid
    addresses = add_subscribers(engine, 30)
    invalid = {addresses[3], addresses[8]}  # one in each locale's request
    fake.invalid |= invalid
    env = sendgrid_env(engine, server)

    first = send(project, env, "--yes")

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == "sent 28, failed 2"
    assert "broadsheet: 2 copies failed (refused for good, or deferred too long)" in first.stderr
    assert not any(address in first.stderr for address in addresses)
    assert addressed(fake.requests) == Counter(set(addresses) - invalid)
    failed = listed(send(project, env, "--status", "--list", "failed"))
    assert set(failed) == invalid
    assert {row[1] for row in failed.values()} == {
        "SendGrid refused it: to.0.email: Does not contain a valid address."
    }
    assert states(engine) == Counter({"sent": 28, "failed": 2})

    again = send(project, env, "--yes")
    assert again.stdout.splitlines()[-1] == "sent 0, failed 0"
    assert addressed(fake.requests) == Counter(set(addresses) - invalid)  # nobody twice


@pytest.mark.parametrize(
    ("key", "said"),
    [
        (
            "SG.wrong-key",
            "SendGrid rejected the API key (401 Unauthorized); check SENDGRID_API_KEY: "
            "The provided authorization grant is invalid, expired, or revoked",
        ),
        (
            "SG.read-only-key",
            "SendGrid refused the request (403 Forbidden); check that the API key in SENDGRID_API_KEY has the Mail "
            "Send permission, and that `sender` in broadsheet.toml is a verified sender: access forbidden",
        ),
    ],
)
def test_sendgrid_key_refused_stops_the_send_at_once_failing_nobody_and_showing_no_key(
    key: str, said: str, project: Project, engine: Engine, sendgrid: tuple[FakeSendGrid, HTTPServer]
) -> None:
    fake, server = sendgrid
    fake.forbidden_keys.add("SG.read-only-key")
    addresses = add_subscribers(engine, 40)
    env = sendgrid_env(engine, server)

    refused = send(project, {**env, "SENDGRID_API_KEY": key}, "--yes", "--batch-size", "5")

    assert refused.returncode == 1
    assert refused.stdout.splitlines()[-1] == "sent 0, failed 0"
    assert refused.stderr.splitlines()[-1] == f"broadsheet: sendgrid: {said}"
    assert key not in refused.stdout + refused.stderr
    assert "read-only" not in refused.stdout + refused.stderr and "wrong-key" not in refused.stderr
    assert len(server.log) <= 4  # the requests in flight when the first answer came: one per channel
    assert states(engine) == Counter({"pending": 40})

    fixed = send(project, env, "--yes", "--batch-size", "5")
    assert fixed.returncode == 0, fixed.stderr
    assert addressed(fake.requests) == Counter(addresses)
