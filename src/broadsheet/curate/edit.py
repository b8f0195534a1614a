"""Writing into an issue file in place: new resources and corrected URLs, every other byte left as it was.

Edits are made on the text, at the places the YAML parser marks for each
node, rather than by dumping a loaded document again: comments, key order,
quoting, blank lines and folded text survive because they are never
rewritten. Each edit is read back before it is kept.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..atomic import write_atomic
from ..errors import BroadsheetError, Diagnostic, InvalidInput
from ..markdown import href, link_destination, read_destination, structure
from ..schema import field_path

# libyaml marks nodes at the same character indexes as PyYAML's pure-Python parser, twenty times faster.
_LOADER: type[yaml.SafeLoader] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader  # type: ignore[assignment]
# Where a link's destination starts (read from there as CommonMark does, balanced parentheses and all), or an autolink.
_MARKDOWN_LINK = re.compile(r"\]\(\s*(?=<?https?://)|<(https?://[^\s<>]+)>", re.IGNORECASE)


@dataclass(frozen=True)
class NewResource:
    """A resource to write: the fields of the issue format, in its order."""

    title: str
    url: str
    by: tuple[str, ...] = ()
    lang: str | None = None


@dataclass(frozen=True)
class LocatedURL:
    """One URL written in the issue file, and where."""

    path: tuple[int | str, ...]
    url: str
    start: int
    """Index of its first character in the file's text."""
    end: int
    """Index after its last character, as written (`<...>` and escapes too)."""
    line: int
    col: int
    node: ScalarNode

    @property
    def field(self) -> str:
        return field_path(self.path)

    @property
    def in_markdown(self) -> bool:
        """A link in the editorial or a footnote, rather than a field's whole value."""
        return self.path[0] in ("editorial", "footnotes")


