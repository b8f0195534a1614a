"""Every issue that `check` accepts renders whole: each locale's email shows every resource and footnote, leaks
no template markup, keeps one unsubscribe link and unique ids, and wraps its text part to `text_width`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet import burmese, markdown
from broadsheet.errors import InvalidInput
from broadsheet.model import UNSUBSCRIBE_PLACEHOLDER
from broadsheet.pipeline import editions
from broadsheet.settings import Project, find_project

from .support import REPO

ENGLISH = [
    "the",
    "junta",
    "airstrike",
    "Sagaing",
    "relief",
    "camp",
    "appeal",
    "families",
    "winter",
    "O'Brien",
]
BURMESE = ["မြန်မာ", "စစ်ကောင်စီ", "ဒုက္ခသည်", "အစီရင်ခံစာ", "ကျေးရွာ", "လေကြောင်းတိုက်ခိုက်မှု", "၏", "။"]
EMOJI = ["🇲🇲", "✊", "🕊️", "👩‍👧"]
MARKUP = ["Q&A", "<b>bold</b>", '"quoted"', "50%", "it's", "a\\b", "*not emphasis*"]
ORGANIZATIONS = ["Progressive Voice", "Fortify Rights", "Human Rights Watch", "AAPP (Burma)", "ဒုက္ခသည်ကူညီရေးအဖွဲ့"]

HOSTS = [
    "example.org",
    "www.example.org",
    "bücher.example",
    "မြန်မာ.example",
    "xn--7xa.example",
    "example.org:8443",
]
PATH_PARTS = ["report", "a_(b)", "Q&A", "50%25", "ဗမာ", "%E1%80%80", "2023", "file.pdf", "~user", "a+b"]
QUERIES = ["", "?id=2", "?a=1&b=2", "?q=%E1%80%80&lang=my", "?x=(1)", "#part-2", "?utm_source=x#top"]

SIX_CATEGORIES = {
    "statements": "Statements and Press Releases",
    "reports": "Reports and Publications",
    "news": "ရုပ်သံ & Video <Clips>, 100%",
    "fn-news": "Footnote-like key",
    "fnref": "Another anchor-like key",
    "a_very_long_category_key_0": " ".join(["A category label long enough to wrap"] * 3),
}

CATEGORIES = {72: ("statements", "reports"), 20: tuple(SIX_CATEGORIES)}
"""The categories of each project, by its text width: the sample's two, and six of every shape a key may have."""


words = st.lists(st.sampled_from(ENGLISH + BURMESE + EMOJI), min_size=1, max_size=12).map(" ".join)
plain_words = st.lists(st.sampled_from(ENGLISH + BURMESE + EMOJI + MARKUP), min_size=1, max_size=12).map(
    " ".join
)
"""Text that is not Markdown (titles, summaries, alt text): characters HTML and Markdown would read otherwise."""


@st.composite
def web_urls(draw: st.DrawFn) -> str:
    path = "/".join(draw(st.lists(st.sampled_from(PATH_PARTS), max_size=4)))
    return f"{draw(st.sampled_from(['http', 'https']))}://{draw(st.sampled_from(HOSTS))}/{path}{draw(st.sampled_from(QUERIES))}"


link_urls = st.one_of(
    web_urls(), st.sampled_from(["mailto:editors@example.org", "mailto:info@ex.org?subject=Hi"])
)


@dataclass
class Draft:
    """An issue being drawn: its footnote labels, cited in the order the editorial cites them."""

    labels: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


