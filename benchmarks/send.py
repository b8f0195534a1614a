"""Benchmark: sending the sample issue to many subscribers, each way beside its floor, in one run.

Run from the repository root:

    .venv/bin/python benchmarks/send.py                    # everything, at 10,000 and 100,000
    .venv/bin/python benchmarks/send.py --sizes 1000       # a quick run (under 2 minutes, most of it filling the memory)
    .venv/bin/python benchmarks/send.py --only outbox,smtp --sizes 10000 --connections 4

What is measured (half the subscribers English, half Burmese, on SQLite):

- outbox: `send_issue` to `outbox:` against a floor that writes the same
  prebuilt `.eml` per subscriber with the address put in, each part after
  the free memory is filled with page cache (`fill_page_cache`); the CPU
  time of the send counts its writer processes';
- smtp: `send_issue` over SMTP to a minimal asyncio sink (aiosmtpd spends
  4 ms of CPU a message) against bare `smtplib` loops sending one prebuilt
  message over as many connections;
- sendgrid: `send_issue` to a local stand-in answering 202 against posting
  bodies of the same size over as many connections;
- memory: peak resident memory of the `subscribers import` and `send`
  commands, each a process of its own;
- message: one copy composed whole (`compose`) against filled in from the
  prepared edition (`prepare`), per locale.

Each measurement runs in a process of its own, and so does each server, so
that neither shares the sender's interpreter lock. Each works in a folder of
its own under $TMPDIR (`broadsheet-bench-PID-...`); a run removes the folders
of killed runs first. The transports are
given `smtp_connections` and `sendgrid_concurrency` (`--connections`) when
the settings declare them and `open_transport` takes them; the output says
what was in effect.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import http.client
import inspect
import json
import os
import resource
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec.structs

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "issues" / "2023-12-21.yaml"
SECRET = "benchmark-secret-not-for-production"
PLACEHOLDER_ADDRESS = "placeholder@example.org"
KINDS = ("message", "outbox", "smtp", "sendgrid", "memory")


# --- the servers, each in a process of its own ---------------------------------------------------


def serve_smtp() -> None:
    """A minimal SMTP sink: answers EHLO, HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT, and counts messages.

    Prints its port; then prints the count for each line read from standard input, and stops at its end.
    """
    count = 0

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        writer.write(b"220 sink ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                writer.write(b"354 end with <CRLF>.<CRLF>\r\n")
                await reader.readuntil(b"\r\n.\r\n")
                count += 1
                writer.write(b"250 2.0.0 queued\r\n")
            elif verb == b"EHLO":
                writer.write(b"250-sink\r\n250 8BITMIME\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 bye\r\n")
                break
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                writer.write(b"250 2.0.0 ok\r\n")
            else:
                writer.write(b"502 5.5.2 not implemented\r\n")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(session, "127.0.0.1", 0, limit=2**26)
        print(server.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, sys.stdin.readline):
            print(count, flush=True)
        server.close()

    asyncio.run(main())


def serve_sendgrid() -> None:
    """A stand-in for SendGrid's mail/send: 202 to each request of at most 1000 recipients; GET /stats counts them.

    Prints its port; stops at the end of standard input.
    """
    stats = {"requests": 0, "bytes": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            good = self.path == "/v3/mail/send" and body.count(b'"to"') <= 1000
            with lock:
                stats["requests"] += 1
                stats["bytes"] += len(body)
            self.send_response(202 if good else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(stats).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdin.read()
    server.shutdown()


@contextmanager
def server(kind: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, __file__, f"--serve-{kind}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        yield int(process.stdout.readline()), process
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def sink_count(process: subprocess.Popen[str]) -> int:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("count\n")
    process.stdin.flush()
    return int(process.stdout.readline())


def stand_in_stats(port: int) -> dict[str, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/stats")
    stats: dict[str, int] = json.loads(connection.getresponse().read())
    connection.close()
    return stats


# --- what every measurement needs ----------------------------------------------------------------


def project_with(**values: Any) -> Any:
    """The repository's project, with those of `values` that its settings declare; and what was set."""
    from broadsheet.schema import fields_of
    from broadsheet.settings import Settings, find_project

    project = find_project(REPO)
    declared = {name: value for name, value in values.items() if name in fields_of(Settings)}
    return msgspec.structs.replace(
        project, settings=msgspec.structs.replace(project.settings, **declared)
    ), declared


