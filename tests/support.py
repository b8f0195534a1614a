"""What several test modules share: the repository's paths, catalogs edited as a translator would,
PostgreSQL scratch schemas, a real SMTP server's mailbox, Chromium, and running `broadsheet send`.

Fixtures live in conftest.py; the app served over HTTP in live.py (in a thread) and serving.py (as a process).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from babel.messages.pofile import read_po, write_po
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session as OrmSession
from werkzeug import Request, Response

from broadsheet import catalogs
from broadsheet.delivery.store import LedgerEntry, Status, Subscriber
from broadsheet.settings import Project

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "issues" / "2023-12-21.yaml"
EXPECTED = Path(__file__).resolve().parent / "expected"
SECRET = "test-secret-for-signing-unsubscribe-links"

# An issue with every kind of message a translator sees, one resource already in Burmese.
ISSUE = """\
date: 2024-01-04
title: The Year Ahead
summary: What to watch in 2024.
image:
  src: https://example.org/a.jpg
  alt: A road at dawn
editorial: |
  First paragraph with a [link](https://example.org/one) and *emphasis*.

  Second paragraph with a footnote.[^1]

  Third paragraph, plain.
footnotes:
  "1": The source of the figure.
resources:
  statements:
    - title: A statement about 50% of the cases
      url: https://example.org/s
      by: [Org One, Org Two]
  reports:
    - title: မြန်မာ အစီရင်ခံစာ
      url: https://example.org/r
      by: Org One
      lang: my
"""


def translate(
    project: Project,
    locale: str,
    domain: str,
    translations: dict[str, str | tuple[str, ...]],
    *,
    fuzzy: frozenset[str] = frozenset(),
) -> None:
    """Translate messages of a `.po` file the way a translator's tool would (msgid -> msgstr)."""
    path = catalogs.catalog_path(project, locale, domain)
    with path.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            message.string = translations[key]
            if key in fuzzy:
                message.flags.add("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=76)


@contextmanager
def scratch_schema(server: str, prefix: str = "test") -> Iterator[str]:
    """A URL on a new, empty schema of the PostgreSQL database at `server`, dropped with all it holds after."""
    url = make_url(server).set(drivername="postgresql+psycopg")
    schema = f"{prefix}_{uuid.uuid4().hex}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# -- Chromium ---------------------------------------------------------------------------------

SCREENSHOTS = Path(__file__).resolve().parent / "output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str | None:
    return (
        os.environ.get("BROADSHEET_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


# -- A real SMTP server's mailbox -------------------------------------------------------------


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def free_port() -> int:
    """A free loopback port: aiosmtpd's Controller cannot start on port 0 (its readiness check needs the number)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accept_only(login: bytes, password: bytes) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator that lets in `login` with `password` alone."""

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (login, password)
        return AuthResult(success=ok, handled=False)

    return authenticator


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it receives, counts connections, answers RCPT and DATA as a test scripts."""

    port: int = 0
    messages: list[Received] = field(default_factory=list)
    peers: set[object] = field(default_factory=set)
    """The client end of each connection."""
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    """address -> replies to give its next RCPT commands, in turn; 250 once they run out."""
    hang_up: set[str] = field(default_factory=set)
    """Addresses whose refusals, from `rcpt_replies` or `data_replies`, the server follows by closing the connection."""
    data_replies: dict[str, str] = field(default_factory=dict)
    lose_answer: set[str] = field(default_factory=set)
    """Addresses whose message is taken, and the connection dropped before the answer."""
    close_on_mail: list[str] = field(default_factory=list)
    """Replies (421) to give the next MAIL commands, in turn, closing the connection after each."""
    greetings: list[str] = field(default_factory=list)
    """Replies to greet the next connections with, in turn, closing each (a 421 from a server at its limit of
    connections, a 554 from one that refuses this client); 220 once they run out."""
    answer_after: float = 0.0
    """Seconds the server takes to answer the end of a message's data (after taking it)."""
    stop: Callable[[], None] = lambda: None
    """Stops the server."""

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The messages received, once there are at least `count` (the server's thread appends them)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, (
                f"{len(self.messages)} of {count} messages arrived in {timeout} s"
            )
            time.sleep(0.01)
        return list(self.messages)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        self.peers.add(session.peer)
        session.host_name = hostname  # a handler's EHLO hook must do what aiosmtpd does without one
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.close_on_mail:
            await server.push(self.close_on_mail.pop(0))
            assert server.transport is not None
            server.transport.close()
            return "421 closing"  # never read: the connection is closed
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        replies = self.rcpt_replies.get(address)
        if replies:
            return await self._refuse(server, address, replies.pop(0))
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for address in envelope.rcpt_tos:
            if address in self.data_replies:
                return await self._refuse(server, address, self.data_replies[address])
        content = envelope.original_content
        assert isinstance(content, bytes) and isinstance(envelope.mail_from, str)
        assert server.transport is not None
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content, tls))
        await asyncio.sleep(self.answer_after)
        if self.lose_answer & set(envelope.rcpt_tos):
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
        return "250 2.0.0 queued"

    async def _refuse(self, server: SMTP, address: str, reply: str) -> str:
        if address in self.hang_up:
            await server.push(reply)
            assert server.transport is not None
            server.transport.close()
        return reply

    def copies(self) -> dict[str, EmailMessage]:
        return {message.rcpt_tos[0]: parse(message.data) for message in self.messages}


class MailServer(Controller):
    """aiosmtpd's Controller, whose server greets connections as a `Mailbox`'s `greetings` say before any other."""

    def factory(self) -> SMTP:
        return _Greeter(self.handler, **self.SMTP_kwargs)


class _Greeter(SMTP):
    async def _handle_client(self) -> None:
        mailbox = self.event_handler
        if isinstance(mailbox, Mailbox) and mailbox.greetings:
            await self.push(mailbox.greetings.pop(0))
            assert self.transport is not None
            self.transport.close()
            return
        await super()._handle_client()


# -- `broadsheet send` as a process ------------------------------------------------------------


def environment(engine: Engine, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROADSHEET_", "SENDGRID_"))}
    env.update(
        BROADSHEET_SECRET=SECRET,
        BROADSHEET_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        **extra,
    )
    return env


def with_settings(project: Project, lines: str) -> Project:
    """`project` with `lines` of TOML put before its settings (top-level keys), e.g. a tenth of the retry backoff."""
    settings = project.root / "broadsheet.toml"
    settings.write_text(lines + settings.read_text(encoding="utf-8"), encoding="utf-8")
    return project


def _send_command(*args: str) -> list[str]:
    """`broadsheet send` of the sample issue with `args`, as a process's command line."""
    return [sys.executable, "-m", "broadsheet", "send", "issues/2023-12-21.yaml", *args]


def run_send(
    project: Project, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _send_command(*args),
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def start_send(project: Project, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`run_send` started in the background, its output piped: read it with `communicate`."""
    return subprocess.Popen(
        _send_command(*args),
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        # Interrupted as at a terminal, even when the suite itself runs in the background, where the shell
        # leaves Ctrl-C's signal ignored, as every process it starts then inherits.
        preexec_fn=_interruptible,
    )


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def writer_processes(path: Path) -> list[int]:
    """The process ids of the outbox writers working for `path`, from Linux's /proc (a writer's command line
    names its folder)."""
    wanted = b"\0--writer\0" + os.fsencode(path) + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and wanted in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue  # ended meanwhile
    return found


def ended(process: int) -> bool:
    """Whether `process` has ended (gone, or a zombie: its pipes closed)."""
    try:
        return Path(f"/proc/{process}/stat").read_text().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


def read_outbox(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.rglob("*.eml"))
    ]


# -- Command output -----------------------------------------------------------------------------


def table_rows(output: str) -> list[list[str]]:
    """The tables in a command's output, line by line, each line split into its cells (a title is one cell).

    rich puts at least three spaces between cells and no cell here holds two in a
    row; an empty last cell leaves its line shorter. Blank lines and the rule
    under the headings are left out.
    """
    lines = (line.strip() for line in output.splitlines())
    return [re.split(r" {2,}", line) for line in lines if line and set(line) != {"─"}]


# -- Subscribers and their copies --------------------------------------------------------------


def add_subscribers(
    engine: Engine,
    count: int,
    *,
    locales: tuple[str, ...] = ("en", "my"),
    status: Status = Status.ACTIVE,
    start: int = 0,
    domains: tuple[str, ...] = ("example.org",),
) -> list[str]:
    addresses = []
    with OrmSession(engine) as session, session.begin():
        for number in range(start, start + count):
            address = f"reader{number}@{domains[number % len(domains)]}"
            session.add(
                Subscriber(
                    email=address,
                    email_key=address,
                    name=f"Reader {number}",
                    locale=locales[number % len(locales)],
                    status=status.value,
                )
            )
            addresses.append(address)
    return addresses


def states(engine: Engine) -> Counter[str]:
    with OrmSession(engine) as session:
        return Counter(session.scalars(select(LedgerEntry.state)))


# -- A stand-in for SendGrid ---------------------------------------------------------------------

RESERVED_HEADERS = {
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
    "content-type",
    "content-transfer-encoding",
    "dkim-signature",
    "received",
    "x-sg-id",
    "x-sg-eid",
}


def sendgrid_errors(*messages: tuple[str | None, str]) -> str:
    return json.dumps({"errors": [{"field": f, "message": m, "help": None} for f, m in messages]})


@dataclass
class FakeSendGrid:
    """Stands in for SendGrid's v3 `mail/send`: checks every request as SendGrid would, then answers as scripted.

    `script` holds the next answers ("202", "429", "500", "drop", or any status); "202" once it runs out.
    A request that breaks SendGrid's rules gets SendGrid's 400 and is kept in `problems`.
    """

    api_key: str
    script: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rate_limit_reset: int = 0
    drop_containing: set[str] = field(default_factory=set)
    """Addresses whose request is read whole and its connection then dropped, once each, whatever the script says."""
    forbidden_keys: set[str] = field(default_factory=set)
    """Keys SendGrid knows that lack the Mail Send permission: 403."""
    invalid: set[str] = field(default_factory=set)
    """Addresses SendGrid calls invalid: a request holding any of them gets a 400 naming each one's personalization."""

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") in {f"Bearer {key}" for key in self.forbidden_keys}:
            return Response(sendgrid_errors((None, "access forbidden")), 403, content_type="application/json")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return Response(
                sendgrid_errors((None, "The provided authorization grant is invalid, expired, or revoked")),
                401,
            )
        body = request.get_data()
        problems = self.check(request, body)
        self.problems += problems
        if problems:
            return Response(
                sendgrid_errors(*((None, p) for p in problems)), 400, content_type="application/json"
            )
        mail = json.loads(body)
        invalid = [
            (f"personalizations.{number}.to.0.email", "Does not contain a valid address.")
            for number, p in enumerate(mail["personalizations"])
            if p["to"][0]["email"] in self.invalid
        ]
        if invalid:  # SendGrid's validation takes nothing of the request
            return Response(sendgrid_errors(*invalid), 400, content_type="application/json")
        self.requests.append(mail)
        answer = self.script.pop(0) if self.script else "202"
        addresses = {to["email"] for p in mail["personalizations"] for to in p["to"]}
        if self.drop_containing & addresses:
            self.drop_containing -= addresses
            answer = "drop"
        if answer == "drop":
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return Response("", 500)
        if answer == "429":
            return Response(
                sendgrid_errors((None, "too many requests")),
                429,
                headers={
                    "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(self.rate_limit_reset),
                },
            )
        if answer == "202":
            return Response("", 202)
        return Response(
            sendgrid_errors(
                ("content.0.value", "The content value must be a string at least one character in length.")
            ),
            int(answer),
        )

    def check(self, request: Request, body: bytes) -> list[str]:
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return ["Content-Type must be application/json"]
        if len(body) >= 30_000_000:
            return ["the request must be under 30 MB"]
        mail = json.loads(body)
        problems = []
        personalizations = mail.get("personalizations")
        if not isinstance(personalizations, list) or not 1 <= len(personalizations) <= 1000:
            return ["personalizations: between 1 and 1000 personalizations"]
        addresses = [to["email"].lower() for p in personalizations for to in p.get("to", [])]
        if len(addresses) > 1000:
            problems.append("There is a limit of 1000 total recipients (to + cc + bcc) per request.")
        if len(set(addresses)) != len(addresses):
            problems.append(
                "Each unique email address in the personalizations array should only be included once."
            )
        for p in personalizations:
            if not p.get("to") or any(
                not to.get("email") or set(to.get("name", "")) & {",", ";"} for to in p["to"]
            ):
                problems.append("personalizations.to: an email, and a name without ; or ,")
            if (
                len(json.dumps({**mail.get("custom_args", {}), **p.get("custom_args", {})}).encode())
                >= 10_000
            ):
                problems.append(
                    "custom_args: the total length of custom arguments must be less than 10000 bytes"
                )
            if len(json.dumps(p.get("substitutions", {})).encode()) >= 10_000:
                problems.append("substitutions: at most 10000 bytes a personalization")
            if not all(
                isinstance(v, str)
                for v in (
                    *p.get("substitutions", {}).values(),
                    *p.get("custom_args", {}).values(),
                    *p.get("headers", {}).values(),
                )
            ):
                problems.append("substitutions, custom_args and headers take strings")
            if RESERVED_HEADERS & {h.lower() for h in p.get("headers", {})}:
                problems.append("headers: a reserved header")
            if not (mail.get("subject") or p.get("subject")):
                problems.append("subject: required in every personalization or at the message level")
        if not mail.get("from", {}).get("email"):
            problems.append("from.email is required")
        types = [c.get("type") for c in mail.get("content", [])]
        if (
            not types
            or not all(c.get("value") for c in mail["content"])
            or ("text/plain" in types and types[0] != "text/plain")
        ):
            problems.append("content: text/plain must come first, and every value must be non-empty")
        categories = mail.get("categories", [])
        if (
            len(categories) > 10
            or len(set(categories)) != len(categories)
            or any(len(c) > 255 for c in categories)
        ):
            problems.append("categories: at most 10 unique categories of at most 255 characters")
        return problems
