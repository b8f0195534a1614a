"""The language's own rules for localizing and rendering: native digits, Myanmar syllables,
line breaking between syllables, and detecting and converting Zawgyi-encoded Burmese."""

from __future__ import annotations

import bisect
import functools
import math
import re
import struct
import textwrap
import unicodedata
import warnings
from array import array
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

from . import cldr
from .errors import BroadsheetError
from .files import keep, kept

# Digits of each numbering system that CLDR makes some locale's default, named as Unicode names
# them ("<NAME> DIGIT ZERO" .. NINE are consecutive code points). Babel knows which system a locale
# uses but not its digits, and never prints them itself. A test checks that every default Babel
# reports is here, so a Babel upgrade that adds one fails loudly rather than printing Latin digits.
_DIGIT_NAMES: Final = {
    "adlm": "ADLAM",
    "arab": "ARABIC-INDIC",
    "arabext": "EXTENDED ARABIC-INDIC",
    "beng": "BENGALI",
    "cakm": "CHAKMA",
    "deva": "DEVANAGARI",
    "hmnp": "NYIAKENG PUACHUE HMONG",
    "mtei": "MEETEI MAYEK",
    "mymr": "MYANMAR",
    "nkoo": "NKO",
    "olck": "OL CHIKI",
    "tibt": "TIBETAN",
}

MYANMAR: Final = "\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f"
"""The Myanmar script's blocks (Myanmar, Extended-A and -B), as a regular expression's character class holds them."""
MYANMAR_CHAR: Final = re.compile(f"[{MYANMAR}]")
_ENCODED_APART: Final = re.compile("[\u1000-\u103f\u1050-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f]")
"""A Myanmar character that Zawgyi and Unicode may write otherwise: any but the digits and punctuation."""
MYANMAR_RUN: Final = f"[{MYANMAR}](?:[{MYANMAR}\u200b-\u200d ]*[{MYANMAR}])?"
"""A stretch of Myanmar text, the spaces between its phrases included: what text in another language marks `lang="my"`.
(A pattern's text, compiled by `re` where it is first used: only Markdown's renderer uses it, for a text it has
not kept.)"""

# Zero-width space and joiners belong to the Myanmar text they sit in, so a ZWSP that an author
# put between two Burmese words stays at the end of a line instead of starting the next one.
_RUNS: Final = re.compile(rf"[{MYANMAR}][{MYANMAR}\u200b-\u200d]*|\s+|[^{MYANMAR}\s]+")

# The sylbreak rule (Ye Kyaw Thu, github.com/ye-kyaw-thu/sylbreak): a syllable starts at a
# consonant that is not stacked under the one before (virama U+1039 precedes it) and does not
# itself close the syllable before (asat U+103A or virama follows it), and at an independent vowel,
# a digit or a symbol. The optional dot below U+1037 is ours: Unicode's canonical order puts it
# before asat (combining classes 7 < 9), so NFC text spells "့်" and sylbreak as published would
# split "မြင့်" after "မြ". A run of digits stays one unit, as a Latin number does.
_SYLLABLE_START: Final = re.compile(
    "(?<!\u1039)[\u1000-\u1021](?!\u1037?[\u103a\u1039])"
    "|[\u1023-\u102a\u103f\u104a-\u104f]"
    "|(?<![\u1040-\u1049])[\u1040-\u1049]"
)

# The little and full section marks end a clause; a line must never start with one.
_CLAUSE_MARKS: Final = ("\u104a", "\u104b")

# What textwrap treats as whitespace (ASCII only: a no-break space must keep binding its words).
_TEXTWRAP_SPACE: Final = re.compile(r"([\t\n\x0b\x0c\r ]+)")
_TEXTWRAP_MUNGE: Final = str.maketrans("\t\n\x0b\x0c\r", "     ")


class ZawgyiConversionUnavailable(BroadsheetError):
    """Converting Zawgyi needs ICU's transliterator, from the optional PyICU dependency."""


def native_digits(text: str, locale: str) -> str:
    """`text` with ASCII digits written in the locale's default numbering system (CLDR's)."""
    table = _digit_table(locale)
    return text.translate(table) if table else text


@functools.cache
def _digit_table(locale: str) -> dict[int, int] | None:
    system = cldr.numbering_system(locale)
    name = _DIGIT_NAMES.get(system)
    if name is None:
        # "latn", or a system this table does not know: Babel's Latin digits are still readable.
        return None
    zero = ord(unicodedata.lookup(f"{name} DIGIT ZERO"))
    return str.maketrans("0123456789", "".join(chr(zero + n) for n in range(10)))


