"""The built email in a real browser (headless Chromium): phone to desktop widths, light and dark.

Screenshots of every case are saved under tests/output/screenshots/ for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from broadsheet.build import build
from broadsheet.settings import Project

from .support import SAMPLE, SCREENSHOTS


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
def test_email_fits_the_screen_without_horizontal_scrolling(browser: object, built: Path, locale: str, width: int, scheme: str) -> None:
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
        assert href.startswith(("https://", "http://", "mailto:", "#fn-", "%%unsubscribe_url%%", "%%preferences_url%%")), href
    page.close()  # type: ignore[attr-defined]


def _luminance(css_color: str) -> float:
    red, green, blue = (int(part) for part in css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")[:3])
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
