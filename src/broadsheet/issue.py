"""Reading an issue file: YAML with positions -> validated `Issue`, or every error in the file.

`IssueFile` below is the declaration of the issue format (the contract editors
write); `docs/issue-format.md` documents it and a test keeps the two in step.
"""

# No `from __future__ import annotations` here: the declared formats' annotations are read at run time
# (`schema.fields_of`), and written as objects they need no evaluating (strings cost a build 3 ms).

import contextlib
import datetime as dt
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import msgspec
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import burmese, markdown
from .curate.urls import same_page, tracking_warning
from .errors import Diagnostic, InvalidInput, Severity, errors_in
from .files import is_utf16, read_limited
from .model import (
    PREFERENCES_PLACEHOLDER,
    UNSUBSCRIBE_PLACEHOLDER,
    Category,
    Footnote,
    Image,
    Issue,
    Paragraph,
    Resource,
)
from .schema import (
    ISO_DATE,
    Invalid,
    Problem,
    code_problem,
    date_hint,
    declared,
    did_you_mean,
    field_path,
    http_url,
    iso_date,
    pasted_end,
    received,
    url_problem,
    validate,
)
from .settings import Settings, unknown_category

MAX_NODES = 50_000
"""More YAML nodes than any issue has; stops alias bombs before they expand."""


def _one_or_many(value: Any) -> Any:
    """`by:` takes one organization's name or a list of them."""
    if isinstance(value, str):
        return (value,)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"Expected an organization name or a list of them but received: {received(value)}")
    return value


def _no_empty_names(value: tuple[str, ...]) -> None:
    if any(not name for name in value):
        raise ValueError("organization names must not be empty")


def _language_code(value: str) -> None:
    problem = code_problem(value)
    if problem:
        raise ValueError(problem)


def _control_character(text: str) -> str | None:
    """The first line break or control character in `text`, if any."""
    return next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)


def subject_problem(value: str) -> str | None:
    """Why `value` cannot be an email's subject (a line break or control character), or None: for a title
    and, in the catalogs, for its translations."""
    ch = _control_character(value)
    if ch:
        return (
            f"contains a line break or control character (U+{ord(ch):04X}), "
            "which cannot appear in an email subject; write it on one line"
        )
    return None


def _block_end(value: Any) -> Any:
    """A one-line field without the line break a `>` or `|` block keeps at its end (where `>-` was meant): a
    title folded by `>` over lines is one line, as its editor wrote it."""
    return value.rstrip("\r\n") if isinstance(value, str) else value


def _header_safe(value: str) -> None:
    problem = subject_problem(value)
    if problem:
        raise ValueError(problem)


def _one_line(value: str) -> None:
    """A resource's title is shown on one line: a line break in it, gone from the HTML, stayed in the text part.
    A tab (a title copied from a PDF or a spreadsheet) is a space on that line, as it was before the rule."""
    ch = _control_character(value.replace("\t", " "))
    if ch:
        raise ValueError(
            f"contains a line break or control character (U+{ord(ch):04X}); a title is shown on one line: write "
            "it on one line, or as a '>-' block, which folds its lines into one"
        )


def _iso_date(value: Any) -> dt.date:
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"Expected a date (YYYY-MM-DD) but received: {value!r} ({exc})") from None
    if isinstance(value, dt.date):
        return value
    hint = date_hint(str(value)) if isinstance(value, (str, int)) else ""
    raise ValueError(f"Expected a date (YYYY-MM-DD) but received: {received(value)}{hint}")


def _no_footnotes(value: Any) -> Any:
    """`footnotes:` left empty means none."""
    return {} if value is None else value


