"""Partner sites for the curation tests: pages written for them, served by pytest-httpserver on loopback."""

from __future__ import annotations

import io
import shutil
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pytest_httpserver import HTTPServer

from broadsheet.settings import Project, find_project

from .support import REPO

WORDPRESS = """<!DOCTYPE html>
<html lang="en-US"><head>
<meta charset="UTF-8">
<title>Joint Appeal: Winter Aid for Displaced Families &#8211; Coalition for Rights Monitoring</title>
<meta property="og:locale" content="en_US">
<meta property="og:type" content="article">
<meta property="og:title" content="Joint Appeal: Winter Aid for Displaced&nbsp;Families &amp;#8211; Coalition for Rights Monitoring">
<meta property="og:site_name" content="Coalition for Rights Monitoring">
<meta property="article:published_time" content="2024-03-12T08:00:00+00:00">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
 {"@type": "Article", "@id": "https://crm.example/appeal/#article", "headline": "Joint Appeal: Winter Aid for Displaced Families",
  "datePublished": "2024-03-12T08:00:00+00:00", "author": {"@id": "https://crm.example/#/schema/person/1"},
  "publisher": {"@id": "https://crm.example/#organization"}},
 {"@type": "Organization", "@id": "https://crm.example/#organization", "name": "Coalition for Rights Monitoring"},
 {"@type": "Person", "@id": "https://crm.example/#/schema/person/1", "name": "admin"},
 {"@type": "WebSite", "name": "Coalition for Rights Monitoring"}]}</script>
</head><body><h1>Joint Appeal</h1></body></html>
"""

REPORT = """<!DOCTYPE html>
<html lang="en"><head>
<title>Report | Cold   Season Needs Assessment | Example Relief Network</title>
<meta name="citation_title" content="Cold Season Needs Assessment">
<meta name="citation_author" content="Example Relief Network">
<meta name="citation_author" content="Karen Human Rights Group">
<meta name="citation_author" content="Women&#39;s League of Burma">
<meta name="citation_publication_date" content="2024/03/11">
</head><body></body></html>
"""

BURMESE_TITLE = "ဆောင်းရာသီ လိုအပ်ချက်များ အစီရင်ခံစာ"
BURMESE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{BURMESE_TITLE} | Burma Partner</title>
<meta property="og:site_name" content="Burma Partner">
</head><body></body></html>
"""

# Known pair (tests/test_burmese.py): Zawgyi, Unicode.
ZAWGYI_TITLE = ("ကၽြန္ေတာ္ ရန္ကုန္ၿမိဳ႕မွာ ေနပါတယ္", "ကျွန်တော် ရန်ကုန်မြို့မှာ နေပါတယ်")
ZAWGYI = f"""<html><head><meta charset="utf-8"><meta property="og:title" content="{ZAWGYI_TITLE[0]}">
<meta property="og:site_name" content="Burma Partner"></head></html>"""

WINDOWS_1252_META = (
    b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    b'<meta property="og:title" content="Caf\xe9 Owners\x92 Statement on the \x93New\x94 Curfew">'
    b"</head></html>"
)
WINDOWS_1252_HEADER = b"<html><head><title>Na\xefve Promises \x96 Part Two</title></head></html>"

TITLE_ONLY = "<html><head><title>Press Release \u2013 Villages Burned in Sagaing | Partner Site</title></head><body>text</body></html>"


def pdf(title: str | None, author: str | None, created: str = "D:20240310120000Z") -> bytes:
    """A one-page PDF with the given document information, made with pypdf."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    info = {"/CreationDate": created}
    if title:
        info["/Title"] = title
    if author:
        info["/Author"] = author
    writer.add_metadata(info)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def serve_pages(server: HTTPServer) -> None:
    """The partner site: every page the tests read, on `server`."""
    html = "text/html; charset=utf-8"
    server.expect_request("/statements/appeal").respond_with_data(WORDPRESS, content_type=html)
    server.expect_request("/reports/cold-season").respond_with_data(REPORT, content_type=html)
    server.expect_request("/my/report").respond_with_data(BURMESE, content_type=html)
    server.expect_request("/my/zawgyi").respond_with_data(ZAWGYI, content_type=html)
    server.expect_request("/cp1252/meta").respond_with_data(WINDOWS_1252_META, content_type="text/html")
    server.expect_request("/cp1252/header").respond_with_data(
        WINDOWS_1252_HEADER, content_type="text/html; charset=windows-1252"
    )
    server.expect_request("/press/villages").respond_with_data(TITLE_ONLY, content_type="text/html")
    server.expect_request("/files/needs.pdf").respond_with_data(
        pdf("Cold Season Needs Assessment", "Example Relief Network"), content_type="application/pdf"
    )
    server.expect_request("/files/cold-season_needs-2024.pdf").respond_with_data(
        pdf(None, None), content_type="application/pdf"
    )
    server.expect_request("/moved").respond_with_data(
        "", status=301, headers={"Location": "/statements/appeal?utm_source=old"}
    )
    server.expect_request("/latest").respond_with_data(
        "", status=302, headers={"Location": "/statements/appeal"}
    )
    server.expect_request("/to-mailto").respond_with_data(
        "", status=301, headers={"Location": "mailto:x@y.z"}
    )
    server.expect_request("/to-javascript").respond_with_data(
        "", status=302, headers={"Location": "javascript:alert(1)"}
    )
    server.expect_request("/to-missing").respond_with_data("", status=301, headers={"Location": "/missing"})
    server.expect_request("/gone").respond_with_data("gone", status=410)
    server.expect_request("/missing").respond_with_data("not here", status=404)
    server.expect_request("/missing-image.jpg").respond_with_data("not here", status=404)
    server.expect_request("/data.json").respond_with_data("{}", content_type="application/json")


