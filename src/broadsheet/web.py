"""The public web side of delivery: sign-up with double opt-in, preferences and unsubscribe pages, SendGrid's Event Webhook, and a health check.

`create_app` makes the Starlette application that `broadsheet serve` runs.
Logs are `key=value` lines naming subscribers by id, never by address.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import gettext
import hashlib
import ipaddress
import json
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any, Literal
from urllib.parse import parse_qs, quote

import jinja2
from babel import Locale
from cryptography.hazmat.primitives.asymmetric import ec
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from markupsafe import Markup
from sendgrid.helpers.eventwebhook import EventWebhook  # type: ignore[import-untyped]
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .catalogs import INTERFACE, catalog_path, compiled
from .delivery import feedback
from .delivery.personalize import SECRET_VARIABLE, TOKEN_CHARACTERS, Signer, sender_domain
from .delivery.store import Status, Subscriber, utcnow
from .delivery.subscribers import _check as check_subscriber
from .delivery.transports import Batch, Outcome, Recipient, Transport, open_transport
from .errors import BroadsheetError
from .logs import without_addresses
from .settings import Project, Settings

logger = logging.getLogger(__name__)

WEBHOOK_PUBLIC_KEY_VARIABLE = "SENDGRID_WEBHOOK_PUBLIC_KEY"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_WEBHOOK_BODY = 1_000_000
"""Bytes; SendGrid batches events into posts far smaller than this."""
UNSUBSCRIBE_TEMPLATE = "web/unsubscribe.html.j2"
SIGNUP_TEMPLATE = "web/signup.html.j2"
PREFERENCES_TEMPLATE = "web/preferences.html.j2"
CONFIRMATION_HTML_TEMPLATE = "web/confirmation.html.j2"
CONFIRMATION_TEXT_TEMPLATE = "web/confirmation.txt.j2"
SUBSCRIBED_HTML_TEMPLATE = "web/subscribed.html.j2"
SUBSCRIBED_TEXT_TEMPLATE = "web/subscribed.txt.j2"
"""The email to an address that signs up while it already receives the newsletter: a link to its preferences."""
SNIPPET_TEMPLATE = "web/snippet.html.j2"
CONSENT_TEMPLATE = "web/consent.txt.j2"
"""The statement a person agrees to by signing up: shown above the form's button and stored, word for word, with them."""
CONFIRM_SALT = "broadsheet-confirm"
FORM_SALT = "broadsheet-subscribe-form"
MAX_FORM_BODY = 10_000
"""Bytes; the sign-up and preferences forms are far smaller. A larger body is read as an empty form."""
FORM_MAX_AGE = 2 * 3600
"""Seconds a sign-up or preferences form stays usable after it was served."""
CONFIRMATION_INTERVAL = timedelta(hours=1)
"""At most one confirmation email per address in this time, whoever asks for it."""
TIDY_INTERVAL = timedelta(hours=1)
"""How often `broadsheet serve` drops the sign-ups nobody confirmed in time, besides at each sign-up."""
CONSENT_SOURCE = "web form"
SIGNUP_PURPOSE = "subscribe"
"""What a sign-up form's token is for, followed by `:` and the language of the form."""
PAGE_LANGUAGE_FIELD = "page_language"
"""A field of `broadsheet snippet`'s form: the language it is in, which the app's own form then speaks."""
HONEYPOT_FIELD = "website"
"""A field people never see (hidden by CSS) and form-filling robots fill in."""
_MIN_SECRET = 16

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
    signed = len(signup_secret) >= _MIN_SECRET

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


