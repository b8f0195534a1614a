"""The live preview: every edition served, errors shown in place, reloaded when files change."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from starlette.testclient import TestClient

from broadsheet.preview import create_app
from broadsheet.settings import Project

from .support import ISSUE, SCREENSHOTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def client(project: Project) -> Iterator[TestClient]:
    with TestClient(create_app(project.root, project.issues_dir / "2023-12-21.yaml")) as client:
        yield client


def save(client: TestClient, path: Path, text: str | None = None) -> None:
    """Write `text` to `path` (or touch it), as an editor's save does, and wait until the preview noticed."""
    before = client.get("/state").json()["state"]
    if text is None:
        bump(path)
    else:
        path.write_text(text, encoding="utf-8")
    deadline = time.monotonic() + 10
    while client.get("/state").json()["state"] == before:
        assert time.monotonic() < deadline, f"no change of {path} noticed in 10 s"
        time.sleep(0.02)


def test_page_offers_every_locale_width_and_part(client: TestClient) -> None:
    page = client.get("/").text
    for query in (
        "locale=en&width=phone",
        "locale=en&width=desktop",
        "locale=en&part=text",
        "locale=my&width=phone",
        "locale=my&part=text",
    ):
        assert f'href="/?{query}"' in page
    assert '<iframe title="en edition" src="/email/en.html" style="width:375px' in page
    assert "of the 102 KB Gmail shows unclipped" in page
    desktop = client.get("/?locale=my&width=desktop").text
    assert '<iframe title="my edition" src="/email/my.html" style="width:680px' in desktop


