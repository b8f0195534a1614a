"""Rendering: the sample issue round-trips into both parts; the HTML is safe, inlined and deterministic."""

from __future__ import annotations

import itertools
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import msgspec.structs
import pytest

from broadsheet import markdown
from broadsheet.build import build, check
from broadsheet.burmese import columns, syllables, wrap
from broadsheet.issue import read_issue
from broadsheet.localize import localize
from broadsheet.model import PREFERENCES_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, Issue, Paragraph
from broadsheet.render import Email, Renderer, TemplateProblem, fair_shares, footer_address, reading_minutes
from broadsheet.settings import Language, Organization, Project, find_project

from .support import EXPECTED, REPO, SAMPLE


class _Text(HTMLParser):
    """The visible text of an HTML document, and the attributes of its elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str] = []
        self.imgs: list[dict[str, str | None]] = []
        self.tags: set[str] = set()
        self._skip = 0

    _blocks = ("p", "div", "td", "br", "h1", "h2", "h3", "li")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag in self._blocks:
            self.parts.append(" ")
        if tag in ("style", "title", "head"):
            self._skip += 1
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._blocks:
            self.parts.append(" ")
        if tag in ("style", "title", "head"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


def _parse(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def sample(repo_project: Project) -> Issue:
    reading = read_issue(SAMPLE, repo_project.settings, "issues/2023-12-21.yaml")
    assert reading.issue is not None, reading.diagnostics
    return reading.issue


@pytest.fixture(scope="module")
def english(repo_project: Project, sample: Issue) -> Email:
    return Renderer(repo_project).render(localize(repo_project, sample, "en"))


def test_every_paragraph_appears_in_the_html_part(sample: Issue, english: Email) -> None:
    visible = _parse(english.html).text
    assert len(sample.paragraphs) == 10
    for paragraph in sample.paragraphs:
        for text in markdown.to_text(paragraph.markdown, {}):
            # footnote references show as [n] in both renderings; links as their text in HTML
            plain = re.sub(r" \((https?|mailto)[^)]*\)", "", text)
            assert _squash(plain.replace("[^1]", "[1]")) in visible


def test_every_paragraph_appears_in_the_text_part(sample: Issue, english: Email) -> None:
    text = _squash(english.text)
    for paragraph in sample.paragraphs:
        for part in markdown.to_text(paragraph.markdown, sample.footnote_numbers):
            assert _squash(part) in text


def test_every_footnote_appears_in_both_parts_with_its_number(sample: Issue, english: Email) -> None:
    visible = _parse(english.html).text
    for note in sample.footnotes:
        body = _squash(" ".join(markdown.to_text(note.markdown, {}, inline=True)))
        assert f"[{note.number}] " + re.sub(r" \(https?[^)]*\)", "", body) in visible
        assert f"[{note.number}] " + body in _squash(english.text)
    assert 'href="#fn-1"' in english.html
    assert 'id="fn-1"' in english.html


def test_a_footnote_cited_twice_has_one_anchor_in_the_email_and_on_its_page(
    tmp_project: Project, write_issue, tmp_path: Path
) -> None:
    path = write_issue(
        """
        date: 2023-12-21
        title: T
        editorial: |
          First.[^a] Again.[^a]

          Later.[^a][^b]
        footnotes:
          a: Note A.
          b: Note B.
        resources: {}
        """
    )
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    html = Renderer(tmp_project).render(localize(tmp_project, issue, "en")).html
    # Three links to the first note, one element named by its id; ids are unique in a page.
    assert html.count('href="#fn-1"') == 3
    assert (html.count('id="fnref-1"'), html.count('id="fnref-2"')) == (1, 1)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    from broadsheet.site import build_site

    build_site(tmp_project, tmp_path / "site")
    page = (tmp_path / "site" / "en" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    assert (page.count('href="#fn-1"'), page.count('id="fnref-1"')) == (3, 1)


def test_an_issue_without_resources_leaves_out_their_heading(
    tmp_project: Project, write_issue, tmp_path: Path
) -> None:
    path = write_issue("date: 2023-12-21\ntitle: T\neditorial: A special edition.\nresources: {}\n")
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    email = Renderer(tmp_project).render(localize(tmp_project, issue, "en"))
    from broadsheet.site import build_site

    build_site(tmp_project, tmp_path / "site")
    page = (tmp_path / "site" / "en" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    for part in (email.html, email.text, page):
        assert "A special edition." in part
        assert "Resources from the past week" not in part


def test_every_resource_appears_with_title_url_and_organizations(sample: Issue, english: Email) -> None:
    parsed = _parse(english.html)
    text = _squash(english.text)
    assert len(sample.resources) >= 15
    unspaced = re.sub(r"\s", "", english.text)  # Burmese wraps between syllables, without spaces
    for resource in sample.resources:
        assert resource.url in parsed.hrefs
        assert _squash(resource.title) in parsed.text
        assert re.sub(r"\s", "", resource.title) in unspaced
        assert f"\n  {resource.url}\n" in english.text
        by = "By " + (
            ", ".join(resource.by)
            if len(resource.by) <= 3
            else f"{resource.by[0]}, {resource.by[1]} and {len(resource.by) - 2} others"
        )
        assert by in parsed.text
        assert by in text


def test_category_labels_come_from_settings_in_file_order(sample: Issue, english: Email) -> None:
    visible = _parse(english.html).text
    resources = visible.index("Resources from the past week")
    first = visible.index("Statements and Press Releases", resources)
    second = visible.index("Reports and Publications", resources)
    assert first < second


def test_burmese_titles_are_marked_with_their_language(sample: Issue, english: Email) -> None:
    burmese = [r for r in sample.resources if r.lang == "my"]
    assert len(burmese) == 2
    for resource in burmese:
        assert f'<a href="{resource.url}" lang="my"' in english.html


def test_right_to_left_titles_carry_their_direction_in_the_email_and_on_the_page(
    tmp_project: Project, write_issue, tmp_path: Path
) -> None:
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: x\nresources:\n  reports:\n"
        "    - {title: 'تقرير عن ميانمار', url: 'https://example.org/ar', by: Org, lang: ar}\n"
        "    - {title: 'မြန်မာ', url: 'https://example.org/my', by: Org, lang: my}\n"
    )
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    email = Renderer(tmp_project).render(localize(tmp_project, issue, "en"))
    from broadsheet.site import build_site

    build_site(tmp_project, tmp_path / "site")
    page = (tmp_path / "site" / "en" / "2023-12-21" / "index.html").read_text(encoding="utf-8")
    for html in (email.html, page):
        assert re.search(r'<a href="https://example\.org/ar" lang="ar" dir="rtl"[ >]', html)
        assert re.search(
            r'<a href="https://example\.org/my" lang="my"[ >]', html
        )  # left to right, as the page
        assert re.search(r'<html lang="en" dir="ltr"', html)


def test_header_shows_date_author_and_reading_time(
    repo_project: Project, sample: Issue, english: Email
) -> None:
    visible = _parse(english.html).text
    minutes = reading_minutes(sample, repo_project.settings)
    assert "Progressive Voice · December 21, 2023" in visible
    assert "A Year of Tragedy and Hope By Progressive Voice In this issue" in visible
    assert f"In this issue · {minutes} minute read" in visible
    assert f"By Progressive Voice\n\nIn this issue · {minutes} minute read\n" in english.text


def test_preheader_is_the_summary_hidden_at_the_top(sample: Issue, english: Email) -> None:
    hidden = re.search(r'<div style="display:none;[^"]*">(.*?)</div>', english.html, re.S)
    assert hidden is not None
    # The summary, then a run of invisible characters that keeps the inbox preview to it.
    preview, spacer = hidden.group(1).split("\u034f", 1)
    assert _squash(preview) == _squash(sample.summary)
    assert set(spacer.replace("&nbsp;", "")) == {"\u034f", "\u200c"}
    assert english.preheader == sample.summary


def _without_summary(repo_project: Project, sample: Issue, locale: str, **changes: Any) -> Email:
    edition = localize(repo_project, sample, locale)
    return Renderer(repo_project).render(
        msgspec.structs.replace(edition, issue=msgspec.structs.replace(edition.issue, summary="", **changes))
    )


@pytest.mark.parametrize("spaced", [True, False], ids=["phrases", "no-spaces"])
def test_burmese_preheader_without_a_summary_is_150_columns_cut_between_syllables(
    repo_project: Project, sample: Issue, spaced: bool
) -> None:
    """textwrap cut at spaces, counting characters: a phrase or two of Burmese, and `…` alone without spaces."""
    first = localize(repo_project, sample, "my").issue.paragraphs[0]
    paragraph = first if spaced else msgspec.structs.replace(first, markdown=first.markdown.replace(" ", ""))
    email = _without_summary(repo_project, sample, "my", paragraphs=(paragraph,))
    text = " ".join(paragraph.markdown.split())
    head = email.preheader.removesuffix("…")
    assert email.preheader.endswith("…") and text.startswith(head)
    assert 140 <= columns(email.preheader) <= 150
    assert len(head) in itertools.accumulate(map(len, syllables(text)))


def test_preheader_from_the_first_paragraph_shows_link_text_without_urls_or_footnote_marks(
    repo_project: Project, sample: Issue
) -> None:
    paragraph = Paragraph("Read [the report](https://example.org/a?x=1&y=2) now.[^1] Then *act*.", 3)
    for locale in ("en", "my"):
        email = _without_summary(repo_project, sample, locale, paragraphs=(paragraph,))
        assert email.preheader == "Read the report now. Then act."


def test_featured_image_has_its_alt_text(sample: Issue, english: Email) -> None:
    images = _parse(english.html).imgs
    assert sample.image is not None
    assert [img["src"] for img in images] == [sample.image.src]
    assert images[0]["alt"] == sample.image.alt


def test_footer_has_boilerplate_view_in_browser_other_edition_preferences_and_unsubscribe(
    english: Email,
) -> None:
    parsed = _parse(english.html)
    assert parsed.hrefs[-4:] == [
        "https://progressivevoicemyanmar.org/newsletter/en/2023-12-21/",
        "https://progressivevoicemyanmar.org/newsletter/my/2023-12-21/",
        PREFERENCES_PLACEHOLDER,
        UNSUBSCRIBE_PLACEHOLDER,
    ]
    # The address starts with the organization's name, shown just above it: once is enough.
    assert "Progressive Voice P.O. Box 000, Chiang Mai" in parsed.text
    assert "Progressive Voice\nP.O. Box 000, Chiang Mai" in english.text
    assert parsed.text.endswith(
        "View this email in your browser · မြန်မာ (Burmese) Change your language or name · Unsubscribe"
    )
    assert re.search(
        r'<a href="https://progressivevoicemyanmar\.org/newsletter/my/2023-12-21/" hreflang="my"[^>]*><span lang="my"[^>]*>မြန်မာ</span> \(Burmese\)</a>',
        english.html,
    )
    assert english.text.endswith(
        "View this email in your browser:\nhttps://progressivevoicemyanmar.org/newsletter/en/2023-12-21/\n\n"
        "မြန်မာ (Burmese):\nhttps://progressivevoicemyanmar.org/newsletter/my/2023-12-21/\n\n"
        f"Change your language or name:\n{PREFERENCES_PLACEHOLDER}\n\n"
        f"Unsubscribe:\n{UNSUBSCRIBE_PLACEHOLDER}\n"
    )


def test_burmese_footer_offers_the_english_edition_by_its_name_in_both_languages(
    repo_project: Project, sample: Issue
) -> None:
    burmese_email = Renderer(repo_project).render(localize(repo_project, sample, "my"))
    assert re.search(
        r'<a href="https://progressivevoicemyanmar\.org/newsletter/en/2023-12-21/" hreflang="en"[^>]*><span lang="en"[^>]*>English</span> \(အင်္ဂလိပ်\)</a>',
        burmese_email.html,
    )
    assert (
        "English (အင်္ဂလိပ်):\nhttps://progressivevoicemyanmar.org/newsletter/en/2023-12-21/\n"
        in burmese_email.text
    )
    assert f"ဘာသာစကား သို့မဟုတ် အမည် ပြောင်းရန်:\n{PREFERENCES_PLACEHOLDER}\n" in burmese_email.text


def test_template_css_is_inlined_and_head_styles_kept(english: Email) -> None:
    assert re.search(r'<h1 style="[^"]*font-size: 28px', english.html)
    assert re.search(
        r'<div class="res"><p style="margin: 0 0 16px;"><a href="[^"]*" style="color: #0b5cab;font-weight: bold;text-decoration: none;">',
        english.html,
    )
    assert "prefers-color-scheme: dark" in english.html  # dark-mode rules stay in <head>
    assert "@media only screen and (min-width:480px)" in english.html
    assert "mj-style" not in english.html


def test_outlook_conditional_comments_are_kept(english: Email) -> None:
    assert "<!--[if mso | IE]>" in english.html
    assert "<!--[if mso]>" in english.html


def test_no_outside_stylesheets_or_web_fonts(english: Email) -> None:
    assert "<link" not in english.html
    assert "@import" not in english.html
    assert "fonts.googleapis.com" not in english.html


def test_html_declares_language_and_color_schemes(english: Email) -> None:
    assert english.html.startswith('<!DOCTYPE html><html lang="en" dir="ltr"')
    assert '<meta name="color-scheme" content="light dark">' in english.html


def test_a_locale_with_a_territory_or_script_is_written_as_a_bcp47_tag(
    tmp_project: Project, write_issue
) -> None:
    settings = tmp_project.root / "broadsheet.toml"
    text = settings.read_text(encoding="utf-8").replace('locales = ["en", "my"]', 'locales = ["en", "pt_BR"]')
    settings.write_text(text, encoding="utf-8")
    project = find_project(tmp_project.root)
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: x\nresources:\n  reports:\n"
        "    - {title: Relatório, url: 'https://example.org/r', by: Org, lang: zh_Hant_TW}\n"
    )
    issue = read_issue(path, project.settings).issue
    assert issue is not None
    brazilian = Renderer(project).render(localize(project, issue, "pt_BR")).html
    english = Renderer(project).render(localize(project, issue, "en")).html
    assert brazilian.startswith('<!DOCTYPE html><html lang="pt-BR" dir="ltr"')
    assert re.search(r'hreflang="pt-BR"[^>]*><span lang="pt-BR"', english)
    assert re.search(r'lang="zh-Hant-TW"[^>]*>Relatório</a>', english)
    assert not re.search(r'lang="[^"]*_', english + brazilian)  # the web edition's folder stays pt_BR/


def test_title_with_markup_renders_as_text(tmp_project: Project, write_issue) -> None:
    path = write_issue(
        """
        date: 2023-12-21
        title: Q&A <Special> "quoted"
        summary: Fish & <chips>
        editorial: |
          Tom & Jerry say 1 < 2 and <i>this</i> is text.
        resources:
          statements:
            - title: A & B <script>alert(1)</script>
              url: https://example.org/?a=1&b=2
              by: Org <One>
        """
    )
    reading = read_issue(path, tmp_project.settings)
    assert reading.issue is None  # raw HTML in the editorial is an error ...
    path.write_text(path.read_text().replace("<i>this</i>", "this"))
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    email = Renderer(tmp_project).render(localize(tmp_project, issue, "en"))
    parsed = _parse(email.html)
    assert "special" not in parsed.tags
    assert "script" not in parsed.tags
    assert 'Q&A <Special> "quoted"' in parsed.text
    assert "A & B <script>alert(1)</script>" in parsed.text
    assert "Q&amp;A &lt;Special&gt;" in email.html
    assert '<title>Q&amp;A &lt;Special&gt; "quoted"</title>' in email.html
    assert "A &amp; B &lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert 'href="https://example.org/?a=1&amp;b=2"' in email.html
    assert "Tom &amp; Jerry say 1 &lt; 2" in email.html
    assert email.subject == 'Q&A <Special> "quoted"'
    # ... and the plain-text part is not HTML: nothing escaped there
    assert 'Q&A <Special> "quoted"' in email.text
    assert "A & B <script>alert(1)</script>" in email.text
    assert "By Org <One>" in email.text


def test_a_long_title_and_category_label_are_wrapped_and_underlined_in_the_text_part(
    tmp_path: Path, write_issue
) -> None:
    label = "Statements, Press Releases and Open Letters from Civil Society Organizations"
    project = _project(tmp_path, f'[categories]\nstatements = "{label}"\n')
    title = "Myanmar: " + " ".join(["the long cold season in the displacement camps"] * 3)
    path = write_issue(
        f"date: 2023-12-21\ntitle: '{title}'\neditorial: One.\nresources:\n  statements:\n"
        "    - title: A\n      url: https://example.org/a\n      by: PV\n"
    )
    text = _email(project, path).text
    assert max(map(columns, text.splitlines())) <= 72
    for heading, rule in ((title, "="), (label, "-")):
        lines = wrap(heading, 72)
        assert f"\n{lines}\n{rule * max(map(columns, lines.splitlines()))}\n" in text


def test_the_text_parts_header_and_footer_keep_a_narrow_text_width(tmp_path: Path, write_issue) -> None:
    project = _project(tmp_path, "text_width = 20\n")
    path = write_issue(
        "date: 2023-12-21\ntitle: T\nauthor: Progressive Voice and Friends\neditorial: One.\nresources:\n"
        "  statements:\n    - title: A\n      url: https://example.org/a\n      by: PV\n"
    )
    lines = _email(project, path).text.splitlines()
    assert [line for line in lines if columns(line) > 20 and "://" not in line] == []
    assert "By Progressive Voice" in lines
    assert "-" * 20 in lines


def test_the_text_parts_line_to_what_the_web_edition_lists_keeps_a_narrow_text_width(
    tmp_path: Path, write_issue
) -> None:
    project = _project(tmp_path, "text_width = 20\nemail_max_html_kb = 20\n")
    text = _email(project, write_issue(_categories(5, 60))).text
    assert [line for line in text.splitlines() if columns(line) > 20 and "://" not in line] == []
    assert re.search(r"\nand \d+ more on the\nweb:\n  https://", text)


def test_category_and_link_labels_with_markup_or_percent_signs_are_text(tmp_path: Path, write_issue) -> None:
    project = _project(
        tmp_path,
        '[categories]\nreports = "50% Reports <Q&A>"\n'
        '[organization]\nname = "PV"\nlinks = [{ label = "X <Twitter> 100%", url = "https://x.com/pv" }]\n',
    )
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: One.\nresources:\n  reports:\n"
        "    - title: A\n      url: https://example.org/a\n      by: PV\n"
    )
    email = _email(project, path)
    assert '<h3 id="reports"' in email.html
    assert ">50% Reports &lt;Q&amp;A&gt;</h3>" in email.html
    assert ">X &lt;Twitter&gt; 100%</a>" in email.html
    assert "\n50% Reports <Q&A>\n" in email.text
    assert "\nX <Twitter> 100%: https://x.com/pv\n" in email.text


@pytest.mark.parametrize(
    ("name", "address", "shown"),
    [
        ("Progressive Voice", "Progressive Voice, 12 Main Rd, Yangon", "12 Main Rd, Yangon"),
        (
            "Progressive Voice",
            "Progressive Voices Network Office, 12 Main Rd",
            "Progressive Voices Network Office, 12 Main Rd",
        ),
        ("Progressive Voice", "Progressive Voice\n12 Main Rd\nYangon\n", "12 Main Rd\nYangon"),
        ("Progressive Voice", "Progressive Voice", ""),
        ("PV", "  Office 4,\n\n  12 Main Rd  \n", "Office 4,\n12 Main Rd"),
    ],
)
def test_the_footer_address_drops_the_name_only_as_its_whole_first_part(
    name: str, address: str, shown: str
) -> None:
    assert footer_address(Organization(name=name, address=address)) == shown


def test_a_multi_line_address_keeps_its_lines_in_both_parts(sample_project: Project) -> None:
    settings = sample_project.root / "broadsheet.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            'address = "Progressive Voice, P.O. Box 000, Chiang Mai 50200, Thailand"',
            'address = """\nProgressive Voice\nP.O. Box 000 & <Co>\nChiang Mai 50200, Thailand\n"""',
        ),
        encoding="utf-8",
    )
    project = find_project(sample_project.root)
    built = build(project, project.issues_dir / "2023-12-21.yaml", ["en"], out=project.root / "out")
    html = (project.root / "out" / "en" / "email.html").read_text(encoding="utf-8")
    text = (project.root / "out" / "en" / "email.txt").read_text(encoding="utf-8")
    assert built.issue.date.isoformat() == "2023-12-21"
    assert (
        "<strong>Progressive Voice</strong><br>P.O. Box 000 &amp; &lt;Co&gt;<br>Chiang Mai 50200, Thailand<br>"
        in html
    )
    assert (
        "\nProgressive Voice\nP.O. Box 000 & <Co>\nChiang Mai 50200, Thailand\ninfo@progressivevoicemyanmar.org\n"
        in text
    )


def test_a_font_list_written_in_double_quotes_builds(sample_project: Project) -> None:
    settings = sample_project.root / "broadsheet.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8")
        + '\n[languages.my]\nfont_family = \'"Noto Sans Myanmar", "Myanmar Text", sans-serif\'\n',
        encoding="utf-8",
    )
    project = find_project(sample_project.root)
    built = build(project, project.issues_dir / "2023-12-21.yaml", ["my"], out=sample_project.root / "out")
    html = (sample_project.root / "out" / "my" / "email.html").read_text(encoding="utf-8")
    assert built.issue.date.isoformat() == "2023-12-21"
    assert "font-family:'Noto Sans Myanmar', 'Myanmar Text', sans-serif" in html.replace("&#39;", "'")


def test_output_is_byte_identical_across_builds(repo_project: Project, tmp_path: Path) -> None:
    first = build(repo_project, SAMPLE, out=tmp_path / "a")
    second = build(find_project(repo_project.root), SAMPLE, out=tmp_path / "b")
    for one, two in zip(first.files, second.files, strict=True):
        assert one.read_bytes() == two.read_bytes()


@pytest.mark.parametrize("locale", ["en", "my"])
@pytest.mark.parametrize("part", ["email.html", "email.txt"])
def test_sample_matches_golden_files(repo_project: Project, tmp_path: Path, locale: str, part: str) -> None:
    """Set BROADSHEET_UPDATE_GOLDEN=1 to rewrite tests/expected/ after an intended change."""
    built = build(repo_project, SAMPLE, [locale], out=tmp_path)
    actual = (tmp_path / locale / part).read_text(encoding="utf-8")
    expected_path = EXPECTED / "2023-12-21" / locale / part
    if os.environ.get("BROADSHEET_UPDATE_GOLDEN"):
        expected_path.parent.mkdir(parents=True, exist_ok=True)
        expected_path.write_text(actual, encoding="utf-8")
    assert built.issue.date.isoformat() == "2023-12-21"
    assert actual == expected_path.read_text(encoding="utf-8")


def _many_resources(count: int) -> str:
    items = "\n".join(
        f"    - title: Resource number {i} about the situation in Myanmar this week\n"
        f"      url: https://example.org/resources/{i}\n"
        f"      by: [Organization {i % 7}, Another Organization]"
        for i in range(count)
    )
    return f"""
