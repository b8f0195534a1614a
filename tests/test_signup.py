"""Sign-up with double opt-in, over real HTTP: the form, the pending subscriber and their confirmation email,
the confirmation link, and what guards them (form token, honeypot, rate limits)."""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import msgspec.structs
import pytest
from httpx2 import Client, Response
from itsdangerous.timed import TimestampSigner
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from broadsheet.delivery.personalize import Signer
from broadsheet.delivery.store import Status, Subscriber
from broadsheet.delivery.subscribers import personal_data
from broadsheet.delivery.transports import Batch, Delivery, TransportError
from broadsheet.delivery.transports.outbox import OutboxTransport
from broadsheet.settings import Project
from broadsheet.web import FormTokens, confirmation_link, create_app

from .live import app_sending_to, serving
from .support import translate

SECRET = "test-secret-for-signing-sign-up-links"
PUBLISHER_MY = "ပရိုဂရက်ဆစ်ဗွိုက်စ်"
"""The organization's name in the sample's Burmese names catalog."""
LINK = re.compile(r"https://progressivevoicemyanmar\.org/newsletter(/confirm/[A-Za-z0-9_.-]+)")


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


GENEROUS = {
    "signup_limit_per_client": "1000/hour",
    "signup_limit_per_address": "1000/hour",
    "signup_limit_total": "1000/hour",
}


@pytest.fixture
def limits() -> dict[str, str]:
    """The sign-up limits of the app under test: generous, unless a test sets its own (`with_limits`)."""
    return GENEROUS


def with_limits(**rates: str) -> pytest.MarkDecorator:
    """Test with these sign-up limits (`per_client`, `per_address`, `total`), the others generous."""
    chosen = {**GENEROUS, **{f"signup_limit_{kind}": rate for kind, rate in rates.items()}}
    return pytest.mark.parametrize(
        "limits", [chosen], ids=[";".join(f"{kind}={rate}" for kind, rate in rates.items())]
    )


@pytest.fixture
def client(project: Project, engine: Engine, outbox: Path, limits: dict[str, str]) -> Iterator[Client]:
    limited = msgspec.structs.replace(project, settings=msgspec.structs.replace(project.settings, **limits))
    app = app_sending_to(outbox, limited, engine, SECRET)
    with serving(app) as client:
        yield client


def form_token(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def sign_up(
    client: Client, email: str, language: str = "my", *, page: str | None = None, **fields: str
) -> str:
    """Open the form in `page` (default: `language`), fill it in for `email` in `language` and send it; the answer page."""
    form = client.get("/subscribe", params={"lang": page or language})
    response = client.post(
        "/subscribe",
        data={
            "csrf": form_token(form.text),
            "email": email,
            "name": "Ko Aung",
            "language": language,
            "website": "",
            **fields,
        },
    )
    return response.text


def emails(outbox: Path) -> list[EmailMessage]:
    found = [
        message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(outbox.rglob("*.eml"))
    ]
    return [message for message in found if isinstance(message, EmailMessage)]


def confirmation_path(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    match = LINK.search(part.get_content())
    assert match is not None
    return match.group(1)


CONFIRM_BUTTON = '<form method="post" action="">'


def follow(client: Client, path: str) -> Response:
    """A confirmation link followed as its owner does: the page it opens, then the button on it, if it has one."""
    page = client.get(path)
    return client.post(path) if page.status_code == 200 and CONFIRM_BUTTON in page.text else page


def subscriber(engine: Engine, email: str) -> Subscriber | None:
    with Session(engine) as session:
        return session.scalars(select(Subscriber).where(Subscriber.email_key == email.lower())).one_or_none()


def add(engine: Engine, email: str, status: Status) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            Subscriber(email=email, email_key=email.lower(), name="", locale="en", status=status.value)
        )


def test_form_in_burmese_has_a_signed_token_and_a_hidden_honeypot(client: Client) -> None:
    response = client.get("/subscribe?lang=my")
    assert response.status_code == 200
    assert '<html lang="my">' in response.text
    assert "ပရိုဂရက်ဆစ်ဗွိုက်စ် ၏ သတင်းလွှာကို စာရင်းသွင်းရန်" in response.text
    assert "အီးမေးလ် လိပ်စာ" in response.text
    assert '<option value="my" selected>မြန်မာ</option>' in response.text
    assert 'name="csrf" value="' in response.text
    assert '<div class="trap" aria-hidden="true">' in response.text
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [
        ("fr;q=0.9, my-MM;q=0.8", "my"),
        ("fr", "en"),  # none offered: the source locale
        ("my;Q=0.1, en;q=0.5", "en"),  # Q is q
        ("en;q=0, *", "my"),  # anything but English
        ("*", "en"),
        ("my;q=abc, en;q=0.2", "en"),  # a quality that is not one: the language is left out
        ("my;q=2", "en"),
        (",;,my-;q=", "en"),
        ("en-GB;q=0.3, my;level=1;q=0.4", "my"),
    ],
)
def test_form_language_follows_accept_language_then_the_source_locale(
    client: Client, accept_language: str, lang: str
) -> None:
    page = client.get("/subscribe", headers={"Accept-Language": accept_language})
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    assert '<html lang="en">' in client.get("/subscribe?lang=xx").text


def test_form_in_a_language_written_right_to_left_is_laid_out_right_to_left(
    project: Project, engine: Engine, outbox: Path
) -> None:
    rtl = msgspec.structs.replace(
        project, settings=msgspec.structs.replace(project.settings, locales=("en", "ar", "pt_BR"))
    )
    with serving(app_sending_to(outbox, rtl, engine, SECRET)) as client:
        assert '<html lang="ar" dir="rtl">' in client.get("/subscribe?lang=ar").text
        brazilian = client.get("/subscribe?lang=pt-BR")
        assert '<html lang="pt-BR">' in brazilian.text
        assert brazilian.headers["Content-Language"] == "pt-BR"
        assert '<html lang="en">' in client.get("/subscribe?lang=en").text