def test_editions_are_served_as_html_and_text(client: TestClient) -> None:
    html = client.get("/email/my.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<title>ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ</title>" in html.text
    text = client.get("/email/en.text")
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text.startswith("Progressive Voice · December 21, 2023\n")
    assert (html.headers["content-language"], text.headers["content-language"]) == ("my", "en")
    assert client.get("/email/en.txt").text == text.text
    assert client.get("/email/fr.html").status_code == 404
    assert client.get("/email/en.pdf").status_code == 404


def test_an_edition_not_configured_is_named_not_taken_for_errors(client: TestClient) -> None:
    page = client.get("/?locale=fr").text
    assert "No edition 'fr': the editions are en, my." in page
    assert "The issue has errors" not in page


def test_page_shows_catalog_status_and_fallback_warnings(client: TestClient) -> None:
    page = client.get("/").text
    assert (
        "<tr><th>locale</th><th>catalog</th><th>translated</th><th>fuzzy</th><th>untranslated</th><th>done</th></tr>"
        in page
    )
    assert "<tr><td>my</td><td>issues/2023-12-21</td><td>6</td><td>0</td><td>25</td><td>19%</td></tr>" in page
    assert (
        "warning: my: 25 of 31 messages in locales/my/LC_MESSAGES/issues/2023-12-21.po untranslated; English shown"
        in page
    )


def _status_rows(page: str) -> list[list[str]]:
    table = page.split('<table class="status">', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in table.split("<tr>") if "<td>" in row]


def test_status_table_is_catalog_status_of_the_issue_as_it_is_now(project: Project, cli) -> None:
    """The table left out the issue's catalog until it was extracted, and said 100% of names while the warning
    above it said a name was untranslated: it counted the templates as `catalog extract` last wrote them."""
    issue = project.issues_dir / "2023-12-21.yaml"
    issue.write_text(
        issue.read_text(encoding="utf-8").replace("by: Human Rights Watch", "by: Justice For Myanmar", 1),
        encoding="utf-8",
    )
    (project.issues_dir / "2024-01-04.yaml").write_text(ISSUE, encoding="utf-8")
    for name in ("2023-12-21.yaml", "2024-01-04.yaml"):
        status = cli("catalog", "status", f"issues/{name}", "--json", cwd=project.root)
        assert status.exit_code == 0, status.output
        expected = [
            [
                row["locale"],
                row["domain"],
                *(str(row["messages"][state]) for state in ("translated", "fuzzy", "untranslated")),
                f"{row['percent']:.0f}%",
            ]
            for row in json.loads(status.stdout)
        ]
        with TestClient(create_app(project.root, project.issues_dir / name)) as client:
            page = client.get("/").text
        assert _status_rows(page) == expected
        names = next(row for row in expected if row[1] == "names")
        assert names[4] != "0"
        assert "messages in locales/my/LC_MESSAGES/names.po untranslated" in page
    assert expected[2] == ["my", "issues/2024-01-04", "0", "0", "8", "0%"]
    assert (
        "warning: my: 8 of 8 messages untranslated: locales/my/LC_MESSAGES/issues/2024-01-04.po does not exist yet"
        in page
    )


def test_errors_replace_the_email_until_they_are_fixed(client: TestClient, project: Project) -> None:
    issue = project.issues_dir / "2023-12-21.yaml"
    good = issue.read_text(encoding="utf-8")
    save(client, issue, good.replace("date: 2023-12-21", "date: 2023-12-21\ntitel: typo"))
    page = client.get("/").text
    assert (
        "issues/2023-12-21.yaml:3:1: error: titel: unknown field &#x27;titel&#x27;; did you mean &#x27;title&#x27;?"
        in page
    )
    assert "<iframe" not in page
    save(client, issue, good)
    assert "<iframe" in client.get("/").text


def test_broken_template_is_shown_not_fatal(client: TestClient, project: Project) -> None:
    template = project.templates_dir / "email.txt.j2"
    save(client, template, "{{ oops \n")
    page = client.get("/")
    assert page.status_code == 200
    assert "error: template" in page.text


def test_state_changes_with_the_issue_templates_catalogs_and_settings(
    project: Project, client: TestClient
) -> None:
    for path in (
        project.templates_dir / "email.mjml.j2",
        project.locales_dir / "my" / "LC_MESSAGES" / "messages.po",
        project.issues_dir / "2023-12-21.yaml",
        project.root / "broadsheet.toml",
    ):
        save(client, path)


def test_state_stays_while_nothing_changes(client: TestClient) -> None:
    state = client.get("/state").json()["state"]
    assert client.get("/state").json()["state"] == state
    assert client.get("/").text.count(f'data-state="{state}"') == 1


def bump(path: Path) -> None:
    """Move a file's modification time forward, as an editor's save does."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def served(project: Project) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(project.root, project.issues_dir / "2023-12-21.yaml"),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_page_reloads_by_itself_when_the_issue_changes(
    project: Project, served: str, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 900, "height": 900})
    page.route("https://**/*", lambda route: route.abort())
    page.goto(served + "/?locale=en&width=phone")
    frame = page.frame_locator("iframe")
    assert "A Year of Tragedy and Hope" in frame.locator("h1").inner_text()
    issue = project.issues_dir / "2023-12-21.yaml"
    issue.write_text(
        issue.read_text(encoding="utf-8").replace(
            "title: A Year of Tragedy and Hope", "title: A Year of Grief and Hope"
        ),
        encoding="utf-8",
    )
    bump(issue)
    started = time.monotonic()
    page.wait_for_function(
        "document.body.dataset.state !== undefined && performance.getEntriesByType('navigation').length > 0",
        timeout=5000,
    )
    frame.locator("h1", has_text="A Year of Grief and Hope").wait_for(timeout=5000)
    assert time.monotonic() - started < 5
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "preview-reloaded.png"))
    page.close()


@pytest.mark.parametrize("command", ["preview", "serve"])
def test_an_address_in_use_is_one_line_and_exit_1_before_claiming_to_start(
    cli, project: Project, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADSHEET_SECRET", "s" * 32)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(command, "--port", str(port), cwd=project.root)
    assert (result.exit_code, result.stdout) == (1, "")
    assert f"broadsheet: cannot listen on 127.0.0.1:{port}: Address already in use\n" in result.stderr
    assert "Traceback" not in result.stderr and "ERROR" not in result.stderr


def test_without_an_issue_it_previews_the_newest_by_date_not_the_last_by_name(
    cli, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    previewed: list[str] = []
    monkeypatch.setattr(
        "broadsheet.cli.editor.serve", lambda app, host, port, started, **_: previewed.append(started)
    )
    newer = (
        (project.issues_dir / "2023-12-21.yaml")
        .read_text(encoding="utf-8")
        .replace("2023-12-21", "2024-01-04")
    )
    (project.issues_dir / "2024-01-04.yaml").write_text(newer, encoding="utf-8")
    # A special issue of last summer sorts after every date by its name.
    (project.issues_dir / "special.yaml").write_text(
        newer.replace("2024-01-04", "2023-06-01"), encoding="utf-8"
    )
    assert cli("preview", cwd=project.root).exit_code == 0
    # One dated later is the one being written, unfinished as it is.
    (project.issues_dir / "anniversary.yaml").write_text("date: 2024-02-01\ntitle: ''\n", encoding="utf-8")
    assert cli("preview", cwd=project.root).exit_code == 0
    assert [started.split(" at ")[0] for started in previewed] == [
        "previewing issues/2024-01-04.yaml",
        "previewing issues/anniversary.yaml",
    ]