date: 2023-12-21
title: Eighty resources
editorial: |
  One paragraph.
resources:
  reports:
{items}
"""


def test_eighty_resources_all_render_under_the_gmail_limit(tmp_project: Project, write_issue) -> None:
    path = write_issue(_many_resources(80))
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    email = Renderer(tmp_project).render(localize(tmp_project, issue, "en"))
    hrefs = _parse(email.html).hrefs
    for i in range(80):
        assert f"https://example.org/resources/{i}" in hrefs
        assert f"https://example.org/resources/{i}\n" in email.text
    assert email.html_bytes < 100_000
    assert not [d for d in check(tmp_project, path) if "Gmail" in d.message]


def _project(tmp_path: Path, settings: str) -> Project:
    """A project of `settings` (TOML) with the repository's templates and English alone."""
    (tmp_path / "broadsheet.toml").write_text(f'locales = ["en"]\n{settings}', encoding="utf-8")
    (tmp_path / "templates").symlink_to(REPO / "templates")
    return find_project(tmp_path)


def _categories(statements: int, reports: int) -> str:
    def items(key: str, count: int) -> str:
        return "".join(
            f"    - title: {key.title()} {i} on the human rights situation in Myanmar\n"
            f"      url: https://example.org/{key}/{i}\n"
            f"      by: [Progressive Voice, Another Organization]\n"
            for i in range(count)
        )

    return f"date: 2023-12-21\ntitle: T\neditorial: One paragraph.\nresources:\n  statements:\n{items('statements', statements)}  reports:\n{items('reports', reports)}"


