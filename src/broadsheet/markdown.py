"""Editorial Markdown: split into paragraphs, inspected for unsafe input, turned into safe HTML or plain text.

CommonMark through markdown-it-py with raw HTML off; footnote references
(`[^1]`) through mdit-py-plugins, their texts coming from the issue's
`footnotes:` mapping rather than from the Markdown. What a text makes is kept
in the cache folder (see `_checked`), so that a run meeting a text read before
loads no markdown-it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

import msgspec
from markupsafe import escape

from . import burmese, schema
from .curate import urls
from .curate.urls import tracking_warning
from .errors import Severity
from .files import keep, kept
from .schema import has_invisible, language_tag, pasted_end, same_language, url_problem

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

LINK_SCHEMES = ("http", "https", "mailto")


@functools.cache
def _parsers() -> tuple[MarkdownIt, MarkdownIt]:
    """The inspector, which sees everything an editor may write so that check can name it, and the renderer,
    which has raw HTML off and makes no images, whatever slips past.

    Loaded when first needed: markdown-it's package loads every rule it has, and `logging`, a tenth of a build's
    start, and a build of a text read before needs none of it (see `_checked`).
    """
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin

    def parser(*, html: bool) -> MarkdownIt:
        md = MarkdownIt("commonmark", {"html": html, "typographer": False})
        md.use(footnote_plugin, inline=False, move_to_end=False, always_match_refs=True)
        return md

    inspector = parser(html=True)
    inspector.validateLink = lambda url: True  # type: ignore[method-assign]
    renderer = parser(html=False).disable("image")
    renderer.add_render_rule("text", _render_text)
    renderer.add_render_rule("link_open", _render_link_open)
    renderer.add_render_rule("link_close", _render_link_close)
    renderer.add_render_rule("footnote_ref", _render_footnote_ref)
    return inspector, renderer


@functools.lru_cache(maxsize=512)
def _inspected(text: str, inline: bool = False) -> tuple[Token, ...]:
    """The inspector's tokens for `text`; checking, splitting and extracting share one parse."""
    inspector = _parsers()[0]
    return tuple(inspector.parseInline(text, {}) if inline else inspector.parse(text, {}))


def _definitions(text: str) -> tuple[tuple[int, str], ...]:
    """The links defined by name in `text` (`[hrw]: https://www.hrw.org/`), as (line, URL), in order."""
    env: dict[str, Any] = {}
    _parsers()[0].parse(text, env)
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
    from markdown_it.helpers import parseLinkDestination

    found = parseLinkDestination(text, start, len(text))
    return (found.str, found.pos) if found.ok else None


def href(destination: str) -> str:
    """What a link to `destination` (escapes undone) links to: a few characters percent-encoded, as the renderer does."""
    return str(_parsers()[0].normalizeLink(destination))


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
# The patterns below are written as text, compiled by `re` (and kept in its cache) when a text is first worked out:
# compiling them took a build's start a millisecond, and a build of texts kept before works none out.
# What is left of emphasis CommonMark did not read: `**` anywhere, or `*` or `_` touching Myanmar text.
_UNREAD_EMPHASIS = rf"\*\*|__|(?<=[{burmese.MYANMAR}])[*_]+|[*_]+(?=[{burmese.MYANMAR}])"
_BULLET = (
    "{!r} starting a line does not make a list item in Markdown: the lines are joined into one paragraph, "
    "bullets and all; start each item on its own line with '- ' (or '1. ' for a numbered list)"
)
_BULLET_LINE = "(?m)^[ \t]*([\u2022\u2023\u2043\u2219\u25aa\u25cf\u25e6\u25cb\u25a0\u25a1\u27a2\u27a4\uf0a7\uf0b7\u00b7])[ \t\u00a0]"
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
_UNREAD_LINK = r"\[[^\[\]\n]+\](?P<gap>[ \t]*(?:\n[ \t]*)?)\((?P<url>(?:https?:|mailto:|www\.)[^()\n]*)\)"
"""A link Markdown shows as written, `[text] (url)` or a URL holding a space. (Its gap is read one way only:
written `[ \t]*\n?[ \t]*`, a run of spaces after a `]` and no `(` took a second for 20,000.)"""
_TABLE_RULE = r"^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$"


