"""A subscriber's preferences page, over real HTTP: their name and the language of the newsletter, from the link in every email."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from httpx2 import Client
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.routing import Mount

from broadsheet.delivery.personalize import Signer
from broadsheet.delivery.store import Status, Subscriber
from broadsheet.settings import Project
from broadsheet.web import create_app

from .live import app_sending_to, serving
from .support import environment, read_outbox, run_send

SECRET = "test-secret-for-signing-unsubscribe-links"
SIGNER = Signer(SECRET)
PREFERENCES_LINK = re.compile(
    r"https://progressivevoicemyanmar\.org/newsletter(/preferences/[A-Za-z0-9_.%-]+)"
)


@pytest.fixture
def client(project: Project, engine: Engine) -> Iterator[Client]:
    with serving(create_app(project, engine, SIGNER, webhook_public_key=None, secret=SECRET)) as client:
        yield client


def subscribe(
    engine: Engine, email: str, *, name: str = "Ko Aung", locale: str = "my", status: Status = Status.ACTIVE
) -> Subscriber:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        subscriber = Subscriber(
            email=email, email_key=email.lower(), name=name, locale=locale, status=status.value
        )
        session.add(subscriber)
    return subscriber


def stored(engine: Engine, subscriber: Subscriber) -> tuple[str, str, str]:
    with Session(engine) as session:
        found = session.get(Subscriber, subscriber.id)
        assert found is not None
        return found.name, found.locale, found.status


def form_token(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


def opened_form(client: Client, engine: Engine) -> tuple[Subscriber, str, str]:
    """A Burmese subscriber, their token, and the form token of their preferences page as served."""
    subscriber = subscribe(engine, "reader@example.org")
    token = SIGNER.token(subscriber)
    return subscriber, token, form_token(client.get(f"/preferences/{token}").text)


def test_page_is_in_the_subscribers_language_with_their_current_values(
    client: Client, engine: Engine
) -> None:
    subscriber = subscribe(engine, "reader@example.org")
    token = SIGNER.token(subscriber)
    response = client.get(f"/preferences/{token}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert '<html lang="my">' in page
    assert "သင်၏ ပရိုဂရက်ဆစ်ဗွိုက်စ် သတင်းလွှာ" in page
    assert "သတင်းလွှာ၏ ဘာသာစကား" in page
    assert 'name="name" type="text" maxlength="200" autocomplete="name" value="Ko Aung"' in page
    assert '<option value="my" lang="my" selected>မြန်မာ</option>' in page
    assert '<option value="en" lang="en">English</option>' in page
    # Relative to the page, so that they hold wherever the app is mounted (behind a proxy, under /newsletter/).
    assert f'<form method="post" action="{token}">' in page
    assert f'<form class="leave" method="post" action="../unsubscribe/{token}">' in page
    assert "စာရင်းသွင်းမှု ပယ်ဖျက်ရန်</button>" in page
    form_token(page)


def test_saving_changes_the_language_and_name_and_answers_in_the_new_language(
    client: Client, engine: Engine
) -> None:
    subscriber, token, csrf = opened_form(client, engine)
    response = client.post(
        f"/preferences/{token}", data={"csrf": csrf, "name": "  Daw Su  ", "language": "en"}
    )
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Your preferences are saved" in response.text
    assert "The next issue of the Progressive Voice newsletter will come in this language." in response.text
    assert stored(engine, subscriber) == ("Daw Su", "en", Status.ACTIVE.value)


def test_a_tampered_token_is_refused_and_changes_nothing(client: Client, engine: Engine) -> None:
    subscriber, token, csrf = opened_form(client, engine)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for response in (
        client.get(f"/preferences/{tampered}"),
        client.post(f"/preferences/{tampered}", data={"csrf": csrf, "name": "Mallory", "language": "en"}),
        client.post(f"/preferences/{'9' + token}", data={"csrf": csrf, "name": "Mallory", "language": "en"}),
    ):
        assert response.status_code == 400
        assert "This preferences link is not valid" in response.text
    assert stored(engine, subscriber) == ("Ko Aung", "my", Status.ACTIVE.value)


def test_a_post_without_the_form_token_is_refused_and_changes_nothing(client: Client, engine: Engine) -> None:
    subscriber = subscribe(engine, "reader@example.org")
    other = subscribe(engine, "other@example.org")
    token = SIGNER.token(subscriber)
    others_csrf = form_token(client.get(f"/preferences/{SIGNER.token(other)}").text)
    for data in (
        {"name": "Mallory", "language": "en"},
        {"csrf": others_csrf, "name": "Mallory", "language": "en"},
    ):
        response = client.post(f"/preferences/{token}", data=data)
        assert response.status_code == 400
        assert '<html lang="my">' in response.text
        assert "ဤဖောင်မှာ သက်တမ်းကုန်သွားပါပြီ" in response.text
    assert stored(engine, subscriber) == ("Ko Aung", "my", Status.ACTIVE.value)


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", '{{"csrf": "{csrf}", "name": "Mallory", "language": "en"}}', 415),
        (
            "multipart/form-data; boundary=b",
            '--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n--b--\r\n',
            415,
        ),
        ("application/x-www-form-urlencoded", "csrf={csrf}&name=Mallory&language=en&x=" + "x" * 10_000, 413),
    ],
    ids=["json", "multipart", "oversize"],
)
def test_a_post_that_is_no_form_of_ours_gets_its_status_and_changes_nothing(
    client: Client, engine: Engine, content_type: str, body: str, status: int
) -> None:
    # It used to be read as an empty form, and answered as one left open too long (400).
    subscriber, token, csrf = opened_form(client, engine)
    response = client.post(
        f"/preferences/{token}", content=body.format(csrf=csrf), headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert stored(engine, subscriber) == ("Ko Aung", "my", Status.ACTIVE.value)


def test_a_language_not_offered_is_refused_with_the_form_again(client: Client, engine: Engine) -> None:
    subscriber, token, csrf = opened_form(client, engine)
    response = client.post(f"/preferences/{token}", data={"csrf": csrf, "name": "Daw Su", "language": "fr"})
    assert response.status_code == 400
    assert "ပေးထားသော ဘာသာစကားများထဲမှ တစ်ခုကို ရွေးပါ။" in response.text
    assert stored(engine, subscriber) == ("Ko Aung", "my", Status.ACTIVE.value)


def test_a_name_with_a_direction_override_is_refused_with_the_form_again(
    client: Client, engine: Engine
) -> None:
    subscriber, token, csrf = opened_form(client, engine)
    response = client.post(
        f"/preferences/{token}", data={"csrf": csrf, "name": "Daw \u202eSu", "language": "en"}
    )
    assert response.status_code == 400
    assert "သင့်အမည်တွင် မမြင်ရသော သို့မဟုတ် ဖတ်၍မရသော စာလုံး ပါဝင်နေသည်။ အမည်ကို ပြန်ရိုက်ထည့်ပါ။" in response.text
    assert stored(engine, subscriber) == ("Ko Aung", "my", Status.ACTIVE.value)


def test_a_subscriber_of_a_language_no_longer_offered_is_answered_in_the_visitors_and_chooses_one(
    client: Client, engine: Engine
) -> None:
    # Thai was taken out of `locales`: the page was English text marked lang="th", and the select showed no
    # language chosen, so saving a name took the first one offered whatever the visitor read.
    subscriber = subscribe(engine, "reader@example.org", locale="th")
    token = SIGNER.token(subscriber)
    burmese = {"Accept-Language": "my-MM,my;q=0.9,en;q=0.8"}
    page = client.get(f"/preferences/{token}", headers=burmese)
    assert page.status_code == 200 and page.headers["content-language"] == "my"
    assert '<html lang="my">' in page.text and "သတင်းလွှာ၏ ဘာသာစကား" in page.text
    assert '<option value="my" lang="my" selected>မြန်မာ</option>' in page.text
    leaving = client.get(f"/unsubscribe/{token}", headers=burmese)
    assert '<html lang="my">' in leaving.text and "စာရင်းသွင်းမှု ပယ်ဖျက်ရန်</button>" in leaving.text
    saved = client.post(
        f"/preferences/{token}", data={"csrf": form_token(page.text), "name": "Ko Aung", "language": "my"}
    )
    assert saved.status_code == 200
    assert stored(engine, subscriber) == ("Ko Aung", "my", Status.ACTIVE.value)


def test_an_unsubscribed_address_has_no_preferences_to_change(client: Client, engine: Engine) -> None:
    subscriber, token, csrf = opened_form(client, engine)
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    page = client.get(f"/preferences/{token}")
    assert page.status_code == 200 and "ဤလိပ်စာသည် စာရင်းသွင်းထားခြင်း မရှိပါ" in page.text
    response = client.post(f"/preferences/{token}", data={"csrf": csrf, "name": "Daw Su", "language": "en"})
    assert response.status_code == 409
    assert stored(engine, subscriber) == ("Ko Aung", "my", Status.UNSUBSCRIBED.value)


def test_the_email_links_to_a_working_preferences_page_and_the_other_edition(
    project: Project, client: Client, engine: Engine, tmp_path: Path
) -> None:
    subscriber = subscribe(engine, "reader@example.org")
    outbox = tmp_path / "outbox"
    result = run_send(project, environment(engine), "--yes", "--transport", f"outbox:{outbox}")
    assert result.returncode == 0, result.stderr
    [message] = read_outbox(outbox)
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    assert "English (အင်္ဂလိပ်):\nhttps://progressivevoicemyanmar.org/newsletter/en/2023-12-21/\n" in text
    assert re.search(
        r'<a href="https://progressivevoicemyanmar\.org/newsletter/en/2023-12-21/" hreflang="en"[^>]*><span lang="en"[^>]*>English</span>',
        html,
    )
    match = PREFERENCES_LINK.search(text)
    assert match is not None, text
    path = match.group(1)
    assert f"https://progressivevoicemyanmar.org/newsletter{path}" in html
    assert f"ဘာသာစကား သို့မဟုတ် အမည် ပြောင်းရန်:\nhttps://progressivevoicemyanmar.org/newsletter{path}\n" in text

    csrf = form_token(client.get(path).text)
    assert client.post(path, data={"csrf": csrf, "name": "Daw Su", "language": "en"}).status_code == 200
    assert stored(engine, subscriber) == ("Daw Su", "en", Status.ACTIVE.value)


def test_every_form_works_when_a_proxy_serves_the_app_under_a_path(
    project: Project, engine: Engine, tmp_path: Path
) -> None:
    # As behind the organization's proxy at /newsletter/: each form posts where the browser resolves its
    # action from the page's own address.
    outbox = tmp_path / "outbox"
    app = app_sending_to(outbox, project, engine, SECRET)
    behind_proxy = Starlette(routes=[Mount("/newsletter", app=app)])
    behind_proxy.state.outgoing = app.state.outgoing
    reader = subscribe(engine, "reader@example.org")
    token = SIGNER.token(reader)

    def post_form(client: Client, page_path: str, form_class: str, **fields: str) -> int:
        """Open `page_path`, find the form (by its class, "" for the first), and post it as a browser would."""
        page = client.get(page_path)
        assert page.status_code == 200, page_path
        named = f' class="{form_class}"' if form_class else ""
        opening = re.search(rf'<form{named} method="post" action="([^"]*)">', page.text)
        assert opening is not None
        target = urljoin(str(page.url), opening.group(1))
        assert target.startswith(f"{str(client.base_url).rstrip('/')}/newsletter/"), target
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        return client.post(target, data={**({"csrf": csrf.group(1)} if csrf else {}), **fields}).status_code

    with serving(behind_proxy) as client:
        assert post_form(client, f"/newsletter/preferences/{token}", "", name="Daw Su", language="en") == 200
        assert stored(engine, reader) == ("Daw Su", "en", Status.ACTIVE.value)
        assert post_form(client, "/newsletter/subscribe", "", email="new@example.org", language="my") == 200
        assert len(list(outbox.rglob("*.eml"))) == 1
        assert post_form(client, f"/newsletter/preferences/{token}", "leave") == 200
    assert stored(engine, reader)[2] == Status.UNSUBSCRIBED.value


def test_an_address_taken_under_older_rules_does_not_block_changing_the_name_language_or_leaving(
    client: Client, engine: Engine
) -> None:
    # Valid by RFC 5321 and once taken; today's sign-up form refuses it (no header can hold it).
    subscriber = subscribe(engine, "=?utf-8?q?e6?=@example.org")
    token = SIGNER.token(subscriber)
    csrf = form_token(client.get(f"/preferences/{token}").text)
    response = client.post(f"/preferences/{token}", data={"csrf": csrf, "name": "Daw Su", "language": "en"})
    assert response.status_code == 200 and "Your preferences are saved" in response.text
    assert stored(engine, subscriber) == ("Daw Su", "en", Status.ACTIVE.value)
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    assert stored(engine, subscriber) == ("Daw Su", "en", Status.UNSUBSCRIBED.value)
