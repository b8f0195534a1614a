"""`broadsheet add`: a resource read from its page and written into the issue, every other byte unchanged."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from broadsheet import burmese
from broadsheet.build import check
from broadsheet.curate import metadata
from broadsheet.curate.add import add_resources
from broadsheet.curate.edit import IssueText, NewResource
from broadsheet.curate.metadata import PageMetadata, decode_html, read_html, title_language
from broadsheet.errors import BroadsheetError, UsageError, errors_in
from broadsheet.settings import Project

from .curate_site import (
    BURMESE_TITLE,
    ISSUE,
    ZAWGYI_TITLE,
    any_host,
    make_project,
    pdf,
    reliefweb_report,
    site,
    slow_site,
    trickling_site,
    write_issue_file,
)

__all__ = ["any_host", "site", "slow_site", "trickling_site"]

REPORTS_ANCHOR = "  reports: []   # none yet\n"
STATEMENTS_ANCHOR = "      by: [Progressive Voice]\n"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def late(_request: Request) -> Response:
    time.sleep(2)
    return Response("late")


def base_of(server: HTTPServer) -> str:
    return server.url_for("").rstrip("/")


def test_wordpress_page_is_added_under_the_first_category_and_nothing_else_changes(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)
    before = path.read_text(encoding="utf-8")

    report = add_resources(
        project, path, [f"{base}/statements/appeal?id=7&utm_source=newsletter&utm_medium=email&fbclid=abc"]
    )

    [outcome] = report.outcomes
    assert (outcome.status, outcome.category, outcome.warnings) == ("added", "statements", ())
    entry = (
        '    - title: "Joint Appeal: Winter Aid for Displaced Families"\n'
        f"      url: {base}/statements/appeal?id=7\n"
        "      by: Coalition for Rights Monitoring\n"
    )
    assert path.read_text(encoding="utf-8") == before.replace(STATEMENTS_ANCHOR, STATEMENTS_ANCHOR + entry)
    assert not report.failed
    assert errors_in(check(project, path)) == []


def test_report_page_gives_every_citation_author_and_goes_under_the_chosen_category(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)
    before = path.read_text(encoding="utf-8")

    add_resources(project, path, [f"{base}/reports/cold-season"], category="reports")

    entry = (
        "    - title: Cold Season Needs Assessment\n"
        f"      url: {base}/reports/cold-season\n"
        "      by: [Example Relief Network, Karen Human Rights Group, Women's League of Burma]\n"
    )
    assert path.read_text(encoding="utf-8") == before.replace(
        REPORTS_ANCHOR, "  reports:   # none yet\n" + entry
    )
    assert errors_in(check(project, path)) == []


def test_burmese_title_is_marked_my_and_pdf_reads_its_metadata_and_a_file_name(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)
    before = path.read_text(encoding="utf-8")

    report = add_resources(
        project,
        path,
        [f"{base}/my/report", f"{base}/files/needs.pdf", f"{base}/files/cold-season_needs-2024.pdf"],
        category="reports",
    )

    assert [o.status for o in report.outcomes] == ["added", "added", "added"]
    entries = (
        f"    - title: {BURMESE_TITLE}\n"
        f"      url: {base}/my/report\n"
        "      by: Burma Partner\n"
        "      lang: my\n"
        "    - title: Cold Season Needs Assessment\n"
        f"      url: {base}/files/needs.pdf\n"
        "      by: Example Relief Network\n"
        "    - title: Cold season needs 2024\n"
        f"      url: {base}/files/cold-season_needs-2024.pdf\n"
    )
    assert path.read_text(encoding="utf-8") == before.replace(
        REPORTS_ANCHOR, "  reports:   # none yet\n" + entries
    )


@pytest.mark.parametrize(
    ("page", "title"),
    [
        ("/cp1252/meta", "Caf\u00e9 Owners\u2019 Statement on the \u201cNew\u201d Curfew"),
        ("/cp1252/header", "Na\u00efve Promises"),
        ("/press/villages", "Villages Burned in Sagaing"),
    ],
    ids=["windows-1252 in a meta", "windows-1252 in the header", "title element only"],
)
def test_legacy_encodings_and_bare_titles_read_right(
    project: Project, site: HTTPServer, page: str, title: str
) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)

    [outcome] = add_resources(project, path, [base + page]).outcomes

    assert outcome.resource is not None
    assert outcome.resource.title == title


@pytest.mark.parametrize(
    ("body", "content_type", "title"),
    [
        (
            "<html><head><meta charset='utf-8'><title>Myanmar\u2019s Junta: ရခိုင် ထုတ်ပြန်ချက်</title></head></html>".encode(),
            "text/html; charset=ISO-8859-1",
            "Myanmar\u2019s Junta: ရခိုင် ထုတ်ပြန်ချက်",
        ),
        (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
            "<title>ရခိုင် ထုတ်ပြန်ချက်</title></head></html>".encode(),
            "text/html",
            "ရခိုင် ထုတ်ပြန်ချက်",
        ),
        (
            b"<html><head><title>Caf\xe9 Owners\x92 Statement on the \x93New\x94 Curfew</title></head></html>",
            "text/html; charset=UTF-8",
            "Caf\u00e9 Owners\u2019 Statement on the \u201cNew\u201d Curfew",
        ),
        (
            "<html><head><title>Rakhine?s ရခိုင်</title></head></html>".encode().replace(b"?", b"\x92"),
            "text/html; charset=utf-8",
            "Rakhine\u2019s ရခိုင်",
        ),
    ],
    ids=[
        "UTF-8 labelled Latin-1",
        "UTF-8 labelled windows-1252",
        "windows-1252 labelled UTF-8",
        "a stray byte",
    ],
)
def test_a_page_whose_charset_is_mislabelled_reads_right(
    project: Project, site: HTTPServer, body: bytes, content_type: str, title: str
) -> None:
    site.expect_request("/mislabelled").respond_with_data(body, content_type=content_type)
    path = write_issue_file(project, base_of(site))

    [outcome] = add_resources(project, path, [f"{base_of(site)}/mislabelled"]).outcomes

    assert outcome.resource is not None
    assert outcome.resource.title == title


def test_zawgyi_title_is_converted_to_unicode(project: Project, site: HTTPServer) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)

    [outcome] = add_resources(project, path, [f"{base}/my/zawgyi"]).outcomes

    assert outcome.resource is not None
    assert (outcome.resource.title, outcome.resource.lang) == (ZAWGYI_TITLE[1], "my")
    assert outcome.warnings == ("the title was Zawgyi-encoded Burmese; converted to Unicode",)
    assert errors_in(check(project, path)) == []


def test_a_zawgyi_organization_name_is_converted_to_unicode_as_check_wants_it(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    site.expect_request("/my/zawgyi-site").respond_with_data(
        '<html><head><meta property="og:title" content="Winter Appeal">'
        f'<meta property="og:site_name" content="{ZAWGYI_TITLE[0]}"></head></html>',
        content_type="text/html; charset=utf-8",
    )
    path = write_issue_file(project, base)

    [outcome] = add_resources(project, path, [f"{base}/my/zawgyi-site"]).outcomes

    assert outcome.resource is not None
    assert (outcome.resource.title, outcome.resource.by) == ("Winter Appeal", (ZAWGYI_TITLE[1],))
    assert outcome.warnings == (
        f"the organization {ZAWGYI_TITLE[0]!r} was Zawgyi-encoded Burmese; converted to Unicode",
    )
    assert errors_in(check(project, path)) == []


def test_zawgyi_title_without_pyicu_names_the_command_and_writes_nothing(
    project: Project, site: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)
    before = path.read_bytes()
    burmese._zawgyi_transliterator.cache_clear()
    monkeypatch.setitem(sys.modules, "icu", None)  # as if PyICU were not installed

    try:
        [outcome] = add_resources(project, path, [f"{base}/my/zawgyi"]).outcomes
    finally:
        burmese._zawgyi_transliterator.cache_clear()

    assert outcome.status == "failed"
    assert "pip install 'broadsheet[zawgyi]'" in outcome.message
    assert path.read_bytes() == before


def test_permanent_redirect_is_followed_to_the_url_to_publish_and_a_temporary_one_is_not(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)

    moved, latest = add_resources(project, path, [f"{base}/moved", f"{base}/latest"]).outcomes

    assert moved.resource is not None and moved.resource.url == f"{base}/statements/appeal"
    assert latest.resource is not None and latest.resource.url == f"{base}/latest"


def test_a_page_that_stays_rate_limited_says_why_it_was_not_added(project: Project, site: HTTPServer) -> None:
    base = base_of(site)
    site.expect_request("/busy").respond_with_data("", status=429, headers={"Retry-After": "1"})
    site.expect_request("/busy-hour").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    path = write_issue_file(project, base)
    before = path.read_bytes()

    report = add_resources(project, path, [f"{base}/busy", f"{base}/busy-hour"])

    assert [(o.status, o.message) for o in report.outcomes] == [
        (
            "failed",
            "429 Too Many Requests: still rate-limited after 3 tries (the last answer asked to wait 1 s)",
        ),
        (
            "failed",
            "429 Too Many Requests: the server asks to wait 3600 s, longer than the timeout "
            f"({project.settings.curation.timeout:g} s)",
        ),
    ]
    assert path.read_bytes() == before


def test_failures_are_one_line_each_and_the_other_urls_are_still_added(
    project: Project, site: HTTPServer, slow_site: HTTPServer
) -> None:
    base = base_of(site)
    slow_site.expect_request("/slow").respond_with_handler(late)
    path = write_issue_file(project, base)
    before = path.read_text(encoding="utf-8")

    report = add_resources(
        project,
        path,
        [
            f"{base}/missing",
            f"{base}/gone",
            slow_site.url_for("/slow"),
            f"{base}/data.json",
            "ftp://example.org/file",
            "https://example.org:abc/file",
            "https://example.org/\u200breport",
            f"{base}/press/villages",
        ],
    )

    assert [(o.status, o.message) for o in report.outcomes] == [
        ("failed", "404 Not Found"),
        ("failed", "410 Gone"),
        ("failed", "timed out after 1 s"),
        (
            "failed",
            "neither HTML nor PDF (Content-Type: application/json); give its title with --title to add it all the same",
        ),
        ("failed", "Expected an http(s) URL but received: 'ftp://example.org/file'"),
        (
            "failed",
            "Expected an http(s) URL but received: 'https://example.org:abc/file' (the port must be a number from 1 to 65535)",
        ),
        (
            "failed",
            "Expected an http(s) URL but received: 'https://example.org/\\u200breport' (it holds an invisible character, "
            "U+200B, at character 21; retype the URL there)",
        ),
        ("added", "added under statements"),
    ]
    assert report.failed
    entry = f"    - title: Villages Burned in Sagaing\n      url: {base}/press/villages\n"
    assert path.read_text(encoding="utf-8") == before.replace(STATEMENTS_ANCHOR, STATEMENTS_ANCHOR + entry)


@pytest.mark.parametrize(
    "title",
    [
        "Page not found &#8211; Partner Network",
        "404 Not Found",
        "Oops! That page can&rsquo;t be found.",
        "စာမျက်နှာ ရှာမတွေ့ပါ",
    ],
)
def test_a_page_whose_title_says_it_is_missing_is_not_added(
    project: Project, site: HTTPServer, title: str
) -> None:
    # WordPress and many sites answer 200 with their "not found" page: the editor's URL is wrong all the same.
    site.expect_request("/old-link").respond_with_data(
        f"<!doctype html><html><head><title>{title}</title></head><body>Sorry.</body></html>",
        content_type="text/html; charset=utf-8",
    )
    base = base_of(site)
    path = write_issue_file(project, base)
    before = path.read_text(encoding="utf-8")
    [outcome] = add_resources(project, path, [f"{base}/old-link"]).outcomes
    assert outcome.status == "failed"
    assert outcome.message.startswith("the page answered, but its title says it is missing (")
    assert outcome.message.endswith("check the URL, or give the title with --title to add it all the same")
    assert path.read_text(encoding="utf-8") == before
    # The editor who knows better names it.
    [given] = add_resources(project, path, [f"{base}/old-link"], title="A Statement Since Moved").outcomes
    assert given.status == "added"


def test_a_body_not_compressed_as_its_header_says_is_a_fault_of_the_site_in_words(
    project: Project, site: HTTPServer
) -> None:
    site.expect_request("/broken-gzip").respond_with_data(
        "<html><head><title>A Statement</title></head></html>",
        content_type="text/html; charset=utf-8",
        headers={"Content-Encoding": "gzip"},
    )
    base = base_of(site)
    [outcome] = add_resources(project, write_issue_file(project, base), [f"{base}/broken-gzip"]).outcomes
    assert (outcome.status, outcome.message) == (
        "failed",
        "the site's answer is not compressed as its Content-Encoding header says (a fault of the site)",
    )


def test_a_title_speaking_of_something_not_found_is_added(project: Project, site: HTTPServer) -> None:
    site.expect_request("/disappeared").respond_with_data(
        "<!doctype html><html><head><title>Myanmar: Thousands of Disappeared Still Not Found</title></head></html>",
        content_type="text/html; charset=utf-8",
    )
    base = base_of(site)
    [outcome] = add_resources(project, write_issue_file(project, base), [f"{base}/disappeared"]).outcomes
    assert (outcome.status, outcome.resource.title if outcome.resource else None) == (
        "added",
        "Myanmar: Thousands of Disappeared Still Not Found",
    )


def test_a_server_that_trickles_its_answer_forever_is_given_up_within_the_timeout(
    project: Project, site: HTTPServer, trickling_site: str
) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)
    started = time.monotonic()

    report = add_resources(
        project, path, [f"{trickling_site}/headers", f"{trickling_site}/body", f"{base}/press/villages"]
    )

    headers, body, villages = [(o.status, o.message) for o in report.outcomes]
    assert headers == ("failed", "timed out after 1 s")
    assert body[0] == "failed" and re.fullmatch(
        r"too slow: \d+ bytes in 1 s, under 1000 bytes a second", body[1]
    )
    assert villages == ("added", "added under statements")
    assert time.monotonic() - started < 4


def test_what_the_editor_saves_while_pages_are_read_is_kept(project: Project, site: HTTPServer) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)
    before = path.read_text(encoding="utf-8")
    saved = before.replace("A second paragraph.", "A second paragraph, saved meanwhile.")

    def saved_meanwhile(_request: Request) -> Response:
        path.write_text(saved, encoding="utf-8")
        return Response("<title>Read While Saving | Partner</title>", content_type="text/html")

    site.expect_request("/read-while-saving").respond_with_handler(saved_meanwhile)

    add_resources(project, path, [f"{base}/read-while-saving"])

    entry = f"    - title: Read While Saving\n      url: {base}/read-while-saving\n"
    assert path.read_text(encoding="utf-8") == saved.replace(STATEMENTS_ANCHOR, STATEMENTS_ANCHOR + entry)


def test_a_file_saved_between_reading_and_writing_is_left_as_saved(project: Project) -> None:
    path = write_issue_file(project, "https://example.org")
    issue = IssueText(path)
    edited = issue.with_resources({"reports": [NewResource("T", "https://example.org/t")]}, ["reports"])
    saved = issue.text.replace("A second paragraph.", "A second paragraph, saved meanwhile.")
    path.write_text(saved, encoding="utf-8")

    with pytest.raises(BroadsheetError) as raised:
        issue.write(edited)

    assert str(raised.value) == (
        f"{path}: changed by someone else while it was being edited; "
        "the file is left as they saved it: run the command again"
    )
    assert path.read_text(encoding="utf-8") == saved


def test_adding_again_adds_nothing_and_an_earlier_issue_is_named(project: Project, site: HTTPServer) -> None:
    base = base_of(site)
    earlier = write_issue_file(project, base, "2024-03-07.yaml", ISSUE.replace("2024-03-14", "2024-03-07"))
    add_resources(project, earlier, [f"{base}/reports/cold-season"])
    path = write_issue_file(project, base)

    [first] = add_resources(project, path, [f"{base}/reports/cold-season?utm_campaign=x"]).outcomes
    after_first = path.read_bytes()
    [second] = add_resources(project, path, [f"{base}/reports/cold-season"]).outcomes
    # The same page written another way: https, a last slash, a fragment a browser adds to a copied link.
    [third] = add_resources(
        project, path, [f"{base.replace('http:', 'https:')}/reports/cold-season/#:~:text=cold"]
    ).outcomes

    assert first.warnings == ("already published in issues/2024-03-07.yaml",)
    assert (second.status, second.message) == ("present", "already in this issue; not added again")
    assert (third.status, third.message) == ("present", "already in this issue; not added again")
    assert path.read_bytes() == after_first


def test_title_and_by_override_the_page_and_names_follow_the_catalog(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    path = write_issue_file(project, base)

    [given] = add_resources(
        project,
        path,
        [f"{base}/statements/appeal"],
        title="Winter Aid: A Joint Appeal",
        by=["Progressive voice", "Fortify Rights"],
    ).outcomes

    assert given.resource is not None
    assert (given.resource.title, given.resource.by) == (
        "Winter Aid: A Joint Appeal",
        ("Progressive voice", "Fortify Rights"),
    )
    page = read_html(
        decode_html(
            b'<meta property="og:title" content="X"><meta name="citation_author" content="progressive  VOICE">'
        )
    )
    assert page.organizations == ("progressive VOICE",)


def test_organizations_take_the_spelling_of_the_names_catalog(project: Project, site: HTTPServer) -> None:
    base = base_of(site)
    site.expect_request("/spelling").respond_with_data(
        '<meta property="og:title" content="A Report"><meta name="citation_author" content="example relief  NETWORK">',
        content_type="text/html",
    )
    project.locales_dir.mkdir()
    (project.locales_dir / "names.pot").write_text(
        'msgid ""\nmsgstr ""\n\nmsgid "Example Relief Network"\nmsgstr ""\n', encoding="utf-8"
    )
    path = write_issue_file(project, base)

    [outcome] = add_resources(project, path, [f"{base}/spelling"]).outcomes

    assert outcome.resource is not None
    assert outcome.resource.by == ("Example Relief Network",)


def test_unknown_category_is_a_usage_error_naming_the_configured_ones(
    project: Project, site: HTTPServer
) -> None:
    path = write_issue_file(project, base_of(site))

    with pytest.raises(
        UsageError,
        match=r"unknown category 'report'; did you mean 'reports'\? \(configured categories: statements, reports\)",
    ):
        add_resources(project, path, [base_of(site) + "/reports/cold-season"], category="report")


def test_add_command_prints_each_outcome_and_exits_1_when_one_failed(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = base_of(site)
    write_issue_file(project, base)

    result = cli(
        "add",
        "issues/2024-03-14.yaml",
        f"{base}/reports/cold-season",
        f"{base}/gone",
        "--category",
        "reports",
        cwd=project.root,
    )

    assert result.exit_code == 1
    assert result.stdout == (
        "issues/2024-03-14.yaml: added under reports: 'Cold Season Needs Assessment' "
        f"by Example Relief Network, Karen Human Rights Group, Women's League of Burma <{base}/reports/cold-season>\n"
    )
    assert result.stderr == f"issues/2024-03-14.yaml: error: {base}/gone: 410 Gone\n"


def test_add_command_refuses_an_unknown_category_with_exit_2(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    write_issue_file(project, base_of(site))

    result = cli(
        "add",
        "issues/2024-03-14.yaml",
        f"{base_of(site)}/reports/cold-season",
        "--category",
        "report",
        cwd=project.root,
    )

    assert result.exit_code == 2
    assert (
        result.stderr
        == "broadsheet: unknown category 'report'; did you mean 'reports'? (configured categories: statements, reports)\n"
    )


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("th-TH", "th"),
        ("EN_us", "en"),
        ("iw", "he"),
        ("eng", "en"),
        ("my-MM", None),
        ("zz", None),
        ("", None),
    ],
)
def test_a_page_s_declared_language_becomes_a_code_as_check_wants_it(
    declared: str, expected: str | None
) -> None:
    """`add` writes it as the resource's `lang`: an old or three-letter code would then fail `check`."""
    assert title_language("Villages Burned in Sagaing", declared) == expected
    assert title_language(BURMESE_TITLE, declared) == "my"


