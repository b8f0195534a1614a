"""The `smtp://` and `smtps://` transports: one message per recipient over a few reused SMTP connections.

`smtp://user:password@host:587` upgrades with STARTTLS when the server offers
it; `smtps://...:465` speaks TLS from the start. Each message's fate is what
the server said: 250 sent, 5xx failed, 4xx deferred (to be tried again later
by the sender, not here), even when the server hangs up after saying it; what
every copy would meet alike (530, a login wanted; a message larger than the
server takes; a relay's daily quota spent) stops the send instead, and a
relay's sending rate (4xx) is waited out. A connection that breaks before the
message's data went out is opened again and the message tried again, with
backoff; one that breaks after the data went out, before the answer, leaves
the message unknown: it may have been taken, so it is never sent again from
here.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import queue
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote, unquote, urlsplit

from ...logs import without_addresses, without_any_address
from . import Batch, Delivery, Outcome, TransportError, TransportSpecError
from .mime import ascii_address, prepare
from .retry import Backoff

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}

UNKNOWN_IN_A_ROW = 5
"""Messages in a row whose answer was lost before the transport stops: a server (or a proxy before it)
that loses every answer would otherwise leave the whole list unknown."""

REFUSED_ALIKE_IN_A_ROW = 5
"""Recipients in a row, at two domains or more, refused for good with the same answer (but for the address
in it) before the transport stops: an answer every address gets (`554 5.7.1 Relay access denied`, a sender
the server will not relay for) is about the server's settings or the sender, and would otherwise fail the
whole list."""


class _SenderHeld(Exception):
    """The server refused the message for now for a reason of the sender's (its sending rate, a 4xx to MAIL
    FROM): not taken, and no reader's fault; wait, and try the same copy again over a new connection."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class _NotTaken(Exception):
    """The connection failed before the message's data went out whole (or the server closed it with 421):
    the message was certainly not taken; open a new connection and try again."""

    def __init__(self, detail: str, *, connecting: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.connecting = connecting
        """Raised opening a connection (a greeting of 421, refused, reset, a login refused for now)."""


class _Crowded(Exception):
    """The server takes no more connections at once from this sender than are open (Microsoft 365 takes 3): the
    `send` gives its connection up, and goes on over another one as it is free."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(eq=False)
class _Slot:
    """One connection the transport may have open, held by one `send` at a time."""

    connection: smtplib.SMTP | None = None


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(message.split())}".strip()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


DATA_TIMEOUT = 600.0
"""Seconds to wait for the answer to a message's data, as RFC 5321 4.5.3.2.6 says (other commands: `timeout`)."""


def _wait_for_answers(connection: smtplib.SMTP, seconds: float) -> None:
    if connection.sock is not None:
        connection.sock.settimeout(seconds)


_MAILBOX_FULL = re.compile(r"\b5\.2\.2\b")
"""The enhanced status code of a full mailbox (RFC 3463), in a reply."""


_SENDER_LIMIT = re.compile(
    r"quota ?exceeded|(sending|submission) (quota|limit|rate)|rate ?limit|rate exceeded|throttl"
    r"|too (many messages|much mail)|thread limit",
    re.IGNORECASE,
)
"""A relay's words for a limit on what its sender may send: Gmail's `550 5.4.5 Daily user sending quota
exceeded`, Microsoft 365's `554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException`, Amazon
SES's `454 Throttling failure: Maximum sending rate exceeded` and `554 Throttling failure: Daily message quota
exceeded`, Postfix's `450 4.7.1 Error: too much mail from ...`, an Exim ratelimit's `451 4.7.0 Rate limit
exceeded`."""

_CROWDED = re.compile(r"thread limit|concurrent|too many connections", re.IGNORECASE)
"""A relay's words for too many connections (or submissions) at once from one sender: Microsoft 365's `432
4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded` after a message's data."""

_ABOUT_THE_MAILBOX = re.compile(
    r"\b[45]\.(1\.\d+|2\.[1-4])\b|mailbox|storage|over quota|is full", re.IGNORECASE
)
"""A reply about the recipient's address or mailbox (RFC 3463's X.1.Y and X.2.1 to X.2.4: `452 4.2.2 Quota
exceeded`, a full mailbox): the reader's, even where it says quota."""


def _sender_limit(refusal: str) -> bool:
    """Whether `refusal` is a relay's limit on its sender (a rate, a daily quota), which every copy meets alike."""
    return bool(_SENDER_LIMIT.search(refusal)) and not _ABOUT_THE_MAILBOX.search(refusal)


def _refused(code: int, refusal: str) -> Outcome:
    """What a refusal of one recipient's copy makes it: deferred for a temporary one (4xx) and for a full
    mailbox (552, or 5.2.2, which its owner may empty: tried again until `deferred_max_attempts`), else failed."""
    if code < 500 or code == 552 or _MAILBOX_FULL.search(refusal):
        return Outcome.DEFERRED
    return Outcome.FAILED


_LINE_ENDS = re.compile(rb"\r\n|\n|\r(?!\n)")


def _data_payload(message: bytes) -> bytes:
    """The message as DATA carries it (RFC 5321 4.5.2): CRLF line ends, leading dots doubled, ended by `.`."""
    crlf = message.count(b"\r\n")
    # Prepared messages already end their lines with CRLF: counting is ~20 times cheaper than a regex pass.
    if message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        message = _LINE_ENDS.sub(b"\r\n", message)
    payload = (b"." if message.startswith(b".") else b"") + message.replace(b"\r\n.", b"\r\n..")
    return payload + (b".\r\n" if payload.endswith(b"\r\n") else b"\r\n.\r\n")


class SMTPTransport:
    """Sends through an SMTP server over up to `connections` connections at once, each kept open across messages."""

    name = "smtp"
    max_batch = 1
    """One message per hand-over: the ledger records each message's fate before the next one goes."""
    hand_overs_ahead = 0

    def __init__(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = 60.0,
        data_timeout: float = DATA_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
        connections: int = 1,
    ) -> None:
        self.host = host
        self.port = port
        self.implicit_tls = implicit_tls
        self.username = username
        self._password = password
        self.timeout = timeout
        self.data_timeout = data_timeout
        self._tls_context = tls_context
        self.backoff = backoff or Backoff()
        self.channels = connections
        self._unknown_in_a_row = 0
        self._refused_alike: tuple[str, list[str]] = ("", [])
        """The last permanent refusal (addresses taken out), and the domains of the recipients refused so in a row."""
        self._counting = threading.Lock()
        self._logging_in = threading.Lock()
        self._login_refused: str | None = None
        """Why the server refused the login for good, once it did: no other connection tries it again."""
        # One slot per connection that may be open at once; a `send` holds one slot from start to end.
        self._all_slots = [_Slot() for _ in range(connections)]
        self._slots: queue.LifoQueue[_Slot] = queue.LifoQueue()
        for slot in self._all_slots:
            self._slots.put(slot)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout: float = 60.0,
        data_timeout: float = DATA_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
        connections: int = 1,
    ) -> SMTPTransport:
        """The transport for `smtp://[user[:password]@]host[:port]` or `smtps://...`; user and password percent-encoded."""
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.hostname or ''}"
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise TransportSpecError(f"{where}: expected smtp://[user:password@]host[:port] or smtps://...")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise TransportSpecError(f"{where}: the port must be a number from 1 to 65535") from None
        return cls(
            parts.hostname,
            port,
            implicit_tls=parts.scheme == "smtps",
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            timeout=timeout,
            data_timeout=data_timeout,
            tls_context=tls_context,
            backoff=backoff,
            connections=connections,
        )

    def __repr__(self) -> str:
        return f"SMTPTransport({self._where!r})"

    @property
    def _where(self) -> str:
        """The server, as messages name it: never with the password."""
        user = f"{quote(self.username, safe='')}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{host}:{self.port}"

    def send(self, batch: Batch) -> list[Delivery]:
        if len(batch.recipients) > self.max_batch:
            raise TransportError(
                f"{self._where}: one recipient per hand-over; this batch has {len(batch.recipients)}"
            )
        try:
            sender = ascii_address(parseaddr(batch.sender)[1])
        except ValueError as exc:
            raise TransportError(f"{self._where}: the sender {batch.sender!r}: {exc}") from None
        if self._unknown_in_a_row >= UNKNOWN_IN_A_ROW:
            raise TransportError(
                f"{self._where}: the mail server closed the connection after taking the data of {self._unknown_in_a_row} "
                "messages in a row, before answering; stopping so as to leave no more copies unknown. Check the server "
                "(or a proxy before it) and its log, then run the same send again"
            )
        self._stop_if_every_recipient_is_refused()
        deliveries: list[Delivery] = []
        slot = self._slots.get()
        try:
            for position, recipient in enumerate(batch.recipients):
                try:
                    address = ascii_address(recipient.address)
                    data = prepare(batch).message_bytes(recipient)
                except ValueError as exc:
                    if position in batch.cleared():
                        deliveries.append(
                            Delivery(recipient.address, Outcome.FAILED, f"cannot compose the message: {exc}")
                        )
                    continue
                # The sender's ledger records the copy as going while MAIL and RCPT go back and forth.
                cleared = functools.partial(_cleared, batch, position)
                while True:
                    try:
                        delivery = self._deliver(slot, sender, address, recipient.address, data, cleared)
                        break
                    except _Crowded as exc:
                        self._give_up(slot, exc.detail)
                        slot = self._slots.get()  # once another `send` is done with its connection
                if delivery is None:
                    continue
                deliveries.append(delivery)
                self._count(delivery, address)
        finally:
            with self._counting:
                kept = slot in self._all_slots  # not given up
            if kept:
                self._slots.put(slot)
        return deliveries

    def _give_up(self, slot: _Slot, why: str) -> None:
        """Open one connection fewer from now on: the server refused `slot`'s while others are open."""
        _close(slot.connection)
        with self._counting:
            self._all_slots.remove(slot)
            left = len(self._all_slots)
        log.warning(
            "%s: %s; going on with %d connections at once, as many as it takes",
            self._where,
            without_addresses(why).rstrip("."),
            left,
        )

    def _others_open(self, slot: _Slot) -> bool:
        """Whether a connection other than `slot`'s is open (or was, last it was used)."""
        with self._counting:
            return any(other.connection is not None for other in self._all_slots if other is not slot)

    def _count(self, delivery: Delivery, address: str) -> None:
        """Keep count of answers lost in a row, and of recipients refused alike in a row."""
        with self._counting:
            self._unknown_in_a_row = self._unknown_in_a_row + 1 if delivery.outcome is Outcome.UNKNOWN else 0
            if delivery.outcome is not Outcome.FAILED:
                self._refused_alike = ("", [])
                return
            answer, domains = self._refused_alike
            shape = without_any_address(delivery.detail)
            domain = address.rpartition("@")[2].lower()
            self._refused_alike = (shape, [*domains, domain] if shape == answer else [domain])

    def _stop_if_every_recipient_is_refused(self) -> None:
        with self._counting:
            answer, domains = self._refused_alike
        if len(domains) >= REFUSED_ALIKE_IN_A_ROW and len(set(domains)) > 1:
            raise TransportError(
                f"{self._where}: the mail server refused the last {len(domains)} recipients, at {len(set(domains))} "
                f"domains, with the same answer: {answer.rstrip('.')}. An answer every address gets is about the server's "
                "settings or the sender (a relay it refuses, a login it wants), not about the readers: stopping "
                "before it refuses the rest. The copies it refused so are failed; once the server takes them, "
                "run the same send with --retry-failed"
            )

    def close(self) -> None:
        """Say QUIT on every open connection; call it when no `send` runs."""
        with self._counting:
            slots = list(self._all_slots)
        for slot in slots:
            if slot.connection is not None:
                try:
                    slot.connection.quit()
                except (smtplib.SMTPException, OSError):
                    slot.connection.close()
                slot.connection = None

    def _deliver(
        self,
        slot: _Slot,
        sender: str,
        address: str,
        original: str,
        data: bytes,
        cleared: Callable[[], bool],
    ) -> Delivery | None:
        """One message over `slot`'s connection (opened when None, again when it breaks before the data went
        out, and kept in `slot`); the message's fate (None: not `cleared` to go, so not sent). Raises
        TransportError when no connection takes it, `_Crowded` when the server refuses this connection while
        it has others open."""
        failures = 0
        retried_at_once = False
        while True:
            connection = slot.connection
            reused = connection is not None
            try:
                connection = slot.connection = connection or self._connect()
                delivery = self._transaction(connection, sender, address, original, data, cleared)
            except _NotTaken as exc:
                _close(connection)
                slot.connection = None
                # A server at its limit of connections from one client refuses one more (Microsoft 365 greets
                # a fourth with 421 4.3.2): go on over those it took, rather than stop them all.
                if exc.connecting and self._others_open(slot):
                    raise _Crowded(exc.detail) from None
                # A connection the server closed while it sat idle is opened again at once.
                if reused and not retried_at_once:
                    retried_at_once = True
                    continue
                failures += 1
                detail = without_addresses(exc.detail)
                self._wait_or_give_up(
                    failures,
                    f"{detail}, still after {failures} tries. The messages not handed over stay pending: run the "
                    "same send again once the mail server takes connections",
                    f"{detail}; trying again",
                )
                continue
            except _SenderHeld as exc:
                # A new connection for the next try: some relays count their limit per session.
                _close(connection)
                slot.connection = None
                if _CROWDED.search(exc.reply) and self._others_open(slot):
                    raise _Crowded(exc.reply) from None
                failures += 1
                reply = without_addresses(exc.reply).rstrip(".")
                self._wait_or_give_up(
                    failures,
                    f"the mail server still refuses mail from this sender for now, after {failures} tries: {reply}. "
                    "A refusal about the sender (its sending rate or quota, a check of its address) is not about "
                    "the readers: no copy is deferred or failed for it, and those not sent stay pending. Run the "
                    "same send again later (the next day, for a daily quota): it sends only what is left",
                    f"{reply}; waiting before trying again",
                )
                continue
            except TransportError:
                _close(connection)
                slot.connection = None
                raise
            if delivery is None:
                return None
            if delivery.outcome is Outcome.UNKNOWN:
                _close(connection)
                slot.connection = None
                return delivery
            if delivery.outcome is Outcome.DEFERRED:
                log.warning(
                    "%s: %s: deferred: %s",
                    self._where,
                    without_addresses(original),
                    without_addresses(delivery.detail),
                )
            return delivery

    def _wait_or_give_up(self, failures: int, give_up: str, warning: str) -> None:
        """After `failures` tries of a message that was certainly not taken: wait (logging `warning`) before the
        next, or stop the send, saying `give_up`, once the backoff's tries are spent."""
        if failures >= self.backoff.attempts:
            raise TransportError(f"{self._where}: {give_up}") from None
        log.warning("%s: %s", self._where, warning)
        self.backoff.wait(failures)

    def _transaction(
        self,
        connection: smtplib.SMTP,
        sender: str,
        address: str,
        original: str,
        data: bytes,
        cleared: Callable[[], bool],
    ) -> Delivery | None:
        """MAIL, RCPT, DATA: the recipient's Delivery (None when not `cleared`: the transaction is reset);
        raises `_NotTaken`, or TransportError when the sender is refused or the message is too large."""
        limit = connection.esmtp_features.get("size", "")
        if limit.isdigit() and 0 < int(limit) < len(data):
            raise self._too_large(
                f"it is {len(data):,} bytes; the server takes at most {int(limit):,} (its SIZE)"
            )
        code, text = _run(connection.mail, sender)
        if refusal := self._refusal(connection, "MAIL FROM", code, text):
            if code >= 500:
                raise TransportError(f"{self._where}: the server refused the sender: {refusal}")
            # No recipient is named yet: whatever it is, it is not the reader's.
            raise _SenderHeld(refusal)
        code, text = _run(connection.rcpt, address)
        if refusal := self._refusal(connection, "RCPT TO", code, text):
            # One recipient a transaction, so a 552 at RCPT is not RFC 821's "too many recipients" (RFC 5321
            # 4.5.3.1.10 has clients take that one for 452 anyway): it is a full mailbox, as 5.2.2 says.
            return Delivery(original, _refused(code, refusal), refusal) if cleared() else None
        if not cleared():
            _run(connection.docmd, "rset")
            return None
        code, text = _run(connection.docmd, "data")
        if refusal := self._refusal(connection, "DATA", code, text, expected=354):
            return Delivery(original, _refused(code, refusal), refusal)
        try:
            connection.send(_data_payload(data))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # Not all of the message reached the server, so not its final dot: nothing was taken.
            raise _NotTaken(
                f"the mail server closed the connection while the message was going out ({exc})"
            ) from None
        try:
            # The server may check the whole message before it answers (a virus scan, a spam filter): RFC 5321
            # 4.5.3.2.6 has the client wait 10 minutes, and a copy given up on sooner is one of unknown fate.
            _wait_for_answers(connection, self.data_timeout)
            code, text = connection.getreply()
            _wait_for_answers(connection, self.timeout)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            return Delivery(
                original,
                Outcome.UNKNOWN,
                f"the mail server closed the connection after the message went out, before answering ({exc})",
            )
        if refusal := self._refusal(connection, "DATA", code, text):
            # 552 after the data is the message's size (RFC 1870), the same for every copy, unless it says the
            # mailbox is full (5.2.2).
            if code == 552 and not _MAILBOX_FULL.search(refusal):
                raise self._too_large(refusal)
            return Delivery(original, _refused(code, refusal), refusal)
        return Delivery(original, Outcome.SENT, _reply(code, text))

    def _stop_if_about_the_sender(self, code: int, refusal: str) -> None:
        """Raise for a relay's limit on its sender, which every copy would meet alike: TransportError for one
        that lasts (a daily quota spent, 5xx), `_SenderHeld` for one that passes (a sending rate, 4xx)."""
        if not _sender_limit(refusal):
            return
        if code < 500:
            raise _SenderHeld(refusal)
        raise TransportError(
            f"{self._where}: the mail server takes no more mail from this sender: "
            f"{without_addresses(refusal).rstrip('.')}. That is a limit on the sender (a daily sending quota, as "
            "Gmail, Microsoft 365 and Amazon SES keep), not about the readers: no copy is failed for it, and those "
            "not sent stay pending. Run the same send again once the quota renews (the next day, for a daily one): "
            "it sends only what is left"
        )

    def _too_large(self, why: str) -> TransportError:
        return TransportError(
            f"{self._where}: the mail server refuses the message as too large: {why}. Make the edition smaller, "
            "or raise the server's limit"
        )

    def _refusal(
        self, connection: smtplib.SMTP, command: str, code: int, text: bytes | str, expected: int = 250
    ) -> str | None:
        """None for a reply that lets the transaction go on, else the reply; raises `_NotTaken` for 421 (closing),
        and for a relay's limit on its sender what `_stop_if_about_the_sender` raises."""
        if code == expected or (expected == 250 and 200 <= code < 300):
            return None
        reply = f"{command}: {_reply(code, text)}"
        if code == 421:
            raise _NotTaken(f"the mail server closed the connection: {reply}")
        if code < 400:
            raise _NotTaken(f"the mail server answered out of turn: {reply}")
        if code == 530 and re.search(r"\btls\b|starttls|encrypt", reply, re.IGNORECASE):
            # STARTTLS is used whenever a server offers it: this one did not.
            raise TransportError(
                f"{self._where}: the server takes no mail before TLS: {reply}. It did not offer STARTTLS in its answer "
                "to EHLO, which smtp:// would have used (something between, such as a firewall, may take it out): "
                "write smtps:// and the port where the server speaks TLS on connect (465), or ask its administrator"
            )
        if code == 530:
            # About the connection, not the recipient: every copy would be refused alike.
            raise TransportError(
                f"{self._where}: the server takes no mail before a login (or TLS): {reply}. Put the user and password "
                "in the transport's URL, smtp://user:password@host:port"
            )
        try:
            connection.rset()
        except (smtplib.SMTPException, OSError):
            # Some servers hang up after a refusal. It stands all the same; the next message opens a new connection.
            connection.close()
        self._stop_if_about_the_sender(code, reply)
        return reply

    def _connect(self) -> smtplib.SMTP:
        """A new connection: TLS as the URL says, logged in when it names a user."""
        context = self._tls_context or ssl.create_default_context()
        connection: smtplib.SMTP | None = None
        try:
            if self.implicit_tls:
                connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            connection.ehlo_or_helo_if_needed()
            if not self.implicit_tls and connection.has_extn("starttls"):
                connection.starttls(context=context)
                connection.ehlo()
            elif not self.implicit_tls and self.username and not _is_loopback(self.host):
                raise TransportError(
                    f"{self._where}: the server does not offer STARTTLS; refusing to send the password "
                    "unencrypted (use smtps:// if the server speaks TLS on connect)",
                )
            if self.username:
                self._log_in(connection)
        except smtplib.SMTPAuthenticationError as exc:  # 454 4.7.0: the server cannot check the password now
            _close(connection)
            raise _NotTaken(f"logging in: {_reply(exc.smtp_code, exc.smtp_error)}", connecting=True) from None
        except smtplib.SMTPNotSupportedError:
            # Many servers offer AUTH only once the connection is encrypted (aiosmtpd's and Postfix's default).
            plain = connection is not None and not self.implicit_tls and not connection.has_extn("starttls")
            _close(connection)
            raise TransportError(
                f"{self._where}: the server does not offer AUTH"
                + (
                    " on a connection without TLS: if it offers AUTH over TLS only, write smtps://; if it wants no"
                    " login, remove the user from the URL"
                    if plain
                    else "; remove the user from the URL"
                )
            ) from None
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
            _close(connection)
            raise _NotTaken(
                f"the server closed the connection during the TLS handshake ({exc})", connecting=True
            ) from None
        except ssl.SSLError as exc:
            _close(connection)
            hint = (
                " (the server speaks plain SMTP first, as on ports 587 and 25: write smtp://, which starts TLS"
                " with STARTTLS)"
                if self.implicit_tls and exc.reason == "WRONG_VERSION_NUMBER"
                else ""
            )
            raise TransportError(f"{self._where}: TLS failed: {exc.reason or exc}{hint}") from None
        except TransportError:
            _close(connection)
            raise
        except smtplib.SMTPResponseException as exc:
            _close(connection)
            if exc.smtp_code >= 500:  # a block list, a greeting of 554: asking again gets the same
                raise TransportError(
                    f"{self._where}: the mail server refuses this client: {_reply(exc.smtp_code, exc.smtp_error)}"
                ) from None
            raise _NotTaken(f"connecting: {_reply(exc.smtp_code, exc.smtp_error)}", connecting=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(connection)
            # A server that speaks TLS as soon as it is reached waits for the client's first words, and the client
            # for its greeting: neither speaks. Asked for a TLS handshake, it answers; trying again would not.
            silent = isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
                exc.__context__, TimeoutError
            )
            if silent and not self.implicit_tls and self._speaks_tls_on_connect():
                raise TransportError(
                    f"{self._where}: the server said nothing for {self.timeout:g} s, and answers a TLS handshake: it "
                    "speaks TLS on connect, as on port 465. Write smtps://"
                ) from None
            raise _NotTaken(f"cannot connect ({exc})", connecting=True) from None
        return connection

    def _log_in(self, connection: smtplib.SMTP) -> None:
        """Log in, one connection at a time: a password the server refuses is tried by one connection, not by
        each at once (refused logins in a row lock an account: Microsoft 365's smart lockout counts them)."""
        with self._logging_in:
            if self._login_refused is None:
                try:
                    connection.login(self.username, self._password)
                    return
                except smtplib.SMTPAuthenticationError as exc:
                    if exc.smtp_code < 500:
                        raise
                    self._login_refused = (
                        f"{self._where}: the server refused the login of {self.username!r}: "
                        f"{_reply(exc.smtp_code, exc.smtp_error)}. Check the user and password in the transport's "
                        "URL (percent-encoded); an account with two-step verification, at Gmail or Microsoft 365, "
                        "needs an app password"
                    )
        raise TransportError(self._login_refused)

    def _speaks_tls_on_connect(self) -> bool:
        """Whether the server answers a TLS handshake as soon as it is reached. Nothing is sent but the
        handshake, so its certificate need not verify."""
        probe = ssl.create_default_context()
        probe.check_hostname, probe.verify_mode = False, ssl.CERT_NONE
        try:
            with (
                socket.create_connection((self.host, self.port), timeout=min(self.timeout, 10.0)) as raw,
                probe.wrap_socket(raw, server_hostname=self.host),
            ):
                return True
        except OSError:
            return False


def _cleared(batch: Batch, position: int) -> bool:
    return position in batch.cleared()


def _run(command: Callable[[str], tuple[int, bytes]], argument: str) -> tuple[int, bytes]:
    try:
        return command(argument)
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise _NotTaken(f"the mail server closed the connection ({exc})") from None


def _close(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        connection.close()
