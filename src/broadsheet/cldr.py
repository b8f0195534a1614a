"""What an edition asks of CLDR through Babel (its date written long, a language's name, ...), kept between runs.

An English build asks Babel five small things: the issue's date written long,
the digits of the locale's numbering system, the Burmese edition's name in
Burmese and in English, and the separator of a list. To answer, Babel loads its
global data (a 470 KB pickle), then `root`, `en` and `my` (100 to 250 KB each,
merged): 20 to 26 ms of a build process whose own work is about 30
(benchmarks/README.md). So each answer is kept in the user's cache folder, in
a small JSON file per locale and version of Babel, and a build reads it from there:
Babel loads its data only for a question not asked before (the first issue of
a year: a date is asked with its whole year) or when the file is missing or
unreadable.
Only Babel's own answers are kept, asked the same way; what broadsheet makes of
them is worked out anew in each run, so a change to that never meets an old answer.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import date, timedelta

import babel

from .files import keep, kept

_SMALL = 200
"""Numbers below this are asked of Babel together: the counts an email writes (minutes, resources, names)."""
_answers: dict[str, dict[str, str]] = {}
"""Answers read or asked in this process, by the locale whose data gives them, then by question."""
_lock = threading.Lock()


def long_date(day: date, locale: str) -> str:
    """`day` written the way `locale` writes a date in full ("December 21, 2023"), in Latin digits.

    Babel is asked for every day of `day`'s year at once (5 ms more): next week's issue finds its date kept."""

    def ask() -> dict[str, str]:
        from babel.dates import format_date

        first = date(day.year, 1, 1)
        year = [first + timedelta(days=n) for n in range((date(day.year + 1, 1, 1) - first).days)]
        return {
            f"long_date {one.isoformat()}": format_date(one, format="long", locale=locale) for one in year
        }

    return remembered(locale, f"long_date {day.isoformat()}", ask)


def decimal(value: int, locale: str) -> str:
    """`value` written as `locale` writes numbers ("1,234"), in Latin digits; Babel is asked for 0 to 199 at once."""

    def ask() -> dict[str, str]:
        from babel.numbers import format_decimal

        numbers = range(_SMALL) if 0 <= value < _SMALL else (value,)
        return {f"decimal {number}": format_decimal(number, locale=locale) for number in numbers}

    return remembered(locale, f"decimal {value}", ask)


def numbering_system(locale: str) -> str:
    """The name of `locale`'s own digits in CLDR: `latn` for 0-9, `mymr` for Burmese's."""
    return answer(locale, "numbering_system", lambda: babel.Locale.parse(locale).default_numbering_system)


def language_name(code: str, locale: str) -> str:
    """The name of the language `code` as `locale` writes it ("Burmese" in English, "မြန်မာ" in Burmese); `code`
    itself when CLDR has none."""
    name = answer(
        locale, f"language_name {code}", lambda: babel.Locale.parse(code).get_display_name(locale) or ""
    )
    return name or code


def character_order(locale: str) -> str:
    """How `locale`'s language is laid out: `left-to-right`, or `right-to-left` (Arabic, Hebrew, ...)."""
    return answer(locale, "character_order", lambda: babel.Locale.parse(locale).character_order)


def list_separator(locale: str) -> str:
    """What `locale` puts between the items of a list: ", " in English, "၊ " in Burmese."""
    middle = answer(
        locale, "list_middle", lambda: babel.Locale.parse(locale).list_patterns["standard"]["middle"]
    )
    return middle.replace("{0}", "").replace("{1}", "")


def plural_rule(locale: str) -> str:
    """CLDR's plural rule of `locale` as Babel writes it for gettext (`nplurals=2; plural=(n != 1);`)."""

    def ask() -> str:
        from babel.plural import to_gettext

        return to_gettext(babel.Locale.parse(locale).plural_form)

    return answer(locale, "plural_rule", ask)


def answer(locale: str, question: str, ask: Callable[[], str]) -> str:
    """The answer to `question` about `locale` kept from an earlier run; else `ask()`'s, kept for the next runs."""
    return remembered(locale, question, lambda: {question: ask()})


def remembered(locale: str, question: str, ask: Callable[[], dict[str, str]]) -> str:
    """The answer to `question` about `locale` kept from an earlier run; else the one `ask()` gives it among
    others (questions likely to come next, asked while Babel has the data loaded), all kept for the next runs."""
    with _lock:
        kept = _answers.get(locale)
        if kept is None:
            kept = _answers[locale] = _read(locale)
        found = kept.get(question)
        if found is not None:
            return found
    new = ask()
    with _lock:
        kept.update(new)
        _write(locale, kept)
    return new[question]


def forget() -> None:
    """Forget the answers read in this process (tests, and a process whose cache folder changed)."""
    with _lock:
        _answers.clear()


def _name(locale: str) -> str | None:
    """Where `locale`'s answers are kept in the cache folder; None for a code that is no file name."""
    return f"cldr-babel-{babel.__version__}/{locale}.json" if _LOCALE.fullmatch(locale) else None


_LOCALE = re.compile(r"[A-Za-z0-9_]+")
"""A locale code as a file name: anything else (never a configured locale) is asked anew in each run."""


def _read(locale: str) -> dict[str, str]:
    name = _name(locale)
    data = None if name is None else kept(name)
    try:
        answers = json.loads(data) if data is not None else {}
    except ValueError:
        return {}  # not a file this module wrote whole: asked again and written anew
    if not isinstance(answers, dict):
        return {}
    return {question: text for question, text in answers.items() if isinstance(text, str)}


def _write(locale: str, answers: dict[str, str]) -> None:
    name = _name(locale)
    if name is not None:
        keep(name, json.dumps(answers, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8"))
