"""The web side of delivery: unsubscribe pages and one-click unsubscribes, SendGrid's signed events, health, report."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import msgspec.structs
import pytest
from click.testing import Result
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from broadsheet.delivery import feedback, lifecycle
from broadsheet.delivery.lifecycle import SubscriberRow
from broadsheet.delivery.personalize import Signer
from broadsheet.delivery.store import Event, LedgerEntry, State, Status, Subscriber, utcnow
from broadsheet.settings import Project
from broadsheet.web import MAX_WEBHOOK_BODY, InvalidWebhookKey, create_app
from broadsheet.web.pages import locale_named
from broadsheet.web.webhook import FUTURE_SKEW, fresh

from .serving import broadsheet_server
from .support import table_rows, translate

SECRET = "test-secret-for-signing-unsubscribe-links"
SIGNER = Signer(SECRET)
PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = base64.b64encode(
    PRIVATE_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode("ascii")


@pytest.fixture
def sqlite_store(sample_store: Engine) -> Engine:
    return sample_store


def client_for(project: Project, engine: Engine, public_key: str | None = PUBLIC_KEY) -> TestClient:
    return TestClient(create_app(project, engine, SIGNER, webhook_public_key=public_key))


def subscribe(engine: Engine, email: str, locale: str = "en") -> Subscriber:
    """An active subscriber, on the list since an hour ago."""
    since = utcnow() - timedelta(hours=1)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        subscriber = Subscriber(
            email=email,
            email_key=email.lower(),
            name="",
            locale=locale,
            created_at=since,
            status_changed_at=since,
        )
        session.add(subscriber)
    return subscriber


def status_of(engine: Engine, subscriber: Subscriber) -> tuple[str, datetime]:
    with Session(engine) as session:
        found = session.get(Subscriber, subscriber.id)
        assert found is not None
        return found.status, found.updated_at


def signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """The headers SendGrid sends with `body`: an ECDSA P-256 signature of timestamp (default: now) + body."""
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    signature = PRIVATE_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode("ascii"),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def event(
    kind: str, subscriber: Subscriber, event_id: str, issue: str = "2024-01-04", *, at: float | None = None
) -> dict[str, Any]:
    """An event of `subscriber`'s copy of `issue`, happened `at` (default: now)."""
    return {
        "email": subscriber.email,
        "timestamp": int(time.time() if at is None else at),
        "event": kind,
        "sg_event_id": event_id,
        "sg_message_id": "abc.filter0001",
        "issue": issue,
        "subscriber": str(subscriber.id),
    }


def post_events(client: TestClient, events: list[dict[str, Any]]) -> Any:
    body = json.dumps(events).encode()
    return client.post("/webhooks/sendgrid", content=body, headers=signed(body))


# -- Unsubscribe -------------------------------------------------------------------------


def test_unsubscribe_page_asks_in_english_and_changes_nothing(project: Project, sqlite_store: Engine) -> None:
    reader = subscribe(sqlite_store, "Reader@Example.org")
    response = client_for(project, sqlite_store).get(f"/unsubscribe/{SIGNER.token(reader)}")
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Unsubscribe from the Progressive Voice newsletter?" in response.text
    # Relative to the page, so that it holds wherever the app is mounted.
    assert f'<form method="post" action="{SIGNER.token(reader)}">' in response.text
    assert "reader@example.org" not in response.text.lower()
    assert response.headers["referrer-policy"] == "no-referrer"
    assert status_of(sqlite_store, reader)[0] == Status.ACTIVE.value


def test_a_head_request_of_the_unsubscribe_link_changes_nothing(
    project: Project, sqlite_store: Engine
) -> None:
    # Mail scanners and link checkers ask HEAD of the links in an email.
    reader = subscribe(sqlite_store, "reader@example.org")
    response = client_for(project, sqlite_store).head(f"/unsubscribe/{SIGNER.token(reader)}")
    assert response.status_code == 200
    assert status_of(sqlite_store, reader)[0] == Status.ACTIVE.value


def test_a_last_slash_is_taken_off_by_a_relative_redirect(project: Project, sqlite_store: Engine) -> None:
    # Behind an HTTPS proxy at /newsletter/, an absolute `http://host/...` lost the scheme and the prefix; a forged
    # Host header named another site.
    reader = subscribe(sqlite_store, "reader@example.org")
    token = SIGNER.token(reader)
    client = client_for(project, sqlite_store)
    for path, target in ((f"/unsubscribe/{token}/", f"../{token}"), ("/health/?x=1", "../health?x=1")):
        for method in ("GET", "HEAD", "POST"):
            response = client.request(method, path, headers={"Host": "evil.example"}, follow_redirects=False)
            assert (response.status_code, response.headers["location"]) == (307, target)
    assert client.get(f"/unsubscribe/{token}/").status_code == 200  # followed
    assert status_of(sqlite_store, reader)[0] == Status.ACTIVE.value