def test_sign_up_then_confirm_makes_an_active_burmese_subscriber_with_consent(
    client: Client, engine: Engine, outbox: Path
) -> None:
    page = sign_up(client, "New.Reader@Example.org")
    assert "သင်၏ စာဝင်ပုံးကို စစ်ဆေးပါ" in page
    pending = subscriber(engine, "new.reader@example.org")
    assert pending is not None
    assert (pending.status, pending.locale, pending.name, pending.consented_at) == (
        "pending",
        "my",
        "Ko Aung",
        None,
    )
    assert pending.confirmation_sent_at is not None
    [message] = emails(outbox)
    assert message["To"] == "Ko Aung <New.Reader@example.org>"
    assert message["Subject"] == "ပရိုဂရက်ဆစ်ဗွိုက်စ် ၏ သတင်းလွှာ စာရင်းသွင်းမှုကို အတည်ပြုပါ"
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "ကျွန်ုပ်၏ စာရင်းသွင်းမှုကို အတည်ပြုရန်" in plain.get_content()

    confirmed = follow(client, confirmation_path(message))
    assert confirmed.status_code == 200
    assert "စာရင်းသွင်းသည့်အတွက် ကျေးဇူးတင်ပါသည်" in confirmed.text
    active = subscriber(engine, "new.reader@example.org")
    assert active is not None
    assert (active.status, active.locale, active.consent_source) == ("active", "my", "web form")
    assert active.consented_at is not None

    # Followed again: the page says so, and nothing changes.
    again = follow(client, confirmation_path(message))
    assert again.status_code == 200
    assert "သင်၏ စာရင်းသွင်းမှုကို အတည်ပြုပြီး ဖြစ်ပါသည်" in again.text
    replayed = subscriber(engine, "new.reader@example.org")
    assert replayed is not None
    assert (replayed.consented_at, replayed.updated_at) == (active.consented_at, active.updated_at)


def test_form_without_a_token_is_shown_filled_in_to_send_again_and_nothing_happens_until_then(
    client: Client, engine: Engine, outbox: Path
) -> None:
    # What a form on another site (`broadsheet snippet`) posts: no token.
    data = {"email": "reader@example.org", "name": "Ma Su", "language": "my", "website": ""}
    review = client.post("/subscribe", data=data)
    assert review.status_code == 200
    assert "အသေးစိတ်ကို စစ်ဆေးပြီး" in review.text
    assert 'value="reader@example.org"' in review.text and 'value="Ma Su"' in review.text
    assert subscriber(engine, "reader@example.org") is None
    assert emails(outbox) == []

    sent = client.post("/subscribe", data={**data, "csrf": form_token(review.text)})
    assert sent.status_code == 200
    assert "သင်၏ စာဝင်ပုံးကို စစ်ဆေးပါ" in sent.text
    assert [message["To"] for message in emails(outbox)] == ["Ma Su <reader@example.org>"]


@pytest.mark.parametrize("token", ["forged", "short", "expired"])
def test_forged_or_expired_form_token_is_refused_with_the_form_filled_in(
    client: Client, engine: Engine, outbox: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    data = {"email": "reader@example.org", "name": "", "language": "en", "website": ""}
    if token == "expired":
        token = form_token(client.get("/subscribe").text)
        issued = TimestampSigner.get_timestamp
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) + 2 * 3600 + 1)
    elif token == "short":
        token = "x"
    response = client.post("/subscribe", data={**data, "csrf": token})
    assert response.status_code == 400
    assert "This form had expired" in response.text
    assert 'value="reader@example.org"' in response.text
    assert subscriber(engine, "reader@example.org") is None
    assert emails(outbox) == []


def test_a_preferences_form_token_does_not_serve_for_a_sign_up(client: Client, engine: Engine) -> None:
    forms = FormTokens(SECRET)
    response = client.post(
        "/subscribe",
        data={"csrf": forms.issue("preferences:1"), "email": "reader@example.org", "language": "en"},
    )
    assert response.status_code == 400
    assert subscriber(engine, "reader@example.org") is None


def test_consent_is_recorded_in_the_words_and_language_the_form_showed(
    client: Client, engine: Engine, outbox: Path
) -> None:
    form = client.get("/subscribe", params={"lang": "my"})
    shown = re.search(r'<p class="consent">(.*?)</p>', form.text, re.DOTALL)
    assert shown is not None
    statement = html.unescape(shown.group(1))
    # The organization named as the Burmese names catalog names it, in the words stored.
    assert PUBLISHER_MY in statement and "Progressive Voice" not in statement
    # The page in Burmese, the newsletter chosen in English.
    client.post(
        "/subscribe", data={"csrf": form_token(form.text), "email": "reader@example.org", "language": "en"}
    )
    pending = subscriber(engine, "reader@example.org")
    assert pending is not None
    # Not a consent until confirmed.
    assert (pending.locale, pending.pending_consent_text, pending.consent_text, pending.consented_at) == (
        "en",
        statement,
        None,
        None,
    )

    follow(client, confirmation_path(emails(outbox)[0]))
    confirmed = subscriber(engine, "reader@example.org")
    assert confirmed is not None
    assert (confirmed.consent_text, confirmed.pending_consent_text, confirmed.consent_source) == (
        statement,
        None,
        "web form",
    )
    assert confirmed.consented_at is not None


