"""One recipient's copy of a batch as a MIME message, for the transports that speak SMTP or write `.eml` files.

A multipart/alternative message (the text part, then the HTML part, both
UTF-8) whose placeholders are filled in for that recipient, with the list
headers the recipient carries. `message.as_bytes()` gives CRLF lines, 7-bit
clean, ready for SMTP. `prepare(batch)` gives the same bytes for many
recipients at a small fraction of the cost: the edition is encoded once.
"""

from __future__ import annotations

import binascii
import functools
import random
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email import quoprimime
from email.errors import HeaderParseError, NonASCIILocalPartDefect
from email.header import Header
from email.headerregistry import Address, AddressHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr
from typing import Any, cast

import idna

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
        return self._mailbox(name, address.display_name, ascii_address(address.addr_spec))

    def _mailbox(self, name: str, display: str, spec: str) -> str:
        """`name: display <spec>`, `spec` already in its ASCII form."""
        if not display:
            return self._folded(name, spec)
        if display.isascii():
            # One quoted string, however long: never split where a comma is.
            return self._folded(name, formataddr((display, spec)))
        encoded = Header(display, "utf-8", header_name=name).encode(
            linesep=self.linesep, maxlinelen=self.max_line_length
        )
        return f"{name}: {encoded} <{spec}>{self.linesep}"

    def _folded(self, name: str, value: str) -> str:
        """`name: value` folded at spaces into lines of at most `max_line_length` where the words allow."""
        if "\r" in value or "\n" in value:
            raise ValueError(f"{name}: a header may not hold a line break")
        if len(name) + 2 + len(value) <= (self.max_line_length or MAX_HEADER_LINE):
            return (
                f"{name}: {value}{self.linesep}"  # what the loop below gives for a line that needs no folding
            )
        lines = [f"{name}:"]
        for position, word in enumerate(value.split(" ")):
            # Never a line of spaces only (obsolete syntax, which some readers take for the end of the headers).
            if (
                position
                and word
                and len(lines[-1]) + 1 + len(word) > (self.max_line_length or MAX_HEADER_LINE)
            ):
                lines.append("")
            lines[-1] += f" {word}"
        if max(map(len, lines)) > MAX_HEADER_LINE:
            raise ValueError(
                f"{name}: a word of the header is longer than a line may be ({MAX_HEADER_LINE} characters)"
            )
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
        raise ValueError(
            f"{address!r}: the part before @ is not ASCII, which needs SMTPUTF8 (not supported)"
        ) from None
    except (ValueError, IndexError, HeaderParseError):
        raise ValueError(f"{address!r} is not an email address") from None
    if not parsed.username or not parsed.domain:
        raise ValueError(f"{address!r} is not an email address")
    try:
        domain = ascii_domain(parsed.domain)
    except UnicodeError:
        raise ValueError(f"{address!r}: the domain cannot be written in IDNA form") from None
    return Address(username=parsed.username, domain=domain).addr_spec


def ascii_domain(domain: str) -> str:
    """`domain` as DNS and SMTP carry it: a non-ASCII one in IDNA 2008 form (UTS #46), as email-validator
    reads addresses on import. Raises UnicodeError for one that has none.

    Python's `idna` codec is IDNA 2003, which maps `ß` to `ss` and a final sigma (`ς`) to a sigma:
    `straße.de` went out as `strasse.de`, a domain of someone else.
    """
    if domain.isascii():
        return domain.encode("idna").decode("ascii")  # checks the labels' lengths
    return idna.encode(domain, uts46=True).decode("ascii")


def ascii_host(host: str) -> str:
    """`host` as DNS carries it (`ascii_domain`), or as written when it is ASCII or has no IDNA form: for a link or
    a SendGrid recipient, where such a host fails where it is used, that copy alone."""
    try:
        return ascii_domain(host) if not host.isascii() else host
    except UnicodeError:
        return host


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
    text, html = personalize(batch.text, values), personalize(batch.html, values)
    message.set_content(text, subtype="plain", charset="utf-8", cte=_transfer_encoding(text, batch.text))
    message.add_alternative(html, subtype="html", charset="utf-8", cte=_transfer_encoding(html, batch.html))
    for part in message.iter_parts():
        del part["MIME-Version"]  # belongs to the message, not to each part
    return message


