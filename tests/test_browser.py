"""The built email in a real browser (headless Chromium): phone to desktop widths, light and dark.

Screenshots of every case are saved under tests/output/screenshots/ for people to look at.
Images are always blocked (there is no network here), as many readers' clients block them.
"""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest

from broadsheet.build import build
from broadsheet.model import UNSUBSCRIBE_PLACEHOLDER
from broadsheet.settings import Project, find_project

from .pseudo import write_issue_translated
from .support import REPO, SAMPLE, SCREENSHOTS


@pytest.fixture(scope="module")
def built(repo_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built")
    build(repo_project, SAMPLE, out=out)
    return out


def _open(browser: object, page_file: Path, width: int, scheme: str) -> object:
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)  # type: ignore[attr-defined]
    # Mail clients fetch the featured image; here the network is closed, so refuse at once.
    page.route("http*://**/*", lambda route: route.abort())
    page.goto(page_file.as_uri())
    return page


@pytest.mark.parametrize("locale", ["en", "my"])
@pytest.mark.parametrize("width", [320, 375, 600])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_email_fits_the_screen_without_horizontal_scrolling(
    browser: object, built: Path, locale: str, width: int, scheme: str
) -> None:
    page = _open(browser, built / locale / "email.html", width, scheme)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{locale}-{width}-{scheme}.png"), full_page=True)  # type: ignore[attr-defined]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[attr-defined]
    # The content column is never wider than the screen nor than 600 px.
    card = page.evaluate("document.querySelector('.card').getBoundingClientRect().width")  # type: ignore[attr-defined]
    assert card <= min(width, 600)
    page.close()  # type: ignore[attr-defined]


def test_every_image_has_alt_text_and_every_link_a_safe_target(browser: object, built: Path) -> None:
    page = _open(browser, built / "en" / "email.html", 375, "light")
    alts = page.evaluate("[...document.images].map(i => i.getAttribute('alt'))")  # type: ignore[attr-defined]
    assert alts and all(alt and alt.strip() for alt in alts)
    hrefs = page.evaluate("[...document.links].map(a => a.getAttribute('href'))")  # type: ignore[attr-defined]
    assert len(hrefs) > 20
    for href in hrefs:
        assert href.startswith(
            (
                "https://",
                "http://",
                "mailto:",
                "#fn-",
                "#statements",
                "#reports",
                "%%unsubscribe_url%%",
                "%%preferences_url%%",
            )
        ), href
    page.close()  # type: ignore[attr-defined]


def _luminance(css_color: str) -> float:
    red, green, blue = (
        int(part) for part in css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")[:3]
    )
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_dark_mode_turns_the_page_dark_and_the_text_light(browser: object, built: Path) -> None:
    colors = {}
    for scheme in ("light", "dark"):
        page = _open(browser, built / "en" / "email.html", 375, scheme)
        colors[scheme] = page.evaluate(  # type: ignore[attr-defined]
            """() => {
                const card = document.querySelector('.card table');
                const text = document.querySelector('.card h1');
                return [getComputedStyle(card).backgroundColor, getComputedStyle(text).color];
            }"""
        )
        page.close()  # type: ignore[attr-defined]
    light_background, light_text = colors["light"]
    dark_background, dark_text = colors["dark"]
    assert _luminance(light_background) > 0.9 and _luminance(light_text) < 0.2
    assert _luminance(dark_background) < 0.2 and _luminance(dark_text) > 0.8


def test_footnote_reference_jumps_to_its_footnote(browser: object, built: Path) -> None:
    page = _open(browser, built / "en" / "email.html", 375, "light")
    page.click("sup.fnref a")  # type: ignore[attr-defined]
    assert page.evaluate("location.hash") == "#fn-1"  # type: ignore[attr-defined]
    page.close()  # type: ignore[attr-defined]


def _platform_fonts(page: object, selector: str) -> list[str]:
    """The fonts Chromium actually drew the text of `selector` with (not merely the CSS asked for)."""
    session = page.context.new_cdp_session(page)  # type: ignore[attr-defined]
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [font["familyName"] for font in fonts]


def test_burmese_is_drawn_with_a_myanmar_font_not_tofu(browser: object, built: Path) -> None:
    page = _open(browser, built / "my" / "email.html", 375, "light")
    assert _platform_fonts(page, "h1") == ["Noto Sans Myanmar"]
    # A Burmese title inside the English edition too.
    english = _open(browser, built / "en" / "email.html", 375, "light")
    assert "Noto Sans Myanmar" in _platform_fonts(english, 'a[lang="my"]')
    page.close()  # type: ignore[attr-defined]
    english.close()  # type: ignore[attr-defined]


