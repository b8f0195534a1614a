"""The web archive: a page per issue and locale at the email's "view in browser" address, indexes and Atom feeds."""

from __future__ import annotations

import itertools
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
from markupsafe import escape

from broadsheet import markdown
from broadsheet.errors import InvalidInput
from broadsheet.issue import read_issue
from broadsheet.settings import Project, find_project
from broadsheet.site import build_site

from .support import ISSUE, REPO, SAMPLE, SCREENSHOTS

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PUBLISHER_MY = "ပရိုဂရက်ဆစ်ဗွိုက်စ်"
"""The publisher's name in the sample's Burmese names catalog."""

SECOND = """\
date: 2024-01-04
title: The Year <b>Ahead</b>
summary: What to watch in 2024.
editorial: |
  One paragraph about the year ahead.
resources:
  reports:
    - title: A report
      url: https://example.org/r
      by: Org One
"""


class _Links(HTMLParser):
    """Every tag's attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tags


def _relative_files(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


@pytest.fixture
def two_issues(tmp_path: Path) -> Project:
    """The repository's project with the sample issue and a newer one, whose title holds markup."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "broadsheet.toml", root / "broadsheet.toml")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "locales", root / "locales")
    (root / "issues").mkdir()
    shutil.copy(SAMPLE, root / "issues" / SAMPLE.name)
    (root / "issues" / "2024-01-04.yaml").write_text(SECOND, encoding="utf-8")
    return find_project(root)