def _transfer_encoding(filled: str, edition: str) -> str | None:
    """How a text part is sent: None (the content manager's 7bit) for short ASCII lines, else the shorter for
    the edition's text (placeholders unfilled) of quoted-printable and base64, the same for every copy.

    The content manager would choose by the first ten lines alone: the Burmese
    HTML, whose first lines are the ASCII <head>, went as quoted-printable,
    each UTF-8 byte of its text written =XX: 70 KB where base64 takes 58 KB.
    """
    lines = filled.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= _LINE and all(line.isascii() for line in lines):
        return None
    return _shorter_encoding(edition)


@functools.lru_cache(maxsize=16)
def _shorter_encoding(text: str) -> str:
    """`base64` when it writes `text` shorter than quoted-printable does, else `quoted-printable`."""
    lines = text.encode("utf-8").splitlines()
    # As the content manager encodes them: quoted-printable lines end in "\n" (the generator writes CRLF),
    # base64 holds the CRLFs themselves. Both counted with one character a line break.
    quoted = len(quoprimime.body_encode(b"".join(line + b"\n" for line in lines).decode("latin-1"), _LINE))
    chunks = -(-sum(len(line) + len(_CRLF) for line in lines) // _BASE64_CHUNK)
    return "base64" if chunks * (_BASE64_CHUNK // 3 * 4 + 1) < quoted else "quoted-printable"


# --- one edition serialized once ------------------------------------------------------------------
#
# `compose` takes 5 to 8 ms a message, most of it encoding the HTML part
# (Python's `quoprimime.body_encode` takes 2 ms for the 28 KB line of an
# English edition). A `PreparedMessage` does that
# work once per edition and, per recipient, writes only what differs: the
# header lines that carry the recipient, and the body lines that hold a
# placeholder, encoded as the content manager of Python 3.11 would
# (`email.contentmanager._encode_text`). What it cannot fill in safely it
# leaves to `compose`.

_LINE = POLICY.max_line_length or MAX_HEADER_LINE
"""Body lines: the content manager wraps at the policy's line length (78)."""
_QP_PIECE = _LINE - 1
"""A quoted-printable line's text before its soft break, as `quoprimime.body_encode` cuts it."""
_BASE64_CHUNK = _LINE // 4 * 3
"""Bytes a base64 line holds: 57, written as 76 characters."""
_QP_TABLE = [
    quoprimime.quote(chr(octet)) if quoprimime.body_check(octet) else chr(octet) for octet in range(256)
]
"""Byte (as a latin-1 character) -> its quoted-printable form in a body."""
_QP_LITERAL = bytes(octet for octet in range(256) if not quoprimime.body_check(octet))
"""The bytes that a quoted-printable body writes as they are: printable ASCII but `=`, space and tab."""
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+"
)
"""Addresses that `ascii_address` and the `To` header write as they are."""
_PLAIN_MESSAGE_ID = re.compile(r"<[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>")
_CRLF = b"\r\n"


class _Unprepared(Exception):
    """This recipient's copy cannot be filled in from the prepared edition: compose it whole."""


class PreparedMessage:
    """One edition serialized once; `message_bytes(recipient)` is what `compose(batch, recipient).as_bytes()` gives.

    Every copy shares one multipart boundary (chosen, as Python's generator
    does, so that no line of the edition is the boundary), and the `Date` of
    the moment it is filled in.
    """

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.boundary = _boundary(batch.text, batch.html)
        skeleton = EmailMessage(policy=POLICY)
        skeleton["MIME-Version"] = "1.0"
        skeleton["Content-Type"] = "multipart/alternative"
        skeleton.set_boundary(self.boundary)
        self._mime = b"".join(POLICY.fold_binary(name, value) for name, value in skeleton.raw_items()) + _CRLF
        try:
            self._senders: tuple[bytes, bytes] | None = (
                _header_line("From", batch.sender),
                _header_line("Reply-To", batch.reply_to) if batch.reply_to else b"",
            )
        except ValueError:
            self._senders = None  # `compose` says what is wrong with them, for every recipient
        self._delimiter = f"--{self.boundary}".encode("ascii")
        self._layouts: dict[tuple[str, ...], _Layout | None] = {}
        self._date: tuple[datetime | None, bytes] = (None, b"")
        self._last_header_lines: dict[str, tuple[str, bytes]] = {}
        """Header name -> the last value written and its line: a header every copy has the same
        (List-Unsubscribe-Post) is folded once."""

    def message_bytes(self, recipient: Recipient) -> bytes:
        """`recipient`'s copy as CRLF lines, 7-bit clean. Raises ValueError as `compose` does."""
        return b"".join(self.message_pieces(recipient))

    def message_pieces(self, recipient: Recipient) -> list[bytes]:
        """`message_bytes(recipient)` in the pieces it is made of, most of them the edition's, shared by every
        copy: a writer that takes them as they are (`os.writev`) spares copying the whole message (50 to 100 KB)
        for each recipient."""
        try:
            return self._fill(recipient)
        except (_Unprepared, ValueError):
            return [compose(self.batch, recipient).as_bytes()]

    def _fill(self, recipient: Recipient) -> list[bytes]:
        values = recipient.substitutions
        keys = tuple(values)
        layout = self._layout(keys)
        if (
            self._senders is None
            or layout is None
            or any(
                self.boundary in value or "\r" in value or "\n" in value or any(key in value for key in keys)
                for value in values.values()
            )
        ):
            # A value holding a placeholder is one that `personalize` may replace again, in a later round.
            raise _Unprepared
        subject = layout.subject or _header_line("Subject", personalize(self.batch.subject, values))
        sender, reply_to = self._senders
        lines = [
            sender,
            _to_line(recipient),
            reply_to,
            subject,
            self._date_line(),
            _message_id_line(recipient.message_id),
        ]
        for name, value in recipient.headers.items():
            if _limited(name):
                raise _Unprepared
            lines.append(self._header_line(name, personalize(value, values)))
        delimiter = self._delimiter
        lines += [self._mime, delimiter, _CRLF]
        lines += layout.text.encode(values)
        lines += [_CRLF, delimiter, _CRLF]
        lines += layout.html.encode(values)
        lines += [_CRLF, delimiter, b"--", _CRLF]
        return lines

    def _layout(self, keys: tuple[str, ...]) -> _Layout | None:
        """Where the placeholders `keys` sit in the edition; None when they cannot be filled in line by line."""
        if keys not in self._layouts:
            try:
                self._layouts[keys] = _Layout(self.batch, keys)
            except (_Unprepared, ValueError):
                self._layouts[keys] = None
        return self._layouts[keys]

    def _header_line(self, name: str, value: str) -> bytes:
        last = self._last_header_lines.get(name)
        if last is not None and last[0] == value:
            return last[1]
        line = _header_line(name, value)
        self._last_header_lines[name] = (value, line)
        return line

    def _date_line(self) -> bytes:
        """The `Date` of this second (`compose` writes the moment's, to the second): made once a second."""
        now = datetime.now(UTC).replace(microsecond=0)
        if now != self._date[0]:
            self._date = (now, _header_line("Date", format_datetime(now)))
        return self._date[1]


def prepare(batch: Batch) -> PreparedMessage:
    """`batch`'s edition prepared for its recipients; batches of the same edition share one."""
    return _prepared(
        batch.issue, batch.locale, batch.subject, batch.html, batch.text, batch.sender, batch.reply_to
    )


@functools.lru_cache(maxsize=8)
def _prepared(
    issue: str, locale: str, subject: str, html: str, text: str, sender: str, reply_to: str | None
) -> PreparedMessage:
    return PreparedMessage(Batch(issue, locale, subject, html, text, sender, reply_to, recipients=()))


def _boundary(*texts: str) -> str:
    """A boundary like the generator's (`email.generator.Generator._make_boundary`) that no text holds."""
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):0{len(repr(sys.maxsize - 1))}d}" + "=="
        if not any(boundary in text for text in texts):
            return boundary


