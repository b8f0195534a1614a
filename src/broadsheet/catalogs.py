"""The translators' tooling: extracting messages into `.pot`, merging `.po`, status, checks, Zawgyi conversion.

What a build reads of the catalogs at run time is in `i18n.py`, which this
module builds on; i18n imports this one only to extract the interface's
messages of a project that has no `messages.pot` yet.

Three kinds of catalog live under `locales/`, each a gettext domain:
`messages` (the templates' interface strings and the labels in settings),
`names` (organization names, shared by every issue) and `issues/<date>` (one
issue's content, paragraph by paragraph, the way Sphinx's gettext builder
does for documents).
"""

from __future__ import annotations

import codecs
import io
import itertools
import os
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.catalog import Message as BabelMessage
from babel.messages.extract import extract_from_file
from babel.messages.pofile import normalize, write_po

from . import __version__, burmese, markdown
from .atomic import write_changed
from .errors import BroadsheetError, Diagnostic, InvalidInput, Severity, errors_in
from .i18n import (
    INTERFACE,
    JOINED,
    NAMES,
    Loaded,
    blank,
    catalog_path,
    issue_domain,
    joined_versions,
    load_catalog,
    name_language,
    plural_count,
    plural_forms,
    present,
    read_catalog,
    read_catalog_file,
    shown,
    tags,
    template_path,
    texts,
    used_forms,
)
from .issue import Reading, dated_alike, issue_files, read_issue, subject_problem
from .model import Issue
from .schema import ISO_DATE, same_language, written_locale
from .settings import SETTINGS_FILE, Project, find_project

__all__ = ["INTERFACE", "NAMES", "catalog_path", "issue_domain", "plural_forms", "shown", "template_path"]

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".html", ".txt")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Message:
    """One translatable text, where it comes from, and a note for the translator."""

    id: str | tuple[str, str]
    locations: tuple[tuple[str, int], ...]
    comment: str = ""
    lang: str | None = None
    """The language of the text itself, when it is not the source language."""

    @property
    def key(self) -> str:
        return self.id if isinstance(self.id, str) else self.id[0]


def _merged(messages: Iterable[Message]) -> list[Message]:
    """Messages with the same id become one, keeping every location, in first-seen order."""
    merged: dict[str, Message] = {}
    for message in messages:
        seen = merged.get(message.key)
        if seen is None:
            merged[message.key] = message
        else:
            locations = tuple(dict.fromkeys(seen.locations + message.locations))
            comment = (
                seen.comment if message.comment in seen.comment else f"{seen.comment}; {message.comment}"
            )
            merged[message.key] = Message(seen.id, locations, comment, seen.lang)
    return list(merged.values())


# -- What there is to translate ------------------------------------------------


def issue_messages(issue: Issue) -> list[Message]:
    """The content of one issue: title, summary, image text, each paragraph, footnote and resource title."""
    source = issue.source
    found = [Message(issue.title, ((source, issue.title_line),), "title; also the email subject")]
    if issue.summary:
        found.append(
            Message(issue.summary, ((source, issue.summary_line),), "summary; also the inbox preview")
        )
    if issue.image:
        found.append(
            Message(
                issue.image.alt,
                ((source, issue.image.alt_line),),
                "image description for people who cannot see it",
            )
        )
    for number, paragraph in enumerate(issue.paragraphs, 1):
        found.append(
            Message(
                paragraph.markdown,
                ((source, paragraph.line),),
                f"editorial paragraph {number}; keep Markdown markup, links and footnote references like [^1]",
            )
        )
    for note in issue.footnotes:
        found.append(Message(note.markdown, ((source, note.line),), f"footnote {note.number}"))
    for category in issue.categories:
        for resource in category.resources:
            found.append(
                Message(
                    resource.title,
                    ((source, resource.line),),
                    f"title of a linked item ({category.key})",
                    resource.lang,
                )
            )
    return _merged(found)


def name_messages(
    sources: Iterable[Issue | Sequence[Message]], project: Project | None = None
) -> list[Message]:
    """Authors and the organizations behind resources, each name once; with `project`, first the publisher's
    name in its settings, which every edition shows (masthead, footer, feed) whether or not an issue names it,
    and an author taken from the settings is located on its line there.

    A source is an issue, or the names an issue file gave when it last read without errors (as `names.pot`
    holds them), in its place among the issues, so that a file with errors keeps their order too."""
    settings_text = _settings_text(project) if project else ""
    found = []
    if project:
        name = project.settings.organization.name
        where = (SETTINGS_FILE, _line_of(settings_text, name))
        found.append(_name_message(name, (where,), project.settings.source_locale))
    for issue in sources:
        if not isinstance(issue, Issue):
            found += issue
            continue
        where = (
            (issue.source, issue.author_line)
            if issue.author_line
            else (SETTINGS_FILE, _line_of(settings_text, issue.author) if project else 0)
        )
        found.append(_name_message(issue.author, (where,), issue.locale))
        found += [
            _name_message(name, ((issue.source, resource.line),), issue.locale)
            for resource in issue.resources
            for name in resource.by
        ]
    return _merged(found)


def _name_message(name: str, locations: tuple[tuple[str, int], ...], source: str) -> Message:
    """The message of one organization name, marked with its language when that is not `source` (a name written
    in Burmese, `#. lang: my`), so that `catalog update` leaves it out of that language's catalog as it leaves
    out a title written in it, and offers it to the others' for a transliteration."""
    written = name_language(name, source)
    return Message(name, locations, "organization name", None if same_language(written, source) else written)


def _settings_text(project: Project) -> str:
    path = project.root / SETTINGS_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def interface_messages(project: Project) -> list[Message]:
    """Strings of the templates, and the labels the templates take from the settings."""
    found: list[Message] = []
    root = project.root
    for path in sorted(project.templates_dir.rglob("*")):
        if not path.is_file() or path.suffix not in TEMPLATE_SUFFIXES:
            continue
        shown = path.relative_to(root).as_posix()
        for line, text, _comments, _context in extract_from_file(
            "jinja2.ext:babel_extract", path, options={"trim_blocks": "true", "lstrip_blocks": "true"}
        ):
            ids = text if isinstance(text, tuple) else (text,)
            if all(ids):
                found.append(Message(ids[0] if len(ids) == 1 else (ids[0], ids[1]), ((shown, line),)))
    settings_text = _settings_text(project)
    settings = project.settings
    for label in settings.categories.values():
        found.append(
            Message(label, ((SETTINGS_FILE, _line_of(settings_text, label)),), "resource category heading")
        )
    for link in settings.organization.links:
        found.append(
            Message(link.label, ((SETTINGS_FILE, _line_of(settings_text, link.label)),), "footer link")
        )
    return _merged(found)


def _line_of(text: str, value: str) -> int:
    index = text.find(value)
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


# -- Writing templates ---------------------------------------------------------


def _template(messages: Sequence[Message], domain: str) -> Catalog:
    catalog = Catalog(
        project="broadsheet",
        version=__version__,
        domain=domain,
        fuzzy=False,
        creation_date=_EPOCH,
        revision_date=_EPOCH,
        header_comment=f"# Translations template for broadsheet ({domain}).\n# Written by `broadsheet catalog extract`; do not edit.",
    )
    for message in messages:
        comments = [message.comment] if message.comment else []
        if message.lang:
            comments.append(f"lang: {message.lang}")
        catalog.add(message.id, locations=message.locations, auto_comments=comments)
    if domain != INTERFACE:
        _not_formatted(catalog)
    return catalog


def _not_formatted(catalog: Catalog) -> None:
    """Content is no format string, whatever `%` it holds: without the `python-format` flag that Babel gives any
    text with "% i" in it ("40% in a year"), a translator's editor does not ask for placeholders it has not."""
    for message in [*catalog, *catalog.obsolete.values()]:
        message.flags.discard("python-format")


