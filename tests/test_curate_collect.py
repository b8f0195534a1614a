"""`broadsheet collect`: the week's entries of partners' feeds, added once, and never again once deleted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from broadsheet.build import check
from broadsheet.curate.collect import collect, summary
from broadsheet.errors import BroadsheetError, InvalidInput, UsageError, errors_in
from broadsheet.settings import Project

from .curate_site import (
    BURMESE_TITLE,
    ISSUE,
    any_host,
    make_project,
    reliefweb_report,
    site,
    write_issue_file,
)

__all__ = ["any_host", "site"]

# The already published statement is written here as another way of writing the issue's URL (http, www., a last
# slash, a tracking parameter): the same page, never offered again.
RSS2 = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Coalition for Rights Monitoring - Statements</title><link>{base}/</link><description>d</description>
<item><title>Joint Appeal: Winter Aid for Displaced Families</title><link>{base}/statements/appeal?utm_source=rss&amp;utm_medium=feed</link>
 <pubDate>Tue, 12 Mar 2024 08:00:00 +0000</pubDate></item>
<item><title>Last Week's Statement</title><link>{base}/statements/last-week</link><pubDate>Tue, 05 Mar 2024 08:00:00 +0000</pubDate></item>
<item><title>An Old Statement, Already Published</title><link>http://www.example.org/old-statement/?utm_source=rss</link><pubDate>Sun, 10 Mar 2024 08:00:00 +0000</pubDate></item>
<item><title>Next Week's Statement</title><link>{base}/statements/next-week</link><pubDate>Wed, 20 Mar 2024 08:00:00 +0000</pubDate></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example Relief Network</title><id>urn:ern</id><updated>2024-03-13T00:00:00Z</updated>
<entry><title>Cold Season Needs Assessment</title><link rel="alternate" href="{base}/reports/cold-season"/><id>urn:1</id>
 <updated>2024-03-11T10:00:00Z</updated></entry>
<entry><title>Cold Season Needs Assessment (PDF)</title><link href="{base}/files/needs.pdf"/><id>urn:2</id>
 <published>2024-03-13T10:00:00Z</published><updated>2024-03-13T10:00:00Z</updated></entry>
<entry><title>February Update</title><link href="{base}/reports/february"/><id>urn:3</id><updated>2024-03-01T10:00:00Z</updated></entry>
</feed>
"""

RSS1 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{base}/my/"><title>Burma Partner</title><link>{base}/my/</link><description>d</description>
 <items><rdf:Seq><rdf:li rdf:resource="{base}/my/report"/></rdf:Seq></items></channel>
<item rdf:about="{base}/my/report"><title>{title}</title><link>{base}/my/report</link><dc:date>2024-03-12T09:00:00+06:30</dc:date></item>
</rdf:RDF>
"""

SOURCES = """
[[sources]]
name = "Coalition for Rights Monitoring"
feed = "{base}/feeds/crm.xml"
category = "statements"
organization = "Coalition for Rights Monitoring"

[[sources]]
name = "Example Relief Network"
feed = "{base}/feeds/ern.atom"
category = "reports"

[[sources]]
name = "Burma Partner"
feed = "{base}/feeds/burma.rdf"
category = "reports"

[[sources]]
name = "Broken Partner"
feed = "{base}/feeds/broken"

