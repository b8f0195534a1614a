"""The public web side of delivery: unsubscribe pages, SendGrid's Event Webhook, and a health check.

`create_app` makes the Starlette application that `broadsheet serve` runs.
Logs are `key=value` lines naming subscribers by id, never by address.
"""

from __future__ import annotations

import binascii
import gettext
import json
import logging
from collections.abc import Mapping
from typing import Any

import jinja2
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook  # type: ignore[import-untyped]
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .catalogs import INTERFACE, catalog_path, compiled
from .delivery import feedback
from .delivery.personalize import Signer
from .delivery.store import Status
from .errors import BroadsheetError
from .settings import Project

logger = logging.getLogger(__name__)

WEBHOOK_PUBLIC_KEY_VARIABLE = "SENDGRID_WEBHOOK_PUBLIC_KEY"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_WEBHOOK_BODY = 1_000_000
"""Bytes; SendGrid batches events into posts far smaller than this."""
UNSUBSCRIBE_TEMPLATE = "web/unsubscribe.html.j2"

# The token is in the address: keep it out of other sites' logs, caches and frames.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


class InvalidWebhookKey(BroadsheetError):
    """The configured SendGrid webhook public key is not one."""


def webhook_public_key(project: Project, environ: Mapping[str, str]) -> str | None:
    """`SENDGRID_WEBHOOK_PUBLIC_KEY` when set, else the `sendgrid_webhook_public_key` setting; None when neither is."""
    return environ.get(WEBHOOK_PUBLIC_KEY_VARIABLE) or project.settings.sendgrid_webhook_public_key or None


def create_app(project: Project, engine: Engine, signer: Signer, *, webhook_public_key: str | None) -> Starlette:
    """The application: `GET|POST /unsubscribe/{token}`, `POST /webhooks/sendgrid`, `GET /health`.

    Raises `InvalidWebhookKey` for a public key that is not a base64 EC key.
    Without a key every webhook request is refused (403).
    """
    pages = UnsubscribePages(project)
    verifier = _verifier(webhook_public_key)

    async def unsubscribe(request: Request) -> Response:
        token = str(request.path_params["token"])
        subscriber = await run_in_threadpool(feedback.subscriber_of_token, engine, signer, token)
        if subscriber is None:
            logger.info("event=unsubscribe outcome=invalid-token method=%s", request.method)
            return pages.render("invalid", project.settings.source_locale, status_code=400)
        if request.method == "GET":
            state = "confirm" if subscriber.status == Status.ACTIVE.value else "done"
            return pages.render(state, subscriber.locale, action=str(request.url.path))
        # RFC 8058: a mail client's one-click POST carries `List-Unsubscribe=One-Click`; the form, nothing
        # that matters. The signed token alone decides, so the body is not read.
        changed = await run_in_threadpool(feedback.unsubscribe, engine, subscriber.id)
        logger.info("event=unsubscribe outcome=%s subscriber=%d", "unsubscribed" if changed else "already-off-list", subscriber.id)
        return pages.render("done", subscriber.locale)

    async def sendgrid_events(request: Request) -> Response:
        body = await _limited_body(request, MAX_WEBHOOK_BODY)
        if body is None:
            logger.warning("event=webhook outcome=too-large limit=%d", MAX_WEBHOOK_BODY)
            return PlainTextResponse("request body too large\n", status_code=413)
        if not _signed(verifier, body, request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)):
            logger.warning("event=webhook outcome=bad-signature configured=%s", verifier is not None)
            return PlainTextResponse("invalid signature\n", status_code=403)
        try:
            events = json.loads(body)
        except ValueError:
            events = None
        if not isinstance(events, list):
            logger.warning("event=webhook outcome=not-an-event-list bytes=%d", len(body))
            return PlainTextResponse("expected a JSON array of events\n", status_code=400)
        recorded = await run_in_threadpool(feedback.record_events, engine, events)
        logger.info(
            "event=webhook outcome=ok received=%d recorded=%d duplicates=%d ignored=%d status_changes=%d",
            recorded.received, recorded.recorded, recorded.duplicates, recorded.ignored, recorded.status_changes,
        )
        return PlainTextResponse("ok\n")

    async def health(_request: Request) -> Response:
        try:
            await run_in_threadpool(_ping, engine)
        except SQLAlchemyError as exc:
            logger.error("event=health outcome=database-unavailable error=%s", type(exc).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
            Route("/webhooks/sendgrid", sendgrid_events, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


class UnsubscribePages:
    """The unsubscribe page in each locale, from the project's template and interface catalog."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._environments: dict[str, jinja2.Environment] = {}

    def environment(self, locale: str) -> jinja2.Environment:
        # One environment per locale: installed translations are global to an environment, and
        # requests in different languages are served at the same time.
        if locale not in self._environments:
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(self.project.templates_dir),
                extensions=["jinja2.ext.i18n"],
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_gettext_translations(self._translations(locale), newstyle=True)  # type: ignore[attr-defined]
            self._environments[locale] = env
        return self._environments[locale]

    def _translations(self, locale: str) -> gettext.NullTranslations:
        if locale == self.project.settings.source_locale:
            return gettext.NullTranslations()
        return gettext.GNUTranslations(compiled(catalog_path(self.project, locale, INTERFACE), locale))

    def render(self, state: str, locale: str, *, action: str = "", status_code: int = 200) -> HTMLResponse:
        settings = self.project.settings
        language = settings.language(locale)
        page = self.environment(locale).get_template(UNSUBSCRIBE_TEMPLATE).render(
            state=state,
            lang=locale.replace("_", "-"),
            organization=settings.organization.name,
            action=action,
            font_family=language.font_family,
            line_height=language.line_height,
            heading_line_height=language.heading_line_height,
        )
        return HTMLResponse(page, status_code=status_code, headers=_PAGE_HEADERS)


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


def _signed(key: ec.EllipticCurvePublicKey | None, body: bytes, signature: str | None, timestamp: str | None) -> bool:
    if key is None or not signature or not timestamp:
        return False
    try:
        payload = body.decode("utf-8")
        return bool(EventWebhook().verify_signature(payload, signature, timestamp, public_key=key))
    except (UnicodeDecodeError, binascii.Error, ValueError):
        return False


async def _limited_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is over `limit` bytes (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _ping(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar_one()
