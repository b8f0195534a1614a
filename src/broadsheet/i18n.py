"""Run-time catalogs: a locale's translations for build, site and the web pages, read once and used safely.

A `.po` file is read once per content (`site` used to parse the shared
catalogs again for each issue), and a translator's mistake never breaks a
page: a translation that cannot be formatted falls back to the English text,
logged once, and HTML the original does not have is escaped. The translators'
tooling (extract, update, status, checks) is in `catalogs.py`.
"""

from __future__ import annotations

import codecs
import functools
import gettext
import hashlib
import inspect
import os
import re
import threading
import unicodedata
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import msgspec
from babel import Locale
from markupsafe import Markup, escape

from . import cldr
from .burmese import MYANMAR_CHAR
from .errors import Diagnostic, InvalidInput
from .files import is_utf16, read_limited
from .model import Issue
from .schema import language_tag, text_direction
from .settings import Project

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

INTERFACE = "messages"
NAMES = "names"


def _warn(message: str, *args: object) -> None:
    """`message` as a warning of the `broadsheet.i18n` logger. `logging` is imported when there is one to
    give: its import is a millisecond or two of every build's start, and a build whose translations all work
    gives none."""
    import logging

    logging.getLogger("broadsheet.i18n").warning(message, *args)


# -- Where catalogs are ------------------------------------------------------------


def template_path(project: Project, domain: str) -> Path:
    return project.locales_dir / f"{domain}.pot"


def catalog_path(project: Project, locale: str, domain: str) -> Path:
    return project.locales_dir / locale / "LC_MESSAGES" / f"{domain}.po"


def issue_domain(issue: Issue) -> str:
    return f"issues/{issue.date.isoformat()}"


def shown(project: Project, path: Path) -> str:
    try:
        return path.relative_to(project.root).as_posix()
    except ValueError:
        return str(path)


def name_language(name: str, source: str) -> str:
    """The language a name written in an issue or the settings is in: Burmese (`my`) when all its letters are the
    Myanmar script's (`ဒုက္ခသည်ကူညီရေးအဖွဲ့` in an English issue), else the source language. The one place it is
    decided, for the build (how a name is marked, whether it is counted untranslated) and for the catalogs
    (whether it is offered to a locale's `names.po`). "Untranslated" read as "in the source language" marked a
    Burmese name `lang="en"` in the Burmese edition, set in English fonts."""
    letters = [char for char in name if char.isalpha()]
    return "my" if letters and all(MYANMAR_CHAR.match(char) for char in letters) else source


@functools.cache
def plural_forms(locale: str) -> str:
    """The gettext Plural-Forms header of `locale`, from CLDR's rules.

    Babel's own table lacks some languages (Burmese among them) and then
    guesses two forms; CLDR knows Burmese has one. CLDR's rules for French,
    Spanish, Portuguese, Italian and Catalan read `e`, the exponent of a number
    written compactly ("1,2 M"), which Babel 2.19 leaves in the expression and
    gettext (Python's and msgfmt) refuses; a count is never written so: `e` is 0.
    """
    forms = re.sub(r"\be\b", "0", cldr.plural_rule(locale))
    count = int(re.search(r"nplurals=(\d+)", forms).group(1))  # type: ignore[union-attr]
    if count == 1:
        return "nplurals=1; plural=0;"
    if Locale.parse(locale).language == "en":
        return "nplurals=2; plural=(n != 1);"
    return forms


def plural_count(locale: str) -> int:
    """How many plural forms `locale` has (CLDR's count, as in `plural_forms`): a plural message's translation
    is used in these, msgstr[0] to msgstr[count - 1], whatever a catalog's own Plural-Forms header says."""
    return int(re.search(r"nplurals=(\d+)", plural_forms(locale)).group(1))  # type: ignore[union-attr]


def used_forms(message_id: object, string: object, locale: str) -> tuple[str, ...] | None:
    """The forms of a translation that `locale` uses, or None when one of them is missing, `blank` or holds
    versions that msgcat joined (`joined_versions`).

    A plural message takes its language's forms: `pybabel init -l my` writes nplurals=2 for Burmese, whose
    translator leaves msgstr[1] empty (never used, Burmese having one form); a French catalog with one form
    in its header lacks msgstr[1], which every count but 0 and 1 would show in English.
    """
    strings = texts(string)
    if len(texts(message_id)) > 1:
        count = plural_count(locale)
        strings = strings[:count] if len(strings) >= count else ()
    return strings if strings and not any(blank(s) or joined_versions(s) for s in strings) else None


