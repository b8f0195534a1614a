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
from email.headerregistry import Address, AddressHeader, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr
from typing import Any

from . import Batch, Recipient, personalize

MAX_HEADER_LINE = 998
"""RFC 5322's limit on a line, header lines included."""


class _SMTPPolicy(EmailPolicy):
    """`email.policy.SMTP`, except that this module writes two kinds of header itself.

    - Unstructured headers (Subject, List-Unsubscribe): Python 3.11's folder
      drops the space between some adjacent encoded words, so a long Burmese
      subject arrives with two words run together, and it turns a word longer
      than a line (the URL of List-Unsubscribe) into encoded words, which
      mail clients do not read as a link. Non-ASCII text goes through
      `email.header`, which keeps every space; ASCII is folded at spaces
      only, a long word kept whole (`_folded`).
    - Headers of one address (From, To, Reply-To): Python 3.11's folder
      writes encoded words found in a display name back as raw text, line
      breaks and all (CVE-2024-6923), and drops the quotes of a long
      display name, so that its commas split it into several addresses.
      The name is written as one quoted string, or encoded by `email.header`.
    """

    def _encoded(self, name: str, value: Any) -> str | None:
        if self.utf8:
            return None
        if isinstance(value, AddressHeader) and len(value.groups) == 1 and len(value.addresses) == 1:
            [group] = value.groups
            return self._address(name, value.addresses[0]) if group.display_name is None else None
        if not isinstance(value, UnstructuredHeader):
            return None
        if str(value).isascii():
            return self._folded(name, str(value))
        folded = Header(str(value), "utf-8", header_name=name).encode(
            linesep=self.linesep, maxlinelen=self.max_line_length
        )
        return f"{name}: {folded}{self.linesep}"

    def _address(self, name: str, address: Address) -> str:
        display, spec = address.display_name, ascii_address(address.addr_spec)
        if not display:
            return self._folded(name, spec)
        if display.isascii():
            # One quoted string, however long: never split where a comma is.
            return self._folded(name, formataddr((display, spec)))
        encoded = Header(display, "utf-8", header_name=name).encode(linesep=self.linesep, maxlinelen=self.max_line_length)
        return f"{name}: {encoded} <{spec}>{self.linesep}"

    def _folded(self, name: str, value: str) -> str:
        """`name: value` folded at spaces into lines of at most `max_line_length` where the words allow."""
        if any(character in value for character in "\r\n"):
            raise ValueError(f"{name}: a header may not hold a line break")
        lines = [f"{name}:"]
        for position, word in enumerate(value.split(" ")):
            # Never a line of spaces only (obsolete syntax, which some readers take for the end of the headers).
            if position and word and len(lines[-1]) + 1 + len(word) > (self.max_line_length or MAX_HEADER_LINE):
                lines.append("")
            lines[-1] += f" {word}"
        if max(map(len, lines)) > MAX_HEADER_LINE:
            raise ValueError(f"{name}: a word of the header is longer than a line may be ({MAX_HEADER_LINE} characters)")
        return self.linesep.join(lines) + self.linesep

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
    address = ascii_address(recipient.address)
    # A name that looks like encoded words ("=?utf-8?q?...?=") is decoded by some readers even inside
    # quotes, line breaks and all; one that Python reads back as something else is not what was meant
    # either. Such a name is left out: the address alone is safe.
    named = Address(display_name=recipient.name, addr_spec=address)
    message["To"] = named if "=?" not in recipient.name else Address(addr_spec=address)
    if message["To"].addresses != (named,):
        del message["To"]
        message["To"] = Address(addr_spec=address)
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
