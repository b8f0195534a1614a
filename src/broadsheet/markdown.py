"""Editorial Markdown: split into paragraphs, inspected for unsafe input, turned into safe HTML or plain text.

CommonMark through markdown-it-py with raw HTML off; footnote references
(`[^1]`) through mdit-py-plugins, their texts coming from the issue's
`footnotes:` mapping rather than from the Markdown.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import msgspec
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.helpers import parseLinkDestination
from markdown_it.token import Token
from markupsafe import escape
from mdit_py_plugins.footnote import footnote_plugin

from . import burmese
from .curate.urls import tracking_warning
from .errors import Severity
from .schema import has_invisible, language_tag, pasted_end, same_language, url_problem

LINK_SCHEMES = ("http", "https", "mailto")


def _parser(*, html: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": html, "typographer": False})
    md.use(footnote_plugin, inline=False, move_to_end=False, always_match_refs=True)
    return md


# The inspector sees everything an editor may write, so that check can name it;
# the renderer has raw HTML off and makes no images, whatever slips past.
_inspector = _parser(html=True)
_inspector.validateLink = lambda url: True  # type: ignore[method-assign]
_renderer = _parser(html=False).disable("image")


@functools.lru_cache(maxsize=512)
def _inspected(text: str, inline: bool = False) -> tuple[Token, ...]:
    """The inspector's tokens for `text`; checking, splitting and extracting share one parse."""
    return tuple(_inspector.parseInline(text, {}) if inline else _inspector.parse(text, {}))


@functools.lru_cache(maxsize=64)
def _definitions(text: str) -> tuple[tuple[int, str], ...]:
    """The links defined by name in `text` (`[hrw]: https://www.hrw.org/`), as (line, URL), in order."""
    env: dict[str, Any] = {}
    _inspector.parse(text, env)
    return tuple(sorted((int(ref["map"][0]), str(ref["href"])) for ref in env.get("references", {}).values()))


def link_destination(url: str) -> str:
    """`url` as written in `[text](HERE)` so that it reads back as `url`: as it is where it does (`a_(b)`), else
    between `<` and `>` (`<a)b(c>`), where a backslash, `<` and `>` are escaped."""
    written = read_destination(url, 0)
    if written is not None and written == (url, len(url)):
        return url
    return "<" + re.sub(r"([\\<>])", r"\\\1", url) + ">"


def read_destination(text: str, start: int) -> tuple[str, int] | None:
    """The link destination written in `text` at `start` (`a_(b)` or `<a)b>`, escapes undone) and the index
    after it; None where none is."""
    found = parseLinkDestination(text, start, len(text))
    return (found.str, found.pos) if found.ok else None


def href(destination: str) -> str:
    """What a link to `destination` (escapes undone) links to: a few characters percent-encoded, as the renderer does."""
    return str(_inspector.normalizeLink(destination))


class Problem(msgspec.Struct, frozen=True):
    """Something wrong in a Markdown text; `line` counts from 0 within the text."""

    line: int
    needle: str
    message: str
    severity: Severity = Severity.ERROR


