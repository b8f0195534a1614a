"""Sign-up with double opt-in: the form, the confirmation email (sent after the answer) and its link, and
dropping sign-ups nobody confirmed. What a sign-up and a confirmation change is `delivery.lifecycle`'s."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from email.utils import make_msgid
from urllib.parse import quote

from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy import Engine
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..delivery import lifecycle, subscribers
from ..delivery.lifecycle import CONSENT_SOURCE, PendingSignUp
from ..delivery.personalize import TOKEN_CHARACTERS, Signer, sender_domain
from ..delivery.store import Subscriber, utcnow
from ..delivery.transports import Batch, Outcome, Recipient, Transport, TransportError
from ..logs import without_addresses
from ..settings import Project, Settings
from .limits import SignUpLimits, client_key
from .pages import (
    FormTokens,
    WebPages,
    field_errors,
    form_fields,
    languages,
    locale_named,
    subscriber_locale,
    visitor_locale,
)

# One logger for the whole app: its lines name `broadsheet.web`, whichever of its modules writes them.
logger = logging.getLogger("broadsheet.web")

SIGNUP_TEMPLATE = "web/signup.html.j2"
CONFIRMATION_HTML_TEMPLATE = "web/confirmation.html.j2"
CONFIRMATION_TEXT_TEMPLATE = "web/confirmation.txt.j2"
SUBSCRIBED_HTML_TEMPLATE = "web/subscribed.html.j2"
SUBSCRIBED_TEXT_TEMPLATE = "web/subscribed.txt.j2"
"""The email to an address that signs up while it already receives the newsletter: a link to its preferences."""
CONFIRM_SALT = "broadsheet-confirm"
SIGNUP_PURPOSE = "subscribe"
"""What a sign-up form's token is for, followed by `:`-separated the language of the form, the digest of
its consent, and its source."""
SOURCE_FIELD = "source"
"""Which form a sign-up came from, named by whoever placed it: `?source=` of /subscribe, or the hidden field
of `broadsheet snippet --source`. Kept in the form's token and the confirmation link, recorded with the consent."""
MAX_SOURCE = subscribers.CONSENT_SOURCE_LENGTH - len(f"{CONSENT_SOURCE}: ")
"""The longest source of a form: `web form: SOURCE` fits where consent sources are kept."""
PAGE_LANGUAGE_FIELD = "page_language"
"""A field of `broadsheet snippet`'s form: the language it is in, which the app's own form then speaks."""
HONEYPOT_FIELD = "website"
"""A field people never see (hidden by CSS) and form-filling robots fill in."""


