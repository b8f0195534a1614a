"""The `sendgrid` transport: one request to SendGrid's v3 `mail/send` per batch, one personalization per recipient.

The edition goes once per request with its placeholders; SendGrid fills them
per recipient from each personalization's `substitutions`. The request is
checked against SendGrid's limits before it leaves. Several requests may be in
flight at once (`concurrency`); a rate limit pauses all of them until it
resets, and so does a 5xx's Retry-After. Rate limits, 5xx answers and
connections that failed before the request went out are retried; a request
whose answer was lost (the connection broke after its body went out, a
timeout, a gateway's 502 or 504) leaves its recipients unknown and is never sent
again from here; recipients a 400 names fail, and the request goes again
without them; any other refusal stops the send.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from email.utils import parseaddr
from typing import Any

from sendgrid import __version__ as sendgrid_version  # type: ignore[import-untyped]
from sendgrid.helpers.mail import (  # type: ignore[import-untyped]
    Asm,
    Category,
    Content,
    From,
    Mail,
    ReplyTo,
    Subject,
)

from ...logs import without_addresses
from . import Batch, Delivery, Outcome, Recipient, TransportError, personalize
from .mime import ascii_host
from .retry import Backoff

log = logging.getLogger(__name__)

KEY_VARIABLE = "SENDGRID_API_KEY"
URL_VARIABLE = "BROADSHEET_SENDGRID_URL"
DEFAULT_URL = "https://api.sendgrid.com"

MAX_RECIPIENTS = 1000
"""Personalizations, and recipients in all of them, per request."""
MAX_CUSTOM_ARGS_BYTES = 10_000
"""The custom arguments that travel with one message."""
MAX_SUBSTITUTIONS_BYTES = 10_000
"""The substitutions of one personalization."""
MAX_BODY_BYTES = 30_000_000

_GATEWAY_LOST_ANSWER = {
    502: "a gateway before SendGrid got no answer it could pass on",
    504: "a gateway before SendGrid gave up waiting for its answer",
}
"""A gateway's answers about SendGrid's, which never came whole: the request may have been taken."""

_REFUSALS = {
    400: "SendGrid refused the request (400 Bad Request)",
    401: f"SendGrid rejected the API key (401 Unauthorized); check {KEY_VARIABLE}",
    403: f"SendGrid refused the request (403 Forbidden); check that the API key in {KEY_VARIABLE} has the Mail Send permission, and that `sender` in broadsheet.toml is a verified sender",
    404: f"SendGrid has no mail/send at this address (404 Not Found); check {URL_VARIABLE}",
    413: "SendGrid refused the request as too large (413 Payload Too Large); send fewer recipients a request "
    "(send --batch-size) or make the edition smaller",
}


class _NotTaken(Exception):
    """SendGrid certainly did not take the request (a rate limit, a 5xx answer, no connection): try again."""

    def __init__(self, detail: str, wait: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.wait = wait
        """Seconds SendGrid asked us to wait, when it said."""


class _Refused(Exception):
    """SendGrid refused the request (400) for what it said of some of its personalizations alone: nothing was
    taken, and the request without them may go."""

    def __init__(self, reasons: dict[int, str], problems: str) -> None:
        super().__init__(problems)
        self.reasons = reasons
        """Position of a personalization in the request -> SendGrid's words about it."""
        self.problems = problems
        """SendGrid's words as they came, for a refusal that names none of the request's recipients."""


class _AnswerLost(Exception):
    """The request went out but its answer never came: SendGrid may have taken it."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not followed: urllib follows a POST's 301, 302 or 303 with a GET, without the
    body but with the API key, to wherever it points, and would take that GET's 200 for SendGrid's 202."""

    def redirect_request(self, *args: Any) -> None:
        return None


