"""`broadsheet links`: every URL of the issue checked at once, each broken one an error at its place."""

from __future__ import annotations

import email.utils
import re
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from broadsheet.curate.links import check_links
from broadsheet.errors import Severity
from broadsheet.markdown import structure
from broadsheet.settings import Project

from .curate_site import make_project, site, slow_site

__all__ = ["site", "slow_site"]

ISSUE = """\
date: 2024-03-14
title: Links of the Week
image:
  src: {base}/missing-image.jpg
  alt: A picture
editorial: |
  Read [the appeal]({base}/statements/appeal) and [the old page]({base}/gone).
footnotes: {{}}
resources:
  statements:
    - title: Moved
      url: {base}/moved   # moved for good
      by: P
    - title: Temporary
      url: {base}/latest
      by: P
    - title: Missing
      url: "{base}/missing"
      by: P
  reports:
    - title: No HEAD
      url: {other}/no-head
      by: P
    - title: Busy
      url: {other}/busy
      by: P
    - title: Slow
      url: {other}/slow
      by: P
"""


def late(_request: Request) -> Response:
    time.sleep(2)
    return Response("late")


@pytest.fixture
def other(slow_site: HTTPServer) -> HTTPServer:
    """A second host: refuses HEAD on /no-head, asks to wait a second on /busy, answers /slow too late."""
    slow_site.expect_request("/no-head", method="HEAD").respond_with_data("", status=405)
    slow_site.expect_request("/no-head", method="GET").respond_with_data("fine")
    slow_site.expect_oneshot_request("/busy").respond_with_data("", status=429, headers={"Retry-After": "1"})
    slow_site.expect_request("/busy").respond_with_data("fine")
    slow_site.expect_request("/slow").respond_with_handler(late)
    return slow_site


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def base_of(server: HTTPServer) -> str:
    return server.url_for("").rstrip("/")


def write(project: Project, site: HTTPServer, other: HTTPServer) -> Path:
    path = project.issues_dir / "2024-03-14.yaml"
    path.write_text(ISSUE.format(base=base_of(site), other=base_of(other)), encoding="utf-8")
    return path


def test_each_broken_link_is_an_error_at_its_place_and_a_permanent_redirect_a_warning(
    project: Project, site: HTTPServer, other: HTTPServer
) -> None:
    path = write(project, site, other)
    base = base_of(site)

    report = check_links(project, path)

    gone = 3 + len(f"Read [the appeal]({base}/statements/appeal) and [the old page](")
    assert [str(d) for d in report.diagnostics] == [
        f"{path}:4:8: error: image.src: 404 Not Found",
        f"{path}:7:{gone}: error: editorial: 410 Gone",
        f"{path}:12:12: warning: resources.statements[0].url: moved permanently to {base}/statements/appeal; broadsheet links --fix writes it",
        f"{path}:18:13: error: resources.statements[2].url: 404 Not Found",
        f"{path}:28:12: error: resources.reports[2].url: timed out after 1 s",
    ]
    assert report.broken
    assert [(r.method, r.path) for r, _ in other.log if r.path == "/no-head"] == [
        ("HEAD", "/no-head"),
        ("GET", "/no-head"),
    ]
    assert [response.status_code for r, response in other.log if r.path == "/busy"] == [429, 200]


def test_a_second_run_within_the_cache_time_asks_only_for_what_was_not_good(
    project: Project, site: HTTPServer, other: HTTPServer
) -> None:
    path = write(project, site, other)
    check_links(project, path)
    site.clear_log()
    other.clear_log()

    again = check_links(project, path, now=time.time() + 3600)

    asked = sorted((request.method, request.path) for request, _ in [*site.log, *other.log])
    assert asked == [
        ("GET", "/gone"),
        ("GET", "/missing"),
        ("GET", "/missing-image.jpg"),
        ("HEAD", "/gone"),
        ("HEAD", "/missing"),
        ("HEAD", "/missing-image.jpg"),
        ("HEAD", "/slow"),
    ]
    assert again.checked == 4
    assert [d.field for d in again.diagnostics] == [
        "image.src",
        "editorial",
        "resources.statements[0].url",
        "resources.statements[2].url",
        "resources.reports[2].url",
    ]


def test_after_the_cache_time_every_link_is_checked_again(
    project: Project, site: HTTPServer, other: HTTPServer
) -> None:
    path = write(project, site, other)
    check_links(project, path)

    again = check_links(project, path, now=time.time() + 25 * 3600)

    assert again.checked == 9


