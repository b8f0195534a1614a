"""Writing into an issue file in place: new resources and corrected URLs, every other byte left as it was.

Edits are made on the text, at the places the YAML parser marks for each
node, rather than by dumping a loaded document again: comments, key order,
quoting, blank lines and folded text survive because they are never
rewritten. Each edit is read back before it is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import BroadsheetError, Diagnostic, InvalidInput
from ..schema import field_path

# libyaml marks nodes at the same character indexes as PyYAML's pure-Python parser, twenty times faster.
_LOADER: type[yaml.SafeLoader] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader  # type: ignore[assignment]
_MARKDOWN_LINK = re.compile(r"\]\(\s*<?(https?://[^\s)>]+)|<(https?://[^\s>]+)>", re.IGNORECASE)


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
    line: int
    col: int
    node: ScalarNode

    @property
    def field(self) -> str:
        return field_path(self.path)


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
        start = written if written >= 0 else node.start_mark.index
        return LocatedURL(path, node.value, start, *self._spot(start), node)

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
            for match in _MARKDOWN_LINK.finditer(written):
                group = 1 if match.group(1) else 2
                start = node.start_mark.index + match.start(group)
                found.append(LocatedURL(path, match.group(group), start, *self._spot(start), node))
        return sorted(found, key=lambda located: located.start)

    # -- writing ---------------------------------------------------------------

    def with_resources(
        self, additions: Mapping[str, Sequence[NewResource]], category_order: Sequence[str]
    ) -> str:
        """The text with `additions` appended to their categories (a missing category is added in configured order)."""
        text = self.text
        # Edits from the end of the file backwards, so that earlier indexes stay true.
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
        for category, items in additions.items():
            if not items:
                continue
            if isinstance(resources, MappingNode) and resources.value:
                edits.append(
                    self._into_category(resources, category, items, category_order, dash, key_offset)
                )
            else:
                # `resources:` empty, `{}` or `~`: the categories start on the next line.
                indent = resources_key.start_mark.column + 2
                block = self._category_block(category, items, indent, indent + dash, key_offset)
                edits.append(self._after_key(resources_key, block, merge_with=category))
        for start, end, insert in sorted(edits, key=lambda edit: edit[0], reverse=True):
            text = text[:start] + insert + text[end:]
        self._read_back(text, additions)
        return text

    def with_replaced(self, replacements: Sequence[tuple[LocatedURL, str]]) -> str:
        """The text with each located URL replaced by its new URL, written the way its scalar was."""
        text = self.text
        for located, new in sorted(replacements, key=lambda pair: pair[0].start, reverse=True):
            node = located.node
            if located.path[-1] in ("url", "src"):
                start, end = node.start_mark.index, node.end_mark.index
                rendered = {
                    "'": "'" + new.replace("'", "''") + "'",
                    '"': json.dumps(new, ensure_ascii=False),
                }.get(node.style or "", scalar(new))
                text = text[:start] + rendered + text[end:]
            else:
                text = text[: located.start] + new + text[located.start + len(located.url) :]
        self._compose(text)
        return text

    def write(self, text: str) -> None:
        self.path.write_bytes(text.encode("utf-8"))
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
    ) -> tuple[int, int, str]:
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
                return at, at, block
            at = self._line_end(self._end_of(resources.value[-1][1]))
            return at, at, self._lead(at) + block
        existing = self.value(category, resources)
        indent = key_node.start_mark.column
        if isinstance(existing, SequenceNode) and existing.value:
            if existing.flow_style:
                raise InvalidInput(
                    [
                        Diagnostic(
                            self.display,
                            *self._spot(existing.start_mark.index),
                            f"resources.{category}",
                            "the list is written in brackets; write it one item per line to add to it",
                        )
                    ]
                )
            first = existing.value[0]
            dash_col = self.text.rfind("-", 0, first.start_mark.index) - (
                self.text.rfind("\n", 0, first.start_mark.index) + 1
            )
            block = "".join(self._item(item, dash_col, first.start_mark.column - dash_col) for item in items)
            at = self._line_end(self._end_of(existing))
            return at, at, self._lead(at) + block
        block = "".join(self._item(item, indent + dash, key_offset) for item in items)
        return self._after_key(key_node, block)

    def _after_key(
        self, key_node: ScalarNode, block: str, merge_with: str | None = None
    ) -> tuple[int, int, str]:
        """Replace an empty value (`key:`, `key: []`, `key: {}`, `key: ~`) by the lines of `block`, keeping a comment after it."""
        start = key_node.end_mark.index
        end = self.text.find("\n", start)
        end = len(self.text) if end < 0 else end
        rest = self.text[start:end].rstrip("\r")
        match = re.fullmatch(r"\s*:\s*(?:\[\s*\]|\{\s*\}|~|null|Null|NULL)?(\s*#.*)?\s*", rest)
        if not match:
            where = merge_with or key_node.value
            raise InvalidInput(
                [
                    Diagnostic(
                        self.display,
                        *self._spot(start),
                        where,
                        "cannot add here: the value is not an empty list or a list of items",
                    )
                ]
            )
        stop = start + len(rest)
        return start, stop, ":" + (match.group(1) or "") + self.newline + block.removesuffix(self.newline)

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
        keys = " " * (dash_col + key_offset)
        lines = [
            " " * dash_col + "-" + " " * (key_offset - 1) + f"title: {scalar(item.title)}",
            f"{keys}url: {scalar(item.url)}",
        ]
        if len(item.by) == 1:
            lines.append(f"{keys}by: {scalar(item.by[0])}")
        elif item.by:
            lines.append(f"{keys}by: [{', '.join(scalar(name, flow=True) for name in item.by)}]")
        if item.lang:
            lines.append(f"{keys}lang: {scalar(item.lang)}")
        return nl.join(lines) + nl

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
        data = yaml.load(text, Loader=_LOADER)
        for category, items in additions.items():
            written = (data.get("resources") or {}).get(category) or []
            expected = [_as_written(item) for item in items]
            if not items or written[-len(items) :] != expected:
                raise BroadsheetError(
                    f"{self.display}: could not write the new resources under '{category}' without changing the rest; add them by hand"
                )


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
        return bool(yaml.safe_load(f"k: {value}") == {"k": value})
    except yaml.YAMLError:
        return False
