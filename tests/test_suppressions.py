"""Suppressions sync against a local stand-in for SendGrid's suppression API."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug import Request, Response

from broadsheet.delivery import suppressions
from broadsheet.delivery.store import Status, Subscriber
from broadsheet.delivery.transports import TransportError
from broadsheet.delivery.transports.retry import Backoff

from .support import with_settings

KEY = "SG.suppressions-key-not-to-be-shown"


def _lists(httpserver: Any, lists: dict[str, list[str]], created: dict[str, int] | None = None) -> list[str]:
    """Serve each list in pages of 500, checking the key, each entry `created` at the time given for its address
    (or in November 2023); the paths asked for, in order."""
    asked: list[str] = []

    def handler(request: Request) -> Response:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        name = request.path.rsplit("/", 1)[1]
        asked.append(f"{name}?offset={request.args['offset']}")
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        assert limit == 500
        page = [
            {"email": e, "created": (created or {}).get(e, 1700000000)}
            for e in lists[name][offset : offset + limit]
        ]
        return Response(json.dumps(page), content_type="application/json")

    for name in lists:
        httpserver.expect_request(f"/v3/suppression/{name}", method="GET").respond_with_handler(handler)
    return asked


def _sync_against(monkeypatch: Any, httpserver: Any, store: Engine) -> None:
    """Point `suppressions sync` at the stand-in, with the key, and at `store`."""
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv("BROADSHEET_SENDGRID_URL", httpserver.url_for("").rstrip("/"))
    monkeypatch.setenv("BROADSHEET_DATABASE_URL", store.url.render_as_string(hide_password=False))


def _statuses(store: Engine) -> dict[str, str]:
    """Each subscriber's status, by address key."""
    with Session(store) as session:
        return {
            key: status for key, status in session.execute(select(Subscriber.email_key, Subscriber.status))
        }


def test_sync_marks_suppressed_subscribers_and_pages_through_long_lists(
    store: Engine, httpserver: Any, cli: Callable[..., Result], tmp_project: Any, monkeypatch: Any
) -> None:
    with Session(store) as session, session.begin():
        for address, status in [
            ("bounced@example.org", Status.ACTIVE),
            ("spam@example.org", Status.ACTIVE),
            ("gone@example.org", Status.ACTIVE),
            ("fine@example.org", Status.ACTIVE),
            ("Left@Example.org", Status.UNSUBSCRIBED),
        ]:
            session.add(
                Subscriber(
                    email=address, email_key=address.lower(), name="", locale="en", status=status.value
                )
            )
    many = [f"other{n}@example.net" for n in range(600)] + ["BOUNCED@example.org"]
    asked = _lists(
        httpserver,
        {
            "bounces": many,
            "spam_reports": ["spam@example.org"],
            "unsubscribes": ["gone@example.org", "left@example.org"],
        },
    )
    _sync_against(monkeypatch, httpserver, store)
    result = cli("suppressions", "sync", cwd=tmp_project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "bounces: 601 on SendGrid's list, 1 subscriber(s) marked bounced",
        "spam_reports: 1 on SendGrid's list, 1 subscriber(s) marked complained",
        "unsubscribes: 2 on SendGrid's list, 1 subscriber(s) marked unsubscribed",
    ]
    assert KEY not in result.output
    assert asked == [
        "bounces?offset=0",
        "bounces?offset=500",
        "spam_reports?offset=0",
        "unsubscribes?offset=0",
    ]
    assert _statuses(store) == {
        "bounced@example.org": "bounced",
        "spam@example.org": "complained",
        "gone@example.org": "unsubscribed",
        "fine@example.org": "active",
        "left@example.org": "unsubscribed",
    }