def open_for(spec: str, project: Any, environ: dict[str, str]) -> Any:
    """The transport for `spec`, given the settings `open_transport` takes (by the settings' own names)."""
    from broadsheet.delivery.transports import open_transport
    from broadsheet.schema import fields_of
    from broadsheet.settings import Settings

    options: dict[str, Any] = {"environ": environ}
    for name in inspect.signature(open_transport).parameters:
        if name == "settings":
            options[name] = project.settings
        elif name in fields_of(Settings):
            options[name] = getattr(project.settings, name)
    return open_transport(spec, **options)


def store(folder: str, count: int) -> Any:
    """An SQLite store of `count` active subscribers, r0@example.org ..., alternately English and Burmese."""
    from sqlalchemy import insert

    from broadsheet.delivery.store import Subscriber, open_store

    engine = open_store(f"sqlite:///{folder}/bench.db")
    for first in range(0, count, 10_000):  # in slices, so that setting up costs little memory
        with engine.begin() as connection:
            connection.execute(
                insert(Subscriber),
                [
                    {
                        "email": f"r{n}@example.org",
                        "email_key": f"r{n}@example.org",
                        "name": f"Reader {n}",
                        "locale": ("en", "my")[n % 2],
                        "status": "active",
                    }
                    for n in range(first, min(count, first + 10_000))
                ],
            )
    return engine


def prebuilt(project: Any, issue: Any, emails: dict[str, Any]) -> dict[str, bytes]:
    """One composed copy per locale, for the floors: the address is put in by replacing PLACEHOLDER_ADDRESS."""
    from broadsheet.delivery.personalize import Signer, recipient
    from broadsheet.delivery.send import batch_of
    from broadsheet.delivery.store import Subscriber
    from broadsheet.delivery.transports.mime import compose

    copies = {}
    for locale, email in emails.items():
        reader = Subscriber(
            id=1, email=PLACEHOLDER_ADDRESS, email_key=PLACEHOLDER_ADDRESS, name="Reader 1", locale=locale
        )
        copy = recipient(reader, issue.date.isoformat(), project.settings, Signer(SECRET))
        copies[locale] = compose(batch_of(issue, email, project, [copy]), copy).as_bytes()
    return copies


def send(project: Any, issue: Any, emails: dict[str, Any], engine: Any, transport: Any) -> tuple[float, Any]:
    from broadsheet.delivery.personalize import Signer
    from broadsheet.delivery.send import send_issue

    start = time.perf_counter()
    try:
        progress = send_issue(project, issue, emails, engine, transport, Signer(SECRET))
    finally:
        transport.close()
    return time.perf_counter() - start, progress


def addresses(count: int) -> Iterator[tuple[str, str]]:
    return ((f"r{n}@example.org", ("en", "my")[n % 2]) for n in range(count))


@contextmanager
def cpu_time() -> Iterator[list[float]]:
    """The CPU seconds over the block of the process and of the children it waited for (the outbox's writers),
    in the kernel then outside it, in the list it gives (for the outbox: the kernel's is mostly making files,
    the other the send's own work), and then the seconds the machine's CPUs were taken by its host
    (`stolen_seconds`)."""
    spent: list[float] = []
    before, stolen = _usage(), stolen_seconds()
    yield spent
    after = _usage()
    spent += [after[0] - before[0], after[1] - before[1], stolen_seconds() - stolen]


def _usage() -> tuple[float, float]:
    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_stime + children.ru_stime, mine.ru_utime + children.ru_utime


def stolen_seconds() -> float:
    """CPU seconds that this virtual machine's CPUs, all together, waited for its host since it started
    (`steal` in /proc/stat; 0 where there is none): on this project's machine, up to half of its time in the
    evening of 2026-12-02, which the wall time of a send pays and its CPU time does not show."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 and fields[0] == "cpu" else 0.0


def free_memory_mb() -> int | None:
    """The machine's free memory in MB (Linux's `MemFree`), or None where /proc/meminfo is not there."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemFree:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