class IssueText:
    """An issue file's text and its YAML node tree."""

    def __init__(self, path: Path, display: str | None = None) -> None:
        self.path = path
        self.display = display or str(path)
        try:
            self.text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise BroadsheetError(f"{self.display}: cannot read file: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InvalidInput(
                [Diagnostic(self.display, 0, 0, "", "not UTF-8 text; run broadsheet check on it")]
            ) from None
        self.root = self._compose(self.text)
        self.newline = "\r\n" if "\r\n" in self.text else "\n"

    def _compose(self, text: str) -> MappingNode:
        try:
            root = yaml.compose(text, Loader=_LOADER)
        except yaml.YAMLError:
            raise InvalidInput(
                [Diagnostic(self.display, 0, 0, "", "not valid YAML; run broadsheet check on it")]
            ) from None
        if not isinstance(root, MappingNode):
            raise InvalidInput(
                [Diagnostic(self.display, 1, 1, "", "Expected a mapping of fields (date, title, ...)")]
            )
        return root

    # -- reading ---------------------------------------------------------------

    def value(self, key: str, mapping: MappingNode | None = None) -> Node | None:
        return next(
            (v for k, v in (mapping or self.root).value if isinstance(k, ScalarNode) and k.value == key), None
        )

    def _key(self, key: str, mapping: MappingNode) -> ScalarNode | None:
        return next((k for k, _ in mapping.value if isinstance(k, ScalarNode) and k.value == key), None)

    @property
    def date(self) -> str | None:
        node = self.value("date")
        return node.value if isinstance(node, ScalarNode) else None

    def _spot(self, index: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, index) + 1
        return line, index - (self.text.rfind("\n", 0, index) + 1) + 1

    def _located(self, path: tuple[int | str, ...], node: ScalarNode) -> LocatedURL:
        written = self.text.find(node.value, node.start_mark.index, node.end_mark.index)
        start, end = (
            (written, written + len(node.value))
            if written >= 0
            else (node.start_mark.index, node.end_mark.index)
        )
        return LocatedURL(path, node.value, start, end, *self._spot(start), node)

    def resource_urls(self) -> Iterator[LocatedURL]:
        resources = self.value("resources")
        if not isinstance(resources, MappingNode):
            return
        for key_node, items in resources.value:
            if not isinstance(items, SequenceNode):
                continue
            for index, item in enumerate(items.value):
                url = self.value("url", item) if isinstance(item, MappingNode) else None
                if isinstance(url, ScalarNode) and url.value:
                    yield self._located(("resources", key_node.value, index, "url"), url)

    def urls(self) -> list[LocatedURL]:
        """Every http(s) URL of the issue in file order: resources, the image, links in the editorial and footnotes."""
        found = list(self.resource_urls())
        image = self.value("image")
        src = self.value("src", image) if isinstance(image, MappingNode) else None
        if isinstance(src, ScalarNode) and src.value:
            found.append(self._located(("image", "src"), src))
        texts: list[tuple[tuple[int | str, ...], ScalarNode]] = []
        editorial = self.value("editorial")
        if isinstance(editorial, ScalarNode):
            texts.append((("editorial",), editorial))
        footnotes = self.value("footnotes")
        if isinstance(footnotes, MappingNode):
            texts += [(("footnotes", k.value), v) for k, v in footnotes.value if isinstance(v, ScalarNode)]
        for path, node in texts:
            written = self.text[node.start_mark.index : node.end_mark.index]
            end = 0
            for match in _MARKDOWN_LINK.finditer(written):
                if match.start() < end:  # the `<...>` of a destination just read
                    continue
                if match.group(1):
                    url, start, end = match.group(1), match.start(1), match.end(1)
                else:
                    destination = read_destination(written, match.end())
                    if destination is None:
                        continue
                    (url, end), start = destination, match.end()
                    url = _unquoted(url, node.style)
                at = node.start_mark.index + start
                found.append(LocatedURL(path, url, at, node.start_mark.index + end, *self._spot(at), node))
        return sorted(found, key=lambda located: located.start)

    # -- writing ---------------------------------------------------------------

    def with_resources(
        self, additions: Mapping[str, Sequence[NewResource]], category_order: Sequence[str]
    ) -> str:
        """The text with `additions` appended to their categories (a missing category is added in configured order)."""
        text = self.text
        edits: list[tuple[int, int, str]] = []
        resources = self.value("resources")
        resources_key = self._key("resources", self.root)
        if resources_key is None:
            raise InvalidInput(
                [
                    Diagnostic(
                        self.display, 1, 1, "resources", "required field is missing; add 'resources:' first"
                    )
                ]
            )
        dash, key_offset = self._item_indent()
        # In configured order, so that two insertions at one place come out in that order too.
        wanted = sorted(
            (category for category, items in additions.items() if items),
            key=lambda category: (
                category_order.index(category) if category in category_order else len(category_order)
            ),
        )
        if isinstance(resources, MappingNode) and resources.value:
            for category in wanted:
                edits += self._into_category(
                    resources, category, additions[category], category_order, dash, key_offset
                )
        elif wanted:
            # `resources:` empty, `{}` or `~`: the categories start on the next line.
            indent = resources_key.start_mark.column + 2
            block = "".join(
                self._category_block(category, additions[category], indent, indent + dash, key_offset)
                for category in wanted
            )
            edits += self._into_empty(resources_key, resources, block, "resources")
        # From the end of the file backwards, so that earlier indexes stay true; of two edits at one place,
        # the later one first, so that the earlier one's text comes first.
        for _, (start, end, insert) in sorted(
            enumerate(edits), key=lambda edit: (edit[1][0], edit[0]), reverse=True
        ):
            text = text[:start] + insert + text[end:]
        self._read_back(text, additions)
        return text

    def with_replaced(self, replacements: Sequence[tuple[LocatedURL, str]]) -> str:
        """The text with each located URL replaced by its new URL, written the way its scalar was."""
        text = self.text
        for located, new in sorted(replacements, key=lambda pair: pair[0].start, reverse=True):
            node = located.node
            if not located.in_markdown:
                start, end = node.start_mark.index, node.end_mark.index
                quote = node.style if node.style in ("'", '"') else ""
                rendered = quote + _quoted(new, node.style) + quote if quote else scalar(new)
                text = text[:start] + rendered + text[end:]
            else:
                rendered = _quoted(link_destination(new), node.style)
                text = text[: located.start] + rendered + text[located.end :]
        self._read_back_links(text, replacements)
        return text

    def _read_back_links(self, text: str, replacements: Sequence[tuple[LocatedURL, str]]) -> None:
        """Raise unless each replaced URL reads back from `text` as the new one: a field's value, or in Markdown a
        link to it where the link to the old one was, the field's other links as they were."""
        try:
            root: Node = self._compose(text)
        except InvalidInput:
            root = MappingNode("tag:yaml.org,2002:map", [])
        wanted: dict[tuple[int | str, ...], Counter[str]] = {}
        for located, new in replacements:
            if located.in_markdown:
                links = wanted.setdefault(located.path, structure(located.node.value)[0])
                links[href(located.url)] -= 1
                links[href(new)] += 1
        if all(
            _scalar_at(root, located.path) == new for located, new in replacements if not located.in_markdown
        ) and all(structure(_scalar_at(root, path) or "")[0] == +links for path, links in wanted.items()):
            return
        raise BroadsheetError(
            f"{self.display}: could not write the new URLs without changing the rest; "
            "the file is left as it was: replace them by hand"
        )

    def reread(self) -> IssueText:
        """The file as it is now: commands read it again after the network, which takes seconds to minutes, so
        that what an editor saved meanwhile is kept."""
        return IssueText(self.path, self.display)

    def write(self, text: str) -> None:
        """Replace the file with `text`, whole: a failure on the way leaves the file as it was, and so does a
        change saved since it was read (`text` was made from what was read, and would undo it)."""
        try:
            changed = self.path.read_bytes() != self.text.encode("utf-8")
        except OSError:
            changed = False  # write_atomic says why it cannot be written
        if changed:
            raise BroadsheetError(
                f"{self.display}: changed by someone else while it was being edited; "
                "the file is left as they saved it: run the command again"
            )
        try:
            write_atomic(self.path, text.encode("utf-8"))
        except OSError as exc:
            raise BroadsheetError(
                f"{self.display}: cannot write file: {exc.strerror}; it is left as it was"
            ) from None
        self.text = text
        self.root = self._compose(text)

    def _item_indent(self) -> tuple[int, int]:
        """How this file indents resource items: the dash's column relative to its category key, and the keys' relative to the dash."""
        resources = self.value("resources")
        if isinstance(resources, MappingNode):
            for key_node, items in resources.value:
                if isinstance(items, SequenceNode) and not items.flow_style and items.value:
                    first = items.value[0]
                    dash = self.text.rfind("-", 0, first.start_mark.index)
                    dash_col = dash - (self.text.rfind("\n", 0, dash) + 1)
                    return dash_col - key_node.start_mark.column, first.start_mark.column - dash_col
        return 2, 2

    def _into_category(
        self,
        resources: MappingNode,
        category: str,
        items: Sequence[NewResource],
        order: Sequence[str],
        dash: int,
        key_offset: int,
    ) -> list[tuple[int, int, str]]:
        key_node = self._key(category, resources)
        if key_node is None:
            indent = resources.value[0][0].start_mark.column
            block = self._category_block(category, items, indent, indent + dash, key_offset)
            later = (
                [
                    k
                    for k, _ in resources.value
                    if k.value in order and order.index(k.value) > order.index(category)
                ]
                if category in order
                else []
            )
            if later:
                at = self.text.rfind("\n", 0, later[0].start_mark.index) + 1
                return [(at, at, block)]
            at = self._line_end(self._end_of(resources.value[-1][1]))
            return [(at, at, self._lead(at) + block)]
        existing = self.value(category, resources)
        indent = key_node.start_mark.column
        if isinstance(existing, SequenceNode) and existing.value:
            if existing.flow_style:
                # `[{title: ..., url: ...}]`, on one line or several: the new items follow the last one.
                at = existing.value[-1].end_mark.index
                return [(at, at, "".join(", " + self._flow_item(item) for item in items))]
            first = existing.value[0]
            dash_col = self.text.rfind("-", 0, first.start_mark.index) - (
                self.text.rfind("\n", 0, first.start_mark.index) + 1
            )
            block = "".join(self._item(item, dash_col, first.start_mark.column - dash_col) for item in items)
            at = self._line_end(self._end_of(existing))
            return [(at, at, self._lead(at) + block)]
        block = "".join(self._item(item, indent + dash, key_offset) for item in items)
        return self._into_empty(key_node, existing, block, f"resources.{category}")

    def _into_empty(
        self, key_node: ScalarNode, value: Node | None, block: str, where: str
    ) -> list[tuple[int, int, str]]:
        """Edits that put the lines of `block` in place of an empty value (nothing, `[]`, `{}`, `~`, `null`), whether
        it is written on the key's line or on a line of its own below comments (as `broadsheet new` writes it);
        every comment stays."""
        empty = (isinstance(value, SequenceNode | MappingNode) and not value.value) or (
            isinstance(value, ScalarNode) and value.tag == "tag:yaml.org,2002:null"
        )
        if value is None or not empty:
            raise InvalidInput(
                [
                    Diagnostic(
                        self.display,
                        *self._spot(key_node.end_mark.index),
                        where,
                        "cannot add here: the value is not an empty list or a list of items",
                    )
                ]
            )
        text = self.text
        start, end = value.start_mark.index, value.end_mark.index
        line_start = text.rfind("\n", 0, start) + 1
        below = self._line_end(end)
        insert = self._lead(below) + block
        if line_start == text.rfind("\n", 0, key_node.start_mark.index) + 1:
            # `key: []  # c` becomes `key:  # c`.
            cut = start
            while cut > 0 and text[cut - 1] in " \t":
                cut -= 1
            return [(cut, end, ""), (below, below, insert)]
        if not text[line_start:start].strip() and not text[end:below].strip():
            return [(line_start, below, block)]
        # `[]  # c` on a line of its own: the comment stays where it was.
        stop = end
        while stop < len(text) and text[stop] in " \t":
            stop += 1
        return [(start, stop, ""), (below, below, insert)]

    def _category_block(
        self, category: str, items: Sequence[NewResource], indent: int, dash_col: int, key_offset: int
    ) -> str:
        return (
            " " * indent
            + f"{category}:"
            + self.newline
            + "".join(self._item(item, dash_col, key_offset) for item in items)
        )

    def _item(self, item: NewResource, dash_col: int, key_offset: int) -> str:
        nl = self.newline
        first, *rest = _fields(item, flow=False)
        lines = [" " * dash_col + "-" + " " * (key_offset - 1) + first]
        lines += [" " * (dash_col + key_offset) + field for field in rest]
        return nl.join(lines) + nl

    def _flow_item(self, item: NewResource) -> str:
        return "{" + ", ".join(_fields(item, flow=True)) + "}"

    def _end_of(self, node: Node) -> int:
        """Where the last written character of `node` ends (not the blank lines and comments a block's end mark takes in)."""
        while isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
            last = node.value[-1]
            node = last[1] if isinstance(node, MappingNode) else last
        return int(node.end_mark.index)

    def _line_end(self, index: int) -> int:
        """The start of the line after `index` (a block scalar's end already is one)."""
        if index > 0 and self.text[index - 1] == "\n":
            return index
        end = self.text.find("\n", index)
        return len(self.text) if end < 0 else end + 1

    def _lead(self, at: int) -> str:
        return self.newline if at == len(self.text) and not self.text.endswith("\n") else ""

    def _read_back(self, text: str, additions: Mapping[str, Sequence[NewResource]]) -> None:
        try:
            data = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError:
            data = None
        resources = data.get("resources") if isinstance(data, dict) else None
        for category, items in additions.items():
            written = (resources.get(category) if isinstance(resources, dict) else None) or []
            expected = [_as_written(item) for item in items]
            if not items or not isinstance(written, list) or written[-len(items) :] != expected:
                raise BroadsheetError(
                    f"{self.display}: could not write the new resources under '{category}' without changing the rest; "
                    "the file is left as it was: add them by hand"
                )


