"""The unsubscribe link of every email: a page that asks, and the one-click POST of RFC 8058 that acts."""

from __future__ import annotations

import logging
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..delivery import feedback, lifecycle
from ..delivery.personalize import Signer
from ..delivery.store import Status
from ..settings import Settings
from .pages import WebPages, subscriber_locale, visitor_locale

# One logger for the whole app: its lines name `broadsheet.web`, whichever of its modules writes them.
logger = logging.getLogger("broadsheet.web")

UNSUBSCRIBE_TEMPLATE = "web/unsubscribe.html.j2"


class Unsubscribe:
    """`GET|POST /unsubscribe/{token}`: GET (and HEAD) asks and changes nothing; POST unsubscribes."""

    def __init__(self, engine: Engine, signer: Signer, pages: WebPages, settings: Settings) -> None:
        self.engine = engine
        self.signer = signer
        self.pages = pages
        self.settings = settings

    async def page(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        subscriber = await run_in_threadpool(feedback.subscriber_of_token, self.engine, self.signer, token)
        if subscriber is None:
            logger.info("event=unsubscribe outcome=invalid-token method=%s", request.method)
            return self.pages.render(
                UNSUBSCRIBE_TEMPLATE, "invalid", visitor_locale(request, self.settings), status_code=400
            )
        locale = subscriber_locale(subscriber.locale, request, self.settings)
        if request.method in ("GET", "HEAD"):
            # HEAD too (Starlette answers it with this handler): link checkers ask it, and change nothing.
            state = "confirm" if subscriber.status is Status.ACTIVE else "done"
            # Relative, so that it holds wherever the app is mounted: the page is /unsubscribe/{token} itself.
            return self.pages.render(UNSUBSCRIBE_TEMPLATE, state, locale, action=quote(token, safe=""))
        # RFC 8058: a mail client's one-click POST carries `List-Unsubscribe=One-Click`; the form, nothing
        # that matters. The signed token alone decides, so the body is not read.
        changed = await run_in_threadpool(lifecycle.unsubscribe, self.engine, subscriber.id)
        logger.info(
            "event=unsubscribe outcome=%s subscriber=%d",
            "unsubscribed" if changed else "already-off-list",
            subscriber.id,
        )
        return self.pages.render(UNSUBSCRIBE_TEMPLATE, "done", locale)