def _empty_categories(value: Any) -> Any:
    """A category left empty (`reports:`) has no items this week, and `resources:` left empty no category has."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {key: [] if items is None else items for key, items in value.items()}
    return value


class ImageFile(msgspec.Struct, frozen=True, kw_only=True):
    """`image:` the featured image."""

    src: Annotated[str, declared(description="Absolute http(s) URL of the image.", check=http_url)]
    alt: Annotated[
        str, declared(nonempty=True, description="Text describing the image, for people who cannot see it.")
    ]


class ResourceFile(msgspec.Struct, frozen=True, kw_only=True):
    """One item under `resources: CATEGORY:`."""

    title: Annotated[
        str,
        declared(
            nonempty=True,
            description="Title of the linked item, in its own language.",
            before=_block_end,
            check=_one_line,
        ),
    ]
    url: Annotated[str, declared(description="Absolute http(s) URL of the item.", check=http_url)]
    by: Annotated[
        tuple[str, ...],
        declared(
            description="Organization(s) behind it: one name or a list.",
            before=_one_or_many,
            check=_no_empty_names,
        ),
    ] = ()
    lang: Annotated[
        str | None,
        declared(
            description="Language of the item, when it differs from the issue's (for example `my`).",
            check=_language_code,
        ),
    ] = None


class IssueFile(msgspec.Struct, frozen=True, kw_only=True):
    """An issue file, `issues/<date>.yaml`."""

    date: Annotated[dt.date, declared(description="Publication date, `YYYY-MM-DD`.", before=_iso_date)]
    title: Annotated[
        str,
        declared(
            nonempty=True,
            description="Title of the issue; also the email's subject.",
            before=_block_end,
            check=_header_safe,
        ),
    ]
    author: Annotated[
        str | None,
        declared(
            description="Byline; the project's `default_author` when absent.",
            before=_block_end,
            check=_header_safe,
        ),
    ] = None
    summary: Annotated[
        str | None,
        declared(description="A one-paragraph standfirst, plain text; also the email's preheader."),
    ] = None
    image: Annotated[ImageFile | None, declared(description="Featured image.")] = None
    editorial: Annotated[
        str,
        declared(
            nonempty=True,
            description="The editorial in Markdown: paragraphs separated by blank lines; footnote references as `[^1]`.",
        ),
    ]
    footnotes: Annotated[
        dict[str, str],
        declared(
            description="Footnote label -> text (inline Markdown). Every reference must be defined and every definition used.",
            before=_no_footnotes,
        ),
    ] = msgspec.field(default_factory=dict)
    resources: Annotated[
        dict[str, list[ResourceFile]],
        declared(
            description="Category key -> list of items, in display order. Keys come from the project's `categories`.",
            before=_empty_categories,
        ),
    ]


# -- YAML with positions ------------------------------------------------------


class Spot(msgspec.Struct, frozen=True):
    """Where a value starts in the file (1-based), and how its scalar was written."""

    line: int
    col: int
    style: str | None = None


class Positions(msgspec.Struct):
    """Where each value, and each mapping's key, starts in the file, by its location path."""

    values: dict[tuple[int | str, ...], Spot] = msgspec.field(default_factory=dict)
    keys: dict[tuple[int | str, ...], Spot] = msgspec.field(default_factory=dict)

    def of(self, path: tuple[int | str, ...], *, key: bool = False) -> Spot:
        """The spot of `path` (its key when asked), or of its nearest known ancestor."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        for end in range(len(path) - 1, -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return Spot(1, 1)


class _Problem(Exception):
    def __init__(self, spot: Spot, message: str) -> None:
        super().__init__(message)
        self.spot = spot
        self.message = message


def _spot(node: Node) -> Spot:
    style = node.style if isinstance(node, ScalarNode) else None
    return Spot(node.start_mark.line + 1, node.start_mark.column + 1, style)


class _Converter:
    """Turns a composed YAML node tree into plain values, noting where each came from."""

    def __init__(self, loader: yaml.SafeLoader, lines: list[str]) -> None:
        self.loader = loader
        self.lines = lines
        self.positions = Positions()
        self.problems: list[tuple[Spot, str, tuple[int | str, ...]]] = []
        self.count = 0
        self.flow: set[tuple[int | str, ...]] = set()
        """The paths of lists and mappings written in brackets (`[A, B]`), inside which lines are no block."""
        self.read: Counter[int] = Counter()
        """How often each scalar node was read: twice or more when an alias repeats it."""
        self.anchored: list[tuple[ScalarNode, tuple[int | str, ...], str]] = []
        """Unquoted values that an anchor (`&name`) opens, each with its path and the text written."""

    def convert(self, node: Node, path: tuple[int | str, ...]) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Problem(_spot(node), f"the file has more than {MAX_NODES} values (too many aliases?)")
        self.positions.values[path] = _spot(node)
        if isinstance(node, MappingNode | SequenceNode) and node.flow_style:
            self.flow.add(path)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        self.read[id(node)] += 1
        if not node.style and path:  # a file of one value is no issue, and is said to be so
            self._comment_after(node, path)
            if self._sign_before(node, path):
                return node.value
        if node.tag == "tag:yaml.org,2002:str":
            return node.value  # most values: no constructor needed
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # validated where a date is expected; text elsewhere
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problems.append((_spot(node), f"cannot read value: {getattr(exc, 'problem', exc)}", path))
            return node.value
        except (ValueError, KeyError):
            # PyYAML's own constructors let these escape: `!!int abc`, `!!bool maybe`, a 5000-digit number.
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(
                (_spot(node), f"cannot read value: {received(node.value)} is not a valid {tag}", path)
            )
            return node.value
        if isinstance(value, int | float):
            # No field of an issue is a number or a yes/no: one is text as written, as YAML 1.1 reads `1.10` as
            # 1.1, `010` as 8, `12:30` (base 60) as 750, and `No`, `On` or `lang: no` (Norwegian) as true or false.
            return node.value
        return value

    def _comment_after(self, node: ScalarNode, path: tuple[int | str, ...]) -> None:
        """An error where YAML took text after an unquoted value for a comment (`title: Briefing #5` reads as
        'Briefing'): a `#` after a space starts one, but one followed at once by a letter or digit is a number
        or a hashtag. A comment written `# ...` is let be. So is a line of a value written over several lines
        that starts with `#` (`  #WhatsHappeningInMyanmar`): YAML ends the value before it."""
        end = node.end_mark
        if end.line >= len(self.lines):
            return
        rest = _COMMENT_LINE.fullmatch(self.lines[end.line], end.column)
        if rest is None:
            self._comment_line_after(node, path)
            return
        if not node.value and (path in _CONTAINERS or (path[:1] == ("resources",) and len(path) == 2)):
            return  # `reports: #none`: nothing this week, and a note
        comment = rest.group(1)
        written = _written(path, f"{node.value} {comment}" if node.value else comment)
        self.problems.append(
            (
                _spot(node),
                f"YAML reads {comment!r} as a comment, not as text, and leaves it out: a '#' after a space "
                f"starts one; put the whole value in quotes to keep it: {written}",
                path,
            )
        )

    def _comment_line_after(self, node: ScalarNode, path: tuple[int | str, ...]) -> None:
        """An error where the line after an unquoted value, indented under it as the value's next line would
        be, starts with `#` and a letter or digit: YAML ends the value there and leaves that line out."""
        if not node.value or any(path[:end] in self.flow for end in range(len(path))):
            return
        below = node.end_mark.line + 1
        while below < len(self.lines) and not self.lines[below].strip():
            below += 1
        if below >= len(self.lines):
            return
        line = self.lines[below]
        comment = _COMMENT_LINE.fullmatch(line)
        if comment is None or len(line) - len(line.lstrip()) <= self._indent_of(path):
            return
        self.problems.append(
            (
                Spot(below + 1, comment.start(1) + 1),
                _comment_line_message(comment.group(1), path[-1]),
                path,
            )
        )

    def _indent_of(self, path: tuple[int | str, ...]) -> int:
        """The column (from 0) of the key or list item whose value is at `path`: the lines that continue the
        value are indented further."""
        if isinstance(path[-1], str):
            return self.positions.keys[path].col - 1
        return self.positions.values[path[:-1]].col - 1

    def _sign_before(self, node: ScalarNode, path: tuple[int | str, ...]) -> bool:
        """Whether an unquoted value starts with a tag (`!important`), which YAML reads as the value's type, not
        as text, an error here; an anchor (`&anchor rest`), which YAML reads as the value's name and leaves
        out, is noted for `unused_anchors`, an alias (`*anchor`) being what says that one was meant."""
        start = node.start_mark
        line = self.lines[start.line] if start.line < len(self.lines) else ""
        signs = _SIGNS.match(line, start.column)
        if signs is None:
            return False
        if start.line == node.end_mark.line:
            written = line[start.column : node.end_mark.column]
        else:
            written = " ".join(part for part in (signs.group().strip(), node.value) if part)
        tag = next((sign for sign in signs.group().split() if sign.startswith("!")), "")
        if tag and not tag.startswith(("!!", "!<")):
            self.problems.append(
                (
                    _spot(node),
                    f"YAML reads {tag!r} at the start of a value as a tag (the value's type), not as text; put "
                    f"the whole value in quotes to keep it: {_written(path, written)}",
                    path,
                )
            )
            return True
        if "&" in signs.group():
            self.anchored.append((node, path, written))
        return False

    def unused_anchors(self) -> None:
        """An error at each unquoted value opened by an anchor that no alias repeats: `title: &anchor rest`,
        which YAML reads as 'rest'."""
        for node, path, written in self.anchored:
            if self.read[id(node)] > 1:
                continue
            signs = _SIGNS.match(written)
            sign = next((part for part in (signs.group() if signs else "").split() if part[0] == "&"), "&")
            self.problems.append(
                (
                    _spot(node),
                    f"YAML reads {sign!r} at the start of a value as a name for it (an anchor), not as text, and "
                    f"leaves it out; put the whole value in quotes to keep it: {_written(path, written)}",
                    path,
                )
            )

    def _mapping(self, node: MappingNode, path: tuple[int | str, ...]) -> dict[str, Any]:
        self.loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    (_spot(key_node), "keys must be plain names, not lists or mappings", path)
                )
                continue
            key = key_node.value
            if _control_character(key):
                self.problems.append(
                    (
                        _spot(key_node),
                        f"the key {key!r} contains a line break or control character; keys are plain names",
                        path,
                    )
                )
                continue
            if key in out:
                first = self.positions.keys[(*path, key)]
                self.problems.append(
                    (_spot(key_node), f"'{key}' is given twice (first on line {first.line})", (*path, key))
                )
                continue
            self.positions.keys[(*path, key)] = _spot(key_node)
            out[key] = self.convert(value_node, (*path, key))
        return out


def _written(path: tuple[int | str, ...], value: str) -> str:
    """The line to write for the value at `path`, `value` in quotes: `title: "..."`, or `- "..."` in a list."""
    return f"{path[-1]}: {_quoted(value)}" if isinstance(path[-1], str) else f"- {_quoted(value)}"


def _comment_line_message(comment: str, key: int | str) -> str:
    """What to say of a line of a value written over several lines that YAML reads as a comment."""
    block = f"{key}: >-" if isinstance(key, str) else "- >-"
    return (
        f"YAML reads {comment!r} as a comment, not as text, and leaves it out: a '#' that starts a line of an "
        f"unquoted value starts one; write the value as a block to keep it, '{block}' and its lines under it "
        "(or put the whole value in quotes)"
    )


_COMMENT_LINE = re.compile(r"[ \t]+(#[^\s#].*?)[ \t]*")
"""What YAML reads as a comment where text may have been meant (`fullmatch`ed): the rest of a line after an
unquoted value (`#5`, `#WhatsHappeningInMyanmar`), or an indented line, a hashtag starting a value's next line."""
_SIGNS = re.compile(r"(?:[&!]\S*(?:[ \t]+|$))+")
"""An anchor (`&name`) or a tag (`!name`), or both, before a value."""
_CONTAINERS = {("resources",), ("footnotes",), ("image",)}
"""Fields that hold fields or lists, not text: a comment after one left empty is a note."""