@pytest.fixture
def site(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    serve_pages(httpserver)
    yield httpserver
    httpserver.clear()


@pytest.fixture
def any_host(site: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """`site`, answering for every host as the proxy of plain-HTTP requests: `http://drive.google.com/x`
    reaches its `/x`, so that a page can be served at the host it is read from."""
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", site.url_for("").rstrip("/"))
    return site


@pytest.fixture
def slow_site() -> Iterator[HTTPServer]:
    """A second host, threaded, whose /slow page answers after the 1 s timeout of `curate_project`."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def trickling_site() -> Iterator[str]:
    """A server that takes 5 s to fail: `/headers` sends a header line, `/body` a byte of its body, every 0.1 s.

    Each read brings something, so a timeout that bounds each read (1 s) never expires; a real one of this kind
    goes on for hours. Its base URL is yielded."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle(connection: socket.socket) -> None:
        with connection:
            request = connection.recv(65536)
            if b" /body " in request:
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
                )
            else:
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for count in range(50):
                if stop.wait(0.1):
                    break
                try:
                    connection.sendall(b" " if b" /body " in request else b"X-Count-%d: 1\r\n" % count)
                except OSError:  # the client gave up
                    break

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                break
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def make_project(root: Path, extra: str = "") -> Project:
    """The repository's settings and templates in `root`, a 1 s timeout, and `extra` TOML appended."""
    root.mkdir(parents=True, exist_ok=True)
    settings = (REPO / "broadsheet.toml").read_text(encoding="utf-8")
    (root / "broadsheet.toml").write_text(
        settings + "\n[curation]\ntimeout = 1\n" + textwrap.dedent(extra), encoding="utf-8"
    )
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "issues").mkdir()
    return find_project(root)


ISSUE = """\
# issues/2024-03-14.yaml -- the week's issue.
date: 2024-03-14
title: "Spring: The Same Sky"   # quoted on purpose

summary: >-
  A folded standfirst
  on two lines.

editorial: |
  The editorial, with [a link]({base}/statements/appeal) and a note.[^a]

  A second paragraph.

footnotes:
  a: "See [the needs assessment]({base}/reports/cold-season)."

resources:
  statements:
    # partners' statements first
    - title: 'An "Old" Statement'
      url: https://example.org/old-statement
      by: [Progressive Voice]

  reports: []   # none yet
"""


def write_issue_file(project: Project, base: str, name: str = "2024-03-14.yaml", text: str = ISSUE) -> Path:
    path = project.issues_dir / name
    path.write_bytes(text.format(base=base).encode("utf-8"))
    return path


def reliefweb_report(title: str, description: str | None) -> str:
    """A report's page as ReliefWeb writes its head: its title and primary country, and a summary naming its sources."""
    summary = (
        f'<meta name="description" content="{description}"><meta property="og:description" content="{description}">'
        if description
        else ""
    )
    return (
        f'<!DOCTYPE html><html lang="en" dir="ltr"><head><meta charset="utf-8"><title>{title} | ReliefWeb</title>'
        f'{summary}<link rel="canonical" href="https://reliefweb.int/report/myanmar/x">'
        '<meta name="original-source" content="https://www.unocha.org/myanmar">'
        f'<meta property="og:site_name" content="ReliefWeb"><meta property="og:title" content="{title}">'
        '<meta name="twitter:site" content="@reliefweb"></head><body></body></html>'
    )