class Outgoing:
    """The confirmation emails being sent after their answer went out, counted so that a test can wait
    until they are gone (`wait`). On a clean shutdown uvicorn waits for them itself."""

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
        source = form_source(request.query_params.get(SOURCE_FIELD, ""))
        return self._form_page(
            locale, {"email": "", "name": "", "language": locale}, errors=set(), source=source
        )

    async def submit(self, request: Request) -> Response:
        locales = self.project.settings.locales
        names = ("csrf", "email", "name", "language", PAGE_LANGUAGE_FIELD, HONEYPOT_FIELD, SOURCE_FIELD)
        fields = await form_fields(request, names)
        locale = locale_named(fields["language"], locales) or self.project.settings.source_locale
        if fields[HONEYPOT_FIELD]:
            logger.info("event=signup outcome=honeypot")
            return self.pages.render(SIGNUP_TEMPLATE, "sent", locale)
        values = {"email": fields["email"], "name": fields["name"], "language": locale}
        page_locale, current, source = self._form_locale(fields["csrf"])
        if page_locale is None or not current:
            # Posted by a form this app did not serve lately: one left open too long or showing a consent
            # since changed, or the organization's own website (`broadsheet snippet`), which cannot hold a
            # token. Nothing is stored and nothing sent until the person presses the button on this app's own
            # form, shown here filled in, in the language of the form they used.
            given_token = bool(fields["csrf"])
            logger.info("event=signup outcome=%s", "bad-form-token" if given_token else "no-form-token")
            notice = "expired" if given_token else "review"
            shown_in = page_locale or locale_named(fields[PAGE_LANGUAGE_FIELD], locales) or locale
            # A form of the app's own keeps its source in a hidden field too, for when its token has expired.
            source = source if page_locale is not None else form_source(fields[SOURCE_FIELD])
            return self._form_page(
                shown_in,
                values,
                errors=set(),
                notice=notice,
                source=source,
                status_code=400 if given_token else 200,
            )
        # Only a post from this app's own form counts: it is what may store an address and send an email.
        # Every such post counts against its client; a valid one also against its address and the total,
        # so that one client refused, or typing nonsense, cannot use up everyone's sign-ups.
        client = client_key(request.client.host if request.client else "")
        wait = self.limits.take(("client", client))
        if wait is not None:
            logger.info("event=signup outcome=rate-limited limit=client")
            return self._too_many(page_locale, wait)
        row, problems, notes = subscribers.check(
            fields["email"], fields["name"], fields["language"], "", locales
        )
        if row is None:
            errors = field_errors(problems, fields["name"])
            return self._form_page(page_locale, values, errors=errors, source=source, status_code=400)
        if notes:
            # A name in Zawgyi: stored in Unicode, as the newsletter is written, when PyICU can convert it; as
            # typed otherwise (the person cannot change how their keyboard encodes it).
            converted = row.name != fields["name"].strip()
            logger.info("event=signup name=%s", "zawgyi-converted" if converted else "zawgyi-kept")
        wait = self.limits.take(("address", row.key), ("total", ""))
        if wait is not None:
            logger.info("event=signup outcome=rate-limited limit=address-or-total")
            return self._too_many(page_locale, wait)
        consent = self.pages.consent(page_locale)
        expiry = timedelta(days=self.project.settings.confirmation_max_age_days)
        pending = await run_in_threadpool(lifecycle.sign_up, self.engine, row, consent, utcnow(), expiry)
        response = self.pages.render(SIGNUP_TEMPLATE, "sent", row.locale)
        if pending is None:
            logger.info("event=signup outcome=no-email")
        else:
            # Sent once the answer has gone: whether an email goes or not, and however long the mail server
            # takes, the answer comes as fast, so its timing tells nobody who subscribes either.
            response.background = self.outgoing.task(
                self._send_confirmation, dataclasses.replace(pending, source=source)
            )
        return response

    async def confirm(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        max_age = int(timedelta(days=self.project.settings.confirmation_max_age_days).total_seconds())
        try:
            if not TOKEN_CHARACTERS.fullmatch(token):
                raise BadData("not a token of ours")
            # [id, address digest], then the form's source if it had one.
            (identifier, digest, *rest), signed_at = self._links.loads(
                token, max_age=max_age, return_timestamp=True
            )
            source = str(rest[0]) if rest else ""
        except (BadData, TypeError, ValueError):
            return self._bad_link(request, "confirm", "invalid-token")
        if request.method in ("GET", "HEAD"):
            # Opening the link (or a link checker's HEAD of it) asks; only the button confirms. Mail scanners
            # (Safe Links, Mimecast) open every link of an email they pass: a sign-up someone else typed would
            # have been confirmed by them.
            subscriber, awaiting = await run_in_threadpool(
                lifecycle.confirmation_of, self.engine, identifier, digest, signed_at
            )
            if subscriber is None:
                return self._bad_link(request, "confirm-page", "not-pending")
            if awaiting:
                locale = subscriber_locale(
                    subscriber.pending_locale or subscriber.locale, request, self.project.settings
                )
                # Relative: the button posts to the link itself, wherever `confirm_url` put it.
                return self.pages.render(SIGNUP_TEMPLATE, "confirm", locale, action="")
            return self._confirmed_page(request, subscriber, newly=False)
        subscriber, newly = await run_in_threadpool(
            lifecycle.confirm, self.engine, identifier, digest, utcnow(), form_source(source), signed_at
        )
        if subscriber is None:
            return self._bad_link(request, "confirm", "not-pending")
        logger.info(
            "event=confirm outcome=%s subscriber=%d", "active" if newly else "already-active", subscriber.id
        )
        return self._confirmed_page(request, subscriber, newly=newly)

    def _bad_link(self, request: Request, event: str, outcome: str) -> HTMLResponse:
        """400 and the page of a confirmation link that confirms nothing (altered, expired, or of an address that
        left since), in the visitor's language; logged as `event=... outcome=...`."""
        logger.info("event=%s outcome=%s", event, outcome)
        return self.pages.render(SIGNUP_TEMPLATE, "bad-link", self._page_locale(request), status_code=400)

    def _confirmed_page(self, request: Request, subscriber: Subscriber, *, newly: bool) -> HTMLResponse:
        """The page of a confirmed subscription (`newly` by this request), with the way to their preferences."""
        # Where the emails' footers send them (preferences_url): the confirmation link may live elsewhere (confirm_url).
        preferences = self.project.settings.preferences_url.replace(
            "{token}", quote(self.signer.token(subscriber), safe="")
        )
        state = "confirmed" if newly else "already-confirmed"
        locale = subscriber_locale(subscriber.locale, request, self.project.settings)
        return self.pages.render(SIGNUP_TEMPLATE, state, locale, preferences=preferences)

    def _form_page(
        self,
        locale: str,
        values: dict[str, str],
        *,
        errors: set[str],
        source: str,
        notice: str = "",
        status_code: int = 200,
    ) -> HTMLResponse:
        # The token names the language of the page and the consent it shows (what is recorded is what the
        # person read), and the form's source, signed so that a post cannot claim another.
        consent = self.pages.consent(locale)
        return self.pages.render(
            SIGNUP_TEMPLATE,
            "form",
            locale,
            status_code=status_code,
            # Relative, so that it holds wherever the app is mounted: the page is /subscribe itself.
            action="subscribe",
            csrf=self._forms.issue(f"{SIGNUP_PURPOSE}:{locale}:{_digest(consent)}:{source}"),
            honeypot=HONEYPOT_FIELD,
            languages=languages(self.project.settings.locales),
            values=values,
            errors=errors,
            consent=consent,
            notice=notice,
            source_field=SOURCE_FIELD,
            source=source,
        )

    def _form_locale(self, token: str) -> tuple[str | None, bool, str]:
        """The language of the sign-up form that issued `token` (None when it is no valid sign-up form token),
        whether the consent that form showed is still the one in force (else the person reads the new one),
        and the form's source ("" for none)."""
        kind, locale, shown, source = [*(self._forms.purpose(token) or "").split(":", 3), "", "", ""][:4]
        if kind != SIGNUP_PURPOSE or locale not in self.project.settings.locales:
            return None, False, ""
        return locale, shown == _digest(self.pages.consent(locale)), form_source(source)

    def _too_many(self, locale: str, wait: int) -> HTMLResponse:
        response = self.pages.render(SIGNUP_TEMPLATE, "too-many", locale, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response

    def _page_locale(self, request: Request) -> str:
        return visitor_locale(request, self.project.settings)

    def _send_confirmation(self, subscriber: PendingSignUp) -> None:
        """Send `subscriber` their email, after the answer has gone: whatever fails is logged, never raised."""
        try:
            self._send(subscriber)
        except Exception as exc:
            logger.error(
                "event=signup outcome=not-sent subscriber=%d error=%s: %s",
                subscriber.id,
                type(exc).__name__,
                without_addresses(str(exc)),
            )
            # Nothing went out: the next sign-up with the address may try again at once, if the database lets it.
            with contextlib.suppress(Exception):
                lifecycle.forget_confirmation(self.engine, subscriber.id)

    def _send(self, subscriber: PendingSignUp) -> None:
        settings = self.project.settings
        if subscriber.active:
            link = settings.preferences_url.replace("{token}", self.signer.token(subscriber))
            templates, kind = (SUBSCRIBED_HTML_TEMPLATE, SUBSCRIBED_TEXT_TEMPLATE), "already-subscribed"
        else:
            signed = [
                subscriber.id,
                Signer.address_digest(subscriber.email_key),
                *([subscriber.source] if subscriber.source else []),
            ]
            link = self.link.replace("{token}", self._links.dumps(signed))
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
        except TransportError as exc:
            # Anything else fails the whole send (`_send_confirmation`). A mail server's refusal may quote the address.
            delivery = None
            logger.error(
                "event=signup outcome=transport-error subscriber=%d error=%s: %s",
                subscriber.id,
                type(exc).__name__,
                without_addresses(str(exc)),
            )
        if delivery is None or delivery.outcome is not Outcome.SENT:
            # Nothing went out: the next sign-up with the address may try again at once.
            lifecycle.forget_confirmation(self.engine, subscriber.id)
            logger.warning("event=signup outcome=not-sent subscriber=%d", subscriber.id)
            return
        logger.info("event=signup outcome=%s-sent subscriber=%d", kind, subscriber.id)


async def drop_unconfirmed_every(interval: timedelta, engine: Engine, expiry: timedelta) -> None:
    """`drop_unconfirmed` now and every `interval`, whether or not anyone signs up."""
    while True:
        try:
            dropped = await run_in_threadpool(lifecycle.drop_unconfirmed, engine, utcnow() - expiry)
        except Exception as exc:
            # The database may be down for a while: try again next time.
            logger.error("event=drop-unconfirmed outcome=failed error=%s", type(exc).__name__)
        else:
            logger.info("event=drop-unconfirmed outcome=ok dropped=%d", dropped)
        await asyncio.sleep(interval.total_seconds())


def public_url(settings: Settings) -> str | None:
    """Where the public reaches this app: the address of the unsubscribe pages (`unsubscribe_url`) without
    its `/unsubscribe/{token}`; None when `unsubscribe_url` does not end so (the app is not where it points)."""
    suffix = "/unsubscribe/{token}"
    return (
        settings.unsubscribe_url.removesuffix(suffix) if settings.unsubscribe_url.endswith(suffix) else None
    )


def confirmation_link(settings: Settings) -> str | None:
    """The link of each confirmation email, `{token}` still in it: the `confirm_url` setting, else beside the
    unsubscribe pages at their public address (`public_url`); None when neither tells. Never the address
    a form was posted to: whoever posts names that (the Host header), and would receive the token."""
    if settings.confirm_url:
        return settings.confirm_url
    base = public_url(settings)
    return f"{base}/confirm/{{token}}" if base is not None else None


def form_source(text: str) -> str:
    """`text` as a form's source: one line of printable characters, spaces collapsed, at most
    `MAX_SOURCE` characters ("" for none), so that `web form: SOURCE` fits where consent sources are kept."""
    printable = "".join(character if character.isprintable() else " " for character in text)
    return " ".join(printable.split())[:MAX_SOURCE].strip()


def _digest(text: str) -> str:
    """A short fingerprint of `text`, for a form token to name the consent its page showed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
