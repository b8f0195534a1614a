"""What the declared formats (settings, issue format) share: one way to declare them, one validator, one wording.

`settings.py` and `issue.py` declare their formats as frozen `msgspec.Struct`s whose
fields are annotated with a description and their constraints
(`title: Annotated[str, declared(description=...)]`, the default after `=`). `validate` walks
a mapping read from TOML or YAML against such a class and reports every problem
in it, each with its location (`('resources', 'reports', 2, 'url')`) and in the
words users read (`Expected a string but received: [1, 2]`).

Not a library: pydantic cost every command about 130 ms of CPU (its import,
and building the models as their classes were defined), a quarter of a
`broadsheet build` and the largest part of its gap to the import floor
(benchmarks/README.md, Start-up); msgspec's own validation stops at the first
error, where a user should see every error of a file, so only its Structs are used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import operator
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import msgspec
from babel import Locale, UnknownLocaleError

from . import cldr

Location = tuple[int | str, ...]
T = TypeVar("T")


def field_path(loc: Sequence[int | str]) -> str:
    """`('resources', 'reports', 2, 'url')` -> `resources.reports[2].url`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def received(value: Any) -> str:
    """How a received value is shown in a message: short, and in YAML's terms."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # 2 ms to import, needed only for a mistake

    choices = list(choices)
    # difflib compares characters as written: 'URL' is nothing like 'url' to it.
    match = [choice for choice in choices if choice.lower() == word.lower()]
    match = match or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(text: str) -> str | None:
    """Where `text` holds a control character other than a tab or a line break (`U+0000 at character 3`), or None:
    what no setting nor consent text may hold. TOML's escapes can write one in a setting (a NUL or an escape
    in a category label reached MJML, which refused the email as an invalid template), and PostgreSQL cannot
    store a NUL in text (where SQLite took it: the same import would fail on one and not the other)."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X} at character {found.start() + 1}" if found else None


_NOT_IN_URLS = re.compile(r"[\s\x00-\x1f\x7f]")
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
"""Characters that pasted text may carry inside a URL, unseen: soft hyphens, zero-width spaces, joiners, byte
order marks and direction marks (a zero-width non-joiner or joiner may belong to a word in a path, so they are
let be)."""


def has_invisible(url: str) -> bool:
    """Whether `url` holds a character that pasted text carries unseen (a soft hyphen, a zero-width space)."""
    return _INVISIBLE.search(url) is not None


def url_problem(url: str, schemes: Sequence[str] = ("http", "https")) -> str | None:
    """Why `url` is not an absolute URL with one of `schemes`, or None when it is; with what to write instead
    where a URL was pasted with spaces around it, between `<` and `>`, or without its scheme (`www.example.org`)."""
    problem = _url_problem(url, schemes)
    if problem is None or not url:
        return problem
    stripped = url.strip()
    angled = len(stripped) > 1 and stripped[0] == "<" and stripped[-1] == ">"
    inside = stripped[1:-1].strip() if angled else stripped
    if inside != url and _url_problem(inside, schemes) is None:
        spaced = stripped != url or (angled and inside != stripped[1:-1])
        around = " and ".join(
            what for what, found in (("the spaces", spaced), ("the '<' and '>'", angled)) if found
        )
        return f"{problem} (write it without {around} around it: {inside!r})"
    schemed = f"https://{inside}"
    if "https" in schemes and inside.lower().startswith("www.") and _url_problem(schemed, schemes) is None:
        return f"{problem} (write it with its scheme: {schemed!r})"
    return problem


def _url_problem(url: str, schemes: Sequence[str]) -> str | None:
    wanted = "an http(s)" + (" or mailto:" if "mailto" in schemes else "")
    expectation = f"Expected {wanted} URL but received: {received(url)}"
    if not url or _NOT_IN_URLS.search(url):
        return expectation
    invisible = _INVISIBLE.search(url)
    if invisible:
        return f"{expectation} (it holds an invisible character, U+{ord(invisible.group()):04X}, at character {invisible.start() + 1}; retype the URL there)"
    try:
        parts = urlsplit(url)
    except ValueError:
        return expectation
    if parts.scheme.lower() not in schemes:
        return expectation
    if parts.scheme.lower() == "mailto":
        return None if "@" in parts.path else expectation
    try:
        _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        return f"{expectation} (the port must be a number from 1 to 65535)"
    return None if parts.hostname else expectation