_WIDTH = 76
_LONG_WORD = re.compile(r"(?<!\w)\w{1000}")
"""A run of letters and digits that Babel's wrapping cannot take: its word splitting takes time quadratic in
the run's length (measured: 1 s for 10,000 letters, 15 s for 40,000, hours for a line of 1 MB). A catalog
holding one is written unwrapped, each line of a text on one line, as a long run is never broken anyway."""
_MARKED = re.compile(rb'^#\| msgid "\x01(\d+)"\n', re.M)


def _po_text(catalog: Catalog, *, history: bool = False, width: int = _WIDTH) -> bytes:
    """`catalog` as a .po file, wrapped at `width` (0: not wrapped); with `history`, the obsolete messages (`#~`)
    and the previous msgid of each fuzzy one (`#|`), as GNU gettext writes them.

    Babel's writer wraps a previous msgid as a comment, which joined a long one's lines into `#| msgid "" "As
    2023...` with its strings cut anywhere: a file that neither Babel nor msgfmt could read again. It writes a
    mark in its place here, which is replaced by the msgid written as a msgid is.
    """
    texts_written = (
        text
        for message in [*catalog, *catalog.obsolete.values()]
        for value in (message.id, message.string, message.previous_id)
        for text in texts(value)
    )
    if width and any(_LONG_WORD.search(text) for text in texts_written):
        width = 0
    previous = []
    if history:
        for message in catalog:
            if message.previous_id:
                previous.append(message.previous_id)
                message.previous_id = [f"\x01{len(previous) - 1}"]
    buffer = io.BytesIO()
    try:
        write_po(
            buffer,
            catalog,
            width=width,
            omit_header=False,
            include_previous=history,
            ignore_obsolete=not history,
        )
    finally:
        for message in catalog:
            if message.previous_id and message.previous_id[0].startswith("\x01"):
                message.previous_id = previous[int(message.previous_id[0][1:])]

    def written(mark: re.Match[bytes]) -> bytes:
        ids = previous[int(mark.group(1))]
        # Wrapped to the width less the prefix: `normalize` counts a prefix once for every word.
        lines = [
            f"#| {line}\n"
            for keyword, text in zip(("msgid", "msgid_plural"), ids, strict=False)
            for line in f"{keyword} {normalize(text, width=width and width - 3)}".split("\n")
        ]
        return "".join(lines).encode(catalog.charset, "backslashreplace")

    return _MARKED.sub(written, buffer.getvalue())


_DATE_HEADER = re.compile(rb'^"(?:POT-Creation-Date|PO-Revision-Date): [^\r\n]*\\n"\r?\n', re.M)


def _write_if_changed(path: Path, content: bytes) -> bool:
    """Write `content` unless the file already says the same, dates aside; True when written."""
    return write_changed(path, content, ignoring=lambda text: _DATE_HEADER.sub(b"", text))


@dataclass(frozen=True)
class Written:
    path: Path
    changed: bool
    note: str = ""
    """What `catalog update` did to translations already written, for the translator to know (`_merged_note`)."""


def extract(project: Project, paths: Sequence[Path] = ()) -> tuple[list[Written], list[Diagnostic]]:
    """Write `messages.pot`, `names.pot` and `issues/<date>.pot` for the issues at `paths` (default: all).

    `names.pot` always covers every issue under `issues/`: those that read without errors give their names as
    they are now; one with errors (next week's skeleton from `broadsheet new`) gives none, and keeps those it
    gave when it last read without errors, so that no translated name turns obsolete for a typo; a warning at
    that file says so. (It once waited on every issue, and this week's names never reached the translators.)
    """
    everything = issue_files(project.issues_dir)
    chosen = list(paths) or everything
    # In the folder's order, whichever are named: names.pot followed the command line, and changed with it.
    readings = {
        path.resolve(): read_issue(path, project.settings, shown(project, path.resolve()))
        for path in [*everything, *chosen]
    }
    diagnostics = [d for reading in readings.values() for d in reading.diagnostics]
    # Two issues of one date would write one template, the second over the first.
    repeated = dated_alike([r.issue for r in readings.values() if r.issue is not None])
    diagnostics += repeated
    failed = {d.path for d in errors_in(diagnostics)}
    chosen_issues = [
        issue
        for path in chosen
        if (issue := readings[path.resolve()].issue) is not None and issue.source not in failed
    ]
    names, left_out = _names(project, readings, failed)
    diagnostics += left_out
    plan: list[tuple[str, list[Message]]] = [(INTERFACE, interface_messages(project)), (NAMES, names)]
    plan += [(issue_domain(issue), issue_messages(issue)) for issue in chosen_issues]
    results = []
    for domain, messages in plan:
        path = template_path(project, domain)
        held = translations_in_template(project, path, Severity.ERROR)
        if held:
            diagnostics += held
            continue
        results.append(Written(path, _write_if_changed(path, _po_text(_template(messages, domain)))))
    return results, diagnostics


# A msgstr with text after the header's: a template (.pot) holds none, unless someone translated in it.
_WRITTEN_MSGSTR = re.compile(rb'\n\s*msgstr(?:\[\d+\])?\s*"(?:[^"\r\n]|""\r?\n\s*")')


def translations_in_template(project: Project, path: Path, severity: Severity) -> list[Diagnostic]:
    """A diagnostic at the first translation written in the template at `path`, if any: a translator who opened
    the `.pot` in a text editor, or saved a `.po` over it. broadsheet reads translations from the locales'
    catalogs alone, and `catalog extract` rewrote the template without them, without a word."""
    try:
        raw = path.read_bytes() if path.is_file() else b""
    except OSError:
        return []
    header = raw.find(b"\n\n")
    if header < 0 or not _WRITTEN_MSGSTR.search(raw, header):
        return []
    try:
        loaded = load_catalog(path, shown(project, path))
    except InvalidInput:
        return []
    written = [m for m in loaded.catalog if m.id and _translated(m)]
    if not written:
        return []
    domain = path.relative_to(project.locales_dir).with_suffix("").as_posix()
    locales = project.settings.locales[1:]
    target = shown(project, catalog_path(project, locales[0] if len(locales) == 1 else "<locale>", domain))
    count = f"{len(written)} translation{'s' * (len(written) != 1)}"
    held = (
        f"not rewritten, as it holds {count}"
        if severity is Severity.ERROR
        else f"this template holds {count}, and catalog extract will not rewrite it while it does"
    )
    return [
        Diagnostic(
            shown(project, path),
            loaded.msgstr_line(written[0].lineno),
            0,
            "msgstr",
            f"{held}: broadsheet reads none from a template; they go in {target}, which `broadsheet catalog "
            "update` makes: copy them there, then empty the template's msgstr lines",
            severity,
        )
    ]


def _names(
    project: Project, readings: dict[Path, Reading], failed: set[str]
) -> tuple[list[Message], list[Diagnostic]]:
    """The messages of `names.pot`: the names of each issue read that has no errors, and for each one that has
    (its file in `failed`), the names `names.pot` holds from it, with a warning at it."""
    template = template_path(project, NAMES)
    held = _read(project, template) if failed and template.is_file() else Catalog()
    source = project.settings.source_locale
    sources: list[Issue | Sequence[Message]] = []
    warnings = []
    for path, reading in readings.items():
        display = shown(project, path)
        if display not in failed:
            if reading.issue is not None:
                sources.append(reading.issue)
            continue
        kept = [
            _name_message(texts(message.id)[0], located, source)
            for message in held
            if message.id
            if (located := tuple((file, line) for file, line in message.locations if file == display))
        ]
        sources.append(kept)
        also = f"; the {len(kept)} it gave when it last read without errors are kept" if kept else ""
        warnings.append(
            Diagnostic(
                display,
                0,
                0,
                "",
                f"its names are left out of {shown(project, template)} until its errors are fixed{also}",
                Severity.WARNING,
            )
        )
    return name_messages(sources, project), warnings


# -- Updating translations -------------------------------------------------------