class Block(msgspec.Struct, frozen=True):
    """A top-level block of a Markdown text; `line` counts from 0 within the text."""

    markdown: str
    line: int


def split_blocks(text: str) -> list[Block]:
    """The top-level blocks (paragraphs, lists, quotes...) of `text`, as written."""
    return list(_checked(text, False).blocks)


def inspect(text: str, *, inline: bool = False) -> tuple[list[Problem], list[tuple[str, int]]]:
    """Problems in `text`, and its footnote references as (label, line) in order."""
    checked = _checked(text, inline)
    return list(checked.problems), list(checked.refs)


def unread_emphasis(text: str) -> list[str]:
    """The emphasis marks of `text` that Markdown shows as written (see `_UNREAD_EMPHASIS`), in order."""
    return list(_checked(text, False).unread)


def structure(text: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """What a translation of `text` must keep: link URLs (an image's too), footnote labels, inline markup, and
    the blocks its lines make (headings, lists, quotes)."""
    checked = _checked(text, False)
    return Counter(checked.links), Counter(checked.footnotes), Counter(checked.markup)


def _blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks = []
    for token in _inspected(text):
        if token.level == 0 and token.map and token.nesting >= 0:
            start, end = token.map
            source = "\n".join(lines[start:end]).strip("\n")
            if source.strip():
                blocks.append(Block(source, start))
    return blocks


def _inspect(text: str, inline: bool) -> tuple[list[Problem], list[tuple[str, int]]]:
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
            bullet = re.search(_BULLET_LINE, token.content)
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
                and (unread_link := re.search(_UNREAD_LINK, child.content))
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
                and (unread := re.search(_UNREAD_EMPHASIS, child.content))
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


def _unread(text: str) -> list[str]:
    return [
        found.group()
        for token in _inspected(text)
        for child in token.children or []
        if child.type == "text"
        for found in re.finditer(_UNREAD_EMPHASIS, child.content)
    ]


def unread_emphasis_message(mark: str) -> str:
    """Why emphasis marked with `mark` is shown as written, and what to write instead."""
    return _EMPHASIS.format(mark)


def _is_table(paragraph: str) -> bool:
    """Whether a paragraph is a table as GitHub writes one: a row of cells over a rule of dashes and pipes."""
    lines = paragraph.split("\n")
    return len(lines) >= 2 and "|" in lines[0] and "|" in lines[1] and bool(re.match(_TABLE_RULE, lines[1]))


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
    return _footnote_mark(tokens[idx].meta["label"])


def _footnote_mark(label: str) -> str:
    """Where a footnote is referred to, in HTML or text kept for any page: its number, its digits and whether it
    was cited before are the page's, filled in by `_FOOTNOTE_MARK` (Markdown turns every NUL into U+FFFD, so a
    NUL is never anything else)."""
    return f"\0{label}\0"


_FOOTNOTE_MARK = re.compile("\0([^\0]*)\0")


def _footnote_html(
    label: str, numbers: Mapping[str, int], digits: Callable[[str], str], cited: set[int], lang: str
) -> str:
    number = numbers.get(label)
    if number is None:
        return str(escape(f"[^{label}]"))
    shown = escape(digits(str(number)))
    # An id names one element: a footnote cited twice has it at its first reference only.
    anchor = "" if number in cited else f' id="fnref-{number}"'
    cited.add(number)
    lang = f' lang="{lang}"' if lang else ""
    return f'<sup class="fnref"{lang}><a href="#fn-{number}"{anchor}>[{shown}]</a></sup>'


def _render_text(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    from markdown_it.common.utils import escapeHtml

    text = escapeHtml(tokens[idx].content)
    # Burmese in another language's text gets the Myanmar fonts and line height ([lang="my"] in the templates):
    # in the Latin stack, at 1.6, its stacked marks are clipped and its lines collide.
    return (
        re.sub(burmese.MYANMAR_RUN, r'<span lang="my">\g<0></span>', text)
        if env.get("mark_burmese")
        else text
    )


@functools.lru_cache(maxsize=512)
def _rendered_tokens(text: str, inline: bool = False) -> tuple[Token, ...]:
    """The renderer's tokens for `text`, read (never changed) by `to_html` and `to_text`: an email's HTML,
    reading time, preheader and text part each take the same paragraphs."""
    renderer = _parsers()[1]
    return tuple(renderer.parseInline(text, {}) if inline else renderer.parse(text, {}))


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
    lang = language_tag(digits_language) if other else ""
    rendered = _rendered(text, inline)
    html = rendered.marked_html if language and language.split("_")[0] != "my" else rendered.html
    if "\0" not in html:
        return html
    cited = set() if cited is None else cited
    return _FOOTNOTE_MARK.sub(lambda found: _footnote_html(found[1], numbers, digits, cited, lang), html)


def _html(text: str, inline: bool, *, mark_burmese: bool) -> str:
    renderer = _parsers()[1]
    html: str = renderer.renderer.render(
        _rendered_tokens(text, inline), renderer.options, {"mark_burmese": mark_burmese}
    )
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
    rendered = _rendered(text, inline)
    paragraphs = []
    for written, indent, joined in rendered.bare if bare else rendered.text:
        if "\0" in written:
            written = _FOOTNOTE_MARK.sub(
                lambda found: (
                    f"[{digits(str(numbers[found[1]]))}]" if found[1] in numbers else f"[^{found[1]}]"
                ),
                written,
            )
        paragraphs.append(TextParagraph(written, indent, joined))
    return paragraphs


def _text(text: str, inline: bool, *, bare: bool) -> list[tuple[str, str, bool]]:
    tokens = _rendered_tokens(text, inline)
    paragraphs: list[tuple[str, str, bool]] = []
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
                _inline_text(token.children or [], bare=bare)
                if token.type == "inline"
                else token.content.rstrip("\n")
            )
            # A marker starts only its item's first line; what follows in the item, nested lists too, is indented.
            following = [p if p == "> " else " " * len(p) for p in prefixes]
            joined = tight and last_tight == lists
            marks = "" if bare else "".join(prefixes)  # an inbox preview is one line: no item marks
            paragraphs.append((marks + content, "".join(following), joined))
            prefixes = following
            last_tight = lists if tight else -1
        elif token.type == "hr":
            paragraphs.append(("* * *", "", False))
    return paragraphs


def _inline_text(children: Sequence[Token], *, bare: bool) -> str:
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
            if label in (href, shown, str(_parsers()[0].normalizeLinkText(href))):
                # A link showing its own address (`<https://münchen.de/>`, `<https://example.org/a%20b>`), which
                # Markdown shows decoded: given once, as linked. Decoded, it may hold a space, or Burmese that
                # the text is wrapped inside, and a reader's mail program would follow it no further.
                out[start:] = [shown]
            elif not bare:
                out.append(f" ({shown})")
        elif child.type == "footnote_ref" and not bare:
            out.append(_footnote_mark(child.meta["label"]))
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


def _structure(text: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
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


# What every command asks of a text, kept between runs. A build's texts are this week's paragraphs, footnotes and
# translations, each read before by `check`, the preview or the last build; what is asked of them depends on the
# text alone (footnote numbers, which are the page's, are filled in after), so it is worked out once, by the
# inspector's parse or the renderer's, and kept in the cache folder, where the next run finds it without
# loading markdown-it at all.


class _Checked(msgspec.Struct, frozen=True, array_like=True):
    """What the inspector's parse of a text says: `inspect`'s problems and references and, for a text that is
    not inline, `split_blocks`, `unread_emphasis` and `structure` (links, footnotes, markup)."""

    problems: list[Problem]
    refs: list[tuple[str, int]]
    blocks: list[Block]
    unread: list[str]
    links: dict[str, int]
    footnotes: dict[str, int]
    markup: dict[str, int]


class _Rendered(msgspec.Struct, frozen=True, array_like=True):
    """What the renderer's parse of a text makes: its HTML, the same with Burmese marked (for a page in another
    language), and its text part's paragraphs, whole and bare, each as (text, indent, joined); footnote
    references are `_footnote_mark`s."""

    html: str
    marked_html: str
    text: list[tuple[str, str, bool]]
    bare: list[tuple[str, str, bool]]


@functools.lru_cache(maxsize=2048)
def _checked(text: str, inline: bool) -> _Checked:
    def worked_out() -> _Checked:
        problems, refs = _inspect(text, inline)
        if inline:
            return _Checked(problems, refs, [], [], {}, {}, {})
        links, footnotes, markup = _structure(text)
        return _Checked(problems, refs, _blocks(text), _unread(text), links, footnotes, markup)

    return _kept_or(worked_out, "checked", text, inline, _CHECKED)


@functools.lru_cache(maxsize=2048)
def _rendered(text: str, inline: bool) -> _Rendered:
    def worked_out() -> _Rendered:
        return _Rendered(
            _html(text, inline, mark_burmese=False),
            _html(text, inline, mark_burmese=True),
            _text(text, inline, bare=False),
            _text(text, inline, bare=True),
        )

    return _kept_or(worked_out, "rendered", text, inline, _RENDERED)


def forget() -> None:
    """Forget what this process has read or worked out, as a new process would (for tests)."""
    for cached in (_checked, _rendered, _inspected, _rendered_tokens, _kept_folder):
        cached.cache_clear()


_CHECKED = msgspec.msgpack.Decoder(_Checked)
_RENDERED = msgspec.msgpack.Decoder(_Rendered)
_Record = TypeVar("_Record", _Checked, _Rendered)
_KEPT_FORMAT = 1
"""The layout of what is kept, in its folder's name: a change to `_Checked` or `_Rendered` gets a new number."""


def _kept_or(
    work_out: Callable[[], _Record],
    kind: str,
    text: str,
    inline: bool,
    decoder: msgspec.msgpack.Decoder[_Record],
) -> _Record:
    """What `work_out` gives for `text`, read from the cache folder when it was kept there; worked out and kept
    when it was not, or cannot be read."""
    folder = _kept_folder()
    if folder is None:
        return work_out()
    key = hashlib.sha256(f"{kind}\0{inline:d}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    name = f"{folder}/{key}.msgpack"
    data = kept(name)
    if data is not None:
        try:
            return decoder.decode(data)
        except msgspec.DecodeError:
            pass  # damaged, or written otherwise: worked out again, and replaced
    found = work_out()
    keep(name, msgspec.msgpack.encode(found))
    return found


@functools.cache
def _kept_folder() -> str | None:
    """`markdown-<format>-<stamp>`, the stamp naming the code that works the answers out: this module and the
    ones it asks (their files' sizes and times), and markdown-it and its plugins (their versions, read from
    their packages' first file, which holds them, without importing them). None when markdown-it is nowhere."""
    import importlib.util

    stamp = hashlib.sha256()
    for module in (__file__, schema.__file__, urls.__file__, burmese.__file__):
        try:
            found = os.stat(module or "")
        except OSError:
            return None
        stamp.update(f"{found.st_size}:{found.st_mtime_ns}\n".encode())
    for package in ("markdown_it", "mdit_py_plugins"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            return None
        try:
            with open(spec.origin, "rb") as first:
                stamp.update(first.read())
        except OSError:
            return None
    return f"markdown-{_KEPT_FORMAT}-{stamp.hexdigest()[:16]}"
