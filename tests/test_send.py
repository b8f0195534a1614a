"""Sending: every active subscriber gets the issue in their language exactly once, even across crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from broadsheet.delivery.ledger import SendLedger
from broadsheet.delivery.personalize import Signer
from broadsheet.delivery.send import send_issue
from broadsheet.delivery.store import Status, open_store
from broadsheet.delivery.transports import Batch, Delivery
from broadsheet.delivery.transports.outbox import OutboxTransport
from broadsheet.pipeline import editions
from broadsheet.settings import Project

from .support import (
    SECRET,
    add_subscribers,
    ended,
    environment,
    read_outbox,
    run_send,
    start_send,
    states,
    table_rows,
    with_settings,
    writer_processes,
)

# Each test runs `broadsheet` as a process, some of them several.
pytestmark = pytest.mark.slow


@pytest.fixture
def project(sample_project: Project) -> Project:
    # Backoff waits of a hundredth of a second: tests do not sleep through retries.
    return with_settings(sample_project, "retry_base_seconds = 0.01\n")


def test_every_active_subscriber_gets_one_copy_in_their_language(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    addresses = add_subscribers(engine, 6)
    add_subscribers(engine, 2, status=Status.UNSUBSCRIBED, start=100)
    add_subscribers(engine, 1, status=Status.BOUNCED, start=200)
    outbox = tmp_path / "outbox"
    result = run_send(project, environment(engine), "--yes", "--transport", f"outbox:{outbox}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "sent 6, failed 0"
    # Without a terminal, a line of progress as it changes: the last one once, not again as the run ends.
    progress = [line for line in result.stderr.splitlines() if line.startswith("sent ")]
    assert progress[-1] == "sent 6, failed 0, remaining 0 of 6"
    assert len(progress) == len(set(progress))
    messages = read_outbox(outbox)
    assert sorted(str(m["To"]) for m in messages) == sorted(
        f"Reader {n} <{a}>" for n, a in enumerate(addresses)
    )
    signer = Signer(SECRET)
    for message in messages:
        number = int(str(message["To"]).split()[1])
        burmese = number % 2 == 1
        assert str(message["Subject"]) == (
            "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ" if burmese else "A Year of Tragedy and Hope"
        )
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert ("၂၀၂၃ ဒီဇင်ဘာ ၂၁" if burmese else "December 21, 2023") in text
        assert "%%unsubscribe_url%%" not in text + html
        unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
        assert unsubscribe in text and unsubscribe in html
        token = unsubscribe.rsplit("/", 1)[1]
        preferences = f"https://progressivevoicemyanmar.org/newsletter/preferences/{token}"
        assert preferences in text and preferences in html and "%%preferences_url%%" not in text + html
        subscriber = signer.subscriber_of(token)
        assert subscriber is not None and subscriber[1] == Signer.address_digest(addresses[number])
        assert signer.subscriber_of("9" + token) is None  # another subscriber's id
        middle = len(token) - 10
        assert (
            signer.subscriber_of(
                token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
            )
            is None
        )
        assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
        assert str(message["Message-ID"]).startswith("<2023-12-21.")
    assert states(engine) == Counter({"sent": 6})


def test_running_again_sends_nothing_twice_and_reaches_newcomers(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    add_subscribers(engine, 4)
    outbox = tmp_path / "outbox"
    assert run_send(project, environment(engine), "--yes", "--transport", f"outbox:{outbox}").returncode == 0
    again = run_send(project, environment(engine), "--yes", "--transport", f"outbox:{outbox}")
    assert again.stdout.splitlines()[-1] == "sent 0, failed 0"
    add_subscribers(engine, 2, start=10)
    later = run_send(project, environment(engine), "--yes", "--transport", f"outbox:{outbox}")
    assert later.stdout.splitlines()[-1] == "sent 2, failed 0"
    assert len(read_outbox(outbox)) == 6
    status = run_send(project, environment(engine), "--status")
    assert table_rows(status.stdout) == [
        ["Copies of 2023-12-21"],
        ["locale", "pending", "queued", "sending", "deferred", "unknown", "sent", "failed"],
        ["en", "0", "0", "0", "0", "0", "3", "0"],
        ["my", "0", "0", "0", "0", "0", "3", "0"],
    ]


def test_status_still_counts_the_copies_of_a_locale_taken_out_of_the_settings(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    add_subscribers(engine, 4)
    assert (
        run_send(project, environment(engine), "--yes", "--transport", f"outbox:{tmp_path}").returncode == 0
    )
    settings = project.root / "broadsheet.toml"
    text = settings.read_text(encoding="utf-8")
    assert 'locales = ["en", "my"]' in text
    settings.write_text(text.replace('locales = ["en", "my"]', 'locales = ["en"]'), encoding="utf-8")

    status = run_send(project, environment(engine), "--status")

    assert status.returncode == 0, status.stderr
    assert table_rows(status.stdout)[2:] == [
        ["en", "0", "0", "0", "0", "0", "2", "0"],
        ["my (not in locales)", "0", "0", "0", "0", "0", "2", "0"],
    ]


def test_without_a_terminal_send_refuses_unless_yes(project: Project, engine: Engine, tmp_path: Path) -> None:
    add_subscribers(engine, 2)
    result = run_send(project, environment(engine), "--transport", f"outbox:{tmp_path / 'outbox'}")
    assert result.returncode == 2
    assert (
        "broadsheet: not on a terminal, so not asking: add --yes to send 2023-12-21: 2 copies not yet sent (en: 1, my: 1)\n"
        in result.stderr
    )
    assert not (tmp_path / "outbox").exists()


def test_the_question_counts_only_what_is_left_to_send(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    outbox = f"outbox:{tmp_path / 'outbox'}"
    add_subscribers(engine, 4)
    assert run_send(project, environment(engine), "--yes", "--transport", outbox).returncode == 0
    add_subscribers(engine, 1, locales=("my",), start=10)

    result = run_send(project, environment(engine), "--transport", outbox)
    dry = run_send(project, environment(engine), "--dry-run")
    status = run_send(project, environment(engine), "--status")

    assert result.returncode == 2
    assert "add --yes to send 2023-12-21: 1 copy not yet sent (en: 0, my: 1)\n" in result.stderr
    # The dry run names who the send would send to now, and the status who has no copy yet.
    assert dry.stdout.splitlines() == [
        "en: 0 subscriber(s), subject 'A Year of Tragedy and Hope'",
        "my: 1 subscriber(s), subject 'ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ'",
        "  reader10@example.org",
        "dry run: nothing sent",
    ]
    assert status.stdout.splitlines()[-1] == (
        "1 active subscriber with no copy yet (en: 0, my: 1): the next send adds them"
    )
    assert states(engine) == Counter({"sent": 4})
    # With nothing left, there is nothing to ask: the run settles nothing and says so.
    assert run_send(project, environment(engine), "--yes", "--transport", outbox).returncode == 0
    again = run_send(project, environment(engine), "--transport", outbox)
    assert (again.returncode, again.stdout) == (0, "sent 0, failed 0\n")
    assert states(engine) == Counter({"sent": 5})


def test_dry_run_shows_who_and_sends_nothing(project: Project, engine: Engine, tmp_path: Path) -> None:
    add_subscribers(engine, 3)
    result = run_send(
        project, environment(engine), "--dry-run", "--transport", f"outbox:{tmp_path / 'outbox'}"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "en: 2 subscriber(s), subject 'A Year of Tragedy and Hope'",
        "  reader0@example.org",
        "  reader2@example.org",
        "my: 1 subscriber(s), subject 'ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ'",
        "  reader1@example.org",
        "dry run: nothing sent",
    ]
    assert not (tmp_path / "outbox").exists()
    assert states(engine) == Counter()


def test_test_copy_goes_outside_the_ledger(project: Project, engine: Engine, tmp_path: Path) -> None:
    add_subscribers(engine, 2)
    outbox = tmp_path / "outbox"
    result = run_send(
        project,
        environment(engine),
        "--to",
        "editor@example.org",
        "--locale",
        "my",
        "--transport",
        f"outbox:{outbox}",
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout
        == f"my test copy to editor@example.org: sent: {outbox}/2023-12-21/my/editor@example.org.eml\n"
    )
    [message] = read_outbox(outbox)
    assert str(message["To"]) == "editor@example.org"
    assert str(message["Subject"]) == "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"
    assert states(engine) == Counter()


@pytest.mark.parametrize(
    ("env_change", "message"),
    [
        (
            {"BROADSHEET_SECRET": ""},
            "broadsheet: set BROADSHEET_SECRET to a long random string (at least 16 characters) before sending: it signs each subscriber's unsubscribe link",
        ),
        (
            {"BROADSHEET_TRANSPORT": "carrier-pigeon"},
            "broadsheet: unknown transport 'carrier-pigeon'; use sendgrid, an smtp:// or smtps:// URL, or outbox:PATH",
        ),
        ({"BROADSHEET_TRANSPORT": "sendgrid"}, "SENDGRID_API_KEY"),
    ],
)
def test_bad_configuration_sends_nothing(
    project: Project, engine: Engine, env_change: dict[str, str], message: str
) -> None:
    add_subscribers(engine, 2)
    result = run_send(project, environment(engine) | env_change, "--yes")
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert states(engine)["sent"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--transport", "outbox", "--yes"),
            "broadsheet: --transport: unknown transport 'outbox'; use sendgrid, an smtp:// or smtps:// URL, or outbox:PATH\n",
        ),
        (
            ("--transport", "outbox:", "--yes"),
            "broadsheet: --transport: outbox: needs a folder, e.g. outbox:build/outbox\n",
        ),
        (
            ("--transport", "smtp://mail.example.org:abc", "--yes"),
            "broadsheet: --transport: smtp://mail.example.org: the port must be a number from 1 to 65535\n",
        ),
        (
            ("--to", "Editor <editor@example.org>"),
            "broadsheet: --to: Expected an email address but received: 'Editor <editor@example.org>' "
            "(A display name and angle brackets around the email address are not permitted here.)\n",
        ),
        (
            ("--to", "editor@example.org", "--locale", "th"),
            "broadsheet: --locale: unknown locale th; configured locales: en, my\n",
        ),
    ],
)
def test_a_wrong_command_line_exits_2_before_making_the_editions(
    project: Project, engine: Engine, args: tuple[str, ...], message: str
) -> None:
    add_subscribers(engine, 2)
    result = run_send(project, environment(engine), *args)
    # Said at once: no edition was made (its warnings would come first), nothing recorded.
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)
    assert states(engine) == Counter()


def test_subscribers_of_a_locale_no_longer_configured_are_named_in_a_warning(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    add_subscribers(engine, 2)
    add_subscribers(engine, 3, locales=("th",), start=10)
    add_subscribers(engine, 1, locales=("th",), start=20, status=Status.UNSUBSCRIBED)

    for args in (("--dry-run",), ("--yes", "--transport", f"outbox:{tmp_path / 'outbox'}")):
        result = run_send(project, environment(engine), *args)
        assert result.returncode == 0, result.stderr
        assert (
            "broadsheet: warning: 3 active subscribers in locale 'th', which is not among the configured locales "
            "(en, my), get no copy: add it to `locales` in broadsheet.toml, or import them again with a configured "
            "locale\n" in result.stderr
        )
    assert states(engine) == Counter({"sent": 2})


def test_an_issue_that_fails_check_is_not_sent(project: Project, engine: Engine, tmp_path: Path) -> None:
    add_subscribers(engine, 2)
    issue = project.issues_dir / "2023-12-21.yaml"
    issue.write_text(
        issue.read_text(encoding="utf-8").replace("https://www.hrw.org", "javascript:alert(1)//", 1),
        encoding="utf-8",
    )
    result = run_send(project, environment(engine), "--yes", "--transport", f"outbox:{tmp_path / 'outbox'}")
    assert result.returncode == 1
    assert (
        "error: resources.statements[0].url: Expected an http(s) URL but received: 'javascript:alert(1)//"
        in result.stderr
    )
    assert not (tmp_path / "outbox").exists()
    assert states(engine) == Counter()


def test_an_empty_subscriber_list_sends_nothing(project: Project, engine: Engine, tmp_path: Path) -> None:
    result = run_send(project, environment(engine), "--yes", "--transport", f"outbox:{tmp_path / 'outbox'}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "sent 0, failed 0"


class WatchedOutbox(OutboxTransport):
    """An outbox that, once it has written a batch and before its answers are recorded, watches the ledger: how
    many copies are `sending`, and whether the next batch is among them."""

    def __init__(self, path: Path, engine: Engine, total: int) -> None:
        super().__init__(path, writers=0)  # one channel: its own bound
        self.engine, self.total, self.written = engine, total, 0
        self.sending: list[int] = []
        self.next_marked: list[bool] = []

    def send(self, batch: Batch) -> list[Delivery]:
        deliveries = super().send(batch)
        self.written += len(deliveries)
        if self.written < self.total:
            deadline = time.monotonic() + 10
            while (sending := states(self.engine)["sending"]) <= len(
                deliveries
            ) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.next_marked.append(sending > len(deliveries))
            self.sending.append(sending)
        return deliveries


def test_the_outbox_writes_a_batch_while_the_ledger_marks_the_next_within_the_bound_of_100(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    # The ledger commits the next batch's mark while the files of this one are written, instead of the files
    # waiting for it; two batches of 50 keep the bound after `kill -9` at 100 copies.
    add_subscribers(engine, 250)
    made = editions(project, project.issues_dir / "2023-12-21.yaml")
    outbox = WatchedOutbox(tmp_path / "outbox", engine, 250)

    progress = send_issue(project, made.issue, made.emails, engine, outbox, Signer(SECRET))

    assert progress.sent == 250
    assert outbox.next_marked == [True] * len(outbox.next_marked)
    assert len(outbox.next_marked) >= 4
    assert max(outbox.sending) <= 100
    assert states(engine) == Counter({"sent": 250})
    assert len(read_outbox(tmp_path / "outbox")) == 250


def test_sigkill_of_an_outbox_send_ends_its_writers_leaves_at_most_200_unknown_and_the_rerun_writes_the_rest(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    addresses = add_subscribers(engine, 1000)
    outbox = tmp_path / "outbox"
    env = environment(engine)
    sender = start_send(project, env, "--yes", "--transport", f"outbox:{outbox}")
    try:
        # Killed once both writers are at work, beyond the batches written in the sending process.
        deadline = time.monotonic() + 60
        while (
            len(writer_processes(outbox)) < 2 or len(list(outbox.rglob("*.eml"))) < 300
        ) and sender.poll() is None:
            assert time.monotonic() < deadline, "the send never handed batches to two writers"
            time.sleep(0.005)
        writers = writer_processes(outbox)
        sender.send_signal(signal.SIGKILL)
    finally:
        sender.communicate(timeout=60)
    assert sender.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while not all(ended(writer) for writer in writers):  # each ends after the batch it was writing, if any
        assert time.monotonic() < deadline, "a writer outlived its send"
        time.sleep(0.01)

    unknown = len(SendLedger(engine, "2023-12-21").unknown())
    assert 0 < unknown <= 200  # docs/sending.md's bound: two channels, two batches of 50 each
    rerun = run_send(project, env, "--yes", "--transport", f"outbox:{outbox}")
    assert rerun.returncode == 1, rerun.stderr  # the unknown copies are named, not written again
    assert states(engine) == Counter({"sent": 1000 - unknown, "unknown": unknown})
    retried = run_send(project, env, "--yes", "--retry-unknown", "--transport", f"outbox:{outbox}")
    assert retried.returncode == 0, retried.stderr
    assert states(engine) == Counter({"sent": 1000})
    messages = read_outbox(outbox)
    assert sorted(str(message["To"].addresses[0].addr_spec) for message in messages) == sorted(addresses)
    assert all(message.get_body(("plain",)) is not None for message in messages)
    assert not [path for path in outbox.rglob("*") if path.is_file() and path.suffix != ".eml"]


# -- Crash and resume, against a real SMTP server ---------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Recorder:
    """An SMTP server's handler: records every message, and can signal the sender (kill it) on the Nth one."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.kill_at: int | None = None
        self.kill_with = signal.SIGKILL
        self.victim: int | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.extend(envelope.rcpt_tos)
            signalled = self.kill_at is not None and len(self.received) >= self.kill_at and self.victim
            if signalled and self.victim:
                # The message arrived, but the sender is signalled before hearing "250": killed, its fate is
                # unknown to it.
                os.kill(self.victim, self.kill_with)
                self.kill_at = None
        if signalled:
            await asyncio.sleep(0.2)  # the answer comes after the signal was taken
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.mark.parametrize("kill_at", [1, 7, 13, 20])
def test_killed_sender_resumes_without_duplicates(
    project: Project, engine: Engine, smtp_server: Any, kill_at: int
) -> None:
    recorder, url = smtp_server
    addresses = add_subscribers(engine, 20)
    recorder.kill_at = kill_at
    process = start_send(project, environment(engine), "--yes", "--transport", url, "--batch-size", "3")
    recorder.victim = process.pid
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL

    resumed = run_send(project, environment(engine), "--yes", "--transport", url, "--batch-size", "3")
    counts = Counter(recorder.received)
    assert all(n == 1 for n in counts.values()), counts  # nobody got the issue twice
    ledger_unknown = SendLedger(engine, "2023-12-21").unknown()
    assert 1 <= len(ledger_unknown) <= 4  # at most one message in flight on each of the 4 connections
    assert resumed.returncode == 1
    assert (
        f"{len(ledger_unknown)} cop{'y' if len(ledger_unknown) == 1 else 'ies'} of unknown fate from an earlier send that stopped"
        in resumed.stderr
    )
    assert len(counts) >= 20 - len(ledger_unknown)

    retried = run_send(
        project, environment(engine), "--yes", "--transport", url, "--batch-size", "3", "--retry-unknown"
    )
    assert retried.returncode == 0, retried.stderr
    assert set(recorder.received) == set(addresses)
    assert states(engine) == Counter({"sent": 20})