def _read(project: Project, path: Path, locale: str | None = None) -> Catalog:
    """A catalog of its own, to change and write back; InvalidInput, located, when it cannot be read."""
    return read_catalog(path, locale, shown(project, path))[0]


def _read_as_written(project: Project, path: Path, locale: str | None = None) -> tuple[Catalog, Layout]:
    """As `_read`, and how the file is written, to write it back so."""
    catalog, lines, raw = read_catalog_file(path, locale, shown(project, path))
    return catalog, layout_of(raw, lines, catalog)


# -- Writing a translator's catalog back as it was written ------------------------------


@dataclass(frozen=True)
class HeaderField:
    """One line of a catalog's header (`Name: value`), as written, and the line of the file it starts on."""

    line: int
    text: str

    @property
    def name(self) -> str:
        return self.text.partition(":")[0].strip()

    @property
    def value(self) -> str:
        return self.text.partition(":")[2].strip()


@dataclass(frozen=True)
class Header:
    """The header entry (`msgid ""`) of a catalog file: its lines, from its first comment to its msgstr's last
    string (0-based, end excluded), where its msgid is, and its fields as written."""

    start: int
    msgid: int
    end: int
    fields: tuple[HeaderField, ...]


def header_of(lines: Sequence[str]) -> Header | None:
    """The header entry of a catalog's `lines` (as `read_catalog` gives them), or None when it has none: the
    first entry, with an empty msgid and no context."""
    from babel.messages.pofile import unescape

    start = 0
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            start = number + 1
            continue
        if stripped.startswith("#"):
            continue
        if stripped != 'msgid ""' or number + 1 >= len(lines) or not lines[number + 1].startswith("msgstr "):
            return None
        strings = [(number + 2, lines[number + 1][len("msgstr ") :].strip())]
        end = number + 2
        while end < len(lines) and lines[end].strip().startswith('"'):
            strings.append((end + 1, lines[end].strip()))
            end += 1
        fields: list[HeaderField] = []
        text, begun = "", 0
        for string_line, string in strings:
            for piece in re.split(r"(?<=\n)", unescape(string)):
                if piece and not text:
                    begun = string_line
                text += piece
                if text.endswith("\n"):
                    fields.append(HeaderField(begun, text[:-1]))
                    text = ""
        if text:
            fields.append(HeaderField(begun, text))
        return Header(start, number, end, tuple(fields))
    return None


_OWNED = ("Plural-Forms", "Content-Type")
"""The header fields `catalog update` writes whatever a catalog says, as broadsheet needs them so (its
language's plural forms, the charset the file is written in), and adds to a catalog that lacks them."""


def _header_text(fields: Sequence[HeaderField], catalog: Catalog) -> tuple[str, ...]:
    """The header lines to write: the catalog's own, in its order, but for the fields broadsheet owns (`_OWNED`)
    and the template's POT-Creation-Date (as msgmerge writes it), taken from `catalog` when they say another
    thing. Fields that Babel does not know (`X-Generator`, `X-Poedit-*`, `X-Crowdin-*`) and an empty `Language`
    are kept, as the translator's tool writes them back at each save."""
    from babel.messages.catalog import parse_separated_header

    ours = {name.lower(): value.strip() for name, value in catalog.mime_headers}
    written, seen = [], set()
    for field in fields:
        name = field.name.lower()
        seen.add(name)
        value, wanted = field.value, ours.get(name)
        differs = wanted is not None and (
            (name == "plural-forms" and " ".join(value.split()) != " ".join(wanted.split()))
            or (
                name == "content-type"
                and parse_separated_header(value).get("charset", "").lower() != catalog.charset
            )
            or (name == "pot-creation-date" and value != wanted)
        )
        written.append(f"{field.name}: {wanted}" if differs else field.text)
    written += [f"{name}: {ours[name.lower()]}" for name in _OWNED if name.lower() not in seen]
    return tuple(written)


_TOOLS_WIDTH = 79
"""The width GNU gettext (msgmerge, msgcat) and Poedit wrap at: their lines are at most this long."""


def _width_of(lines: Sequence[str]) -> int:
    """The width at which Babel's writer wraps the way `lines` are wrapped, as far as they tell from their
    strings of ASCII text (a tool counts Burmese in columns, Babel in characters): wide enough for the longest
    line that a wrapping broke, and never narrower than broadsheet's own; 0 (not wrapped) when none was broken
    though some line is longer than any tool wraps at."""
    strings = [line.isascii() and line.lstrip("#~| ").startswith(('"', "msg")) for line in lines]
    broken = [
        len(line)
        for (line, after), string, follows in zip(
            itertools.pairwise(lines), strings, strings[1:], strict=False
        )
        if string and follows and after.lstrip("#~| ").startswith('"') and not line.endswith(('\\n"', '""'))
    ]
    if broken:
        return max(_WIDTH, max(broken) + 1)
    if any(
        string and len(line) > _TOOLS_WIDTH + 1 and " " in line
        for line, string in zip(lines, strings, strict=True)
    ):
        return 0
    return _WIDTH


_Key = tuple[tuple[str, ...], str | None, bool]
"""A message's msgid (and plural), context, and whether it is obsolete."""


@dataclass(frozen=True)
class Layout:
    """How a catalog file is written, for `catalog update` to write it back so: with its own line ends (CRLF
    from Windows), byte-order mark, wrapping width and header fields, and each entry it leaves as it was in the
    lines it was written in (Poedit wraps as GNU gettext does, not as Babel's writer does), so that the diff
    of an update holds what it changed, not the whole file."""

    newline: str
    bom: bool
    ending: int
    """How many line ends the file ends with (Babel's writer leaves a blank line at the end, GNU gettext none)."""
    width: int
    header: Header | None
    header_lines: tuple[str, ...]
    """The lines of the header entry, as written."""
    entries: dict[_Key, tuple[str, tuple[str, ...]]]
    """Each message and obsolete one, by its key, as Babel writes it unwrapped, and its lines in the file."""


def _entries(catalog: Catalog) -> list[_Key]:
    """The key of each entry of `catalog` in the order Babel writes them: messages, then obsolete ones."""
    return [(texts(m.id), m.context, False) for m in list(catalog)[1:]] + [
        (texts(m.id), m.context, True) for m in catalog.obsolete.values()
    ]


def _blocks(text: str) -> list[str]:
    """The entries of a .po file as Babel writes it, one block each, header first."""
    return text.rstrip("\n").split("\n\n")


def layout_of(raw: bytes, lines: Sequence[str], catalog: Catalog) -> Layout:
    """The `Layout` of a catalog file: its bytes, its lines and the catalog read from them (not yet changed)."""
    newline = "\r\n" if b"\r\n" in raw else "\r" if b"\r" in raw else "\n"
    header = header_of(lines)
    # Each entry's own lines, when the file is one entry to each group of lines between blank lines, as every
    # tool writes it; otherwise (two entries without a blank line between them) the whole file is written anew.
    groups: list[tuple[int, int]] = []
    for number, line in enumerate(lines):
        if line.strip() and (number == 0 or not lines[number - 1].strip()):
            groups.append((number, number))
        if line.strip():
            groups[-1] = (groups[-1][0], number + 1)
    keys = _entries(catalog)
    starts = [m.lineno for m in list(catalog)[1:]] + [m.lineno for m in catalog.obsolete.values()]
    if header is not None:
        groups = [group for group in groups if group[0] >= header.end]
    entries = {}
    if len(groups) == len(keys) and all(
        start <= (lineno or 0) - 1 < end for (start, end), lineno in zip(groups, starts, strict=True)
    ):
        canonical = _blocks(_po_text(catalog, history=True, width=0).decode(catalog.charset))[1:]
        if len(canonical) == len(keys):
            entries = {
                key: (written, tuple(lines[start:end]))
                for key, written, (start, end) in zip(keys, canonical, groups, strict=True)
            }
    header_lines = tuple(lines[header.start : header.end]) if header else ()
    ending = len(lines) - len("\n".join(lines).rstrip("\n").split("\n"))
    return Layout(
        newline, raw.startswith(codecs.BOM_UTF8), ending, _width_of(lines), header, header_lines, entries
    )