def test_an_entry_from_before_a_subscriber_confirmed_again_leaves_them_active_and_is_reported(
    store: Engine, httpserver: Any, cli: Callable[..., Result], tmp_project: Any, monkeypatch: Any
) -> None:
    confirmed = datetime(2025, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)
    with Session(store) as session, session.begin():
        for address, source in [
            ("back@example.org", "web form"),  # bounced and unsubscribed once; signed up again and confirmed
            ("later@example.org", "web form: footer"),  # confirmed, then listed
            ("imported@example.org", "import of readers.csv"),  # an import proves nothing about the mailbox
        ]:
            session.add(
                Subscriber(
                    email=address,
                    email_key=address,
                    name="",
                    locale="en",
                    status=Status.ACTIVE.value,
                    status_changed_at=confirmed,
                    consented_at=confirmed,
                    consent_source=source,
                )
            )
    before, same_second, after = (int(confirmed.timestamp()) + delta for delta in (-86400, 0, 60))
    _lists(
        httpserver,
        {
            "bounces": ["back@example.org", "imported@example.org"],
            "spam_reports": [],
            "unsubscribes": ["back@example.org", "later@example.org"],
        },
        created={
            "back@example.org": before,
            "imported@example.org": before,
            "later@example.org": same_second,
        },
    )
    _sync_against(monkeypatch, httpserver, store)
    result = cli("suppressions", "sync", cwd=tmp_project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "bounces: 2 on SendGrid's list, 1 subscriber(s) marked bounced, 1 left active (they confirmed a sign-up "
        "after SendGrid listed them: SendGrid drops their mail until you take them off its list)",
        "spam_reports: 0 on SendGrid's list, 0 subscriber(s) marked complained",
        "unsubscribes: 2 on SendGrid's list, 1 subscriber(s) marked unsubscribed, 1 left active (they confirmed a "
        "sign-up after SendGrid listed them: SendGrid drops their mail until you take them off its list)",
    ]
    assert _statuses(store) == {
        "back@example.org": "active",
        "later@example.org": "unsubscribed",
        "imported@example.org": "bounced",
    }
    # Listed again after the confirmation: it counts.
    httpserver.clear()
    _lists(
        httpserver,
        {"bounces": ["back@example.org"], "spam_reports": [], "unsubscribes": []},
        created={"back@example.org": after},
    )
    again = cli("suppressions", "sync", cwd=tmp_project.root)
    assert again.stdout.splitlines()[0] == "bounces: 1 on SendGrid's list, 1 subscriber(s) marked bounced"
    with Session(store) as session:
        assert (
            session.scalar(select(Subscriber.status).where(Subscriber.email_key == "back@example.org"))
            == "bounced"
        )


def test_with_an_unsubscribe_group_those_who_left_it_through_sendgrid_are_marked_unsubscribed(
    store: Engine, httpserver: Any, cli: Callable[..., Result], tmp_project: Any, monkeypatch: Any
) -> None:
    # Sends carry group 42: SendGrid's links put those who leave on the group's list, not the global one, and
    # SendGrid drops the group's mail to them; another transport would still send it.
    with_settings(tmp_project, "sendgrid_unsubscribe_group = 42\n")
    with Session(store) as session, session.begin():
        for address in ("left-group@example.org", "other-group@example.org", "stays@example.org"):
            session.add(
                Subscriber(email=address, email_key=address, name="", locale="my", status=Status.ACTIVE.value)
            )
    _lists(httpserver, {"bounces": [], "spam_reports": [], "unsubscribes": []})
    group_asked: list[str] = []

    def group_handler(request: Request) -> Response:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        group_asked.append(request.path)
        entries = [
            {
                "email": "Left-Group@example.org",
                "group_id": 42,
                "group_name": "Weekly",
                "created_at": 1700000000,
            },
            {
                "email": "other-group@example.org",
                "group_id": 7,
                "group_name": "Alerts",
                "created_at": 1700000000,
            },
            {"email": "nobody@example.org", "group_id": 42, "group_name": "Weekly", "created_at": 1700000000},
        ]
        return Response(json.dumps(entries), content_type="application/json")

    httpserver.expect_request("/v3/asm/suppressions", method="GET").respond_with_handler(group_handler)
    _sync_against(monkeypatch, httpserver, store)
    result = cli("suppressions", "sync", cwd=tmp_project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "unsubscribe group 42: 2 on SendGrid's list, 1 subscriber(s) marked unsubscribed"
    )
    assert group_asked == ["/v3/asm/suppressions"]
    assert _statuses(store) == {
        "left-group@example.org": "unsubscribed",
        "other-group@example.org": "active",
        "stays@example.org": "active",
    }


