"""Sign-up end to end: a reader in headless Chromium, `broadsheet serve` as a real process, mail over real SMTP, a real database.

The Burmese form is saved as tests/output/screenshots/signup-my.png for people to look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from broadsheet.catalogs import INTERFACE, NAMES, catalog_path
from broadsheet.delivery.personalize import Signer
from broadsheet.delivery.store import Subscriber
from broadsheet.settings import Project

from .serving import broadsheet_server, smtp_server
from .support import SCREENSHOTS, parse

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SECRET = "test-secret-for-signing-sign-up-links"
ADDRESS = "ma.thida@example.org"
NAME = "မသီတာ"
MYANMAR = re.compile("[\u1000-\u109f]")
CONSENT = (
    "By subscribing you agree that %(organization)s sends you its newsletter by email and keeps your address, name "
    "and language for that alone. Every email has a link to unsubscribe, and you can ask for your data to be deleted "
    "at any time."
)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a context of its own: no cookies or cache shared between tests."""
    context = browser.new_context(viewport={"width": 600, "height": 900})
    yield context.new_page()
    context.close()


def burmese(project: Project, msgid: str, domain: str = INTERFACE, **values: str) -> str:
    """The Burmese translation of a message in the project's catalog of `domain`, filled in; it must be translated."""
    with catalog_path(project, "my", domain).open("rb") as handle:
        message = read_po(handle).get(msgid)
    assert message is not None and message.string and not message.fuzzy, (
        f"no Burmese translation of {msgid!r}"
    )
    assert isinstance(message.string, str) and MYANMAR.search(message.string), message.string
    return message.string % values


def serve_links_from(project: Project) -> Callable[[str], None]:
    """Point the project's unsubscribe and preferences links, and so its confirmation links, at the live server."""
    settings = project.root / "broadsheet.toml"
    original = settings.read_text(encoding="utf-8")

    def write(base_url: str) -> None:
        # Top-level keys go before the first [table] of the file.
        links = f'unsubscribe_url = "{base_url}/unsubscribe/{{token}}"\npreferences_url = "{base_url}/preferences/{{token}}"\n'
        settings.write_text(links + original, encoding="utf-8")

    return write


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None, url
    assert response.status == 200, f"{url}: {response.status}"


def follow(page: Page, selector: str) -> None:
    """Click the link or button `selector` and wait for the page it leads to, which must be there (200)."""
    with page.expect_navigation() as navigation:
        page.click(selector)
    assert navigation.value.status == 200, navigation.value.status


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML of an email."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def subscriber(store: Engine) -> Subscriber:
    with Session(store) as session:
        return session.scalars(select(Subscriber).where(Subscriber.email_key == ADDRESS)).one()


def test_burmese_reader_signs_up_confirms_by_email_then_switches_to_english(
    page: Page, sample_project: Project, store: Engine, store_url: str, tmp_path: Path
) -> None:
    # The Burmese pages name the organization as the Burmese names catalog does.
    organization = burmese(sample_project, sample_project.settings.organization.name, NAMES)
    log = tmp_path / "serve.log"
    environ = {"BROADSHEET_SECRET": SECRET, "BROADSHEET_DATABASE_URL": store_url}
    with smtp_server() as mailbox:
        environ["BROADSHEET_TRANSPORT"] = f"smtp://127.0.0.1:{mailbox.port}"
        with broadsheet_server(
            sample_project.root, environ, before_start=serve_links_from(sample_project), log=log
        ) as base:
            visit(page, f"{base}/subscribe?lang=my")
            assert page.get_attribute("html", "lang") == "my"
            assert page.inner_text("h1") == burmese(
                sample_project, "Subscribe to the %(organization)s newsletter", organization=organization
            )
            page.fill("[name=email]", ADDRESS)
            page.fill("[name=name]", NAME)
            page.select_option("select[name=language]", "my")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "signup-my.png"), full_page=True)
            follow(page, "form button[type=submit]")
            assert page.get_attribute("html", "lang") == "my"
            assert page.inner_text("h1") == burmese(sample_project, "Check your inbox")

            # The server answers the form at once and sends the email after: it arrives in a moment.
            [received] = mailbox.wait_for(1)
            assert received.rcpt_tos == [ADDRESS]
            message = parse(received.data)
            assert [(to.display_name, to.addr_spec) for to in message["To"].addresses] == [(NAME, ADDRESS)]
            assert message["Subject"] == burmese(
                sample_project,
                "Confirm your subscription to the %(organization)s newsletter",
                organization=organization,
            )
            text, html = parts(message)
            assert burmese(sample_project, "Confirm my subscription") in text
            # The link is on the live server because the settings' unsubscribe pages are there.
            [link] = re.findall(rf"{re.escape(base)}/confirm/[A-Za-z0-9_.-]+", text)
            assert f'href="{link}"' in html

            visit(page, link)
            # Opening the link asks (mail scanners open links too); the button confirms.
            assert page.get_attribute("html", "lang") == "my"
            assert page.inner_text("h1") == burmese(sample_project, "Confirm your subscription")
            assert subscriber(store).status == "pending"
            follow(page, "form button[type=submit]")
            assert page.get_attribute("html", "lang") == "my"
            assert page.inner_text("h1") == burmese(sample_project, "Thank you for subscribing")
            assert page.inner_text("a#preferences") == burmese(
                sample_project, "Change your name or the language of the newsletter"
            )
            confirmed = subscriber(store)
            assert (confirmed.status, confirmed.locale, confirmed.name) == ("active", "my", NAME)
            assert confirmed.consent_source == "web form"
            assert confirmed.consented_at is not None
            # What they agreed to, in the Burmese the form showed them.
            assert confirmed.consent_text == burmese(sample_project, CONSENT, organization=organization)

            follow(page, "a#preferences")
            assert page.url == f"{base}/preferences/{quote(Signer(SECRET).token(confirmed), safe='')}"
            assert page.inner_text("h1") == burmese(
                sample_project, "Your %(organization)s newsletter", organization=organization
            )
            assert page.input_value("[name=name]") == NAME
            page.select_option("select[name=language]", "en")
            follow(page, "form:has(select[name=language]) button[type=submit]")
            # The saved page speaks the language just chosen.
            assert page.get_attribute("html", "lang") == "en"
            assert page.inner_text("h1") == "Your preferences are saved"
            changed = subscriber(store)
            assert (changed.status, changed.locale, changed.name) == ("active", "en", NAME)
            assert changed.consented_at == confirmed.consented_at

        assert mailbox.messages == [received]
    # Logs name subscribers by id: neither the address nor a signed token is written down.
    written = log.read_text(encoding="utf-8")
    assert "event=signup outcome=confirmation-sent" in written
    assert ADDRESS not in written
    assert link.rpartition("/")[2] not in written