def test_add_writes_into_the_skeleton_that_new_writes_keeping_its_comments(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = base_of(site)
    assert cli("new", "2024-01-04", cwd=project.root).exit_code == 0
    path = project.issues_dir / "2024-01-04.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('title: ""', "title: Hello"), encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    empty = "    #   by: [Organization A, Organization B]\n    []\n  reports:  # Reports and Publications\n"
    assert empty in before

    result = cli(
        "add",
        "issues/2024-01-04.yaml",
        f"{base}/statements/appeal",
        "--title",
        "Hello world",
        cwd=project.root,
    )

    assert (result.exit_code, result.stderr) == (0, "")
    entry = f"    - title: Hello world\n      url: {base}/statements/appeal\n      by: Coalition for Rights Monitoring\n"
    assert path.read_text(encoding="utf-8") == before.replace(empty, empty.replace("    []\n", entry))
    # The last category, at the end of the file, and a second addition to the first.
    add_resources(project, path, [f"{base}/reports/cold-season"], category="reports")
    add_resources(project, path, [f"{base}/press/villages"], category="statements")
    after = path.read_text(encoding="utf-8")
    assert after.endswith(
        "    #   by: [Organization A, Organization B]\n"
        "    - title: Cold Season Needs Assessment\n"
        f"      url: {base}/reports/cold-season\n"
        "      by: [Example Relief Network, Karen Human Rights Group, Women's League of Burma]\n"
    )
    assert (
        f"{entry}    - title: Villages Burned in Sagaing\n      url: {base}/press/villages\n  reports:"
        in after
    )
    assert "[]" not in after.split("resources:")[1]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("  reports:\n", "  reports:\n{entry}"),
        ("  reports: []\n", "  reports:\n{entry}"),
        ("  reports: []  # none\n", "  reports:  # none\n{entry}"),
        ("  reports: ~\n", "  reports:\n{entry}"),
        ("  reports:\n    # none yet\n    []\n", "  reports:\n    # none yet\n{entry}"),
        ("  reports:\n    [ ]   # none yet\n", "  reports:\n    # none yet\n{entry}"),
        ("  reports:  # label\n    # a comment\n\n    []", "  reports:  # label\n    # a comment\n\n{entry}"),
        (
            "  reports: [{{title: A, url: 'https://example.org/a', by: P}}]\n",
            "  reports: [{{title: A, url: 'https://example.org/a', by: P}}, {flow}]\n",
        ),
        (
            "  reports: [\n    {{title: A, url: 'https://example.org/a', by: P}},  # first\n  ]\n",
            "  reports: [\n    {{title: A, url: 'https://example.org/a', by: P}}, {flow},  # first\n  ]\n",
        ),
    ],
    ids=[
        "bare key",
        "brackets",
        "brackets and a comment",
        "tilde",
        "brackets after comments",
        "brackets and a comment on their own line",
        "brackets at the end of the file",
        "flow list",
        "flow list on lines",
    ],
)
def test_every_way_of_writing_a_category_takes_the_entry_and_keeps_the_rest(
    project: Project, site: HTTPServer, written: str, expected: str
) -> None:
    base = base_of(site)
    head = "date: 2024-03-14\ntitle: T\neditorial: Text.\nresources:\n  statements: []  # s\n"
    path = write_issue_file(project, base, text=head + written)
    url = f"{base}/reports/cold-season"
    entry = (
        f"    - title: Cold Season Needs Assessment\n      url: {url}\n"
        "      by: [Example Relief Network, Karen Human Rights Group, Women's League of Burma]\n"
    )
    flow = (
        f"{{title: Cold Season Needs Assessment, url: {url}, "
        "by: [Example Relief Network, Karen Human Rights Group, Women's League of Burma]}"
    )

    [outcome] = add_resources(project, path, [url], category="reports").outcomes

    assert outcome.status == "added"
    assert path.read_text(encoding="utf-8") == head + expected.format(entry=entry, flow=flow)
    assert errors_in(check(project, path)) == []