def _email(project: Project, path: Path) -> Email:
    issue = read_issue(path, project.settings).issue
    assert issue is not None
    return Renderer(project).render(localize(project, issue, "en"))


def test_a_resource_costs_at_most_250_bytes_of_markup(tmp_path: Path, write_issue) -> None:
    project = _project(tmp_path, "")
    sizes = []
    for count in (20, 21):
        sizes.append(_email(project, write_issue(_categories(0, count))).html_bytes)
    title = "Reports 20 on the human rights situation in Myanmar"
    text = (
        len(title) + len("https://example.org/reports/20") + len("By Progressive Voice, Another Organization")
    )
    assert sizes[1] - sizes[0] - text <= 250


def test_eighty_english_resources_make_at_most_60_kb(tmp_path: Path, write_issue) -> None:
    email = _email(_project(tmp_path, ""), write_issue(_categories(40, 40)))
    assert email.html_bytes <= 60_000
    assert not email.diagnostics


def test_fair_shares_keep_short_categories_whole_and_cut_long_ones() -> None:
    assert fair_shares([3, 40], 20) == [3, 17]
    assert fair_shares([30, 40], 21) == [11, 10]
    assert fair_shares([0, 5, 9], 100) == [0, 5, 9]
    assert fair_shares([4, 4], 0) == [0, 0]


