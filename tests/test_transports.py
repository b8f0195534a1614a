"""Transports against real parts: `.eml` files read back, a real SMTP server on loopback, an HTTP server standing in for SendGrid."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import itsdangerous
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer
from sendgrid.helpers.mail import (  # type: ignore[import-untyped]
    Asm,
    Category,
    Content,
    CustomArg,
    From,
    Header,
    Mail,
    Personalization,
    ReplyTo,
    Subject,
    Substitution,
    To,
)
from werkzeug import Request, Response

from broadsheet.delivery import personalize
from broadsheet.delivery.store import Subscriber
from broadsheet.delivery.transports import (
    Batch,
    Delivery,
    Outcome,
    Recipient,
    TransportError,
    open_transport,
)
from broadsheet.delivery.transports.mime import POLICY, compose
from broadsheet.delivery.transports.outbox import IN_PROCESS_BATCHES, OutboxTransport, file_name
from broadsheet.delivery.transports.retry import Backoff
from broadsheet.delivery.transports.sendgrid import SendGridTransport
from broadsheet.delivery.transports.smtp import SMTPTransport
from broadsheet.model import UNSUBSCRIBE_PLACEHOLDER
from broadsheet.settings import Settings

from .support import (
    FakeSendGrid,
    Mailbox,
    MailServer,
    accept_only,
    ended,
    free_port,
    parse,
    sendgrid_errors,
    writer_processes,
)

SUBJECT = "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်"
LONG_SUBJECT = "ကြေကွဲမှုနှင့် မျှော်လင့်ချက် နှင့် အခြား သတင်းများ ၂၀၂၃ ခုနှစ် ဒီဇင်ဘာ ၂၁ ရက်"
HTML = f'<p>မင်္ဂလာပါ</p><p><a href="{UNSUBSCRIBE_PLACEHOLDER}">စာရင်းမှ ထွက်ရန်</a></p>'
TEXT = f"မင်္ဂလာပါ\n\nစာရင်းမှ ထွက်ရန်: {UNSUBSCRIBE_PLACEHOLDER}\n"
SENDER = "ဒီဇင်ဘာ သတင်း <news@example.org>"
REPLY_TO = "Editors <editors@example.org>"
API_KEY = "SG.test-key.s3cr3t-value"


def subscriber(address: str, number: int = 1, name: str = "") -> Recipient:
    url = f"https://news.example.org/unsubscribe/{number}"
    return Recipient(
        address=address,
        name=name,
        message_id=f"<2023-12-21.{number}.abc@news.example.org>",
        substitutions={UNSUBSCRIBE_PLACEHOLDER: url},
        headers={
            "List-Unsubscribe": f"<{UNSUBSCRIBE_PLACEHOLDER}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        custom_args={"issue": "2023-12-21", "subscriber": str(number)},
    )


def edition(*recipients: Recipient, subject: str = SUBJECT) -> Batch:
    return Batch(
        issue="2023-12-21",
        locale="my",
        subject=subject,
        html=HTML,
        text=TEXT,
        sender=SENDER,
        reply_to=REPLY_TO,
        recipients=recipients,
    )


def assert_is_copy_for(message: EmailMessage, recipient: Recipient, subject: str = SUBJECT) -> None:
    """`message` is `recipient`'s copy of `edition()`: headers, both parts in order, placeholders filled in."""
    url = recipient.substitutions[UNSUBSCRIBE_PLACEHOLDER]
    assert message["To"].addresses[0].addr_spec == recipient.address
    assert message["To"].addresses[0].display_name == recipient.name
    assert message["From"].addresses[0].display_name == "ဒီဇင်ဘာ သတင်း"
    assert message["From"].addresses[0].addr_spec == "news@example.org"
    assert message["Reply-To"] == REPLY_TO
    assert message["Subject"] == subject
    assert message["Message-ID"] == recipient.message_id
    assert message["MIME-Version"] == "1.0"
    assert message["Date"].datetime.tzinfo is not None
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    # Text is encoded in its canonical form, with CRLF line ends (RFC 2045).
    assert text.get_content().replace("\r\n", "\n") == TEXT.replace(UNSUBSCRIBE_PLACEHOLDER, url)
    assert html.get_content().rstrip("\r\n") == HTML.replace(UNSUBSCRIBE_PLACEHOLDER, url)


def assert_smtp_safe(data: bytes) -> None:
    """CRLF line ends only, 7-bit, no line over SMTP's 998."""
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


# --- composing ---------------------------------------------------------------------------------


def test_message_is_crlf_seven_bit_and_reads_back_as_the_recipients_copy() -> None:
    recipient = subscriber("ko.ko@example.com", name="ကိုကို")
    data = compose(edition(recipient), recipient).as_bytes()
    assert_smtp_safe(data)
    assert_is_copy_for(parse(data), recipient)


def test_long_burmese_subject_keeps_every_space() -> None:
    """`email.policy.SMTP` on Python 3.11 runs the first two words of this subject together; ours must not."""
    recipient = subscriber("ko.ko@example.com")
    message = compose(edition(recipient, subject=LONG_SUBJECT), recipient)
    data = message.as_bytes()
    subject = data.split(b"\r\nSubject: ")[1].split(b"\r\nDate: ")[0]
    assert max(len(line) for line in subject.split(b"\r\n")) <= 78
    assert parse(data)["Subject"] == LONG_SUBJECT
    assert message.policy is POLICY


def test_list_unsubscribe_is_written_as_it_is_however_long() -> None:
    # Encoded words (=?utf-8?q?<https...?=) would hide the link from the mail clients' unsubscribe button.
    url = "https://progressivevoicemyanmar.org/newsletter/unsubscribe/1234.a1168cf7b49c.Ka57LEBVLWgSfi_iN5c6HebwMNo"
    recipient = dataclasses.replace(
        subscriber("ko.ko@example.com"),
        substitutions={UNSUBSCRIBE_PLACEHOLDER: url},
        headers={
            "List-Unsubscribe": f"<{UNSUBSCRIBE_PLACEHOLDER}>, <mailto:leave@example.org?subject=unsubscribe>"
        },
    )
    data = compose(edition(recipient), recipient).as_bytes()
    header = data.split(b"\r\nList-Unsubscribe: ")[1].split(b"\r\nMIME-Version: ")[0]
    assert b"=?" not in header
    assert (
        header.replace(b"\r\n ", b" ").decode("ascii")
        == f"<{url}>, <mailto:leave@example.org?subject=unsubscribe>"
    )
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    "name",
    [
        # Python 3.11 writes these encoded words back as raw text, line breaks and all (CVE-2024-6923).
        "=?utf-8?q?x=0D=0AReply-To:_attacker@evil.example=0D=0A=0D=0APhish:_http://evil.example/?=",
        # Folded, the quotes would go, and the commas make three addresses.
        "Support Team, attacker@evil.example, " + "x" * 60,
        'Daw "Su" \\ (Yangon) <office>' * 3,
    ],
    ids=["encoded-words", "long-with-commas", "long-with-specials"],
)
def test_no_name_adds_a_header_or_an_address(name: str) -> None:
    recipient = subscriber("ko.ko@example.com", name=name)
    data = compose(edition(recipient), recipient).as_bytes()
    head = data.split(b"\r\n\r\n")[0]
    assert head.count(b"\r\nReply-To: ") == 1 and b"Phish" not in head
    message = parse(data)
    [to] = message["To"].addresses
    assert to.addr_spec == "ko.ko@example.com"
    # The name as given, or none at all when it looks like encoded words.
    assert to.display_name == ("" if "=?" in name else name)
    assert message.get_content_type() == "multipart/alternative"


def test_an_organization_on_a_non_ascii_domain_gets_headers_in_idna_form() -> None:
    settings = Settings(
        sender="Bücherhalle <news@bücher.example>",
        reply_to="office@bücher.example",
        unsubscribe_url="https://bücher.example/abmelden/{token}",
        unsubscribe_email="leave@bücher.example",
    )
    reader = Subscriber(
        id=7,
        email="reader@example.org",
        email_key="reader@example.org",
        name="",
        locale="en",
        status="active",
    )
    copy = personalize.recipient(
        reader, "2023-12-21", settings, personalize.Signer("a-long-random-test-secret")
    )
    batch = dataclasses.replace(edition(copy), sender=settings.sender, reply_to=settings.reply_to)
    message = parse(compose(batch, copy).as_bytes())
    assert message["From"].addresses[0].addr_spec == "news@xn--bcher-kva.example"
    assert message["From"].addresses[0].display_name == "Bücherhalle"
    assert message["Reply-To"].addresses[0].addr_spec == "office@xn--bcher-kva.example"
    assert message["Message-ID"].endswith("@xn--bcher-kva.example>")
    token = quote(personalize.Signer("a-long-random-test-secret").token(reader), safe="")
    assert str(message["List-Unsubscribe"]) == (
        f"<https://xn--bcher-kva.example/abmelden/{token}>, <mailto:leave@xn--bcher-kva.example?subject=unsubscribe>"
    )


def test_unsubscribe_tokens_are_those_itsdangerous_signs_and_verify_with_it() -> None:
    secret = "a-long-random-test-secret"
    signer, reference = personalize.Signer(secret), itsdangerous.Signer(secret, salt="broadsheet-unsubscribe")
    readers = [
        personalize.Reader(1, "a@example.org", "a@example.org", ""),
        personalize.Reader(987654321, "Ünï@bücher.example", "ünï@bücher.example", "ဦး"),
        Subscriber(
            id=42, email="B@Example.org", email_key="b@example.org", name="B", locale="en", status="active"
        ),
    ]
    for reader in readers:
        token = signer.token(reader)
        value = f"{reader.id}.{personalize.Signer.address_digest(reader.email_key)}"
        assert token == reference.sign(value).decode("ascii")
        assert reference.unsign(token).decode("ascii") == value
        assert signer.subscriber_of(token) == (reader.id, personalize.Signer.address_digest(reader.email_key))
        digest = hmac.new(secret.encode(), f"2023-12-21:{reader.id}".encode(), hashlib.sha256).hexdigest()[
            :16
        ]
        assert (
            signer.message_id("2023-12-21", reader, "example.org")
            == f"<2023-12-21.{reader.id}.{digest}@example.org>"
        )


def test_recipient_name_with_comma_is_quoted_not_split() -> None:
    recipient = subscriber("ko.ko@example.com", name="Ko, Ko")
    message = parse(compose(edition(recipient), recipient).as_bytes())
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ("Ko, Ko", "ko.ko@example.com")
    ]


