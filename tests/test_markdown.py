"""Editorial Markdown: blocks as written, problems with their lines, safe HTML and plain text."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadsheet import markdown
from broadsheet.burmese import native_digits
from broadsheet.markdown import Block, Problem, inspect, split_blocks, to_html, to_text, unread_emphasis

# -- split_blocks ------------------------------------------------------------------


def test_split_blocks_keeps_each_block_as_written_with_its_first_line() -> None:
    text = "First paragraph\non two lines.\n\n\n- one\n- two\n\n> A quote.\n\n## A heading\n\n---\n"
    assert split_blocks(text) == [
        Block("First paragraph\non two lines.", 0),
        Block("- one\n- two", 4),
        Block("> A quote.", 7),
        Block("## A heading", 9),
        Block("---", 11),
    ]


def test_split_blocks_counts_leading_blank_lines() -> None:
    assert split_blocks("\n\nHello.\n") == [Block("Hello.", 2)]


def test_split_blocks_of_blank_text_is_empty() -> None:
    assert split_blocks("") == []
    assert split_blocks("\n  \n") == []


# -- inspect -----------------------------------------------------------------------


def test_inspect_finds_nothing_wrong_in_plain_markdown() -> None:
    text = "A [report](https://example.org/r), *emphasis*,\n[mail](mailto:info@example.org) and <https://example.org>."
    assert inspect(text) == ([], [])


def test_inspect_reports_raw_html_on_its_line() -> None:
    problems, _ = inspect("Fine.\n\nA <b>bold</b> claim\nand <i>more</i>.\n")
    assert problems == [
        Problem(2, "<b>", "raw HTML is not allowed in Markdown (found '<b>'); use Markdown instead"),
        Problem(2, "</b>", "raw HTML is not allowed in Markdown (found '</b>'); use Markdown instead"),
        Problem(3, "<i>", "raw HTML is not allowed in Markdown (found '<i>'); use Markdown instead"),
        Problem(3, "</i>", "raw HTML is not allowed in Markdown (found '</i>'); use Markdown instead"),
    ]


def test_inspect_reports_an_html_block_by_its_first_line() -> None:
    problems, _ = inspect('Fine.\n\n<div class="box">\nInside.\n</div>\n')
    assert problems == [
        Problem(
            2,
            '<div class="box">',
            "raw HTML is not allowed in Markdown (found '<div class=\"box\">'); use Markdown instead",
        )
    ]


def test_inspect_shortens_long_html_in_its_message() -> None:
    problems, _ = inspect('<p style="color: red; font-weight: bold; font-size: 40px">x</p>')
    assert [p.message for p in problems] == [
        "raw HTML is not allowed in Markdown (found '<p style=\"color: red; font-weight: bo...'); use Markdown instead"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "vbscript:x",
        "ftp://example.org/f",
        "/relative/path",
        "//example.org/x",
        "#anchor",
        "example.org",
        "mailto:nobody",
    ],
)
def test_inspect_reports_links_that_are_not_http_or_mailto(url: str) -> None:
    problems, _ = inspect(f"Intro.\n[a link]({url})")
    assert problems == [Problem(1, url, f"Expected an http(s) or mailto: URL but received: '{url}'")]


def test_inspect_reports_images_and_footnotes_defined_in_the_markdown() -> None:
    problems, refs = inspect("![chart](https://example.org/c.png)\n\nA figure.[^1]\n\n[^1]: The source.")
    assert problems == [
        Problem(0, "![", "images are not allowed in the text; the issue's image goes under 'image:'"),
        Problem(
            4, "[^1]:", "footnote [^1] is defined inside the Markdown; define it under 'footnotes:' instead"
        ),
    ]
    assert refs == [("1", 2)]


def test_inspect_lists_footnote_references_in_order_with_their_lines() -> None:
    _, refs = inspect("First.[^b]\nSecond line.[^a]\n\nAgain.[^b]")
    assert refs == [("b", 0), ("a", 1), ("b", 3)]


def test_inspect_inline_text_counts_lines_from_the_start() -> None:
    problems, refs = inspect("A source,\nsee [^n] and\n<i>this</i>", inline=True)
    assert refs == [("n", 1)]
    assert [(p.line, p.needle) for p in problems] == [(2, "<i>"), (2, "</i>")]


# -- to_html -----------------------------------------------------------------------


def test_to_html_marks_burmese_in_text_of_another_language() -> None:
    text = "Refugees from ရခိုင် ပြည်နယ် and **စစ်ကောင်စီ**၏ <rule>."
    assert to_html(text, {}, language="en") == (
        '<p>Refugees from <span lang="my">ရခိုင် ပြည်နယ်</span> and <strong><span lang="my">စစ်ကောင်စီ</span></strong>'
        '<span lang="my">၏</span> &lt;rule&gt;.</p>\n'
    )
    assert "span" not in to_html(text, {}, language="my") + to_html(text, {})


def test_to_html_escapes_text() -> None:
    assert (
        to_html('Fish & chips < 5 > 3 "quoted"', {})
        == "<p>Fish &amp; chips &lt; 5 &gt; 3 &quot;quoted&quot;</p>\n"
    )


def test_to_html_escapes_raw_html_instead_of_passing_it_through() -> None:
    assert to_html("Hi <script>alert(1)</script>\n\n<iframe src=x></iframe>", {}) == (
        "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>\n<p>&lt;iframe src=x&gt;&lt;/iframe&gt;</p>\n"
    )


def test_to_html_renders_emphasis_inline() -> None:
    assert (
        to_html("*em* **strong** `a < b`", {}, inline=True)
        == "<em>em</em> <strong>strong</strong> <code>a &lt; b</code>"
    )


def test_to_html_footnote_reference_is_a_numbered_sup_linking_to_its_footnote() -> None:
    assert to_html("A figure.[^src]", {"src": 3}) == (
        '<p>A figure.<sup class="fnref"><a href="#fn-3" id="fnref-3">[3]</a></sup></p>\n'
    )


def test_to_html_anchors_only_the_first_reference_to_each_footnote_of_a_page() -> None:
    cited: set[int] = set()
    first = to_html("One.[^a] Two.[^a]", {"a": 1}, inline=True, cited=cited)
    later = to_html("Three.[^a][^b]", {"a": 1, "b": 2}, inline=True, cited=cited)
    assert first == (
        'One.<sup class="fnref"><a href="#fn-1" id="fnref-1">[1]</a></sup> '
        'Two.<sup class="fnref"><a href="#fn-1">[1]</a></sup>'
    )
    assert later == (
        'Three.<sup class="fnref"><a href="#fn-1">[1]</a></sup>'
        '<sup class="fnref"><a href="#fn-2" id="fnref-2">[2]</a></sup>'
    )
    assert cited == {1, 2}


def test_to_html_writes_footnote_numbers_in_the_editions_digits() -> None:
    burmese = str.maketrans("0123456789", "၀၁၂၃၄၅၆၇၈၉")
    html = to_html("A figure.[^1]", {"1": 12}, inline=True, digits=lambda n: n.translate(burmese))
    assert html == 'A figure.<sup class="fnref"><a href="#fn-12" id="fnref-12">[၁၂]</a></sup>'


def test_to_html_leaves_an_unnumbered_reference_as_text() -> None:
    assert to_html("A figure.[^x]", {}) == "<p>A figure.[^x]</p>\n"


def test_to_html_links_http_https_and_mailto() -> None:
    html = to_html(
        "[a](https://example.org/?a=1&b=2) [b](http://example.org) [c](mailto:info@example.org) <https://example.org/d>",
        {},
    )
    assert html == (
        '<p><a href="https://example.org/?a=1&amp;b=2">a</a> <a href="http://example.org">b</a> '
        '<a href="mailto:info@example.org">c</a> <a href="https://example.org/d">https://example.org/d</a></p>\n'
    )


@pytest.mark.parametrize(
    "markdown",
    [
        "[x](javascript:alert(1))",
        "<javascript:alert(1)>",
        "[x](data:text/html,hi)",
        "[x](/relative)",
        "[x](#top)",
        "[x](ftp://example.org)",
    ],
)
def test_to_html_makes_no_link_for_other_urls(markdown: str) -> None:
    html = to_html(markdown, {})
    assert "<a " not in html
    assert "href" not in html


def test_to_html_makes_no_image() -> None:
    assert "<img" not in to_html("![a chart](https://example.org/c.png)", {})


def test_to_html_keeps_the_text_of_a_relative_link() -> None:
    assert to_html("See [our report](/reports/2023).", {}) == "<p>See <span>our report</span>.</p>\n"


def test_to_html_cannot_break_out_of_the_href() -> None:
    html = to_html('[q](https://example.org/"onmouseover=alert(1))', {})
    assert html == '<p><a href="https://example.org/%22onmouseover=alert(1)">q</a></p>\n'


# -- to_text -----------------------------------------------------------------------


def test_to_text_writes_links_as_text_and_url() -> None:
    assert to_text("Read [the report](https://example.org/r) today.", {}) == [
        "Read the report (https://example.org/r) today."
    ]


def test_bare_text_keeps_link_text_and_leaves_out_urls_and_footnote_marks() -> None:
    assert to_text("Read [the report](https://example.org/r) today.[^a]", {"a": 1}, bare=True) == [
        "Read the report today."
    ]


def test_to_text_shows_an_autolink_once() -> None:
    assert to_text("See <https://example.org> or [https://example.org/x](https://example.org/x).", {}) == [
        "See https://example.org or https://example.org/x."
    ]


def test_to_text_shows_mail_addresses_without_mailto() -> None:
    assert to_text(
        "Write [to us](mailto:info@example.org) or [info@example.org](mailto:info@example.org).", {}
    ) == ["Write to us (info@example.org) or info@example.org."]


def test_to_text_shows_no_url_for_a_link_that_is_not_allowed() -> None:
    assert to_text("See [our report](/reports/2023).", {}) == ["See our report."]


def test_to_text_writes_footnote_references_as_numbers_in_brackets() -> None:
    assert to_text("A figure.[^src] Another.[^x]", {"src": 2}) == ["A figure.[2] Another.[^x]"]
    assert to_text("A figure.[^1]", {"1": 1}, inline=True, digits=lambda n: "၁") == ["A figure.[၁]"]


def test_to_text_drops_emphasis_and_keeps_code_text() -> None:
    assert to_text("*even funerals* and **more**, `code`", {}) == ["even funerals and more, code"]


def test_to_text_gives_each_paragraph_list_item_and_quote_its_own_line() -> None:
    text = "First\nparagraph.\n\n- one\n- two\n\n> A quote.\n\n## Heading\n\n---\n\nLast.  \nWith a break."
    assert to_text(text, {}) == [
        "First paragraph.",
        "- one",
        "- two",
        "> A quote.",
        "Heading",
        "* * *",
        "Last.\nWith a break.",
    ]


def test_to_text_gives_the_later_lines_of_an_item_or_quote_their_indent() -> None:
    nested, quote, item, code = to_text("- one\n  - two\n\n> a\\\nb\n\n1. x\n\n   ```\n   y\n   ```", {})[1:]
    assert (nested, nested.indent) == ("  - two", "    ")
    assert (quote, quote.indent) == ("> a\nb", "> ")
    assert (item, item.indent) == ("1. x", "   ")
    assert (code, code.indent) == ("   y", "   ")


def test_to_text_joins_the_items_of_a_list_written_without_blank_lines() -> None:
    def joined(text: str) -> list[tuple[str, bool]]:
        return [(str(p), p.joined) for p in to_text(text, {})]

    assert joined("Before.\n\n- a\n  - nested\n- b\n\nAfter.") == [
        ("Before.", False),
        ("- a", False),
        ("  - nested", True),
        ("- b", True),
        ("After.", False),
    ]
    assert joined("- a\n\n- b") == [("- a", False), ("- b", False)]  # a loose list keeps its blank lines
    assert joined("- a\n- b\n\n1. c") == [("- a", False), ("- b", True), ("1. c", False)]  # another list
    assert joined("> - a\n> - b") == [("> - a", False), ("> - b", True)]


def test_to_text_bare_leaves_out_list_and_quote_marks() -> None:
    assert to_text("- one\n- two\n\n> said[^1]", {"1": 1}, bare=True) == ["one", "two", "said"]


def test_to_text_numbers_ordered_lists_from_their_start() -> None:
    assert to_text("3. three\n1. four\n9. five\n\n1) one", {}) == ["3. three", "4. four", "5. five", "1. one"]


def test_to_text_indents_nested_lists_and_later_paragraphs_of_an_item() -> None:
    assert to_text("- outer\n  - inner\n- next\n\n  More of next.\n\n> - quoted item", {}) == [
        "- outer",
        "  - inner",
        "- next",
        "  More of next.",
        "> - quoted item",
    ]


def test_emphasis_left_as_written_beside_letters_of_myanmar_extended_blocks_is_found() -> None:
    # Shan, Khamti and Aiton letters (Myanmar Extended-A and -B) run without spaces as Burmese does.
    # (`*` may emphasize inside a word, `_` may not.)
    assert unread_emphasis("ꩠꩡ_ꩢꩣ_ꩤ and ꧠ_ꧡ_ꧢ") == ["_", "_", "_", "_"]
    assert unread_emphasis("ꩠꩡ*ꩢꩣ*ꩤ and a _b_ c") == []


@pytest.mark.parametrize(
    ("written", "text"),
    [
        # Markdown links to a non-ASCII domain by its punycode, and shows it decoded: said once, as linked.
        ("<https://münchen.de/x>", "https://xn--mnchen-3ya.de/x"),
        ("[https://ဥပမာ.com/](https://ဥပမာ.com/)", "https://xn--8idi8a4a.com/"),
        ("<mailto:ko@ဥပမာ.com>", "ko@xn--8idi8a4a.com"),
        ("<ko@example.org>", "ko@example.org"),
        # Shown decoded, `%20` is a space, where a reader's mail program would end the link.
        ("<https://example.org/a%20b>", "https://example.org/a%20b"),
        ("<https://example.org/x>", "https://example.org/x"),
        ("[the report](https://ဥပမာ.com/)", "the report (https://xn--8idi8a4a.com/)"),
    ],
)
def test_a_link_showing_its_own_address_gives_it_once_and_whole_in_the_text_part(
    written: str, text: str
) -> None:
    assert to_text(written, {}) == [text]


def test_a_run_of_spaces_after_a_bracket_is_inspected_in_linear_time() -> None:
    """A gap of spaces after `]` and no `(` was tried as two runs, every way: 20,000 spaces took two seconds."""
    started = time.monotonic()
    problems, _ = inspect("See [the report]" + " " * 60_000 + "here](https://example.org/a b).")
    assert time.monotonic() - started < 2
    assert [problem.needle for problem in problems] == []


# -- kept between runs ---------------------------------------------------------------

KEPT_TEXTS = [
    ("A [report](https://example.org/r) with a note[^1], *emphasis* and ဗမာစာ in English.", False),
    ("- one[^a]\n- two\n\n> quoted[^b]\n\n3. third\n4. fourth[^a]\n\n---\n", False),
    ("## A heading\n\n<b>raw</b>\n\n    code\n\n| a | b |\n|---|---|\n\n• pasted\n• bullets\n", False),
    ("[hrw]: https://www.hrw.org/\n\n**စစ်ကောင်စီ**၏ text ~~struck~~ [x] (https://example.org/x) [^zz]", False),
    ("A note on [a page](https://example.org/a%20b 'Title') and <https://münchen.de/>[^b].", True),
]


def everything(text: str, inline: bool) -> object:
    """Every answer this module gives for `text`: its checks, and its HTML and text as two pages put them,
    footnote numbers, digits and the footnotes cited before included."""
    numbers = {"1": 1, "a": 2, "b": 3}
    cited = {2}
    return (
        inspect(text, inline=inline),
        split_blocks(text),
        markdown.structure(text),
        unread_emphasis(text),
        to_html(
            text,
            numbers,
            inline=inline,
            digits=lambda number: native_digits(number, "my"),
            cited=cited,
            language="en",
            digits_language="my",
        ),
        sorted(cited),
        to_html(text, {"1": 9}, inline=inline, language="my"),
        [(p, p.indent, p.joined) for p in to_text(text, numbers, inline=inline)],
        to_text(text, numbers, inline=inline, bare=True),
    )


@pytest.fixture
def markdown_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder of this test's own; what this process read or worked out before is forgotten."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    markdown.forget()
    yield tmp_path / "cache" / "broadsheet"
    markdown.forget()


def markdown_it_must_not_be_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("markdown-it was asked")

    monkeypatch.setattr(markdown, "_parsers", refuse)


def worked_out_each_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every text's answers with no cache folder to keep them in (it cannot be made): markdown-it's own."""
    (tmp_path / "a-file").write_text("")
    with monkeypatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
        markdown.forget()
        answers = [everything(text, inline) for text, inline in KEPT_TEXTS]
        assert not (tmp_path / "a-file").is_dir()
    markdown.forget()
    return answers