@functools.lru_cache(maxsize=64)
def _limited(name: str) -> bool:
    """Whether `compose` treats header `name` specially: one allowed per message, or moved into the parts."""
    return POLICY.header_max_count(name) is not None or name.lower().startswith("content-")


@functools.lru_cache(maxsize=64)
def _unstructured(name: str) -> bool:
    return issubclass(cast(HeaderRegistry, POLICY.header_factory)[name], UnstructuredHeader)


def _header_line(name: str, value: Any) -> bytes:
    """The header as `compose`'s message writes it. Printable ASCII text is folded directly: parsing it costs 50 µs."""
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isprintable()
        and "=?" not in value
        and _unstructured(name)
    ):
        return POLICY._folded(name, value).encode("ascii")
    return POLICY.fold_binary(name, POLICY.header_store_parse(name, value)[1])


def _to_line(recipient: Recipient) -> bytes:
    """The `To` line `compose` writes, for a plain address and a printable name."""
    address = recipient.address
    if not _PLAIN_ADDRESS.fullmatch(address):
        address = ascii_address(address)
        if not _PLAIN_ADDRESS.fullmatch(address):
            raise _Unprepared
    if not recipient.name.isprintable():
        raise _Unprepared
    display = "" if "=?" in recipient.name else recipient.name
    return POLICY._mailbox("To", display, address).encode("ascii")


