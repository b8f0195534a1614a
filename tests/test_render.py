"""Rendering: the sample issue round-trips into both parts; the HTML is safe, inlined and deterministic."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from broadsheet import markdown
from broadsheet.build import build, check
from broadsheet.burmese import columns, wrap
from broadsheet.issue import read_issue
from broadsheet.localize import localize
from broadsheet.model import PREFERENCES_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, Issue
from broadsheet.render import Email, Renderer, TemplateProblem, reading_minutes
from broadsheet.settings import Project, find_project

from .support import EXPECTED, SAMPLE


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
        by = "By " + ", ".join(resource.by)
        assert by in parsed.text
        assert by in text


def test_category_labels_come_from_settings_in_file_order(sample: Issue, english: Email) -> None:
    visible = _parse(english.html).text
    first = visible.index("Statements and Press Releases")
    second = visible.index("Reports and Publications")
    assert visible.index("Resources from the past week") < first < second


def test_burmese_titles_are_marked_with_their_language(sample: Issue, english: Email) -> None:
    burmese = [r for r in sample.resources if r.lang == "my"]
    assert len(burmese) == 2
    for resource in burmese:
        assert f'<a href="{resource.url}" lang="my"' in english.html


def test_header_shows_date_author_and_reading_time(sample: Issue, english: Email) -> None:
    visible = _parse(english.html).text
    minutes = reading_minutes(sample, 200)
    assert "Progressive Voice · December 21, 2023" in visible
    assert f"By Progressive Voice · {minutes} minute read" in visible
    assert f"By Progressive Voice · {minutes} minute read" in english.text


def test_preheader_is_the_summary_hidden_at_the_top(sample: Issue, english: Email) -> None:
    hidden = re.search(r'<div style="display:none;[^"]*">(.*?)</div>', english.html, re.S)
    assert hidden is not None
    assert _squash(hidden.group(1)) == _squash(sample.summary)
    assert english.preheader == sample.summary


def test_featured_image_has_its_alt_text(sample: Issue, english: Email) -> None:
    images = _parse(english.html).imgs
    assert sample.image is not None
    assert [img["src"] for img in images] == [sample.image.src]
    assert images[0]["alt"] == sample.image.alt


def test_footer_has_boilerplate_view_in_browser_other_edition_preferences_and_unsubscribe(english: Email) -> None:
    parsed = _parse(english.html)
    assert parsed.hrefs[-4:] == [
        "https://progressivevoicemyanmar.org/newsletter/en/2023-12-21/",
        "https://progressivevoicemyanmar.org/newsletter/my/2023-12-21/",
        PREFERENCES_PLACEHOLDER,
        UNSUBSCRIBE_PLACEHOLDER,
    ]
    assert "P.O. Box 000, Chiang Mai" in parsed.text
    assert parsed.text.endswith("View this email in your browser · မြန်မာ Change your language or name · Unsubscribe")
    assert re.search(
        r'<a href="https://progressivevoicemyanmar\.org/newsletter/my/2023-12-21/" lang="my" hreflang="my"[^>]*>မြန်မာ</a>', english.html
    )
    assert english.text.endswith(
        "View this email in your browser:\nhttps://progressivevoicemyanmar.org/newsletter/en/2023-12-21/\n\n"
        "မြန်မာ:\nhttps://progressivevoicemyanmar.org/newsletter/my/2023-12-21/\n\n"
        f"Change your language or name:\n{PREFERENCES_PLACEHOLDER}\n\n"
        f"Unsubscribe:\n{UNSUBSCRIBE_PLACEHOLDER}\n"
    )


def test_burmese_footer_offers_the_english_edition_by_its_own_name(repo_project: Project, sample: Issue) -> None:
    burmese_email = Renderer(repo_project).render(localize(repo_project, sample, "my"))
    assert re.search(
        r'<a href="https://progressivevoicemyanmar\.org/newsletter/en/2023-12-21/" lang="en" hreflang="en"[^>]*>English</a>', burmese_email.html
    )
    assert "English:\nhttps://progressivevoicemyanmar.org/newsletter/en/2023-12-21/\n" in burmese_email.text
    assert f"ဘာသာစကား သို့မဟုတ် အမည် ပြောင်းရန်:\n{PREFERENCES_PLACEHOLDER}\n" in burmese_email.text


def test_template_css_is_inlined_and_head_styles_kept(english: Email) -> None:
    assert re.search(r'<h1 style="[^"]*font-size: 28px', english.html)
    assert re.search(r'<p class="res" style="margin: 0 0 12px;?"', english.html)
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
    assert english.html.startswith("<!DOCTYPE html><html lang=\"en\" dir=\"ltr\"")
    assert '<meta name="color-scheme" content="light dark">' in english.html


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
    assert "<title>Q&amp;A &lt;Special&gt; \"quoted\"</title>" in email.html
    assert "A &amp; B &lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert 'href="https://example.org/?a=1&amp;b=2"' in email.html
    assert "Tom &amp; Jerry say 1 &lt; 2" in email.html
    assert email.subject == 'Q&A <Special> "quoted"'
    # ... and the plain-text part is not HTML: nothing escaped there
    assert 'Q&A <Special> "quoted"' in email.text
    assert "A & B <script>alert(1)</script>" in email.text
    assert "By Org <One>" in email.text


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


def test_html_over_the_size_limit_is_a_warning(tmp_path: Path, write_issue) -> None:
    (tmp_path / "broadsheet.toml").write_text('locales = ["en"]\nhtml_size_warning = 20000\n')
    project = find_project(tmp_path)
    project = Project(tmp_path, project.settings)
    (tmp_path / "templates").symlink_to(SAMPLE.parent.parent / "templates")
    path = write_issue(_many_resources(40))
    diagnostics = check(project, path)
    assert len(diagnostics) == 1
    message = str(diagnostics[0])
    assert re.fullmatch(
        rf"{re.escape(str(path))}: warning: en: the HTML is \d+ KB, over 20 KB; Gmail clips messages over about 102 KB and hides the rest, unsubscribe link included",
        message,
    ), message


def test_broken_template_is_reported_with_file_and_line(tmp_project: Project, write_issue) -> None:
    template = tmp_project.templates_dir / "email.txt.j2"
    template.write_text("line one\n{{ issue.title \n")
    path = write_issue(_many_resources(1))
    with pytest.raises(TemplateProblem) as raised:
        build(tmp_project, path)
    assert raised.value.message.startswith(f"{template}:2: error: template: ")
    assert not (tmp_project.build_dir).exists()


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
    assert reading_minutes(issue, 200) == 3  # 400 + 5 words
    assert reading_minutes(issue, 1000) == 1


def test_text_part_lines_fit_the_width_unless_one_word(english: Email) -> None:
    for line in english.text.splitlines():
        if columns(line) > 72:
            assert len(line.strip().split()) == 1 or line.strip().startswith(("(http", "https://")), line


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