def test_resources_over_the_budget_go_to_the_web_edition_fairly_with_a_warning(
    tmp_path: Path, write_issue
) -> None:
    project = _project(tmp_path, "email_max_html_kb = 20\n")
    path = write_issue(_categories(5, 60))
    email = _email(project, path)
    assert email.html_bytes <= 20_000
    hrefs = _parse(email.html).hrefs
    statements = [h for h in hrefs if h.startswith("https://example.org/statements/")]
    reports = [h for h in hrefs if h.startswith("https://example.org/reports/")]
    assert len(statements) == 5  # the short category is whole; the long one gave way
    assert 10 < len(reports) < 60
    more = 60 - len(reports)
    web = "https://progressivevoicemyanmar.org/newsletter/en/2023-12-21/#reports"
    assert re.search(
        rf'<a class="more" href="{re.escape(web)}"[^>]*>and {more} more on the web</a>', email.html
    )
    assert f"and {more} more on the web:\n  {web}\n" in email.text
    assert [str(d) for d in email.diagnostics] == [
        f"{path}:{_line_of(path, f'reports/{len(reports)}') - 1}: warning: resources.reports[{len(reports)}]: en: {more} of 65 resources "
        "left out of the email to keep its HTML under 20 KB (email_max_html_kb); it links to the web edition, which lists them all"
    ]
    # The contents still count every resource, and the web edition lists them all.
    assert "Reports and Publications (60)" in _parse(email.html).text


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_cap_per_category_lists_the_first_resources_and_links_to_the_rest(
    tmp_path: Path, write_issue
) -> None:
    email = _email(
        _project(tmp_path, "email_max_resources_per_category = 3\n"), write_issue(_categories(2, 7))
    )
    hrefs = _parse(email.html).hrefs
    assert [h for h in hrefs if h.startswith("https://example.org/")] == [
        "https://example.org/statements/0",
        "https://example.org/statements/1",
        "https://example.org/reports/0",
        "https://example.org/reports/1",
        "https://example.org/reports/2",
    ]
    assert ">and 4 more on the web</a>" in email.html
    assert "1 more" not in email.html
    assert not email.diagnostics