_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def pasted_end(url: str) -> str | None:
    """Why `url` may end with a character copied from the text around it (a full stop, a comma, a closing
    parenthesis that opened before the URL), or None. Such a URL is valid, and rarely the page's address."""
    last = url[-1:]
    if last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last]):
        return f"the URL ends with {last!r}, which no {_CLOSERS[last]!r} in it opens, as when one is copied with the text after it; if the page's address does not end so, remove it"
    if last and last in ".,;:!?'\"":
        return f"the URL ends with {last!r}, as when one is copied with the punctuation after it; if the page's address does not end so, remove it"
    return None


def http_url(url: str) -> None:
    """A field's check: `url` is an absolute http(s) URL, else the reason as a ValueError."""
    problem = url_problem(url)
    if problem:
        raise ValueError(problem)


def written_locale(code: str) -> Locale | None:
    """The locale `code` names, written with `_` or `-` in any case (`my-mm` names `my_MM`), or None.

    Editions, catalogs' folders and text marked with a language are matched by
    the code as written, so formats take only `str(locale)` of what this returns.
    """
    try:
        return Locale.parse(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None


@functools.cache
def same_language(one: str, other: str) -> bool:
    """Whether two locale codes name one language in one script, whatever their regions: a title marked `my_MM`
    is read as written by the `my` edition's readers, one marked `zh_Hant` is not by the `zh_Hans` edition's."""
    if one == other:
        return True
    first, second = written_locale(one), written_locale(other)
    return (
        first is not None
        and second is not None
        and first.language == second.language
        and (first.script or "") == (second.script or "")
    )


def language_tag(code: str) -> str:
    """The BCP 47 tag of a locale code as configured (`pt_BR` -> `pt-BR`, `zh_Hant_TW` -> `zh-Hant-TW`): what HTML's
    `lang` and `hreflang` and a feed's `xml:lang` take; a browser or screen reader reads `pt_BR` as no language."""
    return code.replace("_", "-")


@functools.cache
def text_direction(code: str) -> str:
    """`rtl` for a language written right to left (Arabic, Hebrew, Persian, Urdu...) as CLDR says, else `ltr`:
    the `dir` of an element in that language, which lays it out right to left without reordering its neighbours."""
    return "rtl" if cldr.character_order(code) == "right-to-left" else "ltr"


def code_problem(code: str, kind: str = "language", written: str = "as in `locales`") -> str | None:
    """Why `code` is no `kind` code (`language`, `locale`) written as the formats take it, as `str(locale)`
    writes it; None when it is one. Editions, catalogs' folders and text marked with a language are matched by
    the code as written: `my-MM`, `MY` or `mya` would make a Burmese title foreign to the Burmese edition."""
    locale = written_locale(code)
    if locale is None:
        named = [key for key, name in Locale("en").languages.items() if name.lower() == code.strip().lower()]
        hint = f"; write {named[0]!r}" if named else ""
        return f"Expected a {kind} code such as 'en' or 'my' but received: {code!r}{hint}"
    if code != str(locale):
        alone = f" (or {locale.language!r} for the language alone)" if str(locale) != locale.language else ""
        return (
            f"Expected a {kind} code written {written} ('en', 'my', 'pt_BR') but received: {code!r}; "
            f"write {str(locale)!r}{alone}"
        )
    return None


# -- Declaring a format ----------------------------------------------------------


class Rule(msgspec.Struct, frozen=True):
    """What a declared field asks of its value beyond its type, and what the docs say of it.

    `before` may reshape the value as read (one name for a list of names) and
    `check` inspects the value once it has its type; either raises ValueError
    with the message a user reads.
    """

    description: str
    nonempty: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    before: Callable[[Any], Any] | None = None
    check: Callable[[Any], object] | None = None


_NO_DEFAULT: Any = msgspec.NODEFAULT


def declared(
    *,
    description: str,
    nonempty: bool = False,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    before: Callable[[Any], Any] | None = None,
    check: Callable[[Any], object] | None = None,
) -> Rule:
    """The rule of a field of a declared format, written in its annotation: `name: Annotated[str, declared(...)]`.
    The field is required unless it has a default (`= value`, or `= msgspec.field(default_factory=...)`)."""
    return Rule(description, nonempty, ge, gt, le, before, check)


class DeclaredField(msgspec.Struct, frozen=True):
    """One field of a declared format, as validation and the docs see it."""

    name: str
    kind: Any
    rule: Rule
    default: Any
    factory: Callable[[], Any] | None

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT and self.factory is None

    @property
    def description(self) -> str:
        return self.rule.description


@functools.cache
def fields_of(cls: type) -> dict[str, DeclaredField]:
    """The declared fields of the format `cls`, in declaration order."""
    hints = typing.get_type_hints(cls, include_extras=True)
    declarations = {}
    for spec in msgspec.structs.fields(cls):
        kind, rule, *_ = typing.get_args(hints[spec.name])
        factory = None if spec.default_factory is msgspec.NODEFAULT else spec.default_factory
        declarations[spec.name] = DeclaredField(spec.name, kind, rule, spec.default, factory)
    return declarations


# -- Validating a mapping against a format --------------------------------------------


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong in a file, at `loc`; `at_key` when the key itself is wrong (an unknown field)."""

    loc: Location
    message: str
    at_key: bool = False


class Invalid(Exception):
    """Every problem `validate` found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{field_path(p.loc)}: {p.message}" for p in problems))
        self.problems = tuple(problems)


class _Mismatch(Exception):
    """A value is not of the type expected; `expected` says what it should be, as in 'Expected a list'."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


ACROSS_FIELDS = "problems_across_fields"
"""A format may define this static method: given its fields that are valid, by name, it yields
(location within the format, message) for each problem that involves more than one field."""

_FAILED: Any = object()
_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # `title: 2024` is text too
    raise _Mismatch("a string")


def _to_int(value: Any) -> int:
    # As lenient as the pydantic models were: 72.0, "72" and "72.0" are 72; 72.5 and "1e3" are errors.
    if isinstance(value, str):
        written = re.fullmatch(r"\s*([+-]?[0-9](?:_?[0-9])*)(?:\.0*)?\s*", value)
        if written:
            return int(written.group(1))
        raise _Mismatch("an integer")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise _Mismatch("an integer")


def _to_float(value: Any) -> float:
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):
        pass
    raise _Mismatch("a number")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _Mismatch("true or false")


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""A date as the issue format writes it; ASCII digits only."""


def iso_date(text: str) -> dt.date | None:
    """The day `text` writes as YYYY-MM-DD, exactly so (not `20231221`, which `fromisoformat` also reads); None
    for anything else, an impossible day (`2023-02-30`) included."""
    if not ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@functools.cache
def _months() -> dict[str, int]:
    """English month names, whole and shortened as CLDR writes them (`december`, `dec`), and `sept`, to their
    numbers: read only for a date written otherwise, so Babel's English data is loaded only then."""
    months = Locale("en").months["format"]
    named = {
        name.lower(): number for width in ("wide", "abbreviated") for number, name in months[width].items()
    }
    return named | {"sept": 9}


_NUMBERS = r"(\d{1,4})[-/. ](\d{1,2})[-/. ](\d{1,4})"
"""A day written in numbers another way: `21/12/2023`, `12/21/2023`, `2023/12/21`, `2023-1-4`, `21.12.2023`."""
_NAMED = r"(?:[a-z]+,?\s+)?(?:(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?|([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?),?\s+(\d{4})"
"""A day written with its month's English name: `21 December 2023`, `Thursday, Dec. 21st, 2023`."""


def date_hint(written: str) -> str:
    """What to write for a date written another way than YYYY-MM-DD (`December 21, 2023`, `21/12/2023`, in
    Burmese digits): `; write 2023-12-21`, or both days where the order of day and month is unsaid
    (`05/12/2023`); empty when `written` reads as no day."""
    text = (
        written.strip().strip("\"'\u201c\u201d\u2018\u2019").lower()
    )  # curly quotes pasted around it are no YAML quotes
    days: list[tuple[int, int, int]] = []
    if numbers := re.fullmatch(_NUMBERS, text):
        first, second, third = (int(part) for part in numbers.groups())
        if len(numbers.group(1)) == 4:
            days = [(first, second, third)]
        elif len(numbers.group(3)) == 4:
            days = [(third, second, first), (third, first, second)]
    elif len(text) == 8 and text.isdigit():
        days = [(int(text[:4]), int(text[4:6]), int(text[6:]))]
    elif named := re.fullmatch(_NAMED, text):
        day, month = (named.group(1), named.group(2)) if named.group(1) else (named.group(4), named.group(3))
        if month in _months():
            days = [(int(named.group(5)), _months()[month], int(day))]
    written_days = []
    for year, month, day in days:
        with contextlib.suppress(ValueError):
            found = dt.date(year, month, day).isoformat()
            if found not in written_days:
                written_days.append(found)
    if not written_days or written_days == [written]:
        return ""
    if len(written_days) == 2:
        return f"; write {written_days[0]} or {written_days[1]}, whichever day it is"
    return f"; write {written_days[0]}"


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    day = iso_date(value) if isinstance(value, str) else None
    if day is None:
        raise _Mismatch("a date (YYYY-MM-DD)")
    return day


_SCALARS: dict[Any, Callable[[Any], Any]] = {
    str: _to_str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    dt.date: _to_date,
}


def validate(cls: type[T], data: Any) -> T:
    """An instance of the declared format `cls` made from `data`, or `Invalid` with every problem in it."""
    problems: list[Problem] = []
    value = _value(cls, data, (), problems)
    if problems:
        raise Invalid(problems)
    return typing.cast(T, value)


def _value(kind: Any, value: Any, loc: Location, problems: list[Problem]) -> Any:
    """`value` as an instance of `kind`, or _FAILED with the reasons added to `problems`."""
    try:
        return _converted(kind, value, loc, problems)
    except _Mismatch as mismatch:
        if value is None and mismatch.expected == "a string":  # `title:` left blank reads as null
            problems.append(Problem(loc, "must not be empty"))
        else:
            problems.append(Problem(loc, f"Expected {mismatch.expected} but received: {received(value)}"))
        return _FAILED


def _converted(kind: Any, value: Any, loc: Location, problems: list[Problem]) -> Any:
    if kind in _SCALARS:
        return _SCALARS[kind](value)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):  # `X | None`, the only union declared
        if value is None:
            return None
        [kind] = [arg for arg in args if arg is not types.NoneType]
        return _converted(kind, value, loc, problems)
    if origin is Literal:
        if value in args and isinstance(value, str):
            return value
        choices = ", ".join(repr(arg) for arg in args[:-1]) + f" or {args[-1]!r}"
        raise _Mismatch(choices)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise _Mismatch("a list")
        items = [_value(args[0], item, (*loc, i), problems) for i, item in enumerate(value)]
        return _FAILED if any(item is _FAILED for item in items) else origin(items)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _Mismatch("a mapping")
        pairs = {
            _value(args[0], key, (*loc, key), problems): _value(args[1], item, (*loc, key), problems)
            for key, item in value.items()
        }
        return _FAILED if any(part is _FAILED for pair in pairs.items() for part in pair) else pairs
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return _record(typing.cast(type, kind), value, loc, problems)
    raise TypeError(f"{kind!r} cannot be declared: {field_path(loc)}")


