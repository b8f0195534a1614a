"""Sign-up with double opt-in: the form, the pending subscriber and their confirmation email, the confirmation link."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from broadsheet.delivery.personalize import Signer
from broadsheet.delivery.store import Status, Subscriber
from broadsheet.delivery.transports.outbox import OutboxTransport
from broadsheet.settings import Project
from broadsheet.web import create_app

SECRET = "test-secret-for-signing-sign-up-links"
LINK = re.compile(r"https://progressivevoicemyanmar\.org/newsletter(/confirm/[A-Za-z0-9_.-]+)")


@pytest.fixture
def project(sample_project: Project) -> Project:
    """The repository's templates and catalogs (Burmese interface translated) and the sample issue."""
    return sample_project


@pytest.fixture
def engine(sample_store: Engine) -> Engine:
    return sample_store


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def client(project: Project, engine: Engine, outbox: Path) -> TestClient:
    app = create_app(
        project, engine, Signer(SECRET), webhook_public_key=None, secret=SECRET,
        transport_factory=lambda: OutboxTransport(outbox),
    )
    return TestClient(app)


def sign_up(client: TestClient, email: str, language: str = "my", **fields: str) -> str:
    form = client.get("/subscribe", params={"lang": language})
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match is not None
    response = client.post(
        "/subscribe", data={"csrf": match.group(1), "email": email, "name": "Ko Aung", "language": language, "website": "", **fields}
    )
    return response.text


def emails(outbox: Path) -> list[EmailMessage]:
    found = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(outbox.rglob("*.eml"))]
    return [message for message in found if isinstance(message, EmailMessage)]


