"""A web app served over real HTTP on loopback by uvicorn, in a thread of the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette

from broadsheet.delivery.personalize import Signer
from broadsheet.delivery.transports.outbox import OutboxTransport
from broadsheet.settings import Project
from broadsheet.web import Outgoing, create_app

STARTUP_SECONDS = 10
SENDING_SECONDS = 10
"""How long a confirmation email may take to leave after its answer, at most."""


def app_sending_to(outbox: Path, project: Project, engine: Engine, secret: str) -> Starlette:
    """The subscriber pages of `project`, tokens signed with `secret`, no webhook key, emails written to `outbox`."""
    return create_app(
        project,
        engine,
        Signer(secret),
        webhook_public_key=None,
        secret=secret,
        transport_factory=lambda: OutboxTransport(outbox),
    )


@contextmanager
def serving(app: Starlette, *, wait_for_email: bool = True) -> Iterator[httpx.Client]:
    """A client of `app`, served on a free loopback port until the block ends.

    As behind a reverse proxy on the same machine, the server takes the client
    address from X-Forwarded-For (uvicorn trusts 127.0.0.1 for it), so a test
    can speak for several clients. The app sends confirmation emails after
    their answer: unless `wait_for_email` is false, the client takes each
    answer only once they have gone (`app.state.outgoing`).
    """
    hooks = {}
    if wait_for_email:
        outgoing: Outgoing = app.state.outgoing

        def sent(_response: httpx.Response) -> None:
            assert outgoing.wait(SENDING_SECONDS), "a confirmation email was still being sent"

        hooks = {"response": [sent]}
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="on",
        access_log=False,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test web server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, event_hooks=hooks) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(STARTUP_SECONDS)
