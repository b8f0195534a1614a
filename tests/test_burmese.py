"""Burmese rules: native digits, syllables, wrapping between syllables, Zawgyi."""

from __future__ import annotations

import itertools
import struct
import textwrap
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from babel import Locale, localedata
from babel.dates import format_date
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from broadsheet import burmese
from broadsheet.burmese import (
    ZawgyiConversionUnavailable,
    columns,
    count_syllables,
    is_zawgyi,
    native_digits,
    shorten,
    syllables,
    wrap,
    zawgyi_probability,
    zawgyi_to_unicode,
)

PARAGRAPH = (
    "မြန်မာနိုင်ငံသည် အရှေ့တောင်အာရှတွင် တည်ရှိသော နိုင်ငံတစ်ခု ဖြစ်သည်။ "
    "ရန်ကုန်မြို့သည် နိုင်ငံ၏ အကြီးဆုံးမြို့ ဖြစ်ပြီး ဆိပ်ကမ်းမြို့လည်း ဖြစ်သည်။ "
    "ဤသတင်းလွှာကို ကြာသပတေးနေ့တိုင်း ပို့ပေးပါသည်။ "
    "ဖတ်ရှုသူများ၏ အကြံပြုချက်များကို ကြိုဆိုပါသည်။"
)

ENGLISH = (
    "Resources from the past week: statements, press releases and reports about Myanmar, "
    "with links such as https://example.org/reports/2023/a-very-long-path-that-cannot-be-broken "
    "and the  double  spaces\tand tabs an editor left behind."
)

# Known pairs, each checked against ICU's transliterator below: (Zawgyi, Unicode).
ZAWGYI_SENTENCES = [
    ("မဂၤလာပါ ကၽြန္ေတာ္ ျမန္မာ စကား ေျပာတတ္ပါတယ္", "မင်္ဂလာပါ ကျွန်တော် မြန်မာ စကား ပြောတတ်ပါတယ်"),
    ("ကၽြန္ေတာ္ ရန္ကုန္ၿမိဳ႕မွာ ေနပါတယ္", "ကျွန်တော် ရန်ကုန်မြို့မှာ နေပါတယ်"),
]

SYLLABLES = ["မြန်", "မာ", "ကျောင်း", "သား", "နိုင်", "ငံ", "ဗုဒ္ဓ", "မင်္ဂ", "လာ", "မြင့်", "ပါ", "သည်", "၂၀၂၃", "ဤ", "၏"]


