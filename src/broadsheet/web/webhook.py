"""SendGrid's signed Event Webhook: the public key that verifies it, the check of each post's signature and
age, and the handler that hands the events to `delivery.feedback`.

A post is taken only when its signature checks out and its signed timestamp
is recent: a captured post replayed later is refused (403), and an event
replayed within the window changes nothing again (`feedback` keeps each event
id once).
"""

from __future__ import annotations

import binascii
import json
import logging
import time
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook  # type: ignore[import-untyped]
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..delivery import feedback
from ..errors import BroadsheetError
from ..settings import Project
from .pages import limited_body

# One logger for the whole app: its lines name `broadsheet.web`, whichever of its modules writes them.
logger = logging.getLogger("broadsheet.web")

WEBHOOK_PUBLIC_KEY_VARIABLE = "SENDGRID_WEBHOOK_PUBLIC_KEY"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_WEBHOOK_BODY = 1_000_000
"""Bytes; SendGrid batches events into posts far smaller than this."""
FUTURE_SKEW = 60
"""Seconds a signed timestamp may be ahead of this machine's clock: two clocks never agree exactly."""


class InvalidWebhookKey(BroadsheetError):
    """The configured SendGrid webhook public key is not one."""


def webhook_public_key(project: Project, environ: Mapping[str, str]) -> str | None:
    """`SENDGRID_WEBHOOK_PUBLIC_KEY` when set, else the `sendgrid_webhook_public_key` setting; None when neither is."""
    return environ.get(WEBHOOK_PUBLIC_KEY_VARIABLE) or project.settings.sendgrid_webhook_public_key or None


def fresh(timestamp: str, now: float, max_age: int) -> bool:
    """Whether a signed `timestamp` (Unix seconds, as SendGrid writes them) is at most `max_age` seconds old
    at `now`, and at most `FUTURE_SKEW` ahead of it. Anything but ASCII digits is no timestamp."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    return now - max_age <= int(timestamp) <= now + FUTURE_SKEW


class Webhook:
    """`POST /webhooks/sendgrid`: SendGrid's events, taken when signed by `public_key` at most `max_age`
    seconds ago (the `webhook_max_age_seconds` setting). Without a key every post is refused (403).
    Raises `InvalidWebhookKey` for a public key that is not a base64 EC key."""

    def __init__(self, engine: Engine, public_key: str | None, max_age: int) -> None:
        self.engine = engine
        self.max_age = max_age
        self._key = _verifier(public_key)

    async def receive(self, request: Request) -> Response:
        body = await limited_body(request, MAX_WEBHOOK_BODY)
        if body is None:
            logger.warning("event=webhook outcome=too-large limit=%d", MAX_WEBHOOK_BODY)
            return PlainTextResponse("request body too large\n", status_code=413)
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        if not self._signed(body, request.headers.get(SIGNATURE_HEADER), timestamp):
            logger.warning("event=webhook outcome=bad-signature configured=%s", self._key is not None)
            return PlainTextResponse("invalid signature\n", status_code=403)
        if not fresh(timestamp, time.time(), self.max_age):
            # A post signed long ago (or for later) is a captured one played again, or a clock far off.
            logger.warning("event=webhook outcome=stale-timestamp max_age=%d", self.max_age)
            return PlainTextResponse("timestamp outside the accepted window\n", status_code=403)
        try:
            events = json.loads(body)
        except (ValueError, RecursionError):
            # RecursionError: arrays nested thousands deep.
            events = None
        if not isinstance(events, list):
            logger.warning("event=webhook outcome=not-an-event-list bytes=%d", len(body))
            return PlainTextResponse("expected a JSON array of events\n", status_code=400)
        recorded = await run_in_threadpool(feedback.record_events, self.engine, events)
        logger.info(
            "event=webhook outcome=ok received=%d recorded=%d duplicates=%d ignored=%d status_changes=%d",
            recorded.received, recorded.recorded, recorded.duplicates, recorded.ignored, recorded.status_changes,
        )  # fmt: skip
        return PlainTextResponse("ok\n")

    def _signed(self, body: bytes, signature: str | None, timestamp: str) -> bool:
        if self._key is None or not signature or not timestamp:
            return False
        try:
            payload = body.decode("utf-8")
            return bool(EventWebhook().verify_signature(payload, signature, timestamp, public_key=self._key))
        except (UnicodeDecodeError, binascii.Error, ValueError):
            return False


def _verifier(public_key: str | None) -> ec.EllipticCurvePublicKey | None:
    if not public_key:
        return None
    try:
        key = EventWebhook().convert_public_key_to_ecdsa(public_key.strip())
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidWebhookKey(
            f"{WEBHOOK_PUBLIC_KEY_VARIABLE} / sendgrid_webhook_public_key: Expected the base64 verification key "
            "of SendGrid's signed Event Webhook (an elliptic-curve public key)"
        )
    return key