SCRATCH_PREFIX = "broadsheet-bench-"


@contextmanager
def scratch(needed_mb: int = 0, what: str = "") -> Iterator[str]:
    """A temporary folder for one measurement, named after this process, made once killed runs' are gone; the
    run stops with a message when the disk has less than `needed_mb` free for `what`."""
    clear_killed_runs()
    root = tempfile.gettempdir()
    free_mb = shutil.disk_usage(root).free // 2**20
    if free_mb < needed_mb:
        raise SystemExit(
            f"benchmarks/send.py: {what} writes about {needed_mb:,} MB in {root}, which has {free_mb:,} MB free; "
            "free some, or point TMPDIR at a larger disk"
        )
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as folder:
        yield folder


def clear_killed_runs() -> None:
    """Remove the folders of runs that were killed (their process is gone): at 100,000 one holds some 50 GB, the
    page-cache filler included, and the next run would find the disk full."""
    for left in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        pid = left.name.removeprefix(SCRATCH_PREFIX).partition("-")[0]
        if pid.isdigit() and not process_exists(int(pid)):
            shutil.rmtree(left, ignore_errors=True)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fill_page_cache(folder: Path, reserve_mb: int) -> int:
    """Fill the machine's free memory with clean page cache: a file in `folder` written, then flushed, and left
    there, keeping `reserve_mb` of the disk free for what follows. Returns the MB written.

    On this project's machine (a virtual machine that gives every freed page back to its host at once), a page
    the page cache takes from free memory costs the kernel about five times one it recycles from the cache: one
    run at 100,000 spent 27 s of kernel time on the floor's 7.3 GB from free memory and 6 s on the same from
    a full cache. So each timed part starts with the cache full, as on a machine that has been up a while, and
    neither part is charged for having gone first.
    """
    free = free_memory_mb()
    if free is None:
        return 0
    room = shutil.disk_usage(folder).free // 2**20 - reserve_mb
    size = min(free + FILL_BEYOND_MB, room)
    if size <= 0:
        return 0
    chunk = bytes(2**20 * 16)
    with tempfile.NamedTemporaryFile(dir=folder, prefix="fill-", delete=False) as filler:
        for _ in range(size // 16):
            filler.write(chunk)
        filler.flush()
        os.fsync(filler.fileno())
    return size


FILL_BEYOND_MB = 2048
"""What `fill_page_cache` writes beyond the free memory: enough for the kernel to start recycling the cache, so
that the free memory left is what it keeps for itself (about 100 MB here)."""


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def in_threads(count: int, work: Callable[[int], None]) -> float:
    """Seconds for `work(0)` ... `work(count - 1)`, each in a thread of its own, all at once."""
    threads = [threading.Thread(target=work, args=(number,)) for number in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


# --- the measurements, each in a process of its own ----------------------------------------------


def measure_message(_: int, repeat: int = 30) -> dict[str, Any]:
    """Milliseconds for one copy: composed whole, and filled in from the prepared edition (median of `repeat`)."""
    from broadsheet.delivery.personalize import Signer, recipient
    from broadsheet.delivery.send import batch_of
    from broadsheet.delivery.store import Subscriber
    from broadsheet.delivery.transports import mime
    from broadsheet.pipeline import editions

    project, _ = project_with()
    made = editions(project, SAMPLE)
    issue, emails = made.issue, made.emails
    result: dict[str, Any] = {}
    for locale, email in emails.items():
        copies = [
            recipient(
                Subscriber(
                    id=n,
                    email=f"r{n}@example.org",
                    email_key=f"r{n}@example.org",
                    name=f"Reader {n}",
                    locale=locale,
                ),
                issue.date.isoformat(),
                project.settings,
                Signer(SECRET),
            )
            for n in range(repeat)
        ]
        batch = batch_of(issue, email, project, copies)
        composing = [timed(functools.partial(composed, mime, batch, c)) for c in copies]
        result[f"{locale}_compose_ms"] = round(statistics.median(composing) * 1000, 3)
        if hasattr(mime, "prepare"):
            mime.prepare(batch).message_bytes(
                copies[0]
            )  # the edition is prepared once, before the first copy
            filling = [timed(functools.partial(filled, mime, batch, c)) for c in copies * 10]
            result[f"{locale}_prepared_ms"] = round(statistics.median(filling) * 1000, 3)
    return result


def composed(mime: Any, batch: Any, copy: Any) -> bytes:
    """One copy composed whole, as before the edition was prepared once."""
    return bytes(mime.compose(batch, copy).as_bytes())


def filled(mime: Any, batch: Any, copy: Any) -> bytes:
    """One copy filled in from the prepared edition."""
    return bytes(mime.prepare(batch).message_bytes(copy))


def measure_outbox(count: int) -> dict[str, Any]:
    """The outbox's send and its floor, in each order once (floor then send, send then floor), each round in a
    folder of its own; the seconds are the sums of both rounds, and each round's send is also given.

    Each part starts with the page cache full (`fill_page_cache`): what decided the ratio at 100,000 was which
    part took its pages from free memory, five times dearer here than recycling the cache. Both orders are still
    measured, so that what one part leaves behind (inodes, directories) does not favour the other.
    """
    from broadsheet.pipeline import editions

    project, _ = project_with()
    made = editions(project, SAMPLE)
    copies = prebuilt(project, made.issue, made.emails)
    # Both rounds' files stay until the end: a round that followed the deletion of the other's would pay for it.
    with scratch(outbox_files_mb(copies, count), f"the outbox at {count:,}") as folder:
        rounds = [
            outbox_round(
                project, made, copies, Path(folder, order), count, floor_first=order == "floor-first"
            )
            for order in ("floor-first", "send-first")
        ]
    totals = {name: sum(found[name] for found in rounds) for name in rounds[0] if name.endswith("seconds")}
    return {
        **totals,
        "sent": min(found["sent"] for found in rounds),
        "files": min(found["files"] for found in rounds),
        "send_seconds_second": rounds[0]["seconds"],
        "send_seconds_first": rounds[1]["seconds"],
        "kernel_seconds_by_round": [
            (found["kernel_seconds"], found["floor_kernel_seconds"]) for found in rounds
        ],
        "user_seconds_by_round": [(found["user_seconds"], found["floor_user_seconds"]) for found in rounds],
        "filled_mb": [found["filled_mb"] for found in rounds],
        "free_mb_before_send_and_floor": [
            (found["free_mb_before"], found["floor_free_mb_before"]) for found in rounds
        ],
    }


def outbox_files_mb(copies: dict[str, bytes], count: int) -> int:
    """What the files of both rounds take at most: each round's send and floor write one copy per subscriber."""
    return 4 * count * max(len(copy) for copy in copies.values()) // 2**20


def outbox_round(
    project: Any, made: Any, copies: dict[str, bytes], folder: Path, count: int, *, floor_first: bool
) -> dict[str, Any]:
    """One round of `measure_outbox` in `folder`: the floor and the send, in the order asked."""
    from broadsheet.delivery.transports.outbox import OutboxTransport

    folder.mkdir()
    engine = store(str(folder), count)
    floor_folder = folder / "floor"
    for locale in made.emails:
        (floor_folder / locale).mkdir(parents=True)
    found: dict[str, Any] = {}

    def floor() -> None:
        found["floor_free_mb_before"] = free_memory_mb()
        with cpu_time() as spent:
            found["floor_seconds"] = timed(
                lambda: [
                    (floor_folder / locale / f"{address}.eml").write_bytes(
                        copies[locale].replace(PLACEHOLDER_ADDRESS.encode(), address.encode())
                    )
                    for address, locale in addresses(count)
                ]
            )
        found["floor_kernel_seconds"], found["floor_user_seconds"], found["floor_stolen_seconds"] = spent

    def send_all() -> None:
        found["free_mb_before"] = free_memory_mb()
        with cpu_time() as spent:
            found["seconds"], progress = send(
                project, made.issue, made.emails, engine, OutboxTransport(folder / "outbox")
            )
        found["kernel_seconds"], found["user_seconds"], found["stolen_seconds"] = spent
        found["sent"] = progress.sent
        found["files"] = sum(len(files) for _, _, files in os.walk(folder / "outbox"))

    # Each timed part starts with the page cache full and nothing left to write back: neither pays for the
    # other's writes, nor for taking memory from the free pool (`fill_page_cache`).
    reserve_mb = outbox_files_mb(copies, count) + 2048
    for part in (floor, send_all) if floor_first else (send_all, floor):
        found.setdefault("filled_mb", []).append(fill_page_cache(folder, reserve_mb))
        os.sync()
        part()
    engine.dispose()
    return found


def measure_smtp(count: int, connections: int) -> dict[str, Any]:
    from broadsheet.pipeline import editions

    project, declared = project_with(smtp_connections=connections)
    made = editions(project, SAMPLE)
    issue, emails = made.issue, made.emails
    copies = prebuilt(project, issue, emails)
    with scratch() as folder, server("smtp") as (port, sink):
        engine = store(folder, count)
        everyone = list(addresses(count))

        def floor(number: int) -> None:
            connection = smtplib.SMTP("127.0.0.1", port)
            connection.ehlo()
            for address, locale in everyone[number::connections]:
                connection.sendmail("newsletter@progressivevoicemyanmar.org", [address], copies[locale])
            connection.quit()

        floor_seconds = in_threads(connections, floor)
        floor_messages = sink_count(sink)
        transport = open_for(f"smtp://127.0.0.1:{port}", project, {})
        seconds, progress = send(project, issue, emails, engine, transport)
        messages = sink_count(sink) - floor_messages
    return {
        "connections": declared.get("smtp_connections", 1),
        "sent": progress.sent,
        "messages": messages,
        "floor_messages": floor_messages,
        "seconds": seconds,
        "floor_seconds": floor_seconds,
    }


def measure_sendgrid(count: int, concurrency: int) -> dict[str, Any]:
    from broadsheet.pipeline import editions

    project, declared = project_with(sendgrid_concurrency=concurrency)
    made = editions(project, SAMPLE)
    issue, emails = made.issue, made.emails
    in_flight = declared.get("sendgrid_concurrency", 1)
    with scratch() as folder, server("sendgrid") as (port, _):
        engine = store(folder, count)
        environ = {"SENDGRID_API_KEY": "SG.benchmark", "BROADSHEET_SENDGRID_URL": f"http://127.0.0.1:{port}"}
        seconds, progress = send(project, issue, emails, engine, open_for("sendgrid", project, environ))
        stats = stand_in_stats(port)
        body = b"x" * (stats["bytes"] // max(stats["requests"], 1))

        def floor(number: int) -> None:
            for _ in range(number, stats["requests"], in_flight):
                connection = http.client.HTTPConnection("127.0.0.1", port)
                connection.request("POST", "/v3/mail/send", body, {"Content-Type": "application/json"})
                connection.getresponse().read()
                connection.close()

        floor_seconds = in_threads(in_flight, floor)
    return {
        "concurrency": in_flight,
        "sent": progress.sent,
        "requests": stats["requests"],
        "request_kb": len(body) // 1024,
        "seconds": seconds,
        "floor_seconds": floor_seconds,
    }


def measure_memory(count: int) -> dict[str, Any]:
    """Peak resident memory of `broadsheet subscribers import` and then `broadsheet send` (SendGrid stand-in), as processes."""
    with scratch() as folder, server("sendgrid") as (port, _):
        listing = Path(folder) / "subscribers.csv"
        with listing.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["email", "name", "locale"])
            writer.writerows(
                [address, f"Reader {address[1:-12]}", locale] for address, locale in addresses(count)
            )
        environ = dict(
            os.environ,
            BROADSHEET_DATABASE_URL=f"sqlite:///{folder}/bench.db",
            BROADSHEET_SECRET=SECRET,
            SENDGRID_API_KEY="SG.benchmark",
            BROADSHEET_SENDGRID_URL=f"http://127.0.0.1:{port}",
        )
        command = [sys.executable, "-m", "broadsheet", "-C", str(REPO)]
        imported, import_mb = peak([*command, "subscribers", "import", str(listing)], environ)
        sent, send_mb = peak([*command, "send", str(SAMPLE), "--transport", "sendgrid", "--yes"], environ)
    return {"import_seconds": imported, "import_mb": import_mb, "send_seconds": sent, "send_mb": send_mb}


def peak(command: list[str], environ: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of `command` run as a process; it must succeed."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    if process.returncode:
        raise SystemExit(
            f"{' '.join(command[3:])} failed ({process.returncode}): {process.stderr.read().decode()[-2000:]}"
        )
    return seconds, usage.ru_maxrss / 1024


# --- the run -------------------------------------------------------------------------------------


def child(kind: str, count: int, connections: int) -> None:
    if kind == "message":
        result = measure_message(count)
    elif kind == "outbox":
        result = measure_outbox(count)
    elif kind == "smtp":
        result = measure_smtp(count, connections)
    elif kind == "sendgrid":
        result = measure_sendgrid(count, connections)
    else:
        result = measure_memory(count)
    print(
        json.dumps(
            {name: round(value, 3) if isinstance(value, float) else value for name, value in result.items()}
        )
    )


def row(kind: str, count: int, result: dict[str, Any]) -> str:
    """One line of the Markdown table: the send, its floor, their ratio of rates."""
    if kind == "message":
        cells = [
            f"{locale}: {result[f'{locale}_compose_ms']} ms composed, {result.get(f'{locale}_prepared_ms', '-')} ms prepared"
            for locale in ("en", "my")
        ]
        return f"| one copy | | {'; '.join(cells)} | | |"
    if kind == "memory":
        return f"| memory | {count:,} | import {result['import_mb']:.0f} MB ({result['import_seconds']:.1f} s), send {result['send_mb']:.0f} MB ({result['send_seconds']:.1f} s) | | |"
    what = {
        "outbox": "outbox",
        "smtp": f"SMTP, {result.get('connections')} connection(s)",
        "sendgrid": f"SendGrid stand-in, {result.get('concurrency')} in flight",
    }[kind]
    rate, floor_rate = count / result["seconds"], count / result["floor_seconds"]
    return f"| {what} | {count:,} | {result['seconds']:.1f} s ({rate:,.0f}/s) | {result['floor_seconds']:.1f} s ({floor_rate:,.0f}/s) | {rate / floor_rate:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="10000,100000", help="Subscriber counts, comma-separated (default: 10000,100000)."
    )
    parser.add_argument(
        "--only",
        default=",".join(KINDS),
        help=f"Measurements to run, comma-separated, of: {', '.join(KINDS)}.",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=4,
        help="SMTP connections and SendGrid requests in flight (default: 4).",
    )
    parser.add_argument("--one", nargs=2, metavar=("KIND", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-smtp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-sendgrid", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_smtp:
        return serve_smtp()
    if args.serve_sendgrid:
        return serve_sendgrid()
    if args.one:
        return child(args.one[0], int(args.one[1]), args.connections)
    kinds = [kind for kind in args.only.split(",") if kind]
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown measurement {', '.join(sorted(unknown))}; choose from {', '.join(KINDS)}")
    sizes = [int(size) for size in args.sizes.split(",")]
    print("| what | subscribers | send | floor | rate / floor rate |")
    print("|---|---|---|---|---|")
    for kind in kinds:
        for count in [0] if kind == "message" else sizes:
            measured = subprocess.run(
                [sys.executable, __file__, "--one", kind, str(count), "--connections", str(args.connections)],
                stdout=subprocess.PIPE,
                text=True,
            )
            if measured.returncode:
                sys.exit(measured.returncode)  # it said why on its error stream
            result = json.loads(measured.stdout.strip().splitlines()[-1])
            print(row(kind, count, result), flush=True)
            print(f"<!-- {kind} {count}: {json.dumps(result)} -->", flush=True)


if __name__ == "__main__":
    main()