@pytest.mark.parametrize(
    ("stop_with", "connections"),
    # SIGTERM is how `systemctl stop`, `docker stop` and a CI job's timeout end a process.
    [(signal.SIGINT, 1), (signal.SIGINT, 4), (signal.SIGTERM, 1), (signal.SIGTERM, 4)],
)
def test_sender_interrupted_ends_after_the_hand_overs_in_flight_leaving_no_copy_unknown(
    sample_project: Project, engine: Engine, smtp_server: Any, stop_with: signal.Signals, connections: int
) -> None:
    # Stopped while a connection's copy waits for its answer: the run waits for it, and records it.
    project = with_settings(sample_project, f"retry_base_seconds = 0.01\nsmtp_connections = {connections}\n")
    recorder, url = smtp_server
    addresses = add_subscribers(engine, 20)
    recorder.kill_at, recorder.kill_with = 7, stop_with
    process = start_send(project, environment(engine), "--yes", "--transport", url, "--batch-size", "3")
    recorder.victim = process.pid
    _out, err = process.communicate(timeout=120)

    assert process.returncode == 1, err
    assert err.endswith("Aborted!\n")
    assert SendLedger(engine, "2023-12-21").unknown() == []
    assert states(engine)["sent"] == len(recorder.received)
    resumed = run_send(project, environment(engine), "--yes", "--transport", url, "--batch-size", "3")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(recorder.received) == sorted(addresses)  # each once
    assert states(engine) == Counter({"sent": 20})