def test_the_warning_counts_what_the_budget_left_out_not_the_cap(tmp_path: Path, write_issue) -> None:
    email = _email(
        _project(tmp_path, "email_max_html_kb = 20\nemail_max_resources_per_category = 40\n"),
        write_issue(_categories(5, 60)),
    )
    listed = len([h for h in _parse(email.html).hrefs if h.startswith("https://example.org/")])
    assert 15 < listed < 45
    [warning] = email.diagnostics
    assert f": en: {45 - listed} of 65 resources left out of the email" in str(warning)
    assert f"resources.reports[{listed - 5}]" in str(warning)


def test_html_over_the_budget_even_without_resources_is_a_warning(tmp_path: Path, write_issue) -> None:
    words = " ".join(["word"] * 5000)
    path = write_issue(
        f"date: 2023-12-21\ntitle: T\neditorial: {words}\nresources:\n  reports:\n    - {{title: R, url: 'https://example.org/r', by: O}}\n"
    )
    diagnostics = check(_project(tmp_path, "email_max_html_kb = 20\n"), path)
    messages = [str(d) for d in diagnostics]
    assert len(messages) == 2, messages
    assert re.fullmatch(
        rf"{re.escape(str(path))}: warning: en: the HTML is \d+ KB even without resources, over 20 KB \(email_max_html_kb\); "
        "Gmail clips messages over about 102 KB and hides the rest, unsubscribe link included",
        messages[1],
    ), messages