@pytest.mark.parametrize(
    "address",
    ["not-an-address", "a@b\r\nBcc: everyone@example.com", "ကို@example.com", ""],
)
def test_address_that_cannot_be_written_is_refused(address: str) -> None:
    recipient = subscriber(address)
    with pytest.raises(ValueError, match=r"not an email address|not ASCII"):
        compose(edition(recipient), recipient)


def test_internationalized_domain_is_written_in_idna() -> None:
    recipient = subscriber("ko@မြန်မာ.example")
    message = parse(compose(edition(recipient), recipient).as_bytes())
    assert message["To"].addresses[0].domain == "xn--7idjb0f4ck.example"


# --- outbox ------------------------------------------------------------------------------------


def test_outbox_writes_one_file_per_recipient_that_reads_back_as_their_copy(tmp_path: Path) -> None:
    first, second = subscriber("ko.ko@example.com", 1, "ကိုကို"), subscriber("ma.ma@example.com", 2, "Ma Ma")
    transport = open_transport(f"outbox:{tmp_path}", environ={})

    deliveries = transport.send(edition(first, second))

    folder = tmp_path / "2023-12-21" / "my"
    assert deliveries == [
        Delivery("ko.ko@example.com", Outcome.SENT, str(folder / "ko.ko@example.com.eml")),
        Delivery("ma.ma@example.com", Outcome.SENT, str(folder / "ma.ma@example.com.eml")),
    ]
    assert sorted(p.name for p in folder.iterdir()) == ["ko.ko@example.com.eml", "ma.ma@example.com.eml"]
    for recipient in (first, second):
        data = (folder / f"{recipient.address}.eml").read_bytes()
        assert_smtp_safe(data)
        assert_is_copy_for(parse(data), recipient)


def test_outbox_rerun_replaces_each_file_whole_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path)
    batch = edition(subscriber("ko.ko@example.com"))
    transport.send(batch)
    transport.send(batch)
    assert [p.name for p in (tmp_path / "2023-12-21" / "my").iterdir()] == ["ko.ko@example.com.eml"]


def test_outbox_fails_an_unwritable_address_and_writes_the_others(tmp_path: Path) -> None:
    deliveries = OutboxTransport(tmp_path).send(
        edition(subscriber("not an address"), subscriber("ma.ma@example.com", 2))
    )
    assert [(d.address, d.outcome) for d in deliveries] == [
        ("not an address", Outcome.FAILED),
        ("ma.ma@example.com", Outcome.SENT),
    ]
    assert "is not an email address" in deliveries[0].detail


def test_outbox_writes_only_the_copies_the_ledger_cleared(tmp_path: Path) -> None:
    first, second = subscriber("ko.ko@example.com", 1), subscriber("ma.ma@example.com", 2)
    folder = tmp_path / "2023-12-21" / "my"
    written_when_asked: list[list[Path]] = []

    def clearance() -> list[int]:
        written_when_asked.append(sorted(folder.glob("*")))
        return [1]

    deliveries = OutboxTransport(tmp_path).send(
        dataclasses.replace(edition(first, second), clearance=clearance)
    )

    assert written_when_asked == [[]]
    assert deliveries == [Delivery("ma.ma@example.com", Outcome.SENT, str(folder / "ma.ma@example.com.eml"))]
    assert [p.name for p in folder.iterdir()] == ["ma.ma@example.com.eml"]


def test_outbox_answers_only_for_the_cleared_copies_even_one_it_could_not_compose(tmp_path: Path) -> None:
    """Copies are made before the ledger clears them: one it did not clear gets no answer, whatever its fate."""
    unwritable, held, cleared = (
        subscriber("not an address", 1),
        subscriber("held@example.com", 2),
        subscriber("ma.ma@example.com", 3),
    )
    batch = dataclasses.replace(edition(unwritable, held, cleared), clearance=lambda: [0, 2])
    deliveries = OutboxTransport(tmp_path).send(batch)
    assert [(d.address, d.outcome) for d in deliveries] == [
        ("not an address", Outcome.FAILED),
        ("ma.ma@example.com", Outcome.SENT),
    ]
    batch = dataclasses.replace(edition(unwritable, held, cleared), clearance=lambda: [1])
    assert [(d.address, d.outcome) for d in OutboxTransport(tmp_path).send(batch)] == [
        ("held@example.com", Outcome.SENT)
    ]
    assert sorted(p.name for p in (tmp_path / "2023-12-21" / "my").iterdir()) == [
        "held@example.com.eml",
        "ma.ma@example.com.eml",
    ]


def test_outbox_file_names_never_collide_even_on_case_insensitive_disks() -> None:
    addresses = [
        "ko@example.com",
        "KO@example.com",
        "Ko@example.com",
        "a~b@example.com",
        "a_b@example.com",
        ".hidden@example.com",
    ]
    names = [file_name(a) for a in addresses]
    assert names[0] == "ko@example.com"
    assert len({n.lower() for n in names}) == len(addresses)
    assert all("/" not in n and not n.startswith(".") for n in [*names, file_name("../../etc/passwd")])


def test_outbox_that_cannot_write_stops_the_send(tmp_path: Path) -> None:
    (tmp_path / "2023-12-21").write_text("a file where a folder should be")
    with pytest.raises(TransportError, match="outbox: cannot write"):
        OutboxTransport(tmp_path).send(edition(subscriber("ko.ko@example.com")))
    assert not list((tmp_path / "2023-12-21").parent.rglob("*.eml"))


def same_but_boundary_and_date(data: bytes) -> bytes:
    """A message with its multipart boundary and its `Date` taken out: each process chooses its own boundary."""
    boundary = parse(data).get_boundary()
    assert boundary
    return re.sub(rb"\r\nDate: [^\r]*\r\n", b"\r\n", data.replace(boundary.encode("ascii"), b"BOUNDARY"))


def test_outbox_hands_a_large_sends_batches_to_writer_processes_that_write_the_same_copies(
    tmp_path: Path,
) -> None:
    names = ["ကိုကို", "Ko, Ko", 'Ma "Ma"', "", "Zaw Zaw"]
    batches = [
        edition(*[subscriber(f"r{n}@example.com", n, names[n % 5]) for n in range(k * 5, k * 5 + 5)])
        for k in range(IN_PROCESS_BATCHES + 2)
    ]
    transport = OutboxTransport(tmp_path / "writers", writers=2)
    assert transport.channels == 2
    here = OutboxTransport(tmp_path / "here", writers=0)
    assert here.channels == 1
    try:
        for number, batch in enumerate(batches):
            deliveries = transport.send(batch)
            here.send(batch)
            folder = tmp_path / "writers" / "2023-12-21" / "my"
            assert deliveries == [
                Delivery(r.address, Outcome.SENT, str(folder / f"{r.address}.eml")) for r in batch.recipients
            ]
            # The first batches are written here; then one writer, taken again by each send of one channel.
            assert len(writer_processes(tmp_path / "writers")) == (number >= IN_PROCESS_BATCHES)
        for recipient in [r for batch in batches for r in batch.recipients]:
            written = (tmp_path / "writers" / "2023-12-21" / "my" / f"{recipient.address}.eml").read_bytes()
            assert_smtp_safe(written)
            assert_is_copy_for(parse(written), recipient)
            alone = (tmp_path / "here" / "2023-12-21" / "my" / f"{recipient.address}.eml").read_bytes()
            assert same_but_boundary_and_date(written) == same_but_boundary_and_date(alone)
    finally:
        transport.close()
    assert writer_processes(tmp_path / "writers") == []


READERS = [
    personalize.Reader(n, address, address.lower(), name)
    for n, (address, name) in enumerate(
        [
            ("ko.ko@example.com", "ကိုကို"),
            ("Ma.Ma@Example.com", 'Ma "Ma", editor'),
            ("zaw@မြန်မာ.example", ""),
            ("a.very.long.address.of.somebody@a-long-domain-name.example.org", "Zaw " * 30),
            ("plain@example.org", "=?utf-8?q?Phish?="),
        ],
        start=1,
    )
]
"""Subscribers' rows as the ledger claims them, with the names and addresses that are hardest to write."""


def recipe(secret: str = "a-long-random-test-secret") -> personalize.Recipe:
    settings = Settings(
        unsubscribe_url="https://news.example.org/leave/{token}",
        preferences_url="https://news.example.org/choose/{token}",
        unsubscribe_email="leave@example.org",
    )
    return personalize.Recipe.of("2023-12-21", settings, personalize.Signer(secret))


def test_copies_are_made_from_their_rows_when_read_as_recipient_makes_them() -> None:
    made = recipe()
    signer = personalize.Signer(made.secret)
    copies = personalize.Copies(made, READERS)
    settings = Settings(
        unsubscribe_url=made.unsubscribe_url,
        preferences_url=made.preferences_url,
        unsubscribe_email=made.unsubscribe_email,
    )
    assert list(copies) == [
        personalize.recipient(reader, "2023-12-21", settings, signer) for reader in READERS
    ]
    # Each made once.
    assert copies[1] is copies[1] and copies[-1] is copies[len(copies) - 1]
    assert [a is b for a, b in zip(copies, copies, strict=True)] == [True] * len(READERS)
    assert copies[1:3] == [copies[1], copies[2]]
    with pytest.raises(IndexError):
        copies[len(READERS)]


def test_a_recipe_never_shows_its_secret() -> None:
    made = recipe("a-secret-that-must-not-show")
    assert "a-secret-that-must-not-show" not in repr(made) + str(made)
    assert "a-secret-that-must-not-show" not in repr(personalize.Copies(made, READERS))


def test_writers_make_the_copies_of_subscribers_rows_themselves_the_same_as_the_sending_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = recipe()
    rows = [READERS[k % 2 :: 2] for k in range(IN_PROCESS_BATCHES + 2)]
    batches = [dataclasses.replace(edition(), recipients=personalize.Copies(made, some)) for some in rows]
    transport = OutboxTransport(tmp_path / "writers", writers=2)
    here = OutboxTransport(tmp_path / "here", writers=0)
    folder = tmp_path / "writers" / "2023-12-21" / "my"
    try:
        for number, (batch, some) in enumerate(zip(batches, rows, strict=True)):
            if number == IN_PROCESS_BATCHES:
                # From here on the writers have the batches: this process makes no copy of them.
                def made_here(*args: Any) -> None:
                    raise AssertionError("a copy was made in the sending process")

                monkeypatch.setattr(personalize.Recipe, "make", made_here)
            deliveries = transport.send(batch)
            assert deliveries == [
                Delivery(reader.email, Outcome.SENT, str(folder / f"{file_name(reader.email)}.eml"))
                for reader in some
            ]
            assert len(writer_processes(tmp_path / "writers")) == (number >= IN_PROCESS_BATCHES)
        assert "a-long-random-test-secret" not in " ".join(
            Path("/proc", str(pid), "cmdline").read_text() for pid in writer_processes(tmp_path / "writers")
        )
        monkeypatch.undo()
        for batch in batches:
            here.send(dataclasses.replace(batch, recipients=list(batch.recipients)))
    finally:
        transport.close()
    for reader in READERS:
        name = f"{file_name(reader.email)}.eml"
        written = (folder / name).read_bytes()
        assert_smtp_safe(written)
        alone = (tmp_path / "here" / "2023-12-21" / "my" / name).read_bytes()
        assert same_but_boundary_and_date(written) == same_but_boundary_and_date(alone)
        token = personalize.Signer(made.secret).token(reader)
        assert f"https://news.example.org/leave/{token}".encode() in written