def _po_text_as(catalog: Catalog, layout: Layout | None) -> bytes:
    """`catalog` as a .po file with its history, written as `layout` says its file was (see `Layout`), or as
    broadsheet writes a new one when it is None."""
    if layout is None:
        return _po_text(catalog, history=True)
    written = _blocks(_po_text(catalog, history=True, width=layout.width).decode(catalog.charset))
    canonical = _blocks(_po_text(catalog, history=True, width=0).decode(catalog.charset))
    keys = _entries(catalog)
    if len(written) != len(keys) + 1 or len(canonical) != len(written):
        return _po_text(catalog, history=True, width=layout.width)
    blocks = [_header_block(catalog, layout, written[0])]
    for key, block, same in zip(keys, written[1:], canonical[1:], strict=True):
        was = layout.entries.get(key)
        blocks.append("\n".join(was[1]) if was is not None and was[0] == same else block)
    text = "\n\n".join(blocks) + "\n" * layout.ending
    return (("\ufeff" if layout.bom else "") + text.replace("\n", layout.newline)).encode(catalog.charset)


def _header_block(catalog: Catalog, layout: Layout, written: str) -> str:
    """The header entry to write: the file's own, with its comments and the fields broadsheet does not own kept
    as they are (`_header_text`); Babel's, `written`, when the file has none."""
    from babel.messages.pofile import normalize

    header = layout.header
    if header is None:
        return written
    lines = list(layout.header_lines[: header.msgid - header.start])
    fields = _header_text(header.fields, catalog)
    if fields == tuple(field.text for field in header.fields):
        lines += layout.header_lines[header.msgid - header.start :]
    else:
        text = "".join(f"{field}\n" for field in fields)
        lines += ['msgid ""', f"msgstr {normalize(text, width=layout.width)}"]
    return "\n".join(lines)


def _set_plural_forms(catalog: Catalog, locale: str) -> None:
    catalog.mime_headers = [("Plural-Forms", plural_forms(locale))]


def _keep_lang(template: Catalog, locale: str, respelled: Collection[str] = ()) -> Catalog:
    """`template` without the messages that are already in `locale`'s language (a Burmese title, marked `my` or
    `my_MM`, for `my`; a name written in Burmese, `_name_message`), but for those in `respelled`, whose
    translation a translator already wrote (`_respelled`)."""
    kept = Catalog(
        domain=template.domain,
        project=template.project,
        version=template.version,
        fuzzy=False,
        creation_date=_EPOCH,
    )
    for message in template:
        written_in = [
            comment.removeprefix("lang: ")
            for comment in message.auto_comments
            if comment.startswith("lang: ")
        ]
        if message.id and (
            texts(message.id)[0] in respelled or not any(same_language(lang, locale) for lang in written_in)
        ):
            kept[message.id] = message
    return kept


def _respelled(domain: str, catalog: Catalog | None) -> set[str]:
    """The names that `catalog`, a locale's `names.po`, translates (fuzzy or not): one already in the locale's
    language is no longer offered to it, but a translation written for it (a respelling, or one written before it
    was left out) is kept, and used by the build, rather than made obsolete by `catalog update`."""
    if domain != NAMES or catalog is None:
        return set()
    return {texts(message.id)[0] for message in catalog if message.id and _translated(message)}


def _translated(message: BabelMessage) -> bool:
    return not all(map(blank, texts(message.string)))


def _revive(catalog: Catalog, template: Catalog) -> None:
    """Take back from the obsolete messages (`#~`) each translation `template` asks for again, unless the catalog
    already translates it, as GNU msgmerge does. Babel's merge matches only the messages in use: a paragraph the
    editor deleted and then restored got an empty translation, its old one left below as `#~`."""
    for key, message in list(catalog.obsolete.items()):
        if not _translated(message) or template.get(message.id, message.context) is None:
            continue
        active = catalog.get(message.id, message.context)
        if active is not None:
            if _translated(active):
                continue
            catalog.delete(message.id, message.context)
        del catalog.obsolete[key]
        catalog[message.id] = message


def _follow_rewrapping(catalog: Catalog, template: Catalog) -> None:
    """Give a translation of an issue's text the msgid of its text re-wrapped: the template's, with the same
    words between other line breaks and spaces, rendered alike (an editor's fill-paragraph, `|` made `>`).
    Its msgid changed, and the translation was made a draft, English shown until revised, for a change no
    reader sees; a hard line break or a list made by the new lines still makes it fuzzy."""
    wanted: dict[tuple[str, ...], list[str]] = {}
    for message in template:
        if isinstance(message.id, str) and message.id and message.id not in catalog:
            wanted.setdefault(tuple(message.id.split()), []).append(message.id)
    for message in list(catalog) if wanted else ():
        was = message.id
        if not isinstance(was, str) or message.context or message.fuzzy or not _translated(message):
            continue
        for now in wanted.get(tuple(was.split()), ()):
            if now not in catalog and was not in template and _rendered(now) == _rendered(was):
                catalog.delete(was)
                message.id = now
                catalog[now] = message
                break


def _rendered(text: str) -> str:
    return " ".join(markdown.to_html(text, {}).split())


def _merge(catalog: Catalog, template: Catalog) -> None:
    """Merge `template` into `catalog` as GNU msgmerge does, keeping what a fuzzy message was translated from
    and taking back an obsolete translation of a message asked for again (`_revive`).

    Babel's merge forgets the previous msgid of a message that was fuzzy already, and gives one edited twice
    the msgid it had in between, whose text the translation never was.
    """
    _revive(catalog, template)
    was = {(texts(m.id), m.context): m.previous_id for m in catalog if m.id and m.fuzzy and m.previous_id}
    catalog.update(template, update_header_comment=False)
    for message in catalog:
        if not message.fuzzy:
            continue
        key = (texts(message.previous_id or message.id), message.context)
        if key in was:
            message.previous_id = list(was[key])


def update(project: Project, locales: Sequence[str]) -> list[Written]:
    """Create or merge `<locale>/LC_MESSAGES/<domain>.po` from every `.pot` under `locales/`.

    An edited message becomes fuzzy with its old translation kept for the
    translator; a message gone from the template becomes obsolete (`#~`).
    """
    results = []
    for template_file in _templates(project):
        domain = template_file.relative_to(project.locales_dir).with_suffix("").as_posix()
        template = _read(project, template_file)
        for locale in locales:
            path = catalog_path(project, locale, domain)
            layout, note = None, ""
            if present(path):
                catalog, layout = _read_as_written(project, path, locale)
                # Written back in UTF-8, whatever legacy charset it declared: in ISO-8859-1 a new msgid such as
                # "“Aid” falls" was written "\u201cAid\u201d falls", which neither Babel nor msgfmt reads back
                # as the text it stands for, so its translation was never used.
                catalog.charset = "utf-8"
                before = {_key(m): m.fuzzy for m in catalog if m.id and _translated(m)}
                wanted = _keep_lang(template, locale, _respelled(domain, catalog))
                if domain not in (INTERFACE, NAMES):
                    _follow_rewrapping(catalog, wanted)
                _merge(catalog, wanted)
                note = _merged_note(before, catalog)
                if layout.header is None:
                    _new_header(catalog, locale, domain)
            else:
                catalog = Catalog(locale=locale, domain=domain, creation_date=_EPOCH)
                _new_header(catalog, locale, domain)
                catalog.update(_keep_lang(template, locale))
            _set_plural_forms(catalog, locale)
            if domain != INTERFACE:
                _not_formatted(catalog)
            results.append(Written(path, _write_if_changed(path, _po_text_as(catalog, layout)), note))
    return results


