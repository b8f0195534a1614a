"""Transports: one interface, three ways to hand an edition to its recipients.

`sendgrid` (SendGrid's v3 API), `smtp://` / `smtps://` URLs, and `outbox:PATH`
(one `.eml` file per message). Chosen by `open_transport(spec)`.

A transport receives a `Batch`: one locale's rendered edition, with
placeholders, and up to `max_batch` recipients, each with the values of
those placeholders. It answers one `Delivery` per recipient, in order.
Transient failures (rate limits, 5xx, dropped connections, SMTP 4xx) are
retried inside the transport, a bounded number of times; what it returns is
final for that attempt.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ...errors import BroadsheetError


class TransportError(BroadsheetError):
    """The transport cannot go on at all (bad API key, refused login, bad URL): stop the send.

    `delivered` holds the final answers for the first recipients of the
    batch, in order. Of the recipients after them, the first `unsure` may have
    gone out (their fate is unknown: they wait for `--retry-unknown`) and the
    rest certainly did not (they go back to pending). `unsure` None means all
    of them may have gone out; `nothing_sent` means none did.
    """

    def __init__(
        self,
        message: str,
        *,
        nothing_sent: bool = False,
        delivered: Sequence[Delivery] = (),
        unsure: int | None = None,
    ) -> None:
        super().__init__(message)
        self.delivered = list(delivered)
        self.unsure = 0 if nothing_sent else unsure

    @property
    def nothing_sent(self) -> bool:
        """Whether no message of the batch went out."""
        return self.unsure == 0 and not any(d.outcome is Outcome.SENT for d in self.delivered)

    @nothing_sent.setter
    def nothing_sent(self, value: bool) -> None:
        if value:
            self.unsure = 0
        elif self.unsure == 0:
            self.unsure = None

    def unsure_count(self, remaining: int) -> int:
        """How many of the `remaining` recipients after `delivered` may have gone out."""
        return remaining if self.unsure is None else min(self.unsure, remaining)


@dataclass(frozen=True)
class Recipient:
    """One subscriber's copy: the address, and the values of the edition's placeholders."""

    address: str
    name: str
    message_id: str
    """The Message-ID header value, with angle brackets: `<...@...>`."""
    substitutions: Mapping[str, str]
    """Placeholder -> value, e.g. {"%%unsubscribe_url%%": "https://..."}; applied to subject, html, text and headers."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Per-recipient headers (List-Unsubscribe ...), already filled in."""
    custom_args: Mapping[str, str] = field(default_factory=dict)
    """Values that come back with delivery events (issue, subscriber id)."""


@dataclass(frozen=True)
class Batch:
    """One locale's edition for several recipients."""

    issue: str
    """The issue's date, ISO format; also a category for SendGrid."""
    locale: str
    subject: str
    html: str
    text: str
    sender: str
    """From: `Name <address>`."""
    reply_to: str | None
    recipients: Sequence[Recipient]


class Outcome(enum.Enum):
    SENT = "sent"
    """The transport accepted the message."""
    FAILED = "failed"
    """Permanently refused for this recipient (SMTP 5xx for the address, invalid address)."""


@dataclass(frozen=True)
class Delivery:
    address: str
    outcome: Outcome
    detail: str = ""


class Transport(Protocol):
    name: str
    max_batch: int
    """How many recipients one `send` call takes at most."""

    def send(self, batch: Batch) -> list[Delivery]:
        """Hand `batch` over; one Delivery per recipient, in order. Raises TransportError to stop everything."""
        ...

    def close(self) -> None: ...


def personalize(text: str, substitutions: Mapping[str, str]) -> str:
    """`text` with each placeholder replaced by its value for one recipient."""
    for placeholder, value in substitutions.items():
        text = text.replace(placeholder, value)
    return text


def open_transport(spec: str, *, environ: Mapping[str, str], unsubscribe_group: int | None = None) -> Transport:
    """The transport named by `spec`: `sendgrid`, `smtp://...`, `smtps://...` or `outbox:PATH`."""
    if spec == "sendgrid":
        from .sendgrid import SendGridTransport

        return SendGridTransport.from_environment(environ, unsubscribe_group=unsubscribe_group)
    if spec.startswith(("smtp://", "smtps://")):
        from .smtp import SMTPTransport

        return SMTPTransport.from_url(spec)
    if spec.startswith("outbox:"):
        from .outbox import OutboxTransport

        return OutboxTransport(spec.removeprefix("outbox:"))
    raise TransportError(
        f"unknown transport {spec!r}; use sendgrid, an smtp:// or smtps:// URL, or outbox:PATH"
    )