def test_a_category_that_lists_none_of_its_resources_links_to_them_without_and(
    tmp_path: Path, write_issue
) -> None:
    words = " ".join(["word"] * 5000)
    items = "".join(f"    - {{title: R{i}, url: 'https://example.org/{i}', by: O}}\n" for i in range(45))
    path = write_issue(f"date: 2023-12-21\ntitle: T\neditorial: {words}\nresources:\n  reports:\n{items}")
    email = _email(_project(tmp_path, "email_max_html_kb = 20\n"), path)
    web = "https://progressivevoicemyanmar.org/newsletter/en/2023-12-21/#reports"
    assert re.search(rf'<a class="more" href="{re.escape(web)}"[^>]*>45 on the web</a>', email.html)
    assert f"\n\n45 on the web:\n  {web}\n" in email.text
    assert "more on the web" not in email.html + email.text


def test_long_bylines_are_shortened_in_the_email(tmp_path: Path, write_issue) -> None:
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: x\nresources:\n  reports:\n"
        "    - {title: Nine, url: 'https://example.org/9', by: [Fortify Rights, Human Rights Watch, C, D, E, F, G, H, I]}\n"
        "    - {title: Three, url: 'https://example.org/3', by: [A, B, C]}\n"
        "    - {title: Four, url: 'https://example.org/4', by: [A, B, C, D]}\n"
    )
    email = _email(_project(tmp_path, ""), path)
    visible = _parse(email.html).text
    assert "By Fortify Rights, Human Rights Watch and 7 others" in visible
    assert "By A, B, C Four" in visible
    assert "By A, B and 2 others" in visible
    assert "  By Fortify Rights, Human Rights Watch and 7 others\n" in email.text