def _quoted(value: str, style: str | None) -> str:
    """`value` as written inside a scalar of `style` (between single or double quotes, or plain): `_unquoted`
    read back."""
    if style == "'":
        return value.replace("'", "''")
    if style == '"':
        return json.dumps(value, ensure_ascii=False)[1:-1]
    return value


def _unquoted(written: str, style: str | None) -> str:
    """Text as written inside a quoted scalar, as its value reads: `it''s` is `it's` between single quotes, and
    escapes are undone between double quotes."""
    if style == "'":
        return written.replace("''", "'")
    if style == '"':
        try:
            value = yaml.load(f'"{written}"', Loader=_LOADER)
        except yaml.YAMLError:
            return written
        return value if isinstance(value, str) else written
    return written


def _scalar_at(root: Node, path: Sequence[int | str]) -> str | None:
    """The value of the scalar at `path` (keys as written, list indexes), None where there is none."""
    node: Node | None = root
    for step in path:
        if isinstance(node, MappingNode):
            node = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == step), None)
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return None
    return node.value if isinstance(node, ScalarNode) else None


def _fields(item: NewResource, *, flow: bool) -> list[str]:
    """`key: value` for each field of `item` that has one, in the issue format's order."""
    fields = [f"title: {scalar(item.title, flow=flow)}", f"url: {scalar(item.url, flow=flow)}"]
    if len(item.by) == 1:
        fields.append(f"by: {scalar(item.by[0], flow=flow)}")
    elif item.by:
        fields.append(f"by: [{', '.join(scalar(name, flow=True) for name in item.by)}]")
    if item.lang:
        fields.append(f"lang: {scalar(item.lang, flow=flow)}")
    return fields


def _as_written(item: NewResource) -> dict[str, object]:
    out: dict[str, object] = {"title": item.title, "url": item.url}
    if item.by:
        out["by"] = item.by[0] if len(item.by) == 1 else list(item.by)
    if item.lang:
        out["lang"] = item.lang
    return out


def scalar(value: str, *, flow: bool = False) -> str:
    """`value` as a YAML scalar: plain where YAML reads it back unchanged, else double-quoted."""
    if _plain(value, flow=flow):
        return value
    return json.dumps(value, ensure_ascii=False)


def _plain(value: str, *, flow: bool) -> bool:
    if not value or value != value.strip() or value[0] in "-?:,[]{}#&*!|>'\"%@`":
        return False
    if ": " in value or " #" in value or value.endswith(":") or (flow and any(c in value for c in ",[]{}")):
        return False
    try:
        if flow:
            return bool(yaml.safe_load(f"k: [{value}]") == {"k": [value]})
        return bool(yaml.safe_load(f"k: {value}") == {"k": value})
    except yaml.YAMLError:
        return False
