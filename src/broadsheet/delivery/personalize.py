"""Per-recipient parts of an edition: signed unsubscribe and preferences links, Message-IDs and list headers.

Each locale is rendered once; a recipient only changes placeholders and
headers, so nothing here renders MJML or Jinja.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import NamedTuple, Protocol, cast, overload
from urllib.parse import quote, urlsplit, urlunsplit

from itsdangerous import BadSignature
from itsdangerous import Signer as ItsdangerousSigner

from ..errors import BroadsheetError
from ..model import PREFERENCES_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER
from ..settings import Settings
from .transports import Recipient
from .transports.mime import ascii_host

SECRET_VARIABLE = "BROADSHEET_SECRET"
MIN_SECRET_LENGTH = 16
"""Shortest BROADSHEET_SECRET taken, for whatever it signs or keys: links, forms, hashes of forgotten addresses."""
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_.\-]{1,500}")
"""Every signed token this package makes (links, forms) is URL-safe base64 with dots, and short."""
_SALT = "broadsheet-unsubscribe"


class MissingSecret(BroadsheetError):
    """Unsubscribe links cannot be signed without the secret."""


def secret_from(
    environ: Mapping[str, str], why: str = "before sending: it signs each subscriber's unsubscribe link"
) -> str:
    """BROADSHEET_SECRET from `environ`; raises `MissingSecret`, saying `why` it is needed, when it is unset or short."""
    secret = environ.get(SECRET_VARIABLE, "")
    if len(secret) < MIN_SECRET_LENGTH:
        raise MissingSecret(
            f"set {SECRET_VARIABLE} to a long random string (at least {MIN_SECRET_LENGTH} characters) {why}"
        )
    return secret


class Keyed(Protocol):
    """What a token is made of: a subscriber's id and address key (a `Subscriber`, or a sign-up of one)."""

    @property
    def id(self) -> int: ...

    @property
    def email_key(self) -> str: ...


class Addressee(Keyed, Protocol):
    """Whom a copy goes to: a `Subscriber`, or a `Reader` row of the ledger's claim."""

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str: ...


class Reader(NamedTuple):
    """A subscriber's columns that a copy needs, as a plain row: building ORM objects cost more than the rest of a copy."""

    id: int
    email: str
    email_key: str
    name: str


class Signer:
    """Signs and checks unsubscribe tokens; a token names one subscriber and cannot be guessed or altered.

    A token is `ID.ADDRESS-DIGEST.SIGNATURE`: the subscriber's id, a digest of
    their address (so that a token cannot serve a later subscriber given the
    same id, and the address itself is not in the link) and an HMAC.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._signer = ItsdangerousSigner(secret, salt=_SALT)
        # itsdangerous derives its key anew for every signature, and a one-shot HMAC looks its digest up
        # anew in OpenSSL (a lock that the channels' threads contend for): each was most of a copy's
        # signing. Keyed once here, and copied per signature; signed as itsdangerous signs (HMAC-SHA1,
        # URL-safe base64 unpadded), so the tokens are the same.
        self._token_mac = hmac.new(self._signer.derive_key(), digestmod=hashlib.sha1)
        self._message_id_mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)

    @staticmethod
    def address_digest(email_key: str) -> str:
        return hashlib.sha256(email_key.encode("utf-8")).hexdigest()[:12]

    def token(self, subscriber: Keyed) -> str:
        value = f"{subscriber.id}.{self.address_digest(subscriber.email_key)}"
        mac = self._token_mac.copy()
        mac.update(value.encode("ascii"))
        return f"{value}.{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode('ascii')}"

    def subscriber_of(self, token: str) -> tuple[int, str] | None:
        """(id, address digest) of a valid token, or None for a bad or tampered one."""
        # Base64 decoding skips characters outside its alphabet: a token with any is not one we made.
        if not TOKEN_CHARACTERS.fullmatch(token):
            return None
        try:
            value = self._signer.unsign(token).decode("ascii")
        except (BadSignature, UnicodeError):
            return None
        identifier, _, digest = value.partition(".")
        return (int(identifier), digest) if identifier.isdigit() and digest else None

    def message_id(self, issue: str, subscriber: Keyed, domain: str) -> str:
        """The same Message-ID every time this issue goes to this subscriber, so a resend is recognisably the same mail."""
        mac = self._message_id_mac.copy()
        mac.update(f"{issue}:{subscriber.id}".encode())
        digest = mac.hexdigest()[:16]
        return f"<{issue}.{subscriber.id}.{digest}@{domain}>"


@functools.lru_cache(maxsize=8)
def sender_domain(sender: str) -> str:
    """The domain of the sender's address, as headers carry it (IDNA), for Message-IDs."""
    address = parseaddr(sender)[1]
    return ascii_host(address.rpartition("@")[2]) or "localhost"