def test_what_is_kept_is_read_back_the_same_without_markdown_it(
    markdown_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worked_out = worked_out_each_time(tmp_path, monkeypatch)
    assert [everything(text, inline) for text, inline in KEPT_TEXTS] == worked_out
    (folder,) = markdown_cache.glob("markdown-*")
    # Each text's checks and renders, and the inline one's checks as a block too (structure and the rest)
    assert len(list(folder.iterdir())) == 2 * len(KEPT_TEXTS) + 1
    markdown.forget()  # as a new process: it has only the files
    markdown_it_must_not_be_asked(monkeypatch)
    assert [everything(text, inline) for text, inline in KEPT_TEXTS] == worked_out


def test_a_kept_text_takes_each_pages_footnote_numbers(
    markdown_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "Said twice[^n], and again[^n]; unknown[^x]."
    assert to_html(text, {"n": 1}, inline=True) == (
        'Said twice<sup class="fnref"><a href="#fn-1" id="fnref-1">[1]</a></sup>, and again'
        '<sup class="fnref"><a href="#fn-1">[1]</a></sup>; unknown[^x].'
    )
    markdown.forget()
    markdown_it_must_not_be_asked(monkeypatch)
    cited = {7}
    assert to_html(
        text, {"n": 7, "x": 8}, inline=True, cited=cited, digits=lambda number: native_digits(number, "my")
    ) == (
        'Said twice<sup class="fnref"><a href="#fn-7">[၇]</a></sup>, and again'
        '<sup class="fnref"><a href="#fn-7">[၇]</a></sup>; unknown<sup class="fnref"><a href="#fn-8" id="fnref-8">'
        "[၈]</a></sup>."
    )
    assert cited == {7, 8}
    assert to_text(text, {"n": 3}, inline=True) == ["Said twice[3], and again[3]; unknown[^x]."]
    assert to_text(text, {"n": 3}, inline=True, bare=True) == ["Said twice, and again; unknown."]


@pytest.mark.parametrize("damage", [b"", b"not msgpack at all", b"\x93\x01\x02\x03", "cut"])
def test_a_damaged_kept_answer_is_worked_out_again_and_replaced(
    markdown_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes | str
) -> None:
    worked_out = worked_out_each_time(tmp_path, monkeypatch)
    assert [everything(text, inline) for text, inline in KEPT_TEXTS] == worked_out
    files = sorted(markdown_cache.glob("markdown-*/*"))
    whole = {path: path.read_bytes() for path in files}
    for path in files:
        path.write_bytes(whole[path][: len(whole[path]) // 2] if damage == "cut" else damage)
    markdown.forget()
    assert [everything(text, inline) for text, inline in KEPT_TEXTS] == worked_out
    assert {path: path.read_bytes() for path in files} == whole


def test_kept_answers_are_those_of_the_code_that_worked_them_out(
    markdown_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another version of this module, or of markdown-it or its plugins, keeps its answers apart."""
    first = markdown._kept_folder()
    copy = tmp_path / "markdown.py"
    copy.write_text("# this module, changed\n")
    monkeypatch.setattr(markdown, "__file__", str(copy))
    markdown.forget()
    changed = markdown._kept_folder()
    copy.write_text("# this module, changed again\n")
    markdown.forget()
    assert len({first, changed, markdown._kept_folder()}) == 3
    monkeypatch.undo()

    upgraded = tmp_path / "__init__.py"
    upgraded.write_text('__version__ = "99.0.0"\n')
    found = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> importlib.machinery.ModuleSpec | None:
        if name == "markdown_it":
            return importlib.machinery.ModuleSpec(name, None, origin=str(upgraded))
        return found(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    markdown.forget()
    assert markdown._kept_folder() not in (first, None)
    monkeypatch.undo()
    markdown.forget()
    assert markdown._kept_folder() == first