def test_the_burmese_pages_and_confirmation_name_the_organization_as_the_names_catalog_does(
    client: Client, outbox: Path
) -> None:
    form = client.get("/subscribe", params={"lang": "my"}).text
    assert f"<title>စာရင်းသွင်းရန် · {PUBLISHER_MY}</title>" in form
    assert f">{PUBLISHER_MY} ၏ သတင်းလွှာကို စာရင်းသွင်းရန်</h1>" in form
    assert "Progressive Voice" not in form
    sign_up(client, "reader@example.org")
    [message] = emails(outbox)
    assert message["Subject"] == f"{PUBLISHER_MY} ၏ သတင်းလွှာ စာရင်းသွင်းမှုကို အတည်ပြုပါ"
    for part in (message.get_body(("html",)), message.get_body(("plain",))):
        assert part is not None and PUBLISHER_MY in part.get_content()
        assert "Progressive Voice" not in part.get_content()


def test_a_name_left_in_english_is_marked_in_burmese_html_and_plain_in_text(
    project: Project, client: Client, engine: Engine, outbox: Path
) -> None:
    translate(project, "my", "names", {"Progressive Voice": ""})
    form = client.get("/subscribe", params={"lang": "my"}).text
    # In the sentence, marked: read and set as English. A <title> holds text only.
    assert '><span lang="en">Progressive Voice</span> ၏ သတင်းလွှာကို စာရင်းသွင်းရန်</h1>' in form
    assert "<title>စာရင်းသွင်းရန် · Progressive Voice</title>" in form
    english_type = '[lang="en"] { font-family: Helvetica, Arial, sans-serif; line-height: 1.6; }'
    assert english_type in form.split("</style>")[0]  # set in the English fonts, not the page's Burmese ones
    consent = re.search(r'<p class="consent">(.*?)</p>', form, re.DOTALL)
    assert consent is not None and consent.group(1).startswith("စာရင်းသွင်းခြင်းဖြင့် Progressive Voice က ")
    sign_up(client, "reader@example.org")
    found = subscriber(engine, "reader@example.org")
    assert found is not None and found.pending_consent_text == html.unescape(consent.group(1))
    [message] = emails(outbox)
    assert message["Subject"] == "Progressive Voice ၏ သတင်းလွှာ စာရင်းသွင်းမှုကို အတည်ပြုပါ"
    body = message.get_body(("html",))
    plain = message.get_body(("plain",))
    assert body is not None and plain is not None
    assert "<title>Progressive Voice ၏ သတင်းလွှာ စာရင်းသွင်းမှုကို အတည်ပြုပါ</title>" in body.get_content()
    assert '<span lang="en">Progressive Voice</span> ၏ သတင်းလွှာ စာရင်းသွင်းမှုကို အတည်ပြုပါ</h1>' in body.get_content()
    assert 'ဤလိပ်စာသို့ <span lang="en">Progressive Voice</span> ၏ ' in body.get_content()
    assert english_type in body.get_content().split("</style>")[0]
    assert "ဤလိပ်စာသို့ Progressive Voice ၏ " in plain.get_content() and "<span" not in plain.get_content()


def test_an_unconfirmed_sign_up_changes_no_consent_on_record(client: Client, engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            Subscriber(
                email="leaver@example.org",
                email_key="leaver@example.org",
                name="",
                locale="en",
                status=Status.UNSUBSCRIBED.value,
                consented_at=datetime(2023, 5, 1, tzinfo=UTC),
                consent_source="import of paper.csv",
                consent_text="Paper form",
            )
        )
    # Anyone may type the address into the form: until the owner confirms, what they agreed to stays on record.
    sign_up(client, "leaver@example.org", "en")
    found = subscriber(engine, "leaver@example.org")
    assert found is not None
    assert (found.status, found.consent_source, found.consent_text) == (
        "unsubscribed",
        "import of paper.csv",
        "Paper form",
    )
    assert found.pending_consent_text is not None and found.pending_consent_text.startswith(
        "By subscribing you agree"
    )


def test_a_form_whose_consent_was_changed_since_it_was_shown_is_shown_again_with_the_new_one(
    client: Client, project: Project, engine: Engine, outbox: Path
) -> None:
    token = form_token(client.get("/subscribe", params={"lang": "my"}).text)
    consent = project.templates_dir / "web" / "consent.txt.j2"
    consent.write_text("{{ _('We may now also send you surveys.') }}\n", encoding="utf-8")
    answer = client.post("/subscribe", data={"csrf": token, "email": "reader@example.org", "language": "en"})
    assert answer.status_code == 400
    # In the language of the form it came from, whatever newsletter was chosen.
    assert '<html lang="my">' in answer.text
    assert "ဤဖောင် သက်တမ်းကုန်သွားပါပြီ" in answer.text and "We may now also send you surveys." in answer.text
    assert subscriber(engine, "reader@example.org") is None
    assert emails(outbox) == []


def post_as(
    client: Client, client_address: str, email: str, *, token: str | None = None, **headers: str
) -> int:
    """Send the sign-up form for `email` from `client_address` (as a proxy names it in X-Forwarded-For); the status."""
    data = {"email": email, "language": "en", "website": "", **({"csrf": token} if token is not None else {})}
    return client.post(
        "/subscribe", data=data, headers={"X-Forwarded-For": client_address, **headers}
    ).status_code