def assert_writes_every_batch_itself(tmp_path: Path) -> None:
    """An outbox of two writers, in `tmp_path`, that writes every batch in the sending process, none lost."""
    transport = OutboxTransport(tmp_path / "outbox", writers=2)
    batches = [edition(subscriber(f"r{n}@example.com", n)) for n in range(IN_PROCESS_BATCHES + 3)]
    try:
        for batch in batches:
            assert [d.outcome for d in transport.send(batch)] == [Outcome.SENT]
    finally:
        transport.close()
    assert transport.writers == 0
    written = sorted(p.name for p in (tmp_path / "outbox" / "2023-12-21" / "my").iterdir())
    assert written == sorted(f"r{n}@example.com.eml" for n in range(len(batches)))


def test_an_outbox_whose_writers_cannot_start_writes_every_batch_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    assert_writes_every_batch_itself(tmp_path)


@pytest.mark.parametrize("ends", ["at once", "once it has the batch"])
def test_an_outbox_whose_writers_end_before_writing_anything_writes_every_batch_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ends: str
) -> None:
    # An interpreter that cannot run the writer (here a script that says why and ends, at once or after reading
    # the first batch): nothing of that batch was written, so the sending process writes it, and the rest.
    python = tmp_path / "python"
    wait = "" if ends == "at once" else "head -c 4 >/dev/null\n"
    python.write_text(f"#!/bin/sh\n{wait}echo \"No module named 'broadsheet'\" >&2\nexit 1\n")
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    assert_writes_every_batch_itself(tmp_path)


def outbox_with_a_writer(path: Path) -> OutboxTransport:
    """An outbox whose next batch goes to a writer process, already started."""
    transport = OutboxTransport(path, writers=1)
    for number in range(IN_PROCESS_BATCHES + 1):
        transport.send(edition(subscriber(f"early{number}@example.com", number)))
    [writer] = writer_processes(path)
    assert writer
    return transport


def test_an_outbox_writer_killed_before_its_batch_is_cleared_stops_the_send_with_nothing_of_it_written(
    tmp_path: Path,
) -> None:
    transport = outbox_with_a_writer(tmp_path)
    [writer] = writer_processes(tmp_path)

    def clearance() -> list[int]:
        os.kill(writer, signal.SIGKILL)
        while not ended(writer):
            time.sleep(0.01)
        return [0, 1]

    batch = dataclasses.replace(
        edition(subscriber("ko.ko@example.com", 1), subscriber("ma.ma@example.com", 2)), clearance=clearance
    )
    try:
        with pytest.raises(TransportError, match=r"^outbox: a writer process was killed by signal 9$"):
            transport.send(batch)
        assert not list(tmp_path.rglob("m*.eml")) and not list(tmp_path.rglob("ko*.eml"))
        with pytest.raises(TransportError, match="ended in an earlier batch"):
            transport.send(edition(subscriber("later@example.com", 3)))
    finally:
        transport.close()


def test_an_outbox_writer_killed_after_its_batch_was_cleared_leaves_that_batch_unknown_and_stops_the_send(
    tmp_path: Path,
) -> None:
    transport = outbox_with_a_writer(tmp_path)
    [writer] = writer_processes(tmp_path)

    def clearance() -> list[int]:
        # Stopped before it reads the batch's clearance, killed once the transport waits for its answer.
        os.kill(writer, signal.SIGSTOP)
        threading.Timer(0.3, os.kill, (writer, signal.SIGKILL)).start()
        return [1]

    batch = dataclasses.replace(
        edition(subscriber("ko.ko@example.com", 1), subscriber("ma.ma@example.com", 2)), clearance=clearance
    )
    try:
        [delivery] = transport.send(batch)
        assert delivery == Delivery(
            "ma.ma@example.com",
            Outcome.UNKNOWN,
            "outbox: a writer process was killed by signal 9, not saying which files",
        )
        with pytest.raises(TransportError, match=r"^outbox: a writer process ended in an earlier batch"):
            transport.send(edition(subscriber("later@example.com", 3)))
    finally:
        transport.close()
    assert writer_processes(tmp_path) == []


def test_an_outbox_writer_that_cannot_write_a_file_stops_the_send_and_goes_on_writing_the_next_batch(
    tmp_path: Path,
) -> None:
    transport = outbox_with_a_writer(tmp_path)
    [writer] = writer_processes(tmp_path)
    in_the_way = tmp_path / "2023-12-21" / "my" / "ma.ma@example.com.eml"
    (in_the_way / "a folder").mkdir(parents=True)  # where the file should go
    try:
        with pytest.raises(TransportError, match=r"^outbox: cannot write .*/ma\.ma@example\.com\.eml: "):
            transport.send(edition(subscriber("ko.ko@example.com", 1), subscriber("ma.ma@example.com", 2)))
        # The batch counts as not handed over (the rerun writes it whole); the writer itself is fine.
        assert transport.send(edition(subscriber("later@example.com", 3)))[0].outcome is Outcome.SENT
        assert writer_processes(tmp_path) == [writer]
    finally:
        transport.close()
    assert (tmp_path / "2023-12-21" / "my" / "later@example.com.eml").is_file()


def test_an_outbox_writer_that_says_a_lot_on_its_error_stream_does_not_hold_the_send_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python told to say each file it looks at while importing: far more than a pipe holds unread.
    monkeypatch.setenv("PYTHONVERBOSE", "2")
    transport = OutboxTransport(tmp_path, writers=1)
    answers: list[list[Delivery]] = []
    batches = [edition(subscriber(f"r{n}@example.com", n)) for n in range(IN_PROCESS_BATCHES + 2)]

    def send_all() -> None:
        with contextlib.suppress(TransportError):  # a writer killed below, when it was stuck
            answers.extend(transport.send(batch) for batch in batches)

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    sender.join(timeout=60)
    try:
        assert not sender.is_alive(), "the send waited for a writer stuck on its error stream"
        assert [d.outcome for answer in answers for d in answer] == [Outcome.SENT] * len(batches)
        assert len(writer_processes(tmp_path)) == 1
    finally:
        if not sender.is_alive():
            transport.close()
        else:
            for pid in writer_processes(tmp_path):
                os.kill(pid, signal.SIGKILL)


# --- SMTP --------------------------------------------------------------------------------------


@pytest.fixture
def start_smtp() -> Iterator[Callable[..., Mailbox]]:
    """Start a real SMTP server, on loopback unless `hostname` says: `start(mailbox=None, port=None, **Controller options)`."""
    controllers: list[MailServer] = []

    def start(mailbox: Mailbox | None = None, port: int | None = None, **options: Any) -> Mailbox:
        mailbox = mailbox or Mailbox()
        controller = MailServer(mailbox, port=port or free_port(), **{"hostname": "127.0.0.1", **options})
        controller.start()
        controllers.append(controller)
        mailbox.port = controller.port
        mailbox.stop = controller.stop
        return mailbox

    yield start
    for controller in controllers:
        if controller._thread is not None:  # not stopped by the test
            controller.stop()


@pytest.fixture
def waits() -> list[float]:
    """The backoff waits a transport asked for, instead of waiting them."""
    return []


@pytest.fixture
def backoff(waits: list[float]) -> Backoff:
    return Backoff(attempts=3, base=1.0, sleep=waits.append, jitter=lambda: 1.0)


@pytest.fixture
def smtp(backoff: Backoff) -> Iterator[Callable[..., SMTPTransport]]:
    """`smtp(url, **options)`: an SMTPTransport with the test's backoff, closed after the test."""
    opened: list[SMTPTransport] = []

    def make(url: str, **options: Any) -> SMTPTransport:
        transport = SMTPTransport.from_url(url, backoff=backoff, **{"timeout": 5.0, **options})
        opened.append(transport)
        return transport

    yield make
    for transport in opened:
        transport.close()


def send_each(transport: SMTPTransport, *recipients: Recipient) -> list[Delivery]:
    """What the send driver does: one recipient per hand-over."""
    return [delivery for recipient in recipients for delivery in transport.send(edition(recipient))]