def confirmation_path(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    match = LINK.search(part.get_content())
    assert match is not None
    return match.group(1)


def subscriber(engine: Engine, email: str) -> Subscriber | None:
    with Session(engine) as session:
        return session.scalars(select(Subscriber).where(Subscriber.email_key == email.lower())).one_or_none()


def add(engine: Engine, email: str, status: Status) -> None:
    with Session(engine) as session, session.begin():
        session.add(Subscriber(email=email, email_key=email.lower(), name="", locale="en", status=status.value))


def test_form_in_burmese_has_a_signed_token_and_a_hidden_honeypot(client: TestClient) -> None:
    response = client.get("/subscribe?lang=my")
    assert response.status_code == 200
    assert '<html lang="my">' in response.text
    assert "Progressive Voice ၏ သတင်းလွှာကို စာရင်းသွင်းရန်" in response.text
    assert "အီးမေးလ် လိပ်စာ" in response.text
    assert '<option value="my" selected>မြန်မာ</option>' in response.text
    assert 'name="csrf" value="' in response.text
    assert '<div class="trap" aria-hidden="true">' in response.text
    assert response.headers["cache-control"] == "no-store"


def test_form_language_follows_accept_language_then_the_source_locale(client: TestClient) -> None:
    assert '<html lang="my">' in client.get("/subscribe", headers={"Accept-Language": "fr;q=0.9, my-MM;q=0.8"}).text
    assert '<html lang="en">' in client.get("/subscribe", headers={"Accept-Language": "fr"}).text
    assert '<html lang="en">' in client.get("/subscribe?lang=xx").text


def test_sign_up_then_confirm_makes_an_active_burmese_subscriber_with_consent(
    client: TestClient, engine: Engine, outbox: Path
) -> None:
    page = sign_up(client, "New.Reader@Example.org")
    assert "သင်၏ စာဝင်ပုံးကို စစ်ဆေးပါ" in page
    pending = subscriber(engine, "new.reader@example.org")
    assert pending is not None
    assert (pending.status, pending.locale, pending.name, pending.consented_at) == ("pending", "my", "Ko Aung", None)
    assert pending.confirmation_sent_at is not None
    [message] = emails(outbox)
    assert message["To"] == "Ko Aung <New.Reader@example.org>"
    assert message["Subject"] == "Progressive Voice ၏ သတင်းလွှာ စာရင်းသွင်းမှုကို အတည်ပြုပါ"
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "ကျွန်ုပ်၏ စာရင်းသွင်းမှုကို အတည်ပြုရန်" in plain.get_content()

    confirmed = client.get(confirmation_path(message))
    assert confirmed.status_code == 200
    assert "စာရင်းသွင်းသည့်အတွက် ကျေးဇူးတင်ပါသည်" in confirmed.text
    active = subscriber(engine, "new.reader@example.org")
    assert active is not None
    assert (active.status, active.locale, active.consent_source) == ("active", "my", "web form")
    assert active.consented_at is not None

    again = client.get(confirmation_path(message))
    assert again.status_code == 200
    replayed = subscriber(engine, "new.reader@example.org")
    assert replayed is not None
    assert (replayed.consented_at, replayed.updated_at) == (active.consented_at, active.updated_at)


def test_missing_or_forged_form_token_is_refused(client: TestClient, engine: Engine, outbox: Path) -> None:
    data = {"email": "reader@example.org", "language": "en", "website": ""}
    assert client.post("/subscribe", data=data).status_code == 400
    response = client.post("/subscribe", data={**data, "csrf": "forged"})
    assert response.status_code == 400
    assert "This form has expired" in response.text
    assert subscriber(engine, "reader@example.org") is None
    assert emails(outbox) == []


def test_filled_honeypot_pretends_success_and_does_nothing(client: TestClient, engine: Engine, outbox: Path) -> None:
    page = sign_up(client, "robot@example.org", website="http://spam.example")
    assert page == sign_up(client, "person@example.org")
    assert subscriber(engine, "robot@example.org") is None
    assert [message["To"] for message in emails(outbox)] == ["Ko Aung <person@example.org>"]


def test_invalid_address_shows_the_form_again_with_the_error(client: TestClient, engine: Engine) -> None:
    form = client.get("/subscribe")
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match is not None
    response = client.post("/subscribe", data={"csrf": match.group(1), "email": "not an address", "language": "en"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.text
    assert 'value="not an address"' in response.text
    assert subscriber(engine, "not an address") is None


def test_active_address_gets_the_same_page_and_no_email(client: TestClient, engine: Engine, outbox: Path) -> None:
    add(engine, "reader@example.org", Status.ACTIVE)
    assert sign_up(client, "Reader@example.org") == sign_up(client, "someone.new@example.org")
    found = subscriber(engine, "reader@example.org")
    assert found is not None
    assert (found.status, found.locale, found.confirmation_sent_at) == ("active", "en", None)
    assert [message["To"] for message in emails(outbox)] == ["Ko Aung <someone.new@example.org>"]


def test_at_most_one_confirmation_an_hour(client: TestClient, outbox: Path) -> None:
    first = sign_up(client, "reader@example.org")
    (outbox / "confirmation" / "my" / "reader@example.org.eml").unlink()
    assert sign_up(client, "reader@example.org") == first
    assert emails(outbox) == []


def test_tampered_link_is_refused_and_changes_nothing(client: TestClient, engine: Engine, outbox: Path) -> None:
    sign_up(client, "reader@example.org")
    path = confirmation_path(emails(outbox)[0])
    response = client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
    assert response.status_code == 400
    assert "This confirmation link is not valid" in response.text
    found = subscriber(engine, "reader@example.org")
    assert found is not None
    assert (found.status, found.consented_at) == ("pending", None)


def test_expired_link_is_refused_and_changes_nothing(
    client: TestClient, engine: Engine, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_up(client, "reader@example.org")
    path = confirmation_path(emails(outbox)[0])
    issued = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) + 7 * 86400 + 1)
    assert client.get(path).status_code == 400
    found = subscriber(engine, "reader@example.org")
    assert found is not None
    assert (found.status, found.consented_at) == ("pending", None)


def test_unsubscribed_address_may_sign_up_again(client: TestClient, engine: Engine, outbox: Path) -> None:
    add(engine, "leaver@example.org", Status.UNSUBSCRIBED)
    sign_up(client, "leaver@example.org")
    pending = subscriber(engine, "leaver@example.org")
    assert pending is not None
    assert (pending.status, pending.locale) == ("pending", "my")
    assert client.get(confirmation_path(emails(outbox)[0])).status_code == 200
    active = subscriber(engine, "leaver@example.org")
    assert active is not None
    assert active.status == "active"


def test_link_of_an_address_that_left_since_does_not_bring_it_back(client: TestClient, engine: Engine, outbox: Path) -> None:
    sign_up(client, "reader@example.org")
    with Session(engine) as session, session.begin():
        found = session.scalars(select(Subscriber)).one()
        found.status = Status.UNSUBSCRIBED.value
    assert client.get(confirmation_path(emails(outbox)[0])).status_code == 400
    left = subscriber(engine, "reader@example.org")
    assert left is not None
    assert left.status == "unsubscribed"