def _compose(text: str) -> tuple[yaml.SafeLoader, Node | None]:
    """The node tree of `text` and the loader that made it.

    libyaml composes ten times faster than pure Python; when it finds a
    problem, the pure-Python parser reads the file again to name the problem
    in its clearer words (and raises).
    """
    if yaml.__with_libyaml__:
        fast = yaml.CSafeLoader(text)
        try:
            return fast, fast.get_single_node()  # type: ignore[return-value]
        except yaml.YAMLError:
            fast.dispose()
    loader = yaml.SafeLoader(text)
    return loader, loader.get_single_node()


_UNICODE_BREAKS = {
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
    "\x85": "a next-line character (U+0085)",
}
"""Line breaks to YAML (so it counts lines by them, and its errors point elsewhere), which text pasted from a
word processor or a web page carries; to an editor they are invisible."""


def _unicode_breaks(text: str, display: str) -> list[Diagnostic]:
    found = []
    for number, line in enumerate(text.split("\n"), 1):
        for column, character in enumerate(line, 1):
            if character in _UNICODE_BREAKS:
                found.append(
                    Diagnostic(
                        display,
                        number,
                        column,
                        "",
                        f"{_UNICODE_BREAKS[character]}, as pasted text carries: YAML takes it for a line break; "
                        "replace it with a space (or a blank line, between paragraphs)",
                    )
                )
    return found


_PASTED_SPACE = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
"""A space of another width or that does not break (a no-break space above all), which text pasted from a web
page or a word processor carries: to YAML and Markdown it is a character like a letter, not a space."""


