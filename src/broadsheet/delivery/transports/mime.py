"""One recipient's copy of a batch as a MIME message, for the transports that speak SMTP or write `.eml` files.

A multipart/alternative message (the text part, then the HTML part, both
UTF-8) whose placeholders are filled in for that recipient, with the list
headers the recipient carries. `message.as_bytes()` gives CRLF lines, 7-bit
clean, ready for SMTP.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.errors import HeaderParseError, NonASCIILocalPartDefect
from email.header import Header
from email.headerregistry import Address, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any

from . import Batch, Recipient, personalize


class _SMTPPolicy(EmailPolicy):
    """`email.policy.SMTP`, except for non-ASCII unstructured headers (the Subject).

    Python 3.11's folder drops the space between some adjacent encoded words, so
    a long Burmese subject arrives with two words run together; `email.header`
    keeps every space inside the encoded words.
    """

    def _encoded(self, name: str, value: Any) -> str | None:
        if self.utf8 or not isinstance(value, UnstructuredHeader) or str(value).isascii():
            return None
        folded = Header(str(value), "utf-8", header_name=name).encode(
            linesep=self.linesep, maxlinelen=self.max_line_length
        )
        return f"{name}: {folded}{self.linesep}"

    def fold(self, name: str, value: Any) -> str:
        return self._encoded(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        encoded = self._encoded(name, value)
        return encoded.encode("ascii") if encoded else super().fold_binary(name, value)


POLICY = _SMTPPolicy(linesep="\r\n", cte_type="7bit")
"""CRLF lines; non-ASCII text in base64 or quoted-printable, so no server needs 8BITMIME."""


def ascii_address(address: str) -> str:
    """`address` as SMTP and headers carry it without SMTPUTF8: a non-ASCII domain in IDNA form.

    Raises ValueError for text that is not an address, or one whose local part is not ASCII.
    """
    try:
        parsed = Address(addr_spec=address)
    except NonASCIILocalPartDefect:
        raise ValueError(f"{address!r}: the part before @ is not ASCII, which needs SMTPUTF8 (not supported)") from None
    except (ValueError, IndexError, HeaderParseError):
        raise ValueError(f"{address!r} is not an email address") from None
    if not parsed.username or not parsed.domain:
        raise ValueError(f"{address!r} is not an email address")
    try:
        domain = parsed.domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{address!r}: the domain cannot be written in IDNA form") from None
    return Address(username=parsed.username, domain=domain).addr_spec


def compose(batch: Batch, recipient: Recipient) -> EmailMessage:
    """`recipient`'s copy of `batch`. Raises ValueError for an address or header that cannot be written."""
    values = recipient.substitutions
    message = EmailMessage(policy=POLICY)
    message["From"] = batch.sender
    message["To"] = Address(display_name=recipient.name, addr_spec=ascii_address(recipient.address))
    if batch.reply_to:
        message["Reply-To"] = batch.reply_to
    message["Subject"] = personalize(batch.subject, values)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = recipient.message_id
    for name, value in recipient.headers.items():
        message[name] = personalize(value, values)
    message.set_content(personalize(batch.text, values), subtype="plain", charset="utf-8")
    message.add_alternative(personalize(batch.html, values), subtype="html", charset="utf-8")
    for part in message.iter_parts():
        del part["MIME-Version"]  # belongs to the message, not to each part
    return message