_NO_TEXT = frozenset({"Cf", "Mn", "Mc", "Me"})
"""Unicode's categories of the characters that are no text alone: format characters and combining marks."""


def blank(text: str) -> bool:
    """Whether `text` shows no text: it is empty, or only spaces, characters of no width (Unicode's format
    characters: a zero-width space U+200B, a word joiner U+2060, a byte-order mark U+FEFF, ZWNJ and ZWJ alone),
    which give an invisible subject or heading, and marks with no letter to go on (a Burmese vowel sign U+102C
    or medial U+103B alone, which a font draws on a dotted circle). Burmese text holding a zero-width space
    between its phrases shows its letters, and every Burmese syllable has a letter (a consonant or an
    independent vowel), a digit or a sign of punctuation: it is not blank."""
    return all(char.isspace() or unicodedata.category(char) in _NO_TEXT for char in text)


JOINED = "#-#-#-#-#"
"""What begins and ends the line msgcat writes before each version it joins into one text (a header, or the
translation of a message that the catalogs it concatenates translate differently): `#-#-#-#-#  names.po  #-#-#-#-#`."""
_JOINED_LINE = re.compile(rf"^{JOINED}  .*  {JOINED}$", re.M)


def joined_versions(text: str) -> int:
    """How many versions msgcat joined into `text`, one after each of its `JOINED` lines; 0 when it joined none.
    It marks such a translation fuzzy; with the mark cleared and the versions left, the lines went out as the
    translation."""
    return len(_JOINED_LINE.findall(text))