@with_limits(per_client="3/hour")
def test_one_client_gets_429_past_its_limit_and_others_go_on(
    client: Client, engine: Engine, outbox: Path, limits: dict[str, str]
) -> None:
    token = form_token(client.get("/subscribe").text)
    assert [post_as(client, "203.0.113.7", f"reader{n}@example.org", token=token) for n in range(3)] == [
        200,
        200,
        200,
    ]
    refused = client.post(
        "/subscribe",
        data={"csrf": token, "email": "reader3@example.org", "language": "en"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "Too many sign-ups" in refused.text
    assert subscriber(engine, "reader3@example.org") is None
    # A post without a token stores and sends nothing (the form comes back to press once more): not counted.
    assert post_as(client, "203.0.113.7", "reader3@example.org") == 200
    assert post_as(client, "198.51.100.20", "reader3@example.org", token=token) == 200
    assert len(emails(outbox)) == 4


@with_limits(per_client="2/hour")
def test_ipv6_clients_are_counted_by_their_64_bit_network(client: Client, limits: dict[str, str]) -> None:
    token = form_token(client.get("/subscribe").text)
    # One phone or home gets a /64 and may take any address in it.
    assert post_as(client, "2001:db8:1:2::10", "a@example.org", token=token) == 200
    assert post_as(client, "2001:db8:1:2:ffff::1", "b@example.org", token=token) == 200
    assert post_as(client, "2001:db8:1:2::99", "c@example.org", token=token) == 429
    assert post_as(client, "2001:db8:1:3::10", "c@example.org", token=token) == 200


@with_limits(per_address="2/hour")
def test_one_address_gets_429_past_its_limit_from_any_client(
    client: Client, outbox: Path, limits: dict[str, str]
) -> None:
    token = form_token(client.get("/subscribe").text)
    assert post_as(client, "203.0.113.1", "reader@example.org", token=token) == 200
    # Counted by address whatever its case; the second sign-up sends nothing (one confirmation an hour).
    assert post_as(client, "203.0.113.2", "READER@example.org", token=token) == 200
    assert post_as(client, "203.0.113.3", "reader@EXAMPLE.org", token=token) == 429
    assert post_as(client, "203.0.113.3", "another@example.org", token=token) == 200
    assert [message["To"] for message in emails(outbox)] == ["another@example.org", "reader@example.org"]


def test_a_transport_failure_is_logged_without_the_address_and_lets_the_next_sign_up_try_again(
    project: Project, engine: Engine, outbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failures = [TransportError("550 5.1.1 <Reader@example.org>: Recipient address rejected")]

    def transport() -> OutboxTransport:
        if failures:
            raise failures.pop()
        return OutboxTransport(outbox)

    app = create_app(
        project, engine, Signer(SECRET), webhook_public_key=None, secret=SECRET, transport_factory=transport
    )
    with serving(app) as client, caplog.at_level(logging.INFO, logger="broadsheet.web"):
        assert "သင်၏ စာဝင်ပုံးကို စစ်ဆေးပါ" in sign_up(client, "Reader@example.org")
        assert emails(outbox) == []
        sign_up(client, "Reader@example.org")
    assert [message["To"] for message in emails(outbox)] == ["Ko Aung <Reader@example.org>"]
    logged = "\n".join(caplog.messages)
    assert "event=signup outcome=transport-error" in logged and "<…@example.org>" in logged
    assert "reader@" not in logged.lower()


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", '{{"csrf": "{csrf}", "email": "reader@example.org", "language": "my"}}', 415),
        ("text/plain", "csrf={csrf}\r\nemail=reader@example.org\r\nlanguage=my\r\n", 415),
        ("application/x-www-form-urlencoded", "csrf={csrf}&email=reader@example.org&x=" + "x" * 10_000, 413),
    ],
    ids=["json", "text", "oversize"],
)
def test_a_post_that_is_no_form_of_ours_gets_its_status_and_nothing_happens(
    client: Client, engine: Engine, outbox: Path, content_type: str, body: str, status: int
) -> None:
    # It used to be read as an empty form: 200 and the form again, as if posted from another website.
    csrf = form_token(client.get("/subscribe").text)
    response = client.post(
        "/subscribe", content=body.format(csrf=csrf), headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert subscriber(engine, "reader@example.org") is None
    assert emails(outbox) == []


def test_filled_honeypot_pretends_success_and_does_nothing(
    client: Client, engine: Engine, outbox: Path
) -> None:
    page = sign_up(client, "robot@example.org", website="http://spam.example")
    assert page == sign_up(client, "person@example.org")
    assert subscriber(engine, "robot@example.org") is None
    assert [message["To"] for message in emails(outbox)] == ["Ko Aung <person@example.org>"]


def test_invalid_address_shows_the_form_again_with_the_error(client: Client, engine: Engine) -> None:
    form = client.get("/subscribe")
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match is not None
    response = client.post(
        "/subscribe", data={"csrf": match.group(1), "email": "not an address", "language": "en"}
    )
    assert response.status_code == 400
    assert "Enter a valid email address." in response.text
    assert 'value="not an address"' in response.text
    assert subscriber(engine, "not an address") is None


def test_an_address_no_transport_can_send_to_is_refused_on_the_form(
    client: Client, engine: Engine, outbox: Path
) -> None:
    # A non-ASCII local part needs SMTPUTF8: "check your inbox" would be a lie.
    form = client.get("/subscribe", params={"lang": "en"})
    answer = client.post(
        "/subscribe", data={"csrf": form_token(form.text), "email": "üser@example.org", "language": "en"}
    )
    assert answer.status_code == 400
    assert "Enter a valid email address." in answer.text
    assert subscriber(engine, "üser@example.org") is None
    assert emails(outbox) == []
    # A non-ASCII domain is fine: it goes out in its IDNA form.
    sign_up(client, "reader@မြန်မာ.example")
    [message] = emails(outbox)
    assert message["To"].addresses[0].domain == "xn--7idjb0f4ck.example"


def test_an_address_no_header_can_hold_is_refused_before_anything_is_stored(
    client: Client, engine: Engine, outbox: Path
) -> None:
    # Valid by RFC 5321, but the mail composer cannot write it in a To header: no confirmation could be built.
    address = "=?utf-8?q?e6?=@example.org"
    form = client.get("/subscribe", params={"lang": "en"})
    answer = client.post(
        "/subscribe", data={"csrf": form_token(form.text), "email": address, "language": "en"}
    )
    assert answer.status_code == 400
    assert "Enter a valid email address." in answer.text
    assert subscriber(engine, address) is None
    assert emails(outbox) == []


@pytest.mark.parametrize(
    "name",
    ["Ko \u202eAung", "\u2067Aung\u2069", "Ko\u200bAung", "Ko\u200eAung", "\ufeffAung", "Ko\u2060Aung", "\u061cAung"],
    ids=["right-to-left-override", "isolate", "zero-width-space", "left-to-right-mark", "byte-order-mark", "word-joiner",
         "arabic-letter-mark"],
)  # fmt: skip
def test_a_name_with_characters_that_reorder_or_hide_text_is_refused(
    client: Client, engine: Engine, outbox: Path, name: str
) -> None:
    answer = sign_up(client, "reader@example.org", "en", name=name)
    # The name looks right to the person: the page says what is wrong with it, not to shorten it.
    assert "Your name holds a character that cannot be seen or read. Please type it again." in answer
    assert "Enter a name of at most 200 characters" not in answer
    assert subscriber(engine, "reader@example.org") is None
    assert emails(outbox) == []


def test_a_name_too_long_or_on_two_lines_is_asked_for_shorter_on_one_line(
    client: Client, engine: Engine, outbox: Path
) -> None:
    for name in ("A" * 201, "Ko\nAung"):
        answer = sign_up(client, "reader@example.org", "en", name=name)
        assert "Enter a name of at most 200 characters, on one line." in answer
        assert "cannot be seen or read" not in answer
    assert subscriber(engine, "reader@example.org") is None


def test_a_name_with_joiners_that_scripts_need_is_taken(client: Client, engine: Engine, outbox: Path) -> None:
    # Zero-width non-joiner and joiner shape Persian and Indic names and emoji sequences.
    sign_up(
        client,
        "reader@example.org",
        "en",
        name="\u0645\u06cc\u200c\u0631\u0648\u0645 \U0001f469\u200d\U0001f4bb",
    )
    found = subscriber(engine, "reader@example.org")
    assert (
        found is not None and found.name == "\u0645\u06cc\u200c\u0631\u0648\u0645 \U0001f469\u200d\U0001f4bb"
    )


def test_a_zawgyi_name_is_stored_and_addressed_in_unicode(
    client: Client, engine: Engine, outbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Known pair, checked with ICU's Zawgyi-my: the newsletter is Unicode, and so is the To: header.
    with caplog.at_level(logging.INFO, logger="broadsheet.web"):
        sign_up(client, "khin@example.org", "my", name="ေဒၚခင္ခင္")
    found = subscriber(engine, "khin@example.org")
    assert found is not None and found.name == "ဒေါ်ခင်ခင်"
    [message] = emails(outbox)
    assert message["To"].addresses[0].display_name == "ဒေါ်ခင်ခင်"
    assert "event=signup name=zawgyi-converted" in caplog.messages
    assert "khin@example.org" not in "\n".join(caplog.messages)


def test_active_address_gets_the_same_page_and_a_link_to_its_preferences(
    client: Client, engine: Engine, outbox: Path
) -> None:
    add(engine, "reader@example.org", Status.ACTIVE)
    assert sign_up(client, "Reader@example.org") == sign_up(client, "someone.new@example.org")
    found = subscriber(engine, "reader@example.org")
    assert found is not None
    # Nothing on record changes, whatever the form said.
    assert (found.status, found.locale, found.name, found.pending_consent_text) == ("active", "en", "", None)
    [note] = [message for message in emails(outbox) if "reader@" in message["To"]]
    # Written to the address on record, in the language of the form.
    assert note["To"] == "reader@example.org"
    assert note["Subject"] == "သင်သည် ပရိုဂရက်ဆစ်ဗွိုက်စ် ၏ သတင်းလွှာကို လက်ခံရရှိနေပြီး ဖြစ်ပါသည်"
    plain = note.get_body(("plain",))
    assert plain is not None
    link = re.search(
        r"https://progressivevoicemyanmar\.org/newsletter(/preferences/\S+)", plain.get_content()
    )
    assert link is not None
    page = client.get(link.group(1))
    assert page.status_code == 200
    assert '<option value="en" lang="en" selected>English</option>' in page.text
    # At most one such email an hour too.
    sign_up(client, "reader@example.org")
    assert len([message for message in emails(outbox) if "reader@" in message["To"]]) == 1


def test_at_most_one_confirmation_an_hour(client: Client, outbox: Path) -> None:
    first = sign_up(client, "reader@example.org")
    (outbox / "confirmation" / "my" / "reader@example.org.eml").unlink()
    assert sign_up(client, "reader@example.org") == first
    assert emails(outbox) == []


def test_a_head_request_of_the_link_confirms_nothing(client: Client, engine: Engine, outbox: Path) -> None:
    sign_up(client, "reader@example.org")
    assert client.head(confirmation_path(emails(outbox)[0])).status_code == 200
    found = subscriber(engine, "reader@example.org")
    assert found is not None
    assert (found.status, found.consented_at) == ("pending", None)
    assert follow(client, confirmation_path(emails(outbox)[0])).status_code == 200


def test_opening_the_link_asks_and_only_its_button_confirms(
    client: Client, engine: Engine, outbox: Path
) -> None:
    # A mail scanner (Safe Links, Mimecast) opens every link of the emails it passes, as a GET.
    reader = "reader@example.org"
    sign_up(client, reader)
    path = confirmation_path(emails(outbox)[0])
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200
        assert "ကျွန်ုပ်၏ စာရင်းသွင်းမှုကို အတည်ပြုရန်</button>" in page.text  # in the language of the sign-up
        assert CONFIRM_BUTTON in page.text
        found = subscriber(engine, reader)
        assert found is not None and (found.status, found.consented_at) == ("pending", None)
    confirmed = client.post(path)
    assert confirmed.status_code == 200
    assert "စာရင်းသွင်းသည့်အတွက် ကျေးဇူးတင်ပါသည်" in confirmed.text
    active = subscriber(engine, reader)
    assert active is not None and active.status == "active"
    # Opened again, the link says it is done, and asks nothing.
    again = client.get(path)
    assert "သင်၏ စာရင်းသွင်းမှုကို အတည်ပြုပြီး ဖြစ်ပါသည်" in again.text and CONFIRM_BUTTON not in again.text
    # Someone who left, and whose address a stranger then typed: the scanner's opening brings nobody back.
    assert client.post(f"/unsubscribe/{Signer(SECRET).token(active)}").status_code == 200
    with Session(engine) as session, session.begin():
        session.execute(update(Subscriber).values(confirmation_sent_at=None))
    sent = {message["Message-ID"] for message in emails(outbox)}
    sign_up(client, reader, "en", name="Someone Else")
    [stranger_s] = [message for message in emails(outbox) if message["Message-ID"] not in sent]
    assert client.get(confirmation_path(stranger_s)).status_code == 200
    left = subscriber(engine, reader)
    assert left is not None and (left.status, left.name) == ("unsubscribed", "Ko Aung")


def test_tampered_link_is_refused_and_changes_nothing(client: Client, engine: Engine, outbox: Path) -> None:
    sign_up(client, "reader@example.org")
    path = confirmation_path(emails(outbox)[0])
    response = client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
    assert response.status_code == 400
    assert client.post(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 400
    assert client.head(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 400
    # Characters base64 would skip over: altered all the same.
    assert client.get(path + "%C3%BF").status_code == 400
    assert "This confirmation link is not valid" in response.text
    found = subscriber(engine, "reader@example.org")
    assert found is not None
    assert (found.status, found.consented_at) == ("pending", None)


def test_expired_link_is_refused_and_changes_nothing(
    client: Client, engine: Engine, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up(client, "reader@example.org")
    path = confirmation_path(emails(outbox)[0])
    issued = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) + 7 * 86400 + 1)
    assert client.get(path).status_code == 400
    found = subscriber(engine, "reader@example.org")
    assert found is not None
    assert (found.status, found.consented_at) == ("pending", None)


@pytest.mark.parametrize("left", [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED])
def test_an_address_that_left_may_sign_up_again(
    client: Client, engine: Engine, outbox: Path, left: Status
) -> None:
    # Bounced or complained too: following the link proves the mailbox is theirs and takes mail.
    add(engine, "leaver@example.org", left)
    sign_up(client, "leaver@example.org")
    # Until the owner confirms, the record says what it said: gone, in English, without a name.
    waiting = subscriber(engine, "leaver@example.org")
    assert waiting is not None
    assert (waiting.status, waiting.locale, waiting.name) == (left.value, "en", "")
    assert (waiting.pending_locale, waiting.pending_name) == ("my", "Ko Aung")
    # What waits is part of what is stored about them, and so of a data-access request.
    stored = personal_data(engine, "leaver@example.org")["subscriber"]
    assert (stored["status"], stored["pending_name"], stored["pending_locale"]) == (
        left.value,
        "Ko Aung",
        "my",
    )
    [message] = emails(outbox)
    assert message["Subject"] == "ပရိုဂရက်ဆစ်ဗွိုက်စ် ၏ သတင်းလွှာ စာရင်းသွင်းမှုကို အတည်ပြုပါ"
    assert follow(client, confirmation_path(message)).status_code == 200
    active = subscriber(engine, "leaver@example.org")
    assert active is not None
    assert (active.status, active.locale, active.name) == ("active", "my", "Ko Aung")
    assert (active.pending_locale, active.pending_name, active.pending_consent_text) == (None, None, None)


def test_sign_ups_nobody_confirmed_in_time_are_deleted(client: Client, engine: Engine, outbox: Path) -> None:
    sign_up(client, "stranger@example.org")
    add(engine, "leaver@example.org", Status.UNSUBSCRIBED)
    sign_up(client, "leaver@example.org")
    eight_days_ago = datetime.now(UTC) - timedelta(days=8)
    with Session(engine) as session, session.begin():
        session.execute(update(Subscriber).values(updated_at=eight_days_ago))
    # The next sign-up clears what waited longer than the link lives (7 days).
    sign_up(client, "someone@example.org")
    assert subscriber(engine, "stranger@example.org") is None
    left = subscriber(engine, "leaver@example.org")
    assert left is not None
    assert (left.status, left.pending_locale, left.pending_consent_text) == ("unsubscribed", None, None)
    # Its link no longer subscribes it.
    [to_leaver] = [message for message in emails(outbox) if "leaver@" in message["To"]]
    assert follow(client, confirmation_path(to_leaver)).status_code == 400


@with_limits(total="2/hour")
def test_past_the_total_limit_everyone_waits(client: Client, outbox: Path, limits: dict[str, str]) -> None:
    token = form_token(client.get("/subscribe").text)
    assert post_as(client, "203.0.113.1", "a@example.org", token=token) == 200
    assert post_as(client, "198.51.100.2", "b@example.org", token=token) == 200
    assert post_as(client, "192.0.2.3", "c@example.org", token=token) == 429
    assert len(emails(outbox)) == 2


def test_link_of_an_address_that_left_since_does_not_bring_it_back(
    client: Client, engine: Engine, outbox: Path
) -> None:
    sign_up(client, "reader@example.org")
    with Session(engine) as session, session.begin():
        found = session.scalars(select(Subscriber)).one()
        found.status = Status.UNSUBSCRIBED.value
    assert follow(client, confirmation_path(emails(outbox)[0])).status_code == 400
    left = subscriber(engine, "reader@example.org")
    assert left is not None
    assert left.status == "unsubscribed"


def test_the_link_of_an_earlier_sign_up_does_not_confirm_one_someone_else_made_since(
    client: Client, engine: Engine, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader signed up two days ago and confirmed; the link stays in their mailbox, valid for 7 days.
    issued = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) - 2 * 86400)
    sign_up(client, "reader@example.org")
    monkeypatch.setattr(TimestampSigner, "get_timestamp", issued)
    with Session(engine) as session, session.begin():
        then = datetime.now(UTC) - timedelta(days=2, minutes=1)
        session.execute(
            update(Subscriber).values(status_changed_at=then, confirmation_sent_at=then, updated_at=then)
        )
    first_link = confirmation_path(emails(outbox)[0])
    assert follow(client, first_link).status_code == 200
    reader = subscriber(engine, "reader@example.org")
    assert reader is not None and reader.status == "active"
    # Yesterday they left; today someone else types their address, with a name and a language of their own.
    assert client.post(f"/unsubscribe/{Signer(SECRET).token(reader)}").status_code == 200
    sign_up(client, "reader@example.org", "en", name="Someone Else")
    assert follow(client, first_link).status_code == 400
    left = subscriber(engine, "reader@example.org")
    assert left is not None and (left.status, left.name) == ("unsubscribed", "Ko Aung")
    # Only the link of the new sign-up, sent to the reader's mailbox, confirms it.
    [second] = [message for message in emails(outbox) if confirmation_path(message) != first_link]
    assert follow(client, confirmation_path(second)).status_code == 200
    back = subscriber(engine, "reader@example.org")
    assert back is not None and back.status == "active"


@pytest.mark.parametrize("before", [None, Status.UNSUBSCRIBED])
def test_the_link_of_an_earlier_sign_up_does_not_confirm_a_newer_one_awaiting_confirmation(
    client: Client, engine: Engine, outbox: Path, monkeypatch: pytest.MonkeyPatch, before: Status | None
) -> None:
    # A new address (pending), or one that left: either way a sign-up awaits its confirmation, made two hours ago.
    if before is not None:
        add(engine, "reader@example.org", before)
    issued = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) - 2 * 3600)
    sign_up(client, "reader@example.org", "my", name="Ko Aung")
    monkeypatch.setattr(TimestampSigner, "get_timestamp", issued)
    then = datetime.now(UTC) - timedelta(hours=2)
    with Session(engine) as session, session.begin():
        left = then - timedelta(days=1)
        session.execute(
            update(Subscriber).values(
                status_changed_at=then if before is None else left, confirmation_sent_at=then, updated_at=then
            )
        )
    [first] = emails(outbox)
    # Now someone else types the address, with a name and a language of their own: the reader gets a second email.
    sign_up(client, "reader@example.org", "en", name="Someone Else")
    assert len(emails(outbox)) == 2
    # The first link, still in the reader's mailbox, would confirm what the stranger typed: it no longer confirms.
    assert follow(client, confirmation_path(first)).status_code == 400
    waiting = subscriber(engine, "reader@example.org")
    assert waiting is not None and waiting.status == (before or Status.PENDING).value
    [second] = [
        message for message in emails(outbox) if confirmation_path(message) != confirmation_path(first)
    ]
    assert follow(client, confirmation_path(second)).status_code == 200


@with_limits(per_client="3/hour", total="4/hour")
def test_a_client_past_its_limit_uses_up_nobody_elses_sign_ups(
    client: Client, outbox: Path, limits: dict[str, str]
) -> None:
    token = form_token(client.get("/subscribe").text)
    # One client posting nonsense, then refused, again and again: none of it counts in the total.
    assert [post_as(client, "203.0.113.66", "not-an-address", token=token) for _ in range(3)] == [400] * 3
    assert {post_as(client, "203.0.113.66", f"reader{n}@example.org", token=token) for n in range(20)} == {
        429
    }
    # So everyone else still has the whole total: four sign-ups, then the fifth waits.
    others = [post_as(client, f"198.51.100.{n}", f"other{n}@example.org", token=token) for n in range(5)]
    assert others == [200, 200, 200, 200, 429]
    assert len(emails(outbox)) == 4


class HeldOutbox(OutboxTransport):
    """An outbox that sends nothing until `release` is set, as a slow mail server takes its time."""

    def __init__(self, path: Path, release: threading.Event) -> None:
        super().__init__(path)
        self.release = release

    def send(self, batch: Batch) -> list[Delivery]:
        assert self.release.wait(30), "the test never let the email go"
        return super().send(batch)


def test_the_answer_does_not_wait_for_the_mail_server(project: Project, engine: Engine, outbox: Path) -> None:
    # Were the answer given after the email, how long it took would tell one kind of address from another
    # (a mail server may take longer over a stranger's, or an email may not go at all), whatever the page said.
    release = threading.Event()
    app = create_app(
        project,
        engine,
        Signer(SECRET),
        webhook_public_key=None,
        secret=SECRET,
        transport_factory=lambda: HeldOutbox(outbox, release),
    )
    with serving(app, wait_for_email=False) as client:
        add(engine, "known@example.org", Status.ACTIVE)
        known = sign_up(client, "known@example.org")
        # Answered while the mail server still holds the confirmation.
        assert sign_up(client, "stranger@example.org") == known
        assert emails(outbox) == []
        release.set()
        assert app.state.outgoing.wait(10)
    # A confirmation for the stranger; for the subscriber, a link to their preferences.
    assert sorted(message["Subject"] for message in emails(outbox)) == [
        "ပရိုဂရက်ဆစ်ဗွိုက်စ် ၏ သတင်းလွှာ စာရင်းသွင်းမှုကို အတည်ပြုပါ",
        "သင်သည် ပရိုဂရက်ဆစ်ဗွိုက်စ် ၏ သတင်းလွှာကို လက်ခံရရှိနေပြီး ဖြစ်ပါသည်",
    ]


def test_the_link_goes_to_the_public_address_whatever_host_the_form_was_posted_to(
    client: Client, outbox: Path
) -> None:
    form = client.get("/subscribe", headers={"Host": "evil.example"})
    client.post(
        "/subscribe",
        headers={"Host": "evil.example"},
        data={"csrf": form_token(form.text), "email": "reader@example.org", "language": "en"},
    )
    [message] = emails(outbox)
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "evil.example" not in plain.get_content()
    # Beside the unsubscribe pages of unsubscribe_url.
    assert confirmation_path(message).startswith("/confirm/")


def test_confirm_url_names_where_the_link_goes(project: Project, engine: Engine, outbox: Path) -> None:
    settings = msgspec.structs.replace(
        project.settings,
        unsubscribe_url="https://mail.example.org/leave?t={token}",
        confirm_url="https://news.example.org/c/{token}",
        preferences_url="https://pv.example.org/prefs/{token}",
    )
    app = app_sending_to(outbox, msgspec.structs.replace(project, settings=settings), engine, SECRET)
    with serving(app) as client:
        sign_up(client, "reader@example.org")
        [message] = emails(outbox)
        plain = message.get_body(("plain",))
        assert plain is not None
        link = re.search(r"https://news\.example\.org/c/([A-Za-z0-9_.-]+)", plain.get_content())
        assert link is not None
        # The app serves it at /confirm/{token}: the proxy in front maps the one to the other.
        thanks = follow(client, f"/confirm/{link.group(1)}")
        assert thanks.status_code == 200
    found = subscriber(engine, "reader@example.org")
    assert found is not None and found.status == "active"
    # The thank-you page sends them where the emails' footers do (preferences_url), wherever /confirm is.
    assert f'href="https://pv.example.org/prefs/{quote(Signer(SECRET).token(found), safe="")}"' in thanks.text


def test_without_an_address_for_the_link_there_is_no_sign_up(project: Project, engine: Engine) -> None:
    settings = msgspec.structs.replace(
        project.settings, unsubscribe_url="https://mail.example.org/leave?t={token}"
    )
    assert confirmation_link(settings) is None
    app = create_app(
        msgspec.structs.replace(project, settings=settings),
        engine,
        Signer(SECRET),
        webhook_public_key=None,
        secret=SECRET,
    )
    with serving(app) as client:
        assert client.get("/subscribe").status_code == 404
        assert client.post("/subscribe", data={"email": "reader@example.org"}).status_code == 404
        # The preferences pages need only the secret.
        assert client.get("/preferences/not-a-token").status_code == 400
    assert subscriber(engine, "reader@example.org") is None


def test_sign_ups_nobody_confirmed_are_dropped_when_the_server_starts(
    project: Project, engine: Engine
) -> None:
    add(engine, "stranger@example.org", Status.PENDING)
    add(engine, "reader@example.org", Status.ACTIVE)
    with Session(engine) as session, session.begin():
        session.execute(update(Subscriber).values(updated_at=datetime.now(UTC) - timedelta(days=8)))
    app = create_app(project, engine, Signer(SECRET), webhook_public_key=None, secret=SECRET)
    with serving(app):
        # No one signs up: the server drops them as it starts (and every hour), in a moment.
        deadline = time.monotonic() + 10
        while subscriber(engine, "stranger@example.org") is not None:
            assert time.monotonic() < deadline, "the stale sign-up was not dropped"
            time.sleep(0.05)
    assert subscriber(engine, "reader@example.org") is not None


def test_a_bad_link_is_explained_in_the_visitors_language(client: Client) -> None:
    response = client.get("/confirm/not-a-token", headers={"Accept-Language": "my-MM, en;q=0.5"})
    assert response.status_code == 400
    assert '<html lang="my">' in response.text
    assert "ဤ အတည်ပြုရန် လင့်ခ် မမှန်ကန်ပါ" in response.text


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("facebook", "web form: facebook"),
        ("  June\nappeal\t2024  ", "web form: June appeal 2024"),  # one line
        ("x" * 100, "web form: " + "x" * 40),  # as much as the record holds
        ("", "web form"),
    ],
)
def test_a_source_in_the_forms_address_is_recorded_with_the_consent(
    client: Client, engine: Engine, outbox: Path, given: str, recorded: str
) -> None:
    form = client.get("/subscribe", params={"lang": "en", "source": given})
    # Carried in the form's signed token, which a post cannot change.
    client.post(
        "/subscribe",
        data={
            "csrf": form_token(form.text),
            "email": "reader@example.org",
            "language": "en",
            "source": "forged",
        },
    )
    assert follow(client, confirmation_path(emails(outbox)[0])).status_code == 200
    found = subscriber(engine, "reader@example.org")
    assert found is not None
    assert found.consent_source == recorded


