"""A subscriber's preferences page, reached by the signed token of their emails: their name and the language
of the newsletter."""

from __future__ import annotations

import logging
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..delivery import feedback, lifecycle, subscribers
from ..delivery.personalize import Signer
from ..delivery.store import Status, Subscriber
from ..settings import Project
from .pages import (
    FormTokens,
    WebPages,
    field_errors,
    form_fields,
    languages,
    subscriber_locale,
    visitor_locale,
)

# One logger for the whole app: its lines name `broadsheet.web`, whichever of its modules writes them.
logger = logging.getLogger("broadsheet.web")

PREFERENCES_TEMPLATE = "web/preferences.html.j2"


class Preferences:
    """A subscriber's own page, reached by the signed token of their emails: their name and the language
    of the newsletter, which the next send reads."""

    def __init__(
        self, project: Project, engine: Engine, signer: Signer, pages: WebPages, forms: FormTokens
    ) -> None:
        self.project = project
        self.engine = engine
        self.signer = signer
        self.pages = pages
        self._forms = forms

    async def form(self, request: Request) -> Response:
        subscriber = await self._subscriber(request)
        if subscriber is None:
            return self._invalid(request)
        locale = self._locale(subscriber, request)
        if subscriber.status is not Status.ACTIVE:
            return self.pages.render(PREFERENCES_TEMPLATE, "inactive", locale)
        # A language no longer offered is shown as the page's, so that saving a new name chooses one offered.
        return self._form_page(
            subscriber, request, {"name": subscriber.name, "language": locale}, errors=set()
        )

    async def submit(self, request: Request) -> Response:
        subscriber = await self._subscriber(request)
        if subscriber is None:
            return self._invalid(request)
        fields = await form_fields(request, ("csrf", "name", "language"))
        page_locale = self._locale(subscriber, request)
        if not self._forms.valid(fields["csrf"], self._purpose(subscriber)):
            logger.info("event=preferences outcome=bad-form-token subscriber=%d", subscriber.id)
            return self.pages.render(PREFERENCES_TEMPLATE, "expired-form", page_locale, status_code=400)
        if subscriber.status is not Status.ACTIVE:
            return self.pages.render(PREFERENCES_TEMPLATE, "inactive", page_locale, status_code=409)
        # Only what the form changes is checked: an address taken under older rules does not block it.
        chosen, problems = subscribers.check_preferences(
            fields["name"], fields["language"], self.project.settings.locales
        )
        if chosen is None:
            values = {"name": fields["name"], "language": fields["language"]}
            return self._form_page(
                subscriber, request, values, errors=field_errors(problems, fields["name"]), status_code=400
            )
        name, locale = chosen
        changed = await run_in_threadpool(
            lifecycle.change_preferences, self.engine, subscriber.id, name, locale
        )
        if not changed:
            # Unsubscribed (or bounced) between the check above and the update.
            return self.pages.render(PREFERENCES_TEMPLATE, "inactive", page_locale, status_code=409)
        logger.info("event=preferences outcome=saved subscriber=%d locale=%s", subscriber.id, locale)
        return self.pages.render(PREFERENCES_TEMPLATE, "saved", locale)

    def _form_page(
        self,
        subscriber: Subscriber,
        request: Request,
        values: dict[str, str],
        *,
        errors: set[str],
        status_code: int = 200,
    ) -> HTMLResponse:
        token = quote(str(request.path_params["token"]), safe="")
        return self.pages.render(
            PREFERENCES_TEMPLATE,
            "form",
            self._locale(subscriber, request),
            status_code=status_code,
            # Relative, so that they hold wherever the app is mounted: the page is /preferences/{token} itself.
            action=token,
            csrf=self._forms.issue(self._purpose(subscriber)),
            unsubscribe_action=f"../unsubscribe/{token}",
            languages=languages(self.project.settings.locales),
            values=values,
            errors=errors,
        )

    async def _subscriber(self, request: Request) -> Subscriber | None:
        """The subscriber whose signed token is in the page's address; None (and logged) for a bad one."""
        token = str(request.path_params["token"])
        subscriber = await run_in_threadpool(feedback.subscriber_of_token, self.engine, self.signer, token)
        if subscriber is None:
            logger.info("event=preferences outcome=invalid-token method=%s", request.method)
        return subscriber

    def _invalid(self, request: Request) -> HTMLResponse:
        return self.pages.render(
            PREFERENCES_TEMPLATE, "invalid", visitor_locale(request, self.project.settings), status_code=400
        )

    def _locale(self, subscriber: Subscriber, request: Request) -> str:
        return subscriber_locale(subscriber.locale, request, self.project.settings)

    @staticmethod
    def _purpose(subscriber: Subscriber) -> str:
        # A form token serves the page of one subscriber only.
        return f"preferences:{subscriber.id}"
