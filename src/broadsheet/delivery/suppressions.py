"""Pulling SendGrid's suppression lists into the store, so that `send` skips those addresses.

Bounces become `bounced`, spam reports `complained`, global unsubscribes and
those of the unsubscribe group the sends carry (`sendgrid_unsubscribe_group`)
`unsubscribed`, by the rules of `lifecycle`: only active subscribers change,
nobody is re-activated and a reason already recorded stays. A list says what
SendGrid does now (it drops every message to an address on it), not what
happened once: however old its entry, an active subscriber on it is marked,
unless they confirmed a sign-up after SendGrid listed them (`lifecycle.apply_listings`).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from python_http_client import exceptions as http_errors  # type: ignore[import-untyped]
from sendgrid import SendGridAPIClient  # type: ignore[import-untyped]
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from . import lifecycle
from .feedback import sendgrid_time
from .lifecycle import Cause, Listing
from .store import Status, Subscriber
from .transports import TransportError
from .transports.retry import Backoff
from .transports.sendgrid import KEY_VARIABLE, URL_VARIABLE, rate_limit_wait, retry_after

LISTS = (
    ("bounces", Status.BOUNCED),
    ("spam_reports", Status.COMPLAINED),
    ("unsubscribes", Status.UNSUBSCRIBED),
)
"""SendGrid's suppression lists, and the status an active subscriber on each is given."""
GROUP_LIST = ("group_unsubscribes", Status.UNSUBSCRIBED)
"""Who unsubscribed from the sends' unsubscribe group through SendGrid's links: SendGrid drops the group's mail to
them as it does for the lists above, and another transport would not."""
_CAUSES = {
    "bounces": Cause.BOUNCE,
    "spam_reports": Cause.COMPLAINT,
    "unsubscribes": Cause.UNSUBSCRIBE,
    "group_unsubscribes": Cause.UNSUBSCRIBE,
}
PAGE = 500
"""SendGrid's largest page of a suppression list."""


