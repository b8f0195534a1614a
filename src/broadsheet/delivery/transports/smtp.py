"""The `smtp://` and `smtps://` transports: one message per recipient over one reused SMTP connection.

`smtp://user:password@host:587` upgrades with STARTTLS when the server offers
it; `smtps://...:465` speaks TLS from the start. A reply of 5xx to a recipient
fails that recipient; 4xx replies and dropped connections are retried with
backoff, and when they persist the send stops.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from collections.abc import Callable
from email.utils import parseaddr
from urllib.parse import quote, unquote, urlsplit

from ...logs import without_addresses
from . import Batch, Delivery, Outcome, TransportError
from .mime import ascii_address, prepare
from .retry import Backoff

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


class _Transient(Exception):
    """A failure worth trying again: a 4xx reply, or a connection that went away."""

    def __init__(self, detail: str, *, reconnect: bool = False, maybe_delivered: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reconnect = reconnect
        self.maybe_delivered = maybe_delivered
        """The message may have reached the server before the connection broke."""


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


class SMTPTransport:
    """Sends through an SMTP server, keeping one connection open across messages and batches."""

    name = "smtp"
    max_batch = 50
    """Small, because a batch stopped halfway leaves all of it of unknown fate."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = 60.0,
        tls_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.implicit_tls = implicit_tls
        self.username = username
        self._password = password
        self.timeout = timeout
        self._tls_context = tls_context
        self.backoff = backoff or Backoff()
        self._connection: smtplib.SMTP | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout: float = 60.0,
        tls_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
    ) -> SMTPTransport:
        """The transport for `smtp://[user[:password]@]host[:port]` or `smtps://...`; user and password percent-encoded."""
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.hostname or ''}"
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise TransportError(f"{where}: expected smtp://[user:password@]host[:port] or smtps://...", nothing_sent=True)
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise TransportError(f"{where}: the port must be a number from 1 to 65535", nothing_sent=True) from None
        return cls(
            parts.hostname,
            port,
            implicit_tls=parts.scheme == "smtps",
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            timeout=timeout,
            tls_context=tls_context,
            backoff=backoff,
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
        try:
            sender = ascii_address(parseaddr(batch.sender)[1])
        except ValueError as exc:
            raise TransportError(f"{self._where}: the sender {batch.sender!r}: {exc}", nothing_sent=True) from None
        deliveries: list[Delivery] = []
        for recipient in batch.recipients:
            try:
                address = ascii_address(recipient.address)
                data = prepare(batch).message_bytes(recipient)
            except ValueError as exc:
                deliveries.append(Delivery(recipient.address, Outcome.FAILED, f"cannot compose the message: {exc}"))
                continue
            try:
                deliveries.append(self._deliver(sender, address, recipient.address, data))
            except _Transient as exc:
                # The answers so far stand; this recipient's fate is unknown only if the message may have gone.
                raise TransportError(
                    f"{self._where}: {without_addresses(recipient.address)}: {without_addresses(exc.detail)}, "
                    f"still after {self.backoff.attempts} tries; "
                    "stopping the send",
                    delivered=deliveries,
                    unsure=1 if exc.maybe_delivered else 0,
                ) from None
            except TransportError as exc:
                raise TransportError(exc.message, delivered=deliveries, unsure=0 if exc.nothing_sent else 1) from None
        return deliveries

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def _deliver(self, sender: str, address: str, original: str, data: bytes) -> Delivery:
        """One message to one recipient, retrying transient failures; raises the last `_Transient` when they persist."""
        failures = 0
        maybe_delivered = False
        while True:
            try:
                return self._transaction(sender, address, original, data)
            except TransportError as exc:
                exc.nothing_sent = exc.nothing_sent and not maybe_delivered
                raise
            except _Transient as exc:
                failures += 1
                maybe_delivered = maybe_delivered or exc.maybe_delivered
                if exc.reconnect:
                    self._drop()
                if failures >= self.backoff.attempts:
                    exc.maybe_delivered = maybe_delivered
                    raise
                log.warning("%s: %s: %s; trying again", self._where, without_addresses(original), without_addresses(exc.detail))
                self.backoff.wait(failures)

    def _transaction(self, sender: str, address: str, original: str, data: bytes) -> Delivery:
        """MAIL, RCPT, DATA: the recipient's Delivery, a `_Transient`, or a TransportError when the sender is refused."""
        reused = self._connection is not None
        connection = self._connect()
        try:
            code, text = _run(connection.mail, sender)
            if code == 421:
                raise _Transient(_reply(code, text), reconnect=True)
        except _Transient:
            if not reused:
                raise
            # The server closed the connection while it sat idle: open a new one at once.
            self._drop()
            connection = self._connect()
            code, text = _run(connection.mail, sender)
        if refusal := self._refusal(connection, "MAIL FROM", code, text):
            raise TransportError(f"{self._where}: the server refused the sender: {refusal}", nothing_sent=True)
        code, text = _run(connection.rcpt, address)
        if refusal := self._refusal(connection, "RCPT TO", code, text):
            return Delivery(original, Outcome.FAILED, refusal)
        reply: bytes | str
        try:
            code, reply = connection.data(data)
        except smtplib.SMTPDataError as exc:
            code, reply = exc.smtp_code, exc.smtp_error
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Transient(f"the connection broke during DATA ({exc})", reconnect=True, maybe_delivered=True) from None
        if refusal := self._refusal(connection, "DATA", code, reply):
            return Delivery(original, Outcome.FAILED, refusal)
        return Delivery(original, Outcome.SENT, _reply(code, reply))

    def _refusal(self, connection: smtplib.SMTP, command: str, code: int, text: bytes | str) -> str | None:
        """None for a reply that lets the transaction go on, the reply for a permanent (5xx) refusal; raises `_Transient` for 4xx."""
        if code < 400:
            return None
        reply = f"{command}: {_reply(code, text)}"
        if code == 421:
            raise _Transient(reply, reconnect=True)
        try:
            connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()
        if code < 500:
            raise _Transient(reply)
        return reply

    def _connect(self) -> smtplib.SMTP:
        """The open connection, or a new one: TLS as the URL says, logged in when it names a user."""
        if self._connection is not None:
            return self._connection
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
                    nothing_sent=True,
                )
            if self.username:
                connection.login(self.username, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            _close(connection)
            raise TransportError(
                f"{self._where}: the server refused the login of {self.username!r}: {_reply(exc.smtp_code, exc.smtp_error)}",
                nothing_sent=True,
            ) from None
        except smtplib.SMTPNotSupportedError:
            _close(connection)
            raise TransportError(
                f"{self._where}: the server does not offer AUTH; remove the user from the URL", nothing_sent=True
            ) from None
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
            _close(connection)
            raise _Transient(f"the server closed the connection during the TLS handshake ({exc})", reconnect=True) from None
        except ssl.SSLError as exc:
            _close(connection)
            raise TransportError(f"{self._where}: TLS failed: {exc.reason or exc}", nothing_sent=True) from None
        except TransportError:
            _close(connection)
            raise
        except smtplib.SMTPResponseException as exc:
            _close(connection)
            raise _Transient(f"connecting: {_reply(exc.smtp_code, exc.smtp_error)}", reconnect=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(connection)
            raise _Transient(f"cannot connect ({exc})", reconnect=True) from None
        self._connection = connection
        return connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        _close(connection)


def _run(command: Callable[[str], tuple[int, bytes]], argument: str) -> tuple[int, bytes]:
    try:
        return command(argument)
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise _Transient(f"the connection broke ({exc})", reconnect=True) from None


def _close(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        connection.close()