def test_fix_writes_the_new_url_of_a_permanent_redirect_and_nothing_else(
    project: Project, site: HTTPServer, other: HTTPServer
) -> None:
    path = write(project, site, other)
    before = path.read_text(encoding="utf-8")
    base = base_of(site)

    report = check_links(project, path, fix=True)

    assert report.fixed == 1
    assert path.read_text(encoding="utf-8") == before.replace(
        f"      url: {base}/moved   # moved for good\n",
        f"      url: {base}/statements/appeal   # moved for good\n",
    )
    assert (
        f"{path}:12:12: warning: resources.statements[0].url: moved permanently to {base}/statements/appeal; replaced by it"
        in [str(d) for d in report.diagnostics]
    )


def test_links_and_check_links_commands_exit_1_on_a_broken_link(
    project: Project, site: HTTPServer, other: HTTPServer, cli: Callable[..., Result]
) -> None:
    write(project, site, other)

    links = cli("links", "issues/2024-03-14.yaml", cwd=project.root)
    checked = cli("check", "--links", "issues/2024-03-14.yaml", cwd=project.root)

    assert links.exit_code == 1
    assert links.stderr.splitlines()[0] == "issues/2024-03-14.yaml:4:8: error: image.src: 404 Not Found"
    assert links.stderr.splitlines()[-1] == "issues/2024-03-14.yaml: links 4 broken (1 warning(s))"
    assert checked.exit_code == 1
    assert (
        "issues/2024-03-14.yaml:18:13: error: resources.statements[2].url: 404 Not Found"
        in checked.stderr.splitlines()
    )