def test_second_sender_on_sqlite_is_refused_while_the_first_runs(
    project: Project, engine: Engine, smtp_server: Any
) -> None:
    recorder, url = smtp_server
    add_subscribers(engine, 6)
    ledger = SendLedger(engine, "2023-12-21")
    ledger.start()  # this test process plays the first sender, alive
    result = run_send(project, environment(engine), "--yes", "--transport", url)
    assert result.returncode == 1
    assert (
        f"another `broadsheet send` of 2023-12-21 is running (process {os.getpid()} on {socket.gethostname()}); SQLite cannot share the work"
        in result.stderr
    )
    assert recorder.received == []
    ledger.finish()
    assert run_send(project, environment(engine), "--yes", "--transport", url).returncode == 0
    assert len(recorder.received) == 6


class Refusing(Recorder):
    """Says '452 mailbox full' to one address, every time."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address == self.refused:
            return f"452 4.2.2 <{address}>: mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_full_mailbox_is_deferred_and_holds_back_nobody(project: Project, engine: Engine) -> None:
    addresses = add_subscribers(engine, 6, locales=("en",))
    recorder = Refusing(addresses[2])
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        first = run_send(project, environment(engine), "--yes", "--transport", f"smtp://127.0.0.1:{port}")
        assert first.returncode == 1
        assert first.stdout.splitlines()[-1] == "sent 5, failed 0"
        assert "1 copy deferred: refused for now by the recipient's mail server" in first.stderr
        assert "…@example.org: deferred: RCPT TO: 452 4.2.2 <…@example.org>: mailbox full" in first.stderr
        assert addresses[2] not in first.stderr
        assert sorted(recorder.received) == sorted(addresses[:2] + addresses[3:])
        assert states(engine) == Counter({"sent": 5, "deferred": 1})
        recorder.refused = ""
        resumed = run_send(project, environment(engine), "--yes", "--transport", f"smtp://127.0.0.1:{port}")
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.splitlines()[-1] == "sent 1, failed 0"
    finally:
        controller.stop()
    assert sorted(recorder.received) == sorted(addresses)
    assert states(engine) == Counter({"sent": 6})


def test_two_senders_on_postgresql_share_the_work_and_send_each_copy_once(
    project: Project, postgres_url: str, smtp_server: Any
) -> None:
    recorder, url = smtp_server
    engine = open_store(postgres_url)
    try:
        addresses = add_subscribers(engine, 40)
        senders = [
            start_send(project, environment(engine), "--yes", "--transport", url, "--batch-size", "2")
            for _ in range(2)
        ]
        outputs = [sender.communicate(timeout=120) for sender in senders]
        assert [sender.returncode for sender in senders] == [0, 0], outputs
        assert sorted(recorder.received) == sorted(addresses)  # each copy exactly once
        sent = [int(out.splitlines()[-1].split()[1].rstrip(",")) for out, _ in outputs]
        assert sum(sent) == 40
        assert states(engine) == Counter({"sent": 40})
    finally:
        engine.dispose()


def test_send_through_sendgrid_uses_the_settings_and_never_shows_the_key(
    project: Project, engine: Engine, httpserver: Any
) -> None:
    from werkzeug import Request, Response

    key = "SG.secret-key-that-must-not-leak"
    requests: list[dict[str, Any]] = []

    def accept(request: Request) -> Response:
        assert request.headers["Authorization"] == f"Bearer {key}"
        requests.append(request.get_json())
        return Response(status=202)

    httpserver.expect_request("/v3/mail/send", method="POST").respond_with_handler(accept)
    settings = project.root / "broadsheet.toml"
    settings.write_text(
        "sendgrid_unsubscribe_group = 42\n" + settings.read_text(encoding="utf-8"), encoding="utf-8"
    )
    add_subscribers(engine, 5)
    env = environment(
        engine,
        BROADSHEET_TRANSPORT="sendgrid",
        SENDGRID_API_KEY=key,
        BROADSHEET_SENDGRID_URL=httpserver.url_for("").rstrip("/"),
    )
    result = run_send(project, env, "--yes", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert key not in result.stdout + result.stderr
    # en: 3 in batches of 2, my: 2, the three requests at once.
    assert sorted(len(r["personalizations"]) for r in requests) == [1, 2, 2]
    assert all(r["asm"] == {"group_id": 42} for r in requests)
    assert all(r["categories"] == ["2023-12-21"] for r in requests)
    addressed = [p["to"][0]["email"] for r in requests for p in r["personalizations"]]
    assert sorted(addressed) == [f"reader{n}@example.org" for n in range(5)]


def test_on_a_terminal_a_send_that_stops_ends_its_progress_bar_before_the_error(
    project: Project, engine: Engine
) -> None:
    add_subscribers(engine, 3)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    leader, follower = os.openpty()
    written = bytearray()
    reader = threading.Thread(target=_read_all, args=(leader, written))
    reader.start()
    try:
        # stderr on a terminal, where the live bar hides the cursor while it draws.
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "broadsheet",
                "send",
                "issues/2023-12-21.yaml",
                "--yes",
                "--transport",
                f"smtp://127.0.0.1:{closed_port}",
            ],
            cwd=project.root,
            env={**environment(engine), "COLUMNS": "100", "TERM": "xterm"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            check=False,
        )
    finally:
        os.close(follower)
        reader.join(30)
        os.close(leader)
    screen = written.decode("utf-8", errors="replace")
    assert completed.returncode == 1
    error = screen.index("broadsheet: ")
    assert "\x1b[?25l" in screen[:error]  # the bar hid the cursor...
    assert "\x1b[?25h" in screen[:error]  # ...and gave it back before the error was printed
    # The retries are logged without the recipients' addresses.
    assert f"smtp://127.0.0.1:{closed_port}: cannot connect" in screen and "reader0@" not in screen


def _read_all(fd: int, into: bytearray) -> None:
    """Everything written to the terminal whose other end is `fd`, until it is closed."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other end is closed
            return
        if not chunk:
            return
        into.extend(chunk)