def textwrap_fill(text: str, width: int, indent: str = "", first: str | None = None) -> str:
    """What the plain-text part was wrapped with before Burmese: textwrap, paragraph by paragraph."""
    lines = []
    for part in text.split("\n"):
        initial = indent if first is None else first
        filled = textwrap.fill(
            part,
            width=width,
            initial_indent=initial,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.append(filled or initial.rstrip())
        first = None
    return "\n".join(lines)


def non_space(text: str) -> str:
    return "".join(text.split())


def syllable_boundaries(text: str) -> set[int]:
    """Offsets in `non_space(text)` where one segment of `text` ends and another starts."""
    offsets, at = {0}, 0
    for segment in syllables(text):
        at += len(non_space(segment))
        offsets.add(at)
    return offsets


def assert_wrapped_between_syllables(text: str, wrapped: str, width: int) -> None:
    lines = wrapped.split("\n")
    assert non_space(wrapped) == non_space(text)
    boundaries = syllable_boundaries(text)
    at = 0
    for line in lines:
        at += len(non_space(line))
        assert at in boundaries, f"line broken inside a syllable: {line!r}"
        head = line.lstrip()[:1]
        if head:
            assert unicodedata.category(head) not in ("Mn", "Mc"), f"line starts with a mark: {line!r}"
            assert head not in "\u103a\u1039\u104a\u104b", (
                f"line starts with asat, virama or a section mark: {line!r}"
            )
        if columns(line) > width:
            assert " " not in line.strip() and count_syllables(line) <= 1, f"line too wide: {line!r}"


# Digits


def test_burmese_long_date_is_written_in_myanmar_digits() -> None:
    formatted = format_date(date(2023, 12, 21), "long", locale="my")
    assert native_digits(formatted, "my") == "၂၀၂၃ ဒီဇင်ဘာ ၂၁"


def test_burmese_integer_is_written_in_myanmar_digits() -> None:
    assert native_digits(format_decimal(1234567, locale="my"), "my") == "၁,၂၃၄,၅၆၇"


def test_only_digits_change_in_mixed_text() -> None:
    assert native_digits("ဖတ်ရှုချိန် 12 မိနစ် (COVID-19)", "my") == "ဖတ်ရှုချိန် ၁၂ မိနစ် (COVID-၁၉)"


@pytest.mark.parametrize("locale", ["en", "th", "en_GB"])
def test_locales_whose_default_is_latin_keep_ascii_digits(locale: str) -> None:
    assert native_digits("2023-12-21, 12 minute read", locale) == "2023-12-21, 12 minute read"


def test_other_scripts_default_digits_come_from_cldr() -> None:
    assert native_digits("2023", "fa") == "۲۰۲۳"
    assert native_digits("2023", "ne") == "२०२३"


def test_every_default_numbering_system_in_babel_has_its_digits() -> None:
    systems = {Locale.parse(name).default_numbering_system for name in localedata.locale_identifiers()}
    for system in systems - {"latn"}:
        digits = burmese._DIGIT_NAMES.get(system)
        assert digits is not None, f"no digits for numbering system {system!r}"
        zero = ord(unicodedata.lookup(f"{digits} DIGIT ZERO"))
        assert [unicodedata.digit(chr(zero + n)) for n in range(10)] == list(range(10))


# Syllables


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("မြန်မာ", ["မြန်", "မာ"]),
        ("ကျောင်းသား", ["ကျောင်း", "သား"]),
        ("ကျွန်တော်", ["ကျွန်", "တော်"]),
        # A stacked consonant (virama U+1039) stays with the syllable above it.
        ("ဗုဒ္ဓ", ["ဗုဒ္ဓ"]),
        ("ဗုဒ္ဓဘာသာ", ["ဗုဒ္ဓ", "ဘာ", "သာ"]),
        # Kinzi: the stacked consonant after "င်္" does not start a syllable.
        ("မင်္ဂလာပါ", ["မင်္ဂ", "လာ", "ပါ"]),
        # NFC order puts dot below before asat; the syllable still ends with both.
        ("မြင့်မား", ["မြင့်", "မား"]),
        ("ဤသတင်း", ["ဤ", "သ", "တင်း"]),
        ("၎င်း၏", ["၎င်း", "၏"]),
        ("ဖြစ်သည်။", ["ဖြစ်", "သည်", "။"]),
        ("၂၀၂၃ခုနှစ်", ["၂၀၂၃", "ခု", "နှစ်"]),
    ],
)
def test_words_split_into_their_syllables(word: str, expected: list[str]) -> None:
    assert syllables(word) == expected


def test_latin_words_spaces_and_numbers_are_segments_of_their_own() -> None:
    assert syllables("Hello မြန်မာ 2023") == ["Hello", " ", "မြန်", "မာ", " ", "2023"]


def test_segments_join_back_to_the_text() -> None:
    for text in (PARAGRAPH, ENGLISH, "", "  ", "ာ stray mark, e\u0301 and မြန်\u200bမာ"):
        assert "".join(syllables(text)) == text


def test_syllables_are_counted_and_other_words_count_once() -> None:
    assert count_syllables("မြန်မာနိုင်ငံ") == 4
    assert count_syllables("Hello မြန်မာ 2023") == 4
    assert count_syllables("ဖြစ်သည်။ — ") == 2
    assert count_syllables("") == 0


# Columns and wrapping


def test_marks_and_zero_width_characters_take_no_column() -> None:
    assert columns("မြန်မာ") == 5
    assert columns("e\u0301\u200b") == 1
    assert columns("ပါ") == 2


def test_english_is_wrapped_exactly_as_textwrap_does() -> None:
    for width in (10, 20, 30, 72):
        assert wrap(ENGLISH, width) == textwrap_fill(ENGLISH, width)
        assert wrap(ENGLISH, width, "  ", "- ") == textwrap_fill(ENGLISH, width, "  ", "- ")