def test_without_an_unsubscribe_group_no_group_list_is_read(
    store: Engine, httpserver: Any, cli: Callable[..., Result], tmp_project: Any, monkeypatch: Any
) -> None:
    _lists(httpserver, {"bounces": [], "spam_reports": [], "unsubscribes": []})
    _sync_against(monkeypatch, httpserver, store)
    result = cli("suppressions", "sync", cwd=tmp_project.root)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert [request.path for request, _ in httpserver.log] == [
        "/v3/suppression/bounces",
        "/v3/suppression/spam_reports",
        "/v3/suppression/unsubscribes",
    ]


def test_a_group_list_that_is_not_json_is_a_clear_error(
    store: Engine, httpserver: Any, cli: Callable[..., Result], tmp_project: Any, monkeypatch: Any
) -> None:
    with_settings(tmp_project, "sendgrid_unsubscribe_group = 42\n")
    _lists(httpserver, {"bounces": [], "spam_reports": [], "unsubscribes": []})
    httpserver.expect_request("/v3/asm/suppressions").respond_with_data("<html>busy</html>", status=200)
    _sync_against(monkeypatch, httpserver, store)
    result = cli("suppressions", "sync", cwd=tmp_project.root)
    assert result.exit_code == 1
    assert "sendgrid: the unsubscribe group 42 list came back as something other than JSON" in result.output
    assert "Traceback" not in result.output


def _patient(waits: list[float]) -> suppressions.Patience:
    """Waits recorded instead of slept, without jitter, at a clock stopped at 1,000 s."""
    return suppressions.Patience(Backoff(sleep=waits.append, jitter=lambda: 0.0), clock=lambda: 1_000.0)


def test_a_rate_limit_in_the_middle_of_a_list_is_waited_out_and_the_sync_goes_on(
    store: Engine, httpserver: Any, monkeypatch: Any
) -> None:
    with Session(store) as session, session.begin():
        session.add(Subscriber(email="late@example.org", email_key="late@example.org", name="", locale="en"))
    httpserver.expect_oneshot_request(
        "/v3/suppression/bounces", query_string={"limit": "500", "offset": "500"}
    ).respond_with_json(
        {"errors": [{"message": "too many requests"}]}, status=429, headers={"X-RateLimit-Reset": "1007"}
    )
    asked = _lists(
        httpserver,
        {
            "bounces": [f"other{n}@example.net" for n in range(500)] + ["late@example.org"],
            "spam_reports": [],
            "unsubscribes": [],
        },
    )
    _sync_against(monkeypatch, httpserver, store)
    waits: list[float] = []
    synced = suppressions.sync(store, suppressions.client_from(os.environ), patience=_patient(waits))
    assert waits == [7.0]
    assert synced.listed["bounces"] == 501 and synced.changed["bounces"] == 1
    assert asked == [
        "bounces?offset=0",
        "bounces?offset=500",
        "spam_reports?offset=0",
        "unsubscribes?offset=0",
    ]
    assert _statuses(store) == {"late@example.org": "bounced"}