def _record(cls: type, value: Any, loc: Location, problems: list[Problem]) -> Any:
    """An instance of the declared format `cls` from the mapping `value`."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise _Mismatch("a mapping")
    fields = fields_of(cls)
    found: dict[str, Any] = {}
    failed = False
    for name, declaration in fields.items():
        if name in value:
            found[name] = _field(declaration, value[name], (*loc, name), problems)
            failed = failed or found[name] is _FAILED
        elif declaration.factory:
            found[name] = declaration.factory()
        elif not declaration.required:
            found[name] = declaration.default
        else:
            problems.append(Problem((*loc, name), "required field is missing"))
            failed = True
    for key in value:
        if key not in fields:
            hint = did_you_mean(str(key), fields)
            problems.append(Problem((*loc, key), f"unknown field '{key}'{hint}", at_key=True))
            failed = True
    good = {name: item for name, item in found.items() if item is not _FAILED}
    across: Callable[[Mapping[str, Any]], Iterable[tuple[Location, str]]] = getattr(
        cls, ACROSS_FIELDS, _no_problems
    )
    for where, message in across(good):
        problems.append(Problem((*loc, *where), message))
        failed = True
    return _FAILED if failed else cls(**good)


def _no_problems(valid: Mapping[str, Any]) -> Iterable[tuple[Location, str]]:
    return ()


def _field(declaration: DeclaredField, value: Any, loc: Location, problems: list[Problem]) -> Any:
    """The value of one field: reshaped, converted to its type, then within its limits and checked."""
    rule = declaration.rule
    try:
        if rule.before:
            value = rule.before(value)
        value = _value(declaration.kind, value, loc, problems)
        if value is _FAILED or value is None:
            return value
        limit = _limit_problem(rule, value)
        if limit:
            raise ValueError(limit)
        if rule.check:
            rule.check(value)
    except ValueError as exc:
        problems.append(Problem(loc, str(exc)))
        return _FAILED
    return value


def _limit_problem(rule: Rule, value: Any) -> str | None:
    if rule.nonempty and (not value or (isinstance(value, str) and not value.strip())):
        return "must not be empty"
    bounds = (
        ("less than or equal to", rule.le, operator.le),
        ("greater than or equal to", rule.ge, operator.ge),
        ("greater than", rule.gt, operator.gt),
    )
    for words, limit, holds in bounds:
        if limit is not None and not holds(value, limit):
            shown = int(limit) if float(limit).is_integer() else limit
            return f"must be {words} {shown}"
    return None