def _new_header(catalog: Catalog, locale: str, domain: str) -> None:
    """Give `catalog` the header of a new catalog, as for a translator's file that has none (an empty file, or
    one written by hand), where Babel gave its own, marked fuzzy, with 'PROJECT VERSION' and a copyright of the
    year it was written, which changed the file every January."""
    catalog.project, catalog.version, catalog.fuzzy = "broadsheet", __version__, False
    catalog.revision_date = _EPOCH
    catalog.header_comment = f"# {Locale.parse(locale).english_name} translations of broadsheet ({domain})."


def _templates(project: Project) -> list[Path]:
    """The `.pot` files: the shared ones in `locales/`, then those of the issues in `locales/issues/`."""
    return sorted(project.locales_dir.glob("*.pot")) + sorted((project.locales_dir / "issues").glob("*.pot"))


def _key(message: BabelMessage) -> tuple[str, str | None]:
    return texts(message.id)[0], message.context


def _merged_note(before: dict[tuple[str, str | None], bool], catalog: Catalog) -> str:
    """How many of the translations `before` (each message's, by key: whether it was fuzzy) the merge made fuzzy,
    for a translator to revise, or obsolete: a rewritten or deleted paragraph's translation went to the `#~`
    lines at the file's end with nothing said but `wrote`."""
    fuzzy = sum(m.fuzzy and _translated(m) and not before.get(_key(m), False) for m in catalog if m.id)
    obsolete = sum(_translated(m) and _key(m) in before for m in catalog.obsolete.values())
    said = ((fuzzy, "now fuzzy, to revise"), (obsolete, "made obsolete, kept as #~ at the end"))
    return "; ".join(f"{n} translation{'s' * (n != 1)} {what}" for n, what in said if n)


# -- Status ----------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogStatus:
    locale: str
    domain: str
    catalog: str
    translated: int = 0
    fuzzy: int = 0
    untranslated: int = 0
    translated_words: int = 0
    fuzzy_words: int = 0
    untranslated_words: int = 0
    not_extracted: int = 0
    """Of the untranslated, messages an issue has as it is now that the template lacks (or the template is
    missing): written or changed since `catalog extract` last ran."""

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "locale": self.locale,
            "domain": self.domain,
            "catalog": self.catalog,
            "messages": {
                "translated": self.translated,
                "fuzzy": self.fuzzy,
                "untranslated": self.untranslated,
                "total": self.total,
            },
            "words": {
                "translated": self.translated_words,
                "fuzzy": self.fuzzy_words,
                "untranslated": self.untranslated_words,
            },
            "percent": round(self.percent, 1),
        }


def _words(message: BabelMessage) -> int:
    return len(texts(message.id)[0].split())


def _state(message: BabelMessage, locale: str) -> str:
    if used_forms(message.id, message.string, locale) is None:
        return "untranslated"
    return "fuzzy" if message.fuzzy else "translated"


def status(project: Project, locale: str, domain: str, now: Sequence[Message] = ()) -> CatalogStatus:
    """How much of `domain` is translated into `locale`: the template's messages, and those of `now` (an issue's
    as it is now) that the template lacks, which a build shows in English and so count as untranslated. The
    preview's table said 100% of `names` while the build above it said a name was untranslated."""
    pot = template_path(project, domain)
    template = _read(project, pot) if pot.is_file() else Catalog(domain=domain)
    since = [message for message in _template(now, domain) if message.id and message.id not in template]
    for message in since:
        template[message.id] = message
    path = catalog_path(project, locale, domain)
    catalog = _read(project, path, locale) if present(path) else None
    wanted = _keep_lang(template, locale, _respelled(domain, catalog))
    counts: Counter[str] = Counter()
    for message in wanted:
        if not message.id:
            continue
        found = catalog.get(message.id) if catalog else None
        state = _state(found, locale) if found is not None else "untranslated"
        counts[state] += 1
        counts[f"{state}_words"] += _words(message)
    counts["not_extracted"] = sum(message.id in wanted for message in since)
    return CatalogStatus(locale, domain, shown(project, path), **counts)


def issue_status(project: Project, issue: Issue) -> list[CatalogStatus]:
    """Status of the catalogs `issue` is built with (messages, names and its own), for every locale but the
    source, counting the issue as it is now: what `catalog status ISSUE` prints and the preview shows, agreeing
    with what the build says is untranslated, extracted or not."""
    if not project.settings.locales[1:]:
        return []  # a project in one language has no catalog: nothing to extract for one
    interface = [] if template_path(project, INTERFACE).is_file() else interface_messages(project)
    wanted = (
        (INTERFACE, interface),
        (NAMES, name_messages([issue], project)),
        (issue_domain(issue), issue_messages(issue)),
    )
    return [
        status(project, locale, domain, now)
        for locale in project.settings.locales[1:]
        for domain, now in wanted
    ]


def status_report(project: Project, issue_path: Path | None = None) -> list[CatalogStatus]:
    """Status of every catalog (or those of one issue, as `issue_status`) for every locale but the source."""
    if issue_path is not None:
        reading = read_issue(issue_path, project.settings)
        if reading.issue is None:
            raise InvalidInput(reading.diagnostics)
        return issue_status(project, reading.issue)
    domains = [INTERFACE, NAMES] + [
        p.relative_to(project.locales_dir).with_suffix("").as_posix()
        for p in sorted((project.locales_dir / "issues").glob("*.pot"))
    ]
    missing = [template_path(project, d) for d in domains if not template_path(project, d).is_file()]
    if missing:
        raise BroadsheetError(
            f"no template {shown(project, missing[0])}; run `broadsheet catalog extract` first"
        )
    return [status(project, locale, domain) for locale in project.settings.locales[1:] for domain in domains]


def extract_warnings(project: Project, statuses: Iterable[CatalogStatus]) -> list[Diagnostic]:
    """A warning at each template that lacks messages an issue has (`not_extracted`), once per template."""
    said = {}
    for row in statuses:
        if row.not_extracted and row.domain not in said:
            pot = template_path(project, row.domain)
            lacks = (
                f"{row.not_extracted} of the issue's messages are not in it yet"
                if pot.is_file()
                else f"not written yet, so none of the issue's {row.not_extracted} messages is in it"
            )
            said[row.domain] = Diagnostic(
                shown(project, pot),
                0,
                0,
                "",
                f"{lacks}: counted untranslated; run `broadsheet catalog extract`, then `broadsheet catalog update`",
                Severity.WARNING,
            )
    return list(said.values())


def header_warnings(project: Project, statuses: Iterable[CatalogStatus]) -> list[Diagnostic]:
    """The warnings `check` gives at the headers of the catalogs that `statuses` count (a Plural-Forms giving
    another number of forms than the language has, a Language naming another language, a header msgcat joined),
    for `catalog status` to say them where a translator looks at their catalogs, and not only where an editor
    builds."""
    return [
        diagnostic
        for row in statuses
        if present(path := catalog_path(project, row.locale, row.domain))
        for diagnostic in _plural_header(project, path, row.locale)
        + _header_problems(project, path, row.locale)
    ]


_DOMAIN = re.compile(rf"{INTERFACE}|{NAMES}|issues/{ISO_DATE.pattern}")