def test_a_list_that_keeps_failing_gives_up_after_the_backoffs_tries(
    store: Engine, httpserver: Any, monkeypatch: Any
) -> None:
    httpserver.expect_request("/v3/suppression/bounces").respond_with_data("busy", status=503)
    _sync_against(monkeypatch, httpserver, store)
    waits: list[float] = []
    with pytest.raises(TransportError) as caught:
        suppressions.sync(store, suppressions.client_from(os.environ), patience=_patient(waits))
    assert (
        str(caught.value)
        == "sendgrid: reading the bounces list: SendGrid answered 503 SERVICE UNAVAILABLE, 5 times"
    )
    assert waits == [0.5, 1.0, 2.0, 4.0]


def test_a_rate_limit_that_resets_too_late_stops_at_once(
    store: Engine, httpserver: Any, monkeypatch: Any
) -> None:
    httpserver.expect_request("/v3/suppression/bounces").respond_with_data(
        "{}", status=429, headers={"Retry-After": "3600"}
    )
    _sync_against(monkeypatch, httpserver, store)
    waits: list[float] = []
    with pytest.raises(TransportError) as caught:
        suppressions.sync(store, suppressions.client_from(os.environ), patience=_patient(waits))
    assert str(caught.value) == (
        "sendgrid: reading the bounces list: SendGrid answered 429 TOO MANY REQUESTS, and asks to wait 3600 s, "
        "more than the 120 s this waits; run it again later"
    )
    assert waits == []


def test_rejected_key_is_a_clear_error(
    httpserver: Any, cli: Callable[..., Result], tmp_project: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    httpserver.expect_request("/v3/suppression/bounces").respond_with_json(
        {"errors": [{"message": "authorization required"}]}, status=401
    )
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv("BROADSHEET_SENDGRID_URL", httpserver.url_for("").rstrip("/"))
    monkeypatch.setenv("BROADSHEET_DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    result = cli("suppressions", "sync", cwd=tmp_project.root)
    assert result.exit_code == 1
    assert result.stderr == "broadsheet: sendgrid: reading the bounces list: SendGrid rejected the API key\n"
    assert KEY not in result.output


def test_missing_key_is_a_clear_error(cli: Callable[..., Result], tmp_project: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    result = cli("suppressions", "sync", cwd=tmp_project.root)
    assert result.exit_code == 1
    assert (
        result.stderr
        == "broadsheet: set SENDGRID_API_KEY to a SendGrid API key with the Suppressions read permission\n"
    )


def test_sync_finds_a_subscriber_of_an_internationalized_domain_in_either_form(
    store: Engine, httpserver: Any, cli: Callable[..., Result], tmp_project: Any, monkeypatch: Any
) -> None:
    with Session(store) as session, session.begin():
        for address in ("a@bücher.example", "b@bücher.example"):
            session.add(
                Subscriber(email=address, email_key=address, name="", locale="en", status=Status.ACTIVE.value)
            )
    _lists(
        httpserver,
        {"bounces": ["A@xn--bcher-kva.example"], "spam_reports": ["b@BÜCHER.example"], "unsubscribes": []},
    )
    _sync_against(monkeypatch, httpserver, store)
    result = cli("suppressions", "sync", cwd=tmp_project.root)
    assert result.exit_code == 0, result.output
    assert _statuses(store) == {"a@bücher.example": "bounced", "b@bücher.example": "complained"}


def test_the_sendgrid_librarys_request_dumps_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    # python-http-client logs each request's headers (the API key) and body (every address) at DEBUG.
    from broadsheet.delivery import suppressions  # noqa: F401  (installs the filter)

    client_log = logging.getLogger("python_http_client.client")
    with caplog.at_level(logging.DEBUG, "python_http_client.client"):
        client_log.debug("HEADERS: {'Authorization': 'Bearer SG.secret'}")
        client_log.debug("PAYLOAD: {'personalizations': []}")
        client_log.debug("GET https://api.sendgrid.com/v3/suppression/bounces")
    assert [record.getMessage() for record in caplog.records] == [
        "GET https://api.sendgrid.com/v3/suppression/bounces"
    ]