def ascii_url(url: str) -> str:
    """`url` as a header carries it: its host in IDNA form, anything else not ASCII percent-encoded.
    (A List-Unsubscribe header with non-ASCII in it is written as encoded words, which is no link.)"""
    if url.isascii():
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, colon, port = (
        hostport.rpartition(":") if hostport.rpartition(":")[2].isdigit() else (hostport, "", "")
    )
    netloc = f"{userinfo}{at}{ascii_host(host)}{colon}{port}"
    unreserved = "/:@!$&'()*+,;=%?#~"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=unreserved),
            quote(parts.query, safe=unreserved),
            quote(parts.fragment, safe=unreserved),
        )
    )


@functools.lru_cache(maxsize=8)
def _unsubscribe_mailto(address: str) -> str:
    """The List-Unsubscribe target that mails `address`, as a header carries it."""
    mailbox, _, domain = address.rpartition("@")
    return f"<mailto:{ascii_url(mailbox)}@{ascii_host(domain)}?subject=unsubscribe>"


def recipient(subscriber: Addressee, issue: str, settings: Settings, signer: Signer) -> Recipient:
    """One subscriber's copy of an edition: unsubscribe and preferences links, headers, ids."""
    return Recipe.of(issue, settings, signer).make(subscriber, signer)


@dataclass(frozen=True)
class Recipe:
    """What each copy of an issue is made of besides its subscriber, as plain values: a process of its own (an
    outbox's writer) is given it once, and then only the subscribers' rows (`Copies`)."""

    issue: str
    sender: str
    unsubscribe_url: str
    preferences_url: str
    unsubscribe_email: str
    secret: str = field(repr=False)
    """BROADSHEET_SECRET, which signs the links: never in a repr, a log or an error."""

    @classmethod
    def of(cls, issue: str, settings: Settings, signer: Signer) -> Recipe:
        return cls(
            issue,
            settings.sender,
            settings.unsubscribe_url,
            settings.preferences_url,
            settings.unsubscribe_email,
            signer.secret,
        )

    def make(self, subscriber: Addressee, signer: Signer) -> Recipient:
        """`subscriber`'s copy; `signer` is this recipe's secret's."""
        # A token is made of letters, digits, "-", "_" and ".": nothing in it needs quoting in a URL.
        token = signer.token(subscriber)
        unsubscribe = self.unsubscribe_url.replace("{token}", token)
        targets = [f"<{ascii_url(unsubscribe)}>"]
        if self.unsubscribe_email:
            targets.append(_unsubscribe_mailto(self.unsubscribe_email))
        return Recipient(
            address=subscriber.email,
            name=subscriber.name,
            message_id=signer.message_id(self.issue, subscriber, sender_domain(self.sender)),
            substitutions={
                UNSUBSCRIBE_PLACEHOLDER: unsubscribe,
                PREFERENCES_PLACEHOLDER: self.preferences_url.replace("{token}", token),
            },
            headers={
                "List-Unsubscribe": ", ".join(targets),
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            custom_args={"issue": self.issue, "subscriber": str(subscriber.id)},
        )


class Copies(Sequence[Recipient]):
    """A batch's recipients, each made from its subscriber's row when it is first read. A transport that fills in
    the copies in other processes (the outbox's writers) hands them `recipe` and `readers` instead: the sending
    process, which also keeps the ledger, then makes none of them."""

    def __init__(self, recipe: Recipe, readers: Sequence[Reader], signer: Signer | None = None) -> None:
        self.recipe, self.readers = recipe, readers
        self._signer = signer or Signer(recipe.secret)
        self._made: list[Recipient | None] = [None] * len(readers)
        self._all_made = False

    def __len__(self) -> int:
        return len(self.readers)

    @overload
    def __getitem__(self, index: int) -> Recipient: ...

    @overload
    def __getitem__(self, index: slice) -> list[Recipient]: ...

    def __getitem__(self, index: int | slice) -> Recipient | list[Recipient]:
        if isinstance(index, slice):
            return [self[position] for position in range(len(self))[index]]
        made = self._made[index]
        if made is None:
            made = self._made[index] = self.recipe.make(self.readers[index], self._signer)
        return made

    def __iter__(self) -> Iterator[Recipient]:
        # All made at the first pass, and then a list's: a transport reads a batch's recipients several times
        # (SendGrid: for the request, its personalizations and its answer), Sequence's iteration costs a call each.
        if not self._all_made:
            for position in range(len(self)):
                self[position]
            self._all_made = True
        return iter(cast(list[Recipient], self._made))