def syllables(text: str) -> list[str]:
    """`text` cut into Myanmar syllables; whitespace runs and other-script runs are segments of their own.

    `"".join(syllables(text)) == text` always.
    """
    segments = []
    for run in _RUNS.finditer(text):
        piece = run.group()
        if not MYANMAR_CHAR.match(piece):
            segments.append(piece)
            continue
        starts = [m.start() for m in _SYLLABLE_START.finditer(piece) if m.start() > 0]
        segments += [piece[i:j] for i, j in zip([0, *starts], [*starts, len(piece)], strict=True)]
    return segments


def count_syllables(text: str) -> int:
    """How many spoken units `text` holds: Myanmar syllables, and each other-script word as one.

    A unit is a segment of `syllables()` with a letter or a digit in it, so a Latin word or
    number counts once, a Myanmar number once, and spaces and punctuation not at all; the
    Myanmar symbols ၌ ၍ ၎ ၏ are read as words and count.
    """
    return sum(1 for segment in syllables(text) if _is_spoken(segment))


def _is_spoken(segment: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" or "\u104c" <= c <= "\u104f" for c in segment)


def columns(text: str) -> int:
    """Display width of `text`: combining marks and zero-width characters take no column, wide ones two."""
    if text.isascii():
        return len(text)
    return sum(_char_columns(c) for c in text)


@functools.cache
def _char_columns(char: str) -> int:
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def wrap(text: str, width: int, indent: str = "", first: str | None = None) -> str:
    """`text` filled to `width` columns, breaking at spaces, and between Myanmar syllables only within a phrase too long for a line.

    For text without Myanmar this is `textwrap.fill(break_long_words=False,
    break_on_hyphens=False)` exactly. Each line of `text` starts a new paragraph; `first` is
    the first line's indent (default `indent`). A line is longer than `width` only if it holds
    a single unit that cannot be broken: a syllable, a URL, a long word.
    """
    lines = []
    for paragraph in text.split("\n"):
        initial = indent if first is None else first
        if _fits(paragraph, initial, width):
            # Most titles and bylines: one line as it stands, as textwrap would leave it.
            filled = initial + paragraph
        elif paragraph.isascii() and initial.isascii() and indent.isascii():
            # Plain ASCII: textwrap gives the same lines, much faster.
            filled = textwrap.fill(
                paragraph,
                width,
                initial_indent=initial,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        else:
            filled = _fill(paragraph, width, initial, indent)
        # An empty paragraph keeps its place as a line, with no trailing spaces.
        lines.append(filled or initial.rstrip())
        first = None
    return "\n".join(lines)


_REPLACED_BY_TEXTWRAP = re.compile(r"[\t\x0b\x0c\r]")


def _fits(paragraph: str, initial: str, width: int) -> bool:
    return (
        bool(paragraph)
        and paragraph.strip() == paragraph
        and not _REPLACED_BY_TEXTWRAP.search(paragraph)
        and columns(initial) + columns(paragraph) <= width
    )


def _fill(paragraph: str, width: int, initial: str, subsequent: str) -> str:
    """textwrap's greedy algorithm, measured in display columns, over chunks from `_chunks`."""
    if width <= 0:
        raise ValueError(f"invalid width {width!r} (must be > 0)")
    chunks = _chunks(paragraph, width - max(columns(initial), columns(subsequent)))
    chunks.reverse()
    lines: list[str] = []
    while chunks:
        indent = subsequent if lines else initial
        room = width - columns(indent)
        # Like textwrap, whitespace is dropped where a line breaks, but a paragraph's own
        # leading whitespace stays.
        if lines and not chunks[-1].strip():
            chunks.pop()
        line: list[str] = []
        used = 0
        while chunks and used + columns(chunks[-1]) <= room:
            used += columns(chunks[-1])
            line.append(chunks.pop())
        if chunks and not line:
            # Too wide for any line: it goes alone on one rather than being cut.
            line.append(chunks.pop())
        if line and not line[-1].strip():
            line.pop()
        if line:
            lines.append(indent + "".join(line))
    return "\n".join(lines)


def _chunks(paragraph: str, room: int) -> list[str]:
    """textwrap's chunks (whitespace runs and words); a Myanmar phrase wider than `room` is cut between its syllables.

    Burmese puts spaces between phrases, not words: a line breaks at a space where
    it can, as a reader expects, and inside a phrase only when the phrase alone
    would not fit on a line.
    """
    munged = paragraph.expandtabs().translate(_TEXTWRAP_MUNGE)
    chunks = []
    for word in _TEXTWRAP_SPACE.split(munged):
        if not word:
            continue
        if word[0] == " " or not MYANMAR_CHAR.search(word) or columns(word) <= room:
            chunks.append(word)
            continue
        pieces = syllables(word)
        chunk = pieces[0]
        for before, after in pairwise(pieces):
            if (
                MYANMAR_CHAR.match(before)
                and MYANMAR_CHAR.match(after)
                and not after.startswith(_CLAUSE_MARKS)
            ):
                chunks.append(chunk)
                chunk = after
            else:
                chunk += after
        chunks.append(chunk)
    return chunks


def shorten(text: str, width: int, placeholder: str = "…") -> str:
    """`text` on one line of at most `width` columns: whitespace collapsed and, when it is wider, cut where a
    line may break (at a space, or between two Myanmar syllables), `placeholder` ending it.

    `textwrap.shorten` cuts at spaces only and counts characters: Burmese, which
    writes no space between words and spends a character on each mark, came out
    as the placeholder alone or a single phrase. A first word wider than the
    line leaves the placeholder alone, as textwrap does.
    """
    line = " ".join(text.split())
    if columns(line) <= width:
        return line
    room = width - columns(placeholder)
    kept: list[str] = []
    for chunk in _chunks(line, 0):  # no room: every Myanmar phrase in syllables
        room -= columns(chunk)
        if room < 0:
            break
        kept.append(chunk)
    return "".join(kept).rstrip() + placeholder


def zawgyi_probability(text: str) -> float:
    """How likely `text` is Zawgyi-encoded Burmese rather than Unicode, from 0 to 1."""
    # Only a Myanmar letter or sign can be written otherwise in Zawgyi. Text without one is not judged: English
    # alone (the detector, which walks every character in Python, took 50 of read_issue's 55 ms on the sample;
    # the regular expression takes 0.4 ms), and Myanmar digits and punctuation alone (`Sagaing ၏ junta`, written
    # alike in both encodings, to which the model gave 0.98: an English title with a `၏` was refused as Zawgyi).
    if not _ENCODED_APART.search(text):
        return 0.0
    return max(0.0, float(_zawgyi_model()(text)))


def is_zawgyi(text: str) -> bool:
    """Whether `text` is Zawgyi. Judge a whole sentence or paragraph: a word alone is ambiguous."""
    return zawgyi_probability(text) > 0.95


@functools.cache
def _zawgyi_detector() -> Any:
    # Loading the model reads a data file: do it once, and only for those who ask.
    from myanmartools import ZawgyiDetector  # type: ignore[import-untyped, unused-ignore]

    # myanmartools 1.2.1 (the latest) loads it with importlib.resources.open_binary, which
    # warns on Python 3.11+; the warning is the library's to fix, not our users' to see.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="open_binary is deprecated", category=DeprecationWarning)
        return ZawgyiDetector()


@functools.cache
def _zawgyi_model() -> Callable[[str], float]:
    """The detector's `get_zawgyi_probability`, the same to the last bit, in a third of its time or less.

    The detector is a Markov chain over pairs of neighbouring characters: the sum of a table's
    values, one per pair, those of two characters it does not know (a state of 0) being NaN and
    left out. Its own walk finds each character's state by a binary search and a lambda, twice
    per character, in Python: 0.9 of `site`'s 4.1 s of CPU for 200 issues with Burmese catalogs.
    This one looks each state up once in a dictionary, found by the detector's own binary search
    (its characters are not all in order, so some are unknown to it: so they stay), and sums the
    same values in the same order. A model file this cannot read gets the detector's own walk.
    """
    try:
        known, table = _zawgyi_tables()
    except (OSError, ValueError, struct.error):
        return _zawgyi_detector().get_zawgyi_probability  # type: ignore[no-any-return]
    states: dict[str, int] = {}
    for char in known:
        found = bisect.bisect_left(known, char)
        states[char] = found + 1 if found < len(known) and known[found] == char else 0
    size = len(known) + 1

    def probability(text: str) -> float:
        walk = [states.get(char, 0) for char in text]
        ratios = [table[left * size + right] for left, right in pairwise([0, *walk, 0])]
        # NaN is the one value not equal to itself.
        total = sum(ratio for ratio in ratios if ratio == ratio)
        if all(ratio != ratio for ratio in ratios):
            return -math.inf
        # The probability of Zawgyi, from the log-likelihood ratio, without overflow either way.
        if total >= 0:
            odds = math.exp(-total)
            return odds / (odds + 1)
        return 1 / (1 + math.exp(total))

    return probability


def _zawgyi_tables() -> tuple[str, array[float]]:
    """The characters myanmartools' Zawgyi model knows and its table of pairs (`_read_zawgyi_model`), kept in the
    user's cache folder once read: reading the model costs a process 3 to 6 ms and the imports of myanmartools,
    the kept copy (200 KB) a fraction of a millisecond. The copy is named for the model file's size and time, so
    a new myanmartools is read anew, and one that is damaged or of the wrong size is read anew and replaced."""
    name = _kept_name()
    found = None if name is None else _kept_zawgyi_tables(name)
    if found is not None:
        return found
    known, table = _read_zawgyi_model()
    if name is not None:
        characters = known.encode("utf-8")
        keep(name, struct.pack(">I", len(characters)) + characters + table.tobytes())
    return known, table


_KEPT_FORMAT = 1
"""The layout of a kept copy of the Zawgyi tables, in its name: a change to it, or to how the model is read, gets a
new number, so no copy made by older code is read."""


def _kept_name() -> str | None:
    """The name of the kept copy of the installed myanmartools' model, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("myanmartools")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), "resources", "zawgyiUnicodeModel.dat")
    try:
        found = path.stat()
    except OSError:
        return None
    return f"zawgyi-model-{_KEPT_FORMAT}-{found.st_size}-{found.st_mtime_ns}.bin"


def _kept_zawgyi_tables(name: str) -> tuple[str, array[float]] | None:
    data = kept(name)
    if data is None:
        return None
    try:
        (length,) = struct.unpack_from(">I", data)
        known = data[4 : 4 + length].decode("utf-8")
        table = array("f")
        table.frombytes(data[4 + length :])
    except (ValueError, struct.error):
        return None
    return (known, table) if len(table) == (len(known) + 1) ** 2 else None


def _read_zawgyi_model() -> tuple[str, array[float]]:
    """The characters myanmartools' Zawgyi model knows and its table of pairs, read from the library's own model
    file as its detector reads them, the same to the bit (a test holds them to the detector's).

    The detector fills its 227 x 227 table one value at a time in Python: 9 to 13 ms of every
    command that meets Burmese, a sixth of a build's own work. Here each row's default is
    repeated in C and only the pairs the file names (4,502 of 51,529) are set one by one.
    """
    import importlib.resources

    from myanmartools._params import check_signature  # type: ignore[import-untyped, unused-ignore]

    model = importlib.resources.files("myanmartools.resources").joinpath("zawgyiUnicodeModel.dat")
    with model.open("rb") as stream:
        known = check_signature(stream)
        (size,) = struct.unpack(">h", stream.read(2))
        table = array("f", bytes(4 * size * size))
        for start in range(0, size * size, size):
            (count,) = struct.unpack(">h", stream.read(2))
            if count:
                table[start : start + size] = array("f", struct.unpack(">f", stream.read(4))) * size
                for index, value in struct.iter_unpack(">hf", stream.read(6 * count)):
                    table[start + index] = value
    if size != len(known) + 1:
        raise ValueError(f"a model of {size} states for {len(known)} characters")
    # The pair of two unknown characters, as the detector marks it.
    table[0] = math.nan
    return known, table


def zawgyi_to_unicode(text: str) -> str:
    """`text` converted from Zawgyi to Unicode with ICU's "Zawgyi-my" transliterator."""
    return str(_zawgyi_transliterator().transliterate(text))


@functools.cache
def _zawgyi_transliterator() -> Any:
    # PyICU is an optional extra: it builds from source against the system's ICU.
    try:
        import icu  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise ZawgyiConversionUnavailable(
            "converting Zawgyi to Unicode needs PyICU: install the zawgyi extra with "
            "pip install 'broadsheet[zawgyi]' (it builds against ICU: libicu-dev and pkg-config on Debian)"
        ) from exc
    return icu.Transliterator.createInstance("Zawgyi-my")