def test_compiled_templates_are_kept_in_the_user_cache_and_follow_edits(
    tmp_project: Project, write_issue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = write_issue(_categories(1, 1))
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    Renderer(tmp_project).render(localize(tmp_project, issue, "en"))
    assert (
        len(list((tmp_path / "cache" / "broadsheet" / "jinja2").iterdir())) == 2
    )  # the HTML and the text template
    template = tmp_project.templates_dir / "email.txt.j2"
    template.write_text(
        template.read_text(encoding="utf-8").replace('{{ (_("Unsubscribe") ~ ":")|wrap }}', "Leave:"),
        encoding="utf-8",
    )
    email = Renderer(tmp_project).render(localize(tmp_project, issue, "en"))
    assert "\nLeave:\n" in email.text


def test_broken_template_is_reported_with_file_and_line(tmp_project: Project, write_issue) -> None:
    template = tmp_project.templates_dir / "email.txt.j2"
    template.write_text("line one\n{{ issue.title \n")
    path = write_issue(_many_resources(1))
    with pytest.raises(TemplateProblem) as raised:
        build(tmp_project, path)
    assert raised.value.message.startswith(f"{template}:2: error: template: ")
    assert not (tmp_project.build_dir).exists()


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (
            "View 100% of this email",
            "%o format: an integer is required, not _MarkupEscapeHelper; a literal % is written %%",
        ),
        ("View %(page)s", "the template gives it no variable 'page'"),
    ],
    ids=["stray-percent", "unknown-variable"],
)
def test_a_template_message_that_cannot_be_formatted_is_reported_with_file_and_line(
    tmp_project: Project, write_issue, message: str, problem: str
) -> None:
    # An editor's own message in a template raised a Python traceback out of `build`.
    template = tmp_project.templates_dir / "email.mjml.j2"
    lines = template.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(
        number for number, text in enumerate(lines, 1) if '{{ _("View this email in your browser") }}' in text
    )
    lines[line - 1] = lines[line - 1].replace("View this email in your browser", message)
    template.write_text("".join(lines), encoding="utf-8")
    path = write_issue(_many_resources(1))
    with pytest.raises(TemplateProblem) as raised:
        build(tmp_project, path)
    assert (
        raised.value.message
        == f"{template}:{line}: error: the message {message!r} cannot be formatted: {problem}"
    )