def _alt_text_lines(page: object) -> list[dict[str, float]]:
    """The line boxes of the featured image's alt text, as the image's own styles lay it out.

    A broken image draws its alt text inside the browser's own shadow tree, which
    pages cannot measure; the same text in a block with the image's computed font,
    size, line height and width wraps into the same lines, whose boxes can be.
    """
    return page.evaluate(  # type: ignore[attr-defined,no-any-return]
        """() => {
            const img = document.querySelector('img');
            const style = getComputedStyle(img);
            const copy = document.createElement('div');
            for (const name of ['font-family', 'font-size', 'line-height', 'font-weight']) copy.style.setProperty(name, style.getPropertyValue(name));
            copy.style.width = img.getBoundingClientRect().width + 'px';
            copy.lang = img.closest('[lang]').lang;
            copy.textContent = img.alt;
            img.parentNode.appendChild(copy);
            const range = document.createRange();
            range.selectNodeContents(copy);
            const rects = [...range.getClientRects()].map(r => ({top: r.top, bottom: r.bottom}));
            copy.remove();
            return rects;
        }"""
    )


@pytest.mark.parametrize("locale", ["en", "my"])
@pytest.mark.parametrize("width", [375, 600])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_alt_text_lines_do_not_overlap_when_images_are_blocked(
    browser: object, built: Path, locale: str, width: int, scheme: str
) -> None:
    page = _open(browser, built / locale / "email.html", width, scheme)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{locale}-{width}-{scheme}-no-images.png"))  # type: ignore[attr-defined]
    lines = _alt_text_lines(page)
    assert len(lines) >= 2  # the alt text wraps at these widths
    for above, below in itertools.pairwise(lines):
        assert above["bottom"] <= below["top"] + 0.5, (above, below)
    page.close()  # type: ignore[attr-defined]


def test_the_hero_image_is_the_width_of_its_column(built: Path) -> None:
    html = (built / "en" / "email.html").read_text(encoding="utf-8")
    # 600 px less 24 px each side: Outlook for Windows takes the width attribute as it is.
    assert re.search(r'<td style="width:552px;"><img alt="[^"]*" height="auto" src="[^"]*" width="552"', html)


def test_burmese_small_text_is_at_least_14px_and_body_text_16px(browser: object, built: Path) -> None:
    page = _open(browser, built / "my" / "email.html", 375, "light")
    sizes = page.evaluate(  # type: ignore[attr-defined]
        """() => {
            const size = selector => [...document.querySelectorAll(selector)].map(e => parseFloat(getComputedStyle(e).fontSize));
            return {small: [...size('.res span'), ...size('.fn'), ...size('.foot'), ...size('.meta'), ...size('.toc'), ...size('.notice')],
                    body: [...size('.card p:not([class]):not(:empty)')], marks: size('sup')};
        }"""
    )
    assert len(sizes["small"]) > 20 and len(sizes["body"]) > 10
    assert min(sizes["small"]) >= 14
    assert min(sizes["body"]) >= 16
    assert sizes["marks"] and min(sizes["marks"]) >= 13  # footnote numbers in Burmese digits
    page.close()  # type: ignore[attr-defined]


def test_the_note_about_english_text_shows_only_when_there_is_some(browser: object, built: Path) -> None:
    for locale, expected in (
        ("my", True),
        ("en", False),
    ):  # the sample's Burmese edition is partly in English
        page = _open(browser, built / locale / "email.html", 375, "light")
        note = page.query_selector(".notice")  # type: ignore[attr-defined]
        assert (note is not None and note.is_visible()) is expected
        page.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def long_burmese(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 75-resource issue translated whole into pseudo-Burmese at Burmese's byte weight, built."""
    root = tmp_path_factory.mktemp("long")
    shutil.copy(REPO / "broadsheet.toml", root / "broadsheet.toml")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "locales", root / "locales")
    project = find_project(root)
    built = build(project, write_issue_translated(project, 75), out=root / "out")
    assert not [d for d in built.diagnostics if "untranslated" in d.message]
    return root / "out" / "my" / "email.html"


