"""Real processes for end-to-end tests: `broadsheet serve` on a free loopback port, and an SMTP server that receives its mail."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO
from urllib.error import HTTPError, URLError

from aiosmtpd.controller import Controller

from .support import Mailbox, free_port

START_TIMEOUT = 20.0
"""Seconds `broadsheet serve` may take to answer its health check (imports, migrations, binding)."""
STOP_TIMEOUT = 10.0
"""Seconds it may take to shut down after SIGTERM."""
BIND_ATTEMPTS = 3
"""Starts on a new free port when another process took the chosen one in the meantime."""

# Variables the server reads: the caller's environment decides them, never the developer's shell.
_OWN_VARIABLES = ("BROADSHEET_", "SENDGRID_", "FORWARDED_ALLOW_IPS")
# No proxy between the test and a server on loopback, whatever the shell's http_proxy says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerFailed(AssertionError):
    """`broadsheet serve` exited or did not become healthy in time; the message holds its output."""


@contextlib.contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on loopback (aiosmtpd, no TLS, no login); `Mailbox.messages` is what it received."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    mailbox.stop = controller.stop
    try:
        yield mailbox
    finally:
        controller.stop(no_assert=True)  # the test may have stopped it already


@contextlib.contextmanager
def broadsheet_server(
    project_dir: Path,
    environ: Mapping[str, str],
    *,
    before_start: Callable[[str], None] = lambda _base_url: None,
    log: Path | None = None,
) -> Iterator[str]:
    """Run `broadsheet serve` on the project in `project_dir` (also its working folder) as a real process;
    yield its base URL (`http://127.0.0.1:PORT`) once `GET /health` answers 200, and stop it after.

    `environ` adds to the test process's environment, from which every BROADSHEET_*, SENDGRID_* and
    FORWARDED_ALLOW_IPS variable is first removed. `before_start(base_url)` runs before each start, to write settings that name the
    server's own address. The server's stdout and stderr go to `log` (a temporary file when None); they
    are in the failure message when the server dies or does not answer within `START_TIMEOUT` seconds,
    and on stderr when the code inside the `with` block fails.
    """
    kept = {name: value for name, value in os.environ.items() if not name.startswith(_OWN_VARIABLES)}
    environment = {**kept, **environ}
    with log.open("w+b") if log is not None else tempfile.TemporaryFile() as output:
        for attempt in range(1, BIND_ATTEMPTS + 1):
            base_url = f"http://127.0.0.1:{free_port()}"
            before_start(base_url)
            start = output.seek(0, os.SEEK_END)
            try:
                with _started(project_dir, environment, base_url, output) as process:
                    problem = _wait_until_healthy(process, base_url)
                    if problem is None:
                        yield base_url
                        return
            except BaseException:
                # pytest shows a failed test's stderr: the server's side of the story.
                sys.stderr.write(f"broadsheet serve at {base_url} wrote:\n{_output(output)}")
                raise
            if attempt < BIND_ATTEMPTS and "address already in use" in _output(output, start).lower():
                continue
            raise ServerFailed(f"broadsheet serve at {base_url} {problem}; its output:\n{_output(output)}")


@contextlib.contextmanager
def _started(
    project_dir: Path, environment: Mapping[str, str], base_url: str, output: IO[bytes]
) -> Iterator[subprocess.Popen[bytes]]:
    """`broadsheet serve` running on the port of `base_url`; terminated and waited for on the way out."""
    port = base_url.rpartition(":")[2]
    serve = ["serve", "--host", "127.0.0.1", "--port", port]
    command = [sys.executable, "-m", "broadsheet", "-C", str(project_dir), *serve]
    with subprocess.Popen(
        command,
        cwd=project_dir,
        env=dict(environment),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
    ) as process:
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise ServerFailed(
                    f"broadsheet serve at {base_url} did not stop within {STOP_TIMEOUT} s of SIGTERM"
                ) from None


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str) -> str | None:
    """None once `GET /health` answers 200, else why not: the process exited, or time ran out."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with code {process.returncode} before answering GET /health"
        try:
            with _DIRECT.open(f"{base_url}/health", timeout=1.0) as response:
                if response.status == 200:
                    return None
        except HTTPError as error:
            error.close()  # 503 while the database is unavailable: wait on
        except (URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        # Wait a little for the next try, but stop waiting at once if the process exits.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)
    return f"did not answer GET /health with 200 within {START_TIMEOUT} s"


def _output(output: IO[bytes], start: int = 0) -> str:
    output.seek(start)
    return output.read().decode("utf-8", errors="replace")
