"""`broadsheet snippet`: the sign-up form for the organization's own website, and what becomes of a post from it."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import Result
from httpx2 import Client
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from broadsheet.delivery.store import Subscriber
from broadsheet.settings import Project
from broadsheet.web import Outgoing, snippet

from .live import app_sending_to, serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SECRET = "test-secret-for-signing-sign-up-links"
Cli = Callable[..., Result]


def test_prints_a_form_posting_to_the_sign_up_page_beside_the_unsubscribe_pages(cli: Cli) -> None:
    result = cli("snippet")
    assert (result.exit_code, result.stderr) == (0, "")
    page = result.stdout
    assert page.startswith(
        '<form class="broadsheet-signup" method="post" action="https://progressivevoicemyanmar.org/newsletter/subscribe"'
    )
    assert page.rstrip().endswith("</form>")
    for field in ('name="email" type="email" required', 'name="name"', 'name="language"', 'name="website"'):
        assert field in page
    assert '<option value="en" selected>English</option>' in page
    assert "By subscribing you agree that Progressive Voice sends you its newsletter" in page
    # No token: a page pasted on another site cannot hold a fresh one.
    assert "csrf" not in page


def test_in_burmese_every_label_and_the_consent_are_burmese(cli: Cli) -> None:
    result = cli("snippet", "-l", "my")
    assert result.exit_code == 0
    assert 'lang="my"' in result.stdout
    assert '<option value="my" selected>မြန်မာ</option>' in result.stdout
    labels = re.findall(r"<label[^>]*>([^<]*)</label>", result.stdout)
    assert len(labels) == 4 and all(re.search("[\u1000-\u109f]", label) for label in labels)
    consent = re.search(r'<p class="broadsheet-consent">([^<]*)</p>', result.stdout)
    assert consent is not None and consent.group(1).startswith("စာရင်းသွင်းခြင်းဖြင့် ပရိုဂရက်ဆစ်ဗွိုက်စ်")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--locale", "fr"), "broadsheet: --locale: unknown locale 'fr'; configured locales: en, my\n"),
        (
            ("--action", "/subscribe"),
            "broadsheet: --action: Expected an http(s) URL but received: '/subscribe'\n",
        ),
        (
            ("--source", "home\npage"),
            "broadsheet: --source: Expected a name of 1 to 40 printable characters on one line but received: 'home\\npage'\n",
        ),
        (
            ("--source", "x" * 41),
            f"broadsheet: --source: Expected a name of 1 to 40 printable characters on one line but received: '{'x' * 41}'\n",
        ),
    ],
)
def test_a_wrong_option_exits_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli("snippet", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_without_an_unsubscribe_url_to_go_by_it_asks_for_the_action(cli: Cli, tmp_project: Project) -> None:
    settings = tmp_project.root / "broadsheet.toml"
    settings.write_text(
        'unsubscribe_url = "https://example.org/leave?t={token}"\n' + settings.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    result = cli("snippet", cwd=tmp_project.root)
    assert result.exit_code == 2
    assert "give --action URL" in result.stderr
    given = cli("snippet", "--action", "https://example.org/join", cwd=tmp_project.root)
    assert given.exit_code == 0
    assert 'action="https://example.org/join"' in given.stdout


@pytest.fixture
def site(
    sample_project: Project, sample_store: Engine, tmp_path: Path
) -> Iterator[tuple[str, Path, Outgoing]]:
    """The app served over HTTP, sending to an outbox: its base URL, the outbox, and the emails it is sending."""
    outbox = tmp_path / "outbox"
    app = app_sending_to(outbox, sample_project, sample_store, SECRET)
    with serving(app) as client:
        yield str(client.base_url).rstrip("/"), outbox, app.state.outgoing


def test_a_reader_signs_up_from_the_snippet_on_another_site_in_two_presses(
    browser: Browser,
    site: tuple[str, Path, Outgoing],
    sample_project: Project,
    sample_store: Engine,
    tmp_path: Path,
) -> None:
    base, outbox, outgoing = site
    # The organization's page, elsewhere (here a file), with the Burmese form pasted in.
    page_file = tmp_path / "join.html"
    form = snippet(sample_project, "my", f"{base}/subscribe")
    page_file.write_text(
        f'<!DOCTYPE html>\n<html lang="my"><meta charset="utf-8"><body>{form}</body></html>', encoding="utf-8"
    )

    context = browser.new_context()
    page = context.new_page()
    page.goto(page_file.as_uri())
    page.fill("input[name=email]", "reader@example.org")
    page.fill("input[name=name]", "ကိုအောင်")
    with page.expect_navigation():
        page.click("button[type=submit]")
    # The app's own form, filled in, asking for one more press; nothing sent yet.
    assert page.url == f"{base}/subscribe"
    assert page.input_value("input[name=email]") == "reader@example.org"
    assert page.input_value("select[name=language]") == "my"
    assert "အသေးစိတ်ကို စစ်ဆေးပြီး" in page.inner_text(".notice")
    statement = page.inner_text(".consent")
    assert not outbox.exists()

    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "သင်၏ စာဝင်ပုံးကို စစ်ဆေးပါ" in page.inner_text("h1")
    context.close()
    # The email leaves after the page: wait for it.
    assert outgoing.wait(10)
    [sent] = sorted(outbox.rglob("*.eml"))
    message = message_from_bytes(sent.read_bytes(), policy=policy.default)
    assert message["To"] == "ကိုအောင် <reader@example.org>"
    with Session(sample_store) as session:
        stored = session.scalars(select(Subscriber)).one()
    assert (stored.status, stored.locale, stored.pending_consent_text) == (
        "pending",
        "my",
        html.unescape(statement),
    )


def test_the_form_it_sends_to_speaks_the_snippets_language_whatever_newsletter_is_chosen(
    site: tuple[str, Path, Outgoing], sample_project: Project
) -> None:
    base, outbox, _outgoing = site
    form = snippet(sample_project, "my", f"{base}/subscribe")
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert hidden == {"page_language": "my", "source": "snippet"}
    with Client(base_url=base) as client:
        review = client.post(
            "/subscribe",
            data={**hidden, "email": "reader@example.org", "name": "", "language": "en", "website": ""},
        )
    assert review.status_code == 200
    assert '<html lang="my">' in review.text
    assert '<option value="en" selected>English</option>' in review.text
    assert not outbox.exists()


def test_the_consent_of_a_sign_up_through_it_records_which_form(
    cli: Cli, site: tuple[str, Path, Outgoing], sample_store: Engine
) -> None:
    base, outbox, outgoing = site
    form = cli("snippet", "--source", "home page", "--action", f"{base}/subscribe").stdout
    assert '<input type="hidden" name="source" value="home page">' in form
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    with Client(base_url=base) as client:
        # The post from the organization's page, then the press on the app's own form, whose signed token
        # carries the source (sent here without the form's copy of it in a field, which serves only an expired token).
        review = client.post(
            "/subscribe", data={**hidden, "email": "reader@example.org", "language": "en", "website": ""}
        )
        assert '<input type="hidden" name="source" value="home page">' in review.text
        token = re.search(r'name="csrf" value="([^"]+)"', review.text)
        assert token is not None
        sent = client.post(
            "/subscribe", data={"csrf": token.group(1), "email": "reader@example.org", "language": "en"}
        )
        assert sent.status_code == 200
        assert outgoing.wait(10)
        [message] = [
            message_from_bytes(path.read_bytes(), policy=policy.default) for path in outbox.rglob("*.eml")
        ]
        body = message.get_body(("plain",))
        assert body is not None
        link = re.search(r"/newsletter(/confirm/\S+)", body.get_content())
        assert link is not None
        # The link's page, then its button, as the reader does.
        assert client.get(link.group(1)).status_code == 200
        assert client.post(link.group(1)).status_code == 200
    with Session(sample_store) as session:
        stored = session.scalars(select(Subscriber)).one()
    assert (stored.status, stored.consent_source) == ("active", "web form: home page")