@pytest.fixture(scope="module")
def sample_site(repo_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site(repo_project, out)
    return out


def test_every_locale_has_an_index_a_page_per_issue_and_a_feed(repo_project: Project, tmp_path: Path) -> None:
    written = build_site(repo_project, tmp_path).written
    issues = sorted(path.stem for path in repo_project.issues_dir.glob("*.yaml"))
    expected = sorted(
        f"{locale}/{name}"
        for locale in repo_project.settings.locales
        for name in ["index.html", "feed.atom", *(f"{day}/index.html" for day in issues)]
    )
    assert sorted(path.relative_to(tmp_path).as_posix() for path in written) == expected
    # And the list of them, for the next build to remove those it no longer writes.
    assert _relative_files(tmp_path) == [".broadsheet-pages", *expected]
    assert (tmp_path / ".broadsheet-pages").read_text(encoding="utf-8").splitlines() == expected


def test_page_holds_every_paragraph_footnote_and_resource(repo_project: Project, sample_site: Path) -> None:
    issue = read_issue(SAMPLE, repo_project.settings).issue
    assert issue is not None
    page = (sample_site / "en" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="en"')
    assert "<h1>A Year of Tragedy and Hope</h1>" in page
    assert "By Progressive Voice" in page
    assert "December 21, 2023" in page
    assert issue.image is not None
    assert f'alt="{escape(issue.image.alt)}"' in page
    for paragraph in issue.paragraphs:
        assert markdown.to_html(paragraph.markdown, issue.footnote_numbers) in page
    assert 'id="fn-1"' in page
    for resource in issue.resources:
        assert f'href="{resource.url}"' in page
        assert str(escape(resource.title)) in page
        assert str(escape(f"By {', '.join(resource.by)}")) in page


def test_burmese_page_is_burmese_with_english_fallback_marked(sample_site: Path) -> None:
    page = (sample_site / "my" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="my"' in page
    assert "<h1>ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ</h1>" in page
    assert "၂၀၂၃ ဒီဇင်ဘာ ၂၁" in page
    assert "Noto Sans Myanmar" in page and "line-height: 1.8" in page
    assert '<div lang="en"><p>In May, Cyclone Mocha' in page
    assert '[lang="en"] { font-family: Helvetica, Arial, sans-serif; line-height: 1.6; }' in page


def test_burmese_pages_and_feed_name_the_publisher_as_the_names_catalog_gives_it(sample_site: Path) -> None:
    page = (sample_site / "my" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    assert f'<a class="publisher" href="../index.html">{PUBLISHER_MY}</a>' in page
    assert f"<p><strong>{PUBLISHER_MY}</strong>" in page
    assert f"<title>ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ · {PUBLISHER_MY}</title>" in page
    index = (sample_site / "my" / "index.html").read_text(encoding="utf-8")
    assert f"<title>{PUBLISHER_MY}</title>" in index and f"<h1>{PUBLISHER_MY}</h1>" in index
    assert "Progressive Voice" not in page + index
    feed = ET.parse(sample_site / "my" / "feed.atom").getroot()
    assert feed.findtext(f"{ATOM}title") == PUBLISHER_MY
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == PUBLISHER_MY
    english = ET.parse(sample_site / "en" / "feed.atom").getroot()
    assert english.findtext(f"{ATOM}title") == "Progressive Voice"


def test_a_publisher_left_untranslated_is_marked_english_on_the_pages_and_in_the_feed(
    two_issues: Project, tmp_path: Path
) -> None:
    names = two_issues.locales_dir / "my" / "LC_MESSAGES" / "names.po"
    names.write_text(
        names.read_text(encoding="utf-8").replace(f'msgstr "{PUBLISHER_MY}"', 'msgstr ""'), encoding="utf-8"
    )
    build_site(two_issues, tmp_path / "out")
    page = (tmp_path / "out" / "my" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    assert '<a class="publisher" href="../index.html" lang="en">Progressive Voice</a>' in page
    assert '<p><strong lang="en">Progressive Voice</strong>' in page
    assert 'type="application/atom+xml" title="Progressive Voice" lang="en"' in page
    index = (tmp_path / "out" / "my" / "index.html").read_text(encoding="utf-8")
    assert '<title lang="en">Progressive Voice</title>' in index
    assert '<h1 lang="en">Progressive Voice</h1>' in index
    feed = ET.parse(tmp_path / "out" / "my" / "feed.atom").getroot()
    for path in (f"{ATOM}title", f"{ATOM}author/{ATOM}name"):
        element = feed.find(path)
        assert element is not None and element.text == "Progressive Voice" and element.get(XML_LANG) == "en"


def test_an_author_and_a_name_of_a_by_line_left_untranslated_are_marked_english_on_the_page_and_in_the_feed(
    two_issues: Project, tmp_path: Path
) -> None:
    issue = two_issues.issues_dir / "2024-01-04.yaml"
    issue.write_text(
        "author: Org Two\n" + SECOND.replace("by: Org One", "by: [Progressive Voice, Org One]"),
        encoding="utf-8",
    )
    build_site(two_issues, tmp_path / "out")
    page = (tmp_path / "out" / "my" / "2024-01-04" / "index.html").read_text(encoding="utf-8")
    assert '<p class="meta">ရေးသားသူ - <span lang="en">Org Two</span></p>' in page
    assert f'<span class="by">ရေးသားသူ - {PUBLISHER_MY}၊ <span lang="en">Org One</span></span>' in page
    newest, sample = ET.parse(tmp_path / "out" / "my" / "feed.atom").getroot().findall(f"{ATOM}entry")
    author = newest.find(f"{ATOM}author/{ATOM}name")
    assert author is not None and (author.text, author.get(XML_LANG)) == ("Org Two", "en")
    translated = sample.find(f"{ATOM}author/{ATOM}name")
    assert translated is not None and (translated.text, translated.get(XML_LANG)) == (PUBLISHER_MY, None)
    english = (tmp_path / "out" / "en" / "2024-01-04" / "index.html").read_text(encoding="utf-8")
    assert '<span class="by">By Progressive Voice, Org One</span>' in english and "<span lang=" not in english


def test_a_name_written_in_burmese_is_marked_burmese_on_the_english_page_and_in_its_feed_not_english_in_the_burmese(
    two_issues: Project, tmp_path: Path
) -> None:
    refugee_aid = "ဒုက္ခသည်ကူညီရေးအဖွဲ့"
    issue = two_issues.issues_dir / "2024-01-04.yaml"
    issue.write_text(
        f"author: {refugee_aid}\n" + SECOND.replace("by: Org One", f"by: {refugee_aid}"), encoding="utf-8"
    )
    build_site(two_issues, tmp_path / "out")
    english = (tmp_path / "out" / "en" / "2024-01-04" / "index.html").read_text(encoding="utf-8")
    assert f'<p class="meta">By <span lang="my">{refugee_aid}</span></p>' in english
    assert f'<span class="by">By <span lang="my">{refugee_aid}</span></span>' in english
    newest = ET.parse(tmp_path / "out" / "en" / "feed.atom").getroot().findall(f"{ATOM}entry")[0]
    author = newest.find(f"{ATOM}author/{ATOM}name")
    assert author is not None and (author.text, author.get(XML_LANG)) == (refugee_aid, "my")
    burmese = (tmp_path / "out" / "my" / "2024-01-04" / "index.html").read_text(encoding="utf-8")
    assert f'<p class="meta">ရေးသားသူ - {refugee_aid}</p>' in burmese
    assert f'<span lang="en">{refugee_aid}' not in burmese


def test_the_postal_address_is_marked_english_in_the_burmese_pages_footer(sample_site: Path) -> None:
    address = "P.O. Box 000, Chiang Mai 50200, Thailand"
    for page in ("my/index.html", "my/2023-12-21/index.html"):
        footer = (sample_site / page).read_text(encoding="utf-8").split("<footer>")[1]
        assert f'<br><span lang="en">{address}</span><br>' in footer
    english = (sample_site / "en" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    assert f"<br>{address}<br>" in english


def test_a_footnote_mark_in_burmese_digits_in_english_left_untranslated_is_marked_burmese_on_the_page(
    tmp_project: Project, tmp_path: Path
) -> None:
    (tmp_project.issues_dir / "2024-01-04.yaml").write_text(ISSUE, encoding="utf-8")
    build_site(tmp_project, tmp_path / "out")
    page = (tmp_path / "out" / "my" / "2024-01-04" / "index.html").read_text(encoding="utf-8")
    assert (
        '<div lang="en"><p>Second paragraph with a footnote.<sup class="fnref" lang="my"><a href="#fn-1" id="fnref-1">[၁]</a></sup></p>'
        in page
    )
    assert (
        '<p class="fn" id="fn-1" lang="en"><span lang="my">[၁]</span> The source of the figure.</p>' in page
    )
    assert '[lang="en"] [lang="my"] { font-family: \'Noto Sans Myanmar\'' in page.replace("&#39;", "'")


def test_an_issue_page_describes_itself_to_search_engines_and_to_a_link_shared(
    two_issues: Project, tmp_path: Path
) -> None:
    no_summary = SECOND.replace("summary: What to watch in 2024.\n", "").replace("2024-01-04", "2024-01-11")
    (two_issues.issues_dir / "2024-01-11.yaml").write_text(no_summary, encoding="utf-8")
    build_site(two_issues, tmp_path)
    metas = [
        (attrs.get("name") or attrs.get("property"), attrs.get("content"))
        for tag, attrs in _tags(tmp_path / "en" / "2024-01-04" / "index.html")
        if tag == "meta" and "content" in attrs
    ]
    assert metas[metas.index(("description", "What to watch in 2024.")) :] == [
        ("description", "What to watch in 2024."),
        ("og:type", "article"),
        ("og:site_name", "Progressive Voice"),
        ("og:title", "The Year <b>Ahead</b>"),
        ("og:description", "What to watch in 2024."),
        ("og:url", "https://progressivevoicemyanmar.org/newsletter/en/2024-01-04/"),
        ("article:published_time", "2024-01-04"),
    ]
    # Without a summary, the first paragraph says what the issue is, as the inbox preview does.
    page = (tmp_path / "en" / "2024-01-11" / "index.html").read_text(encoding="utf-8")
    assert '<meta name="description" content="One paragraph about the year ahead.">' in page
    sample = (tmp_path / "my" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    issue = read_issue(SAMPLE, two_issues.settings).issue
    assert issue is not None and issue.image is not None
    assert f'<meta property="og:image" content="{issue.image.src}">' in sample
    assert '<meta property="og:title" content="ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ">' in sample


def test_pages_name_their_other_locales_with_hreflang(sample_site: Path) -> None:
    base = "https://progressivevoicemyanmar.org/newsletter"
    my_tags = _tags(sample_site / "my" / "2023-12-21" / "index.html")
    head = {a["hreflang"]: a["href"] for tag, a in my_tags if tag == "link" and a.get("hreflang")}
    assert head == {"en": f"{base}/en/2023-12-21/", "x-default": f"{base}/en/2023-12-21/"}
    body = {a["hreflang"]: a["href"] for tag, a in my_tags if tag == "a" and a.get("hreflang")}
    assert body == {"en": "../../en/2023-12-21/index.html"}
    en_tags = _tags(sample_site / "en" / "2023-12-21" / "index.html")
    assert ("link", {"rel": "canonical", "href": f"{base}/en/2023-12-21/"}) in en_tags
    assert ("a", {"href": "../../my/2023-12-21/index.html", "hreflang": "my", "lang": "my"}) in en_tags
    assert (
        "link",
        {"rel": "alternate", "hreflang": "x-default", "href": f"{base}/en/2023-12-21/"},
    ) in en_tags


def test_a_locale_with_a_territory_is_written_as_a_bcp47_tag(two_issues: Project, tmp_path: Path) -> None:
    settings = two_issues.root / "broadsheet.toml"
    text = settings.read_text(encoding="utf-8").replace('locales = ["en", "my"]', 'locales = ["en", "pt_BR"]')
    settings.write_text(text, encoding="utf-8")
    build_site(find_project(two_issues.root), tmp_path / "out")
    page = tmp_path / "out" / "pt_BR" / "2023-12-21" / "index.html"
    assert page.read_text(encoding="utf-8").startswith('<!DOCTYPE html>\n<html lang="pt-BR" dir="ltr">')
    english = _tags(tmp_path / "out" / "en" / "2023-12-21" / "index.html")
    assert (
        "a",
        {"href": "../../pt_BR/2023-12-21/index.html", "hreflang": "pt-BR", "lang": "pt-BR"},
    ) in english
    assert any(tag == "link" and a.get("hreflang") == "pt-BR" for tag, a in english)
    feed = ET.parse(tmp_path / "out" / "pt_BR" / "feed.atom").getroot()
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "pt-BR"


def test_index_lists_issues_newest_first_with_local_dates(two_issues: Project, tmp_path: Path) -> None:
    build_site(two_issues, tmp_path / "out")
    index = (tmp_path / "out" / "en" / "index.html").read_text(encoding="utf-8")
    links = [
        a["href"]
        for tag, a in _tags(tmp_path / "out" / "en" / "index.html")
        if tag == "a" and a["href"].endswith("/index.html") and "hreflang" not in a
    ]
    assert links == ["2024-01-04/index.html", "2023-12-21/index.html"]
    assert index.index("January 4, 2024") < index.index("December 21, 2023")
    assert "What to watch in 2024." in index
    burmese = (tmp_path / "out" / "my" / "index.html").read_text(encoding="utf-8")
    assert burmese.index("၂၀၂၄ ဇန်နဝါရီ ၄") < burmese.index("၂၀၂၃ ဒီဇင်ဘာ ၂၁")
    assert "<title>Progressive Voice</title>" in index
    assert f"<title>{PUBLISHER_MY}</title>" in burmese


def test_issue_text_is_escaped_never_markup(two_issues: Project, tmp_path: Path) -> None:
    build_site(two_issues, tmp_path / "out")
    for page in ("en/index.html", "en/2024-01-04/index.html", "my/2024-01-04/index.html"):
        html = (tmp_path / "out" / page).read_text(encoding="utf-8")
        assert "The Year &lt;b&gt;Ahead&lt;/b&gt;" in html
        assert "<b>Ahead" not in html
    feed = ET.parse(tmp_path / "out" / "en" / "feed.atom").getroot()
    assert feed.findall(f"{ATOM}entry/{ATOM}title")[0].text == "The Year <b>Ahead</b>"


def test_a_title_left_in_english_in_the_burmese_feed_is_marked_english(
    two_issues: Project, tmp_path: Path
) -> None:
    build_site(two_issues, tmp_path / "out")
    feed = ET.parse(tmp_path / "out" / "my" / "feed.atom").getroot()
    assert feed.get(XML_LANG) == "my"
    newest, sample = feed.findall(f"{ATOM}entry")
    # The newer issue has no Burmese catalog: its title and summary fall back to English, and say so.
    assert [
        (e.tag.removeprefix(ATOM), e.get(XML_LANG))
        for e in newest
        if e.tag in (f"{ATOM}title", f"{ATOM}summary")
    ] == [
        ("title", "en"),
        ("summary", "en"),
    ]
    # The sample's are translated: in the feed's language.
    title = sample.find(f"{ATOM}title")
    assert title is not None and title.get(XML_LANG) is None
    assert title.text == "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"
    english = ET.parse(tmp_path / "out" / "en" / "feed.atom").getroot()
    assert all(element.get(XML_LANG) is None for element in english.iter() if element is not english)


@pytest.mark.parametrize("locale", ["en", "my"])
def test_feed_is_atom_with_one_entry_per_issue_newest_first(
    two_issues: Project, tmp_path: Path, locale: str
) -> None:
    build_site(two_issues, tmp_path / "out")
    feed = ET.parse(tmp_path / "out" / locale / "feed.atom").getroot()
    assert feed.tag == f"{ATOM}feed"
    base = f"https://progressivevoicemyanmar.org/newsletter/{locale}/"
    assert feed.findtext(f"{ATOM}id") == base
    assert feed.findtext(f"{ATOM}updated") == "2024-01-04T00:00:00+00:00"
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}id") for entry in entries] == [f"{base}2024-01-04/", f"{base}2023-12-21/"]
    assert [entry.find(f"{ATOM}link").get("href", "").removeprefix(base) for entry in entries] == [
        "2024-01-04/",
        "2023-12-21/",
    ]  # type: ignore[union-attr]
    assert [entry.findtext(f"{ATOM}updated") for entry in entries] == [
        "2024-01-04T00:00:00+00:00",
        "2023-12-21T00:00:00+00:00",
    ]


def test_a_feed_holds_the_newest_issues_the_index_every_one(two_issues: Project, tmp_path: Path) -> None:
    for week in range(1, 25):
        day = f"{date(2024, 1, 4) + timedelta(weeks=week)}"
        (two_issues.issues_dir / f"{day}.yaml").write_text(
            SECOND.replace("2024-01-04", day), encoding="utf-8"
        )
    build_site(two_issues, tmp_path)
    index = (tmp_path / "my" / "index.html").read_text(encoding="utf-8")
    assert index.count('<p class="meta"><time ') == 26
    for locale in ("en", "my"):
        feed = feedparser.parse(tmp_path / locale / "feed.atom")
        assert not feed.bozo, feed.get("bozo_exception")
        assert [entry.published[:10] for entry in feed.entries] == [
            f"{date(2024, 1, 4) + timedelta(weeks=week)}" for week in range(24, 4, -1)
        ]
        assert feed.feed.updated == "2024-06-20T00:00:00+00:00"

    settings = two_issues.root / "broadsheet.toml"
    settings.write_text(f"feed_entries = 3\n{settings.read_text(encoding='utf-8')}", encoding="utf-8")
    build_site(find_project(two_issues.root), tmp_path)
    assert len(feedparser.parse(tmp_path / "en" / "feed.atom").entries) == 3


def test_rebuild_is_byte_identical(two_issues: Project, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    build_site(two_issues, first)
    build_site(two_issues, second)
    names = _relative_files(first)
    assert names == _relative_files(second)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_rebuild_writes_only_the_pages_that_changed(cli, two_issues: Project) -> None:
    assert cli("site", "--out", "public", cwd=two_issues.root).exit_code == 0
    public = two_issues.root / "public"
    before = {path: path.stat().st_mtime_ns for path in public.rglob("*") if path.is_file()}
    again = cli("site", "--out", "public", cwd=two_issues.root)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == "8 page(s) and feed(s) unchanged\n"
    assert {path: path.stat().st_mtime_ns for path in before} == before

    # A new issue changes its own pages, the indexes and the feeds; the older issues' pages are left alone.
    (two_issues.issues_dir / "2024-01-11.yaml").write_text(
        SECOND.replace("2024-01-04", "2024-01-11"), encoding="utf-8"
    )
    added = cli("site", "--out", "public", cwd=two_issues.root)
    assert added.exit_code == 0, added.stderr
    assert added.stdout.splitlines() == [
        *(
            f"wrote public/{locale}/{name}"
            for locale in ("en", "my")
            for name in ("index.html", "2024-01-11/index.html", "feed.atom")
        ),
        "4 page(s) and feed(s) unchanged",
    ]
    assert (public / "en" / "2023-12-21" / "index.html").stat().st_mtime_ns == before[
        public / "en" / "2023-12-21" / "index.html"
    ]


def test_relative_links_resolve_to_files_on_disk(two_issues: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_site(two_issues, out)
    checked = 0
    for page in out.rglob("*.html"):
        for tag, attrs in _tags(page):
            href = attrs.get("href") or ""
            if tag in ("a", "link") and href and not re.match(r"[a-z]+:|#", href):
                assert (page.parent / href).resolve().is_file(), f"{page.relative_to(out)}: {href}"
                checked += 1
    assert checked >= 20


def test_a_rebuild_removes_the_pages_of_an_issue_taken_out_and_nothing_else(cli, two_issues: Project) -> None:
    public = two_issues.root / "public"
    assert cli("site", "--out", "public", cwd=two_issues.root).exit_code == 0
    # What else the organization keeps beside the archive, and a list of pages that names a file outside it.
    (public / "robots.txt").write_text("User-agent: *\n", encoding="utf-8")
    (public / "en" / "2024-01-04" / "notes.html").write_text("kept", encoding="utf-8")
    (two_issues.root / "outside").mkdir()
    (two_issues.root / "outside" / "index.html").write_text("kept", encoding="utf-8")
    with (public / ".broadsheet-pages").open("a", encoding="utf-8") as listed:
        listed.write("../outside/index.html\n")
    (two_issues.issues_dir / "2024-01-04.yaml").unlink()

    result = cli("site", "--out", "public", cwd=two_issues.root)
    assert result.exit_code == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if not line.startswith("wrote ")] == [
        "removed public/en/2024-01-04/index.html",
        "removed public/my/2024-01-04/index.html",
        "2 page(s) and feed(s) unchanged",
    ]
    assert _relative_files(public) == [
        ".broadsheet-pages",
        "en/2023-12-21/index.html",
        "en/2024-01-04/notes.html",
        "en/feed.atom",
        "en/index.html",
        "my/2023-12-21/index.html",
        "my/feed.atom",
        "my/index.html",
        "robots.txt",
    ]
    assert (two_issues.root / "outside" / "index.html").read_text(encoding="utf-8") == "kept"


def test_a_rebuild_without_a_locale_removes_its_folder(two_issues: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_site(two_issues, out)
    settings = two_issues.root / "broadsheet.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace('locales = ["en", "my"]', 'locales = ["en"]'),
        encoding="utf-8",
    )
    removed = build_site(find_project(two_issues.root), out).removed
    assert sorted(path.relative_to(out).as_posix() for path in removed) == [
        "my/2023-12-21/index.html",
        "my/2024-01-04/index.html",
        "my/feed.atom",
        "my/index.html",
    ]
    assert sorted(path.name for path in out.iterdir()) == [".broadsheet-pages", "en"]


def test_default_output_is_build_site(two_issues: Project) -> None:
    written = build_site(two_issues, None).written
    assert two_issues.build_dir / "site" / "en" / "2024-01-04" / "index.html" in written


def test_an_invalid_issue_stops_everything_with_its_errors(two_issues: Project, tmp_path: Path) -> None:
    (two_issues.issues_dir / "2024-01-11.yaml").write_text(
        "date: 2024-01-11\ntitle: T\neditorial: x\nresources:\n  report: []\n", encoding="utf-8"
    )
    with pytest.raises(InvalidInput) as caught:
        build_site(two_issues, tmp_path / "out")
    assert [str(d) for d in caught.value.diagnostics] == [
        "issues/2024-01-11.yaml:5:3: error: resources.report: unknown category 'report'; "
        "did you mean 'reports'? (configured categories: statements, reports)"
    ]
    assert not (tmp_path / "out").exists()


def test_cli_prints_every_written_path(cli, two_issues: Project) -> None:
    result = cli("site", "--out", "public", cwd=two_issues.root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"wrote public/{name}"
        for locale in ("en", "my")
        for name in (
            f"{locale}/index.html",
            f"{locale}/2024-01-04/index.html",
            f"{locale}/2023-12-21/index.html",
            f"{locale}/feed.atom",
        )
    ]
    # As `build` does: what each Burmese page shows in English.
    assert result.stderr.splitlines() == [
        "issues/2024-01-04.yaml: warning: my: 1 of 2 messages in locales/my/LC_MESSAGES/names.po untranslated "
        "(1 not in it: run `broadsheet catalog extract`, then `broadsheet catalog update`); English shown",
        "issues/2024-01-04.yaml: warning: my: 4 of 4 messages untranslated: locales/my/LC_MESSAGES/issues/2024-01-04.po "
        "does not exist yet (run `broadsheet catalog extract`, then `broadsheet catalog update` to make it); English shown",
        "issues/2023-12-21.yaml: warning: my: 25 of 31 messages in locales/my/LC_MESSAGES/issues/2023-12-21.po untranslated; English shown",
    ]


def test_hidden_files_are_not_issues_and_next_weeks_draft_waits_for_its_day(cli, two_issues: Project) -> None:
    # macOS leaves `._` files beside the real ones on a shared or removable disk; a draft just started is empty.
    (two_issues.issues_dir / "._2023-12-21.yaml").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (two_issues.issues_dir / ".2024-01-04.yaml.swp.yaml").write_text("", encoding="utf-8")
    (two_issues.issues_dir / "2999-01-07.yaml").write_text("", encoding="utf-8")

    today = cli("site", "--out", "public", cwd=two_issues.root)
    assert today.exit_code == 0, today.stderr
    assert "issues/2999-01-07.yaml: not published: dated after " in today.stderr
    assert sorted(path.name for path in (two_issues.root / "public" / "en").iterdir()) == [
        "2023-12-21",
        "2024-01-04",
        "feed.atom",
        "index.html",
    ]
    # An earlier day leaves out what came after it; the day of the draft takes it, and its errors stop the site.
    earlier = cli("site", "--out", "earlier", "--until", "2023-12-31", cwd=two_issues.root)
    assert earlier.exit_code == 0, earlier.stderr
    assert (
        "issues/2024-01-04.yaml: not published: dated after 2023-12-31 (--until publishes it)\n"
        in earlier.stderr
    )
    assert not (two_issues.root / "earlier" / "en" / "2024-01-04").exists()
    later = cli("site", "--out", "later", "--until", "2999-01-07", cwd=two_issues.root)
    assert later.exit_code == 1
    assert "issues/2999-01-07.yaml" in later.stderr
    assert "._2023-12-21" not in later.stderr and ".swp" not in later.stderr
    assert not (two_issues.root / "later").exists()


def test_an_issue_file_not_named_by_its_date_waits_for_the_date_inside_it(cli, two_issues: Project) -> None:
    (two_issues.issues_dir / "special.yaml").write_text(
        SECOND.replace("2024-01-04", "2999-01-07"), encoding="utf-8"
    )
    result = cli("site", "--out", "public", cwd=two_issues.root)
    assert result.exit_code == 0, result.stderr
    assert "issues/special.yaml: not published: dated after " in result.stderr
    assert not (two_issues.root / "public" / "en" / "2999-01-07").exists()
    assert "2999-01-07" not in (two_issues.root / "public" / "en" / "feed.atom").read_text(encoding="utf-8")

    # Unfinished, it waits alike: its errors stop the site on its day, not before.
    (two_issues.issues_dir / "special.yaml").write_text(
        "date: 2999-01-07\ntitle: ''\neditorial: |\n  First paragraph.\nresources: {}\n", encoding="utf-8"
    )
    unfinished = cli("site", "--out", "public", cwd=two_issues.root)
    assert unfinished.exit_code == 0, unfinished.stderr
    assert "issues/special.yaml: not published: dated after " in unfinished.stderr
    due = cli("site", "--out", "public", "--until", "2999-01-07", cwd=two_issues.root)
    assert due.exit_code == 1
    assert "issues/special.yaml:2:8: error: title: must not be empty\n" in due.stderr

    nothing = cli("site", "--out", "earlier", "--until", "2023-12-01", cwd=two_issues.root)
    assert nothing.exit_code == 1
    assert "issues: error: no issue files (*.yaml) dated 2023-12-01 or earlier to publish\n" in nothing.stderr
    assert not (two_issues.root / "earlier").exists()


def test_cli_with_an_invalid_issue_exits_1_writing_nothing(cli, two_issues: Project) -> None:
    (two_issues.issues_dir / "2024-01-11.yaml").write_text(
        "date: 2024-01-11\ntitle: T\neditorial: x\nresources:\n  report: []\n", encoding="utf-8"
    )
    result = cli("site", cwd=two_issues.root)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "issues/2024-01-11.yaml:5:3: error: resources.report: unknown category 'report'; "
        "did you mean 'reports'? (configured categories: statements, reports)\n"
    )
    assert not two_issues.build_dir.exists()


@pytest.mark.parametrize("width", [320, 375])
def test_the_index_and_an_issue_page_fit_a_phone_in_either_language(
    browser: object, two_issues: Project, tmp_path: Path, width: int
) -> None:
    build_site(two_issues, tmp_path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for locale, page_name in itertools.product(("en", "my"), ("index.html", "2023-12-21/index.html")):
        page = browser.new_page(viewport={"width": width, "height": 800})  # type: ignore[attr-defined]
        page.route("http*://**/*", lambda route: route.abort())
        page.goto((tmp_path / locale / page_name).as_uri())
        shot = f"site-{locale}-{page_name.split('/')[0].replace('.html', '')}-{width}.png"
        page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, shot
        page.close()