def test_a_long_burmese_edition_stays_under_the_budget_with_its_footer_reachable(
    browser: object, long_burmese: Path
) -> None:
    html = long_burmese.read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) <= 90_000
    assert f'href="{UNSUBSCRIBE_PLACEHOLDER}"' in html
    assert 'class="notice"' not in html  # wholly translated: no note
    page = _open(browser, long_burmese, 375, "light")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "my-75-resources-375.png"), full_page=True)  # type: ignore[attr-defined]
    unsubscribe = page.locator(f'a[href="{UNSUBSCRIBE_PLACEHOLDER}"]')  # type: ignore[attr-defined]
    unsubscribe.scroll_into_view_if_needed()
    assert unsubscribe.is_visible()
    box = unsubscribe.bounding_box()
    assert box is not None and box["height"] > 0
    assert page.query_selector(".notice") is None  # type: ignore[attr-defined]
    page.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def arabic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample issue built in English and in Arabic, an edition written right to left (untranslated: a note)."""
    root = tmp_path_factory.mktemp("rtl")
    settings = (REPO / "broadsheet.toml").read_text(encoding="utf-8")
    (root / "broadsheet.toml").write_text(
        settings.replace('locales = ["en", "my"]', 'locales = ["en", "ar"]'), encoding="utf-8"
    )
    shutil.copytree(REPO / "templates", root / "templates")
    build(find_project(root), SAMPLE, out=root / "out")
    return root / "out"


# The edition's own text: English left untranslated is marked dir="ltr", and rightly laid out left to right.
_SIDES = """[...document.querySelectorAll('.card p, .card h1, .card h2, .card h3')].filter(e => e.textContent.trim() && !e.closest('[dir="ltr"]'))
  .map(e => (s => ({name: e.className, direction: s.direction, align: s.textAlign, left: s.borderLeftWidth, right: s.borderRightWidth,
                    paddingLeft: s.paddingLeft, paddingRight: s.paddingRight}))(getComputedStyle(e)))"""


@pytest.mark.parametrize("width", [375, 600])
def test_an_edition_written_right_to_left_mirrors_its_layout(
    browser: object, arabic: Path, width: int
) -> None:
    page = _open(browser, arabic / "ar" / "email.html", width, "light")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"ar-{width}-light.png"), full_page=True)  # type: ignore[attr-defined]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[attr-defined]
    elements = page.evaluate(_SIDES)  # type: ignore[attr-defined]
    assert len(elements) > 10
    for element in elements:
        # Laid out right to left, text against the right edge: the column's `direction: ltr` and the text's
        # `text-align: left` made an Arabic edition read as English is laid out.
        assert (element["direction"], element["align"]) == ("rtl", "right"), element
    # The table of contents and the note about English text keep their rule on the side the lines start.
    ruled = {e["name"]: (e["left"], e["right"]) for e in elements if e["name"] in ("toc", "notice")}
    assert ruled == {"toc": ("0px", "3px"), "notice": ("0px", "3px")}
    assert [(e["paddingLeft"], e["paddingRight"]) for e in elements if e["name"] == "toc"] == [
        ("0px", "12px")
    ]
    # English left untranslated (the sample's title, its paragraphs) reads left to right from the left edge.
    title = page.evaluate("(s => [s.direction, s.textAlign])(getComputedStyle(document.querySelector('h1')))")  # type: ignore[attr-defined]
    assert title == ["ltr", "left"]
    english = _open(browser, arabic / "en" / "email.html", width, "light")
    toc = english.evaluate(  # type: ignore[attr-defined]
        "(s => [s.direction, s.borderLeftWidth, s.borderRightWidth, s.paddingLeft])(getComputedStyle(document.querySelector('.toc')))"
    )
    assert toc == ["ltr", "3px", "0px", "12px"]
    page.close()  # type: ignore[attr-defined]
    english.close()  # type: ignore[attr-defined]


def test_a_code_block_and_a_quote_fit_a_phone(browser: object, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copy(REPO / "broadsheet.toml", root / "broadsheet.toml")
    (root / "issues").mkdir()
    long = "curl -s https://example.org/api/v1/reports?country=myanmar&year=2023&format=json&limit=100"
    (root / "issues" / "2023-12-21.yaml").write_text(
        f"date: 2023-12-21\ntitle: T\neditorial: |\n  ```\n  {long} {long}\n  ```\n\n"
        f"  > {long}\n\n  - {long}\nresources: {{}}\n",
        encoding="utf-8",
    )
    build(find_project(root), root / "issues" / "2023-12-21.yaml", out=root / "out", locales=["en"])
    page = _open(browser, root / "out" / "en" / "email.html", 320, "light")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320  # type: ignore[attr-defined]
    page.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("locale", "start", "end"), [("en", "Left", "Right"), ("ar", "Right", "Left")])
def test_a_list_and_a_quote_are_indented_from_the_side_lines_start(
    browser: object, tmp_path: Path, locale: str, start: str, end: str
) -> None:
    root = tmp_path / "project"
    shutil.copytree(REPO / "templates", root / "templates")
    settings = (REPO / "broadsheet.toml").read_text(encoding="utf-8")
    (root / "broadsheet.toml").write_text(settings.replace('"my"]', '"ar"]'), encoding="utf-8")
    (root / "issues").mkdir()
    (root / "issues" / "2023-12-21.yaml").write_text(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  - one\n    - nested\n\n  1. first\n\n  > A quote.\nresources: {}\n",
        encoding="utf-8",
    )
    build(find_project(root), root / "issues" / "2023-12-21.yaml", out=root / "out", locales=[locale])
    page = _open(browser, root / "out" / locale / "email.html", 375, "light")
    sides = page.evaluate(  # type: ignore[attr-defined]
        f"""[...document.querySelectorAll('ul, ol, blockquote')].map(e => (s => [e.tagName,
            s.padding{start} !== '0px', s.padding{end}, s.border{start}Width, s.border{end}Width])(getComputedStyle(e)))"""
    )
    assert sides == [
        ["UL", True, "0px", "0px", "0px"],
        ["UL", True, "0px", "0px", "0px"],
        ["OL", True, "0px", "0px", "0px"],
        ["BLOCKQUOTE", True, "0px", "3px", "0px"],
    ]
    page.close()  # type: ignore[attr-defined]


# Each line of a block's Burmese text, with the ink its glyphs reach above and below (the font's own glyph bounds,
# measured by a canvas in the element's font): a line box's height says nothing of marks drawn outside it.
_INK_LINES = """selector => {
  const MYANMAR = /[\\u1000-\\u109f]/;
  const ctx = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll(selector)].filter(e => MYANMAR.test(e.textContent)).map(block => {
    const lines = new Map();
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, style = getComputedStyle(node.parentElement), range = document.createRange();
      ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const ink = (start, end) => {
        range.setStart(node, start); range.setEnd(node, end);
        const rect = range.getClientRects()[0], text = node.data.slice(start, end);
        if (!rect || !MYANMAR.test(text)) return;
        const m = ctx.measureText(text), baseline = rect.top + m.fontBoundingBoxAscent;
        const line = lines.get(Math.round(baseline)) || {top: Infinity, bottom: -Infinity};
        line.top = Math.min(line.top, baseline - m.actualBoundingBoxAscent);
        line.bottom = Math.max(line.bottom, baseline + m.actualBoundingBoxDescent);
        lines.set(Math.round(baseline), line);
      };
      let start = 0, top = null;
      for (let i = 0; i < node.data.length; i++) {
        range.setStart(node, i); range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (!rect) continue;
        if (top !== null && rect.top > top + 4) { ink(start, i); start = i; }
        top = rect.top;
      }
      ink(start, node.data.length);
    }
    const style = getComputedStyle(block);
    return {text: block.textContent.trim().slice(0, 30), size: parseFloat(style.fontSize),
            contentTop: block.getBoundingClientRect().top + parseFloat(style.borderTopWidth) + parseFloat(style.paddingTop),
            lines: [...lines.entries()].sort((a, b) => a[0] - b[0]).map(entry => entry[1])};
  });
}"""


@pytest.mark.parametrize("width", [320, 375])
def test_burmese_heading_marks_stay_inside_their_lines(browser: object, built: Path, width: int) -> None:
    """Marks above (kinzi, ိ ီ ံ) and below (ု ူ ျ ွ) reach about 1.05 em above the baseline and 0.55 em below it in
    Noto Sans Myanmar: at a heading line height of 1.6 the title's first line drew 1 px above its box (a client
    setting lines `exactly`, as Outlook can, clips there) and its two lines came within 1.8 px of each other;
    ကျွန်ုပ် over ကြို့ overlapped by 0.2 px. At 1.8 they are 5.4 px apart."""
    page = _open(browser, built / "my" / "email.html", width, "light")
    headings = page.evaluate(_INK_LINES, "h1, h2, h3")  # type: ignore[attr-defined]
    assert sum(len(h["lines"]) > 1 for h in headings) >= 2  # wrapped titles are measured too
    for heading in headings:
        assert heading["lines"][0]["top"] >= heading["contentTop"], heading
        for above, below in itertools.pairwise(heading["lines"]):
            assert below["top"] - above["bottom"] >= 0.15 * heading["size"], heading
    page.close()  # type: ignore[attr-defined]


def test_burmese_in_the_english_edition_is_never_smaller_than_burmese_small_text(
    browser: object, built: Path
) -> None:
    """The footer's link to the Burmese edition (မြန်မာ), the one a Burmese reader of the English edition looks
    for, was set at English small text's 13 px, below the 14 that Burmese small text needs."""
    page = _open(browser, built / "en" / "email.html", 375, "light")
    sizes = page.evaluate(  # type: ignore[attr-defined]
        """() => {
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), sizes = {};
            while (walker.nextNode()) {
                const node = walker.currentNode;
                if (/[\\u1000-\\u109f]/.test(node.data) && !node.parentElement.closest('[style*="display:none"]'))
                    sizes[node.data.trim()] = parseFloat(getComputedStyle(node.parentElement).fontSize);
            }
            return sizes;
        }"""
    )
    assert "မြန်မာ" in sizes and len(sizes) >= 3
    assert {text: size for text, size in sizes.items() if size < 14} == {}
    page.close()  # type: ignore[attr-defined]