def test_reading_time_counts_editorial_and_footnote_words(tmp_project: Project, write_issue) -> None:
    words = " ".join(["word"] * 399)
    path = write_issue(
        f"""
        date: 2023-12-21
        title: T
        editorial: |
          {words} [link](https://example.org)[^a]
        footnotes:
          a: five more words in note
        resources: {{}}
        """
    )
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    assert reading_minutes(issue, tmp_project.settings) == 3  # 400 + 5 words at 200 a minute
    fast = msgspec.structs.replace(tmp_project.settings, languages={"en": Language(reading_rate=1000)})
    assert reading_minutes(issue, fast) == 1


def test_reading_time_counts_each_text_at_its_own_languages_rate(tmp_project: Project, write_issue) -> None:
    path = write_issue("date: 2023-12-21\ntitle: T\neditorial: x\nresources: {}\n")
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    burmese = "မြန်မာ " * 250  # 500 syllables: two minutes at Burmese's 250 a minute
    english = " ".join(["word"] * 200)  # one minute at English's 200 words a minute
    edition = msgspec.structs.replace(
        issue,
        locale="my",
        paragraphs=(Paragraph(burmese, 3), Paragraph(english, 4, lang="en")),
    )
    assert reading_minutes(edition, tmp_project.settings) == 3
    # Counted at the Burmese rate, the English would be 0.8 of a minute.
    all_burmese = msgspec.structs.replace(edition, paragraphs=(Paragraph(burmese, 3), Paragraph(english, 4)))
    assert reading_minutes(all_burmese, tmp_project.settings) == 3
    assert (
        reading_minutes(
            msgspec.structs.replace(edition, paragraphs=edition.paragraphs[:1]), tmp_project.settings
        )
        == 2
    )


def test_text_part_lines_fit_the_width_unless_one_word(english: Email) -> None:
    for line in english.text.splitlines():
        if columns(line) > 72:
            assert len(line.strip().split()) == 1 or line.strip().startswith(("(http", "https://")), line


def test_text_part_wraps_a_list_item_under_its_text_and_a_quote_with_its_mark(
    tmp_project: Project, write_issue
) -> None:
    long = " ".join(["words that go on"] * 6)
    path = write_issue(
        f"date: 2023-12-21\ntitle: T\neditorial: |\n  - {long}\n\n  > {long}\nresources: {{}}\n"
    )
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    text = Renderer(tmp_project).render(localize(tmp_project, issue, "en")).text
    assert "- words that go on words that go on words that go on words that go on\n  words" in text
    assert "> words that go on words that go on words that go on words that go on\n> words" in text


def test_text_part_writes_a_tight_list_on_consecutive_lines(tmp_project: Project, write_issue) -> None:
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  Intro.\n\n  - a\n    - b\n  - c\n\n  End.\nresources: {}\n"
    )
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    text = Renderer(tmp_project).render(localize(tmp_project, issue, "en")).text
    assert "\nIntro.\n\n- a\n  - b\n- c\n\nEnd.\n\n" in text


def test_burmese_in_the_english_editorial_has_the_myanmar_fonts_and_line_height(
    tmp_project: Project, write_issue
) -> None:
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: Villages of စစ်ကိုင်း burned.[^1]\nfootnotes:\n  '1': In ရခိုင်.\nresources: {}\n"
    )
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    html = Renderer(tmp_project).render(localize(tmp_project, issue, "en")).html
    # In the footnote, small text, at Burmese's small size (15 px), not English's 13.
    for burmese_text, size in (("စစ်ကိုင်း", ""), ("ရခိုင်", "font-size: 15px;")):
        assert re.search(
            rf'<span lang="my" style="font-family: \'Noto Sans Myanmar\'[^"]*line-height: 1.8;{size}">{burmese_text}</span>',
            html,
        )


def test_wrap_never_splits_urls() -> None:
    url = "https://example.org/" + "x" * 80
    assert wrap(f"see {url} now", 20) == f"see\n{url}\nnow"
    assert wrap("a b c", 20, indent="  ", first="* ") == "* a b c"


def test_a_category_without_items_shows_no_heading(tmp_project: Project, write_issue) -> None:
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: x\nresources:\n  statements:\n  reports:\n"
        "    - {title: R, url: 'https://example.org/r', by: Org}\n"
    )
    issue = read_issue(path, tmp_project.settings).issue
    assert issue is not None
    email = Renderer(tmp_project).render(localize(tmp_project, issue, "en"))
    assert "Reports and Publications" in email.html and "Reports and Publications" in email.text
    assert "Statements and Press Releases" not in email.html
    assert "Statements and Press Releases" not in email.text