def stray_catalogs(project: Project) -> list[Diagnostic]:
    """A warning for each `.po` file under `locales/` that broadsheet never reads, saying what it expected: a
    translator's file named as another tool names it (`my_MM/`, `my.po`) did nothing, without a word; and for
    each `.mo` file without its `.po` (a translator sent the compiled catalog alone)."""
    settings = project.settings
    found = []
    for path in _catalog_files(project.locales_dir):
        if path.suffix == ".mo":
            # Poedit writes one beside each .po it saves; alone, a translator sent what broadsheet cannot read.
            if not path.with_suffix(".po").exists():
                source = shown(project, path.with_suffix(".po"))
                problem = (
                    "a compiled catalog, which broadsheet does not read: it reads the .po file it was compiled "
                    f"from, {source}; put that there (or write one from this: msgunfmt {shown(project, path)} "
                    f"-o {source})"
                )
                found.append(Diagnostic(shown(project, path), 0, 0, "", problem, Severity.WARNING))
            continue
        parts = path.relative_to(project.locales_dir).parts
        meant = _meant_domain(path.name)
        if len(parts) < 3 or parts[1] != "LC_MESSAGES":
            if parts[0] in settings.locales[1:] and meant:
                expected = shown(project, catalog_path(project, parts[0], meant))
            elif parts[0] in settings.locales[1:]:
                expected = f"locales/{parts[0]}/LC_MESSAGES/{Path(*parts[1:]).as_posix()}"
            else:
                expected = (
                    f"locales/<locale>/LC_MESSAGES/{'issues/<date>.po' if 'issues' in parts else path.name}"
                )
            problem = f"not where broadsheet reads a catalog: expected {expected}"
        elif parts[0] == settings.source_locale:
            problem = f"{parts[0]} is the source language: its catalogs are not read"
        elif parts[0] not in settings.locales:
            problem = f"locale {parts[0]!r} is not configured, so its catalogs are not read; " + _meant(
                parts[0], settings.locales[1:]
            )
        elif not _DOMAIN.fullmatch(Path(*parts[2:]).with_suffix("").as_posix()):
            problem = "not a catalog broadsheet reads: expected messages.po, names.po or issues/<date>.po"
            if meant:
                problem += f"; did you mean {shown(project, catalog_path(project, parts[0], meant))}?"
        else:
            continue
        found.append(Diagnostic(shown(project, path), 0, 0, "", problem, Severity.WARNING))
    held = [
        d for path in _templates(project) for d in translations_in_template(project, path, Severity.WARNING)
    ]
    return found + held + _without_issue(project)


def _meant_domain(name: str) -> str | None:
    """The catalog a file's name seems to mean, where a tool named it otherwise: an issue's by the date in it
    (`2023-12-21.po`, `issues-2023-12-21.po`), the interface's or the names' by their word (`names.my.po`)."""
    day = ISO_DATE.search(name)
    if day:
        return f"issues/{day.group()}"
    return next((domain for domain in (INTERFACE, NAMES) if domain in name.lower()), None)


def _without_issue(project: Project) -> list[Diagnostic]:
    """A warning at each issue's template and catalog (a configured locale's) whose date no issue in `issues/`
    has: an issue given another date (its file renamed) left its translations in a catalog no edition reads,
    and the new date's catalog empty, each counted by `catalog status` without a word."""
    files = _templates(project) + [
        path
        for locale in project.settings.locales[1:]
        for path in sorted((catalog_path(project, locale, NAMES).parent / "issues").glob("*.po"))
    ]
    files = [path for path in files if ISO_DATE.fullmatch(path.stem)]
    if not files:
        return []
    days: set[str] = set()
    for issue in issue_files(project.issues_dir):
        if ISO_DATE.fullmatch(issue.stem):
            days.add(issue.stem)
            continue
        reading = read_issue(issue, project.settings, shown(project, issue))
        if reading.issue is None:
            return []  # its date unknown, any of these may be its own
        days.add(reading.issue.date.isoformat())
    found = []
    for path in files:
        if path.stem in days:
            continue
        missing = f"no issue in {shown(project, project.issues_dir)}/ is dated {path.stem}"
        if path.suffix == ".pot":
            problem = (
                f"{missing}, yet catalog update makes catalogs of this template; delete it (catalog extract "
                "writes it again for an issue of that date)"
            )
        else:
            try:
                count = sum(_translated(m) for m in load_catalog(path, shown(project, path)).catalog if m.id)
            except InvalidInput:
                count = 0
            held = f"its {count} translation{'s' * (count != 1)}" if count else "it"
            problem = (
                f"{missing}, so no edition reads {held}: if the issue's date changed, give this file the new "
                "date and run `broadsheet catalog update`; if the issue is gone, delete it"
            )
        found.append(Diagnostic(shown(project, path), 0, 0, "", problem, Severity.WARNING))
    return found


_CATALOG_DEPTH = 4
"""Folders deep that a catalog may be, counted from `locales/` (`my/LC_MESSAGES/issues/2024-01-04.po`)."""


def _catalog_files(folder: Path) -> list[Path]:
    """The `.po` and `.mo` files in `folder`, sorted, at most `_CATALOG_DEPTH` folders down, leaving out hidden folders:
    a `locales_dir` set to the project's own folder (or above it) is not walked through `.venv`, `.git` or
    the whole file system, and a folder that cannot be read is passed over."""
    found = []
    for here, folders, files in os.walk(folder, followlinks=True):
        depth = len(Path(here).relative_to(folder).parts)
        folders[:] = (
            [] if depth + 1 >= _CATALOG_DEPTH else [name for name in folders if not name.startswith(".")]
        )
        found += [Path(here, name) for name in files if name.endswith((".po", ".mo"))]
    return sorted(found)


def _meant(locale: str, configured: Sequence[str]) -> str:
    """What to do with a catalog for `locale`: rename its folder to a configured locale of its language, or
    add `locale` to the settings."""
    named = written_locale(locale)
    alike = [code for code in configured if named and Locale.parse(code).language == named.language]
    if alike:
        return f"did you mean {alike[0]!r}? (locales/{alike[0]}/LC_MESSAGES/)"
    return f"add it to `locales` in {SETTINGS_FILE} if it should be sent"


# -- Checks of translations ------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{[A-Za-z_][A-Za-z0-9_]*\}"
)
_NAMED_PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{[A-Za-z_][A-Za-z0-9_]*\}"
)


def placeholders(text: str, *, formatted: bool = True) -> Counter[str]:
    """The placeholders of `text`. In text that is never formatted (`formatted` false: an issue's content), a
    `%` followed by a letter is prose, not a placeholder: "40% in a year" holds no `% i`."""
    return Counter((_PLACEHOLDER if formatted else _NAMED_PLACEHOLDER).findall(text))