def test_a_method_an_address_does_not_take_gets_405_naming_every_one_it_does(
    project: Project, sqlite_store: Engine
) -> None:
    app = create_app(project, sqlite_store, SIGNER, webhook_public_key=PUBLIC_KEY, secret=SECRET)
    client = TestClient(app)
    token = SIGNER.token(subscribe(sqlite_store, "reader@example.org"))
    for path in ("/subscribe", f"/preferences/{token}", f"/unsubscribe/{token}", "/confirm/x"):
        for method in ("OPTIONS", "PUT", "DELETE"):
            response = client.request(method, path)
            assert response.status_code == 405, (method, path)
            allowed = {name.strip() for name in response.headers["allow"].split(",")}
            assert allowed == {"GET", "HEAD", "POST"}, (method, path)
    answer = client.options("/webhooks/sendgrid")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"


def test_unsubscribe_page_is_in_the_subscribers_language(project: Project, sqlite_store: Engine) -> None:
    reader = subscribe(sqlite_store, "burmese@example.org", locale="my")
    client = client_for(project, sqlite_store)
    response = client.get(f"/unsubscribe/{SIGNER.token(reader)}")
    assert response.status_code == 200
    assert '<html lang="my">' in response.text
    assert "ပရိုဂရက်ဆစ်ဗွိုက်စ် ၏ သတင်းလွှာ စာရင်းမှ ထွက်မည်လား။" in response.text
    assert ">စာရင်းသွင်းမှု ပယ်ဖျက်ရန်</button>" in response.text
    assert "Noto Sans Myanmar" in response.text
    done = client.post(f"/unsubscribe/{SIGNER.token(reader)}")
    assert "စာရင်းမှ ထွက်ပြီးပါပြီ" in done.text


def test_unsubscribe_page_marks_the_organization_left_in_english_by_the_names_catalog(
    project: Project, sqlite_store: Engine
) -> None:
    translate(project, "my", "names", {"Progressive Voice": ""})
    reader = subscribe(sqlite_store, "burmese@example.org", locale="my")
    page = client_for(project, sqlite_store).get(f"/unsubscribe/{SIGNER.token(reader)}").text
    assert '><span lang="en">Progressive Voice</span> ၏ သတင်းလွှာ စာရင်းမှ ထွက်မည်လား။</h1>' in page
    assert "<title>စာရင်းသွင်းမှု ပယ်ဖျက်ရန် · Progressive Voice</title>" in page
    # Set in the English fonts, as in the email and on the site: the page's own are the Burmese ones.
    style = page.split("<style>")[1].split("</style>")[0]
    assert '[lang="en"] { font-family: Helvetica, Arial, sans-serif; line-height: 1.6; }' in style