[[sources]]
name = "Moved Partner"
feed = "{base}/feeds/nowhere"
"""


@pytest.fixture
def feeds(site: HTTPServer) -> HTTPServer:
    base = site.url_for("").rstrip("/")
    site.expect_request("/feeds/crm.xml", headers={"If-None-Match": '"crm-1"'}).respond_with_data(
        "", status=304
    )
    site.expect_request("/feeds/crm.xml").respond_with_data(
        RSS2.format(base=base), content_type="application/rss+xml", headers={"ETag": '"crm-1"'}
    )
    site.expect_request("/feeds/ern.atom").respond_with_data(
        ATOM.format(base=base),
        content_type="application/atom+xml",
        headers={"Last-Modified": "Wed, 13 Mar 2024 00:00:00 GMT"},
    )
    site.expect_request("/feeds/burma.rdf").respond_with_data(
        RSS1.format(base=base, title=BURMESE_TITLE), content_type="application/rdf+xml"
    )
    site.expect_request("/feeds/broken").respond_with_data(
        "<html><body>Not a feed</body></html>", content_type="text/html"
    )
    site.expect_request("/feeds/nowhere").respond_with_data("", status=404)
    return site


@pytest.fixture
def project(tmp_path: Path, feeds: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("BROADSHEET_DATABASE_URL", raising=False)
    project = make_project(tmp_path, SOURCES.format(base=feeds.url_for("").rstrip("/")))
    base = feeds.url_for("").rstrip("/")
    write_issue_file(project, base, "2024-03-07.yaml", ISSUE.replace("2024-03-14", "2024-03-07"))
    return project


def test_collect_adds_the_entries_of_the_week_under_their_sources_categories(
    project: Project, feeds: HTTPServer
) -> None:
    base = feeds.url_for("").rstrip("/")
    path = write_issue_file(project, base)
    before = path.read_text(encoding="utf-8")

    report = collect(project, path)

    statements = (
        '    - title: "Joint Appeal: Winter Aid for Displaced Families"\n'
        f"      url: {base}/statements/appeal\n"
        "      by: Coalition for Rights Monitoring\n"
    )
    reports = (
        "  reports:   # none yet\n"
        "    - title: Cold Season Needs Assessment\n"
        f"      url: {base}/reports/cold-season\n"
        "      by: Example Relief Network\n"
        "    - title: Cold Season Needs Assessment (PDF)\n"
        f"      url: {base}/files/needs.pdf\n"
        "      by: Example Relief Network\n"
        f"    - title: {BURMESE_TITLE}\n"
        f"      url: {base}/my/report\n"
        "      by: Burma Partner\n"
        "      lang: my\n"
    )
    expected = before.replace(
        "      by: [Progressive Voice]\n", "      by: [Progressive Voice]\n" + statements
    ).replace("  reports: []   # none yet\n", reports)
    assert path.read_text(encoding="utf-8") == expected
    assert errors_in(check(project, path)) == []
    assert (report.since, report.until, report.already_published) == (date(2024, 3, 7), date(2024, 3, 14), 1)
    assert summary(report) == [
        "collected entries published after 2024-03-07 up to 2024-03-14: added 1 under statements, 3 under reports",
        "skipped 1 already published in an issue",
        "feed failed: Broken Partner: not an RSS or Atom feed",
        "feed failed: Moved Partner: 404 Not Found",
    ]


def test_collect_again_adds_nothing_asks_with_validators_and_never_offers_a_deleted_entry_again(
    project: Project, feeds: HTTPServer
) -> None:
    base = feeds.url_for("").rstrip("/")
    path = write_issue_file(project, base)
    collect(project, path)
    after_first = path.read_bytes()
    feeds.clear_log()

    second = collect(project, path)

    assert path.read_bytes() == after_first
    assert (second.added_count, second.already_published) == (0, 5)
    asked = {
        request.path: (
            request.headers.get("If-None-Match"),
            request.headers.get("If-Modified-Since"),
            response.status_code,
        )
        for request, response in feeds.log
    }
    assert asked["/feeds/crm.xml"] == ('"crm-1"', None, 304)
    assert asked["/feeds/ern.atom"] == (None, "Wed, 13 Mar 2024 00:00:00 GMT", 200)
    assert not any(path.startswith(("/statements", "/reports", "/files", "/my")) for path in asked)

    deleted = after_first.decode("utf-8").replace(
        f"    - title: Cold Season Needs Assessment\n      url: {base}/reports/cold-season\n      by: Example Relief Network\n",
        "",
    )
    path.write_text(deleted, encoding="utf-8")
    third = collect(project, path)

    assert path.read_text(encoding="utf-8") == deleted
    assert (third.added_count, third.already_offered) == (0, 1)


def test_since_overrides_the_previous_issue_and_without_either_collect_says_what_to_give(
    project: Project, feeds: HTTPServer
) -> None:
    base = feeds.url_for("").rstrip("/")
    path = write_issue_file(project, base)
    (project.issues_dir / "2024-03-07.yaml").unlink()

    with pytest.raises(
        UsageError, match=r"no issue before 2024-03-14 in issues/ to collect since; give --since DATE"
    ):
        collect(project, path)
    report = collect(project, path, since=date(2024, 3, 12))

    assert [r.url for items in report.added.values() for r in items] == [f"{base}/files/needs.pdf"]


def test_sources_are_validated_like_every_setting(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as missing:
        make_project(tmp_path / "a", '[[sources]]\nname = "No Feed"\n')
    with pytest.raises(InvalidInput) as category:
        make_project(
            tmp_path / "b",
            '[[sources]]\nname = "P"\nfeed = "https://example.org/feed"\ncategory = "statement"\n',
        )
    with pytest.raises(InvalidInput) as scheme:
        make_project(tmp_path / "c", '[[sources]]\nname = "P"\nfeed = "ftp://example.org/feed"\n')

    assert [d.field + ": " + d.message for d in missing.value.diagnostics] == [
        "sources[0].feed: required field is missing"
    ]
    assert [str(d) for d in category.value.diagnostics] == [
        f"{tmp_path / 'b' / 'broadsheet.toml'}:32: error: sources[0].category: unknown category 'statement'; did you mean 'statements'? "
        "(configured categories: statements, reports)"
    ]
    assert (
        "Expected an http(s) URL but received: 'ftp://example.org/feed'"
        in scheme.value.diagnostics[0].message
    )


def test_collect_without_sources_says_where_to_declare_them(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    path = write_issue_file(project, "https://example.org")

    with pytest.raises(
        BroadsheetError, match=r"declare each partner's feed as a \[\[sources\]\] table in broadsheet.toml"
    ):
        collect(project, path)


def test_collect_command_prints_what_it_added_and_the_summary_and_exits_1_for_a_failed_feed(
    project: Project, feeds: HTTPServer, cli: Callable[..., Result]
) -> None:
    base = feeds.url_for("").rstrip("/")
    write_issue_file(project, base)

    result = cli("collect", "issues/2024-03-14.yaml", cwd=project.root)

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"issues/2024-03-14.yaml: added under statements: 'Joint Appeal: Winter Aid for Displaced Families' by Coalition for Rights Monitoring <{base}/statements/appeal>",
        f"issues/2024-03-14.yaml: added under reports: 'Cold Season Needs Assessment' by Example Relief Network <{base}/reports/cold-season>",
        f"issues/2024-03-14.yaml: added under reports: 'Cold Season Needs Assessment (PDF)' by Example Relief Network <{base}/files/needs.pdf>",
        f"issues/2024-03-14.yaml: added under reports: '{BURMESE_TITLE}' [my] by Burma Partner <{base}/my/report>",
        "issues/2024-03-14.yaml: collected entries published after 2024-03-07 up to 2024-03-14: added 1 under statements, 3 under reports",
        "issues/2024-03-14.yaml: skipped 1 already published in an issue",
    ]
    assert result.stderr.splitlines() == [
        "issues/2024-03-14.yaml: feed failed: Broken Partner: not an RSS or Atom feed",
        "issues/2024-03-14.yaml: feed failed: Moved Partner: 404 Not Found",
    ]


DAY = "<pubDate>Tue, 12 Mar 2024 08:00:00 +0000</pubDate>"


def one_feed_project(
    tmp_path: Path, server: HTTPServer, monkeypatch: pytest.MonkeyPatch, feed: str
) -> tuple[Project, Path]:
    """A project whose one source serves `feed` (formatted with `base`), and its issue of 2024-03-14."""
    monkeypatch.delenv("BROADSHEET_DATABASE_URL", raising=False)
    base = server.url_for("").rstrip("/")
    server.expect_request("/feeds/one.xml").respond_with_data(
        feed.format(base=base), content_type="application/rss+xml"
    )
    project = make_project(
        tmp_path, f'[[sources]]\nname = "One"\nfeed = "{base}/feeds/one.xml"\ncategory = "reports"\n'
    )
    return project, write_issue_file(project, base)


def rss(*items: str) -> str:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>One</title><link>{base}/</link>'
        "<description>d</description>"
        + "".join(f"<item>{item}</item>" for item in items)
        + "</channel></rss>"
    )


def test_an_entry_that_redirects_to_a_url_that_is_not_http_does_not_stop_the_others(
    tmp_path: Path, site: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, path = one_feed_project(
        tmp_path,
        site,
        monkeypatch,
        rss(
            f"<title>Mail Us</title><link>{{base}}/to-mailto</link>{DAY}",
            f"<title>Villages</title><link>{{base}}/press/villages</link>{DAY}",
        ),
    )
    base = site.url_for("").rstrip("/")

    report = collect(project, path, since=date(2024, 3, 7))

    assert [r.url for r in report.added["reports"]] == [f"{base}/to-mailto", f"{base}/press/villages"]
    assert report.notes == [
        f"{base}/to-mailto: the page could not be read (redirected to a URL that is not http(s): 'mailto:x@y.z'); "
        "added from the feed alone"
    ]


def test_an_entry_for_a_document_it_cannot_read_is_added_where_its_permanent_redirects_lead(
    tmp_path: Path, site: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed's link through a tracker, to a Word file: readers get the file's own address."""
    base = site.url_for("").rstrip("/")
    site.expect_request("/track/report").respond_with_data(
        "", status=301, headers={"Location": f"{base}/files/report.docx"}
    )
    site.expect_request("/files/report.docx").respond_with_data(
        b"PK\x03\x04 not read",
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    project, path = one_feed_project(
        tmp_path,
        site,
        monkeypatch,
        rss(f"<title>Annual Report</title><link>{{base}}/track/report</link>{DAY}"),
    )

    report = collect(project, path, since=date(2024, 3, 7))

    assert [(r.title, r.url) for r in report.added["reports"]] == [
        ("Annual Report", f"{base}/files/report.docx")
    ]
    assert len(report.notes) == 1
    assert report.notes[0].startswith(f"{base}/files/report.docx: the page could not be read (")
    assert report.notes[0].endswith("); added from the feed alone")


def test_a_relative_link_is_read_against_the_feed_and_every_entry_left_out_is_counted_with_why(
    tmp_path: Path, site: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, path = one_feed_project(
        tmp_path,
        site,
        monkeypatch,
        rss(
            f"<title>Relative</title><link>/press/villages</link>{DAY}",
            "<title>Undated, and its page too</title><link>{base}/my/report</link>",
            "<title>Unreadable Date</title><link>{base}/cp1252/header</link><pubDate>sometime in March</pubDate>",
            f"<title>Script</title><link>javascript:alert(1)</link>{DAY}",
            f"<title>No Link</title>{DAY}",
        ),
    )
    base = site.url_for("").rstrip("/")

    report = collect(project, path, since=date(2024, 3, 7))

    assert [r.url for r in report.added["reports"]] == [f"{base}/press/villages"]
    assert summary(report) == [
        "collected entries published after 2024-03-07 up to 2024-03-14: added 1 under reports",
        "skipped 1 without a date, in the feed or on its page",
        "skipped 1 whose date could not be read: 'sometime in March'",
        "skipped 2 without an http(s) link, such as 'javascript:alert(1)'",
    ]


def test_a_title_that_the_feed_writes_as_html_is_added_as_its_text(
    tmp_path: Path, site: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    updated = "<updated>2024-03-12T08:00:00Z</updated>"
    project, path = one_feed_project(
        tmp_path,
        site,
        monkeypatch,
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        '<title type="html">UN &lt;b&gt;Relief&lt;/b&gt; Agency</title><id>urn:un</id>'
        '<entry><title type="html">&lt;strong&gt;Alert&lt;/strong&gt;: floods &amp;amp; more</title>'
        f'<link href="{{base}}/press/villages"/><id>urn:1</id>{updated}</entry>'
        '<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">An <em>urgent</em> call</div></title>'
        f'<link href="{{base}}/reports/cold-season"/><id>urn:2</id>{updated}</entry>'
        "<entry><title>Why 5 &lt; 6 &amp; &lt;b&gt; is text</title>"
        f'<link href="{{base}}/files/needs.pdf"/><id>urn:3</id>{updated}</entry></feed>',
    )

    report = collect(project, path, since=date(2024, 3, 7))

    assert [(r.title, r.by) for r in report.added["reports"]] == [
        ("Alert: floods & more", ("UN Relief Agency",)),
        ("An urgent call", ("UN Relief Agency",)),
        ("Why 5 < 6 & <b> is text", ("UN Relief Agency",)),
    ]


def test_an_aggregator_s_feed_adds_each_page_by_the_sources_it_names_not_by_the_feed(
    tmp_path: Path, any_host: HTTPServer
) -> None:
    """ReliefWeb's feed is titled by ReliefWeb; each report is by the organizations its page names."""
    any_host.expect_request("/updates/rss.xml").respond_with_data(
        """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>ReliefWeb - Updates</title><link>http://reliefweb.int/</link><description>d</description>
<item><title>Myanmar Humanitarian Update No. 37</title><link>http://reliefweb.int/report/myanmar/update-37</link>
 <pubDate>Tue, 12 Mar 2024 08:00:00 +0000</pubDate></item>
<item><title>Another Report</title><link>http://reliefweb.int/report/myanmar/another</link>
 <pubDate>Tue, 12 Mar 2024 09:00:00 +0000</pubDate></item>
</channel></rss>
""",
        content_type="application/rss+xml",
    )
    any_host.expect_request("/report/myanmar/update-37").respond_with_data(
        reliefweb_report(
            "Myanmar Humanitarian Update No. 37 - Myanmar",
            "Situation Report in English on Myanmar; published on 12 Mar 2024 by OCHA",
        ),
        content_type="text/html; charset=utf-8",
    )
    any_host.expect_request("/report/myanmar/another").respond_with_data(
        reliefweb_report("Another Report - Myanmar", None), content_type="text/html; charset=utf-8"
    )
    project = make_project(
        tmp_path / "project",
        """
        [[sources]]
        name = "ReliefWeb"
        feed = "http://reliefweb.int/updates/rss.xml"
        category = "reports"
        """,
    )
    base = any_host.url_for("").rstrip("/")
    write_issue_file(project, base, "2024-03-07.yaml", ISSUE.replace("2024-03-14", "2024-03-07"))
    path = write_issue_file(project, base)

    collect(project, path)

    text = path.read_text(encoding="utf-8")
    assert (
        "    - title: Myanmar Humanitarian Update No. 37\n"
        "      url: http://reliefweb.int/report/myanmar/update-37\n"
        "      by: OCHA\n"
    ) in text
    # A page that names no source is still the feed's, as before.
    assert (
        "    - title: Another Report\n      url: http://reliefweb.int/report/myanmar/another\n      by: ReliefWeb\n"
    ) in text


def test_a_category_s_feed_is_by_the_site_its_title_names_not_by_the_category_and_site(
    tmp_path: Path, any_host: HTTPServer
) -> None:
    """WordPress titles a category's feed `Statements &#8211; Site` (`Site &#187; Statements` before 4.4)."""

    def feed(title: str, link: str) -> str:
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>http://x/</link>'
            f"<description>d</description><item><title>A Statement</title><link>{link}</link>{DAY}</item>"
            "</channel></rss>"
        )

    pv, nug = "http://progressivevoicemyanmar.org/2024/03/12/a/", "http://gov.nugmyanmar.org/2024/03/12/b/"
    any_host.expect_request("/category/statements/feed/").respond_with_data(
        feed("Statements &#8211; Progressive Voice Myanmar", pv), content_type="application/rss+xml"
    )
    any_host.expect_request("/category/statement/feed/").respond_with_data(
        feed("National Unity Government of Myanmar &#187; ထုတ်ပြန်ချက်များ", nug),
        content_type="application/rss+xml",
    )
    any_host.expect_request("/2024/03/12/a/").respond_with_data(
        "<html><head><title>A Statement</title></head></html>", content_type="text/html"
    )
    # No host spells this site's name: its page does.
    any_host.expect_request("/2024/03/12/b/").respond_with_data(
        '<html><head><meta property="og:site_name" content="National Unity Government of Myanmar">'
        "<title>A Statement</title></head></html>",
        content_type="text/html",
    )
    project = make_project(
        tmp_path / "project",
        """
        [[sources]]
        name = "PV"
        feed = "http://progressivevoicemyanmar.org/category/statements/feed/"

        [[sources]]
        name = "NUG"
        feed = "http://gov.nugmyanmar.org/category/statement/feed/"
        """,
    )
    path = write_issue_file(project, any_host.url_for("").rstrip("/"))

    report = collect(project, path, since=date(2024, 3, 7))

    assert [(r.url, r.by) for r in report.added["statements"]] == [
        (pv, ("Progressive Voice Myanmar",)),
        (nug, ("National Unity Government of Myanmar",)),
    ]