def test_links_command_exits_0_when_every_link_is_good_and_asks_nothing_the_second_time(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = base_of(site)
    (project.issues_dir / "2024-03-14.yaml").write_text(
        f"date: 2024-03-14\ntitle: T\neditorial: See [this]({base}/statements/appeal).\nresources:\n  reports:\n"
        f"    - title: R\n      url: {base}/reports/cold-season\n      by: P\n",
        encoding="utf-8",
    )

    first = cli("links", "issues/2024-03-14.yaml", cwd=project.root)
    site.clear_log()
    second = cli("links", "issues/2024-03-14.yaml", cwd=project.root)

    assert (first.exit_code, first.stdout) == (0, "issues/2024-03-14.yaml: links ok\n")
    assert (second.exit_code, second.stdout) == (0, "issues/2024-03-14.yaml: links ok\n")
    assert site.log == []


def test_a_closed_port_is_named_as_a_refused_connection(project: Project) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = project.issues_dir / "2024-03-14.yaml"
    path.write_text(
        f"date: 2024-03-14\ntitle: T\neditorial: Text.\nresources:\n  reports:\n    - title: R\n      url: http://127.0.0.1:{port}/x\n      by: P\n",
        encoding="utf-8",
    )

    report = check_links(project, path)

    assert [str(d) for d in report.diagnostics] == [
        f"{path}:7:12: error: resources.reports[0].url: connection refused"
    ]


def test_https_to_a_server_that_speaks_no_tls_is_named_a_tls_failure(
    project: Project, site: HTTPServer
) -> None:
    url = base_of(site).replace("http://", "https://") + "/statements/appeal"
    path = project.issues_dir / "2024-03-14.yaml"
    path.write_text(
        f"date: 2024-03-14\ntitle: T\neditorial: Text.\nimage:\n  src: {url}\n  alt: A\nresources: {{}}\n",
        encoding="utf-8",
    )

    [diagnostic] = check_links(project, path).diagnostics

    assert (diagnostic.line, diagnostic.col, diagnostic.field) == (5, 8, "image.src")
    # OpenSSL 3.0 says "wrong version number"; later versions word it otherwise.
    assert re.fullmatch(r"TLS failure: [a-z ]+", diagnostic.message), diagnostic.message


def test_a_redirect_to_a_url_that_is_not_http_is_an_error_at_its_place_and_the_others_are_checked(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = base_of(site)
    (project.issues_dir / "2024-03-14.yaml").write_text(
        f"date: 2024-03-14\ntitle: T\neditorial: See [this]({base}/to-javascript).\nresources:\n  reports:\n"
        f"    - title: R\n      url: {base}/to-mailto\n      by: P\n"
        f"    - title: S\n      url: {base}/to-missing\n      by: P\n"
        f"    - title: T\n      url: {base}/gone\n      by: P\n",
        encoding="utf-8",
    )

    result = cli("links", "issues/2024-03-14.yaml", cwd=project.root)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "issues/2024-03-14.yaml:3:23: error: editorial: redirected to a URL that is not http(s): 'javascript:alert(1)'",
        "issues/2024-03-14.yaml:7:12: error: resources.reports[0].url: redirected to a URL that is not http(s): 'mailto:x@y.z'",
        f"issues/2024-03-14.yaml:10:12: error: resources.reports[1].url: 404 Not Found (redirected to {base}/missing)",
        "issues/2024-03-14.yaml:13:12: error: resources.reports[2].url: 410 Gone",
        "issues/2024-03-14.yaml: links 4 broken",
    ]


MOVED_IN_EVERY_PLACE = """\
date: 2024-03-14
title: T
editorial: |
  Read [the page]({base}/moved-to) today, and [the wiki]({base}/ok/Sagaing_(region)).
footnotes:
  a: "See [it]({base}/moved-to)."
  b: 'See [it](<{base}/moved-to>).'
resources:
  reports:
    - title: Plain
      url: {base}/moved-to
      by: P
    - title: Single
      url: '{base}/moved-to'
      by: P
    - title: Double
      url: "{base}/moved-to"   # a comment
      by: P
"""


@pytest.mark.parametrize(
    ("location", "moved_to"),
    [
        ("/ok/a)b(c", "/ok/a)b(c"),
        ("/ok/(a)", "/ok/(a)"),
        ("/ok/a(b", "/ok/a(b"),
        ("/ok/it's?q=a:b,c&d=#f:g", "/ok/it's?q=a:b,c&d=#f:g"),
        ("/ok/%3Ca%3E%20b", "/ok/%3Ca%3E%20b"),
        # httpx asks for a backslash percent-encoded, and names the URL so.
        ("/ok/x\\(y\\z", "/ok/x%5C(y%5Cz"),
    ],
)
def test_fix_writes_the_new_url_so_that_markdown_and_yaml_read_back_exactly_that_url(
    project: Project, site: HTTPServer, location: str, moved_to: str
) -> None:
    base = base_of(site)
    site.expect_request("/moved-to").respond_with_data("", status=301, headers={"Location": location})
    site.expect_request(re.compile("^/ok/")).respond_with_data("fine")
    path = project.issues_dir / "2024-03-14.yaml"
    path.write_text(MOVED_IN_EVERY_PLACE.format(base=base), encoding="utf-8")
    new = base + moved_to

    report = check_links(project, path, fix=True)

    assert report.fixed == 6
    written = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert structure(written["editorial"])[0] == Counter([new, f"{base}/ok/Sagaing_(region)"])
    assert [structure(text)[0] for text in written["footnotes"].values()] == [Counter([new])] * 2
    assert [item["url"] for item in written["resources"]["reports"]] == [new] * 3
    again = check_links(project, path, now=time.time() + 25 * 3600)
    assert (again.checked, again.diagnostics) == (2, ())


def test_a_page_that_answers_head_with_an_error_is_asked_again_with_get_before_it_is_called_broken(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = base_of(site)
    site.expect_request("/bad-head", method="HEAD").respond_with_data("", status=404)
    site.expect_request("/bad-head", method="GET").respond_with_data("fine")
    site.expect_request("/head-500", method="HEAD").respond_with_data("", status=500)
    site.expect_request("/head-500", method="GET").respond_with_data("fine")
    (project.issues_dir / "2024-03-14.yaml").write_text(
        f"date: 2024-03-14\ntitle: T\neditorial: See [this]({base}/bad-head).\nresources:\n  reports:\n"
        f"    - title: R\n      url: {base}/head-500\n      by: P\n"
        f"    - title: S\n      url: {base}/gone\n      by: P\n",
        encoding="utf-8",
    )

    first = cli("links", "issues/2024-03-14.yaml", cwd=project.root)
    asked = [(request.method, request.path) for request, _ in site.log]
    site.clear_log()
    second = cli("links", "issues/2024-03-14.yaml", cwd=project.root)

    assert (first.exit_code, first.stderr.splitlines()) == (
        1,
        [
            "issues/2024-03-14.yaml:10:12: error: resources.reports[1].url: 410 Gone",
            "issues/2024-03-14.yaml: links 1 broken",
        ],
    )
    assert sorted(asked) == [
        ("GET", "/bad-head"),
        ("GET", "/gone"),
        ("GET", "/head-500"),
        ("HEAD", "/bad-head"),
        ("HEAD", "/gone"),
        ("HEAD", "/head-500"),
    ]
    assert second.exit_code == 1
    assert sorted((request.method, request.path) for request, _ in site.log) == [
        ("GET", "/gone"),
        ("HEAD", "/gone"),
    ]


def test_a_429_says_whether_the_wait_asked_was_too_long_or_the_server_still_refused_after_waiting(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    tomorrow = email.utils.formatdate(time.time() + 86400, usegmt=True)
    answers = {
        "/busy-seconds": {"Retry-After": "1"},
        "/busy-past": {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
        "/busy-tomorrow": {"Retry-After": tomorrow},
        "/busy-hour": {"Retry-After": "3600"},
        "/busy-soon": {"Retry-After": "soon"},
        "/busy": {},
    }
    for page, headers in answers.items():
        site.expect_request(page).respond_with_data("", status=429, headers=headers)
    path = project.issues_dir / "2024-03-14.yaml"
    path.write_text(
        "date: 2024-03-14\ntitle: T\neditorial: Text.\nresources:\n  reports:\n"
        + "".join(f"    - title: R\n      url: {base}{page}\n      by: P\n" for page in answers),
        encoding="utf-8",
    )

    report = check_links(project, path)

    assert [d.message for d in report.diagnostics] == [
        "429 Too Many Requests: still rate-limited after 3 tries (the last answer asked to wait 1 s); not checked",
        "429 Too Many Requests: still rate-limited after 3 tries (the last answer asked to wait until "
        "Wed, 21 Oct 2015 07:28:00 GMT); not checked",
        f"429 Too Many Requests: the server asks to wait until {tomorrow}, longer than the timeout (1 s); not checked",
        "429 Too Many Requests: the server asks to wait 3600 s, longer than the timeout (1 s); not checked",
        "429 Too Many Requests: the server asks to wait 'soon', which is neither seconds nor a date; not checked",
        "429 Too Many Requests, without a Retry-After saying how long to wait; not checked",
    ]
    assert {d.severity for d in report.diagnostics} == {Severity.WARNING}
    asked = Counter((request.method, request.path) for request, _ in site.log)
    assert asked == {
        ("HEAD", "/busy-seconds"): 3,
        ("HEAD", "/busy-past"): 3,
        ("HEAD", "/busy-tomorrow"): 1,
        ("HEAD", "/busy-hour"): 1,
        ("HEAD", "/busy-soon"): 1,
        ("HEAD", "/busy"): 1,
    }


def test_a_link_written_in_burmese_letters_or_capitals_is_not_called_moved_and_fix_leaves_it(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    site.expect_request("/2024/03/ဆောင်းရာသီ").respond_with_data("fine")
    shouting = base.upper()  # HTTP://LOCALHOST:PORT
    text = (
        "date: 2024-03-14\ntitle: T\n"
        f"editorial: Read [the appeal]({shouting}/statements/appeal).\n"
        f"resources:\n  reports:\n    - title: R\n      url: {base}/2024/03/ဆောင်းရာသီ\n      by: P\n"
    )
    path = project.issues_dir / "2024-03-14.yaml"
    path.write_text(text, encoding="utf-8")

    report = check_links(project, path, fix=True)

    assert (report.diagnostics, report.fixed) == ((), 0)
    assert path.read_text(encoding="utf-8") == text


def test_fix_keeps_what_the_editor_saved_while_links_were_checked(
    project: Project, site: HTTPServer, other: HTTPServer
) -> None:
    path = write(project, site, other)
    base = base_of(site)
    saved = path.read_text(encoding="utf-8").replace("title: Links of the Week", "title: Links of This Week")

    def saved_meanwhile(_request: Request) -> Response:
        path.write_text(saved, encoding="utf-8")
        return Response("fine")

    site.expect_oneshot_request("/statements/appeal", method="HEAD").respond_with_handler(saved_meanwhile)

    report = check_links(project, path, fix=True)

    assert report.fixed == 1
    assert path.read_text(encoding="utf-8") == saved.replace(
        f"      url: {base}/moved   # moved for good\n",
        f"      url: {base}/statements/appeal   # moved for good\n",
    )


def test_a_cloudflare_bot_check_is_a_warning_and_a_plain_403_an_error(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = base_of(site)
    site.expect_request("/behind-cloudflare").respond_with_data(
        "<title>Just a moment...</title>", status=403, headers={"cf-mitigated": "challenge"}
    )
    site.expect_request("/forbidden").respond_with_data("no", status=403)
    (project.issues_dir / "2024-03-14.yaml").write_text(
        "date: 2024-03-14\ntitle: T\neditorial: Text.\nresources:\n  reports:\n"
        f"    - title: R\n      url: {base}/behind-cloudflare\n      by: P\n"
        f"    - title: S\n      url: {base}/forbidden\n      by: P\n",
        encoding="utf-8",
    )

    result = cli("links", "issues/2024-03-14.yaml", cwd=project.root)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "issues/2024-03-14.yaml:7:12: warning: resources.reports[0].url: 403 Forbidden: the site's bot check "
        "(Cloudflare) lets only browsers through; not checked",
        "issues/2024-03-14.yaml:10:12: error: resources.reports[1].url: 403 Forbidden",
        "issues/2024-03-14.yaml: links 1 broken (1 warning(s))",
    ]