def test_shorten_keeps_text_that_fits_on_one_line() -> None:
    assert shorten("  one\ttwo\n three ", 20) == "one two three"
    assert shorten(PARAGRAPH, columns(PARAGRAPH)) == PARAGRAPH


def test_shorten_cuts_other_scripts_at_a_space() -> None:
    assert shorten(ENGLISH, 40) == "Resources from the past week:…"
    assert shorten("unbreakable-" * 20, 40) == "…"


@pytest.mark.parametrize("text", [PARAGRAPH, PARAGRAPH.replace(" ", "")], ids=["phrases", "no-spaces"])
@pytest.mark.parametrize("width", [20, 41, 80])
def test_shorten_cuts_burmese_between_syllables_as_near_the_width_as_they_allow(
    text: str, width: int
) -> None:
    short = shorten(text, width)
    head = short.removesuffix("…")
    assert short.endswith("…") and text.startswith(head)
    # Cut where a syllable ends, and no syllable more would have fitted.
    ends = list(itertools.accumulate(map(len, syllables(text))))
    assert len(head) in ends
    longer = next(text[:end].rstrip() for end in ends if len(text[:end].rstrip()) > len(head))
    assert columns(short) <= width < columns(longer + "…")


def test_each_line_of_the_text_is_a_paragraph_and_empty_ones_stay() -> None:
    assert wrap("one two three\n\nfour", 8, "  ", "* ") == "* one\n  two\n  three\n\n  four"


@pytest.mark.parametrize("width", [20, 30, 40])
def test_burmese_paragraph_breaks_between_syllables_within_width(width: int) -> None:
    wrapped = wrap(PARAGRAPH, width)
    assert len(wrapped.split("\n")) > 1
    assert_wrapped_between_syllables(PARAGRAPH, wrapped, width)
    assert all(columns(line) <= width for line in wrapped.split("\n"))


def test_burmese_indent_counts_towards_the_width() -> None:
    wrapped = wrap(PARAGRAPH, 30, "    ", "  - ")
    lines = wrapped.split("\n")
    assert lines[0].startswith("  - ")
    assert all(line.startswith("    ") for line in lines[1:])
    assert all(columns(line) <= 30 for line in lines)


def test_a_section_mark_never_starts_a_line() -> None:
    for width in range(3, 12):
        assert not any(line.startswith("။") for line in wrap("ဖြစ်သည်။ ဖြစ်သည်။", width).split("\n"))


def test_burmese_breaks_at_a_space_rather_than_inside_a_phrase() -> None:
    # "...with guns": a space comes just before "သေနတ်" (gun); it must not end a line as "သေ" and start the next with "နတ်".
    text = "၎င်းတို့၏ အနာဂတ်ကို သေနတ်ကိုင်ထားသူများလက်သို့ အပ်နှင်းရန်"
    for width in range(22, 40):
        lines = wrap(text, width).split("\n")
        assert all(columns(line) <= width for line in lines), (width, lines)
        assert "".join(lines) == text.replace(" ", "") or " ".join(lines) == text, (width, lines)
        for line in lines:
            assert not line.endswith("သေ"), (width, lines)
            assert not line.startswith("နတ်"), (width, lines)


def test_burmese_phrases_that_fit_a_line_are_never_cut() -> None:
    text = "မြန်မာပြည်သူများ ကြံ့ကြံ့ခံ ဖြတ်သန်းခဲ့ရသည့် ယခုနှစ်ကို ဖော်ပြနိုင်လောက်သည့် စကားလုံးများ"
    phrases = text.split(" ")
    for width in range(max(columns(p) for p in phrases), 60):
        lines = wrap(text, width).split("\n")
        assert " ".join(lines) == text  # every break is at one of the spaces
        assert all(columns(line) <= width for line in lines)


def test_a_phrase_longer_than_a_line_breaks_between_syllables_never_inside_one() -> None:
    phrase = "လူ့အခွင့်အရေးချိုးဖောက်မှုများကိုမှတ်တမ်းတင်ခြင်း"
    wrapped = wrap(f"က {phrase}", 12)
    lines = wrapped.split("\n")
    # Cut it must be: it starts on the first line, and every cut falls between two of its syllables.
    assert lines[0].startswith("က ") and len(lines) > 2
    assert "".join(lines)[2:] == phrase
    assert all(columns(line) <= 12 for line in lines)
    cuts = [len("".join(lines[: i + 1])) - 2 for i in range(len(lines) - 1)]
    boundaries = list(itertools.accumulate(len(s) for s in syllables(phrase)))
    assert all(cut in boundaries for cut in cuts), (cuts, boundaries)


