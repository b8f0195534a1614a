"""Transports: one interface, three ways to hand an edition to its recipients.

`sendgrid` (SendGrid's v3 API), `smtp://` / `smtps://` URLs, and `outbox:PATH`
(one `.eml` file per message). Chosen by `open_transport(spec)`.

A transport receives a `Batch`: one locale's rendered edition, with
placeholders, and up to `max_batch` recipients, each with the values of
those placeholders. It answers one `Delivery` per recipient it was cleared
to hand over (`Batch.cleared`: all of them, unless the sender's ledger
could not record some as going), in order.
Failures that certainly left the batch untaken (a connection that could not be
made, a rate limit, a 5xx answer but a gateway's 504) are retried inside the
transport, a bounded number of times. A copy whose data went out but whose
answer never came is `UNKNOWN` and is never sent again by the transport; a
recipient's temporary refusal (SMTP 4xx) is `DEFERRED`, for the sender to try
later.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ...errors import BroadsheetError
from .retry import Backoff


class TransportError(BroadsheetError):
    """The transport cannot go on at all (bad API key, refused login, a server that stays unreachable): stop the send.

    Raised by `send` only before any of its batch was handed over: the batch's
    copies were certainly not taken, and may be sent again. What happened to
    each copy that was handed over is a `Delivery`, never an exception.
    """


class TransportSpecError(TransportError):
    """A transport's spec that names none (`outbox:` without a folder, an SMTP URL without a host, a port that is
    not one): a wrong command line when `--transport` gave it."""


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
    clearance: Callable[[], Collection[int]] | None = None
    """Waits until the sender's ledger records the copies as going, and gives the positions in `recipients`
    of those that may go; None when they all may."""

    def cleared(self) -> Collection[int]:
        """The positions in `recipients` of the copies that may go. A transport calls it once, as late as it
        can but before any copy's data goes out (preparing meanwhile what it sends), and hands over only those."""
        return range(len(self.recipients)) if self.clearance is None else self.clearance()

    def going(self) -> Batch:
        """The batch of the copies that may go (`cleared`, waiting as it does), for a transport that prepares nothing before."""
        if self.clearance is None:
            return self
        cleared = self.cleared()
        if len(cleared) == len(self.recipients):
            return dataclasses.replace(self, clearance=None)
        return dataclasses.replace(
            self, recipients=[self.recipients[position] for position in cleared], clearance=None
        )


class Outcome(enum.Enum):
    SENT = "sent"
    """The transport accepted the message."""
    FAILED = "failed"
    """Permanently refused for this recipient (SMTP 5xx for the address, invalid address)."""
    DEFERRED = "deferred"
    """Refused for now (SMTP 4xx: mailbox full, greylisted): certainly not taken, worth trying again later."""
    UNKNOWN = "unknown"
    """The message went out but its answer never came (the connection broke, a timeout): it may have been
    taken, so it is never sent again without being asked."""


@dataclass(frozen=True)
class Delivery:
    address: str
    outcome: Outcome
    detail: str = ""


class Transport(Protocol):
    name: str
    max_batch: int
    """How many recipients one `send` call takes at most: also the most copies that one hand-over in flight
    leaves of unknown fate when the sending process is killed."""
    channels: int
    """How many `send` calls may run at once, each from its own thread (SMTP connections, SendGrid requests)."""
    hand_overs_ahead: int
    """How many batches a channel has the ledger mark as going before the transport gets them, so that their
    marks are committed while it hands over the one before: after `kill -9`, up to `1 + hand_overs_ahead`
    batches per channel are of unknown fate (0 for SMTP and SendGrid: one hand-over per channel)."""

    def send(self, batch: Batch) -> list[Delivery]:
        """Hand `batch` over; one Delivery per recipient that `batch.cleared()` lets go, in order. Raises
        TransportError, having handed none of the batch over, when it cannot go on at all."""
        ...

    def close(self) -> None: ...


def personalize(text: str, substitutions: Mapping[str, str]) -> str:
    """`text` with each placeholder replaced by its value for one recipient."""
    for placeholder, value in substitutions.items():
        text = text.replace(placeholder, value)
    return text


def open_transport(
    spec: str,
    *,
    environ: Mapping[str, str],
    unsubscribe_group: int | None = None,
    smtp_connections: int = 1,
    sendgrid_concurrency: int = 1,
    backoff: Backoff | None = None,
) -> Transport:
    """The transport named by `spec`: `sendgrid`, `smtp://...`, `smtps://...` or `outbox:PATH`.

    `smtp_connections` and `sendgrid_concurrency` say how many messages or requests it sends at once;
    `backoff`, how it waits before trying again what certainly did not go.
    """
    if spec == "sendgrid":
        from .sendgrid import SendGridTransport

        return SendGridTransport.from_environment(
            environ, unsubscribe_group=unsubscribe_group, concurrency=sendgrid_concurrency, backoff=backoff
        )
    if spec.startswith(("smtp://", "smtps://")):
        from .smtp import SMTPTransport

        return SMTPTransport.from_url(spec, connections=smtp_connections, backoff=backoff)
    if spec.startswith("outbox:"):
        from .outbox import OutboxTransport

        return OutboxTransport(spec.removeprefix("outbox:"))
    raise TransportSpecError(
        f"unknown transport {spec!r}; use sendgrid, an smtp:// or smtps:// URL, or outbox:PATH"
    )