def _message_id_line(message_id: str) -> bytes:
    if _PLAIN_MESSAGE_ID.fullmatch(message_id) and len(message_id) <= _LINE - len("Message-ID: "):
        return f"Message-ID: {message_id}\r\n".encode("ascii")
    return _header_line("Message-ID", message_id)


class _Layout:
    """The edition's parts with the lines that hold placeholders marked, for one set of placeholders."""

    def __init__(self, batch: Batch, keys: tuple[str, ...]) -> None:
        if any(not key or "\r" in key or "\n" in key for key in keys):
            raise _Unprepared
        self.subject = (
            b"" if any(key in batch.subject for key in keys) else _header_line("Subject", batch.subject)
        )
        # Longest first, so that a placeholder that begins another is not taken for it.
        pattern = (
            re.compile("(" + "|".join(re.escape(key) for key in sorted(keys, key=len, reverse=True)) + ")")
            if keys
            else None
        )
        self.text = _Body("plain", batch.text, pattern, keys)
        self.html = _Body("html", batch.html, pattern, keys)


class _Line:
    """A body line that holds placeholders: the text between them, and which one comes where.

    `personalize` replaces one placeholder after another in the whole text.
    Filling the pieces instead gives the same line when no replacement makes
    or unmakes a placeholder: the text between them is checked once, with
    values that cannot form one; a recipient's values are checked for holding
    a placeholder (once for all lines, by `PreparedMessage._fill`), and here for
    forming one with the character beside them (any placeholder made across a
    value's edge holds that pair of characters).
    """

    def __init__(self, text: str, pattern: re.Pattern[str], keys: tuple[str, ...]) -> None:
        self.text = text
        pieces = pattern.split(text)
        self.fixed, self.keys = pieces[0::2], pieces[1::2]
        inert = "\0" if not any("\0" in key for key in keys) else "\uffff"
        if personalize(text, dict.fromkeys(keys, inert)) != inert.join(self.fixed):
            raise _Unprepared
        self.pairs = {key[position : position + 2] for key in keys for position in range(len(key) - 1)}
        # A value between two placeholders, with no text between: checked whole, every time.
        self.adjacent = any(not fixed for fixed in self.fixed[1:-1])
        self.ascii = all(fixed.isascii() for fixed in self.fixed)
        self.size = sum(len(fixed.encode("utf-8")) for fixed in self.fixed)
        self._quoted: _QuotedLine | None = None

    def fill(self, values: Mapping[str, str]) -> list[str]:
        """The values in the order they appear; raises `_Unprepared` when they do not fill the line as `personalize`
        would. The values hold no placeholder: `PreparedMessage._fill` checks them once for every line."""
        inserted = [values[key] for key in self.keys]
        if self.adjacent or not all(inserted):
            if personalize(self.text, values) != self.filled(inserted):
                raise _Unprepared
            return inserted
        for number, value in enumerate(inserted):
            if (
                self.fixed[number][-1:] + value[0] in self.pairs
                or value[-1] + self.fixed[number + 1][:1] in self.pairs
            ):
                raise _Unprepared
        return inserted

    def filled(self, inserted: list[str]) -> str:
        return "".join(_interleave(self.fixed, inserted))

    def quoted(self, inserted: list[str]) -> list[bytes]:
        """The line in quoted-printable, as `quoprimime.body_encode` writes it, with CRLF soft breaks, in pieces."""
        if self._quoted is None:
            self._quoted = _QuotedLine([_quote(fixed) for fixed in self.fixed])
        return self._quoted.encode([_quote(value) for value in inserted])