def texts(value: object) -> tuple[str, ...]:
    """A message's id or string as a tuple: one text, or the plural forms."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, (tuple, list)) else ()


# -- Reading a .po file, with every mistake located ----------------------------------

_STRING = r'"(?:[^"\\]|\\.)*"'
_KEYWORD_LINE = re.compile(rf"(msgctxt|msgid|msgid_plural|msgstr|msgstr\[(\d+)\])\s+{_STRING}")
_STRING_LINE = re.compile(_STRING)
_STRINGS_IN_A_ROW = re.compile(
    rf"(?:(?:msgctxt|msgid|msgid_plural|msgstr|msgstr\[\d+\])\s+)?{_STRING}(?:\s+{_STRING})+"
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHARSET = re.compile(rb'^"Content-Type:[^"\n]*charset=([^\\"\s;]*)', re.M)
_PLURAL_FORMS = re.compile(rb'^"Plural-Forms:([^"\n]*?)(?:\\n)?"', re.M | re.I)
_MOST_PLURAL_FORMS = 6
"""The most plural forms a language has in CLDR (Arabic's). Babel gives every plural message a list of nplurals
strings, so a header of nplurals=99999999999999999999 took all the memory there was."""
# What may follow each part of an entry: a msgid after its msgctxt, a msgstr after its msgid...
_FOLLOWS = {
    "msgctxt": ("start", "msgstr"),
    "msgid": ("start", "msgstr", "msgctxt"),
    "msgid_plural": ("msgid",),
    "msgstr": ("msgid",),
}


class _Syntax(msgspec.Struct, frozen=True):
    """Where a .po file first breaks the format, and how."""

    line: int
    message: str


def _syntax_error(lines: list[str]) -> _Syntax | None:
    """The first place `lines` are not a PO file as GNU gettext reads it; Babel's parser lets most pass."""
    state, opened, plural = "start", 0, -1
    # Each message's (context, msgid) as written, and the line of its msgid: msgfmt refuses a second definition,
    # where Babel keeps one of them without a word.
    key: list[str] = []
    defined: dict[tuple[str, ...], int] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(("#~", "#|")):
            body = line[2:].lstrip().removeprefix("|").lstrip()
            if body and not (_KEYWORD_LINE.fullmatch(body) or _STRING_LINE.fullmatch(body)):
                return _Syntax(number, _unreadable(body))
            continue
        if line.startswith("#"):
            if state in ("msgctxt", "msgid", "msgid_plural"):
                return _Syntax(opened, f"{state} without a msgstr after it")
            continue
        if line.startswith('"'):
            if not _STRING_LINE.fullmatch(line):
                return _Syntax(number, _unreadable(line))
            if state == "start":
                return _Syntax(number, "a string outside any msgid or msgstr")
            if state in ("msgctxt", "msgid"):
                key[-1] += line[1:-1]
            continue
        keyword = _KEYWORD_LINE.fullmatch(line)
        if keyword is None:
            return _Syntax(number, _unreadable(line))
        name, index = keyword.group(1).split("[")[0], keyword.group(2)
        if name == "msgstr" and state in ("msgid", "msgid_plural"):
            if tuple(key) in defined:
                return _Syntax(
                    opened,
                    f"this message is defined twice: first at line {defined[tuple(key)]}; keep one of them",
                )
            defined[tuple(key)] = opened
        if index is not None and state == "msgid":
            return _Syntax(number, f"{keyword.group(1)} after a msgid without msgid_plural: write msgstr")
        if name == "msgstr" and index is None and state == "msgid_plural":
            return _Syntax(
                number, "a message with a msgid_plural is translated in msgstr[0] (and msgstr[1]...)"
            )
        if index is not None:
            if not (
                (state == "msgid_plural" and index == "0")
                or (state == "msgstr[]" and int(index) == plural + 1)
            ):
                return _Syntax(
                    number,
                    f"{keyword.group(1)} is out of order; plural forms are msgstr[0], msgstr[1]... after msgid_plural",
                )
            state, plural = "msgstr[]", int(index)
            continue
        allowed = _FOLLOWS[name]
        if state not in allowed and not (state == "msgstr[]" and "msgstr" in allowed):
            if state in ("msgid", "msgid_plural"):
                return _Syntax(opened, f"{state} without a msgstr after it")
            return _Syntax(
                number, f"{name} is out of order here: an entry is [msgctxt,] msgid, [msgid_plural,] msgstr"
            )
        if name == "msgctxt" or (name == "msgid" and state != "msgctxt"):
            key = []
        if name in ("msgctxt", "msgid"):
            key.append(f"{name}:{line[keyword.end(1) :].strip()[1:-1]}")
        state = name
        if name in ("msgctxt", "msgid"):
            opened = number
    if state in ("msgctxt", "msgid", "msgid_plural"):
        return _Syntax(opened, f"{state} without a msgstr after it")
    return None


_CURLY_STRING = "(?:msg[a-z_]*(?:\\[\\d+\\])?\\s*)?[“”„‟«»\uff02]"
"""A line whose string opens with a typographic quote, as a word processor or a phone's keyboard writes it."""


def _unreadable(line: str) -> str:
    if line.startswith(("<<<<<<<", "=======", ">>>>>>>", "|||||||")):
        return (
            "a Git merge conflict marker: keep one version of each message between the <<<<<<< and >>>>>>> "
            "lines, and delete the markers"
        )
    if curly := re.match(_CURLY_STRING, line):
        return (
            f"the string opens with {curly.group()[-1]}, a typographic quote, as a word processor writes it; "
            'a .po string is in straight quotes: msgstr "..."'
        )
    if line.count('"') % 2 or line.endswith('\\"'):
        return 'a string is not closed: it needs a " at its end, and a " inside it is written \\"'
    if _STRINGS_IN_A_ROW.fullmatch(line):
        # msgfmt joins them; Babel, which reads the catalogs, would keep the quotes between them in the text.
        return "two quoted strings on one line: put each on a line of its own, or join them into one"
    shown = line if len(line) <= 40 else line[:37] + "..."
    return f"cannot read {shown!r}: expected a comment (#), a keyword (msgid, msgstr...) with a quoted string, or a quoted string"


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _located(display: str, raw: bytes, offset: int, message: str) -> InvalidInput:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return InvalidInput([Diagnostic(display, line, column, "", message)])


def _read(path: Path, display: str) -> bytes:
    try:
        return read_limited(path, "catalog", display)
    except OSError as exc:
        link = f" (it is a symbolic link to {os.readlink(path)})" if path.is_symlink() else ""
        raise InvalidInput(
            [Diagnostic(display, 0, 0, "", f"cannot read catalog: {exc.strerror}{link}")]
        ) from None


def read_catalog(
    path: Path, locale: str | None = None, display: str | None = None
) -> tuple[Catalog, list[str]]:
    """The catalog at `path` and its lines of text, read afresh; InvalidInput, located, for anything wrong in it."""
    catalog, lines, _raw = read_catalog_file(path, locale, display)
    return catalog, lines


def read_catalog_file(
    path: Path, locale: str | None = None, display: str | None = None
) -> tuple[Catalog, list[str], bytes]:
    """As `read_catalog`, and the file's bytes, for the tooling to write it back as it was written."""
    display = display or str(path)
    raw = _read(path, display)
    return (*_parsed(raw, locale, display), raw)


def _parsed(raw: bytes, locale: str | None, display: str) -> tuple[Catalog, list[str]]:
    """Checked before Babel parses it: control characters (a NUL used to reach MJML as "invalid MJML in
    the template"), the charset, the encoding and the syntax (Babel's parser lets most mistakes pass)."""
    if is_utf16(raw):
        raise _located(display, raw, 0, "the catalog is UTF-16 text; save it as UTF-8")
    # Lines end at "\n", "\r\n" (Windows) or "\r" (old Mac OS, once read as one line: an empty catalog) and at
    # nothing else, as GNU gettext reads them: `splitlines` also breaks at U+2028, U+0085 and the like, which a
    # translation may hold (msgfmt takes them), and then reported an unclosed string.
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    control = _CONTROL.search(raw)
    if control:
        name = (
            "a NUL byte" if control.group() == b"\0" else f"the control character U+{control.group()[0]:04X}"
        )
        raise _located(
            display,
            raw,
            control.start(),
            f"the catalog holds {name}; a .po file is text (was it saved by another program?)",
        )
    charset = "utf-8"
    declared = _CHARSET.search(raw)
    if declared:
        charset = declared.group(1).decode("ascii", "replace")
        try:
            codecs.lookup(charset)
        except LookupError:
            raise _located(
                display,
                raw,
                declared.start(1),
                f"unknown charset {charset!r} in the Content-Type header; write charset=UTF-8",
            ) from None
        if codecs.lookup(charset).name != "utf-8" and not raw.isascii() and _is_utf8(raw):
            # Read as the charset declared, the Burmese text became mojibake in every email, without a word.
            raise _located(
                display,
                raw,
                declared.start(1),
                f"the Content-Type header declares charset={charset}, but the text is UTF-8 and would be "
                "garbled; write charset=UTF-8",
            )
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError as exc:
        raise _located(
            display,
            raw,
            exc.start,
            f"not {charset} text: byte 0x{raw[exc.start]:02X} cannot be decoded; save the file as {charset}",
        ) from None
    lines = text.removeprefix("\ufeff").split("\n")
    syntax = _syntax_error(lines)
    if syntax:
        raise InvalidInput([Diagnostic(display, syntax.line, 0, "", syntax.message)])
    # Here, not at the top: Babel's catalog modules take 4 ms to import, and an edition
    # in the source language reads no catalog.
    from babel.messages.catalog import parse_separated_header
    from babel.messages.pofile import PoFileError, read_po

    header = _PLURAL_FORMS.search(raw)
    if header:
        # Read as Babel reads it; which form a number takes comes from CLDR, not from this header.
        count = parse_separated_header(f" ;{header.group(1).decode('ascii', 'replace')}").get("nplurals", "2")
        if not (count.strip().isdecimal() and 1 <= int(count) <= _MOST_PLURAL_FORMS):
            raise _located(
                display,
                raw,
                header.start(1) + header.group(1).lower().find(b"nplurals"),
                f"the Plural-Forms header gives nplurals={count}, but a language has from 1 to "
                f"{_MOST_PLURAL_FORMS} plural forms; delete the line: broadsheet catalog update writes the right one",
            )

    babel_lines, previous = _previous_msgids(lines)
    try:
        catalog = read_po([f"{line}\n" for line in babel_lines], locale=locale, abort_invalid=True)
    except PoFileError as exc:
        line, field, said = getattr(exc, "lineno", -1) + 1, "", str(exc).rsplit(" on ", 1)[0]
        if said.startswith("msg has more translations than num_plurals"):
            # A plural message copied from a language with more forms: Babel names neither the form nor the count.
            forms = exc.catalog.num_plurals
            field = f"msgstr[{forms}]"
            line = next((n for n in range(line, len(lines) + 1) if lines[n - 1].startswith(field)), line)
            said = (
                f"the catalog's language has {forms} plural form{'s' * (forms != 1)} (Plural-Forms: "
                f"nplurals={forms}); remove {field} and any after it"
            )
        raise InvalidInput([Diagnostic(display, line, 0, field, said)]) from None
    except ValueError as exc:
        raise InvalidInput([Diagnostic(display, 0, 0, "", f"cannot read catalog: {exc}")]) from None
    for message in catalog:
        if message.lineno in previous:
            message.previous_id = list(previous[message.lineno])
    return catalog, lines


def _previous_msgids(lines: list[str]) -> tuple[list[str], dict[int, tuple[str, ...]]]:
    """`lines` without their previous msgids (`#| msgid ""` / `#| "..."`), and each one by the line of the
    msgid it belongs to. Babel's reader takes a `#|` line for a translator's comment, which its writer then
    wrote back as `# | msgid ""`, a comment that piled up at every update; and `#~|` it refuses."""
    from babel.messages.pofile import unescape

    kept, found = [], {}
    parts: dict[str, list[str]] = {}
    part = ""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith(("#|", "#~|")):
            body = stripped.removeprefix("#~").removeprefix("#").removeprefix("|").strip()
            keyword, _, string = body.partition(" ")
            if not body.startswith('"'):
                part, body = keyword, string.strip()
            # An obsolete message's previous msgid is dropped: no translator is shown it.
            if not stripped.startswith("#~") and body:
                parts.setdefault(part, []).append(unescape(body))
            kept.append("")
            continue
        if stripped.startswith("msgid ") and parts:
            found[number] = tuple("".join(parts[k]) for k in ("msgid", "msgid_plural") if k in parts)
            parts = {}
        kept.append(line)
    return kept, found


class Loaded(msgspec.Struct, frozen=True):
    """A catalog as read, shared by every caller in the process: never change it (the tooling reads its own)."""

    path: Path
    display: str
    catalog: Catalog
    lines: tuple[str, ...]

    def msgstr_line(self, msgid_line: int | None) -> int:
        """The line of the msgstr that belongs to the msgid at `msgid_line` (Babel gives the msgid's)."""
        if not msgid_line:
            return 0
        for number in range(msgid_line - 1, len(self.lines)):
            if self.lines[number].startswith("msgstr"):
                return number + 1
        return msgid_line


_loaded: dict[tuple[str, str], tuple[bytes, Loaded | InvalidInput]] = {}
_loaded_lock = threading.Lock()


def load_catalog(path: Path, display: str | None = None) -> Loaded:
    """The catalog at `path`, parsed once for each content it has in this process; InvalidInput as `read_catalog`.

    Keyed by the file's bytes, not its time: a catalog rewritten within the
    file system's clock tick is read again all the same.
    """
    display = display or str(path)
    raw = _read(path, display)
    digest = hashlib.blake2b(raw, digest_size=16).digest()
    # The path as given, made absolute without asking the file system (`resolve` was a tenth of `site`'s catalog
    # reading): two spellings of one file are each parsed once, which costs time, never a wrong answer.
    key = (os.path.abspath(path), display)
    with _loaded_lock:
        cached = _loaded.get(key)
    if cached is None or cached[0] != digest:
        try:
            catalog, lines = _parsed(raw, None, display)
            cached = (digest, Loaded(path, display, catalog, tuple(lines)))
        except InvalidInput as exc:
            cached = (digest, exc)
        with _loaded_lock:
            _loaded[key] = cached
    if isinstance(cached[1], InvalidInput):
        raise InvalidInput(cached[1].diagnostics)
    return cached[1]


def _report_once(key: tuple[object, ...], message: str) -> None:
    with _loaded_lock:
        if key in _reported:
            return
        _reported.add(key)
    _warn(message)


_reported: set[tuple[object, ...]] = set()


def present(path: Path) -> bool:
    """Whether there is anything at `path`, a symbolic link that leads nowhere (or back to itself) included:
    reading it then says what is wrong, where `exists()` takes it for no catalog and English is shown silently."""
    return path.exists() or path.is_symlink()


def _usable(path: Path, display: str) -> Loaded | None:
    """The catalog at `path`, or None when there is none or it cannot be read (logged once: English is shown)."""
    if not present(path):
        return None
    try:
        return load_catalog(path, display)
    except InvalidInput as exc:
        for diagnostic in exc.diagnostics:
            _report_once(
                ("unreadable", path.resolve(), str(diagnostic)),
                f"{diagnostic}; English shown instead of this catalog",
            )
        return None


# -- Content and names: a lookup that counts what it lacked ---------------------------


class Lookup(msgspec.Struct):
    """The usable translations of one catalog for a build, and what it lacked."""

    path: Path
    translations: dict[str, str | tuple[str, ...]] = msgspec.field(default_factory=dict)
    needed: set[str] = msgspec.field(default_factory=set)
    missing: set[str] = msgspec.field(default_factory=set)
    known: frozenset[str] = frozenset()
    """Every msgid the catalog holds, translated or not (obsolete ones aside)."""
    fuzzy: frozenset[str] = frozenset()
    """The msgids whose translation is marked fuzzy: a draft (an edited paragraph's old translation, say) that is
    not used until its translator takes the mark off. One that is `blank` is no draft: without the mark it would
    be untranslated all the same."""
    exists: bool = True
    """Whether there is a catalog at `path` (readable or not): an issue's has none until `catalog extract` and
    `catalog update` make it."""

    @property
    def absent(self) -> set[str]:
        """What is missing because the catalog does not hold it at all: text written or changed since its last
        `catalog update` (none when there is no catalog yet)."""
        return self.missing - self.known if self.known else set()

    @property
    def drafts(self) -> set[str]:
        """What is missing because its translation is still marked fuzzy."""
        return self.missing & self.fuzzy

    def get(self, text: str, *, optional: bool = False) -> str | None:
        """The translation of `text`, or None, which counts it missing; with `optional` (a name already in the
        catalog's language, which a translator may respell but has nothing to translate), text left untranslated
        is not counted at all."""
        found = self.translations.get(text)
        forms = (found,) if isinstance(found, str) else found or ()
        if forms and all(forms):
            self.needed.add(text)
            return forms[0]
        if not optional:
            self.needed.add(text)
            self.missing.add(text)
        return None


def _translated(loaded: Loaded | None, locale: str) -> dict[str, tuple[str, ...]]:
    """msgid -> the forms of its translation `locale` uses (`used_forms`), for the translated, non-fuzzy
    messages (a translation that is only spaces is none: it gave a blank subject or heading). A message with a
    context (`msgctxt`) is not one broadsheet asks for, as gettext does not for a lookup without one: it
    replaced the translation of its msgid."""
    found: dict[str, tuple[str, ...]] = {}
    for message in loaded.catalog if loaded else ():
        if message.id and message.context is None and message.string and not message.fuzzy:
            strings = used_forms(message.id, message.string, locale)
            if strings:
                found[texts(message.id)[0]] = strings
    return found


def load_lookup(path: Path, locale: str, display: str | None = None) -> Lookup:
    """Translated, non-fuzzy messages of the catalog at `path` (none if it does not exist or cannot be read)."""
    loaded = _usable(path, display or str(path))
    messages = [message for message in loaded.catalog if message.id] if loaded else []
    return Lookup(
        path,
        {key: forms if len(forms) > 1 else forms[0] for key, forms in _translated(loaded, locale).items()},
        known=frozenset(texts(message.id)[0] for message in messages),
        exists=present(path),
        fuzzy=frozenset(
            texts(message.id)[0]
            for message in messages
            if message.fuzzy and message.context is None and not all(map(blank, texts(message.string)))
        ),
    )


# -- The interface: gettext for Jinja2, safe to format -----------------------------------


class Translations(gettext.NullTranslations):
    """The interface translations of one locale: gettext and ngettext from a catalog read once."""

    def __init__(
        self,
        locale: str,
        display: str = "",
        messages: dict[str, tuple[str, ...]] | None = None,
        lines: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.locale = locale
        self.display = display
        self._messages = messages or {}
        self._lines = lines or {}
        self._plural = gettext.c2py(plural_forms(locale).split("plural=", 1)[1].rstrip(";").strip())
        self._reported: set[str] = set()

    def gettext(self, message: str) -> str:
        forms = self._messages.get(message)
        return forms[0] if forms else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = self._messages.get(msgid1)
        index = self._plural(n)
        if forms and index < len(forms):
            return forms[index]
        return msgid1 if n == 1 else msgid2

    def unusable(self, message: str, problem: Exception) -> None:
        """Log, once, that the translation of `message` cannot be used."""
        with _loaded_lock:
            if message in self._reported:
                return
            self._reported.add(message)
        line = self._lines.get(message)
        where = f"{self.display}:{line}" if line else self.display
        _warn(
            "%s: warning: msgstr: the translation of %r cannot be formatted (%s: %s); English shown",
            where,
            message,
            type(problem).__name__,
            problem,
        )


_translations: dict[tuple[Path, str], tuple[Loaded, Translations]] = {}


def translations(path: Path, locale: str, display: str | None = None) -> Translations:
    """The interface translations in the catalog at `path` (fuzzy ones left out; English where it cannot be read)."""
    display = display or str(path)
    loaded = _usable(path, display)
    if loaded is None:
        return Translations(locale, display)
    key = (path.resolve(), locale)
    cached = _translations.get(key)
    if cached is None or cached[0] is not loaded:
        lines = {
            texts(m.id)[0]: loaded.msgstr_line(m.lineno) for m in loaded.catalog if m.id and m.context is None
        }
        cached = (loaded, Translations(locale, display, _translated(loaded, locale), lines))
        _translations[key] = cached
    return cached[1]


# Whatever a browser starts a tag at (`<` then a letter, `/`, `!` or `?`), up to its `>` or the end of the text:
# a tag only counted when well formed let `<svg/onload=alert(1)>` and an unclosed `<img src=x onerror=...`
# (which the template's next `>` closes) through as trusted markup.
_TAG = re.compile(r"<(?:/?[A-Za-z]|!|\?)[^>]*>?")
# CommonMark's autolinks, which hold neither spaces nor angle brackets: `<https://...>`, `<someone@example.org>`.
_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>|<[^\s<>@]+@[^\s<>]+>")


def tags(text: str, *, markdown: bool = False) -> Counter[str]:
    """The HTML tags written in `text`; in `markdown`, not its autolinks like <https://...>. Outside Markdown a
    browser reads those as tags too (`<https://x/onmouseover=alert(1)>` is an element with a handler)."""
    return Counter(_TAG.findall(_AUTOLINK.sub("", text) if markdown else text))


def _formatted(text: str, original: str, variables: dict[str, Any], autoescape: bool) -> str:
    if autoescape:
        # The template's own markup is trusted; a translation's is only where the original has the same.
        text = Markup(text) if not tags(text) - tags(original) else escape(text)
    return text % variables


class MessageFormatError(ValueError):
    """A template's own text of a message cannot be formatted with the variables the template gives it."""


def _safe(
    translations: gettext.NullTranslations,
    key: str,
    original: str,
    translated: str,
    variables: dict[str, Any],
    autoescape: bool,
) -> str:
    """`translated` formatted with `variables`; the English `original` when the translation cannot be."""
    try:
        return _formatted(translated, original, variables, autoescape)
    except (KeyError, ValueError, TypeError) as exc:
        if translated == original or not isinstance(translations, Translations):
            raise _template_problem(original, exc) from None
        translations.unusable(key, exc)
    try:
        return _formatted(original, original, variables, autoescape)
    except (KeyError, ValueError, TypeError) as exc:
        # The template's own text cannot be formatted either.
        raise _template_problem(original, exc) from None


def _template_problem(original: str, problem: Exception) -> MessageFormatError:
    """The template's own text cannot be formatted: a template problem, not a translator's."""
    why = (
        f"the template gives it no variable {problem}"
        if isinstance(problem, KeyError)
        else f"{problem}; a literal % is written %%"
    )
    return MessageFormatError(f"the message {original!r} cannot be formatted: {why}")


def _template_line() -> str:
    """FILE:LINE of the template being rendered where this is called from (its innermost one), or "template"."""
    frame = inspect.currentframe()
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if isinstance(template, jinja2.Template):
            return f"{template.filename}:{template.get_corresponding_lineno(frame.f_lineno)}"
        frame = frame.f_back
    return "template"


def install(
    env: jinja2.Environment, translations: gettext.NullTranslations, *, lenient: bool = False
) -> None:
    """Make `translations` the gettext of `env`, new-style (`_("By %(author)s", author=...)`), never failing on a translation.

    A template's own message that cannot be formatted (a stray `%`, a variable
    it is not given) raises `MessageFormatError`, for `build` and `check` to
    report where; `lenient` (the web pages, which must answer) shows it
    unformatted instead, in English, and logs once where it is.
    """

    def safe(key: str, original: str, translated: str, variables: dict[str, Any], autoescape: bool) -> str:
        try:
            return _safe(translations, key, original, translated, variables, autoescape)
        except MessageFormatError as exc:
            if not lenient:
                raise
            where = _template_line()
            _report_once(("template message", where, original), f"{where}: error: {exc}; shown unformatted")
            # The template's own text, trusted as its markup is.
            return Markup(original) if autoescape else original

    @jinja2.pass_context
    def gettext_(context: jinja2.runtime.Context, message: str, /, **variables: Any) -> str:
        return safe(message, message, translations.gettext(message), variables, context.eval_ctx.autoescape)

    @jinja2.pass_context
    def ngettext_(
        context: jinja2.runtime.Context, singular: str, plural: str, n: int, /, **variables: Any
    ) -> str:
        variables.setdefault("num", n)
        translated = translations.ngettext(singular, plural, n)
        original = singular if n == 1 else plural
        return safe(singular, original, translated, variables, context.eval_ctx.autoescape)

    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(gettext=gettext_, ngettext=ngettext_)
    # The settings' labels (categories, links) are text, not the template's markup or format strings:
    # through `_()` a label with `<` made invalid MJML and one with `%` failed every build.
    env.filters["translated"] = translations.gettext


def in_language(text: str, lang: str | None, locale: str) -> Markup:
    """`text` as HTML in a page of `locale`, in a `<span>` marked with `lang` (and its direction where that is not
    `locale`'s) when it is in another language: a name the names catalog left in English in a Burmese sentence.
    The templates' `lang` macro marks an element so; this marks a text inside a translated sentence."""
    if not lang or lang == locale:
        return escape(text)
    direction = text_direction(lang)
    if direction == text_direction(locale):
        return Markup('<span lang="{}">{}</span>').format(language_tag(lang), text)
    return Markup('<span lang="{}" dir="{}">{}</span>').format(language_tag(lang), direction, text)


# -- What the interface catalog should hold --------------------------------------------

_interface: dict[tuple[Path, bytes], tuple[tuple[str, tuple[str, ...]], ...]] = {}


def _interface_entries(project: Project) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The interface's messages, each with the files it comes from: those of `messages.pot`, as `catalog extract` last wrote them.

    Without a `.pot`, extracted from the templates (41 to 50 ms, once a process):
    the translators' tooling is imported only then.
    """
    pot = template_path(project, INTERFACE)
    if pot.is_file():
        try:
            loaded = load_catalog(pot, shown(project, pot))
            return tuple(
                (texts(message.id)[0], tuple(path for path, _line in message.locations))
                for message in loaded.catalog
                if message.id
            )
        except InvalidInput as exc:
            for diagnostic in exc.diagnostics:
                _report_once(("unreadable", str(diagnostic)), str(diagnostic))
    # The settings' labels are interface messages too.
    watched = [repr(project.settings)]
    for path in sorted(project.templates_dir.rglob("*")):
        stat = path.stat()
        watched.append(f"{path}:{stat.st_mtime_ns}:{stat.st_size}")
    key = (project.root, "\n".join(watched).encode())
    if key not in _interface:
        from .catalogs import interface_messages

        _interface[key] = tuple(
            (message.key, tuple(path for path, _line in message.locations))
            for message in interface_messages(project)
        )
    return _interface[key]


def interface_msgids(project: Project) -> tuple[str, ...]:
    """The interface's messages."""
    return tuple(key for key, _paths in _interface_entries(project))


def email_msgids(project: Project) -> frozenset[str]:
    """The interface's messages an email may show: every one but those only of web pages (`site/`, `web/`)."""
    templates = project.templates_dir.relative_to(project.root).as_posix()
    pages = (f"{templates}/site/", f"{templates}/web/")
    return frozenset(
        key for key, paths in _interface_entries(project) if not all(path.startswith(pages) for path in paths)
    )