class _HideRequestDumps(logging.Filter):
    """python-http-client (the `sendgrid` library's client, which this module calls) logs each request's
    headers (the API key) and body (every address) at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("HEADERS:", "PAYLOAD:"))


logging.getLogger("python_http_client.client").addFilter(_HideRequestDumps())
log = logging.getLogger(__name__)


@dataclass
class Synced:
    """Per list: addresses SendGrid holds, subscribers whose status changed, and active subscribers on it left
    so (they confirmed a sign-up after SendGrid listed them; it drops their mail until it takes them off)."""

    listed: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    confirmed_since: dict[str, int] = field(default_factory=dict)


def client_from(environ: Mapping[str, str]) -> SendGridAPIClient:
    key = environ.get(KEY_VARIABLE, "")
    if not key:
        raise TransportError(
            f"set {KEY_VARIABLE} to a SendGrid API key with the Suppressions read permission"
        )
    return SendGridAPIClient(
        api_key=key, host=environ.get(URL_VARIABLE, "https://api.sendgrid.com").rstrip("/")
    )


def lists(group: int | None) -> list[tuple[str, Status]]:
    """The lists `sync` reads, and the status an active subscriber on each is given: the group's unsubscribes
    too when the sends carry an unsubscribe group."""
    return [*LISTS, GROUP_LIST] if group is not None else list(LISTS)


@dataclass(frozen=True)
class Patience:
    """How `sync` waits out SendGrid's transient answers (a rate limit, a 5xx), as the `sendgrid` transport does:
    until the limit resets or as Retry-After asks, never sooner than `backoff`, for at most `max_wait` at once."""

    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.time
    max_wait: float = 120.0


def _entries(
    client: SendGridAPIClient, name: str, patience: Patience
) -> Iterator[tuple[str, datetime | None]]:
    """Every address on one suppression list, and when it was listed (None: the entry does not say), page by page."""
    offset = 0
    while True:
        page = _read(
            name,
            functools.partial(
                getattr(client.client.suppression, name).get, query_params={"limit": PAGE, "offset": offset}
            ),
            patience,
        )
        for entry in page:
            if isinstance(entry, dict) and isinstance(entry.get("email"), str):
                yield entry["email"], sendgrid_time(entry.get("created"))
        if len(page) < PAGE:
            return
        offset += PAGE


def _group_entries(
    client: SendGridAPIClient, group: int, patience: Patience
) -> Iterator[tuple[str, datetime | None]]:
    """Every address unsubscribed from `group`, and when. SendGrid lists every group's in one answer, not by
    pages (`GET /v3/asm/suppressions`: email, group_id, group_name, created_at)."""
    name = f"unsubscribe group {group}"
    for entry in _read(name, client.client.asm.suppressions.get, patience):
        if isinstance(entry, dict) and entry.get("group_id") == group and isinstance(entry.get("email"), str):
            yield entry["email"], sendgrid_time(entry.get("created_at"))


def _read(name: str, request: Callable[[], Any], patience: Patience) -> list[Any]:
    """The list `request` answers with; what went wrong, in a `TransportError` naming the list, if it did not."""
    failures = 0
    while True:
        try:
            response = request()
            break
        except http_errors.HTTPError as exc:
            status = int(exc.status_code)
            if status == 401:
                raise TransportError(
                    f"sendgrid: reading the {name} list: SendGrid rejected the API key"
                ) from None
            failures += 1
            answered = f"sendgrid: reading the {name} list: SendGrid answered {status} {exc.reason}"
            if not (status == 429 or status >= 500):
                raise TransportError(answered) from None
            if failures >= patience.backoff.attempts:
                raise TransportError(f"{answered}, {failures} times") from None
            asked = (
                rate_limit_wait(exc.headers, patience.clock()) if status == 429 else retry_after(exc.headers)
            )
            if asked is not None and asked > patience.max_wait:
                raise TransportError(
                    f"{answered}, and asks to wait {asked:.0f} s, more than the {patience.max_wait:.0f} s this "
                    "waits; run it again later"
                ) from None
            wait = max(asked or 0.0, patience.backoff.delay(failures))
            log.warning("SendGrid answered %s to the %s list; trying again in %.1f s", status, name, wait)
            patience.backoff.sleep(wait)
        except OSError as exc:
            raise TransportError(
                f"sendgrid: reading the {name} list: cannot reach SendGrid ({exc})"
            ) from None
    try:
        page: Any = json.loads(response.body or b"[]")
    except ValueError:
        raise TransportError(f"sendgrid: the {name} list came back as something other than JSON") from None
    if not isinstance(page, list):
        raise TransportError(f"sendgrid: the {name} list came back as {type(page).__name__}, not a list")
    return page


def sync(
    engine: Engine, client: SendGridAPIClient, group: int | None = None, patience: Patience | None = None
) -> Synced:
    """Mark the subscribers SendGrid suppresses, on `lists(group)`; what each list held and what changed."""
    patience = patience or Patience()
    synced = Synced()
    for name, _status in lists(group):
        listed: dict[str, datetime | None] = {}
        entries = (
            _group_entries(client, group, patience)
            if name == GROUP_LIST[0] and group is not None
            else _entries(client, name, patience)
        )
        for address, listed_at in entries:
            address = address.strip().lower()
            listed[address] = _later(listed.get(address), listed_at) if address in listed else listed_at
        synced.listed[name] = len(listed)
        # Every key a listed address may be stored under: SendGrid may give an IDN domain in Unicode or as xn--.
        since = {
            key: listed_at for address, listed_at in listed.items() for key in lifecycle.address_keys(address)
        }
        keys = sorted(since)
        with Session(engine) as session, session.begin():
            subscribers = [
                (identifier, since[key])
                for start in range(0, len(keys), PAGE)
                for identifier, key in session.execute(
                    select(Subscriber.id, Subscriber.email_key).where(
                        Subscriber.email_key.in_(keys[start : start + PAGE])
                    )
                )
            ]
            changed, confirmed_since = lifecycle.apply_listings(
                session,
                [Listing(identifier, _CAUSES[name], listed_at) for identifier, listed_at in subscribers],
            )
        synced.changed[name] = len(changed)
        synced.confirmed_since[name] = len(confirmed_since)
    return synced


def _later(one: datetime | None, other: datetime | None) -> datetime | None:
    """The later of two listing times; None (not known) when either is."""
    return None if one is None or other is None else max(one, other)