def _markup(text: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Links (URLs), footnote references and inline markup of a Markdown text."""
    return markdown.structure(text)


_NAMED = re.compile(r"%\((\w+)\)[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?([diouxXeEfFgGcrsa])")
_SAMPLE: dict[str, object] = {
    **dict.fromkeys("sra", "text"),
    **dict.fromkeys("diouxXc", 1),
    **dict.fromkeys("eEfFgG", 1.0),
}


def _stray_percent(text: str) -> int | None:
    """Where `text` has a % that starts neither a named placeholder nor `%%`; None if nowhere."""
    at = text.find("%")
    while at >= 0:
        if text.startswith("%%", at):
            at = text.find("%", at + 2)
            continue
        named = _NAMED.match(text, at)
        if named is None:
            return at
        at = text.find("%", named.end())
    return None


def format_problem(message_id: str, translation: str) -> str | None:
    """Why Python cannot format `translation` where it formats `message_id`, as Jinja2's gettext does for the interface."""
    named = {m.group(1): m.group() for m in _NAMED.finditer(message_id)}
    sample = {name: _SAMPLE[spec[-1]] for name, spec in named.items()}
    try:
        message_id % sample
    except (KeyError, ValueError, TypeError):
        return None  # not a format string in the template either: a template's problem, not a translator's
    stray = _stray_percent(translation) if _stray_percent(message_id) is None else None
    if stray is not None:
        return (
            f"translation has a % (character {stray + 1}) that is neither a placeholder like %(name)s "
            "nor written %% for a literal %: Python cannot format it"
        )
    try:
        translation % sample
    except KeyError:
        return None  # an unknown placeholder: reported as such
    except (ValueError, TypeError) as exc:
        changed = [
            f"{m.group()} where the original has {named[m.group(1)]}"
            for m in _NAMED.finditer(translation)
            if m.group(1) in named and m.group() != named[m.group(1)]
        ]
        return f"translation has {', '.join(changed) or 'a placeholder of another kind than the original'}: Python cannot format it ({exc})"
    return None


def markup_problem(message_id: str, translation: str, *, is_markdown: bool = False) -> str | None:
    """HTML in `translation` that `message_id` has not: shown as text, never as HTML."""
    extra = tags(translation, markdown=is_markdown) - tags(message_id, markdown=is_markdown)
    if not extra:
        return None
    found = ", ".join(sorted(tag if len(tag) <= 40 else tag[:37] + "..." for tag in extra))
    return f"translation has HTML markup the original has not ({found}); it would be shown as text, so write it without"


_INLINE_MARKUP = {"em", "strong", "code_inline"}


def translation_problems(
    message_id: str, translation: str, *, is_markdown: bool, is_format: bool = False
) -> list[str]:
    """What a translation lost or broke compared with its source text.

    `is_format` for the interface, whose every message Jinja2's gettext formats with `%`.
    """
    problems = []
    formatting = format_problem(message_id, translation) if is_format else None
    if formatting:
        problems.append(formatting)
    source, translated = (
        placeholders(message_id, formatted=is_format),
        placeholders(translation, formatted=is_format),
    )
    missing, extra = source - translated, translated - source
    if (missing or extra) and not (formatting and "where the original has" in formatting):
        problems.append(_difference("placeholder", missing, extra))
    markup = markup_problem(message_id, translation, is_markdown=is_markdown)
    if markup:
        problems.append(markup)
    if is_markdown:
        source_links, source_refs, source_markup = _markup(message_id)
        links, refs, inline = _markup(translation)
        if source_links != links:
            missing_links = source_links - links
            problem = _difference("link", missing_links, links - source_links)
            if any(url in translation for url in missing_links):
                # `[words] (URL)`, a space typed after the bracket, or brackets of another script: shown as text.
                problem += (
                    "; its URL is in the translation as text, not as a link: write [words](URL), in these "
                    "brackets, with nothing between ] and ("
                )
            problems.append(problem)
        if source_refs != refs:
            problem = _difference("footnote reference", source_refs - refs, refs - source_refs)
            if _ascii_digits(refs - source_refs) == source_refs - refs:
                problem += (
                    f"; write {', '.join(sorted(source_refs - refs))} as the original does: the email shows "
                    "footnote numbers in the edition's own digits"
                )
            problems.append(problem)
        # Inline markup must match; a heading, list or quote only must not be added (a list numbered in
        # Burmese digits, "၁။", is no Markdown list, and reads well as it is).
        differing = [
            k
            for k in sorted(set(source_markup) | set(inline))
            if source_markup[k] != inline[k] and (k in _INLINE_MARKUP or inline[k] > source_markup[k])
        ]
        if differing:
            # Marks that come in pairs yet are shown as written were closed where Markdown cannot read them.
            unread = markdown.unread_emphasis(translation)
            problems.append(
                "Markdown markup differs from the original ("
                + ", ".join(f"{k}: {source_markup[k]} in the original, {inline[k]} here" for k in differing)
                + (
                    "); " + markdown.unread_emphasis_message(unread[0])
                    if set(differing) <= _INLINE_MARKUP and len(unread) >= 2
                    else "); check that every *, ** and [ ] is closed"
                    if set(differing) <= _INLINE_MARKUP
                    else "); a line that begins with #, -, *, 1. or > makes a heading, list or quote"
                )
            )
    return problems


def _ascii_digits(labels: Counter[str]) -> Counter[str]:
    """`labels` with their digits written in ASCII: `[^၁]`, a Burmese translator's, is `[^1]`."""
    return Counter(
        {
            "".join(str(unicodedata.digit(c)) if c.isdecimal() else c for c in label): count
            for label, count in labels.items()
        }
    )


def _difference(kind: str, missing: Counter[str], extra: Counter[str]) -> str:
    parts = []
    if missing:
        parts.append(f"missing {kind}{'s' if len(missing) > 1 else ''} {', '.join(sorted(missing))}")
    if extra:
        parts.append(f"unexpected {kind}{'s' if len(extra) > 1 else ''} {', '.join(sorted(extra))}")
    return "translation has " + " and ".join(parts)


def check_catalog(
    project: Project,
    path: Path,
    *,
    is_markdown: bool,
    is_format: bool = False,
    subjects: frozenset[str] = frozenset(),
) -> list[Diagnostic]:
    """Errors in one `.po` file: its syntax and encoding, translations Python cannot format, lost
    placeholders, links and markup, HTML the original has not, Zawgyi text, a line break in a translation of
    one of `subjects` (an email's subject), versions of a translation that msgcat joined; and, as warnings, translations that are only spaces and, in an
    issue's content (`is_markdown`), translations that are a copy of the original."""
    display = shown(project, path)
    try:
        loaded = load_catalog(path, display)
    except InvalidInput as exc:
        return list(exc.diagnostics)
    key = (display, is_markdown, is_format, subjects)
    checked = _checked.get(key)
    if checked is None or checked[0] is not loaded:
        checked = (
            loaded,
            _problems(loaded, is_markdown=is_markdown, is_format=is_format, subjects=subjects),
        )
        _checked[key] = checked
    return list(checked[1])


_checked: dict[tuple[str, bool, bool, frozenset[str]], tuple[Loaded, list[Diagnostic]]] = {}
"""The findings in each catalog as last read: `site` checks the shared catalogs once, not once per issue."""


_COPIED_WORDS = 4
"""Words from which an issue's text translated as itself is taken for a copy (Poedit's "Copy from Source Text", a
translation memory's pre-fill), not a name or acronym that reads the same in both languages."""


def _problems(
    loaded: Loaded, *, is_markdown: bool, is_format: bool, subjects: frozenset[str]
) -> list[Diagnostic]:
    display = loaded.display
    diagnostics = []
    for message in loaded.catalog:
        if message.id and message.context is not None:
            # Never used, as broadsheet asks for no context: the translator should know why English is shown.
            msgid = message.lineno or 0
            where = next(
                (n for n in range(msgid - 1, 0, -1) if loaded.lines[n - 1].startswith("msgctxt")), msgid
            )
            diagnostics.append(
                Diagnostic(
                    display,
                    where,
                    0,
                    "msgctxt",
                    f"a message with a context ({message.context!r}) is never used, as broadsheet asks for none; "
                    "remove its msgctxt line, or the whole message",
                    Severity.WARNING,
                )
            )
            continue
        # A fuzzy translation is never used (English is shown): its mistakes are for the translator's revision.
        if not message.id or not message.string or message.fuzzy:
            continue
        ids, strings = texts(message.id), texts(message.string)
        line = loaded.msgstr_line(message.lineno)
        for translation in strings:
            if not translation:
                continue
            if blank(translation):
                kinds = (
                    (
                        "invisible characters",
                        _named(c for c in translation if unicodedata.category(c) == "Cf"),
                    ),
                    (
                        "marks with no letter to go on",
                        _named(c for c in translation if unicodedata.category(c).startswith("M")),
                    ),
                )
                what = " and ".join(f"{kind} ({names})" for kind, names in kinds if names) or "spaces"
                diagnostics.append(
                    Diagnostic(
                        display,
                        line,
                        0,
                        "msgstr",
                        f"translation is only {what}: taken as untranslated (English shown); "
                        "write the translation, or leave it empty",
                        Severity.WARNING,
                    )
                )
                continue
            versions = joined_versions(translation)
            if versions:
                diagnostics.append(
                    Diagnostic(
                        display,
                        line,
                        0,
                        "msgstr",
                        f"translation is {versions} versions that msgcat joined (each after a {JOINED} line), "
                        f"from catalogs that translate it differently: keep one of them and delete the {JOINED} "
                        "lines; until then it is taken as untranslated (English shown)",
                    )
                )
                continue
            if is_markdown and translation.strip() == ids[0].strip() and len(ids[0].split()) >= _COPIED_WORDS:
                diagnostics.append(
                    Diagnostic(
                        display,
                        line,
                        0,
                        "msgstr",
                        "translation is a copy of the original: it would pass for a translation (marked as "
                        "this catalog's language, with no note of untranslated text); translate it, or leave "
                        "it empty for the original to be shown as untranslated",
                        Severity.WARNING,
                    )
                )
                continue
            subject = subject_problem(translation) if ids[0] in subjects else None
            if subject:
                diagnostics.append(Diagnostic(display, line, 0, "msgstr", f"translation {subject}"))
            for problem in translation_problems(
                ids[0] if len(ids) == 1 else ids[-1],
                translation,
                is_markdown=is_markdown and len(ids) == 1,
                is_format=is_format,
            ):
                diagnostics.append(Diagnostic(display, line, 0, "msgstr", problem))
            if burmese.is_zawgyi(translation):
                diagnostics.append(
                    Diagnostic(
                        display,
                        line,
                        0,
                        "msgstr",
                        "text is Zawgyi-encoded Burmese, not Unicode; readers without a Zawgyi font see garbage. "
                        f"Convert it with: broadsheet catalog convert-zawgyi {display}",
                    )
                )
    return diagnostics


def _named(characters: Iterable[str]) -> str:
    """`characters` by their code points and Unicode names, each once, in the order of their code points."""
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '')}".rstrip() for c in sorted(set(characters)))