def test_a_name_that_is_not_utf8_is_refused_not_stored_garbled(
    client: Client, engine: Engine, outbox: Path
) -> None:
    form = client.get("/subscribe", params={"lang": "en"})
    body = f"csrf={form_token(form.text)}&email=reader%40example.org&language=en&name=Ko%FFAung".encode(
        "ascii"
    )
    answer = client.post(
        "/subscribe", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 400
    assert "Your name holds a character that cannot be seen or read. Please type it again." in answer.text
    assert subscriber(engine, "reader@example.org") is None
    assert emails(outbox) == []


def test_a_form_left_open_too_long_keeps_its_source(
    client: Client, engine: Engine, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = client.get("/subscribe", params={"lang": "en", "source": "facebook"})
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.text))
    issued = TimestampSigner.get_timestamp
    # Three hours later (a form lasts two): the form comes back, then is sent, then the link is followed.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) + 3 * 3600)
    expired = client.post("/subscribe", data={**fields, "email": "reader@example.org", "language": "en"})
    assert expired.status_code == 400
    again = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', expired.text))
    assert again["source"] == "facebook" and again["csrf"] != fields["csrf"]
    client.post("/subscribe", data={**again, "email": "reader@example.org", "language": "en"})
    assert follow(client, confirmation_path(emails(outbox)[0])).status_code == 200
    found = subscriber(engine, "reader@example.org")
    assert found is not None and found.consent_source == "web form: facebook"