def test_two_categories_added_to_empty_resources_come_in_configured_order(project: Project) -> None:
    """As `collect` adds them, in one edit: one category after the other, not one inside the other."""
    head = "date: 2024-03-14\ntitle: T\neditorial: Text.\n"
    path = project.issues_dir / "2024-03-14.yaml"
    path.write_text(head + "resources: {}  # none yet\n", encoding="utf-8")
    issue = IssueText(path)
    report = NewResource("A Report", "https://example.org/report", ("P",))
    statement = NewResource("A Statement, Signed", "https://example.org/statement")

    issue.write(
        issue.with_resources({"reports": [report], "statements": [statement]}, ["statements", "reports"])
    )

    assert path.read_text(encoding="utf-8") == head + (
        "resources:  # none yet\n"
        "  statements:\n"
        "    - title: A Statement, Signed\n      url: https://example.org/statement\n"
        "  reports:\n"
        "    - title: A Report\n      url: https://example.org/report\n      by: P\n"
    )


def test_an_entry_that_cannot_be_written_is_one_line_naming_the_file_and_the_file_stays(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = base_of(site)
    text = "date: 2024-03-14\ntitle: T\neditorial: Text.\nresources: {statements: [], reports: []}\n"
    path = project.issues_dir / "2024-03-14.yaml"
    path.write_text(text, encoding="utf-8")

    result = cli("add", "issues/2024-03-14.yaml", f"{base}/press/villages", cwd=project.root)

    assert result.exit_code == 1
    assert result.stderr == (
        "broadsheet: issues/2024-03-14.yaml: could not write the new resources under 'statements' without "
        "changing the rest; the file is left as it was: add them by hand\n"
    )
    assert path.read_text(encoding="utf-8") == text
    assert list(project.issues_dir.iterdir()) == [path]


def test_a_redirect_to_a_url_that_is_not_http_fails_that_url_alone_naming_where_it_led(
    project: Project, site: HTTPServer, slow_site: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = base_of(site)
    slow_site.expect_request("/slow").respond_with_handler(late)
    site.expect_request("/to-slow").respond_with_data(
        "", status=302, headers={"Location": slow_site.url_for("/slow")}
    )
    path = write_issue_file(project, base)

    result = cli(
        "add",
        "issues/2024-03-14.yaml",
        f"{base}/to-mailto",
        f"{base}/to-javascript",
        f"{base}/to-missing",
        f"{base}/to-slow",
        f"{base}/press/villages",
        cwd=project.root,
    )

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"issues/2024-03-14.yaml: error: {base}/to-mailto: redirected to a URL that is not http(s): 'mailto:x@y.z'",
        f"issues/2024-03-14.yaml: error: {base}/to-javascript: redirected to a URL that is not http(s): 'javascript:alert(1)'",
        f"issues/2024-03-14.yaml: error: {base}/to-missing: 404 Not Found (redirected to {base}/missing)",
        f"issues/2024-03-14.yaml: error: {base}/to-slow: timed out after 1 s (redirected to {slow_site.url_for('/slow')})",
    ]
    assert f"url: {base}/press/villages\n" in path.read_text(encoding="utf-8")


def test_a_page_served_as_a_pdf_that_is_not_one_fails_in_one_line_without_the_pdf_reader_s_complaints(
    project: Project, site: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    base = base_of(site)
    site.expect_request("/fake.pdf").respond_with_data(
        "<html>not a PDF</html>", content_type="application/pdf"
    )
    path = write_issue_file(project, base)

    with caplog.at_level(logging.DEBUG):
        [outcome] = add_resources(project, path, [f"{base}/fake.pdf"]).outcomes

    assert (outcome.status, outcome.message) == (
        "failed",
        "not a readable PDF (Stream has ended unexpectedly); give its title with --title to add it all the same",
    )
    assert [record.getMessage() for record in caplog.records if record.name.startswith("pypdf")] == []


READ_A_LARGE_PAGE = """
import resource
from broadsheet.curate.metadata import read_html

body = '<div class="c"><p>Text <a href="/x">a link</a>, <b>bold</b> ဆောင်းရာသီ</p></div>' * 200_000
page = (
    '<html lang="en"><head><title>Big | Site</title><meta property="og:site_name" content="Site"></head>'
    + body
    + '<script type="application/ld+json">{"@type": "Report", "name": "Read From The Body", '
    '"publisher": {"@type": "Organization", "name": "Body Org"}}</script><meta name="citation_date" content="2024-03-11">'
)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
metadata = read_html(page)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(len(page.encode()) // 1_000_000, grown // 1024, metadata.title, metadata.organizations, metadata.published)
"""


def test_a_large_page_is_read_for_its_metadata_without_building_its_whole_tree() -> None:
    """Lexbor's tree of a whole 20 MB page took 15 times its size (benchmarks/README.md, Links)."""
    env = {**os.environ, "PYTHONPATH": str(Path(metadata.__file__).parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", READ_A_LARGE_PAGE], env=env, capture_output=True, text=True, check=True
    )

    megabytes, grown, *read = done.stdout.split(" ", 2)
    assert int(megabytes) == 20
    assert read == ["Read From The Body ('Body Org',) 2024-03-11\n"]
    assert int(grown) < 40, f"reading 20 MB of HTML took {grown} MB more"


def test_json_ld_with_a_line_break_inside_a_string_is_read() -> None:
    # A WordPress plugin's excerpt, its line break written as is: strict JSON refuses the block whole.
    page = (
        '<html lang="en"><head><title>Briefing | WLB</title><script type="application/ld+json">{"@type": "Report", '
        '"headline": "Forced Conscription: A Briefing", "description": "Line one\nline\ttwo", '
        '"datePublished": "2024-03-12", "publisher": {"@type": "Organization", "name": "Women\'s League of Burma"}}'
        "</script></head></html>"
    )

    assert read_html(page, "https://www.womenofburma.org/reports/briefing") == PageMetadata(
        "Forced Conscription: A Briefing", ("Women's League of Burma",), "en", date(2024, 3, 12)
    )


def test_a_title_that_is_only_the_site_s_name_is_passed_over_for_the_page_s_own(
    project: Project, site: HTTPServer
) -> None:
    # A theme that writes the site's name as every page's og:title; a site whose page reads only `<title>X`.
    site.expect_request("/theme").respond_with_data(
        "<html><head><title>Joint Statement: Stop the Airstrikes &#8211; Progressive Voice Myanmar</title>"
        '<meta property="og:title" content="Progressive Voice Myanmar">'
        '<meta property="og:site_name" content="Progressive Voice Myanmar"></head></html>',
        content_type="text/html; charset=utf-8",
    )
    site.expect_request("/status/1").respond_with_data(
        '<html><head><title>X</title><meta property="og:site_name" content="X"></head></html>',
        content_type="text/html; charset=utf-8",
    )
    base = base_of(site)
    path = write_issue_file(project, base)

    theme, status = add_resources(project, path, [f"{base}/theme", f"{base}/status/1"]).outcomes

    assert theme.resource is not None
    assert theme.resource.title == "Joint Statement: Stop the Airstrikes"
    assert (status.status, status.message) == ("failed", "found no title on the page; give one with --title")


@pytest.mark.parametrize(
    ("url", "head", "title"),
    [
        (
            "https://khrg.org/2024/03/land",
            '<meta property="og:title" content="Report on Land Confiscation | Karen Human Rights Group">',
            "Report on Land Confiscation",
        ),
        (
            "https://www.progressivevoicemyanmar.org/2024/03/12/appeal/",
            '<meta property="og:title" content="Progressive Voice Myanmar"><title>An Appeal - Progressive Voice Myanmar</title>',
            "An Appeal",
        ),
        (
            "https://burma.irrawaddy.com/news/1",
            '<meta property="og:title" content="The Irrawaddy &#8211; Junta Raids Villages">',
            "Junta Raids Villages",
        ),
        (
            "https://www.mizzima.com.mm/article/1",
            "<title>Floods in Bago | Mizzima</title>",
            "Floods in Bago",
        ),
        (
            "https://x.com/someone/status/1",
            "<title>X</title>",
            None,
        ),
        # Two letters are too few to tell a site's initials from a title's words.
        (
            "https://news.un.org/en/story/1",
            '<meta property="og:title" content="Myanmar - Urgent Needs">',
            "Myanmar - Urgent Needs",
        ),
        (
            "http://127.0.0.1:8000/page",
            '<meta property="og:title" content="Myanmar - The Forgotten Crisis">',
            "Myanmar - The Forgotten Crisis",
        ),
    ],
    ids=[
        "initials",
        "og:title of the site's name",
        "leading name",
        "a .com.mm host",
        "x.com",
        "un.org",
        "address",
    ],
)
def test_the_site_s_name_is_known_from_its_host_where_the_page_does_not_give_it(
    url: str, head: str, title: str | None
) -> None:
    assert read_html(f"<html><head>{head}</head></html>", url).title == title


@pytest.mark.parametrize(
    ("url", "head", "title", "by"),
    [
        (
            "https://drive.google.com/file/d/1a2b/view?usp=sharing",
            '<meta property="og:title" content="PV_Statement_on_Airstrikes_ENG.pdf">'
            '<meta property="og:site_name" content="Google Docs">'
            "<title>PV_Statement_on_Airstrikes_ENG.pdf - Google Drive</title>",
            "PV Statement on Airstrikes ENG",
            (),
        ),
        (
            "https://www.dropbox.com/scl/fi/x/Annual-Report.pdf?dl=0",
            '<meta property="og:site_name" content="Dropbox"><meta property="og:title" content="Annual Report 2023.pdf">',
            "Annual Report 2023",
            (),
        ),
        (
            "https://m.facebook.com/progressivevoicemyanmar/posts/1",
            '<meta property="og:title" content="Progressive Voice"><meta property="og:site_name" content="Facebook">'
            '<meta property="og:description" content="Statement on the Airstrikes in Sagaing. We call on...">',
            "Statement on the Airstrikes in Sagaing",
            (),
        ),
        (
            # t.me's page of a channel's post: og:title is the channel's name, the same on every post.
            "https://t.me/nugmyanmar/4321",
            "<title>Telegram: Contact @nugmyanmar</title>"
            '<meta property="og:title" content="National Unity Government of Myanmar">'
            '<meta property="og:site_name" content="Telegram">'
            '<meta property="og:description" content="စစ်မှုထမ်းဥပဒေကို ကန့်ကွက်သည့် ထုတ်ပြန်ချက်။ ပြည်သူများ...">'
            '<meta property="twitter:title" content="National Unity Government of Myanmar">',
            "စစ်မှုထမ်းဥပဒေကို ကန့်ကွက်သည့် ထုတ်ပြန်ချက်",
            (),
        ),
        (
            "https://www.instagram.com/p/C4abc123/",
            "<title>Progressive Voice on Instagram: &quot;Joint statement on forced conscription. Read more at the "
            'link in bio.&quot;</title><meta property="og:site_name" content="Instagram"><meta property="og:title" '
            'content="Progressive Voice on Instagram: &quot;Joint statement on forced conscription. Read more at the '
            'link in bio.&quot;"><meta property="og:description" content="12 likes, 0 comments - '
            'progressivevoicemyanmar on March 12, 2024: &quot;Joint statement on forced conscription.&quot;">',
            "Joint statement on forced conscription",
            (),
        ),
        (
            "https://x.com/PVamplifyvoices/status/1767400000000000000",
            "<title>Progressive Voice on X: &quot;စစ်မှုထမ်းဥပဒေကို ကန့်ကွက်သည်။ https://t.co/x&quot; / X</title>",
            "စစ်မှုထမ်းဥပဒေကို ကန့်ကွက်သည်",
            (),
        ),
        (
            # A newsletter's own subdomain: its og:site_name and JSON-LD publisher are the newsletter's.
            "https://myanmarpeacemonitor.substack.com/p/weekly-brief",
            '<meta property="og:site_name" content="Myanmar Peace Monitor">'
            '<meta property="og:title" content="Weekly Brief: 12 March 2024">'
            '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Weekly Brief: 12 March 2024", '
            '"author": [{"@type": "Person", "name": "Min Min"}], "publisher": {"@type": "Organization", '
            '"name": "Myanmar Peace Monitor", "url": "https://myanmarpeacemonitor.substack.com"}}</script>',
            "Weekly Brief: 12 March 2024",
            ("Myanmar Peace Monitor",),
        ),
        (
            "https://progressivevoice.medium.com/an-appeal-1",
            '<meta property="og:title" content="An Appeal"><meta property="og:site_name" content="Medium">'
            '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "An Appeal", "publisher": '
            '[{"@type": "Organization", "name": "Medium"}, {"@type": "Organization", "name": "Progressive Voice"}]}'
            "</script>",
            "An Appeal",
            ("Progressive Voice",),
        ),
    ],
    ids=["google drive", "dropbox", "facebook", "telegram", "instagram", "x", "substack", "medium"],
)
def test_a_page_on_a_file_sharing_or_social_service_is_not_by_that_service(
    url: str, head: str, title: str, by: tuple[str, ...]
) -> None:
    page = read_html(f"<html><head>{head}</head></html>", url)
    assert (page.title, page.organizations) == (title, by)
    assert page.platform is not None


def test_add_asks_for_the_organizations_of_a_page_on_a_sharing_service(
    project: Project, any_host: HTTPServer, cli: Callable[..., Result]
) -> None:
    any_host.expect_request("/file/d/1a2b/view").respond_with_data(
        '<html><head><meta property="og:title" content="Briefing_Paper_Land-Rights.pdf">'
        '<meta property="og:site_name" content="Google Docs"></head></html>',
        content_type="text/html; charset=utf-8",
    )
    write_issue_file(project, base_of(any_host))
    drive = "http://drive.google.com/file/d/1a2b/view"

    result = cli("add", "issues/2024-03-14.yaml", drive, cwd=project.root)

    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"issues/2024-03-14.yaml: added under statements: 'Briefing Paper Land Rights' <{drive}>\n",
        f"issues/2024-03-14.yaml: warning: {drive}: the page is on Google Drive, which does not say who "
        "published it: give the organizations with --by\n",
    )


def test_a_pdf_from_a_download_link_is_named_by_its_file_and_a_computer_s_account_is_no_author(
    project: Project, site: HTTPServer
) -> None:
    # A download manager's link (`/download/123`), and a PDF saved from Word with the account's name as author.
    site.expect_request("/download/123").respond_with_data(
        pdf(None, None),
        content_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="Land Rights Briefing 2024.pdf"'},
    )
    site.expect_request("/download/456").respond_with_data(
        pdf("Microsoft Word - draft3.docx", "Windows User"),
        content_type="application/octet-stream",
        headers={
            "Content-Disposition": "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''"
            "%E1%80%99%E1%80%BC%E1%80%B1%E1%80%9A%E1%80%AC.pdf"
        },
    )
    site.expect_request("/files/statement.pdf").respond_with_data(
        pdf("Statement on the Airstrikes", "Progressive Voice; admin"), content_type="application/pdf"
    )
    base = base_of(site)
    path = write_issue_file(project, base)

    outcomes = add_resources(
        project, path, [f"{base}/download/123", f"{base}/download/456", f"{base}/files/statement.pdf"]
    ).outcomes

    assert [(o.resource.title, o.resource.by) if o.resource else o.message for o in outcomes] == [
        ("Land Rights Briefing 2024", ()),
        ("မြေယာ", ()),
        ("Statement on the Airstrikes", ("Progressive Voice",)),
    ]


def test_an_amp_page_is_added_at_the_url_of_the_page_it_is_a_copy_of(
    project: Project, site: HTTPServer
) -> None:
    base = base_of(site)
    site.expect_request("/news/story/amp").respond_with_data(
        '<!doctype html><html amp lang="en"><head><title>Junta Raids Villages | UN News</title>'
        '<link rel="canonical" href="/news/story"></head></html>',
        content_type="text/html; charset=utf-8",
    )
    site.expect_request("/statements/appeal/", query_string="amp=1").respond_with_data(
        '<!doctype html><html \u26a1><head><meta charset="utf-8"><title>Joint Appeal</title>'
        f'<link rel="canonical" href="{base}/statements/appeal?utm_source=amp"></head></html>',
        content_type="text/html; charset=utf-8",
    )
    path = write_issue_file(project, base)

    story, appeal = add_resources(
        project, path, [f"{base}/news/story/amp", f"{base}/statements/appeal/?amp=1"]
    ).outcomes
    [again] = add_resources(project, path, [f"{base}/news/story/amp"]).outcomes

    assert story.resource is not None
    assert (story.resource.title, story.resource.url) == ("Junta Raids Villages", f"{base}/news/story")
    assert appeal.resource is not None and appeal.resource.url == f"{base}/statements/appeal"
    assert (again.status, again.message) == (
        "present",
        f"already in this issue as {base}/news/story; not added again",
    )


def test_a_document_neither_html_nor_pdf_is_added_under_the_title_the_editor_gives(
    project: Project, site: HTTPServer, cli: Callable[..., Result]
) -> None:
    word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    site.expect_request("/files/briefing.docx").respond_with_data(b"PK\x03\x04", content_type=word)
    site.expect_request("/old/briefing.docx").respond_with_data(
        "", status=301, headers={"Location": "/files/briefing.docx"}
    )
    base = base_of(site)
    path = write_issue_file(project, base)
    before = path.read_text(encoding="utf-8")

    refused = cli("add", "issues/2024-03-14.yaml", f"{base}/old/briefing.docx", cwd=project.root)
    added = cli(
        "add",
        "issues/2024-03-14.yaml",
        f"{base}/old/briefing.docx",
        "--title",
        "Briefing: Land Rights",
        "--by",
        "Karen Human Rights Group",
        cwd=project.root,
    )

    assert (refused.exit_code, refused.stderr) == (
        1,
        f"issues/2024-03-14.yaml: error: {base}/old/briefing.docx: neither HTML nor PDF (Content-Type: {word}); "
        "give its title with --title to add it all the same\n",
    )
    assert added.exit_code == 0
    entry = (
        f'    - title: "Briefing: Land Rights"\n      url: {base}/files/briefing.docx\n'
        "      by: Karen Human Rights Group\n"
    )
    assert path.read_text(encoding="utf-8") == before.replace(STATEMENTS_ANCHOR, STATEMENTS_ANCHOR + entry)


def test_a_redirect_loop_is_named_a_loop_with_the_urls_it_goes_round(
    project: Project, site: HTTPServer
) -> None:
    site.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    site.expect_request("/ping").respond_with_data("", status=301, headers={"Location": "/pong"})
    site.expect_request("/pong").respond_with_data("", status=302, headers={"Location": "/ping?from=pong"})
    site.expect_request("/ping", query_string="from=pong").respond_with_data(
        "", status=302, headers={"Location": "/pong"}
    )

    def onwards(request: Request) -> Response:
        step = int(request.path.rsplit("/", 1)[-1])
        return Response("", status=302, headers={"Location": f"/hop/{step + 1}"})

    site.expect_request(re.compile(r"/hop/\d+")).respond_with_handler(onwards)
    base = base_of(site)
    path = write_issue_file(project, base)

    outcomes = add_resources(project, path, [f"{base}/loop", f"{base}/ping", f"{base}/hop/1"]).outcomes

    assert [(o.status, o.message) for o in outcomes] == [
        ("failed", f"redirects in a loop: {base}/loop -> {base}/loop"),
        ("failed", f"redirects in a loop: {base}/pong -> {base}/ping?from=pong -> {base}/pong"),
        ("failed", "more than 10 redirects"),
    ]


def test_a_consent_wall_or_bot_check_is_not_added_under_its_own_title_and_the_editor_is_asked_for_title_and_by(
    project: Project, any_host: HTTPServer, cli: Callable[..., Result]
) -> None:
    # YouTube sends a visitor without its consent cookie to consent.youtube.com; a partner's cookie wall, and
    # Facebook's login page, are answered at the page's own address.
    any_host.expect_request("/watch", query_string="v=abc").respond_with_data(
        "",
        status=302,
        headers={"Location": "http://consent.youtube.com/m?continue=https%3A%2F%2Fwww.youtube.com"},
    )
    any_host.expect_request("/m").respond_with_data(
        '<html><head><title>Before you continue to YouTube</title><meta property="og:site_name" content="Google">'
        "</head></html>",
        content_type="text/html; charset=utf-8",
    )
    any_host.expect_request("/news/report").respond_with_data(
        "<html><head><title>We value your privacy</title></head></html>", content_type="text/html"
    )
    # A bot check answered as a success, as a site behind one may send it.
    any_host.expect_request("/news/burma/1.html").respond_with_data(
        "<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title></head><body><noscript>Enable "
        "JavaScript and cookies to continue</noscript></body></html>",
        content_type="text/html",
        headers={"Server": "cloudflare"},
    )
    write_issue_file(project, base_of(any_host))
    video, report = "http://www.youtube.com/watch?v=abc", "http://partner.example/news/report"
    checked = "http://www.irrawaddy.com/news/burma/1.html"

    refused = cli("add", "issues/2024-03-14.yaml", video, report, checked, cwd=project.root)
    added = cli(
        "add",
        "issues/2024-03-14.yaml",
        video,
        "--title",
        "Testimonies",
        "--by",
        "Fortify Rights",
        cwd=project.root,
    )

    asks = "give its title with --title and its organizations with --by to add it all the same"
    assert (refused.exit_code, refused.stdout, refused.stderr.splitlines()) == (
        1,
        "",
        [
            f"issues/2024-03-14.yaml: error: {video}: redirected to a consent page ('Before you continue to "
            f"YouTube', http://consent.youtube.com/m?continue=https%3A%2F%2Fwww.youtube.com) rather than the "
            f"page; {asks}",
            f"issues/2024-03-14.yaml: error: {report}: answered with a consent page ('We value your privacy') "
            f"rather than the page; {asks}",
            f"issues/2024-03-14.yaml: error: {checked}: answered with a bot check page ('Just a moment...') "
            f"rather than the page; {asks}",
        ],
    )
    assert (added.exit_code, added.stdout) == (
        0,
        f"issues/2024-03-14.yaml: added under statements: 'Testimonies' by Fortify Rights <{video}>\n",
    )


def test_a_facebook_post_is_titled_by_its_words_not_by_the_account_that_posted_it(
    project: Project, any_host: HTTPServer, cli: Callable[..., Result]
) -> None:
    # Facebook's og:title of a post is the page's name, the same on every post; og:description holds its words.
    def post(description: str) -> str:
        return (
            '<html lang="en" id="facebook"><head><title>Progressive Voice - Posts | Facebook</title>'
            '<meta property="og:title" content="Progressive Voice"><meta property="og:site_name" content="Facebook">'
            f'<meta property="og:description" content="{description}"></head></html>'
        )

    html = "text/html; charset=utf-8"
    any_host.expect_request("/pv/posts/1").respond_with_data(
        post("Joint Statement: Stop the Airstrikes on Schools! 120 organizations call on the UN..."),
        content_type=html,
    )
    any_host.expect_request("/pv/posts/2").respond_with_data(
        post("စစ်ကောင်စီ လေကြောင်းတိုက်ခိုက်မှု ရပ်တန့်ရေး ပူးတွဲကြေညာချက်။ အဖွဲ့ ၁၂၀ က တောင်းဆိုသည်။"),
        content_type=html,
    )
    any_host.expect_request("/pv/posts/3").respond_with_data(
        post(" ".join(["We stand with the people of Sagaing"] * 4)), content_type=html
    )
    any_host.expect_request("/pv/posts/4").respond_with_data(
        '<html id="facebook"><head><title>Facebook</title><meta property="og:site_name" content="Facebook">'
        "</head></html>",
        content_type=html,
    )
    any_host.expect_request("/pv/posts/5").respond_with_data(
        "", status=302, headers={"Location": "http://www.facebook.com/login/?next=%2Fpv%2Fposts%2F5"}
    )
    any_host.expect_request("/login/").respond_with_data(
        '<html><head><title>Log into Facebook</title><meta property="og:site_name" content="Facebook">'
        '<meta property="og:description" content="Log into Facebook to start sharing and connecting."></head></html>',
        content_type=html,
    )
    write_issue_file(project, base_of(any_host))
    posts = [f"http://www.facebook.com/pv/posts/{number}" for number in range(1, 6)]

    result = cli("add", "issues/2024-03-14.yaml", *posts, cwd=project.root)

    assert result.stdout.splitlines() == [
        f"issues/2024-03-14.yaml: added under statements: 'Joint Statement: Stop the Airstrikes on Schools!' <{posts[0]}>",
        "issues/2024-03-14.yaml: added under statements: "
        f"'စစ်ကောင်စီ လေကြောင်းတိုက်ခိုက်မှု ရပ်တန့်ရေး ပူးတွဲကြေညာချက်' [my] <{posts[1]}>",
        "issues/2024-03-14.yaml: added under statements: 'We stand with the people of Sagaing We stand with the "
        f"people of Sagaing We stand with the people of…' <{posts[2]}>",
    ]
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        f"issues/2024-03-14.yaml: error: {posts[3]}: found no title on the page: Facebook shows it only to a "
        "browser, or to one signed in; give one with --title",
        f"issues/2024-03-14.yaml: error: {posts[4]}: redirected to a login page ('Log into Facebook to start "
        "sharing and connecting', http://www.facebook.com/login/?next=%2Fpv%2Fposts%2F5) rather than the page; "
        "give its title with --title and its organizations with --by to add it all the same",
    ]


@pytest.mark.parametrize(
    ("head", "title"),
    [
        (
            '<meta name="application-name" content="ဧရာဝတီ">',
            "စစ်ကောင်စီ လေကြောင်းတိုက်ခိုက်မှု အရပ်သား ၁၀ ဦး သေဆုံး",
        ),
        (
            '<script type="application/ld+json">{"@graph": [{"@type": "WebSite", "@id": "#website", "name": '
            '"The Irrawaddy", "alternateName": ["Irrawaddy", "ဧရာဝတီ"]}]}</script>',
            "စစ်ကောင်စီ လေကြောင်းတိုက်ခိုက်မှု အရပ်သား ၁၀ ဦး သေဆုံး",
        ),
        (
            '<script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "The Irrawaddy", '
            '"publisher": {"@id": "#org"}}, {"@type": "NewsMediaOrganization", "@id": "#org", "name": "ဧရာဝတီ"}]}'
            "</script>",
            "စစ်ကောင်စီ လေကြောင်းတိုက်ခိုက်မှု အရပ်သား ၁၀ ဦး သေဆုံး",
        ),
        # Nothing says the last segment is the site's: it may be the title's own.
        ("", "စစ်ကောင်စီ လေကြောင်းတိုက်ခိုက်မှု အရပ်သား ၁၀ ဦး သေဆုံး - ဧရာဝတီ"),
    ],
    ids=["application-name", "WebSite alternateName", "WebSite publisher", "unknown"],
)
def test_a_site_s_name_in_another_language_is_taken_off_a_title_where_the_site_gives_it(
    project: Project, any_host: HTTPServer, head: str, title: str
) -> None:
    any_host.expect_request("/news/1").respond_with_data(
        '<html lang="my"><head><meta property="og:site_name" content="The Irrawaddy">'
        '<meta property="og:title" content="စစ်ကောင်စီ လေကြောင်းတိုက်ခိုက်မှု အရပ်သား ၁၀ ဦး သေဆုံး - ဧရာဝတီ">'
        f"{head}</head></html>",
        content_type="text/html; charset=utf-8",
    )
    path = write_issue_file(project, base_of(any_host))

    [outcome] = add_resources(project, path, ["http://burma.irrawaddy.com/news/1"]).outcomes

    assert outcome.resource is not None
    assert (outcome.resource.title, outcome.resource.by) == (title, ("The Irrawaddy",))


def test_a_report_on_reliefweb_is_by_its_sources_and_titled_without_reliefweb_s_place(
    project: Project, any_host: HTTPServer, cli: Callable[..., Result]
) -> None:
    html = "text/html; charset=utf-8"
    any_host.expect_request("/report/myanmar/update-36").respond_with_data(
        reliefweb_report(
            "Myanmar Humanitarian Update No. 36 | 26 January 2024 - Myanmar",
            "Situation Report in English on Myanmar about Protection and Human Rights and Shelter and Non-Food "
            "Items; published on 26 Jan 2024 by OCHA",
        ),
        content_type=html,
    )
    any_host.expect_request("/report/myanmar/floods").respond_with_data(
        reliefweb_report(
            "Floods in Bago - Myanmar",
            "Assessment in English on Myanmar and 1 other country about Food and Nutrition; published on 2 Feb 2024 "
            "by UNHCR, WFP and 1 other organization",
        ),
        content_type=html,
    )
    any_host.expect_request("/report/myanmar/old").respond_with_data(
        reliefweb_report("An Old Report - Myanmar", None), content_type=html
    )
    write_issue_file(project, base_of(any_host))
    update, floods, old = (
        f"http://reliefweb.int/report/myanmar/{page}" for page in ("update-36", "floods", "old")
    )

    result = cli(
        "add", "issues/2024-03-14.yaml", update, floods, old, "--category", "reports", cwd=project.root
    )

    assert (result.exit_code, result.stdout.splitlines()) == (
        0,
        [
            f"issues/2024-03-14.yaml: added under reports: 'Myanmar Humanitarian Update No. 36 | 26 January 2024' "
            f"by OCHA <{update}>",
            f"issues/2024-03-14.yaml: added under reports: 'Floods in Bago' by UNHCR, WFP <{floods}>",
            f"issues/2024-03-14.yaml: added under reports: 'An Old Report - Myanmar' <{old}>",
        ],
    )
    assert result.stderr.splitlines() == [
        f"issues/2024-03-14.yaml: warning: {floods}: ReliefWeb names UNHCR, WFP and counts 1 other organization "
        "it does not name: give them all with --by",
        f"issues/2024-03-14.yaml: warning: {old}: the page is on ReliefWeb, which does not say who published it: "
        "give the organizations with --by",
    ]
    # What collect takes for an entry its feed does not date.
    assert read_html(
        reliefweb_report("Floods - Myanmar", "Map on Myanmar; published on 2 Feb 2024 by WFP"), floods
    ) == (PageMetadata("Floods", ("WFP",), "en", date(2024, 2, 2)))