def check_catalogs(project: Project, issue: Issue, locales: Sequence[str]) -> list[Diagnostic]:
    """Errors in the catalogs the editions of `issue` in `locales`, translated ones, are built from."""
    diagnostics = []
    for locale in locales:
        for domain, is_markdown in ((INTERFACE, False), (NAMES, False), (issue_domain(issue), True)):
            path = catalog_path(project, locale, domain)
            # Anything there but no catalog (a directory, /dev/zero, a link to nowhere) is an error to report, not a
            # missing catalog.
            if present(path):
                diagnostics += check_catalog(
                    project,
                    path,
                    is_markdown=is_markdown,
                    is_format=domain == INTERFACE,
                    # The title's translation is its edition's subject.
                    subjects=frozenset({issue.title}) if is_markdown else frozenset(),
                )
                diagnostics += _header_checks(project, path, locale)
    return diagnostics


def _header_checks(project: Project, path: Path, locale: str) -> list[Diagnostic]:
    """`_plural_header` and `_header_problems` of the catalog at `path` for `locale`, worked out once for each
    content it has: `site` asks them of the shared catalogs for every issue (a tenth of its time)."""
    try:
        loaded = load_catalog(path, shown(project, path))
    except InvalidInput:
        return []  # reported by check_catalog
    key = (loaded.display, locale)
    checked = _headers_checked.get(key)
    if checked is None or checked[0] is not loaded:
        checked = (loaded, _plural_header(project, path, locale) + _header_problems(project, path, locale))
        _headers_checked[key] = checked
    return list(checked[1])


_headers_checked: dict[tuple[str, str], tuple[Loaded, list[Diagnostic]]] = {}


def _header_problems(project: Project, path: Path, locale: str) -> list[Diagnostic]:
    """Warnings at the header of the catalog at `path`, read for `locale`: at a `Language` field naming another
    language (`th` in `locales/my/`; a region or script of its own, `my_MM` or `my-MM`, is the same language),
    as the catalog is used for `locale`'s edition all the same; and at a header that msgcat joined from
    several catalogs' (`#-#-#-#-#  names.po  #-#-#-#-#` before each): Babel reads none of its fields, and took
    the catalog for one without a header."""
    display = shown(project, path)
    try:
        loaded = load_catalog(path, display)
    except InvalidInput:
        return []  # reported by check_catalog
    header = header_of(loaded.lines)
    if header is None:
        return []
    found = []
    for field in header.fields:
        if field.name.lower() == "language" and field.value and not same_language(field.value, locale):
            named = written_locale(field.value)
            edition = Locale.parse(locale).english_name
            moved = ""
            if named is not None:
                place = project.locales_dir / str(named) / path.relative_to(project.locales_dir / locale)
                moved = f", or if its translations are in {named.english_name}, move it to {shown(project, place)}"
            found.append(
                Diagnostic(
                    display,
                    field.line,
                    0,
                    "Language",
                    f"the header says the catalog is in {named.english_name if named else repr(field.value)}, "
                    f"but it is read for the {edition} edition, as it is in {shown(project, project.locales_dir / locale)}/: "
                    f"write "
                    f"Language: {locale}{moved}",
                    Severity.WARNING,
                )
            )
            break
    joined = [field for field in header.fields if field.text.startswith(JOINED)]
    if joined:
        found.append(
            Diagnostic(
                display,
                joined[0].line,
                0,
                "header",
                f"the header is {len(joined)} catalogs' headers joined by msgcat (each after a {JOINED} line), "
                "which cannot be read as one: its Language and Plural-Forms are taken for none; keep one header's "
                f"fields and delete the others with their {JOINED} lines (msgcat --use-first keeps the first header)",
                Severity.WARNING,
            )
        )
    return found


_NPLURALS = re.compile(r'"Plural-Forms:.*?nplurals\s*=\s*(\d+)', re.I)


def _plural_header(project: Project, path: Path, locale: str) -> list[Diagnostic]:
    """A warning at the catalog's Plural-Forms header when it gives another number of forms than `locale` has
    and the catalog holds a plural message. Its translations are used in the language's forms all the same
    (`used_forms`), but a translator's tool shows as many tabs as the header says: Burmese under `pybabel init`'s
    nplurals=2 asks for a msgstr[1] never used, French under nplurals=1 for no msgstr[1], which it needs."""
    display = shown(project, path)
    try:
        loaded = load_catalog(path, display)
    except InvalidInput:
        return []  # reported by check_catalog
    if not any(len(texts(message.id)) > 1 for message in loaded.catalog if message.id):
        return []
    header = next(
        (
            (number, found)
            for number, line in enumerate(loaded.lines, 1)
            if (found := _NPLURALS.match(line.strip()))
        ),
        None,
    )
    count = plural_count(locale)
    if header is None or int(header[1].group(1)) == count:
        return []
    forms = "msgstr[0]" if count == 1 else f"msgstr[0] to msgstr[{count - 1}]"
    return [
        Diagnostic(
            display,
            header[0],
            0,
            "Plural-Forms",
            f"the header gives nplurals={header[1].group(1)}, but {Locale.parse(locale).english_name} has "
            f"{count} plural form{'s' * (count != 1)} ({plural_forms(locale)}): a plural message's translation is "
            f"used in {forms} alone; `broadsheet catalog update` writes the right header",
            Severity.WARNING,
        )
    ]


def convert_zawgyi(project: Project, path: Path) -> int:
    """Convert every Zawgyi msgstr of the catalog at `path` to Unicode; the number converted."""
    catalog, layout = _read_as_written(project, path)
    converted = 0
    for message in catalog:
        if not message.id or not message.string:
            continue
        strings = texts(message.string)
        if any(burmese.is_zawgyi(s) for s in strings):
            fixed = tuple(burmese.zawgyi_to_unicode(s) if burmese.is_zawgyi(s) else s for s in strings)
            message.string = fixed if len(texts(message.id)) > 1 else fixed[0]
            converted += 1
    if converted:
        locale = str(catalog.locale) if catalog.locale else None
        if locale:
            _set_plural_forms(catalog, locale)
        _write_if_changed(path, _po_text_as(catalog, layout))
    return converted


def babel_extract(
    fileobj: BinaryIO, keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel extraction method for issue files, so that `pybabel extract` works too.

    Register in a mapping file as `[broadsheet: issues/**.yaml]`. Yields the
    issue's content and its organization names; an invalid issue yields
    nothing and its errors go to standard error.
    """
    path = Path(getattr(fileobj, "name", "issue.yaml"))
    project = find_project(path.resolve().parent)
    reading = read_issue(path, project.settings)
    if reading.issue is None:
        for diagnostic in reading.diagnostics:
            print(diagnostic, file=sys.stderr)
        return
    for message in issue_messages(reading.issue) + name_messages([reading.issue]):
        comments = [message.comment] + ([f"lang: {message.lang}"] if message.lang else [])
        yield message.locations[0][1], None, message.key, comments
