"""The public web side of delivery: sign-up with double opt-in, preferences and unsubscribe pages, SendGrid's Event Webhook, and a health check.

`create_app` makes the Starlette application that `broadsheet serve` runs.
Its parts are beside it: `pages` (templates, languages, form tokens), `signup`, `preferences`, `webhook`.
Logs are `key=value` lines naming subscribers by id, never by address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..delivery import feedback
from ..delivery.personalize import MIN_SECRET_LENGTH, SECRET_VARIABLE, Signer
from ..delivery.store import Status
from ..delivery.transports import Transport, open_transport
from ..settings import Project
from .pages import FormTokens, WebPages, _limited_body, visitor_locale
from .preferences import Preferences
from .signup import (
    MAX_SOURCE,
    SNIPPET_SOURCE,
    Outgoing,
    SignUp,
    SignUpLimits,
    _drop_unconfirmed_every,
    confirmation_link,
    form_source,
    public_url,
    snippet,
)
from .webhook import (
    MAX_WEBHOOK_BODY,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidWebhookKey,
    _signed,
    _verifier,
    webhook_public_key,
)

__all__ = [
    "MAX_SOURCE",
    "MAX_WEBHOOK_BODY",
    "SNIPPET_SOURCE",
    "FormTokens",
    "InvalidWebhookKey",
    "Outgoing",
    "confirmation_link",
    "create_app",
    "form_source",
    "public_url",
    "snippet",
    "webhook_public_key",
]

logger = logging.getLogger(__name__)

UNSUBSCRIBE_TEMPLATE = "web/unsubscribe.html.j2"
TIDY_INTERVAL = timedelta(hours=1)
"""How often `broadsheet serve` drops the sign-ups nobody confirmed in time, besides at each sign-up."""


def create_app(
    project: Project,
    engine: Engine,
    signer: Signer,
    *,
    webhook_public_key: str | None,
    secret: str | None = None,
    transport_factory: Callable[[], Transport] | None = None,
) -> Starlette:
    """The application: `GET|POST /subscribe`, `GET /confirm/{token}`, `GET|POST /preferences/{token}`,
    `GET|POST /unsubscribe/{token}`, `POST /webhooks/sendgrid`, `GET /health`.

    `secret` (default: BROADSHEET_SECRET) signs the sign-up and preferences forms and the confirmation
    links; without one of at least 16 characters there is no sign-up and no preferences page, and without
    a `confirmation_link` no sign-up. `app.state.outgoing` (`Outgoing`) counts the confirmation emails
    still being sent after their answer. `transport_factory` opens the transport that
    sends each confirmation email (default: BROADSHEET_TRANSPORT, else the `transport` setting).
    Raises `InvalidWebhookKey` for a public key that is not a base64 EC key.
    Without a key every webhook request is refused (403).
    """
    pages = WebPages(project)
    verifier = _verifier(webhook_public_key)
    signup_secret = secret if secret is not None else os.environ.get(SECRET_VARIABLE, "")
    opened = transport_factory or (lambda: _configured_transport(project))
    forms = FormTokens(signup_secret)
    settings = project.settings
    limits = SignUpLimits(settings.signup_limit_per_client, settings.signup_limit_per_address, settings.signup_limit_total)
    link = confirmation_link(settings)
    signup = SignUp(project, engine, pages, forms, signup_secret, opened, signer, limits, link or "")
    preferences = Preferences(project, engine, signer, pages, forms)

    async def unsubscribe(request: Request) -> Response:
        token = str(request.path_params["token"])
        subscriber = await run_in_threadpool(feedback.subscriber_of_token, engine, signer, token)
        if subscriber is None:
            logger.info("event=unsubscribe outcome=invalid-token method=%s", request.method)
            return pages.render(UNSUBSCRIBE_TEMPLATE, "invalid", visitor_locale(request, project.settings), status_code=400)
        if request.method in ("GET", "HEAD"):
            # HEAD too (Starlette answers it with this handler): link checkers ask it, and change nothing.
            state = "confirm" if subscriber.status == Status.ACTIVE.value else "done"
            # Relative, so that it holds wherever the app is mounted: the page is /unsubscribe/{token} itself.
            return pages.render(UNSUBSCRIBE_TEMPLATE, state, subscriber.locale, action=quote(token, safe=""))
        # RFC 8058: a mail client's one-click POST carries `List-Unsubscribe=One-Click`; the form, nothing
        # that matters. The signed token alone decides, so the body is not read.
        changed = await run_in_threadpool(feedback.unsubscribe, engine, subscriber.id)
        logger.info("event=unsubscribe outcome=%s subscriber=%d", "unsubscribed" if changed else "already-off-list", subscriber.id)
        return pages.render(UNSUBSCRIBE_TEMPLATE, "done", subscriber.locale)

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
        except (ValueError, RecursionError):
            # RecursionError: arrays nested thousands deep.
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

    signup_routes = [
        Route("/subscribe", signup.form, methods=["GET"]),
        Route("/subscribe", signup.submit, methods=["POST"]),
        Route("/confirm/{token}", signup.confirm, methods=["GET"]),
    ]
    preferences_routes = [
        Route("/preferences/{token}", preferences.form, methods=["GET"]),
        Route("/preferences/{token}", preferences.submit, methods=["POST"]),
    ]
    signed = len(signup_secret) >= MIN_SECRET_LENGTH

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        expiry = timedelta(days=settings.confirmation_max_age_days)
        tidying = asyncio.create_task(_drop_unconfirmed_every(TIDY_INTERVAL, engine, expiry))
        try:
            yield
        finally:
            tidying.cancel()

    app = Starlette(
        lifespan=lifespan,
        routes=[
            *(signup_routes if signed and link is not None else []),
            *(preferences_routes if signed else []),
            Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
            Route("/webhooks/sendgrid", sendgrid_events, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
    app.state.outgoing = signup.outgoing
    return app


def _configured_transport(project: Project) -> Transport:
    spec = os.environ.get("BROADSHEET_TRANSPORT") or project.settings.transport
    return open_transport(spec, environ=os.environ)


def _ping(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar_one()
