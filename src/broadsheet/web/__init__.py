"""The public web side of delivery: sign-up with double opt-in, preferences and unsubscribe pages, SendGrid's Event Webhook, and a health check.

`create_app` makes the Starlette application that `broadsheet serve` runs, from its parts beside it:
`pages` (templates, languages, form tokens), `signup` and `limits`, `preferences`, `unsubscribe`, `webhook`;
`snippet` is the sign-up form for another site, `proxies` the check of `serve --forwarded-allow-ips`.
The handlers read requests and render pages; every change they make is `delivery.lifecycle`'s.
Logs are `key=value` lines naming subscribers by id, never by address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..delivery.personalize import MIN_SECRET_LENGTH, SECRET_VARIABLE, Signer
from ..delivery.transports import Transport, open_transport
from ..settings import Project
from .limits import SignUpLimits
from .pages import FormTokens, WebPages
from .preferences import Preferences
from .proxies import trusted_proxies
from .signup import (
    MAX_SOURCE,
    Outgoing,
    SignUp,
    confirmation_link,
    drop_unconfirmed_every,
    form_source,
    public_url,
)
from .snippet import SNIPPET_SOURCE, snippet
from .unsubscribe import Unsubscribe
from .webhook import MAX_WEBHOOK_BODY, InvalidWebhookKey, Webhook, webhook_public_key

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
    "trusted_proxies",
    "webhook_public_key",
]

logger = logging.getLogger(__name__)

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
    """The application: `GET|POST /subscribe`, `GET|POST /confirm/{token}`, `GET|POST /preferences/{token}`,
    `GET|POST /unsubscribe/{token}`, `POST /webhooks/sendgrid`, `GET /health`.

    `secret` (default: BROADSHEET_SECRET) signs the sign-up and preferences forms and the confirmation
    links; without one of at least 16 characters there is no sign-up and no preferences page, and without
    a `confirmation_link` no sign-up. `app.state.outgoing` (`Outgoing`) counts the confirmation emails
    still being sent after their answer. `transport_factory` opens the transport that
    sends each confirmation email (default: BROADSHEET_TRANSPORT, else the `transport` setting).
    Raises `InvalidWebhookKey` for a public key that is not a base64 EC key.
    Without a key every webhook request is refused (403).
    """
    settings = project.settings
    pages = WebPages(project)
    webhook = Webhook(engine, webhook_public_key, settings.webhook_max_age_seconds)
    signup_secret = secret if secret is not None else os.environ.get(SECRET_VARIABLE, "")
    opened = transport_factory or (lambda: _configured_transport(project))
    forms = FormTokens(signup_secret)
    limits = SignUpLimits(
        settings.signup_limit_per_client, settings.signup_limit_per_address, settings.signup_limit_total
    )
    link = confirmation_link(settings)
    signup = SignUp(project, engine, pages, forms, signup_secret, opened, signer, limits, link or "")
    preferences = Preferences(project, engine, signer, pages, forms)
    unsubscribe = Unsubscribe(engine, signer, pages, settings)

    async def health(_request: Request) -> Response:
        try:
            await run_in_threadpool(_ping, engine)
        except SQLAlchemyError as exc:
            logger.error("event=health outcome=database-unavailable error=%s", type(exc).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    signup_routes = [
        Route("/subscribe", _by_method(signup.form, signup.submit), methods=["GET", "POST"]),
        Route("/confirm/{token}", signup.confirm, methods=["GET", "POST"]),
    ]
    preferences_routes = [
        Route(
            "/preferences/{token}",
            _by_method(preferences.form, preferences.submit),
            methods=["GET", "POST"],
        ),
    ]
    signed = len(signup_secret) >= MIN_SECRET_LENGTH

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        expiry = timedelta(days=settings.confirmation_max_age_days)
        tidying = asyncio.create_task(drop_unconfirmed_every(TIDY_INTERVAL, engine, expiry))
        try:
            yield
        finally:
            tidying.cancel()

    app = Starlette(
        lifespan=lifespan,
        routes=[
            *(signup_routes if signed and link is not None else []),
            *(preferences_routes if signed else []),
            Route("/unsubscribe/{token}", unsubscribe.page, methods=["GET", "POST"]),
            Route("/webhooks/sendgrid", webhook.receive, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/{path:path}/", _without_the_last_slash, methods=["GET", "HEAD", "POST"]),
        ],
    )
    # Starlette's own redirect names the host and scheme it was asked for (`http://` behind an HTTPS proxy, a
    # forged Host header) and drops a proxy's path prefix: `_without_the_last_slash` stays relative.
    app.router.redirect_slashes = False
    app.state.outgoing = signup.outgoing
    return app


def _by_method(
    get: Callable[[Request], Awaitable[Response]], post: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """One endpoint of `get` (and HEAD) and `post`: one route per address, so that a method it does not take
    (OPTIONS, PUT) gets a 405 whose Allow names them all, as RFC 9110 asks; with a route per method it named
    the first route's only (`GET, HEAD` for a form that is posted)."""

    async def endpoint(request: Request) -> Response:
        return await (post if request.method == "POST" else get)(request)

    return endpoint


async def _without_the_last_slash(request: Request) -> Response:
    """`/subscribe/` -> `/subscribe`, by a Location relative to the page (`../subscribe`), which keeps the scheme,
    the host and any path prefix the visitor came through."""
    last = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    query = f"?{request.url.query}" if request.url.query else ""
    return Response(status_code=307, headers={"Location": f"../{quote(last)}{query}"})


def _configured_transport(project: Project) -> Transport:
    spec = os.environ.get("BROADSHEET_TRANSPORT") or project.settings.transport
    return open_transport(spec, environ=os.environ)


def _ping(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar_one()