class WebPages:
    """The pages of the app in each locale, from the project's templates and interface catalog."""

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
                autoescape=jinja2.select_autoescape(default=True, disabled_extensions=("txt.j2",)),
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

    def values(self, locale: str) -> dict[str, Any]:
        """What every page and email of the app shows: the language and typography of `locale`, the publisher."""
        settings = self.project.settings
        language = settings.language(locale)
        return {
            "lang": locale.replace("_", "-"),
            "organization": settings.organization.name,
            "font_family": language.font_family,
            "line_height": language.line_height,
            "heading_line_height": language.heading_line_height,
        }

    def consent(self, locale: str) -> str:
        """The statement a person agrees to by sending the sign-up form in `locale`, on one line, as the form shows it."""
        template = self.environment(locale).get_template(CONSENT_TEMPLATE)
        return " ".join(template.render(self.values(locale)).split())

    def render(self, template: str, state: str, locale: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
        page = self.environment(locale).get_template(template).render(
            state=state, **{"action": "", **self.values(locale), **values}
        )
        return HTMLResponse(page, status_code=status_code, headers=_PAGE_HEADERS)


class FormTokens:
    """The signed, timed token in each form of the app (CSRF): a post is taken only with the token of a page
    this app served for the same purpose in the last `FORM_MAX_AGE` seconds."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=FORM_SALT)

    def issue(self, purpose: str) -> str:
        return self._serializer.dumps(purpose)

    def purpose(self, token: str) -> str | None:
        """What the form of a valid `token` was for; None for a missing, forged or expired token."""
        try:
            purpose = self._serializer.loads(token, max_age=FORM_MAX_AGE)
        except BadData:
            return None
        return purpose if isinstance(purpose, str) else None

    def valid(self, token: str, purpose: str) -> bool:
        return self.purpose(token) == purpose


class SignUpLimits:
    """How many sign-ups `/subscribe` takes per client address, per email address and in all, in a moving window
    (the `signup_limit_per_client`, `signup_limit_per_address` and `signup_limit_total` settings).

    Counted in this process's memory: a restart starts the count again, and
    several processes behind one address would each count on their own.
    Email addresses are counted by a hash, so that the memory holds none.
    """

    def __init__(self, per_client: str, per_address: str, total: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rates = {"client": parse_many(per_client), "address": parse_many(per_address), "total": parse_many(total)}

    def take(self, *counted: tuple[Literal["client", "address", "total"], str]) -> int | None:
        """Count one sign-up against each (kind, key) of `counted`, kind "client", "address" or "total" (whose
        key is ""); None when all are within their limits, else how many seconds until the fullest takes one
        more, and nothing was counted: a refused sign-up uses up no one else's allowance."""
        full: list[tuple[RateLimitItem, str, str]] = []
        for kind, key in counted:
            identity = self._identity(kind, key)
            full += [(rate, kind, identity) for rate in self._rates[kind] if not self._limiter.test(rate, kind, identity)]
        if full:
            reset = max(self._limiter.get_window_stats(rate, kind, identity).reset_time for rate, kind, identity in full)
            return max(1, math.ceil(reset - time.time()))
        for kind, key in counted:
            identity = self._identity(kind, key)
            for rate in self._rates[kind]:
                self._limiter.hit(rate, kind, identity)
        return None

    @staticmethod
    def _identity(kind: str, key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest() if kind == "address" else key


class Outgoing:
    """The confirmation emails being sent after their answer went out, counted so that a test, or a
    shutdown, can wait until they are gone (`wait`)."""

    def __init__(self) -> None:
        self._sending = 0
        self._idle = threading.Condition()

    def task(self, send: Callable[[PendingSignUp], None], subscriber: PendingSignUp) -> BackgroundTask:
        """`send(subscriber)` as the background task of a response, counted from now."""
        with self._idle:
            self._sending += 1
        return BackgroundTask(self._run, send, subscriber)

    def wait(self, timeout: float) -> bool:
        """Wait until no email is being sent, at most `timeout` seconds; whether none is."""
        with self._idle:
            return self._idle.wait_for(lambda: self._sending == 0, timeout)

    def _run(self, send: Callable[[PendingSignUp], None], subscriber: PendingSignUp) -> None:
        try:
            send(subscriber)
        finally:
            with self._idle:
                self._sending -= 1
                self._idle.notify_all()


class SignUp:
    """Double opt-in: the form, a pending subscriber and a signed confirmation link, then the confirmation.

    The answer to a sign-up is the same whether the address was known, active,
    pending or gone: the page tells nobody who subscribes.
    """

    def __init__(
        self,
        project: Project,
        engine: Engine,
        pages: WebPages,
        forms: FormTokens,
        secret: str,
        transport: Callable[[], Transport],
        signer: Signer,
        limits: SignUpLimits,
        link: str,
    ) -> None:
        self.project = project
        self.link = link
        self.outgoing = Outgoing()
        self.engine = engine
        self.pages = pages
        self.transport = transport
        self.signer = signer
        self.limits = limits
        self._forms = forms
        self._links = URLSafeTimedSerializer(secret, salt=CONFIRM_SALT)

    async def form(self, request: Request) -> Response:
        locale = self._page_locale(request)
        return self._form_page(locale, {"email": "", "name": "", "language": locale}, errors=set())

    async def submit(self, request: Request) -> Response:
        locales = self.project.settings.locales
        # The form's own encoding (no JavaScript, no files): application/x-www-form-urlencoded.
        body = await _limited_body(request, MAX_FORM_BODY)
        given = parse_qs(body.decode("utf-8", errors="replace")) if body is not None else {}
        fields = {key: given.get(key, [""])[0] for key in ("csrf", "email", "name", "language", PAGE_LANGUAGE_FIELD, HONEYPOT_FIELD)}
        locale = _locale_named(fields["language"], locales) or self.project.settings.source_locale
        if fields[HONEYPOT_FIELD]:
            logger.info("event=signup outcome=honeypot")
            return self.pages.render(SIGNUP_TEMPLATE, "sent", locale)
        values = {"email": fields["email"], "name": fields["name"], "language": locale}
        page_locale, current = self._form_locale(fields["csrf"])
        if page_locale is None or not current:
            # Posted by a form this app did not serve lately: one left open too long or showing a consent
            # since changed, or the organization's own website (`broadsheet snippet`), which cannot hold a
            # token. Nothing is stored and nothing sent until the person presses the button on this app's own
            # form, shown here filled in, in the language of the form they used.
            given_token = bool(fields["csrf"])
            logger.info("event=signup outcome=%s", "bad-form-token" if given_token else "no-form-token")
            notice = "expired" if given_token else "review"
            shown_in = page_locale or _locale_named(fields[PAGE_LANGUAGE_FIELD], locales) or locale
            return self._form_page(shown_in, values, errors=set(), notice=notice, status_code=400 if given_token else 200)
        # Only a post from this app's own form counts: it is what may store an address and send an email.
        # Every such post counts against its client; a valid one also against its address and the total,
        # so that one client refused, or typing nonsense, cannot use up everyone's sign-ups.
        client = _client_key(request.client.host if request.client else "")
        wait = self.limits.take(("client", client))
        if wait is not None:
            logger.info("event=signup outcome=rate-limited limit=client")
            return self._too_many(page_locale, wait)
        row, problems = check_subscriber(fields["email"], fields["name"], fields["language"], "", locales)
        if row is None:
            return self._form_page(page_locale, values, errors={field for field, _message in problems}, status_code=400)
        wait = self.limits.take(("address", row.key), ("total", ""))
        if wait is not None:
            logger.info("event=signup outcome=rate-limited limit=address-or-total")
            return self._too_many(page_locale, wait)
        consent = self.pages.consent(page_locale)
        expiry = timedelta(days=self.project.settings.confirmation_max_age_days)
        pending = await run_in_threadpool(_sign_up, self.engine, row.email, row.name, row.locale, consent, utcnow(), expiry)
        if pending is None:
            logger.info("event=signup outcome=no-email")
        response = self.pages.render(SIGNUP_TEMPLATE, "sent", row.locale)
        if pending is not None:
            # Sent once the answer has gone: whether an email goes or not, and however long the mail server
            # takes, the answer comes as fast, so its timing tells nobody who subscribes either.
            response.background = self.outgoing.task(self._send_confirmation, pending)
        return response

    async def confirm(self, request: Request) -> Response:
        if request.method == "HEAD":
            # Link checkers ask HEAD of the links in an email: only following the link confirms.
            return HTMLResponse(None, headers=_PAGE_HEADERS)
        token = str(request.path_params["token"])
        max_age = int(timedelta(days=self.project.settings.confirmation_max_age_days).total_seconds())
        try:
            if not TOKEN_CHARACTERS.fullmatch(token):
                raise BadData("not a token of ours")
            identifier, digest = self._links.loads(token, max_age=max_age)
        except (BadData, TypeError, ValueError):
            logger.info("event=confirm outcome=invalid-token")
            return self.pages.render(SIGNUP_TEMPLATE, "bad-link", self._page_locale(request), status_code=400)
        subscriber, newly = await run_in_threadpool(_confirm, self.engine, identifier, digest, utcnow())
        if subscriber is None:
            logger.info("event=confirm outcome=not-pending")
            return self.pages.render(SIGNUP_TEMPLATE, "bad-link", self._page_locale(request), status_code=400)
        logger.info("event=confirm outcome=%s subscriber=%d", "active" if newly else "already-active", subscriber.id)
        # Relative, so that it holds wherever the app is mounted: /confirm/{token} beside /preferences/{token}.
        preferences = f"../preferences/{quote(self.signer.token(subscriber), safe='')}"
        state = "confirmed" if newly else "already-confirmed"
        return self.pages.render(SIGNUP_TEMPLATE, state, subscriber.locale, preferences=preferences)

    def _form_page(
        self, locale: str, values: dict[str, str], *, errors: set[str], notice: str = "", status_code: int = 200
    ) -> HTMLResponse:
        # The token names the language of the page and the consent it shows: what is recorded is what the person read.
        consent = self.pages.consent(locale)
        return self.pages.render(
            SIGNUP_TEMPLATE, "form", locale, status_code=status_code,
            # Relative, so that it holds wherever the app is mounted: the page is /subscribe itself.
            action="subscribe", csrf=self._forms.issue(f"{SIGNUP_PURPOSE}:{locale}:{_digest(consent)}"),
            honeypot=HONEYPOT_FIELD, languages=_languages(self.project.settings.locales), values=values, errors=errors,
            consent=consent, notice=notice,
        )

    def _form_locale(self, token: str) -> tuple[str | None, bool]:
        """The language of the sign-up form that issued `token` (None when it is no valid sign-up form token),
        and whether the consent that form showed is still the one in force (else the person reads the new one)."""
        kind, _, rest = (self._forms.purpose(token) or "").partition(":")
        locale, _, shown = rest.partition(":")
        if kind != SIGNUP_PURPOSE or locale not in self.project.settings.locales:
            return None, False
        return locale, shown == _digest(self.pages.consent(locale))

    def _too_many(self, locale: str, wait: int) -> HTMLResponse:
        response = self.pages.render(SIGNUP_TEMPLATE, "too-many", locale, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response

    def _page_locale(self, request: Request) -> str:
        return visitor_locale(request, self.project.settings)

    def _send_confirmation(self, subscriber: PendingSignUp) -> None:
        settings = self.project.settings
        if subscriber.active:
            link = settings.preferences_url.replace("{token}", self.signer.token(subscriber))
            templates, kind = (SUBSCRIBED_HTML_TEMPLATE, SUBSCRIBED_TEXT_TEMPLATE), "already-subscribed"
        else:
            token = self._links.dumps([subscriber.id, Signer.address_digest(subscriber.email_key)])
            link = self.link.replace("{token}", token)
            templates, kind = (CONFIRMATION_HTML_TEMPLATE, CONFIRMATION_TEXT_TEMPLATE), "confirmation"
        environment = self.pages.environment(subscriber.locale)
        values = {**self.pages.values(subscriber.locale), "link": link}
        html = environment.get_template(templates[0]).make_module(values)
        batch = Batch(
            issue=kind,
            locale=subscriber.locale,
            subject=Markup(vars(html)["subject"]).unescape(),
            html=str(html),
            text=environment.get_template(templates[1]).render(values),
            sender=settings.sender,
            reply_to=settings.reply_to or None,
            recipients=[
                Recipient(
                    address=subscriber.email,
                    name=subscriber.name,
                    message_id=make_msgid(domain=sender_domain(settings.sender)),
                    substitutions={},
                )
            ],
        )
        try:
            transport = self.transport()
            try:
                delivery = transport.send(batch)[0]
            finally:
                transport.close()
        except Exception as exc:
            # The answer has gone: whatever failed is logged (never raised into the server), and the address freed.
            delivery = None
            # A mail server's refusal, or an outbox's file name, may hold the address.
            logger.error(
                "event=signup outcome=transport-error subscriber=%d error=%s: %s",
                subscriber.id, type(exc).__name__, without_addresses(str(exc)),
            )
        if delivery is None or delivery.outcome is not Outcome.SENT:
            # Nothing went out: the next sign-up with the address may try again at once.
            _forget_confirmation(self.engine, subscriber.id)
            logger.warning("event=signup outcome=not-sent subscriber=%d", subscriber.id)
            return
        logger.info("event=signup outcome=%s-sent subscriber=%d", kind, subscriber.id)


class Preferences:
    """A subscriber's own page, reached by the signed token of their emails: their name and the language
    of the newsletter, which the next send reads."""

    def __init__(self, project: Project, engine: Engine, signer: Signer, pages: WebPages, forms: FormTokens) -> None:
        self.project = project
        self.engine = engine
        self.signer = signer
        self.pages = pages
        self._forms = forms

    async def form(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        subscriber = await run_in_threadpool(feedback.subscriber_of_token, self.engine, self.signer, token)
        if subscriber is None:
            logger.info("event=preferences outcome=invalid-token method=GET")
            return self._invalid(request)
        if subscriber.status != Status.ACTIVE.value:
            return self.pages.render(PREFERENCES_TEMPLATE, "inactive", subscriber.locale)
        return self._form_page(subscriber, request, {"name": subscriber.name, "language": subscriber.locale}, errors=set())

    async def submit(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        subscriber = await run_in_threadpool(feedback.subscriber_of_token, self.engine, self.signer, token)
        if subscriber is None:
            logger.info("event=preferences outcome=invalid-token method=POST")
            return self._invalid(request)
        body = await _limited_body(request, MAX_FORM_BODY)
        given = parse_qs(body.decode("utf-8", errors="replace")) if body is not None else {}
        fields = {key: given.get(key, [""])[0] for key in ("csrf", "name", "language")}
        if not self._forms.valid(fields["csrf"], self._purpose(subscriber)):
            logger.info("event=preferences outcome=bad-form-token subscriber=%d", subscriber.id)
            return self.pages.render(PREFERENCES_TEMPLATE, "expired-form", subscriber.locale, status_code=400)
        if subscriber.status != Status.ACTIVE.value:
            return self.pages.render(PREFERENCES_TEMPLATE, "inactive", subscriber.locale, status_code=409)
        row, problems = check_subscriber(subscriber.email, fields["name"], fields["language"], "", self.project.settings.locales)
        if row is None:
            values = {"name": fields["name"], "language": fields["language"]}
            return self._form_page(subscriber, request, values, errors={field for field, _message in problems}, status_code=400)
        changed = await run_in_threadpool(_change_preferences, self.engine, subscriber.id, row.name, row.locale)
        if not changed:
            # Unsubscribed (or bounced) between the check above and the update.
            return self.pages.render(PREFERENCES_TEMPLATE, "inactive", subscriber.locale, status_code=409)
        logger.info("event=preferences outcome=saved subscriber=%d locale=%s", subscriber.id, row.locale)
        return self.pages.render(PREFERENCES_TEMPLATE, "saved", row.locale)

    def _form_page(
        self, subscriber: Subscriber, request: Request, values: dict[str, str], *, errors: set[str], status_code: int = 200
    ) -> HTMLResponse:
        token = quote(str(request.path_params["token"]), safe="")
        return self.pages.render(
            PREFERENCES_TEMPLATE, "form", subscriber.locale, status_code=status_code,
            # Relative, so that they hold wherever the app is mounted: the page is /preferences/{token} itself.
            action=token, csrf=self._forms.issue(self._purpose(subscriber)),
            unsubscribe_action=f"../unsubscribe/{token}",
            languages=_languages(self.project.settings.locales), values=values, errors=errors,
        )

    def _invalid(self, request: Request) -> HTMLResponse:
        return self.pages.render(PREFERENCES_TEMPLATE, "invalid", visitor_locale(request, self.project.settings), status_code=400)

    @staticmethod
    def _purpose(subscriber: Subscriber) -> str:
        # A form token serves the page of one subscriber only.
        return f"preferences:{subscriber.id}"


def _change_preferences(engine: Engine, subscriber_id: int, name: str, locale: str) -> bool:
    """Set the name and language of an active subscriber; whether they were one."""
    with Session(engine) as session, session.begin():
        changed = session.execute(
            update(Subscriber)
            .where(Subscriber.id == subscriber_id, Subscriber.status == Status.ACTIVE.value)
            .values(name=name, locale=locale, updated_at=utcnow())
        )
        return bool(changed.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PendingSignUp:
    """A sign-up to send an email for: the subscriber's id and key, the address and name to write to, and
    the language the form gave. `active`: they already receive the newsletter, and are sent a link to their
    preferences instead of a confirmation."""

    id: int
    email_key: str
    email: str
    name: str
    locale: str
    active: bool = False


def _sign_up(
    engine: Engine, email: str, name: str, locale: str, consent: str, now: datetime, expiry: timedelta
) -> PendingSignUp | None:
    """The sign-up to send an email for (a confirmation, or an active address's preferences link), or None
    when no email should go.

    A new address is added `pending`, with the name and language given; one
    already pending takes them. An address that left (unsubscribed, bounced or
    complained) stays as it is, under its old name and language, with the new
    ones kept apart (`pending_name`, `pending_locale`) until it confirms: the
    confirmation proves the mailbox is theirs and works. Either way the
    `consent` text it would agree to waits in `pending_consent_text`, so that
    typing someone's address changes nothing on their record. An active
    address changes in nothing but is sent a link to its preferences (someone
    who forgot they subscribe, or lost the link), and no address is sent more
    than one of these emails an hour.
    Sign-ups that were never confirmed within `expiry` are dropped first
    (`drop_unconfirmed`).
    """
    key = email.lower()
    drop_unconfirmed(engine, now - expiry)
    with Session(engine, expire_on_commit=False) as session:
        subscriber = session.scalars(select(Subscriber).where(Subscriber.email_key == key)).one_or_none()
        if subscriber is None:
            subscriber = Subscriber(email=email, email_key=key, name=name, locale=locale, status=Status.PENDING.value)
            session.add(subscriber)
        elif _recently_sent(subscriber, now):
            return None
        elif subscriber.status == Status.ACTIVE.value:
            # Nothing on record changes: they are told so, with the way to their preferences.
            subscriber.confirmation_sent_at = now
            session.commit()
            return PendingSignUp(subscriber.id, subscriber.email_key, subscriber.email, subscriber.name, locale, active=True)
        elif subscriber.status == Status.PENDING.value:
            subscriber.email, subscriber.name, subscriber.locale = email, name, locale
        else:
            subscriber.pending_name, subscriber.pending_locale = name, locale
        subscriber.confirmation_sent_at = now
        subscriber.pending_consent_text = consent
        try:
            session.commit()
        except IntegrityError:
            # The same address signed up in another request at the same moment: that one sends.
            return None
        return PendingSignUp(subscriber.id, subscriber.email_key, email, name, locale)


async def _drop_unconfirmed_every(interval: timedelta, engine: Engine, expiry: timedelta) -> None:
    """`drop_unconfirmed` now and every `interval`, whether or not anyone signs up."""
    while True:
        try:
            dropped = await run_in_threadpool(drop_unconfirmed, engine, utcnow() - expiry)
        except SQLAlchemyError as exc:
            logger.error("event=drop-unconfirmed outcome=database-unavailable error=%s", type(exc).__name__)
        else:
            logger.info("event=drop-unconfirmed outcome=ok dropped=%d", dropped)
        await asyncio.sleep(interval.total_seconds())


def drop_unconfirmed(engine: Engine, cutoff: datetime) -> int:
    """Drop the sign-ups last made before `cutoff` and never confirmed: delete new addresses still pending,
    and clear what a returning one gave (`pending_*`). How many rows changed. Nothing keeps an address, or
    a name, that nobody confirmed."""
    with Session(engine) as session, session.begin():
        deleted = session.execute(
            delete(Subscriber).where(Subscriber.status == Status.PENDING.value, Subscriber.updated_at < cutoff)
        )
        cleared = session.execute(
            update(Subscriber)
            .where(Subscriber.pending_consent_text.is_not(None), Subscriber.updated_at < cutoff)
            .values(pending_consent_text=None, pending_name=None, pending_locale=None)
        )
        return int(deleted.rowcount + cleared.rowcount)  # type: ignore[attr-defined]


def _forget_confirmation(engine: Engine, subscriber_id: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Subscriber).where(Subscriber.id == subscriber_id).values(confirmation_sent_at=None))


def _confirm(engine: Engine, subscriber_id: int, digest: str, now: datetime) -> tuple[Subscriber | None, bool]:
    """The subscriber of a confirmation link, made active with their consent recorded, and whether this link
    made them so (False: they already were). An address that unsubscribed and signed up again takes the name
    and language of that sign-up. None when the link names nobody, or an address with no sign-up awaiting
    confirmation (it left since it signed up: the old link does not bring it back).
    """
    with Session(engine, expire_on_commit=False) as session, session.begin():
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None or Signer.address_digest(subscriber.email_key) != digest:
            return None, False
        if subscriber.status == Status.ACTIVE.value:
            return subscriber, False
        returning = subscriber.status != Status.PENDING.value and subscriber.pending_locale is not None
        if subscriber.status != Status.PENDING.value and not returning:
            return None, False
        if returning:
            subscriber.name, subscriber.locale = subscriber.pending_name or "", subscriber.pending_locale or subscriber.locale
        subscriber.status = Status.ACTIVE.value
        subscriber.consented_at = now
        subscriber.consent_source = CONSENT_SOURCE
        if subscriber.pending_consent_text is not None:
            subscriber.consent_text = subscriber.pending_consent_text
        subscriber.pending_consent_text = subscriber.pending_name = subscriber.pending_locale = None
        return subscriber, True


def _recently_sent(subscriber: Subscriber, now: datetime) -> bool:
    sent = subscriber.confirmation_sent_at
    if sent is None:
        return False
    # SQLite hands back naive datetimes: they were stored in UTC.
    return (sent if sent.tzinfo is not None else sent.replace(tzinfo=now.tzinfo)) > now - CONFIRMATION_INTERVAL


def public_url(settings: Settings) -> str | None:
    """Where the public reaches this app: the address of the unsubscribe pages (`unsubscribe_url`) without
    its `/unsubscribe/{token}`; None when `unsubscribe_url` does not end so (the app is not where it points)."""
    suffix = "/unsubscribe/{token}"
    return settings.unsubscribe_url.removesuffix(suffix) if settings.unsubscribe_url.endswith(suffix) else None


def snippet(project: Project, locale: str, action: str) -> str:
    """An HTML sign-up form in `locale` for the organization's own website, posting to `action` (this app's
    `/subscribe`). It carries no token: the app shows the person its own form, filled in, to press once more."""
    pages = WebPages(project)
    template = pages.environment(locale).get_template(SNIPPET_TEMPLATE)
    return template.render(
        **pages.values(locale), action=action, honeypot=HONEYPOT_FIELD, consent=pages.consent(locale),
        page_language=PAGE_LANGUAGE_FIELD,
        languages=_languages(project.settings.locales), selected=locale,
    )


def confirmation_link(settings: Settings) -> str | None:
    """The link of each confirmation email, `{token}` still in it: the `confirm_url` setting, else beside the
    unsubscribe pages at their public address (`public_url`); None when neither tells. Never the address
    a form was posted to: whoever posts names that (the Host header), and would receive the token."""
    if settings.confirm_url:
        return settings.confirm_url
    base = public_url(settings)
    return f"{base}/confirm/{{token}}" if base is not None else None


def visitor_locale(request: Request, settings: Settings) -> str:
    """The language of a page for a visitor nothing else tells about: `?lang=`, else their Accept-Language,
    else the source locale."""
    asked = _locale_named(request.query_params.get("lang", ""), settings.locales)
    return asked or _negotiated(request.headers.get("accept-language", ""), settings.locales) or settings.source_locale


def _languages(locales: tuple[str, ...]) -> list[tuple[str, str]]:
    """(code, the language's own name for itself) of each configured locale, for a language select."""
    return [(code, Locale.parse(code).get_display_name(code) or code) for code in locales]


def _locale_named(code: str, locales: tuple[str, ...]) -> str | None:
    """The configured locale `code` names, whatever its case and separator, or None."""
    configured = {locale.lower(): locale for locale in locales}
    return configured.get(code.strip().lower().replace("-", "_"))


def _negotiated(accept_language: str, locales: tuple[str, ...]) -> str | None:
    """The configured locale the reader prefers most by their Accept-Language header (RFC 9110), or None.
    `*` stands for any configured locale the header does not name; a quality of 0 rules a language out."""
    ranked: list[tuple[float, int, str]] = []
    refused: set[str] = set()
    for position, part in enumerate(accept_language.split(",")):
        tag, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            if parameter.lower().startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = -1.0
        tag = tag.lower().replace("-", "_")
        if not tag or not 0 <= quality <= 1:
            continue
        if quality == 0:
            refused.add(tag)
        else:
            ranked.append((-quality, position, tag))
    configured = {locale.lower(): locale for locale in locales}
    named = {tag for _quality, _position, tag in ranked} | refused
    for _quality, _position, tag in sorted(ranked):
        if tag == "*":
            others = [code for lower, code in configured.items() if lower not in named and lower.split("_")[0] not in named]
            if others:
                return others[0]
            continue
        found = configured.get(tag) or configured.get(tag.split("_")[0])
        if found and found.lower() not in refused:
            return found
    return None


def _configured_transport(project: Project) -> Transport:
    spec = os.environ.get("BROADSHEET_TRANSPORT") or project.settings.transport
    return open_transport(spec, environ=os.environ)


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


def _digest(text: str) -> str:
    """A short fingerprint of `text`, for a form token to name the consent its page showed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _client_key(host: str) -> str:
    """Whom the per-client limit counts: the address, or for IPv6 its /64 network (what one home or phone gets)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _ping(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar_one()