def test_a_syllable_wider_than_the_line_stands_alone() -> None:
    assert wrap("ကျောင်းသား", 3) == "ကျောင်း\nသား"


def test_zero_width_space_ends_a_line_rather_than_starting_one() -> None:
    assert wrap("မြန်\u200bမာ", 3) == "မြန်\u200b\nမာ"


TOKENS = st.one_of(
    st.sampled_from(SYLLABLES),
    st.tuples(st.sampled_from(SYLLABLES), st.sampled_from(["။", "၊"])).map("".join),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:/.-", min_size=1, max_size=14).map(
        lambda w: f" {w} "
    ),
    st.sampled_from([" ", "  "]),
)


@settings(max_examples=200, deadline=None)
@given(tokens=st.lists(TOKENS, max_size=40), width=st.integers(min_value=1, max_value=45))
def test_mixed_text_wraps_between_syllables_and_words(tokens: list[str], width: int) -> None:
    text = "".join(tokens)
    assert_wrapped_between_syllables(text, wrap(text, width), width)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("abcde fgh\t\n-./"), max_size=120),
    width=st.integers(min_value=1, max_value=30),
    indent=st.sampled_from(["", " ", "    "]),
    first=st.sampled_from([None, "", "- ", "  * "]),
)
def test_text_without_burmese_wraps_exactly_as_textwrap(
    text: str, width: int, indent: str, first: str | None
) -> None:
    assert wrap(text, width, indent, first) == textwrap_fill(text, width, indent, first)


# Zawgyi


@pytest.mark.parametrize(("zawgyi", "unicode"), ZAWGYI_SENTENCES)
def test_zawgyi_sentence_converts_to_its_known_unicode(zawgyi: str, unicode: str) -> None:
    assert zawgyi_to_unicode(zawgyi) == unicode


@pytest.mark.parametrize(("zawgyi", "unicode"), ZAWGYI_SENTENCES)
def test_zawgyi_sentence_is_detected_and_its_unicode_is_not(zawgyi: str, unicode: str) -> None:
    assert zawgyi_probability(zawgyi) > 0.95
    assert is_zawgyi(zawgyi)
    assert zawgyi_probability(unicode) < 0.05
    assert not is_zawgyi(unicode)


def test_known_zawgyi_words_convert() -> None:
    assert zawgyi_to_unicode("မဂၤလာပါ") == "မင်္ဂလာပါ"
    assert zawgyi_to_unicode("ကၽြန္ေတာ္") == "ကျွန်တော်"


def test_unicode_burmese_from_the_catalog_is_not_zawgyi() -> None:
    assert not is_zawgyi("ပြီးခဲ့သည့် အပတ်မှ အရင်းအမြစ်များ")
    assert not is_zawgyi(PARAGRAPH)


@pytest.mark.parametrize("text", ["၏", "Sagaing ၏ junta.", "winter ။", "a ၏ b ။ ၂၀၂၃"])
def test_myanmar_punctuation_and_digits_alone_are_not_zawgyi(text: str) -> None:
    assert zawgyi_probability(text) == 0.0
    assert zawgyi_to_unicode(text) == text


