"""The app's pages in the visitor's language: templates and translations per locale, the headers every page
carries, the signed token of each form, and a request's body read no further than a limit."""

from __future__ import annotations

import gettext
import logging
from typing import Any
from urllib.parse import parse_qs

import jinja2
from babel import negotiate_locale
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .. import cldr, i18n
from ..delivery.subscribers import unreadable_name
from ..localize import organization_name
from ..schema import language_tag, text_direction
from ..settings import Project, Settings

# One logger for the whole app: its lines name `broadsheet.web`, whichever of its modules writes them.
logger = logging.getLogger("broadsheet.web")

CONSENT_TEMPLATE = "web/consent.txt.j2"
"""The statement a person agrees to by signing up: shown above the form's button and stored, word for word, with them."""
FORM_SALT = "broadsheet-subscribe-form"
MAX_FORM_BODY = 10_000
"""Bytes; the sign-up and preferences forms are far smaller. A larger body gets 413."""
FORM_TYPE = "application/x-www-form-urlencoded"
"""How every form of the app is posted (no JavaScript, no files)."""
FORM_MAX_AGE = 2 * 3600
"""Seconds a sign-up or preferences form stays usable after it was served."""

# The token is in the address: keep it out of other sites' logs, caches and frames.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


class WebPages:
    """The pages of the app in each locale, from the project's templates and interface catalog."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._environments: dict[str, jinja2.Environment] = {}
        self._organization: dict[str, tuple[str, str | None]] = {}

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
            # A page must answer: a template message that cannot be formatted is shown unformatted, and logged.
            i18n.install(env, self._translations(locale), lenient=True)
            self._environments[locale] = env
        return self._environments[locale]

    def _translations(self, locale: str) -> gettext.NullTranslations:
        if locale == self.project.settings.source_locale:
            return gettext.NullTranslations()
        path = i18n.catalog_path(self.project, locale, i18n.INTERFACE)
        return i18n.translations(path, locale, i18n.shown(self.project, path))

    def values(self, locale: str) -> dict[str, Any]:
        """What every page and email of the app shows: the language and typography of `locale` (and of the others,
        for text marked in them), the publisher.

        The organization's name is the names catalog's translation: `organization` as text (a `<title>`, a
        subject, a `.txt` part, the consent), `organization_html` for HTML, marked with its language where it is
        left in English in another language's page. Read once per locale, as the interface translations are.
        """
        settings = self.project.settings
        language = settings.language(locale)
        if locale not in self._organization:
            self._organization[locale] = organization_name(self.project, locale)
        name, name_lang = self._organization[locale]
        return {
            "lang": language_tag(locale),
            "dir": text_direction(locale),
            "organization": name,
            "organization_html": i18n.in_language(name, name_lang, locale),
            "font_family": language.font_family,
            "line_height": language.line_height,
            "heading_line_height": language.heading_line_height,
            # What text marked in each of them is set in (`web/languages.css.j2`), by its BCP 47 tag.
            "other_languages": {
                language_tag(code): typography
                for code, typography in settings.other_languages(locale).items()
            },
        }

    def consent(self, locale: str) -> str:
        """The statement a person agrees to by sending the sign-up form in `locale`, on one line, as the form shows it."""
        template = self.environment(locale).get_template(CONSENT_TEMPLATE)
        return " ".join(template.render(self.values(locale)).split())

    def render(
        self, template: str, state: str, locale: str, *, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        page = (
            self.environment(locale)
            .get_template(template)
            .render(state=state, **{"action": "", **self.values(locale), **values})
        )
        return HTMLResponse(
            page, status_code=status_code, headers={**PAGE_HEADERS, "Content-Language": language_tag(locale)}
        )


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


def visitor_locale(request: Request, settings: Settings) -> str:
    """The language of a page for a visitor nothing else tells about: `?lang=`, else their Accept-Language,
    else the source locale."""
    asked = locale_named(request.query_params.get("lang", ""), settings.locales)
    return (
        asked
        or _negotiated(request.headers.get("accept-language", ""), settings.locales)
        or settings.source_locale
    )


def subscriber_locale(locale: str, request: Request, settings: Settings) -> str:
    """The language of a page for a subscriber whose record says `locale`: that configured locale, else (a
    locale taken out of `locales` since, which gets no newsletter) the visitor's, as `visitor_locale` finds it."""
    return locale_named(locale, settings.locales) or visitor_locale(request, settings)


def languages(locales: tuple[str, ...]) -> list[tuple[str, str]]:
    """(code, the language's own name for itself) of each configured locale, for a language select."""
    return [(code, cldr.language_name(code, code)) for code in locales]


def locale_named(code: str, locales: tuple[str, ...]) -> str | None:
    """The configured locale `code` names, whatever its case and separator, or None. A region of a configured
    language names that language (`?lang=my-MM` finds `my`), as in `_negotiated`."""
    configured = {locale.lower(): locale for locale in locales}
    wanted = code.strip().lower().replace("-", "_")
    found = configured.get(wanted) or (negotiate_locale([wanted], list(locales), sep="_") if wanted else None)
    return configured.get(found.lower()) if found else None


def _negotiated(accept_language: str, locales: tuple[str, ...]) -> str | None:
    """The configured locale the reader prefers most by their Accept-Language header (RFC 9110), or None.
    `*` stands for any configured locale the header does not name; a quality of 0 rules a language out.
    Babel matches the languages so ranked against those configured (`my-MM` finds `my`)."""
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
        if tag and quality == 0:
            refused.add(tag)
        elif tag and 0 < quality <= 1:
            ranked.append((-quality, position, tag))
    named = {tag for _quality, _position, tag in ranked} | refused
    unnamed = [
        code for code in locales if code.lower() not in named and code.lower().split("_")[0] not in named
    ]
    preferred = [
        code for _quality, _position, tag in sorted(ranked) for code in (unnamed if tag == "*" else [tag])
    ]
    allowed = [code for code in locales if code.lower() not in refused]
    found = negotiate_locale(preferred, allowed, sep="_")
    return locale_named(found, locales) if found else None


async def form_fields(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The first value of each of `names` in a posted form ("" for one not given), in the forms' own
    encoding (`FORM_TYPE`); an empty body is an empty form.

    Raises `HTTPException`, answered as plain text: 413 for a body over
    `MAX_FORM_BODY` bytes, 415 for one of another type (JSON, multipart). Read
    as an empty form, they were answered as a form left open too long.
    """
    body = await limited_body(request, MAX_FORM_BODY)
    if body is None:
        logger.info("event=form outcome=too-large limit=%d", MAX_FORM_BODY)
        raise HTTPException(413, "request body too large\n")
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if body and media_type != FORM_TYPE:
        logger.info("event=form outcome=not-a-form")
        raise HTTPException(415, f"expected a form ({FORM_TYPE})\n")
    given = parse_qs(body.decode("utf-8", errors="replace"))
    return {name: given.get(name, [""])[0] for name in names}


async def limited_body(request: Request, limit: int) -> bytes | None:
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


def field_errors(problems: list[tuple[str, str]], name: str) -> set[str]:
    """The fields of a form that `problems` (field, message) are about, and `name-characters` for a name holding a
    character that cannot be seen or read: its page asks to type the name again, not to shorten it."""
    errors = {field for field, _message in problems}
    if "name" in errors and unreadable_name(name):
        errors.add("name-characters")
    return errors