# Markdown that CommonMark reads, or shows as written, otherwise than an editor pasting it from elsewhere means.
_HEADING = (
    "a heading has no place in the email's design: it is drawn as large as the title or the section headings; "
    "write a paragraph, its first words in **bold** if they must stand out"
)
_CODE_BLOCK = (
    "Markdown reads text indented by 4 spaces or more as a code block, shown as written in a fixed-width font; "
    "remove the indentation if it is a paragraph"
)
_FENCE = "a code block is shown as written, in a fixed-width font; the email's design has no place for it"
_TABLE = "Markdown here has no tables: this is shown as written, pipes and all; write a list instead"
_STRIKE = (
    "'~~' does not strike text through here: it is shown as written; delete the text or say it is withdrawn"
)
_EMPHASIS = (
    "{!r} is shown as written: CommonMark ends emphasis right after punctuation (such as ၏ or ။) only before a "
    "space or punctuation, and never takes '_' inside a word; end it before the punctuation (**စစ်ကောင်စီ**၏), or "
    "use '*' for '_'"
)
# What is left of emphasis CommonMark did not read: `**` anywhere, or `*` or `_` touching Myanmar text.
_UNREAD_EMPHASIS = re.compile(rf"\*\*|__|(?<=[{burmese.MYANMAR}])[*_]+|[*_]+(?=[{burmese.MYANMAR}])")
_BULLET = (
    "{!r} starting a line does not make a list item in Markdown: the lines are joined into one paragraph, "
    "bullets and all; start each item on its own line with '- ' (or '1. ' for a numbered list)"
)
_BULLET_LINE = re.compile(
    "^[ \t]*([\u2022\u2023\u2043\u2219\u25aa\u25cf\u25e6\u25cb\u25a0\u25a1\u27a2\u27a4\uf0a7\uf0b7\u00b7])[ \t\u00a0]",
    re.M,
)
"""A line starting with a bullet that a word processor or Google Docs writes when its list is pasted as text
(U+F0B7 and U+F0A7 are Word's Symbol-font bullets)."""
_DEFINITION = (
    "{} defines a link by name, which the email leaves out: each paragraph is shown, and translated, on its own; "
    "write the link where it is used, [its text]({}), and delete this line"
)
_TITLE = (
    "the link's title {!r}, written after its address, is not shown in the email; put it in the link's text or "
    "after the link, or delete it"
)
_UNREAD_LINK = re.compile(
    r"\[[^\[\]\n]+\](?P<gap>[ \t]*(?:\n[ \t]*)?)\((?P<url>(?:https?:|mailto:|www\.)[^()\n]*)\)"
)
"""A link Markdown shows as written, `[text] (url)` or a URL holding a space. (Its gap is read one way only:
written `[ \t]*\n?[ \t]*`, a run of spaces after a `]` and no `(` took a second for 20,000.)"""
_TABLE_RULE = re.compile(r"^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


class Block(msgspec.Struct, frozen=True):
    """A top-level block of a Markdown text; `line` counts from 0 within the text."""

    markdown: str
    line: int


def split_blocks(text: str) -> list[Block]:
    """The top-level blocks (paragraphs, lists, quotes...) of `text`, as written."""
    lines = text.splitlines()
    blocks = []
    for token in _inspected(text):
        if token.level == 0 and token.map and token.nesting >= 0:
            start, end = token.map
            source = "\n".join(lines[start:end]).strip("\n")
            if source.strip():
                blocks.append(Block(source, start))
    return blocks


def inspect(text: str, *, inline: bool = False) -> tuple[list[Problem], list[tuple[str, int]]]:
    """Problems in `text`, and its footnote references as (label, line) in order."""
    problems: list[Problem] = []
    refs: list[tuple[str, int]] = []
    tokens = _inspected(text, inline)
    if not inline and "]:" in text:
        lines = text.splitlines()
        for at, url in _definitions(text):
            name = lines[at].lstrip().split("]:")[0] + "]:"
            problems.append(Problem(at, name, _DEFINITION.format(name, url)))
    line = 0
    for token in tokens:
        if token.map:
            line = token.map[0]
        if token.type == "footnote_reference_open":
            label = token.meta.get("label", "")
            problems.append(
                Problem(
                    line,
                    f"[^{label}]:",
                    f"footnote [^{label}] is defined inside the Markdown; define it under 'footnotes:' instead",
                )
            )
        if token.type == "html_block":
            problems.append(Problem(line, token.content.strip().split("\n")[0], _html_message(token.content)))
        elif token.type == "heading_open":
            problems.append(Problem(line, token.markup[:1], _HEADING, Severity.WARNING))
        elif token.type in ("fence", "code_block"):
            needle = token.markup or token.content.strip().split("\n")[0]
            problems.append(Problem(line, needle, _FENCE if token.markup else _CODE_BLOCK, Severity.WARNING))
        elif token.type == "inline" and token.map and _is_table(token.content):
            problems.append(Problem(line, "|", _TABLE, Severity.WARNING))
        elif token.type == "inline" and token.map and "\n" in token.content:
            bullet = _BULLET_LINE.search(token.content)
            if bullet:
                here = line + token.content.count("\n", 0, bullet.start())
                problems.append(
                    Problem(here, bullet.group(1), _BULLET.format(bullet.group(1)), Severity.WARNING)
                )
        offset = 0
        for child in token.children or []:
            here = line + offset
            if child.type in ("softbreak", "hardbreak"):
                offset += 1
            elif child.type == "link_open":
                href = str(child.attrs.get("href", ""))
                # The renderer percent-encodes what it links to: a zero-width space pasted into the URL became
                # %E2%80%8B, a broken link no check saw. The URL as written is checked for it.
                written = unquote(href)
                problem = url_problem(href, LINK_SCHEMES)
                if problem:
                    problems.append(Problem(here, href, problem))
                elif (
                    written != href
                    and (invisible := url_problem(written, LINK_SCHEMES))
                    and has_invisible(written)
                ):
                    problems.append(Problem(here, written, invisible))
                elif doubt := pasted_end(href):
                    problems.append(Problem(here, href, doubt, Severity.WARNING))
                elif tracking := tracking_warning(href):
                    problems.append(Problem(here, href, tracking, Severity.WARNING))
                if child.attrs.get("title"):
                    problems.append(
                        Problem(here, "](", _TITLE.format(child.attrs["title"]), Severity.WARNING)
                    )
            elif child.type == "html_inline":
                problems.append(Problem(here, child.content, _html_message(child.content)))
            elif (
                child.type == "text"
                and "](" in child.content.replace("] (", "](")
                and (unread_link := _UNREAD_LINK.search(child.content))
            ):
                problems.append(
                    Problem(
                        here + child.content.count("\n", 0, unread_link.start()),
                        unread_link.group(),
                        _unread_link_message(unread_link),
                        Severity.WARNING,
                    )
                )
            elif child.type == "text" and child.content.count("~~") >= 2:
                problems.append(Problem(here, "~~", _STRIKE, Severity.WARNING))
            elif (
                child.type == "text"
                # Most text holds neither mark, and the pattern's look-behind is tried at every character.
                and ("*" in child.content or "_" in child.content)
                and (unread := _UNREAD_EMPHASIS.search(child.content))
            ):
                problems.append(
                    Problem(here, unread.group(), unread_emphasis_message(unread.group()), Severity.WARNING)
                )
            elif child.type == "footnote_ref":
                refs.append((child.meta["label"], here))
            elif child.type == "image":
                problems.append(
                    Problem(
                        here,
                        "![",
                        "images are not allowed in the text; the issue's image goes under 'image:'",
                    )
                )
    return problems, refs


def _unread_link_message(found: re.Match[str]) -> str:
    """Why the link `found` is shown as written, and what to write."""
    if found.group("gap"):
        return "this is shown as written, not as a link: write the '(' of its address right after the ']'"
    return (
        "this is shown as written, not as a link: an address cannot hold a space; write it as %20, or the whole "
        "address between < and >"
    )


def unread_emphasis(text: str) -> list[str]:
    """The emphasis marks of `text` that Markdown shows as written (see `_UNREAD_EMPHASIS`), in order."""
    return [
        found.group()
        for token in _inspected(text)
        for child in token.children or []
        if child.type == "text"
        for found in _UNREAD_EMPHASIS.finditer(child.content)
    ]


def unread_emphasis_message(mark: str) -> str:
    """Why emphasis marked with `mark` is shown as written, and what to write instead."""
    return _EMPHASIS.format(mark)


def _is_table(paragraph: str) -> bool:
    """Whether a paragraph is a table as GitHub writes one: a row of cells over a rule of dashes and pipes."""
    lines = paragraph.split("\n")
    return len(lines) >= 2 and "|" in lines[0] and "|" in lines[1] and bool(_TABLE_RULE.match(lines[1]))


def _html_message(html: str) -> str:
    snippet = html.strip().split("\n")[0]
    if len(snippet) > 40:
        snippet = snippet[:37] + "..."
    return f"raw HTML is not allowed in Markdown (found {snippet!r}); use Markdown instead"


def _render_link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    href = str(tokens[idx].attrs.get("href", ""))
    if url_problem(href, LINK_SCHEMES):
        return "<span>"
    return f'<a href="{escape(href)}">'


def _render_link_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    opening = next(t for t in reversed(tokens[:idx]) if t.type == "link_open")
    href = str(opening.attrs.get("href", ""))
    return "</span>" if url_problem(href, LINK_SCHEMES) else "</a>"


def _render_footnote_ref(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    number = env["numbers"].get(tokens[idx].meta["label"])
    if number is None:
        return str(escape(f"[^{tokens[idx].meta['label']}]"))
    shown = escape(env["digits"](str(number)))
    cited = env["cited"]
    # An id names one element: a footnote cited twice has it at its first reference only.
    anchor = "" if number in cited else f' id="fnref-{number}"'
    cited.add(number)
    lang = f' lang="{env["digits_lang"]}"' if env["digits_lang"] else ""
    return f'<sup class="fnref"{lang}><a href="#fn-{number}"{anchor}>[{shown}]</a></sup>'


def _render_text(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    text = escapeHtml(tokens[idx].content)
    # Burmese in another language's text gets the Myanmar fonts and line height ([lang="my"] in the templates):
    # in the Latin stack, at 1.6, its stacked marks are clipped and its lines collide.
    return burmese.MYANMAR_RUN.sub(r'<span lang="my">\g<0></span>', text) if env.get("mark_burmese") else text


_renderer.add_render_rule("text", _render_text)
_renderer.add_render_rule("link_open", _render_link_open)
_renderer.add_render_rule("link_close", _render_link_close)
_renderer.add_render_rule("footnote_ref", _render_footnote_ref)


@functools.lru_cache(maxsize=512)
def _rendered_tokens(text: str, inline: bool = False) -> tuple[Token, ...]:
    """The renderer's tokens for `text`, read (never changed) by `to_html` and `to_text`: an email's HTML,
    reading time, preheader and text part each take the same paragraphs."""
    return tuple(_renderer.parseInline(text, {}) if inline else _renderer.parse(text, {}))


def _same(digits: str) -> str:
    return digits


def to_html(
    text: str,
    numbers: Mapping[str, int],
    *,
    inline: bool = False,
    digits: Callable[[str], str] = _same,
    cited: set[int] | None = None,
    language: str = "",
    digits_language: str = "",
) -> str:
    """Safe HTML for `text`, written in `language`; footnote references become `[n]` linked to `#fn-n`, and
    Burmese in a text in another language is marked `<span lang="my">`.

    `digits` writes a footnote number in the edition's digits, those of `digits_language`: a reference in a
    text in another language is marked with that one (`[၁]` in English left untranslated in the Burmese
    edition is Burmese, to set in its fonts and to read as Burmese). The first reference to each footnote has
    the id `fnref-n`, unless its number is in `cited`, the footnotes referred to before (in earlier paragraphs of
    the page): this call adds those it refers to.
    """
    other = bool(language and digits_language) and not same_language(language, digits_language)
    env = {
        "numbers": numbers,
        "digits": digits,
        "digits_lang": language_tag(digits_language) if other else "",
        "cited": set() if cited is None else cited,
        "mark_burmese": bool(language) and language.split("_")[0] != "my",
    }
    # The tokens `to_text` reads too: a parse depends on the text alone (the footnote plugin keeps what it finds
    # in an environment of its own), so each paragraph is parsed once for both parts.
    html: str = _renderer.renderer.render(_rendered_tokens(text, inline), _renderer.options, env)
    return html


class TextParagraph(str):
    """A paragraph of the plain text, its list marker or quote mark included; `indent` starts each of its
    lines after the first when it is wrapped (spaces under a list item's marker, `> ` in a quote); `joined`
    when it follows the paragraph before on the next line, as the items of a list written without blank lines do."""

    indent: str
    joined: bool

    def __new__(cls, text: str, indent: str = "", joined: bool = False) -> TextParagraph:
        paragraph = super().__new__(cls, text)
        paragraph.indent = indent
        paragraph.joined = joined
        return paragraph


def to_text(
    text: str,
    numbers: Mapping[str, int],
    *,
    inline: bool = False,
    digits: Callable[[str], str] = _same,
    bare: bool = False,
) -> list[TextParagraph]:
    """Plain-text paragraphs of `text`: links as `text (url)`, footnotes as `[n]`; with `bare`, links as their
    text alone and no footnote, list or quote marks (for the inbox preview, which shows them as clutter).

    Each list item, quote line and heading comes out as a paragraph of its own,
    prefixed the way plain-text mail writes them (`- `, `2. `, `> `), its `indent` the
    prefix of its later lines: a wrapped item's lines start under its text, a quote's with `> `.
    """
    tokens = _rendered_tokens(text, inline)
    paragraphs: list[TextParagraph] = []
    prefixes: list[str] = []  # one for each open quote ("> ") and list (its item's marker)
    counters: list[int] = []  # the next number of each open ordered list
    # The items of one tight list, nested ones too, follow each other without a blank line: `lists` counts the
    # top-level lists begun, `last_tight` is the list of the paragraph before when it was a tight list's, else -1.
    lists, tight, last_tight = 0, False, -1
    for token in tokens:
        tight = (token.type == "paragraph_open" and token.hidden) or (tight and token.type == "inline")
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists += all(p == "> " for p in prefixes)  # no list open: a new one
            prefixes.append("")
            if token.type == "ordered_list_open":
                counters.append(int(token.attrs.get("start", 1)))
        elif token.type == "list_item_open":
            # An ordered list's items carry the number written (`info`); they are shown counted from its start.
            prefixes[-1] = f"{counters[-1]}. " if token.info else "- "
            if token.info:
                counters[-1] += 1
        elif token.type in ("bullet_list_close", "ordered_list_close", "blockquote_close"):
            prefixes.pop()
            if token.type == "ordered_list_close":
                counters.pop()
        elif token.type == "blockquote_open":
            prefixes.append("> ")
        elif token.type in ("inline", "fence", "code_block"):
            content = (
                _inline_text(token.children or [], numbers, digits, bare=bare)
                if token.type == "inline"
                else token.content.rstrip("\n")
            )
            # A marker starts only its item's first line; what follows in the item, nested lists too, is indented.
            following = [p if p == "> " else " " * len(p) for p in prefixes]
            joined = tight and last_tight == lists
            marks = "" if bare else "".join(prefixes)  # an inbox preview is one line: no item marks
            paragraphs.append(TextParagraph(marks + content, "".join(following), joined))
            prefixes = following
            last_tight = lists if tight else -1
        elif token.type == "hr":
            paragraphs.append(TextParagraph("* * *"))
    return paragraphs


def _inline_text(
    children: Sequence[Token], numbers: Mapping[str, int], digits: Callable[[str], str], *, bare: bool
) -> str:
    out: list[str] = []
    href_stack: list[tuple[str, int]] = []
    for child in children:
        if child.type in ("text", "code_inline", "html_inline"):
            out.append(child.content)
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak":
            out.append("\n")
        elif child.type == "link_open":
            href_stack.append((str(child.attrs.get("href", "")), len(out)))
        elif child.type == "link_close" and href_stack:
            href, start = href_stack.pop()
            label = "".join(out[start:])
            shown = href.removeprefix("mailto:")
            if url_problem(href, LINK_SCHEMES):
                continue
            if label in (href, shown, str(_inspector.normalizeLinkText(href))):
                # A link showing its own address (`<https://münchen.de/>`, `<https://example.org/a%20b>`), which
                # Markdown shows decoded: given once, as linked. Decoded, it may hold a space, or Burmese that
                # the text is wrapped inside, and a reader's mail program would follow it no further.
                out[start:] = [shown]
            elif not bare:
                out.append(f" ({shown})")
        elif child.type == "footnote_ref" and not bare:
            label = child.meta["label"]
            out.append(f"[{digits(str(numbers[label]))}]" if label in numbers else f"[^{label}]")
    return "".join(out)


_BLOCK_MARKUP = {
    "heading_open": "heading",
    "blockquote_open": "quote",
    "bullet_list_open": "list",
    "ordered_list_open": "numbered list",
    "hr": "rule",
    "fence": "code block",
    "code_block": "code block",
}


def structure(text: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """What a translation of `text` must keep: link URLs (an image's too), footnote labels, inline markup, and
    the blocks its lines make (headings, lists, quotes)."""
    links: Counter[str] = Counter()
    refs: Counter[str] = Counter()
    markup: Counter[str] = Counter()
    for token in _inspected(text):
        if token.type in _BLOCK_MARKUP:  # a heading, list or quote that a translation adds changes the page
            markup[_BLOCK_MARKUP[token.type]] += 1
        for child in token.children or []:
            if child.type == "link_open":
                links[str(child.attrs.get("href", ""))] += 1
            elif child.type == "image":  # shown as "!" and a link, since images are never rendered
                links[str(child.attrs.get("src", ""))] += 1
            elif child.type == "footnote_ref":
                refs[f"[^{child.meta['label']}]"] += 1
            elif child.type in ("em_open", "strong_open", "code_inline"):
                markup[child.type.removesuffix("_open")] += 1
    return links, refs, markup