class SendGridTransport:
    """Sends through SendGrid's v3 Web API."""

    name = "sendgrid"
    max_batch = MAX_RECIPIENTS
    hand_overs_ahead = 0

    def __init__(
        self,
        api_key: str,
        *,
        url: str = DEFAULT_URL,
        unsubscribe_group: int | None = None,
        timeout: float = 60.0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        max_wait: float = 120.0,
        concurrency: int = 1,
    ) -> None:
        # The key goes into an HTTP header; http.client would quote a bad one in its error message.
        if not re.fullmatch(r"[\x21-\x7e]+", api_key):
            raise TransportError(
                f"{KEY_VARIABLE} is not an API key: it is empty or has spaces, control or non-ASCII characters"
            )
        if not url.startswith(("https://", "http://")):
            raise TransportError(f"{URL_VARIABLE}: expected an http(s) URL but received: {url!r}")
        self.url = url.rstrip("/")
        self.unsubscribe_group = unsubscribe_group
        self.backoff = backoff or Backoff()
        self.max_wait = max_wait
        """The longest wait for a rate limit to reset; a later reset stops the send instead."""
        self.channels = concurrency
        self.timeout = timeout
        self._clock = clock
        self._api_key = api_key
        # The headers the `sendgrid` library sends. The request goes through urllib as the library's does,
        # but with its body serialized once: the library serializes it again, a thousand copies' worth.
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"sendgrid/{sendgrid_version};python",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self._paused_until = 0.0
        """When the last rate limit SendGrid reported resets (by `clock`): no request leaves before."""
        self._pause = threading.Lock()

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str],
        *,
        unsubscribe_group: int | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        concurrency: int = 1,
    ) -> SendGridTransport:
        """The transport for the key in SENDGRID_API_KEY, at BROADSHEET_SENDGRID_URL (SendGrid's own API by default)."""
        api_key = environ.get(KEY_VARIABLE, "").strip()
        if not api_key:
            raise TransportError(f"set {KEY_VARIABLE} to a SendGrid API key with the Mail Send permission")
        url = environ.get(URL_VARIABLE, "").strip() or DEFAULT_URL
        return cls(
            api_key,
            url=url,
            unsubscribe_group=unsubscribe_group,
            backoff=backoff,
            clock=clock,
            concurrency=concurrency,
        )

    def __repr__(self) -> str:
        return f"SendGridTransport(url={self.url!r})"

    def send(self, batch: Batch) -> list[Delivery]:
        batch = batch.going()
        refused: dict[str, str] = {}
        """Address -> why SendGrid refused it: its request goes again without it."""
        outcome, detail = Outcome.FAILED, ""
        while going := [r for r in batch.recipients if r.address not in refused]:
            try:
                outcome, detail = self._hand_over(dataclasses.replace(batch, recipients=going))
                break
            except _Refused as exc:
                named = {going[n].address: why for n, why in exc.reasons.items() if n < len(going)}
                if not named:
                    raise self._stop(f"{_REFUSALS[400]}{exc.problems}") from None
                log.warning(
                    "SendGrid refused %d recipients of a request of %d (%s); the request goes again without them",
                    len(named),
                    len(going),
                    without_addresses("; ".join(named.values())),
                )
                refused.update(named)
        return [
            Delivery(r.address, Outcome.FAILED, f"SendGrid refused it: {refused[r.address]}")
            if r.address in refused
            else Delivery(r.address, outcome, detail)
            for r in batch.recipients
        ]

    def _hand_over(self, batch: Batch) -> tuple[Outcome, str]:
        """One request for `batch`, tried again while SendGrid certainly did not take it: its recipients' fate and
        why; raises `_Refused`, or TransportError when the send cannot go on."""
        body = self.request_body(batch)
        failures = 0
        while True:
            self._wait_for_rate_limit()
            try:
                self._post(body)
            except _AnswerLost as exc:
                detail = str(exc)
                log.warning(
                    "SendGrid: %s; its %d recipients are of unknown fate",
                    without_addresses(detail),
                    len(batch.recipients),
                )
                return Outcome.UNKNOWN, detail
            except _NotTaken as exc:
                failures += 1
                if failures >= self.backoff.attempts:
                    raise self._stop(f"{exc.detail}, still after {failures} tries") from None
                if exc.wait is not None and exc.wait > self.max_wait:
                    raise self._stop(
                        f"{exc.detail}; SendGrid asks to wait {exc.wait:.0f} s, longer than this send waits"
                    ) from None
                # Never sooner than the backoff: our clock and SendGrid's may disagree by a second or two.
                wait = max(exc.wait or 0.0, self.backoff.delay(failures))
                if exc.wait is not None:
                    with self._pause:
                        self._paused_until = max(self._paused_until, self._clock() + wait)
                    log.warning(
                        "SendGrid: %s; every request waits %.1f s", without_addresses(exc.detail), wait
                    )
                else:
                    log.warning("SendGrid: %s; trying again in %.1f s", without_addresses(exc.detail), wait)
                    self.backoff.sleep(wait)
            else:
                return Outcome.SENT, ""

    def _wait_for_rate_limit(self) -> None:
        """Sleep until the last reported rate limit resets: a 429 to one request pauses all of them."""
        with self._pause:
            wait = self._paused_until - self._clock()
        if wait > 0:
            self.backoff.sleep(wait)

    def close(self) -> None:
        pass

    def request_body(self, batch: Batch) -> bytes:
        """The JSON of the `mail/send` request for `batch`; raises TransportError when it breaks one of SendGrid's limits."""
        recipients = batch.recipients
        if len(recipients) > MAX_RECIPIENTS:
            raise self._stop(
                f"a request takes at most {MAX_RECIPIENTS} recipients; this batch has {len(recipients)}"
            )
        _check_unique(recipients)
        mail = Mail()
        mail.from_email = From(*_parse(batch.sender))
        if batch.reply_to:
            mail.reply_to = ReplyTo(*_parse(batch.reply_to))
        mail.subject = Subject(batch.subject)
        mail.add_content(Content("text/plain", batch.text))
        mail.add_content(Content("text/html", batch.html))
        mail.add_category(Category(batch.issue))
        if self.unsubscribe_group is not None:
            mail.asm = Asm(self.unsubscribe_group)
        body: dict[str, Any] = mail.get()
        # The library's Personalization objects cost ~0.2 ms each: at 100,000 recipients
        # that is most of a send. The same JSON, written directly, in recipients' order.
        body["personalizations"] = [self._personalization(recipient) for recipient in recipients]
        # As the library writes it (ASCII, escaped), once.
        data = json.dumps(body).encode("ascii")
        if len(data) >= MAX_BODY_BYTES:
            raise self._stop(
                f"a request must be under {MAX_BODY_BYTES // 1_000_000} MB; this one is {len(data) / 1_000_000:.1f} MB"
            )
        return data

    def _personalization(self, recipient: Recipient) -> dict[str, Any]:
        if (
            custom_args := _json_bytes(recipient.custom_args, MAX_CUSTOM_ARGS_BYTES)
        ) >= MAX_CUSTOM_ARGS_BYTES:
            raise self._stop(
                f"{recipient.address}: custom_args must be under {MAX_CUSTOM_ARGS_BYTES} bytes a message; these are {custom_args}"
            )
        if (
            substitutions := _json_bytes(recipient.substitutions, MAX_SUBSTITUTIONS_BYTES)
        ) >= MAX_SUBSTITUTIONS_BYTES:
            raise self._stop(
                f"{recipient.address}: substitutions must be under {MAX_SUBSTITUTIONS_BYTES} bytes a recipient; these are {substitutions}"
            )
        # SendGrid refuses a recipient's name with `,` or `;` in it.
        name = " ".join(recipient.name.replace(",", " ").replace(";", " ").split())
        # A non-ASCII domain as the SMTP transport sends it, in IDNA 2008 form: SendGrid is not known to take
        # one in Unicode. The part before @ is ASCII (the import refuses others).
        local, at, domain = recipient.address.rpartition("@")
        address = f"{local}{at}{ascii_host(domain)}"
        to = {"email": address, "name": name} if name else {"email": address}
        personalization: dict[str, Any] = {"to": [to]}
        if recipient.substitutions:
            personalization["substitutions"] = dict(recipient.substitutions)
        personalization["headers"] = {
            header: personalize(value, recipient.substitutions)
            for header, value in {"Message-ID": recipient.message_id, **recipient.headers}.items()
        }
        if recipient.custom_args:
            personalization["custom_args"] = dict(recipient.custom_args)
        return personalization

    def _post(self, body: bytes) -> None:
        """One try at `mail/send`: returns when SendGrid accepted it; raises `_NotTaken`, `_AnswerLost` or TransportError."""
        request = urllib.request.Request(
            f"{self.url}/v3/mail/send", data=body, headers=self._headers, method="POST"
        )
        try:
            try:
                with urllib.request.build_opener(_NoRedirects).open(
                    request, timeout=self.timeout
                ) as response:
                    _body(response)
                return
            except urllib.error.HTTPError as exc:
                status, reason, headers = exc.code, exc.reason, exc.headers
                errors = _errors(_body(exc))
                problems = self._problems(errors)
        except urllib.error.URLError as exc:
            # urllib raises URLError only while connecting and sending: the request did not arrive whole.
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise self._stop(
                    f"{self.url}: the TLS certificate does not verify ({exc.reason.verify_message})"
                ) from None
            # A handshake that fails alike every time (plain HTTP at an https:// address) is not tried again;
            # one the other end cut short (EOF) may be.
            if isinstance(exc.reason, ssl.SSLError) and not isinstance(
                exc.reason, (ssl.SSLEOFError, ssl.SSLZeroReturnError)
            ):
                raise self._stop(
                    f"{self.url}: TLS failed ({exc.reason.reason or exc.reason}); check {URL_VARIABLE}"
                ) from None
            raise _NotTaken(f"cannot reach SendGrid ({exc.reason})") from None
        except (OSError, http.client.HTTPException) as exc:
            # Broke while waiting for the answer: SendGrid may have taken the request.
            raise _AnswerLost(
                f"the connection to SendGrid broke after the request went out, before the answer ({exc!r})"
            ) from None
        if status == 429:
            raise _NotTaken(f"429 Too Many Requests{problems}", rate_limit_wait(headers, self._clock()))
        if status in _GATEWAY_LOST_ANSWER:
            # A gateway before SendGrid gave up waiting for its answer, or got a broken one (its connection to
            # SendGrid cut short): SendGrid may have taken the request all the same.
            raise _AnswerLost(f"{_GATEWAY_LOST_ANSWER[status]} ({status} {reason})")
        if status >= 500:
            # A 503's Retry-After says when the service is back (RFC 9110 10.2.3): trying sooner wastes the tries.
            raise _NotTaken(f"{status} {reason}{problems}", retry_after(headers))
        if 300 <= status < 400:
            raise self._stop(
                f"{self.url} answered {status} {reason}, a redirect to {headers.get('Location')!r}, which is not "
                f"followed: set {URL_VARIABLE} to the API's own address"
            )
        if status == 400 and errors and all(_PERSONALIZATION.match(field) for field, _ in errors):
            reasons: dict[int, str] = {}
            for field, message in errors:
                about = _PERSONALIZATION.match(field)
                assert about is not None
                said = f"{about.group(2)}: {message}"
                number = int(about.group(1))
                reasons[number] = self._redact(f"{reasons[number]}; {said}" if number in reasons else said)
            raise _Refused(reasons, problems)
        cause = _REFUSALS.get(status, f"SendGrid refused the request ({status} {reason})")
        raise self._stop(f"{cause}{problems}")

    def _problems(self, errors: Sequence[tuple[str, str]]) -> str:
        """SendGrid's own error messages, as `: field: message; ...`."""
        messages = [f"{field}: {message}" if field else message for field, message in errors[:5]]
        return self._redact(f": {'; '.join(messages)}") if messages else ""

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[API key]")

    def _stop(self, message: str) -> TransportError:
        return TransportError(f"sendgrid: {without_addresses(self._redact(message))}")