@pytest.mark.parametrize("body", [b"", b"List-Unsubscribe=One-Click"], ids=["form", "one-click"])
def test_post_unsubscribes_at_once(project: Project, store: Engine, body: bytes) -> None:
    reader = subscribe(store, "reader@example.org")
    other = subscribe(store, "other@example.org")
    before = status_of(store, reader)[1]
    response = client_for(project, store).post(
        f"/unsubscribe/{SIGNER.token(reader)}",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "You have been unsubscribed" in response.text
    status, updated = status_of(store, reader)
    assert status == Status.UNSUBSCRIBED.value
    assert updated > before
    assert status_of(store, other)[0] == Status.ACTIVE.value


def test_unsubscribing_twice_is_harmless(project: Project, store: Engine) -> None:
    reader = subscribe(store, "reader@example.org")
    client = client_for(project, store)
    url = f"/unsubscribe/{SIGNER.token(reader)}"
    assert client.post(url).status_code == 200
    first = status_of(store, reader)
    second = client.post(url)
    assert second.status_code == 200
    assert "You have been unsubscribed" in second.text
    assert status_of(store, reader) == first
    assert "You have been unsubscribed" in client.get(url).text


def test_unsubscribe_keeps_a_bounced_subscriber_bounced(project: Project, sqlite_store: Engine) -> None:
    reader = subscribe(sqlite_store, "reader@example.org")
    with Session(sqlite_store) as session, session.begin():
        session.execute(Subscriber.__table__.update().values(status=Status.BOUNCED.value))
    assert client_for(project, sqlite_store).post(f"/unsubscribe/{SIGNER.token(reader)}").status_code == 200
    assert status_of(sqlite_store, reader)[0] == Status.BOUNCED.value


def _tampered(reader: Subscriber, other: Subscriber) -> dict[str, str]:
    token = SIGNER.token(reader)
    identifier, digest, signature = token.split(".")
    return {
        "altered id": f"{other.id}.{digest}.{signature}",
        "altered signature": f"{identifier}.{digest}.{signature[:-2]}xx",
        "other secret": Signer("another-secret-of-sixteen-chars").token(reader),
        "garbage": "not-a-token",
        "address changed": SIGNER.token(Subscriber(id=reader.id, email_key="someone-else@example.org")),
        "nobody": SIGNER.token(Subscriber(id=reader.id + 100, email_key=reader.email_key)),
        # Characters base64 would skip over: the link was altered all the same.
        "junk appended": f"{token}%C3%BF",
        "line break appended": f"{token}%0D%0A",
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_bad_or_tampered_token_gets_400_and_changes_nothing(
    project: Project, store: Engine, method: str
) -> None:
    reader = subscribe(store, "reader@example.org")
    other = subscribe(store, "other@example.org")
    client = client_for(project, store)
    for case, token in _tampered(reader, other).items():
        response = client.request(method, f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click")
        assert response.status_code == 400, case
        assert "This unsubscribe link is not valid" in response.text
    assert status_of(store, reader)[0] == Status.ACTIVE.value
    assert status_of(store, other)[0] == Status.ACTIVE.value


# -- SendGrid's Event Webhook ----------------------------------------------------------------


def test_signed_events_take_subscribers_off_the_list(project: Project, store: Engine) -> None:
    bounced, dropped, complaining, leaving, grouped, reading = (
        subscribe(store, f"{name}@example.org")
        for name in ("bounced", "dropped", "complaining", "leaving", "grouped", "reading")
    )
    by_address = {
        **event("bounce", dropped, "e0"),
        "subscriber": None,
        "email": "DROPPED@example.org",
        "event": "dropped",
        "reason": "Bounced Address",
    }
    events = [
        event("bounce", bounced, "e1"),
        by_address,
        event("spamreport", complaining, "e2"),
        event("unsubscribe", leaving, "e3"),
        event("group_unsubscribe", grouped, "e4"),
        event("delivered", reading, "e5"),
        event("open", reading, "e6"),
        event("click", reading, "e7"),
        event("processed", reading, "e8"),
    ]
    response = post_events(client_for(project, store), events)
    assert response.status_code == 200
    assert [status_of(store, s)[0] for s in (bounced, dropped, complaining, leaving, grouped, reading)] == [
        "bounced",
        "bounced",
        "complained",
        "unsubscribed",
        "unsubscribed",
        "active",
    ]
    with Session(store) as session:
        recorded = session.execute(
            select(Event.sg_event_id, Event.issue, Event.subscriber_id, Event.kind).order_by(
                Event.sg_event_id
            )
        ).all()
    assert [tuple(row) for row in recorded] == [
        ("e0", "2024-01-04", dropped.id, "dropped"),
        ("e1", "2024-01-04", bounced.id, "bounce"),
        ("e2", "2024-01-04", complaining.id, "spamreport"),
        ("e3", "2024-01-04", leaving.id, "unsubscribe"),
        ("e4", "2024-01-04", grouped.id, "group_unsubscribe"),
        ("e5", "2024-01-04", reading.id, "delivered"),
        ("e6", "2024-01-04", reading.id, "open"),
        ("e7", "2024-01-04", reading.id, "click"),
    ]


def test_a_block_or_a_drop_for_the_message_leaves_the_reader_on_the_list(
    project: Project, sqlite_store: Engine
) -> None:
    # SendGrid's `blocked` bounce is a server refusing the message (a blocklisted IP, its content, a full
    # mailbox), and a drop for Spam Content or a plan's quota drops every copy of the send alike: none is
    # about the address, and SendGrid sends to it again. A drop for a listed address is.
    blocked, spam_content, quota, bounced, listed, complained, left = (
        subscribe(sqlite_store, f"{name}@example.org")
        for name in ("blocked", "content", "quota", "bounced", "listed", "complained", "left")
    )
    events = [
        {**event("bounce", blocked, "e1"), "type": "blocked", "reason": "550 5.7.1 Service unavailable; Client host blocked using Spamhaus", "status": "5.7.1"},
        {**event("dropped", spam_content, "e2"), "reason": "Spam Content (if Spam Checker app is enabled)"},
        {**event("dropped", quota, "e3"), "reason": "Recipient List over Package Quota"},
        {**event("bounce", bounced, "e4"), "type": "bounce", "reason": "550 5.1.1 No such user", "status": "5.1.1"},
        {**event("dropped", listed, "e5"), "reason": "Bounced Address"},
        {**event("dropped", complained, "e6"), "reason": "Spam Reporting Address"},
        {**event("dropped", left, "e7"), "reason": "Unsubscribed Address"},
    ]  # fmt: skip
    assert post_events(client_for(project, sqlite_store), events).status_code == 200
    readers = (blocked, spam_content, quota, bounced, listed, complained, left)
    assert [status_of(sqlite_store, reader)[0] for reader in readers] == [
        "active",
        "active",
        "active",
        "bounced",
        "bounced",
        "complained",
        "unsubscribed",
    ]


def test_events_of_nobody_on_the_list_are_not_kept(
    project: Project, store: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    reader = subscribe(store, "reader@example.org")
    # A test copy sent to an editor, and a late open of someone removed since.
    stranger = {**event("open", reader, "e1"), "subscriber": None, "email": "editor@example.org"}
    gone = {**event("open", reader, "e2"), "subscriber": str(reader.id + 1000), "email": "gone@example.org"}
    with caplog.at_level(logging.INFO, logger="broadsheet.web"):
        assert (
            post_events(client_for(project, store), [stranger, gone, event("open", reader, "e3")]).status_code
            == 200
        )
    assert (
        "event=webhook outcome=ok received=3 recorded=1 duplicates=0 ignored=2 status_changes=0"
        in caplog.messages
    )
    with Session(store) as session:
        assert session.scalars(select(Event.sg_event_id)).all() == ["e3"]


def test_retried_events_are_recorded_once(project: Project, store: Engine) -> None:
    reader = subscribe(store, "reader@example.org")
    client = client_for(project, store)
    events = [event("open", reader, "same"), event("open", reader, "same"), event("click", reader, "other")]
    assert post_events(client, events).status_code == 200
    assert post_events(client, events).status_code == 200
    with Session(store) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 2


def test_an_event_never_reactivates_or_changes_the_reason(project: Project, sqlite_store: Engine) -> None:
    reader = subscribe(sqlite_store, "reader@example.org")
    client = client_for(project, sqlite_store)
    post_events(client, [event("unsubscribe", reader, "e1")])
    post_events(client, [event("bounce", reader, "e2"), event("delivered", reader, "e3")])
    assert status_of(sqlite_store, reader)[0] == Status.UNSUBSCRIBED.value


def test_an_id_belonging_to_another_address_falls_back_to_the_address(
    project: Project, sqlite_store: Engine
) -> None:
    reader = subscribe(sqlite_store, "reader@example.org")
    other = subscribe(sqlite_store, "other@example.org")
    post_events(
        client_for(project, sqlite_store), [{**event("bounce", reader, "e1"), "subscriber": str(other.id)}]
    )
    assert status_of(sqlite_store, reader)[0] == Status.BOUNCED.value
    assert status_of(sqlite_store, other)[0] == Status.ACTIVE.value


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Email-Event-Webhook-Timestamp": "1704355200"},
        "tampered body",
        "other timestamp",
        "other key",
        {
            "X-Twilio-Email-Event-Webhook-Signature": "%%%not base64",
            "X-Twilio-Email-Event-Webhook-Timestamp": "1",
        },
    ],
    ids=["unsigned", "no signature", "tampered body", "other timestamp", "other key", "garbage"],
)
def test_events_without_a_valid_signature_get_403_and_change_nothing(
    project: Project, store: Engine, headers: Any
) -> None:
    reader = subscribe(store, "reader@example.org")
    body = json.dumps([event("bounce", reader, "e1")]).encode()
    if headers == "tampered body":
        headers = signed(body.replace(b"bounce", b"delivered"))
    elif headers == "other timestamp":
        headers = {**signed(body), "X-Twilio-Email-Event-Webhook-Timestamp": "1704355201"}
    elif headers == "other key":
        signature = ec.generate_private_key(ec.SECP256R1()).sign(
            b"1704355200" + body, ec.ECDSA(hashes.SHA256())
        )
        headers = {
            **signed(body),
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        }
    response = client_for(project, store).post("/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 403
    assert status_of(store, reader)[0] == Status.ACTIVE.value
    with Session(store) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0


def sign_up_again_and_confirm(engine: Engine, subscriber: Subscriber) -> None:
    """`subscriber`, who left, signs up on the web form again and follows the confirmation link, now."""
    row = SubscriberRow(subscriber.email.lower(), "Back", subscriber.locale, Status.ACTIVE)
    pending = lifecycle.sign_up(engine, row, "I agree.", utcnow(), timedelta(days=7))
    assert pending is not None and not pending.active
    confirmed, newly = lifecycle.confirm(
        engine, pending.id, Signer.address_digest(pending.email_key), utcnow()
    )
    assert confirmed is not None and newly


def events_recorded(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(Event.sg_event_id).order_by(Event.sg_event_id)))


def test_a_replayed_request_changes_nothing_the_second_time(project: Project, store: Engine) -> None:
    reader = subscribe(store, "reader@example.org")
    client = client_for(project, store)
    body = json.dumps([event("bounce", reader, "bounce-1")]).encode()
    captured = signed(body)
    assert client.post("/webhooks/sendgrid", content=body, headers=captured).status_code == 200
    assert status_of(store, reader)[0] == Status.BOUNCED
    sign_up_again_and_confirm(store, reader)
    # The same body with the same signature, within the window: taken, but its event was already recorded.
    assert client.post("/webhooks/sendgrid", content=body, headers=captured).status_code == 200
    assert status_of(store, reader)[0] == Status.ACTIVE
    assert events_recorded(store) == ["bounce-1"]


@pytest.mark.parametrize(
    ("stamped", "taken"),
    [(-301, False), (-300, True), (0, True), (FUTURE_SKEW, True), (FUTURE_SKEW + 1, False)],
    ids=["a-second-past-the-window", "at-the-window", "now", "at-the-skew", "a-second-beyond-the-skew"],
)
def test_the_window_of_a_signed_timestamp_is_exact(stamped: int, taken: bool) -> None:
    # The bounds to the second, on a clock that stands still; the requests below leave a margin to a slow machine.
    now = 1_700_000_000
    assert fresh(str(now + stamped), now, max_age=300) is taken


@pytest.mark.parametrize(
    "timestamp",
    [lambda now: str(now - 301), lambda now: str(now - 365 * 86400), lambda now: str(now + 120), lambda now: "not-a-number",
     lambda now: f"{now}.5", lambda now: f" {now}", lambda now: "-1", lambda now: "1e9"],
    ids=["just-past-the-window", "a-year-old", "ahead-beyond-the-skew", "not-a-number", "fraction", "space", "negative",
         "exponent"],
)  # fmt: skip
def test_a_signed_request_outside_the_window_gets_403_and_changes_nothing(
    project: Project, store: Engine, timestamp: Callable[[int], str], caplog: pytest.LogCaptureFixture
) -> None:
    reader = subscribe(store, "reader@example.org")
    body = json.dumps([event("bounce", reader, "bounce-1")]).encode()
    with caplog.at_level(logging.WARNING, logger="broadsheet.web"):
        response = client_for(project, store).post(
            "/webhooks/sendgrid", content=body, headers=signed(body, timestamp(int(time.time())))
        )
    assert (response.status_code, response.text) == (403, "timestamp outside the accepted window\n")
    assert "event=webhook outcome=stale-timestamp max_age=300" in caplog.messages
    assert status_of(store, reader)[0] == Status.ACTIVE
    assert events_recorded(store) == []


@pytest.mark.parametrize("age", [-60, 0, 280], ids=["a-minute-ahead", "now", "nearly-five-minutes-old"])
def test_a_signed_request_within_the_window_is_taken(
    project: Project, sqlite_store: Engine, age: int
) -> None:
    reader = subscribe(sqlite_store, "reader@example.org")
    body = json.dumps([event("bounce", reader, "bounce-1", at=time.time() + 1)]).encode()
    headers = signed(body, str(int(time.time()) - age))
    assert (
        client_for(project, sqlite_store)
        .post("/webhooks/sendgrid", content=body, headers=headers)
        .status_code
        == 200
    )
    assert status_of(sqlite_store, reader)[0] == Status.BOUNCED


def test_the_window_is_the_webhook_max_age_seconds_setting(project: Project, sqlite_store: Engine) -> None:
    strict = msgspec.structs.replace(
        project, settings=msgspec.structs.replace(project.settings, webhook_max_age_seconds=30)
    )
    reader = subscribe(sqlite_store, "reader@example.org")
    body = json.dumps([event("bounce", reader, "bounce-1")]).encode()
    client = client_for(strict, sqlite_store)
    assert (
        client.post(
            "/webhooks/sendgrid", content=body, headers=signed(body, str(int(time.time()) - 60))
        ).status_code
        == 403
    )
    assert client.post("/webhooks/sendgrid", content=body, headers=signed(body)).status_code == 200


def test_an_old_bounce_after_a_new_confirmation_leaves_the_subscriber_active(
    project: Project, store: Engine
) -> None:
    reader = subscribe(store, "reader@example.org")
    client = client_for(project, store)
    assert (
        post_events(client, [event("bounce", reader, "bounce-1", at=time.time() - 1800)]).status_code == 200
    )
    assert status_of(store, reader)[0] == Status.BOUNCED
    sign_up_again_and_confirm(store, reader)
    # Reported late, or under another id: it happened before they confirmed, so it is about the old mailbox.
    assert post_events(client, [event("bounce", reader, "bounce-2", at=time.time() - 600)]).status_code == 200
    assert status_of(store, reader)[0] == Status.ACTIVE
    # A bounce of a copy sent since counts.
    assert post_events(client, [event("bounce", reader, "bounce-3", at=time.time() + 1)]).status_code == 200
    assert status_of(store, reader)[0] == Status.BOUNCED
    assert events_recorded(store) == ["bounce-1", "bounce-2", "bounce-3"]


def test_an_event_id_already_recorded_changes_nothing_in_a_new_request(
    project: Project, store: Engine
) -> None:
    reader = subscribe(store, "reader@example.org")
    client = client_for(project, store)
    assert post_events(client, [event("unsubscribe", reader, "event-1")]).status_code == 200
    sign_up_again_and_confirm(store, reader)
    # A new request, freshly signed, with an event dated after the confirmation: only its id is old.
    assert (
        post_events(client, [event("unsubscribe", reader, "event-1", at=time.time() + 1)]).status_code == 200
    )
    assert status_of(store, reader)[0] == Status.ACTIVE
    assert events_recorded(store) == ["event-1"]


def test_without_a_public_key_every_event_is_refused(project: Project, sqlite_store: Engine) -> None:
    reader = subscribe(sqlite_store, "reader@example.org")
    assert (
        post_events(
            client_for(project, sqlite_store, public_key=None), [event("bounce", reader, "e1")]
        ).status_code
        == 403
    )
    assert status_of(sqlite_store, reader)[0] == Status.ACTIVE.value


def test_a_public_key_that_is_not_one_is_refused_at_start(project: Project, sqlite_store: Engine) -> None:
    with pytest.raises(InvalidWebhookKey, match="SENDGRID_WEBHOOK_PUBLIC_KEY"):
        client_for(project, sqlite_store, public_key="bm90IGEga2V5")


def test_an_oversize_body_gets_413(project: Project, sqlite_store: Engine) -> None:
    client = client_for(project, sqlite_store)
    body = b"[" + b" " * MAX_WEBHOOK_BODY + b"]"
    assert client.post("/webhooks/sendgrid", content=body, headers=signed(body)).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(MAX_WEBHOOK_BODY // 65536 + 2):
            yield b" " * 65536

    assert client.post("/webhooks/sendgrid", content=chunks(), headers=signed(b"")).status_code == 413


def test_a_signed_body_that_is_not_an_event_list_gets_400(project: Project, sqlite_store: Engine) -> None:
    body = b'{"event": "bounce"}'
    assert (
        client_for(project, sqlite_store)
        .post("/webhooks/sendgrid", content=body, headers=signed(body))
        .status_code
        == 400
    )


@pytest.mark.parametrize(
    "odd",
    [
        {"subscriber": "²"},  # a digit to str.isdigit, not to int()
        {"subscriber": "9" * 5000},  # past Python's limit on converting digits
        {"subscriber": 10**30},  # past any database id
        {"subscriber": True},
        {"event": ["bounce"]},
        {"event": {"a": 1}},
        {"email": "reader\x00@example.org"},  # PostgreSQL takes no NUL in a text
        {"email": "reader\ud800@example.org"},  # a lone surrogate, which JSON can write and UTF-8 cannot
        {"sg_event_id": "odd\x00"},
        {"sg_event_id": "odd\udfff"},
    ],
    ids=[
        "superscript-digit",
        "5000-digits",
        "huge-number",
        "boolean",
        "event-list",
        "event-object",
        "NUL-address",
        "surrogate-address",
        "NUL-event-id",
        "surrogate-event-id",
    ],
)
def test_signed_events_with_odd_fields_are_ignored_not_a_crash(
    project: Project, store: Engine, odd: dict[str, Any]
) -> None:
    reader = subscribe(store, "reader@example.org")
    strange = {**event("bounce", reader, "odd-1"), **odd}
    if "subscriber" in odd:
        del strange["email"]  # so that only the odd id could name someone
    response = post_events(client_for(project, store), [strange, event("delivered", reader, "fine-1")])
    assert response.status_code == 200
    assert status_of(store, reader)[0] == Status.ACTIVE.value
    with Session(store) as session:
        assert (
            session.scalars(select(Event.sg_event_id).where(Event.sg_event_id == "fine-1")).one() == "fine-1"
        )


def test_a_signed_body_nested_thousands_deep_gets_400(project: Project, sqlite_store: Engine) -> None:
    body = b"[" * 5000 + b"]" * 5000
    assert (
        client_for(project, sqlite_store)
        .post("/webhooks/sendgrid", content=body, headers=signed(body))
        .status_code
        == 400
    )


def test_logs_name_subscribers_by_id_never_by_address(
    project: Project, sqlite_store: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    reader = subscribe(sqlite_store, "reader@example.org")
    client = client_for(project, sqlite_store)
    with caplog.at_level(logging.INFO, logger="broadsheet.web"):
        client.post(f"/unsubscribe/{SIGNER.token(reader)}")
        post_events(client, [event("open", reader, "e1")])
    assert f"event=unsubscribe outcome=unsubscribed subscriber={reader.id}" in caplog.messages
    assert (
        "event=webhook outcome=ok received=1 recorded=1 duplicates=0 ignored=0 status_changes=0"
        in caplog.messages
    )
    assert not [line for line in caplog.messages if "example.org" in line or SIGNER.token(reader) in line]


# -- Health and the report ----------------------------------------------------------------


def test_health_answers_after_asking_the_database(project: Project, sqlite_store: Engine) -> None:
    response = client_for(project, sqlite_store).get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_report_counts_sent_copies_and_subscribers_per_event(
    project: Project, sqlite_store: Engine, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BROADSHEET_DATABASE_URL", raising=False)
    english = [subscribe(sqlite_store, f"en{n}@example.org") for n in range(3)]
    burmese = [subscribe(sqlite_store, f"my{n}@example.org", locale="my") for n in range(2)]
    with Session(sqlite_store) as session, session.begin():
        for subscriber in english + burmese:
            session.add(
                LedgerEntry(
                    issue="2024-01-04",
                    subscriber_id=subscriber.id,
                    locale=subscriber.locale,
                    state=State.SENT.value,
                )
            )
    events = [
        event("delivered", english[0], "d0"),
        event("delivered", english[1], "d1"),
        event("bounce", english[2], "b2"),
        event("open", english[0], "o0"),
        event("open", english[0], "o0-again"),
        event("click", english[0], "c0"),
        event("delivered", burmese[0], "d3"),
        event("unsubscribe", burmese[0], "u3"),
        event("spamreport", burmese[1], "s4"),
        event("open", english[1], "other-issue", issue="2023-12-21"),
    ]
    assert post_events(client_for(project, sqlite_store), events).status_code == 200

    result = cli("report", "2024-01-04", cwd=project.root)
    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout) == [
        ["What became of 2024-01-04"],
        ["locale", "sent", "delivered", "bounced", "opened", "clicked", "unsubscribed", "complained"],
        ["en", "3", "2", "1", "1", "1", "0", "0"],
        ["my", "2", "1", "0", "0", "0", "1", "1"],
    ]
    as_json = cli("report", "issues/2024-01-04.yaml", "--json", cwd=project.root)
    assert json.loads(as_json.stdout) == {
        "issue": "2024-01-04",
        "locales": [
            {
                "locale": "en",
                "sent": 3,
                "delivered": 2,
                "bounced": 1,
                "opened": 1,
                "clicked": 1,
                "unsubscribed": 0,
                "complained": 0,
            },
            {
                "locale": "my",
                "sent": 2,
                "delivered": 1,
                "bounced": 0,
                "opened": 0,
                "clicked": 0,
                "unsubscribed": 1,
                "complained": 1,
            },
        ],
    }


def test_an_open_sendgrid_marks_as_a_machines_is_not_counted_as_opened(
    project: Project, sqlite_store: Engine
) -> None:
    # Apple Mail Privacy Protection fetches every image of every email as it arrives: SendGrid marks that open.
    unread, read = (subscribe(sqlite_store, f"{name}@example.org") for name in ("unread", "read"))
    events = [
        {**event("open", unread, "o1"), "sg_machine_open": True},
        {**event("open", read, "o2"), "sg_machine_open": True},
        {**event("open", read, "o3"), "sg_machine_open": False},
    ]
    assert post_events(client_for(project, sqlite_store), events).status_code == 200
    [english] = feedback.issue_report(sqlite_store, "2024-01-04", ["en"])
    assert english.counts["opened"] == 1


def test_report_of_an_issue_never_sent_says_so_and_exits_1(project: Project, cli: Any) -> None:
    result = cli("report", "2023-12-22", cwd=project.root)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "broadsheet: nothing is recorded of 2023-12-22: no copy of it was sent, and no event names it; is the "
        "date right?\n"
    )


def test_report_refuses_what_is_not_an_issue(project: Project, cli: Any) -> None:
    result = cli("report", "last-week", cwd=project.root)
    assert result.exit_code != 0
    assert (
        "ISSUE: Expected a date such as 2024-01-04 or an issue file but received: 'last-week'"
        in result.stderr
    )


def test_serve_without_the_secret_says_what_it_is_for_and_exits_1(
    cli: Callable[..., Result], sample_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BROADSHEET_SECRET", raising=False)
    result = cli("serve", cwd=sample_project.root)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "broadsheet: set BROADSHEET_SECRET to a long random string (at least 16 characters) before serving, the same one "
        "that signed the links in the emails: it checks them, and signs the sign-up forms\n"
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "*",
            "'*' would let every client name its own address in X-Forwarded-For and so escape the per-client sign-up limit",
        ),
        (
            "127.0.0.1, proxy.internal",
            "Expected an IP address or a network such as 10.0.0.0/8 but received: 'proxy.internal'",
        ),
        # uvicorn would take this for a name, not a network, and trust nobody.
        ("10.0.0.1/8", "Expected an IP address or a network such as 10.0.0.0/8 but received: '10.0.0.1/8'"),
        ("0.0.0.0/0", "'0.0.0.0/0' covers every IPv4 address, as '*' would"),
        ("::/0", "'::/0' covers every IPv6 address, as '*' would"),
        (
            "10.0.0.1, 0.0.0.0/1,128.0.0.0/1",
            "'10.0.0.1, 0.0.0.0/1,128.0.0.0/1' covers every IPv4 address, as '*' would",
        ),
        ("::ffff:0:0/96", "'::ffff:0:0/96' covers every IPv4 (as IPv6) address, as '*' would"),
    ],
)
def test_serve_refuses_proxies_it_cannot_trust_precisely(
    cli: Callable[..., Result],
    sample_project: Project,
    monkeypatch: pytest.MonkeyPatch,
    given: str,
    message: str,
) -> None:
    monkeypatch.setenv("BROADSHEET_SECRET", "a-long-random-test-secret")
    result = cli("serve", "--forwarded-allow-ips", given, cwd=sample_project.root)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("broadsheet: --forwarded-allow-ips: ") and message in result.stderr


@pytest.mark.slow
def test_serve_without_an_address_for_confirmation_links_serves_no_sign_up_and_says_why(
    sample_project: Project, tmp_path: Path
) -> None:
    settings = sample_project.root / "broadsheet.toml"
    # Unsubscribes handled elsewhere: where /confirm is cannot be told, and the poster's Host is not trusted.
    settings.write_text(
        'unsubscribe_url = "https://mail.example.org/leave?t={token}"\n'
        + settings.read_text(encoding="utf-8")
    )
    log = tmp_path / "serve.log"
    environ = {
        "BROADSHEET_SECRET": "a-long-random-test-secret",
        "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    with (
        broadsheet_server(sample_project.root, environ, log=log) as base,
        httpx.Client(base_url=base) as client,
    ):
        assert client.get("/subscribe").status_code == 404
        assert client.get("/preferences/not-a-token").status_code == 400
    assert (
        "broadsheet: no sign-up page: set confirm_url, the link of the confirmation emails"
        in log.read_text(encoding="utf-8")
    )


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("my", "my"),
        ("MY", "my"),
        ("my-MM", "my"),
        ("my_mm", "my"),
        ("en-GB", "en"),
        ("fr", None),
        ("", None),
        ("-", None),
    ],
)
def test_a_lang_parameter_finds_a_locale_as_accept_language_does(code: str, locale: str | None) -> None:
    # `Accept-Language: my-MM` gave Burmese while `?lang=my-MM` gave English.
    assert locale_named(code, ("en", "my")) == locale