# Text the detector may meet: Myanmar letters and signs (Zawgyi's and Unicode's), Myanmar digits
# (which the model does not know), the spaces and joiners it does know, and Latin text around them.
_DETECTOR_TEXT = st.text(
    st.one_of(
        st.characters(min_codepoint=0x1000, max_codepoint=0x109F),
        st.characters(min_codepoint=0x2000, max_codepoint=0x200D),
        st.characters(min_codepoint=0xA9E0, max_codepoint=0xA9FF),
        st.characters(min_codepoint=0xAA60, max_codepoint=0xAA7F),
        st.sampled_from(" .,-()\n0123456789abcXYZ"),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(_DETECTOR_TEXT)
def test_the_detector_s_probability_is_the_library_s_to_the_bit(text: str) -> None:
    """broadsheet walks myanmartools' model itself, faster: the answers must be the library's own."""
    assert burmese._zawgyi_model()(text) == burmese._zawgyi_detector().get_zawgyi_probability(text)


@pytest.mark.parametrize("text", [PARAGRAPH, *itertools.chain.from_iterable(ZAWGYI_SENTENCES)])
def test_the_detector_s_probability_of_real_sentences_is_the_library_s(text: str) -> None:
    assert burmese._zawgyi_model()(text) == burmese._zawgyi_detector().get_zawgyi_probability(text)


def test_the_model_is_read_as_the_detector_reads_it() -> None:
    """broadsheet reads myanmartools' model file itself, faster: its characters and table must be the detector's."""
    known, table = burmese._read_zawgyi_model()
    detector = burmese._zawgyi_detector()
    assert known == detector._chars
    assert table.tobytes() == detector._params.tobytes()


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "broadsheet"


def test_the_model_once_read_is_kept_and_read_back_the_same_without_myanmartools(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known, table = burmese._zawgyi_tables()
    assert [path.name.startswith("zawgyi-model-") for path in empty_cache.iterdir()] == [True]

    def read_again() -> None:
        raise AssertionError("the model file was read again")

    monkeypatch.setattr(burmese, "_read_zawgyi_model", read_again)
    kept_known, kept_table = burmese._zawgyi_tables()
    detector = burmese._zawgyi_detector()
    assert (
        (kept_known, kept_table.tobytes())
        == (known, table.tobytes())
        == (detector._chars, detector._params.tobytes())
    )


@pytest.mark.parametrize("damage", ["truncated", "a row short", "not the tables", "empty"])
def test_a_damaged_kept_model_is_read_anew_and_replaced(empty_cache: Path, damage: str) -> None:
    burmese._zawgyi_tables()
    (kept,) = empty_cache.iterdir()
    whole = kept.read_bytes()
    kept.write_bytes(
        {
            "truncated": whole[:10],
            "a row short": whole[: -4 * 228],
            "not the tables": b"\xff" * 50,
            "empty": b"",
        }[damage]
    )
    known, table = burmese._zawgyi_tables()
    assert (known, table.tobytes()) == (
        burmese._zawgyi_detector()._chars,
        burmese._zawgyi_detector()._params.tobytes(),
    )
    assert kept.read_bytes() == whole


def test_a_cache_folder_that_cannot_be_made_leaves_the_model_read_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    known, table = burmese._zawgyi_tables()
    assert (known, table.tobytes()) == (
        burmese._zawgyi_detector()._chars,
        burmese._zawgyi_detector()._params.tobytes(),
    )


@pytest.mark.parametrize(
    "fault", [ValueError("invalid ssv"), OSError("no such file"), struct.error("short read")]
)
def test_a_model_file_that_cannot_be_read_leaves_the_detector_to_answer(
    monkeypatch: pytest.MonkeyPatch, fault: Exception
) -> None:
    """Another version of myanmartools, whose model file reads otherwise, still decides: by its own method."""

    class Detector:
        # The opposite of the model's answers, so that only this detector can have given them.
        def get_zawgyi_probability(self, text: str) -> float:
            return 0.99 if text == "မောင်" else 0.01

    def unreadable() -> None:
        raise fault

    monkeypatch.setattr(burmese, "_zawgyi_tables", unreadable)
    monkeypatch.setattr(burmese, "_zawgyi_detector", Detector)
    burmese._zawgyi_model.cache_clear()
    try:
        assert is_zawgyi("မောင်")
        assert not is_zawgyi("ေမာင္")
    finally:
        burmese._zawgyi_model.cache_clear()


@pytest.mark.parametrize("text", ["Resources from the past week", "2023", ""])
def test_text_without_burmese_is_never_zawgyi(text: str) -> None:
    assert zawgyi_probability(text) == 0.0
    assert not is_zawgyi(text)


@pytest.mark.usefixtures("without_pyicu")
def test_conversion_without_pyicu_says_which_extra_to_install() -> None:
    with pytest.raises(ZawgyiConversionUnavailable, match=r"pip install 'broadsheet\[zawgyi\]'"):
        zawgyi_to_unicode("မဂၤလာပါ")