def _indentation(text: str, display: str) -> tuple[list[Diagnostic], list[tuple[int, int, str]]]:
    """Lines indented with what YAML does not take for indentation: a tab, or a space pasted from elsewhere
    (`_PASTED_SPACE`). Errors: a tab, and a line of pasted spaces alone, which looks like the blank line between
    two paragraphs but is text to YAML and Markdown (the two paragraphs became one). Doubts, as (line, column,
    the space named): a line of text that a pasted space begins, which breaks the file where YAML reads it as
    indentation (the parser then stumbles lines below) and is harmless text inside a block (`_parse_yaml` tells
    the two apart)."""
    errors: list[Diagnostic] = []
    doubts: list[tuple[int, int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        indent = len(line) - len(line.lstrip(" "))
        if line.startswith("\t", indent):
            errors.append(
                Diagnostic(display, number, indent + 1, "", "tab characters cannot indent YAML; use spaces")
            )
            continue
        lead = re.match(r"\s*", line)
        pasted = _PASTED_SPACE.search(line, 0, lead.end() if lead else 0)
        if pasted:
            space = pasted.group()
            named = unicodedata.name(space).lower()
            name = f"{'an' if named[0] in 'aeiou' else 'a'} {named} (U+{ord(space):04X})"
            if line.strip():
                doubts.append((number, pasted.start() + 1, name))
            else:
                errors.append(
                    Diagnostic(
                        display,
                        number,
                        pasted.start() + 1,
                        "",
                        f"{name} {_PASTED_INDENT}, and Markdown takes a line of it for text, not for the blank "
                        "line between paragraphs; replace it with a space",
                    )
                )
    return errors, doubts


_PASTED_INDENT = "in the indentation, as text pasted from a web page or a word processor carries: YAML indents with spaces only"


_CLOSE_THE_QUOTE = "close it where the value ends"


def _quoted_before(text: str, problem: yaml.Mark) -> tuple[yaml.Mark, str] | None:
    """Where the quoted value whose end the parser stumbled after, at `problem`, opened, and what went wrong
    with it. A quote left open (`title: "Myanmar: A Year On`) takes in the lines after it, and a quote
    inside the value (`title: 'Myanmar's Junta'`) ends it early; the parser says only `expected <block end>,
    but found '<scalar>'`, where the value ends, lines further down for the first."""
    found = None
    with contextlib.suppress(yaml.YAMLError):
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index > problem.index:
                break
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                found = token
    if found is None or found.end_mark.line != problem.line:
        return None
    opened = found.start_mark
    if opened.line < problem.line:
        message = f"the quote opened here is closed only on line {problem.line + 1}, where what follows it cannot be read"
        return opened, f"{message}: {_CLOSE_THE_QUOTE}"
    if found.end_mark.index == problem.index:
        inside = "''" if found.style == "'" else '\\"'
        message = f"the quote opened here is closed before the value ends, at column {problem.column}"
        return opened, f"{message}: write a {found.style} inside it as {inside}"
    return None


def _quoted(value: str) -> str:
    """`value` written as a YAML quoted scalar: in double quotes, or in single ones when it holds a double quote
    and no single one (as `'"Nowhere Is Safe": Airstrikes'`)."""
    if '"' in value and "'" not in value:
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_KEY_AND_VALUE = (
    r"(?P<lead>[ \t]*(?:-[ \t]+)*)(?P<key>[\w-]+|\"[^\"\n]*\"|'[^'\n]*')[ \t]*:[ \t]+(?P<value>\S.*?)[ \t]*"
)
"""A line `key: value` (or `- key: value`), as a title, an organization or a footnote's text is written."""


def _unreadable(value: str, problem: str) -> str:
    """Why YAML cannot read `value`, unquoted, in words an editor knows, else in the parser's (`problem`)."""
    if problem == "mapping values are not allowed here":
        return "YAML reads the ': ' in it as the start of another field"
    if value[0] in "\"'":
        return "YAML takes the quoted part at its start for the whole value"
    if value[0] in "[{":
        return (
            f"YAML reads a value starting with '{value[0]}' as a {'list' if value[0] == '[' else 'mapping'}"
        )
    if value[0] in "-?:,]}#&*!|>%@`":
        return f"YAML reads '{value[0]}' at the start of a value as its own sign"
    return problem


def _quote_it(text: str, mark: yaml.Mark, problem: str) -> tuple[int, int, str] | None:
    """Where a value that YAML cannot read as written starts (line and column, 1-based), and what to write, when
    the parser stumbled, at `mark`, inside a value on the line of its key that quotes make readable: a title
    holding `: ` (`title: Myanmar: A Year On`), one starting with `@`, `` ` ``, `%`, `[`, `- `, or with a quoted
    part followed by more (`title: "Nowhere Is Safe" Military Airstrikes`). None when quoting it would not
    do, or where the parser stumbled is not in such a value."""
    lines = text.splitlines()
    if mark.line >= len(lines):
        return None
    found = re.fullmatch(_KEY_AND_VALUE, lines[mark.line])
    if found is None or mark.column < found.start("value"):
        return None
    key, value = found.group("key"), found.group("value")
    written = f"{key}: {_quoted(value)}"
    if not _reads_further(lines, mark.line, found.group("lead") + written):
        return None
    field = key.strip("'\"")
    why = _unreadable(value, problem)
    return (
        mark.line + 1,
        found.start("value") + 1,
        f"not valid YAML: the value of '{field}' cannot be read as written ({why}); put it in quotes: {written}",
    )


def _reads_further(lines: list[str], number: int, fixed: str) -> bool:
    """Whether the file of `lines`, line `number` (from 0) written as `fixed`, reads past that line."""
    try:
        yaml.compose("\n".join([*lines[:number], fixed, *lines[number + 1 :]]), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        later = exc.problem_mark or exc.context_mark
        return later is not None and later.line > number
    except yaml.YAMLError:
        return False
    return True


def _comment_in_brackets(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, int, str] | None:
    """Where a name in a list written in brackets holds ` #` (`by: [Org #1, Org]`), and what to write: YAML reads
    the rest of the line as a comment, `]` included, and says only that the list is never closed, lines
    further down."""
    opened = exc.context_mark
    if opened is None or not (exc.context or "").startswith("while parsing a flow"):
        return None
    lines = text.splitlines()
    if opened.line >= len(lines):
        return None
    line = lines[opened.line]
    comment = re.compile(r"[ \t]#").search(line, opened.column)
    if comment is None:
        return None
    start = max(
        *(line.rfind(sign, opened.column, comment.start()) + 1 for sign in "[{,"),
        line.rfind(": ", opened.column, comment.start()) + 2,
    )
    ends = [end for end in (line.find(sign, comment.end()) for sign in ",]}") if end >= 0]
    end = min(ends, default=len(line))
    name = line[start:end].strip()
    fixed = f"{line[:start]}{' ' if line[start : start + 1] == ' ' else ''}{_quoted(name)}{line[end:]}"
    if not _reads_further(lines, opened.line, fixed):
        return None
    swallowed = line[comment.start() + 1 :].rstrip()
    closing = "]" if exc.context == "while parsing a flow sequence" else "}"
    bracket = f", the closing '{closing}' too" if closing in swallowed else ""
    return (
        opened.line + 1,
        line.index(name, start) + 1,
        f"YAML reads {swallowed!r} as a comment, not as text, and leaves it out{bracket}: a '#' after a space "
        f"starts one; put the text in quotes to keep it: {fixed.strip()}",
    )


def _comment_line_before(text: str, mark: yaml.Mark) -> tuple[int, int, str] | None:
    """Where a line of a value written over several lines starts with `#` and a letter or digit, and what to
    write, when the parser stumbled, at `mark`, on the value's next line: YAML took the line for a comment,
    which ends the value, and says only `expected <block end>, but found '<scalar>'` on the line after it."""
    lines = text.splitlines()
    number = min(mark.line, len(lines)) - 1
    while number > 0 and not lines[number].strip():
        number -= 1
    comment = _COMMENT_LINE.fullmatch(lines[number]) if number > 0 else None
    if comment is None:
        return None
    indent = comment.start(1)
    fixed = lines[number][:indent] + "x" + lines[number][indent + 1 :]
    if not _reads_further(lines, number, fixed):
        return None
    start = next(
        (
            above
            for above in reversed(lines[:number])
            if above.strip() and len(above) - len(above.lstrip()) < indent
        ),
        "",
    )
    found = re.fullmatch(_KEY_AND_VALUE, start)
    if found is None:
        return None
    return number + 1, indent + 1, _comment_line_message(comment.group(1), found.group("key").strip("'\""))


_BLOCK_KEY = r"(?P<lead>[ ]*)(?:-[ ]+)*(?P<key>[\w-]+|\"[^\"\n]*\"|'[^'\n]*')[ ]*:[ ]+(?P<sign>[|>][-+0-9]*)[ ]*(?:#.*)?"
"""A line opening a block: `editorial: |`, `summary: >-`."""


def _outdented_in_block(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, int, str] | None:
    """Where a line of a `|` or `>` block is indented less than the lines above it (a paragraph of the editorial
    pasted at the margin), and what to write: YAML ends the block there and reads the line as what comes after
    it, saying only `expected <block end>` or `could not find expected ':'`, a line or more below."""
    lines = text.splitlines()
    for mark in (exc.context_mark, exc.problem_mark):
        number = mark.line if mark else len(lines)
        if number >= len(lines) or not lines[number].strip():
            continue
        line = lines[number]
        indent = len(line) - len(line.lstrip(" "))
        if (
            line.lstrip(" ").startswith("- ")
            or re.fullmatch(_KEY_AND_VALUE, line)
            or line.rstrip().endswith(":")
        ):
            continue  # a list item or a field: written where it belongs, it may be
        block = None
        for above in range(number - 1, -1, -1):
            if not lines[above].strip():
                continue
            above_indent = len(lines[above]) - len(lines[above].lstrip(" "))
            opening = re.fullmatch(_BLOCK_KEY, lines[above])
            if opening and block is not None and above_indent < block:
                if indent >= block:
                    break
                key = opening.group("key").strip("'\"")
                return (
                    number + 1,
                    indent + 1,
                    f"not valid YAML: this line is indented less than the lines above it in the block "
                    f"'{key}: {opening.group('sign')}' ({block} spaces), so YAML ends the block before it; "
                    f"indent it by {block} spaces, as they are",
                )
            if block is not None and above_indent < block:
                break
            block = above_indent if block is None else min(block, above_indent)
    return None


def _item_misindented(text: str, mark: yaml.Mark) -> tuple[int, int, str] | None:
    """Where an item of a list (`- title: ...`) is indented otherwise than the item before it, and what to
    write: the parser says only `expected <block end>, but found '<block sequence start>'`."""
    lines = text.splitlines()
    if mark.line >= len(lines) or not lines[mark.line][mark.column :].startswith("- "):
        return None
    for above in range(mark.line - 1, -1, -1):
        before = lines[above].lstrip(" ")
        indent = len(lines[above]) - len(before)
        if not before or before.startswith("#"):
            continue
        if before.startswith("- ") and indent != mark.column:
            return (
                mark.line + 1,
                mark.column + 1,
                f"not valid YAML: this item is indented {mark.column} spaces, the item above it (line {above + 1}) "
                f"{indent}; indent it by {indent} spaces, as it is",
            )
        if before.startswith("- ") or indent < mark.column:
            return None
    return None


def _parse_yaml(text: str, display: str) -> tuple[Any, Positions, list[Diagnostic]]:
    if any(character in text for character in _UNICODE_BREAKS):
        return None, Positions(), _unicode_breaks(text, display)
    errors, doubts = _indentation(text, display)
    if errors:
        return None, Positions(), errors
    data, positions, diagnostics = _parse_valid_yaml(text, display)
    if data is None and doubts:
        # A pasted space where YAML reads indentation is what broke the file, or is said beside what did.
        broke = [
            Diagnostic(display, line, col, "", f"{name} {_PASTED_INDENT}; replace it with a space")
            for line, col, name in doubts
        ]
        return None, positions, sorted([*broke, *diagnostics], key=lambda found: (found.line, found.col))
    # Inside a block, where YAML read it, it is text: the email shows it.
    shown = [
        Diagnostic(
            display,
            line,
            col,
            "",
            f"{name} begins this line, as text pasted from a web page or a word processor carries: the email "
            "shows it as a space before the text; remove it unless it was meant",
            Severity.WARNING,
        )
        for line, col, name in doubts
    ]
    return data, positions, [*diagnostics, *shown]


def _parse_valid_yaml(text: str, display: str) -> tuple[Any, Positions, list[Diagnostic]]:
    loader: yaml.SafeLoader | None = None
    try:
        loader, node = _compose(text)
        if node is None:
            return (
                None,
                Positions(),
                [
                    Diagnostic(
                        display,
                        1,
                        1,
                        "",
                        "the file is empty; an issue needs at least date, title, editorial and resources",
                    )
                ],
            )
        converter = _Converter(loader, text.splitlines())
        data = converter.convert(node, ())
        converter.unused_anchors()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = f"not valid YAML: character U+{exc.character:04X} is not allowed (control characters cannot appear in YAML); remove it"
        return None, Positions(), [Diagnostic(display, line, col, "", message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        if exc.context == "while scanning a quoted scalar" and exc.context_mark:
            mark, problem = exc.context_mark, f"the quote opened here is never closed: {_CLOSE_THE_QUOTE}"
        elif mark and (opened := _quoted_before(text, mark)):
            mark, problem = opened
        elif mark and (
            readable := _quote_it(text, mark, problem)
            or _comment_in_brackets(text, exc)
            or _comment_line_before(text, mark)
            or _outdented_in_block(text, exc)
            or _item_misindented(text, mark)
        ):
            line, col, message = readable
            return None, Positions(), [Diagnostic(display, line, col, "", message)]
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, Positions(), [Diagnostic(display, line, col, "", f"not valid YAML: {problem}")]
    except yaml.YAMLError as exc:
        return None, Positions(), [Diagnostic(display, 1, 1, "", f"not valid YAML: {exc}")]
    except _Problem as exc:
        return None, Positions(), [Diagnostic(display, exc.spot.line, exc.spot.col, "", exc.message)]
    except RecursionError:
        return (
            None,
            Positions(),
            [Diagnostic(display, 1, 1, "", "the file is nested too deeply to be an issue")],
        )
    finally:
        if loader is not None:
            loader.dispose()
    found = [Diagnostic(display, s.line, s.col, field_path(p), m) for s, m, p in converter.problems]
    return data, converter.positions, found


# -- Reading and checking -----------------------------------------------------


class Reading(msgspec.Struct, frozen=True):
    """The outcome of reading one issue file: the issue when it is valid, and all findings."""

    issue: Issue | None
    diagnostics: tuple[Diagnostic, ...]
    date: dt.date | None = None
    """The date the file gives, when its `date:` is readable, whatever else is wrong in it."""

    @property
    def errors(self) -> list[Diagnostic]:
        return errors_in(self.diagnostics)


_SPACED_REFERENCE = re.compile(r"\[\^([^\]\n]*\s[^\]\n]*)\]")
"""What an editor may take for a footnote reference, its label holding a space: Markdown reads it as text."""


_LIGATURES = "[\ufb00-\ufb06]"
"""Latin ligatures (ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ) as one character each, which text copied from a PDF carries."""
_PASTED_CHARACTER = re.compile("[\u00ad\ufb00-\ufb06]")
_PASTED = "[\\w\u00ad]*[\u00ad\ufb00-\ufb06][\\w\u00ad]*"
"""A word holding a soft hyphen or a Latin ligature."""
_BROKEN_WORD = re.compile(r"(?<![\w-])([^\W\d_]+)-(?:[ \t]+|[ \t]*\n[ \t]*)([^\W\d_]+)")
"""A word broken at the end of a line, its hyphen left before a space or a line break: `humani- tarian`."""
_LATIN = "[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+"
_SUSPENDED_BEFORE = frozenset(("and", "or", "nor", "to", "than", "versus", "vs"))
"""Words that follow a hyphen left hanging on purpose: `pre- and post-war`, `two- to three-year`."""


_LIST_OF_NAMES = re.compile(r"\s*[,;\u104a]\s*")
"""What separates names in a list written as one text: a comma, a semicolon, the Burmese comma (၊)."""


_BRACKETED_NUMBER = re.compile(r"(?<![\\\[\]^])\[([0-9]+)\](?![(\[:])")
"""A number in brackets, `[6]`, as a word processor refers to a note, which Markdown shows as written; not a
link's `[6](...)` or `[6][...]`."""


def _other_reference(text: str, label: str) -> re.Match[str] | None:
    """The first place in `text` where footnote `label` is referred to as a word processor or an email writes
    it, `[1]`, `^1` or `^[1]`, which Markdown shows as written; not a link's `[1](...)` or `[1][...]`."""
    written = re.escape(label)
    return re.search(
        rf"(?<![\\\[\]])\^\[{written}\](?![(\[:])|(?<![\\^\]])\[{written}\](?![(\[:])|(?<![\w\\^])\^{written}(?!\w)",
        text,
    )


def _unspaced(label: str) -> str:
    """A footnote label with a space, as one Markdown reads: 'Note A' as 'Note-A'."""
    return "-".join(label.split())


SKELETON_PARAGRAPHS = ("First paragraph.", "Second paragraph.")
"""The editorial `broadsheet new` writes, for the editor to replace: an error while it is there."""


def issue_files(folder: Path) -> list[Path]:
    """The issue files in `folder` (`*.yaml`), in order of name: hidden ones left out, such as the `._*` files
    macOS leaves on a shared or removable disk."""
    return sorted(path for path in folder.glob("*.yaml") if not path.name.startswith("."))


def newest_issue(folder: Path, settings: Settings) -> Path | None:
    """The issue file in `folder` with the latest date: its name's, or the date inside a file named otherwise
    (`special.yaml`), even one with errors; the last by name when no date can be told."""
    found = issue_files(folder)

    def day(path: Path) -> dt.date:
        return iso_date(path.stem) or read_issue(path, settings).date or dt.date.min

    return max(reversed(found), key=day, default=None)


def dated_alike(issues: list[Issue]) -> list[Diagnostic]:
    """An error at each of `issues` that shares its date with another, naming the others: an issue's date names
    its page, its catalogs and its send, so two with one date would overwrite each other's."""
    by_date: dict[dt.date, set[str]] = {}
    for issue in issues:
        by_date.setdefault(issue.date, set()).add(issue.source)
    return [
        Diagnostic(
            source,
            0,
            0,
            "date",
            f"another issue has the same date ({', '.join(sorted(sources - {source}))}); each date has one page",
        )
        for sources in by_date.values()
        if len(sources) > 1
        for source in sorted(sources)
    ]


def read_issue(path: Path, settings: Settings, display: str | None = None) -> Reading:
    """Read and validate the issue at `path`; never raises for anything in the file."""
    display = display or str(path)
    if path.suffix in (".po", ".pot", ".mo"):
        # A translator checking their work names their catalog: it was read as YAML, "mapping values are not
        # allowed here" at its header.
        day = ISO_DATE.search(path.name)
        issue = f"{settings.issues_dir}/{day.group() if day else '<date>'}.yaml"
        return Reading(
            None,
            (
                Diagnostic(
                    display,
                    0,
                    0,
                    "",
                    f"a translation catalog, not an issue: name the issue, {issue}, whose catalogs are read "
                    "and checked with it",
                ),
            ),
        )
    try:
        raw = read_limited(path, "issue", display)
    except OSError as exc:
        return Reading(None, (Diagnostic(display, 0, 0, "", f"cannot read file: {exc.strerror}"),))
    except InvalidInput as exc:
        return Reading(None, exc.diagnostics)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = (
            "UTF-16 text, not UTF-8; save the file as UTF-8"
            if is_utf16(raw)
            else f"not UTF-8 text: byte 0x{raw[exc.start]:02X} cannot be decoded; save the file as UTF-8"
        )
        return Reading(None, (Diagnostic(display, line, col, "", message),))
    text = text.removeprefix("\ufeff")
    data, positions, diagnostics = _parse_yaml(text, display)
    if data is None and not diagnostics:
        diagnostics = [Diagnostic(display, 1, 1, "", "the file is empty")]
    if diagnostics and data is None:
        return Reading(None, tuple(sorted(diagnostics)))
    if not isinstance(data, dict):
        diagnostics.append(
            Diagnostic(
                display,
                1,
                1,
                "",
                f"Expected a mapping of fields (date, title, ...) but received: {received(data)}",
            )
        )
        return Reading(None, tuple(sorted(diagnostics)))

    day = data.get("date")
    written = iso_date(day) if isinstance(day, str) else day if type(day) is dt.date else None
    checker = _Checker(display, text, positions, settings)
    model: IssueFile | None = None
    try:
        model = validate(IssueFile, data)
    except Invalid as exc:
        for problem in exc.problems:
            checker.problem(problem)
    checker.content(data)
    diagnostics.extend(checker.diagnostics)
    if model is None or errors_in(diagnostics):
        return Reading(None, tuple(sorted(set(diagnostics))), written)
    return Reading(_build(model, checker), tuple(sorted(set(diagnostics))), model.date)


class _Checker:
    """Collects located diagnostics for one file."""

    def __init__(self, display: str, text: str, positions: Positions, settings: Settings) -> None:
        self.display = display
        self.lines = text.splitlines()
        self.positions = positions
        self.settings = settings
        self.diagnostics: list[Diagnostic] = []

    def add(
        self,
        path: tuple[int | str, ...],
        message: str,
        *,
        key: bool = False,
        spot: Spot | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        spot = spot or self.positions.of(path, key=key)
        self.diagnostics.append(
            Diagnostic(self.display, spot.line, spot.col, field_path(path), message, severity)
        )

    def problem(self, problem: Problem) -> None:
        """A problem the declaration found, at its value (an unknown field: at its key)."""
        self.add(problem.loc, problem.message, key=problem.at_key)

    def text_spot(self, path: tuple[int | str, ...], line_in_text: int, needle: str) -> Spot:
        """Where `needle`, on line `line_in_text` of the string at `path`, is in the file."""
        start = self.positions.of(path)
        first = start.line + 1 if start.style in ("|", ">") else start.line
        line = first + line_in_text
        if 1 <= line <= len(self.lines):
            col = self.lines[line - 1].find(needle)
            if col >= 0:
                return Spot(line, col + 1)
            return Spot(line, len(self.lines[line - 1]) - len(self.lines[line - 1].lstrip()) + 1)
        return start

    def text_line(self, path: tuple[int | str, ...], line_in_text: int = 0) -> int:
        return self.text_spot(path, line_in_text, "\0").line

    def content(self, data: dict[str, Any]) -> None:
        """What a schema cannot see: Markdown, footnotes both ways, categories, duplicates."""
        refs: list[tuple[str, int]] = []
        self._texts(data, ())
        self._date_matches_file_name(data.get("date"))
        editorial = data.get("editorial")
        if isinstance(editorial, str):
            for block in markdown.split_blocks(editorial):
                if block.markdown.strip() in SKELETON_PARAGRAPHS:
                    self.add(
                        ("editorial",),
                        f"{block.markdown.strip()!r} is still the text `broadsheet new` wrote; write the editorial",
                        spot=self.text_spot(("editorial",), block.line, block.markdown.strip()),
                    )
            problems, refs = markdown.inspect(editorial)
            for problem in problems:
                self.add(
                    ("editorial",),
                    problem.message,
                    spot=self.text_spot(("editorial",), problem.line, problem.needle),
                    severity=problem.severity,
                )
            for spaced in _SPACED_REFERENCE.finditer(editorial):
                self.add(
                    ("editorial",),
                    f"{spaced.group()} is no footnote reference: Markdown shows it as written, a label having no "
                    f"space; write [^{_unspaced(spaced.group(1))}], under 'footnotes:' too",
                    spot=self.text_spot(
                        ("editorial",), editorial.count("\n", 0, spaced.start()), spaced.group()
                    ),
                )
        footnotes = data.get("footnotes")
        defined = footnotes if isinstance(footnotes, dict) else {}
        for label, text in defined.items():
            if isinstance(text, str) and not text.strip():
                self.add(("footnotes", label), f"footnote '{label}' has no text")
            elif isinstance(text, str):
                problems, nested = markdown.inspect(text, inline=True)
                for problem in problems:
                    self.add(
                        ("footnotes", label),
                        problem.message,
                        spot=self.text_spot(("footnotes", label), problem.line, problem.needle),
                        severity=problem.severity,
                    )
                for nested_label, line in nested:
                    self.add(
                        ("footnotes", label),
                        f"footnote [^{nested_label}] is referenced inside a footnote; references belong in the editorial",
                        spot=self.text_spot(("footnotes", label), line, f"[^{nested_label}]"),
                    )
        used = {label for label, _ in refs}
        for label, line in refs:
            if label not in defined:
                hint = did_you_mean(label, defined)
                self.add(
                    ("editorial",),
                    f"footnote [^{label}] is referenced but not defined under 'footnotes:'{hint}",
                    spot=self.text_spot(("editorial",), line, f"[^{label}]"),
                )
        for label in defined:
            if isinstance(label, str) and any(character.isspace() for character in label):
                # Markdown reads no reference with a space in its label: [^Note A] stays text.
                self.add(
                    ("footnotes", label),
                    f"footnote label '{label}' has a space, and Markdown reads [^{label}] as text, not as a "
                    f"reference; use a label without spaces, such as '{_unspaced(label)}'",
                    key=True,
                )
            elif (
                label not in used
                and isinstance(editorial, str)
                and (other := _other_reference(editorial, label))
            ):
                self.add(
                    ("editorial",),
                    f"{other.group()} is shown as written, not as a reference to footnote '{label}'; "
                    f"write [^{label}]",
                    spot=self.text_spot(
                        ("editorial",), editorial.count("\n", 0, other.start()), other.group()
                    ),
                )
            elif label not in used:
                self.add(
                    ("footnotes", label),
                    f"footnote '{label}' is defined but never referenced as [^{label}] in the editorial",
                    key=True,
                )
        if defined and isinstance(editorial, str):
            for bracketed in _BRACKETED_NUMBER.finditer(editorial):
                if bracketed.group(1) in defined:
                    continue  # a footnote of that label: referred to, or said above to be written [^N]
                self.add(
                    ("editorial",),
                    f"{bracketed.group()} is shown as written, as text: no footnote '{bracketed.group(1)}' is "
                    f"defined; if it refers to one, write [^{bracketed.group(1)}] and give its text under "
                    "'footnotes:'",
                    spot=self.text_spot(
                        ("editorial",), editorial.count("\n", 0, bracketed.start()), bracketed.group()
                    ),
                    severity=Severity.WARNING,
                )
        image = data.get("image")
        src = image.get("src") if isinstance(image, dict) else None
        if isinstance(src, str) and (doubt := pasted_end(src)) and not url_problem(src):
            self.add(("image", "src"), doubt, severity=Severity.WARNING)
        self._resources(data.get("resources"))

    def _texts(self, value: Any, path: tuple[int | str, ...]) -> None:
        """Blank text where text is required, and Burmese text in the Zawgyi encoding, anywhere."""
        if isinstance(value, dict):
            for key, item in value.items():
                self._texts(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._texts(item, (*path, index))
        elif isinstance(value, str):
            names = [part for part in path if isinstance(part, str)]
            if (
                value
                and not value.strip()
                and (names[-1:] in (["title"], ["editorial"], ["alt"], ["author"], ["by"]))
            ):
                self.add(path, "must not be empty")
            if names[-1:] != ["lang"]:
                self._pasted(path, value)
            if burmese.is_zawgyi(value):
                self.add(
                    path,
                    "text is Zawgyi-encoded Burmese, not Unicode: readers without a Zawgyi font see garbage; convert it to Unicode",
                )
            for placeholder in (UNSUBSCRIBE_PLACEHOLDER, PREFERENCES_PLACEHOLDER):
                if placeholder in value:
                    # Delivery fills it with each recipient's own link, token and all, wherever it stands:
                    # in a resource's URL it would hand every reader's token to that site.
                    self.add(
                        path,
                        f"{placeholder} is each recipient's own link, filled in by delivery; it cannot be written in an issue",
                    )

    def _pasted(self, path: tuple[int | str, ...], value: str) -> None:
        """A warning at each trace of text pasted from a PDF or a word processor: a soft hyphen, a Latin
        ligature (`ﬁ`), a word broken at the end of a line (`humani- tarian`). Each is left as written, and
        the zero-width space and joiners that Burmese text holds are no such trace."""
        url = path[-1] in ("url", "src")
        # Most texts hold neither trace: a search for the characters first spares them `_PASTED`, which tries
        # every place in a long run of letters (a Burmese sentence is one) as the start of a word.
        for found in re.finditer(_PASTED, value) if _PASTED_CHARACTER.search(value) else ():
            word = found.group()
            if "\u00ad" in word and not url:  # in a URL, an error: an invisible character
                self.add(
                    path,
                    f"{word!r} holds a soft hyphen (U+00AD), as text pasted from a PDF or a word processor does: "
                    f"some mail programs show it as a hyphen, and a search for the word does not find it; "
                    f"delete it: {word.replace(chr(0xAD), '')!r}",
                    spot=self._place(path, value, found.start(), word),
                    severity=Severity.WARNING,
                )
            for ligature in sorted(set(re.findall(_LIGATURES, word))):
                letters = unicodedata.normalize("NFKC", ligature)
                self.add(
                    path,
                    f"{word!r} holds {ligature!r} (U+{ord(ligature):04X}), the ligature of {letters!r} as one "
                    f"character, as text pasted from a PDF does: a search for the word does not find it, and "
                    f"a screen reader may misread it; write {letters!r}: "
                    f"{re.sub(_LIGATURES, lambda one: unicodedata.normalize('NFKC', one.group()), word)!r}",
                    spot=self._place(path, value, found.start(), word),
                    severity=Severity.WARNING,
                )
        if url or "-" not in value:
            return
        for broken in _BROKEN_WORD.finditer(value):
            first, second = broken.group(1), broken.group(2)
            if (
                second in _SUSPENDED_BEFORE
                or not second[0].islower()
                or not (re.fullmatch(_LATIN, first) and re.fullmatch(_LATIN, second))
            ):
                continue  # `pre- and post-war`: the hyphen is the word's; and Burmese breaks no word so
            self.add(
                path,
                f"'{first}- {second}' is a word broken at the end of a line, as text pasted from a PDF is, and "
                f"reads with a space after the hyphen; write {first + second!r}, or {first + '-' + second!r} "
                "if the hyphen is the word's",
                spot=self._place(path, value, broken.start(), f"{first}-"),
                severity=Severity.WARNING,
            )

    def _place(self, path: tuple[int | str, ...], value: str, index: int, needle: str) -> Spot:
        """Where `needle`, at `index` of the text `value` at `path`, is in the file: on the line that many lines
        into a block (`|`, `>`), else on the first line from the value's own on where it is."""
        start = self.positions.of(path)
        first = start.line + 1 if start.style in ("|", ">") else start.line
        if start.style in ("|", ">"):
            first += value.count("\n", 0, index)
        for number in range(first, len(self.lines) + 1):
            col = self.lines[number - 1].find(needle, start.col - 1 if number == start.line else 0)
            if col >= 0:
                return Spot(number, col + 1)
        return start

    def _date_matches_file_name(self, value: Any) -> None:
        stem = Path(self.display).stem
        written = value if isinstance(value, str) else None
        if written and iso_date(stem) and iso_date(written) and written != stem:
            self.add(
                ("date",),
                f"the date {written} does not match the file name {Path(self.display).name}; catalogs and the build folder are named after the date",
            )

    def _resources(self, resources: Any) -> None:
        if not isinstance(resources, dict):
            return
        configured = self.settings.categories
        seen: dict[str, tuple[tuple[int | str, ...], str]] = {}
        for key, items in resources.items():
            if key not in configured:
                self.add(("resources", key), unknown_category(key, configured), key=True)
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                path: tuple[int | str, ...] = ("resources", key, i)
                if not item.get("by"):
                    self.add(
                        path,
                        "resource has no 'by': readers will not see who published it",
                        severity=Severity.WARNING,
                    )
                by = item.get("by")
                if isinstance(by, str) and len(names := _LIST_OF_NAMES.split(by.strip())) > 1:
                    from .curate.edit import scalar  # 5 ms to import, needed only for this warning

                    self.add(
                        (*path, "by"),
                        f"{by!r} is read as one organization's name; if it names {len(names)}, write them as a "
                        f"list: by: [{', '.join(scalar(name, flow=True) for name in names)}] (a name that holds "
                        f"a comma, as a list of one: by: [{_quoted(by.strip())}])",
                        severity=Severity.WARNING,
                    )
                title, source = item.get("title"), self.settings.source_locale
                if (
                    isinstance(title, str)
                    and item.get("lang") is None
                    and burmese.MYANMAR_CHAR.search(title)
                    and source.split("_")[0] != "my"
                ):
                    from babel import Locale

                    from .i18n import name_language  # the one rule of a name's language, for a title too

                    if name_language(title, source) == "my":
                        language = Locale.parse(source).english_name
                        self.add(
                            (*path, "title"),
                            f"this title is in Burmese, but without 'lang: my' it is taken for {language}, the "
                            f"issue's language: the Burmese edition marks it so, sets it in {language} fonts "
                            "and asks translators for it; add 'lang: my' to the resource",
                            severity=Severity.WARNING,
                        )
                url = item.get("url")
                if isinstance(url, str) and (doubt := pasted_end(url)) and not url_problem(url):
                    self.add((*path, "url"), doubt, severity=Severity.WARNING)
                if isinstance(url, str) and not url_problem(url) and (tracking := tracking_warning(url)):
                    self.add((*path, "url"), tracking, severity=Severity.WARNING)
                if isinstance(url, str):
                    page = same_page(url)
                    if page not in seen:
                        seen[page] = (path, url)
                        continue
                    first_path, first_url = seen[page]
                    first = self.positions.of((*first_path, "url"))
                    written = "" if first_url == url else f", written there as {first_url}"
                    self.add(
                        (*path, "url"),
                        f"duplicate URL, also at line {first.line} ({field_path(first_path)}{written})",
                        severity=Severity.WARNING,
                    )


def _build(model: IssueFile, checker: _Checker) -> Issue:
    """The model of a valid issue file."""
    settings = checker.settings
    blocks = markdown.split_blocks(model.editorial)
    paragraphs = tuple(Paragraph(b.markdown, checker.text_line(("editorial",), b.line)) for b in blocks)
    _, refs = markdown.inspect(model.editorial)
    order = list(Counter(label for label, _ in refs))
    footnotes = tuple(
        Footnote(label, number, model.footnotes[label], checker.text_line(("footnotes", label)))
        for number, label in enumerate(order, 1)
    )
    categories = tuple(
        Category(
            key,
            settings.categories[key],
            tuple(
                Resource(r.title, r.url, r.by, r.lang, checker.text_line(("resources", key, i, "title")))
                for i, r in enumerate(items)
            ),
        )
        for key, items in model.resources.items()
    )
    image = None
    if model.image:
        image = Image(model.image.src, model.image.alt, checker.text_line(("image", "alt")))
    return Issue(
        source=checker.display,
        date=model.date,
        title=model.title,
        title_line=checker.text_line(("title",)),
        author=model.author or settings.default_author,
        summary=model.summary or "",
        summary_line=checker.text_line(("summary",)) if model.summary else 0,
        image=image,
        paragraphs=paragraphs,
        footnotes=footnotes,
        categories=categories,
        locale=settings.source_locale,
        author_line=checker.text_line(("author",)) if model.author else 0,
    )