@st.composite
def inline(draw: st.DrawFn, draft: Draft, notes: bool = True) -> str:
    """One sentence of inline Markdown: words, emphasis, links and (in the editorial) footnote references."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        text = draw(words)
        kind = draw(st.sampled_from(["plain", "em", "strong", "link", "titled", "autolink", "note", "break"]))
        if kind == "em":
            text = f"*{text}*"
        elif kind == "strong":
            text = f"**{text}**"
        elif kind == "link":
            url = draw(link_urls)
            draft.links.append(url)
            text = f"[{text}]({url})"
        elif kind == "titled":
            url = draw(link_urls)
            draft.links.append(url)
            text = f'*[{text}]({url} "{draw(words)}")*'
        elif kind == "break":
            text = f"{text}\\\n{draw(words)}"
        elif kind == "autolink":
            url = draw(web_urls())
            draft.links.append(url)
            text = f"<{url}>"
        elif kind == "note" and notes:
            label = draw(
                st.sampled_from([str(n) for n in range(1, 6)] + ["camps", "note-a", "x_1", "Figures"])
            )
            draft.labels.append(label)
            text = f"{text}.[^{label}]"
        parts.append(text)
    return " ".join(parts) + "."


@st.composite
def block(draw: st.DrawFn, draft: Draft) -> str:
    kind = draw(st.sampled_from(["paragraph", "paragraph", "list", "numbered", "quote"]))
    lines = [draw(inline(draft)) for _ in range(draw(st.integers(1, 3)))]
    if kind == "list":
        return "\n".join(f"- {line}" for line in lines)
    if kind == "numbered":
        return "\n".join(f"{n}. {line}" for n, line in enumerate(lines, 1))
    if kind == "quote":
        return "\n".join(f"> {line}" for line in lines)
    return "\n".join(lines)


@st.composite
def titles(draw: st.DrawFn) -> str:
    title = draw(plain_words)
    if draw(st.booleans()):
        title = " ".join([title] * draw(st.integers(2, 12)))  # very long
    return draw(st.sampled_from(["", "Myanmar: ", "“", "[Report] ", "#", "& "])) + title


@st.composite
def issues(draw: st.DrawFn, categories: tuple[str, ...] = CATEGORIES[72]) -> tuple[dict[str, Any], Draft]:
    draft = Draft()
    editorial = "\n\n".join(draw(block(draft)) for _ in range(draw(st.integers(1, 15))))
    data: dict[str, Any] = {"date": "2031-01-02", "title": draw(titles()), "editorial": editorial + "\n"}
    if draw(st.booleans()):
        data["author"] = draw(st.sampled_from(ORGANIZATIONS))
    if draw(st.booleans()):
        data["summary"] = draw(plain_words)
    if draw(st.booleans()):
        data["image"] = {"src": draw(web_urls()), "alt": draw(plain_words)}
    if draft.labels:
        data["footnotes"] = {label: draw(inline(draft, notes=False)) for label in dict.fromkeys(draft.labels)}
    resources = {}
    for key in draw(st.lists(st.sampled_from(categories), unique=True, max_size=len(categories))):
        items = []
        for _ in range(draw(st.integers(0, 6))):
            item: dict[str, Any] = {"title": draw(titles()), "url": draw(web_urls())}
            by = draw(st.lists(st.sampled_from(ORGANIZATIONS), max_size=5, unique=True))
            if by:
                item["by"] = by[0] if len(by) == 1 and draw(st.booleans()) else by
            if draw(st.booleans()):
                item["lang"] = "my"
            items.append(item)
        resources[key] = items
    data["resources"] = resources
    return data, draft


class Parsed(HTMLParser):
    """The ids, link targets and text of an HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids.append(value)
            if name == "href" and value is not None:
                self.hrefs.append(value)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return squeezed("".join(self.texts))


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def unbreakable(line: str) -> bool:
    """Whether an over-long text line is so only by a token that cannot be broken: a URL, or one word after a mark."""
    tokens = line.split()
    return (
        any("://" in token or token.startswith(("mailto:", "(mailto:")) for token in tokens)
        or len(tokens) <= 2
    )


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Project]:
    """The repository's project (templates, catalogs) with its text part 72 columns wide and the sample's
    categories, or 20 wide with six."""
    made = {}
    for width, keys in CATEGORIES.items():
        root = tmp_path_factory.mktemp(f"width{width}")
        settings = (REPO / "broadsheet.toml").read_text(encoding="utf-8")
        categories = "".join(f"{key} = {SIX_CATEGORIES[key]!r}\n" for key in keys)
        settings = re.sub(r"\[categories\]\n(?:.+\n)+", f"[categories]\n{categories}", settings)
        (root / "broadsheet.toml").write_text(f"text_width = {width}\n{settings}", encoding="utf-8")
        shutil.copytree(REPO / "templates", root / "templates")
        shutil.copytree(REPO / "locales", root / "locales")
        (root / "issues").mkdir()
        made[width] = find_project(root)
        assert tuple(made[width].settings.categories) == keys
    return made


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(
    st.sampled_from(sorted(CATEGORIES)).flatmap(
        lambda width: st.tuples(st.just(width), issues(CATEGORIES[width]))
    )
)
def test_every_accepted_issue_renders_every_resource_and_footnote(
    projects: dict[int, Project], drawn: tuple[int, tuple[dict[str, Any], Draft]]
) -> None:
    width, (data, draft) = drawn
    project = projects[width]
    path = project.issues_dir / "2031-01-02.yaml"
    path.write_text(dump(data), encoding="utf-8")
    try:
        made = editions(project, path)
    except InvalidInput as exc:
        # `check` refuses it, for what the issue holds: never for what the templates made of it.
        assert not [d for d in exc.diagnostics if d.path.endswith(".j2")], exc.diagnostics
        return
    resources = [item for items in data["resources"].values() for item in items]
    for locale, email in made.emails.items():
        html, text = Parsed(email.html), email.text
        left_out = any("left out of the email" in d.message for d in email.diagnostics)
        for item in [] if left_out else resources:
            assert item["url"] in html.hrefs, (locale, item["url"])
            assert squeezed(item["title"]) in html.text, (locale, item["title"])
            assert f"\n  {item['url']}\n" in text, (locale, item["url"])
            assert squeezed(item["title"]) in squeezed(text), (locale, item["title"])
        for url in map(markdown.href, draft.links):  # as links are written: IDN hosts in punycode
            assert url in html.hrefs, (locale, url)
            assert url.removeprefix("mailto:") in text, (locale, url)
        for number in range(1, len(data.get("footnotes", {})) + 1):
            assert f"fn-{number}" in html.ids, (locale, number)
        for leak in ("{{", "{%", "<mj-", "</mj-"):
            assert leak not in email.html, (locale, leak)
            assert leak not in text, (locale, leak)
        assert html.hrefs.count(UNSUBSCRIBE_PLACEHOLDER) == 1
        assert email.html.count(UNSUBSCRIBE_PLACEHOLDER) == 1
        assert text.count(UNSUBSCRIBE_PLACEHOLDER) == 1
        twice = [name for name, n in Counter(html.ids).items() if n > 1]
        assert not twice, (locale, twice)
        for line in text.splitlines():
            assert burmese.columns(line) <= width or unbreakable(line), (locale, line)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(issues())
def test_build_and_site_commands_take_an_accepted_issue(
    projects: dict[int, Project],
    tmp_path_factory: pytest.TempPathFactory,
    drawn: tuple[dict[str, Any], Draft],
) -> None:
    project = projects[72]
    path = project.issues_dir / "2031-01-02.yaml"
    path.write_text(dump(drawn[0]), encoding="utf-8")
    command = [sys.executable, "-m", "broadsheet"]
    check = subprocess.run([*command, "check", str(path)], cwd=project.root, capture_output=True, text=True)
    if check.returncode != 0:
        assert "Traceback" not in check.stderr
        return
    out = tmp_path_factory.mktemp("out")
    for args in (
        ["build", str(path), "-o", str(out / "email")],
        ["site", "-o", str(out / "site"), "--until", "2031-01-02"],
    ):
        done = subprocess.run([*command, *args], cwd=project.root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    assert (out / "site" / "en" / "2031-01-02" / "index.html").exists()