class _Body:
    """One text part: its lines, and per recipient the transfer encoding and payload the content manager would give."""

    def __init__(
        self, subtype: str, text: str, pattern: re.Pattern[str] | None, keys: tuple[str, ...]
    ) -> None:
        self.subtype = subtype
        # No lines encode like one empty line: a 7bit payload of one line break.
        self.lines = text.encode("utf-8").splitlines() or [b""]
        self.marked: dict[int, _Line] = {}
        if pattern is not None:
            for index, line in enumerate(self.lines):
                decoded = line.decode("utf-8")
                if pattern.search(decoded):
                    self.marked[index] = _Line(decoded, pattern, keys)
        fixed = [line for index, line in enumerate(self.lines) if index not in self.marked]
        self.fixed_ascii = all(line.isascii() for line in fixed)
        self.fixed_longest = max(map(len, fixed), default=0)
        self.shorter = _shorter_encoding(text)
        self._always_shorter = not self.fixed_ascii or self.fixed_longest > _LINE
        """Whether the edition's own lines rule out 7bit, whatever the values."""
        self._bare = [index for index, line in self.marked.items() if not line.size]
        """The marked lines that are placeholders only, which a copy's empty values may leave empty."""
        self._runs: dict[str, list[bytes]] = {}

    def encode(self, values: Mapping[str, str]) -> list[bytes]:
        """The part's headers, blank line and payload for these values, in pieces."""
        filled = {index: line.fill(values) for index, line in self.marked.items()}
        if any(not any(filled[index]) for index in self._bare):
            # A line left empty may be no line at all: the last one, or one between "\r" and "\n".
            raise _Unprepared
        cte = self._encoding(filled)
        head = _part_head(self.subtype, cte)
        if cte == "base64":
            return [head, *self._base64(filled)]
        runs = self._fixed_runs(cte)
        pieces = [head, runs[0]]
        for (index, line), run in zip(self.marked.items(), runs[1:], strict=True):
            inserted = filled[index]
            pieces += [
                *([line.filled(inserted).encode("ascii")] if cte == "7bit" else line.quoted(inserted)),
                _CRLF,
                run,
            ]
        return pieces

    def _encoding(self, filled: Mapping[int, list[str]]) -> str:
        """`compose`'s choice (`_transfer_encoding`): 7bit for short ASCII lines, else the edition's shorter."""
        if self._always_shorter:
            return self.shorter
        if all(line.ascii and all(map(str.isascii, filled[index])) for index, line in self.marked.items()):
            longest = max(
                [
                    self.fixed_longest,
                    *(line.size + sum(map(len, filled[index])) for index, line in self.marked.items()),
                ]
            )
            if longest <= _LINE:
                return "7bit"
        return self.shorter

    def _line(self, index: int, filled: Mapping[int, list[str]]) -> bytes:
        return (
            self.marked[index].filled(filled[index]).encode("utf-8") if index in filled else self.lines[index]
        )

    def _fixed_runs(self, cte: str) -> list[bytes]:
        """The encoded lines before, between and after the marked lines, each with its line break."""
        if cte not in self._runs:
            runs: list[list[bytes]] = [[]]
            for index, line in enumerate(self.lines):
                if index in self.marked:
                    runs.append([])
                elif cte == "7bit":
                    runs[-1] += [line, _CRLF]
                else:
                    runs[-1] += [
                        quoprimime.body_encode(line.decode("latin-1"), _LINE, "\r\n").encode("ascii"),
                        _CRLF,
                    ]
            self._runs[cte] = [b"".join(run) for run in runs]
        return self._runs[cte]

    def _base64(self, filled: Mapping[int, list[str]]) -> list[bytes]:
        """The whole part in base64: its whole lines up to the first placeholder encoded once, the rest per copy."""
        first = min(self.marked, default=len(self.lines))
        if "base64" not in self._runs:
            before = b"".join(line + _CRLF for line in self.lines[:first])
            if first in self.marked:  # and the first marked line up to its first placeholder
                before += self.marked[first].fixed[0].encode("utf-8")
            whole = len(before) // _BASE64_CHUNK * _BASE64_CHUNK
            self._runs["base64"] = [_base64_lines(before[:whole]), before[whole:]]
        encoded, rest = self._runs["base64"]
        tail = [rest]
        if first in self.marked:
            line = self.marked[first]
            tail += ["".join(_interleave(["", *line.fixed[1:]], filled[first])).encode("utf-8"), _CRLF]
            first += 1
        tail += [self._line(index, filled) + _CRLF for index in range(first, len(self.lines))]
        return [encoded, _base64_lines(b"".join(tail))]