def test_smtp_delivers_each_recipients_copy_over_one_connection(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    mailbox = start_smtp()
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")
    first, second, third = (subscriber(f"reader{n}@example.com", n, f"Reader {n}") for n in (1, 2, 3))

    deliveries = send_each(transport, first, second, third)

    assert [(d.address, d.outcome) for d in deliveries] == [
        (r.address, Outcome.SENT) for r in (first, second, third)
    ]
    assert all(d.detail.startswith("250") for d in deliveries)
    copies = mailbox.copies()
    for recipient in (first, second, third):
        assert_is_copy_for(copies[recipient.address], recipient)
    assert {m.mail_from for m in mailbox.messages} == {"news@example.org"}
    assert all(m.rcpt_tos == [m.rcpt_tos[0]] for m in mailbox.messages)
    assert len(mailbox.peers) == 1


def test_smtp_reconnects_when_the_server_closed_an_idle_connection(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp(timeout=0.2)
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")
    transport.send(edition(subscriber("reader1@example.com", 1)))
    time.sleep(0.5)  # the server gives up on the idle connection and closes it

    deliveries = transport.send(edition(subscriber("reader2@example.com", 2)))

    assert deliveries[0].outcome is Outcome.SENT
    assert len(mailbox.messages) == 2
    assert len(mailbox.peers) == 2
    assert waits == []  # a stale connection is replaced at once, not backed off


def test_smtp_survives_a_server_restart_between_batches(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")
    transport.send(edition(subscriber("reader1@example.com", 1)))
    mailbox.stop()
    start_smtp(mailbox, port=mailbox.port)
    deliveries = transport.send(edition(subscriber("reader2@example.com", 2)))
    assert deliveries[0].outcome is Outcome.SENT
    assert [m.rcpt_tos for m in mailbox.messages] == [["reader1@example.com"], ["reader2@example.com"]]
    assert len(mailbox.peers) == 2
    assert waits == []


@pytest.mark.parametrize("hang_up", [False, True], ids=["connection-kept", "server-hangs-up-after-refusing"])
def test_smtp_rejected_recipient_fails_with_the_server_reply_and_others_are_sent(
    hang_up: bool, start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    mailbox.rcpt_replies["gone@example.com"] = ["550 5.1.1 <gone@example.com>: user unknown"]
    mailbox.data_replies["spammy@example.com"] = "554 5.7.1 message refused as spam"
    if hang_up:  # as some servers do: the refusal stands all the same
        mailbox.hang_up |= {"gone@example.com", "spammy@example.com"}
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    deliveries = send_each(
        transport,
        subscriber("ok1@example.com", 1),
        subscriber("gone@example.com", 2),
        subscriber("spammy@example.com", 3),
        subscriber("ok2@example.com", 4),
    )

    assert deliveries == [
        Delivery("ok1@example.com", Outcome.SENT, "250 2.0.0 queued"),
        Delivery("gone@example.com", Outcome.FAILED, "RCPT TO: 550 5.1.1 <gone@example.com>: user unknown"),
        Delivery("spammy@example.com", Outcome.FAILED, "DATA: 554 5.7.1 message refused as spam"),
        Delivery("ok2@example.com", Outcome.SENT, "250 2.0.0 queued"),
    ]
    assert sorted(mailbox.copies()) == ["ok1@example.com", "ok2@example.com"]
    assert waits == []
    assert len(mailbox.peers) == (3 if hang_up else 1)  # a new connection after each hang-up, at once


def test_smtp_server_that_takes_the_recipient_then_refuses_data_fails_that_copy_and_the_next_goes(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    mailbox.rcpt_replies["odd@example.com"] = [
        "250 2.1.5 OK"
    ]  # said, but not kept: aiosmtpd then refuses DATA
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    deliveries = send_each(transport, subscriber("odd@example.com", 1), subscriber("ok@example.com", 2))

    assert deliveries == [
        Delivery("odd@example.com", Outcome.FAILED, "DATA: 503 Error: need RCPT command"),
        Delivery("ok@example.com", Outcome.SENT, "250 2.0.0 queued"),
    ]
    assert len(mailbox.peers) == 1
    assert waits == []


def test_smtp_temporary_refusal_defers_the_recipient_at_once_and_the_next_one_goes(
    start_smtp: Callable[..., Mailbox],
    smtp: Callable[..., SMTPTransport],
    waits: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailbox = start_smtp()
    mailbox.rcpt_replies["full@example.com"] = ["452 4.2.2 <full@example.com>: mailbox full"]
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    with caplog.at_level(logging.WARNING):
        deliveries = send_each(transport, subscriber("full@example.com", 1), subscriber("ok@example.com", 2))

    assert deliveries == [
        Delivery("full@example.com", Outcome.DEFERRED, "RCPT TO: 452 4.2.2 <full@example.com>: mailbox full"),
        Delivery("ok@example.com", Outcome.SENT, "250 2.0.0 queued"),
    ]
    assert waits == []  # the sender tries it again later, after everyone else
    assert len(mailbox.peers) == 1
    # The log names the reply, never the address.
    assert "…@example.com: deferred: RCPT TO: 452 4.2.2 <…@example.com>: mailbox full" in caplog.text
    assert "full@" not in caplog.text


def test_smtp_answer_lost_after_the_data_went_out_is_unknown_and_never_sent_again(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    mailbox.lose_answer.add("taken@example.com")
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    deliveries = send_each(transport, subscriber("taken@example.com", 1), subscriber("next@example.com", 2))

    assert [(d.address, d.outcome) for d in deliveries] == [
        ("taken@example.com", Outcome.UNKNOWN),
        ("next@example.com", Outcome.SENT),
    ]
    assert deliveries[0].detail.startswith(
        "the mail server closed the connection after the message went out, before answering"
    )
    assert [m.rcpt_tos for m in mailbox.messages] == [
        ["taken@example.com"],
        ["next@example.com"],
    ]  # once each
    assert len(mailbox.peers) == 2  # a new connection for the next message
    assert waits == []


def test_smtp_server_closing_with_421_is_reconnected_and_the_message_sent(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")
    send_each(transport, subscriber("first@example.com", 1))
    mailbox.close_on_mail.extend(["421 4.3.2 shutting down", "421 4.3.2 shutting down"])

    deliveries = send_each(transport, subscriber("second@example.com", 2))

    assert deliveries[0].outcome is Outcome.SENT
    assert [m.rcpt_tos for m in mailbox.messages] == [["first@example.com"], ["second@example.com"]]
    assert waits == [1.0]  # the first 421 on a used connection is retried at once, the second after a wait


def test_smtp_server_that_keeps_closing_stops_the_send_saying_what_happened(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    mailbox.close_on_mail.extend(["421 4.3.2 shutting down"] * 5)
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    with pytest.raises(TransportError) as caught:
        send_each(transport, subscriber("reader@example.com"))

    assert caught.value.message == (
        f"smtp://127.0.0.1:{mailbox.port}: the mail server closed the connection: MAIL FROM: 421 4.3.2 shutting down, "
        "still after 3 tries. The messages not handed over stay pending: run the same send again once the mail server "
        "takes connections"
    )
    assert mailbox.messages == []


LOGIN_WANTED = (
    "the server takes no mail before a login \\(or TLS\\): {step}: 530 5.7.0 Authentication required. "
    "Put the user and password in the transport's URL, smtp://user:password@host:port"
)
TOO_LARGE = "the mail server refuses the message as too large: {why}. Make the edition smaller, or raise the server's limit"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize(
    ("options", "misbehave", "said"),
    [
        (
            {},
            lambda mailbox: mailbox.greetings.extend(["554 5.7.1 your address is on a block list"] * 3),
            "the mail server refuses this client: 554 5.7.1 your address is on a block list",
        ),
        (  # as aiosmtpd, Gmail and Exchange do
            {"auth_required": True, "auth_require_tls": False},
            lambda mailbox: None,
            LOGIN_WANTED.format(step="MAIL FROM"),
        ),
        (
            {},
            lambda mailbox: mailbox.rcpt_replies.update(
                {"reader@example.com": ["530 5.7.0 Authentication required"]}
            ),
            LOGIN_WANTED.format(step="RCPT TO"),
        ),
        (  # says SIZE 1000 in its EHLO answer
            {"data_size_limit": 1000},
            lambda mailbox: None,
            TOO_LARGE.format(why=r"it is [\d,]+ bytes; the server takes at most 1,000 \(its SIZE\)"),
        ),
        (
            {},
            lambda mailbox: mailbox.data_replies.update(
                {"reader@example.com": "552 5.3.4 Message size exceeds fixed maximum message size"}
            ),
            TOO_LARGE.format(why="DATA: 552 5.3.4 Message size exceeds fixed maximum message size"),
        ),
    ],
    ids=[
        "greeting-554",
        "login-wanted-at-mail",
        "login-wanted-at-rcpt",
        "larger-than-size",
        "552-after-data",
    ],
)
def test_smtp_server_answer_every_copy_would_meet_stops_the_send_at_once_failing_nobody(
    options: dict[str, Any],
    misbehave: Callable[[Mailbox], None],
    said: str,
    start_smtp: Callable[..., Mailbox],
    smtp: Callable[..., SMTPTransport],
    waits: list[float],
) -> None:
    mailbox = start_smtp(**options)
    misbehave(mailbox)
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    with pytest.raises(TransportError) as caught:
        transport.send(edition(subscriber("reader@example.com")))

    assert re.fullmatch(f"smtp://127\\.0\\.0\\.1:{mailbox.port}: {said}", caught.value.message)
    assert mailbox.messages == []
    assert waits == []  # asked once


@pytest.mark.parametrize(
    ("step", "reply"),
    [
        ("rcpt", "552 5.2.2 mailbox full"),
        ("rcpt", "552 Requested mail action aborted: exceeded storage allocation"),
        ("rcpt", "550 5.2.2 The user's mailbox is over quota"),
        ("rcpt", "452 4.2.2 Quota exceeded (mailbox for user is full)"),  # Dovecot's: no sender's quota
        ("data", "552 5.2.2 mailbox full"),
    ],
)
def test_smtp_full_mailbox_defers_only_that_copy(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], step: str, reply: str
) -> None:
    """A full mailbox may be emptied: its copy is tried again, as a 452's is, until deferred_max_attempts."""
    mailbox = start_smtp()
    if step == "rcpt":
        mailbox.rcpt_replies["full@example.com"] = [reply]
    else:
        mailbox.data_replies["full@example.com"] = reply
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    deliveries = send_each(transport, subscriber("full@example.com", 1), subscriber("ok@example.com", 2))

    command = "RCPT TO" if step == "rcpt" else "DATA"
    assert [(d.address, d.outcome, d.detail) for d in deliveries] == [
        ("full@example.com", Outcome.DEFERRED, f"{command}: {reply}"),
        ("ok@example.com", Outcome.SENT, "250 2.0.0 queued"),
    ]
    assert [m.rcpt_tos for m in mailbox.messages] == [["ok@example.com"]]


def test_smtp_unknown_recipient_fails_only_that_copy(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    mailbox = start_smtp()
    mailbox.rcpt_replies["gone@example.com"] = ["550 5.1.1 No such user"]
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    deliveries = send_each(transport, subscriber("gone@example.com", 1), subscriber("ok@example.com", 2))

    assert [(d.address, d.outcome) for d in deliveries] == [
        ("gone@example.com", Outcome.FAILED),
        ("ok@example.com", Outcome.SENT),
    ]


def test_smtp_server_that_refuses_every_recipient_alike_stops_the_send_after_a_few(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    """Postfix's answer to a sender it will not relay for: every address gets it, whatever its domain."""
    mailbox = start_smtp()
    readers = [f"reader{number}@{domain}" for number in range(8) for domain in ("example.org", "example.net")]
    for address in readers:
        mailbox.rcpt_replies[address] = [f"554 5.7.1 <{address}>: Relay access denied"]
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    deliveries = [
        delivery for address in readers[:5] for delivery in transport.send(edition(subscriber(address)))
    ]
    with pytest.raises(TransportError) as caught:
        transport.send(edition(subscriber(readers[5])))

    assert [d.outcome for d in deliveries] == [Outcome.FAILED] * 5
    assert caught.value.message == (
        f"smtp://127.0.0.1:{mailbox.port}: the mail server refused the last 5 recipients, at 2 domains, with the "
        "same answer: RCPT TO: 554 5.7.1 <…>: Relay access denied. An answer every address gets is about the "
        "server's settings or the sender (a relay it refuses, a login it wants), not about the readers: stopping "
        "before it refuses the rest. The copies it refused so are failed; once the server takes them, run the same send "
        "with --retry-failed"
    )
    assert mailbox.rcpt_replies[readers[5]]  # the sixth was never asked for: its refusal is still to come
    assert mailbox.messages == []


@pytest.mark.parametrize(
    "replies",
    [
        # Unknown users, all at one domain: that domain's own answer.
        {
            f"gone{number}@example.org": f"550 5.1.1 <gone{number}@example.org>: no such user"
            for number in range(7)
        },
        # Refusals that differ beyond their address.
        {
            f"gone{number}@example.{'org' if number % 2 else 'net'}": f"550 5.1.{number % 3} refused"
            for number in range(7)
        },
    ],
)
def test_smtp_refusals_that_are_about_the_readers_never_stop_the_send(
    replies: dict[str, str], start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    mailbox = start_smtp()
    for address, reply in replies.items():
        mailbox.rcpt_replies[address] = [reply]
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    deliveries = send_each(
        transport, *(subscriber(address) for address in replies), subscriber("ok@example.org")
    )

    assert [d.outcome for d in deliveries] == [Outcome.FAILED] * len(replies) + [Outcome.SENT]
    assert [m.rcpt_tos for m in mailbox.messages] == [["ok@example.org"]]


@pytest.mark.parametrize(
    "message",
    [
        b"Subject: a\r\n\r\n.hidden\r\nline\r\n",
        b".first\n.second\rthird\r\n..",
        b"no end of line",
        b"",
        b"a\r\n.\r\n",
    ],
)
def test_smtp_data_is_what_smtplib_would_send(message: bytes) -> None:
    import smtplib

    from broadsheet.delivery.transports.smtp import _data_payload

    # smtplib.SMTP.data fixes line ends of a str only; broadsheet's messages are bytes, fixed the same way.
    expected = smtplib._quote_periods(smtplib._fix_eols(message.decode("ascii")).encode("ascii"))  # type: ignore[attr-defined]
    expected += b".\r\n" if expected.endswith(b"\r\n") else b"\r\n.\r\n"
    assert _data_payload(message) == expected


def test_smtp_takes_one_recipient_per_hand_over(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    mailbox = start_smtp()
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")
    with pytest.raises(TransportError, match="one recipient per hand-over; this batch has 2"):
        transport.send(edition(subscriber("a@example.com", 1), subscriber("b@example.com", 2)))
    assert mailbox.messages == []


def test_smtp_hands_over_only_a_cleared_copy_asking_before_its_data_and_keeps_the_connection(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    mailbox = start_smtp()
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")
    received_when_asked: list[int] = []

    def cleared_if(answer: list[int]) -> Callable[[], list[int]]:
        def clearance() -> list[int]:
            received_when_asked.append(len(mailbox.messages))
            return answer

        return clearance

    held, cleared = subscriber("held@example.com", 1), subscriber("cleared@example.com", 2)
    assert transport.send(dataclasses.replace(edition(held), clearance=cleared_if([]))) == []
    deliveries = transport.send(dataclasses.replace(edition(cleared), clearance=cleared_if([0])))

    assert [(d.address, d.outcome) for d in deliveries] == [("cleared@example.com", Outcome.SENT)]
    assert [m.rcpt_tos for m in mailbox.wait_for(1)] == [["cleared@example.com"]]
    assert received_when_asked == [0, 0]
    assert len(mailbox.peers) == 1


def test_smtp_connections_are_used_at_once_and_each_reused(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    import threading

    mailbox = start_smtp()
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}", connections=3)
    recipients = [subscriber(f"reader{n}@example.com", n) for n in range(30)]
    barrier = threading.Barrier(3)

    def channel(mine: list[Recipient]) -> None:
        barrier.wait()
        send_each(transport, *mine)

    threads = [threading.Thread(target=channel, args=(recipients[n::3],)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(m.rcpt_tos[0] for m in mailbox.messages) == sorted(r.address for r in recipients)
    assert len(mailbox.peers) <= 3


def test_smtp_server_that_greets_with_421_is_tried_again_with_backoff(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    mailbox.greetings = ["421 4.7.0 too many connections, try again later"] * 2
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    assert transport.send(edition(subscriber("reader@example.com")))[0].outcome is Outcome.SENT
    assert waits == [1.0, 2.0]

    mailbox.greetings = ["421 4.7.0 too many connections, try again later"] * 3
    with pytest.raises(TransportError) as caught:
        smtp(f"smtp://127.0.0.1:{mailbox.port}").send(edition(subscriber("next@example.com")))
    assert caught.value.message.startswith(
        f"smtp://127.0.0.1:{mailbox.port}: connecting: 421 4.7.0 too many connections, try again later, "
        "still after 3 tries."
    )
    assert [m.rcpt_tos for m in mailbox.messages] == [["reader@example.com"]]


def test_smtp_answer_slower_than_the_timeout_after_the_data_is_unknown_and_not_sent_again(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    mailbox.answer_after = 1.0
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}", timeout=0.3, data_timeout=0.3)

    [delivery] = transport.send(edition(subscriber("reader@example.com")))

    assert delivery.outcome is Outcome.UNKNOWN
    assert delivery.detail == (
        "the mail server closed the connection after the message went out, before answering "
        "(Connection unexpectedly closed: timed out)"
    )
    time.sleep(1.0)
    assert [m.rcpt_tos for m in mailbox.messages] == [["reader@example.com"]]  # taken once, never sent again
    assert waits == []


def test_smtp_answer_to_the_data_is_waited_for_longer_than_to_other_commands(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    """A server that scans each message before answering (1 s here) is waited for: the copy is sent, not unknown."""
    mailbox = start_smtp()
    mailbox.answer_after = 1.0
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}", timeout=0.5, data_timeout=5.0)

    [delivery] = transport.send(edition(subscriber("reader@example.com")))

    assert delivery.outcome is Outcome.SENT
    assert [m.rcpt_tos for m in mailbox.messages] == [["reader@example.com"]]
    assert waits == []


def test_smtp_server_without_8bitmime_or_smtputf8_gets_seven_bit_copies_of_burmese_names_and_idn_domains(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    mailbox = start_smtp(decode_data=True, enable_SMTPUTF8=False)  # says neither 8BITMIME nor SMTPUTF8
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")
    burmese = subscriber("ko.ko@example.com", 1, "ကိုကို")
    idn = subscriber("reader@မြန်မာ.example", 2, "Reader")
    non_ascii_mailbox = subscriber("ကိုကို@example.com", 3)

    deliveries = send_each(transport, burmese, idn, non_ascii_mailbox)

    assert [d.outcome for d in deliveries] == [Outcome.SENT, Outcome.SENT, Outcome.FAILED]
    assert deliveries[2].detail.startswith("cannot compose the message: ")
    assert "SMTPUTF8" in deliveries[2].detail
    [to_burmese, to_idn] = mailbox.messages
    assert to_idn.rcpt_tos == ["reader@xn--7idjb0f4ck.example"]
    for received in (to_burmese, to_idn):
        assert_smtp_safe(received.data)
    assert_is_copy_for(parse(to_burmese.data), burmese)


@pytest.mark.parametrize(
    ("address", "sent_to"),
    [
        # IDNA 2003 (Python's `idna` codec) maps ß to ss and a final sigma to a sigma: other domains, other owners.
        ("leser@straße.example", "leser@xn--strae-oqa.example"),
        ("reader@βόλος.example", "reader@xn--nxasmm1c.example"),
    ],
)
def test_smtp_sends_to_the_domain_the_address_names_where_idna_2003_maps_it_to_another(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], address: str, sent_to: str
) -> None:
    mailbox = start_smtp()
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}")

    [delivery] = send_each(transport, subscriber(address, 1, "Reader"))

    assert delivery.outcome is Outcome.SENT
    [received] = mailbox.messages
    assert received.rcpt_tos == [sent_to]
    assert parse(received.data)["To"].addresses[0].addr_spec == sent_to


def test_smtp_server_that_cannot_be_reached_is_retried_then_stops_the_send(
    smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    transport = smtp(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(TransportError, match="cannot connect"):
        transport.send(edition(subscriber("reader@example.com")))
    assert waits == [1.0, 2.0]


def test_smtp_logs_in_with_percent_decoded_user_and_password(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport]
) -> None:
    mailbox = start_smtp(
        authenticator=accept_only(b"editor@example.org", b"p@ss:w/rd"), auth_require_tls=False
    )
    transport = smtp(f"smtp://editor%40example.org:p%40ss%3Aw%2Frd@127.0.0.1:{mailbox.port}")
    assert transport.send(edition(subscriber("reader@example.com")))[0].outcome is Outcome.SENT


def test_smtp_refused_login_stops_the_send_without_showing_the_password(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp(authenticator=accept_only(b"editor", b"right"), auth_require_tls=False)
    transport = smtp(f"smtp://editor:wr0ng-pa55@127.0.0.1:{mailbox.port}")

    with pytest.raises(TransportError) as caught:
        transport.send(edition(subscriber("reader@example.com")))

    message = caught.value.message
    assert message.startswith(
        f"smtp://editor@127.0.0.1:{mailbox.port}: the server refused the login of 'editor': 535"
    )
    assert "wr0ng-pa55" not in message + repr(transport) + str(caught.value.__cause__) + str(
        caught.value.__context__
    )
    assert waits == []
    assert mailbox.messages == []


def test_smtp_login_refused_for_now_is_tried_again_with_backoff(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    peers: list[object] = []
    accept = accept_only(b"editor", b"right")

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        peers.append(session.peer)
        if session.peer == peers[0]:  # the first connection: the password store is down
            return AuthResult(
                success=False, handled=False, message="454 4.7.0 Temporary authentication failure"
            )
        return accept(server, session, envelope, mechanism, data)

    mailbox = start_smtp(authenticator=authenticator, auth_require_tls=False)
    transport = smtp(f"smtp://editor:right@127.0.0.1:{mailbox.port}")

    assert transport.send(edition(subscriber("reader@example.com")))[0].outcome is Outcome.SENT
    assert waits == [1.0]
    assert [m.rcpt_tos for m in mailbox.messages] == [["reader@example.com"]]


def test_smtp_server_without_starttls_gets_no_password_unless_on_loopback(
    start_smtp: Callable[..., Mailbox],
    smtp: Callable[..., SMTPTransport],
    waits: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server known by a name is not taken for this machine's own, whatever the name leads to: here the
    test's resolver sends `mail.example.test` to the real server on loopback."""
    resolve = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        return resolve("127.0.0.1" if host == "mail.example.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    mailbox = start_smtp()  # offers no STARTTLS: it has no certificate
    transport = smtp(f"smtp://editor:s3cret-pa55@mail.example.test:{mailbox.port}")

    with pytest.raises(TransportError) as caught:
        transport.send(edition(subscriber("reader@example.com")))

    assert caught.value.message == (
        f"smtp://editor@mail.example.test:{mailbox.port}: the server does not offer STARTTLS; refusing to send "
        "the password unencrypted (use smtps:// if the server speaks TLS on connect)"
    )
    assert "s3cret-pa55" not in caught.value.message + repr(transport)
    assert mailbox.messages == []
    assert waits == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder / "cert.pem", folder / "key.pem"


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_smtp_upgrades_with_starttls_before_logging_in(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], certificate: tuple[Path, Path]
) -> None:
    mailbox = start_smtp(
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=accept_only(b"editor", b"secret"),
    )
    trusting = ssl.create_default_context(cafile=certificate[0])
    transport = smtp(f"smtp://editor:secret@127.0.0.1:{mailbox.port}", tls_context=trusting)
    assert transport.send(edition(subscriber("reader@example.com")))[0].outcome is Outcome.SENT
    assert [m.tls for m in mailbox.messages] == [True]


def test_smtps_speaks_tls_from_the_start(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], certificate: tuple[Path, Path]
) -> None:
    mailbox = start_smtp(ssl_context=server_context(certificate))
    trusting = ssl.create_default_context(cafile=certificate[0])
    transport = smtp(f"smtps://127.0.0.1:{mailbox.port}", tls_context=trusting)
    assert transport.send(edition(subscriber("reader@example.com")))[0].outcome is Outcome.SENT
    assert [m.tls for m in mailbox.messages] == [True]


def test_smtp_server_certificate_that_does_not_verify_stops_the_send(
    start_smtp: Callable[..., Mailbox],
    smtp: Callable[..., SMTPTransport],
    certificate: tuple[Path, Path],
    waits: list[float],
) -> None:
    mailbox = start_smtp(ssl_context=server_context(certificate))
    transport = smtp(
        f"smtps://127.0.0.1:{mailbox.port}"
    )  # the system's trust store does not know the test certificate
    with pytest.raises(TransportError, match="TLS failed"):
        transport.send(edition(subscriber("reader@example.com")))
    assert waits == []


def test_a_login_asked_of_a_server_that_offers_auth_over_tls_only_says_so(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    # aiosmtpd, as Postfix by default, offers AUTH only once the connection is encrypted.
    mailbox = start_smtp(authenticator=accept_only(b"editor", b"right"), auth_require_tls=True)
    transport = smtp(f"smtp://editor:right@127.0.0.1:{mailbox.port}")
    with pytest.raises(
        TransportError,
        match=r"does not offer AUTH on a connection without TLS: if it offers AUTH over TLS only, write smtps://",
    ):
        transport.send(edition(subscriber("reader@example.com")))
    assert mailbox.messages == [] and waits == []


def test_smtp_to_a_server_that_speaks_tls_on_connect_says_to_write_smtps(
    start_smtp: Callable[..., Mailbox],
    smtp: Callable[..., SMTPTransport],
    certificate: tuple[Path, Path],
    waits: list[float],
) -> None:
    mailbox = start_smtp(ssl_context=server_context(certificate))
    transport = smtp(f"smtp://127.0.0.1:{mailbox.port}", timeout=0.5)
    with pytest.raises(TransportError) as caught:
        transport.send(edition(subscriber("reader@example.com")))
    assert caught.value.message == (
        f"smtp://127.0.0.1:{mailbox.port}: the server said nothing for 0.5 s, and answers a TLS handshake: it "
        "speaks TLS on connect, as on port 465. Write smtps://"
    )
    assert mailbox.messages == []
    assert waits == []  # said after the first try: trying again would meet the same silence


def test_smtp_server_that_never_greets_is_tried_again_then_stops_the_send(
    smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    """Connected, but silent, and no TLS either: a server too busy to greet, which may greet next time."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel completes connections never accepted
        url = f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(TransportError) as caught:
            smtp(url, timeout=0.3).send(edition(subscriber("reader@example.com")))
    assert caught.value.message.startswith(
        f"{url}: cannot connect (Connection unexpectedly closed: timed out), still after 3 tries."
    )
    assert "smtps" not in caught.value.message
    assert waits == [1.0, 2.0]


def test_smtps_to_a_server_that_speaks_plain_smtp_first_says_to_write_smtp(
    start_smtp: Callable[..., Mailbox], smtp: Callable[..., SMTPTransport], waits: list[float]
) -> None:
    mailbox = start_smtp()
    transport = smtp(f"smtps://127.0.0.1:{mailbox.port}")
    with pytest.raises(
        TransportError, match=r"TLS failed: WRONG_VERSION_NUMBER \(the server speaks plain SMTP first"
    ):
        transport.send(edition(subscriber("reader@example.com")))
    assert waits == []


def test_smtp_url_gives_user_port_and_tls() -> None:
    plain = SMTPTransport.from_url("smtp://mail.example.org")
    assert (plain.host, plain.port, plain.implicit_tls, plain.username) == (
        "mail.example.org",
        587,
        False,
        "",
    )
    tls = open_transport("smtps://editor%40example.org:p%40ss@mail.example.org", environ={})
    assert isinstance(tls, SMTPTransport)
    assert (tls.port, tls.implicit_tls, tls.username) == (465, True, "editor@example.org")
    assert repr(tls) == "SMTPTransport('smtps://editor%40example.org@mail.example.org:465')"
    assert SMTPTransport.from_url("smtp://[::1]:2525").port == 2525


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("smtp://", "smtp://: expected smtp://[user:password@]host[:port] or smtps://..."),
        (
            "smtp://u:secret@mail.example.org:99999",
            "smtp://mail.example.org: the port must be a number from 1 to 65535",
        ),
    ],
)
def test_smtp_bad_url_is_refused_without_its_password(url: str, message: str) -> None:
    with pytest.raises(TransportError) as caught:
        SMTPTransport.from_url(url)
    assert caught.value.message == message


# --- SendGrid ----------------------------------------------------------------------------------


def answered(server: HTTPServer, count: int) -> list[Any]:
    """The server's log once it holds `count` requests: a handler that hung up, or answered after the client's
    timeout, logs its request after the client has moved on, and would log it into a later test."""
    deadline = time.monotonic() + 10
    while len(server.log) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(server.log)


@pytest.fixture
def sendgrid(httpserver: HTTPServer) -> Iterator[FakeSendGrid]:
    fake = FakeSendGrid(API_KEY)
    httpserver.expect_request("/v3/mail/send", method="POST").respond_with_handler(fake.handle)
    yield fake
    assert fake.problems == []
    httpserver.check_handler_errors()


@pytest.fixture
def sendgrid_transport(httpserver: HTTPServer, backoff: Backoff) -> Callable[..., SendGridTransport]:
    def make(api_key: str = API_KEY, **options: Any) -> SendGridTransport:
        environ = {"SENDGRID_API_KEY": api_key, "BROADSHEET_SENDGRID_URL": httpserver.url_for("/")}
        return SendGridTransport.from_environment(
            environ, backoff=backoff, clock=lambda: 1_700_000_000.0, **options
        )

    return make


def test_sendgrid_sends_a_batch_in_one_request_with_one_personalization_per_recipient_in_order(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport]
) -> None:
    recipients = [subscriber(f"reader{n}@example.com", n, f"Reader {n}") for n in range(1, 6)]
    transport = sendgrid_transport(unsubscribe_group=42)

    deliveries = transport.send(edition(*recipients))

    assert deliveries == [Delivery(r.address, Outcome.SENT) for r in recipients]
    [mail] = sendgrid.requests
    assert mail["from"] == {"email": "news@example.org", "name": "ဒီဇင်ဘာ သတင်း"}
    assert mail["reply_to"] == {"email": "editors@example.org", "name": "Editors"}
    assert mail["subject"] == SUBJECT
    assert mail["content"] == [{"type": "text/plain", "value": TEXT}, {"type": "text/html", "value": HTML}]
    assert mail["categories"] == ["2023-12-21"]
    assert mail["asm"] == {"group_id": 42}
    assert [p["to"] for p in mail["personalizations"]] == [
        [{"email": r.address, "name": r.name}] for r in recipients
    ]
    first = mail["personalizations"][0]
    assert first["substitutions"] == {UNSUBSCRIBE_PLACEHOLDER: "https://news.example.org/unsubscribe/1"}
    assert first["custom_args"] == {"issue": "2023-12-21", "subscriber": "1"}
    assert first["headers"] == {
        "Message-ID": "<2023-12-21.1.abc@news.example.org>",
        "List-Unsubscribe": "<https://news.example.org/unsubscribe/1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_sendgrid_takes_a_full_batch_of_1000_and_refuses_1001_before_sending(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport]
) -> None:
    transport = sendgrid_transport()
    assert transport.max_batch == 1000
    recipients = [subscriber(f"reader{n}@example.com", n) for n in range(1001)]

    with pytest.raises(TransportError, match="at most 1000 recipients; this batch has 1001"):
        transport.send(edition(*recipients))
    assert sendgrid.requests == []

    assert all(d.outcome is Outcome.SENT for d in transport.send(edition(*recipients[:1000])))
    assert [p["to"][0]["email"] for p in sendgrid.requests[0]["personalizations"]] == [
        r.address for r in recipients[:1000]
    ]


def test_sendgrid_refuses_an_address_twice_in_one_request(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport]
) -> None:
    with pytest.raises(
        TransportError, match=r"each address may appear once in a request; Reader@example\.com appears twice"
    ):
        sendgrid_transport().send(
            edition(subscriber("reader@example.com", 1), subscriber("Reader@example.com", 2))
        )
    assert sendgrid.requests == []


def test_sendgrid_refuses_custom_args_over_its_limit(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport]
) -> None:
    bulky = Recipient("reader@example.com", "", "<1@example.org>", {}, custom_args={"note": "x" * 10_000})
    with pytest.raises(TransportError, match="custom_args must be under 10000 bytes"):
        sendgrid_transport().send(edition(bulky))
    assert sendgrid.requests == []


def test_sendgrid_drops_the_characters_it_refuses_in_names(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport]
) -> None:
    sendgrid_transport().send(edition(subscriber("reader@example.com", name="Ko, Ko; Jr.")))
    assert sendgrid.requests[0]["personalizations"][0]["to"] == [
        {"email": "reader@example.com", "name": "Ko Ko Jr."}
    ]


@pytest.mark.parametrize(
    ("address", "sent"),
    [
        ("leser@straße.de", "leser@xn--strae-oqa.de"),  # IDNA 2008: ß is kept, not made "ss"
        ("aung@မြန်မာ.com", "aung@xn--7idjb0f4ck.com"),
        ("reader@example.com", "reader@example.com"),
    ],
)
def test_sendgrid_gets_a_domain_in_its_idna_form(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport], address: str, sent: str
) -> None:
    sendgrid_transport().send(edition(subscriber(address)))
    assert sendgrid.requests[0]["personalizations"][0]["to"] == [{"email": sent}]


ODD_NAMES = [
    "",
    "မောင် ကိုကို",
    "Ko, Ko; Jr.",
    'O\'Brien "Bob" \\ back',
    "  Tab\tand\nline  ",
    "=?utf-8?q?e6?=",
    "Zoë 🌧️ </script>",
]


def test_sendgrid_request_is_the_json_the_sendgrid_library_writes(
    sendgrid_transport: Callable[..., SendGridTransport],
) -> None:
    settings = Settings(
        unsubscribe_url="https://news.example.org/u/{token}", unsubscribe_email="leave@example.org"
    )
    signer = personalize.Signer("a-long-random-test-secret")
    recipients = [
        personalize.recipient(
            personalize.Reader(n, f"reader{n}@example.com", f"reader{n}@example.com", name),
            "2023-12-21",
            settings,
            signer,
        )
        for n, name in enumerate(ODD_NAMES, start=1)
    ]
    batch = edition(*recipients)
    mail = Mail()
    mail.from_email = From("news@example.org", "ဒီဇင်ဘာ သတင်း")
    mail.reply_to = ReplyTo("editors@example.org", "Editors")
    mail.subject = Subject(SUBJECT)
    mail.add_content(Content("text/plain", TEXT))
    mail.add_content(Content("text/html", HTML))
    mail.add_category(Category("2023-12-21"))
    mail.asm = Asm(42)
    for copy in recipients:
        each = Personalization()
        # SendGrid refuses `,` and `;` in a name: the transport drops them, and the spaces around.
        name = " ".join(copy.name.replace(",", " ").replace(";", " ").split())
        each.add_to(To(copy.address, name or None))
        for placeholder, value in copy.substitutions.items():
            each.add_substitution(Substitution(placeholder, value))
        for header, value in {"Message-ID": copy.message_id, **copy.headers}.items():
            each.add_header(Header(header, value))
        for key, value in copy.custom_args.items():
            each.add_custom_arg(CustomArg(key, value))
        mail.add_personalization(
            each, index=len(mail.personalizations or [])
        )  # at the front, without an index

    body = sendgrid_transport(unsubscribe_group=42).request_body(batch)

    assert json.loads(body) == json.loads(json.dumps(mail.get()))
    assert body == json.dumps(json.loads(body)).encode("ascii")  # as the library writes it: ASCII, escaped


def test_sendgrid_waits_for_the_rate_limit_to_reset_then_sends(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport], waits: list[float]
) -> None:
    sendgrid.script = ["429"]
    sendgrid.rate_limit_reset = 1_700_000_007  # the test clock says 1_700_000_000
    deliveries = sendgrid_transport().send(edition(subscriber("reader@example.com")))
    assert deliveries[0].outcome is Outcome.SENT
    assert waits == [7.0]
    assert len(sendgrid.requests) == 2


def test_sendgrid_rate_limit_that_resets_too_late_stops_the_send(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport], waits: list[float]
) -> None:
    sendgrid.script = ["429"]
    sendgrid.rate_limit_reset = 1_700_003_600
    with pytest.raises(TransportError, match="SendGrid asks to wait 3600 s, longer than this send waits"):
        sendgrid_transport().send(edition(subscriber("reader@example.com")))
    assert waits == []


def test_sendgrid_rate_limit_pauses_every_request_of_the_transport(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport], waits: list[float]
) -> None:
    sendgrid.script = ["429"]
    sendgrid.rate_limit_reset = 1_700_000_007  # the test clock stands still at 1_700_000_000
    transport = sendgrid_transport(concurrency=2)
    transport.send(edition(subscriber("first@example.com")))
    waits.clear()
    # Another request, which got no 429 itself, waits for the same reset.
    assert transport.send(edition(subscriber("second@example.com")))[0].outcome is Outcome.SENT
    assert waits == [7.0]
    assert transport.channels == 2


@pytest.mark.parametrize(
    ("failure", "logged"),
    [("500", "500 INTERNAL SERVER ERROR"), ("503", "503 SERVICE UNAVAILABLE")],
)
def test_sendgrid_retries_server_errors_with_backoff(
    failure: str,
    logged: str,
    sendgrid: FakeSendGrid,
    sendgrid_transport: Callable[..., SendGridTransport],
    waits: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sendgrid.script = [failure, failure]
    deliveries = sendgrid_transport().send(edition(subscriber("reader@example.com")))
    assert deliveries[0].outcome is Outcome.SENT
    assert waits == [1.0, 2.0]
    assert len(sendgrid.requests) == 3
    assert caplog.text.count(logged) == 2


@pytest.mark.parametrize(
    ("status", "headers", "expected_waits"),
    [
        (429, {}, [1.0]),  # no X-RateLimit-Reset: the backoff, for this request alone
        (429, {"Retry-After": "3"}, [3.0, 3.0]),
        (500, {"Retry-After": "20"}, [20.0, 20.0]),
        (503, {"Retry-After": "20"}, [20.0, 20.0]),
    ],
)
def test_sendgrid_answer_for_now_without_a_reset_time_waits_as_told_pausing_every_request_or_backs_off(
    status: int,
    headers: dict[str, str],
    expected_waits: list[float],
    httpserver: HTTPServer,
    sendgrid: FakeSendGrid,
    sendgrid_transport: Callable[..., SendGridTransport],
    waits: list[float],
) -> None:
    httpserver.expect_oneshot_request("/v3/mail/send", method="POST").respond_with_data(
        sendgrid_errors((None, "not now")), status, headers=headers
    )
    transport = sendgrid_transport(concurrency=2)

    assert transport.send(edition(subscriber("first@example.com")))[0].outcome is Outcome.SENT
    # Another request, which got no such answer itself, waits as long (the test clock stands still).
    assert transport.send(edition(subscriber("second@example.com")))[0].outcome is Outcome.SENT
    assert waits == expected_waits
    assert len(sendgrid.requests) == 2


def test_sendgrid_server_error_asking_to_wait_longer_than_a_send_waits_stops_it(
    httpserver: HTTPServer, sendgrid_transport: Callable[..., SendGridTransport], waits: list[float]
) -> None:
    httpserver.expect_request("/v3/mail/send", method="POST").respond_with_data(
        "", 503, headers={"Retry-After": "3600"}
    )
    with pytest.raises(TransportError) as caught:
        sendgrid_transport().send(edition(subscriber("reader@example.com")))
    assert caught.value.message == (
        "sendgrid: 503 SERVICE UNAVAILABLE; SendGrid asks to wait 3600 s, longer than this send waits"
    )
    assert waits == []


def test_sendgrid_server_errors_that_persist_stop_the_send(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport], waits: list[float]
) -> None:
    sendgrid.script = ["500", "503", "500"]
    with pytest.raises(TransportError, match="still after 3 tries"):
        sendgrid_transport().send(edition(subscriber("reader@example.com")))
    assert waits == [1.0, 2.0]


def test_sendgrid_request_whose_answer_was_lost_leaves_its_recipients_unknown_and_is_not_sent_again(
    sendgrid: FakeSendGrid,
    sendgrid_transport: Callable[..., SendGridTransport],
    waits: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sendgrid.script = ["drop"]
    recipients = [subscriber(f"reader{n}@example.com", n) for n in range(3)]

    deliveries = sendgrid_transport().send(edition(*recipients))

    assert [(d.address, d.outcome) for d in deliveries] == [(r.address, Outcome.UNKNOWN) for r in recipients]
    assert deliveries[0].detail.startswith(
        "the connection to SendGrid broke after the request went out, before the answer"
    )
    assert len(sendgrid.requests) == 1  # SendGrid read it whole: it may have taken it
    assert waits == []
    assert "its 3 recipients are of unknown fate" in caplog.text


ACCEPTED = (
    b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"id": "queued"}\n'
)


@pytest.mark.parametrize(
    ("answers", "expected_waits"),
    [
        ([ACCEPTED], []),
        ([ACCEPTED.replace(b"Length: 17", b"Length: 100")], []),
        ([b'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\n{"errors', ACCEPTED], [1.0]),
    ],
    ids=["202-with-a-body", "202-cut-short", "503-cut-short"],
)
def test_sendgrid_status_line_is_the_answer_whatever_follows_it(
    answers: list[bytes],
    expected_waits: list[float],
    httpserver: HTTPServer,
    sendgrid_transport: Callable[..., SendGridTransport],
    waits: list[float],
) -> None:
    def answer(request: Request) -> Response:
        request.get_data()
        connection = request.environ["werkzeug.socket"]
        connection.sendall(answers.pop(0))
        connection.shutdown(socket.SHUT_RDWR)
        return Response("", 500)  # never arrives: the connection is shut

    httpserver.expect_request("/v3/mail/send", method="POST").respond_with_handler(answer)
    recipients = [subscriber(f"reader{n}@example.com", n) for n in range(3)]

    deliveries = sendgrid_transport().send(edition(*recipients))

    assert deliveries == [Delivery(r.address, Outcome.SENT) for r in recipients]
    assert answers == []
    assert waits == expected_waits
    answered(httpserver, len(expected_waits) + 1)


def test_sendgrid_answer_slower_than_the_timeout_leaves_the_batch_unknown_and_not_sent_again(
    httpserver: HTTPServer, backoff: Backoff, waits: list[float]
) -> None:
    def slow(request: Request) -> Response:
        request.get_data()
        time.sleep(1.0)
        return Response("", 202)

    httpserver.expect_request("/v3/mail/send", method="POST").respond_with_handler(slow)
    transport = SendGridTransport(API_KEY, url=httpserver.url_for("/"), backoff=backoff, timeout=0.3)
    recipients = [subscriber(f"reader{n}@example.com", n) for n in range(2)]

    deliveries = transport.send(edition(*recipients))

    assert [(d.address, d.outcome) for d in deliveries] == [(r.address, Outcome.UNKNOWN) for r in recipients]
    assert deliveries[0].detail.startswith(
        "the connection to SendGrid broke after the request went out, before the answer (TimeoutError"
    )
    assert len(answered(httpserver, 1)) == 1 and waits == []  # one request, not tried again


def test_sendgrid_host_that_does_not_resolve_is_retried_then_stops_the_send(
    waits: list[float], backoff: Backoff
) -> None:
    environ = {"SENDGRID_API_KEY": API_KEY, "BROADSHEET_SENDGRID_URL": "https://api.sendgrid.invalid"}
    with pytest.raises(TransportError) as caught:
        SendGridTransport.from_environment(environ, backoff=backoff).send(
            edition(subscriber("reader@example.com"))
        )
    assert caught.value.message.startswith("sendgrid: cannot reach SendGrid ([Errno ")
    assert caught.value.message.endswith("still after 3 tries")
    assert API_KEY not in caught.value.message
    assert waits == [1.0, 2.0]


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        ("504", "a gateway before SendGrid gave up waiting for its answer (504 GATEWAY TIMEOUT)"),
        ("502", "a gateway before SendGrid got no answer it could pass on (502 BAD GATEWAY)"),
    ],
)
def test_sendgrid_gateway_that_lost_the_answer_leaves_the_batch_unknown_and_not_sent_again(
    status: str,
    detail: str,
    sendgrid: FakeSendGrid,
    sendgrid_transport: Callable[..., SendGridTransport],
    waits: list[float],
) -> None:
    sendgrid.script = [status]  # SendGrid read the request whole
    recipients = [subscriber(f"reader{n}@example.com", n) for n in range(2)]

    deliveries = sendgrid_transport().send(edition(*recipients))

    assert deliveries == [Delivery(r.address, Outcome.UNKNOWN, detail) for r in recipients]
    assert len(sendgrid.requests) == 1
    assert waits == []


def test_sendgrid_unreachable_is_retried_then_stops_the_send(waits: list[float], backoff: Backoff) -> None:
    environ = {"SENDGRID_API_KEY": API_KEY, "BROADSHEET_SENDGRID_URL": f"http://127.0.0.1:{free_port()}"}
    with pytest.raises(TransportError, match="cannot reach SendGrid"):
        SendGridTransport.from_environment(environ, backoff=backoff).send(
            edition(subscriber("reader@example.com"))
        )
    assert waits == [1.0, 2.0]


def test_sendgrid_tls_that_fails_alike_every_time_stops_the_send_at_once(
    certificate: tuple[Path, Path], backoff: Backoff, waits: list[float]
) -> None:
    self_signed = HTTPServer(host="127.0.0.1", ssl_context=server_context(certificate))
    plain = HTTPServer(host="127.0.0.1")
    for server in (self_signed, plain):
        server.expect_request("/v3/mail/send", method="POST").respond_with_data("", 202)
        server.start()
    try:
        for server, said in [
            (self_signed, r"the TLS certificate does not verify \(self-signed certificate\)"),
            (plain, r"TLS failed \(WRONG_VERSION_NUMBER\); check BROADSHEET_SENDGRID_URL"),
        ]:
            url = f"https://127.0.0.1:{server.port}"
            transport = SendGridTransport(API_KEY, url=url, backoff=backoff)
            with pytest.raises(TransportError) as caught:
                transport.send(edition(subscriber("reader@example.com")))
            assert re.fullmatch(f"sendgrid: {re.escape(url)}: {said}", caught.value.message)
            assert server.log == []
    finally:
        self_signed.stop()
        plain.stop()
    assert waits == []


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (
            400,
            sendgrid_errors(
                ("content.0.value", "The content value must be a string at least one character in length.")
            ),
            "SendGrid refused the request (400 Bad Request): "
            "content.0.value: The content value must be a string at least one character in length.",
        ),
        (
            413,
            "<html><body><h1>413 Request Entity Too Large</h1></body></html>",
            "SendGrid refused the request as too large (413 Payload Too Large); send fewer recipients a request "
            "(send --batch-size) or make the edition smaller",
        ),
    ],
)
def test_sendgrid_refusal_of_the_request_stops_the_send_with_sendgrids_own_messages(
    status: int,
    body: str,
    said: str,
    httpserver: HTTPServer,
    sendgrid_transport: Callable[..., SendGridTransport],
    waits: list[float],
) -> None:
    httpserver.expect_request("/v3/mail/send", method="POST").respond_with_data(body, status)
    with pytest.raises(TransportError) as caught:
        sendgrid_transport().send(edition(subscriber("reader@example.com")))
    assert caught.value.message == f"sendgrid: {said}"
    assert len(httpserver.log) == 1
    assert waits == []


def test_sendgrid_recipients_a_bad_request_names_fail_and_the_request_goes_again_without_them(
    sendgrid: FakeSendGrid,
    sendgrid_transport: Callable[..., SendGridTransport],
    waits: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    recipients = [subscriber(f"reader{n}@example.com", n) for n in range(6)]
    sendgrid.invalid |= {"reader1@example.com", "reader4@example.com"}

    deliveries = sendgrid_transport().send(edition(*recipients))

    refused = "SendGrid refused it: to.0.email: Does not contain a valid address."
    assert deliveries == [
        Delivery(r.address, Outcome.FAILED, refused)
        if r.address in sendgrid.invalid
        else Delivery(r.address, Outcome.SENT)
        for r in recipients
    ]
    [taken] = sendgrid.requests
    assert [p["to"][0]["email"] for p in taken["personalizations"]] == [
        f"reader{n}@example.com" for n in (0, 2, 3, 5)
    ]
    assert waits == []
    assert "SendGrid refused 2 recipients of a request of 6" in caplog.text
    assert "reader1@" not in caplog.text


def test_sendgrid_batch_whose_every_recipient_is_refused_fails_them_all_and_sends_nothing(
    sendgrid: FakeSendGrid, sendgrid_transport: Callable[..., SendGridTransport]
) -> None:
    recipients = [subscriber(f"reader{n}@example.com", n) for n in range(2)]
    sendgrid.invalid |= {r.address for r in recipients}

    deliveries = sendgrid_transport().send(edition(*recipients))

    assert [(d.address, d.outcome) for d in deliveries] == [(r.address, Outcome.FAILED) for r in recipients]
    assert sendgrid.requests == []


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("personalizations.7.to.0.email", "Does not contain a valid address."),  # not in this request
        ("personalizations.0.headers", "Invalid type. Expected: object, given: string."),  # alike for all
    ],
)
def test_sendgrid_bad_request_naming_no_recipient_of_the_request_stops_the_send(
    field: str,
    message: str,
    httpserver: HTTPServer,
    sendgrid_transport: Callable[..., SendGridTransport],
) -> None:
    httpserver.expect_request("/v3/mail/send", method="POST").respond_with_data(
        sendgrid_errors((field, message)), 400
    )
    with pytest.raises(TransportError) as caught:
        sendgrid_transport().send(
            edition(subscriber("reader@example.com"), subscriber("other@example.com", 2))
        )
    assert (
        caught.value.message
        == f"sendgrid: SendGrid refused the request (400 Bad Request): {field}: {message}"
    )
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_sendgrid_redirect_stops_the_send_and_is_not_followed_with_the_key(
    status: int,
    httpserver: HTTPServer,
    sendgrid_transport: Callable[..., SendGridTransport],
    waits: list[float],
) -> None:
    moved = httpserver.url_for("/moved")
    httpserver.expect_request("/v3/mail/send", method="POST").respond_with_data(
        "", status, headers={"Location": moved}
    )
    httpserver.expect_request("/moved").respond_with_data("OK")  # followed, a GET would get 200

    with pytest.raises(TransportError) as caught:
        sendgrid_transport().send(edition(subscriber("reader@example.com")))

    assert caught.value.message.startswith(
        f"sendgrid: {httpserver.url_for('/').rstrip('/')} answered {status} "
    )
    assert caught.value.message.endswith(
        f"a redirect to '{moved}', which is not followed: set BROADSHEET_SENDGRID_URL to the API's own address"
    )
    assert [request.path for request, _ in httpserver.log] == ["/v3/mail/send"]  # the key went nowhere else
    assert waits == []


def test_sendgrid_rejected_key_stops_the_send_and_the_key_shows_nowhere(
    sendgrid: FakeSendGrid,
    sendgrid_transport: Callable[..., SendGridTransport],
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong_key = "SG.wrong-key.do-not-show-me"
    caplog.set_level(logging.DEBUG)
    transport = sendgrid_transport(wrong_key)

    with pytest.raises(TransportError) as caught:
        transport.send(edition(subscriber("reader@example.com")))

    assert caught.value.message == (
        "sendgrid: SendGrid rejected the API key (401 Unauthorized); check SENDGRID_API_KEY: "
        "The provided authorization grant is invalid, expired, or revoked"
    )
    shown = [caught.value.message, repr(caught.value), repr(transport), str(transport), caplog.text]
    assert not any(wrong_key in text or "do-not-show-me" in text for text in shown)
    assert "API key" in caught.value.message


def test_sendgrid_needs_a_key() -> None:
    with pytest.raises(TransportError) as caught:
        open_transport("sendgrid", environ={})
    assert caught.value.message == "set SENDGRID_API_KEY to a SendGrid API key with the Mail Send permission"


def test_sendgrid_key_with_a_line_break_is_refused_without_showing_it() -> None:
    with pytest.raises(TransportError) as caught:
        SendGridTransport("SG.abc\nX-Evil: 1")
    assert "SG.abc" not in caught.value.message


def test_sendgrid_transport_comes_from_the_environment() -> None:
    transport = open_transport(
        "sendgrid", environ={"SENDGRID_API_KEY": API_KEY, "BROADSHEET_SENDGRID_URL": "http://127.0.0.1:9/"}
    )
    assert isinstance(transport, SendGridTransport)
    assert repr(transport) == "SendGridTransport(url='http://127.0.0.1:9')"
    assert (transport.name, transport.max_batch) == ("sendgrid", 1000)


# --- choosing a transport ----------------------------------------------------------------------


def test_unknown_transport_is_refused_with_the_choices() -> None:
    with pytest.raises(TransportError) as caught:
        open_transport("carrier-pigeon", environ={})
    assert (
        caught.value.message
        == "unknown transport 'carrier-pigeon'; use sendgrid, an smtp:// or smtps:// URL, or outbox:PATH"
    )