_PERSONALIZATION = re.compile(r"personalizations\.(\d+)\.(to(?:\.\S+)?)$")
"""A field of SendGrid's errors that names one personalization's recipient (`personalizations.3.to.0.email`).
Its headers, substitutions and custom arguments are made alike for every copy: an error there stops the send,
lest each request be sent again once for each of its personalizations."""


def _errors(body: bytes) -> list[tuple[str, str]]:
    """SendGrid's errors in an error answer's JSON body, as (field or "", message)."""
    try:
        errors = json.loads(body)["errors"]
        return [
            (str(error.get("field") or ""), str(error["message"]))
            for error in errors
            if isinstance(error, dict) and error.get("message")
        ]
    except (TypeError, ValueError, KeyError):
        return []


def _body(answer: Any) -> bytes:
    """The body of SendGrid's answer, or none when the connection broke while it came: the status line,
    already read, is the answer (a 202 cut short took the request all the same)."""
    try:
        return bytes(answer.read())
    except (OSError, http.client.HTTPException):
        return b""


def _parse(address: str) -> tuple[str, str | None]:
    name, email = parseaddr(address)
    return email or address, name or None


def _check_unique(recipients: Sequence[Recipient]) -> None:
    seen: set[str] = set()
    for recipient in recipients:
        key = recipient.address.casefold()
        if key in seen:
            raise TransportError(
                f"sendgrid: each address may appear once in a request; {recipient.address} appears twice"
            )
        seen.add(key)


def _json_bytes(values: Mapping[str, str], limit: int) -> int:
    """The size of `values` as JSON in UTF-8, or a bound on it under `limit` when that shows it is under.

    Written out, a character takes at most 6 bytes (`\\u001f`) and an item 8 more (quotes, `: `, `, `):
    most copies are far under their limits, and serializing each copy's values twice to know it cost a
    good part of a request's making.
    """
    bound = 2 + sum(6 * (len(key) + len(value)) + 8 for key, value in values.items())
    if bound < limit:
        return bound
    return len(json.dumps(dict(values), ensure_ascii=False).encode("utf-8"))


def rate_limit_wait(headers: Any, now: float) -> float | None:
    """Seconds from `now` until SendGrid's rate limit resets, from X-RateLimit-Reset (a Unix time) or
    Retry-After; None when the answer says neither."""
    if headers is None:
        return None
    reset = _number(headers.get("X-RateLimit-Reset"))
    if reset is not None:
        return max(0.0, reset - now)
    return retry_after(headers)


def retry_after(headers: Any) -> float | None:
    """The seconds a Retry-After header asks to wait (RFC 9110 10.2.3), when given as a number."""
    return _number(headers.get("Retry-After")) if headers is not None else None


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
