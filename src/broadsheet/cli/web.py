"""The commands of the public side: serve the subscriber pages and webhook, print a sign-up form."""

from __future__ import annotations

import os

import click

from ..errors import UsageError
from .output import project_of, serve


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on."
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    envvar="FORWARDED_ALLOW_IPS",
    help="Comma-separated addresses or networks (10.0.0.0/8) of the reverse proxies whose X-Forwarded-For "
    "names the client, for the per-client sign-up limit.",
)
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int, forwarded_allow_ips: str) -> None:
    """Serve the subscriber pages, SendGrid's Event Webhook and a health check.

    Routes: /subscribe and /confirm/<token> (sign-up with double opt-in),
    /preferences/<token>, /unsubscribe/<token>, /webhooks/sendgrid and
    /health. Needs BROADSHEET_SECRET (the one that signed the links); without
    it there is no sign-up and no preferences page. The webhook needs
    SENDGRID_WEBHOOK_PUBLIC_KEY or the sendgrid_webhook_public_key setting.
    """
    import logging

    from ..delivery.personalize import Signer, secret_from
    from ..delivery.store import database_url, open_store
    from ..web import confirmation_link, create_app, trusted_proxies, webhook_public_key

    trusted_proxies(forwarded_allow_ips)
    project = project_of(ctx)
    environ = dict(os.environ)
    why = "before serving, the same one that signed the links in the emails: it checks them, and signs the sign-up forms"
    signer = Signer(secret_from(environ, why))
    engine = open_store(database_url(project, environ))
    ctx.call_on_close(engine.dispose)
    public_key = webhook_public_key(project, environ)
    app = create_app(project, engine, signer, webhook_public_key=public_key)
    if confirmation_link(project.settings) is None:
        click.echo(
            "broadsheet: no sign-up page: set confirm_url, the link of the confirmation emails "
            "(unsubscribe_url does not end in /unsubscribe/{token}, so where /confirm is cannot be told from it)",
            err=True,
        )
    if public_key is None:
        click.echo(
            "broadsheet: no SENDGRID_WEBHOOK_PUBLIC_KEY (or sendgrid_webhook_public_key setting): the webhook refuses every event",
            err=True,
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
    )
    # uvicorn's access log would print every unsubscribe token; the app logs each request without it.
    serve(
        app,
        host,
        port,
        f"serving on http://{host}:{port}/ (Ctrl+C stops)",
        access_log=False,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@click.command("snippet")
@click.option(
    "-l",
    "--locale",
    "--lang",
    default=None,
    metavar="L",
    help="Language of the form (a configured locale). Default: the source locale.",
)
@click.option(
    "--action",
    default=None,
    metavar="URL",
    help="Address of the sign-up page it posts to. Default: beside the unsubscribe pages of the unsubscribe_url setting.",
)
@click.option(
    "--source",
    default=None,
    metavar="NAME",
    help="Which form this is (the page it goes on, say), recorded with the consent of each sign-up through it "
    "as 'web form: NAME'. Default: snippet.",
)
@click.pass_context
def snippet_command(ctx: click.Context, locale: str | None, action: str | None, source: str | None) -> None:
    """Print an HTML sign-up form to paste into a page of the organization's website.

    It posts to `broadsheet serve`'s /subscribe, which shows the person its own
    form filled in, to be sent once more: a form on another site cannot carry
    the token that guards against cross-site requests.
    """
    from ..schema import url_problem
    from ..web import MAX_SOURCE, SNIPPET_SOURCE, form_source, public_url, snippet

    project = project_of(ctx)
    settings = project.settings
    chosen = locale or settings.source_locale
    if chosen not in settings.locales:
        raise UsageError(
            f"--locale: unknown locale {chosen!r}; configured locales: {', '.join(settings.locales)}"
        )
    if action is None:
        base = public_url(settings)
        if base is None:
            raise UsageError(
                "give --action URL: the unsubscribe_url setting does not end in /unsubscribe/{token}, "
                "so where the sign-up page is cannot be told from it"
            )
        action = f"{base}/subscribe"
    problem = url_problem(action)
    if problem:
        raise UsageError(f"--action: {problem}")
    if source is not None and not (source.isprintable() and 0 < len(source.strip()) <= MAX_SOURCE):
        raise UsageError(
            f"--source: Expected a name of 1 to {MAX_SOURCE} printable characters on one line but received: {source!r}"
        )
    click.echo(snippet(project, chosen, action, form_source(source or SNIPPET_SOURCE)), nl=False)
