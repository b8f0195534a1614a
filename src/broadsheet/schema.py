"""What the declared schemas (settings, issue format) share: model config and error wording.

Both `settings.py` and `issue.py` declare their formats as pydantic models;
this module turns pydantic's errors into the one-line messages users read
(`Expected a string but received: [1, 2]`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict
from pydantic_core import ErrorDetails


class Declared(BaseModel):
    """Base of every declared format: immutable, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
    )


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
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def describe(error: ErrorDetails, allowed_keys: Iterable[str] = ()) -> str:
    """One sentence for one pydantic error, in the project's wording."""
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        return f"unknown field '{name}'{did_you_mean(name, allowed_keys)}"
    if kind in _EXPECTED:
        return f"Expected {_EXPECTED[kind]} but received: {received(value)}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "literal_error":
        return f"Expected {error.get('ctx', {}).get('expected', '')} but received: {received(value)}"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return error["msg"].replace("Input should be", "must be")
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return error["msg"]


_NOT_IN_URLS = re.compile(r"[\s\x00-\x1f\x7f]")


def url_problem(url: str, schemes: Sequence[str] = ("http", "https")) -> str | None:
    """Why `url` is not an absolute URL with one of `schemes`, or None when it is."""
    wanted = "an http(s)" + (" or mailto:" if "mailto" in schemes else "")
    expectation = f"Expected {wanted} URL but received: {received(url)}"
    if not url or _NOT_IN_URLS.search(url):
        return expectation
    try:
        parts = urlsplit(url)
    except ValueError:
        return expectation
    if parts.scheme.lower() not in schemes:
        return expectation
    if parts.scheme.lower() == "mailto":
        return None if "@" in parts.path else expectation
    return None if parts.hostname else expectation


def http_url(url: str) -> str:
    """A pydantic validator: `url` when it is an absolute http(s) URL, else the reason as a ValueError."""
    problem = url_problem(url)
    if problem:
        raise ValueError(problem)
    return url
