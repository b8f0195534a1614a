"""CLDR's answers, kept between runs: each is Babel's own, and a kept one is read without Babel loading its data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import babel
import babel.dates
import babel.numbers
import pytest
from babel import Locale, localedata
from babel.dates import format_date
from babel.numbers import format_decimal
from babel.plural import to_gettext

from broadsheet import cldr


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder of this test's own; the answers this process read before are forgotten."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cldr.forget()
    yield tmp_path / "cache" / "broadsheet" / f"cldr-babel-{babel.__version__}"
    cldr.forget()


def babel_must_not_be_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any question to Babel (a locale's data, a date or a number written) fail the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"Babel was asked: {args}")

    for where, name in ((localedata, "load"), (babel.Locale, "parse"), (babel.dates, "format_date")):
        monkeypatch.setattr(where, name, refuse)
    monkeypatch.setattr(babel.numbers, "format_decimal", refuse)


@pytest.mark.parametrize("locale", ["en", "my", "ar", "pt_BR"])
def test_each_answer_is_babels_own(cache: Path, locale: str) -> None:
    day = date(2023, 12, 21)
    assert cldr.long_date(day, locale) == format_date(day, format="long", locale=locale)
    assert cldr.decimal(1234, locale) == format_decimal(1234, locale=locale)
    assert cldr.decimal(7, locale) == format_decimal(7, locale=locale)
    assert cldr.numbering_system(locale) == Locale.parse(locale).default_numbering_system
    assert cldr.language_name("my", locale) == Locale.parse("my").get_display_name(locale)
    assert cldr.character_order(locale) == Locale.parse(locale).character_order
    assert cldr.plural_rule(locale) == to_gettext(Locale.parse(locale).plural_form)
    middle = Locale.parse(locale).list_patterns["standard"]["middle"]
    assert cldr.list_separator(locale) == middle.replace("{0}", "").replace("{1}", "")


def test_kept_answers_are_read_in_the_next_run_without_babel(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2023, 12, 21)
    first = (cldr.long_date(day, "my"), cldr.language_name("my", "en"), cldr.numbering_system("my"))
    assert sorted(path.name for path in cache.iterdir()) == ["en.json", "my.json"]
    cldr.forget()  # as a new process: it has only the file
    babel_must_not_be_asked(monkeypatch)
    assert (cldr.long_date(day, "my"), cldr.language_name("my", "en"), cldr.numbering_system("my")) == first
    assert first == ("2023 ဒီဇင်ဘာ 21", "Burmese", "mymr")  # the digits are written by burmese.py


def test_a_date_is_asked_with_its_whole_year_and_a_small_number_with_all_of_them(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cldr.long_date(date(2024, 12, 21), "en")
    cldr.decimal(5, "en")
    babel_must_not_be_asked(monkeypatch)
    # next week's issue, the year's first and last days (2024 a leap year), another count
    assert cldr.long_date(date(2024, 12, 28), "en") == "December 28, 2024"
    assert cldr.long_date(date(2024, 1, 1), "en") == "January 1, 2024"
    assert cldr.long_date(date(2024, 2, 29), "en") == "February 29, 2024"
    assert cldr.decimal(199, "en") == "199"
    with pytest.raises(AssertionError, match="Babel was asked"):
        cldr.long_date(date(2025, 1, 1), "en")  # another year is asked of Babel


def test_a_damaged_file_is_asked_again_and_written_anew(cache: Path) -> None:
    cache.mkdir(parents=True)
    for damaged in (b'{"list_middle": ', b"[1, 2]", b"\xff\xfe", b'{"list_middle": 3}'):
        (cache / "en.json").write_bytes(damaged)
        cldr.forget()
        assert cldr.list_separator("en") == ", "
        assert json.loads((cache / "en.json").read_bytes())["list_middle"] == "{0}, {1}"


def test_a_cache_folder_that_cannot_be_made_is_done_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    cldr.forget()
    try:
        assert cldr.language_name("my", "my") == "မြန်မာ"
        assert cldr.long_date(date(2023, 12, 21), "en") == "December 21, 2023"
    finally:
        cldr.forget()


def test_the_files_are_named_for_babels_version_so_an_upgrade_asks_again(cache: Path) -> None:
    cldr.numbering_system("my")
    assert cache.name == f"cldr-babel-{babel.__version__}"
    assert json.loads((cache / "my.json").read_bytes()) == {"numbering_system": "mymr"}


def test_a_code_that_is_no_file_name_is_answered_but_not_kept(cache: Path) -> None:
    assert (
        cldr.character_order("de@euro") == "left-to-right"
    )  # a modifier, which Babel reads: no file named so
    assert not cache.exists() or list(cache.iterdir()) == []