@functools.lru_cache(maxsize=8)
def _part_head(subtype: str, cte: str) -> bytes:
    """A text part's headers and blank line, as `compose` writes them for this transfer encoding."""
    part = EmailMessage(policy=POLICY)
    part.set_content("", subtype=subtype, charset="utf-8", cte=cte)
    del part["MIME-Version"]
    return b"".join(POLICY.fold_binary(name, value) for name, value in part.raw_items()) + _CRLF


def _base64_lines(data: bytes) -> bytes:
    """`data` in base64 lines of 76 characters (57 bytes), each ending in CRLF, as the content manager cuts them."""
    encoded = binascii.b2a_base64(data, newline=False)
    width = _BASE64_CHUNK // 3 * 4
    return b"".join(encoded[start : start + width] + _CRLF for start in range(0, len(encoded), width))


def _quote(text: str) -> bytes:
    """`text` in UTF-8 with every byte that quoted-printable escapes escaped, before the line is cut."""
    encoded = text.encode("utf-8")
    if not encoded.translate(None, _QP_LITERAL).strip(b"="):
        # Printable ASCII with `=` the one byte to escape, as a link's query: translating the text looks each
        # character up in a list, 5 µs for a link of 110 characters, where this takes 0.6.
        return encoded.replace(b"=", b"=3D")
    return encoded.decode("latin-1").translate(_QP_TABLE).encode("ascii")


def _interleave(fixed: list[str], inserted: list[str]) -> Iterator[str]:
    for text, value in zip(fixed[:-1], inserted, strict=True):
        yield text
        yield value
    yield fixed[-1]


class _QuotedLine:
    """`quoprimime.body_encode` of one line made of fixed text and inserted values, already escaped.

    The encoder cuts a line into pieces of 77 characters, a little shorter
    where an escape would be split; where each cut falls depends only on the
    text from the previous one. So a run of cuts inside fixed text depends
    only on where the run starts in it, and is kept for that start: per
    recipient only the cuts around the inserted values are made anew.
    """

    def __init__(self, fixed: list[bytes]) -> None:
        self.fixed = fixed
        self._runs: dict[tuple[int, int], tuple[bytes, int]] = {}
        self._rest: _QuotedLine | None = None
        self._short = all(len(text) < _QP_PIECE for text in fixed)
        """Whether no fixed text is long enough to hold a cut: a line that is mostly its values (a link on a
        line of its own) is cut whole, as the runs would cut it, without looking for them."""

    def encode(self, inserted: list[bytes]) -> list[bytes]:
        """The encoded line, in pieces."""
        first, rest = self.fixed[0], sum(map(len, self.fixed[1:])) + sum(map(len, inserted))
        if len(self.fixed) > 1 and len(first) >= _QP_PIECE and rest >= 2:
            # The cuts inside the first text do not depend on the values (below, the run from 0 is taken
            # whenever these hold): kept as one shared piece, and only the rest of the line is cut, as a line
            # of its own. Cutting the whole line made a copy of it per recipient (the HTML's last line, 24 KB).
            text, after = self._run(0, 0, final=False)
            if self._rest is None:
                self._rest = _QuotedLine([first[after:], *self.fixed[1:]])
            return [text, *self._rest.encode(inserted)]
        return self._cut_whole(inserted)

    def _cut_whole(self, inserted: list[bytes]) -> list[bytes]:
        pieces = [self.fixed[0]]
        for value, fixed in zip(inserted, self.fixed[1:], strict=True):
            pieces += [value, fixed]
        line = b"".join(pieces)
        last = len(line) - 1 - _LINE
        out: list[bytes] = []
        if self._short:
            out.append(_last_piece(line, _cut(line, 0, last, out), last))
            return out
        start = begin = 0
        for number, fixed in enumerate(self.fixed):
            end = begin + len(fixed)
            start = _cut(line, start, min(last, begin - 1), out)
            final = number == len(self.fixed) - 1
            if (
                begin <= start < end
                and start <= last
                and (final or (len(line) - end >= 2 and start + _QP_PIECE <= end))
            ):
                text, after = self._run(number, start - begin, final=final)
                out.append(text)
                if final:
                    return out
                start = begin + after
            begin = end + (len(inserted[number]) if not final else 0)
        start = _cut(line, start, last, out)
        out.append(_last_piece(line, start, last))
        return out

    def _run(self, number: int, start: int, *, final: bool) -> tuple[bytes, int]:
        """The cuts in fixed text `number` from `start` while they stay inside it; for the last text, to the end of the line."""
        key = (number, start)
        if key not in self._runs:
            fixed = self.fixed[number]
            out: list[bytes] = []
            if final:
                last = len(fixed) - 1 - _LINE
                after = _cut(fixed, start, last, out)
                out.append(_last_piece(fixed, after, last))
            else:
                after = _cut(fixed, start, len(fixed) - _QP_PIECE, out)
            self._runs[key] = (b"".join(out), after)
        return self._runs[key]


_EQUALS = ord("=")


def _cut(line: bytes, start: int, last: int, out: list[bytes]) -> int:
    """`body_encode`'s cuts of `line` from `start` while they start at or before `last`; the next start."""
    while start <= last:
        stop = start + _QP_PIECE
        # Never split an escape (=XX): end the piece at its "=", which serves as the soft break.
        if line[stop - 2] == _EQUALS:
            out.append(line[start : stop - 1] + _CRLF)
            start = stop - 2
        elif line[stop - 1] == _EQUALS:
            out.append(line[start:stop] + _CRLF)
            start = stop - 1
        else:
            out.append(line[start:stop] + b"=\r\n")
            start = stop
    return start


def _last_piece(line: bytes, start: int, last: int) -> bytes:
    """The end of the line, where a space or tab before the line break must be escaped."""
    if line[-1:] not in (b" ", b"\t"):
        return line[start:]
    escaped = quoprimime.quote(chr(line[-1])).encode("ascii")
    room = start - last
    if room >= 3:
        ending = escaped
    elif room == 2:
        ending = line[-1:] + b"=\r\n"
    else:
        ending = b"=\r\n" + escaped
    return line[start:-1] + ending
