"""The validator of the declared formats: every problem of a mapping at once, each located, in the users' words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

import msgspec
import pytest

from broadsheet.schema import Invalid, Location, Problem, declared, fields_of, http_url, iso_date, validate


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """A table inside a list inside a mapping, as a resource is in an issue."""

    title: Annotated[str, declared(nonempty=True, description="Title.")]
    url: Annotated[str, declared(description="Where.", check=http_url)]
    tags: Annotated[
        tuple[str, ...], declared(description="Tags.", before=lambda v: (v,) if isinstance(v, str) else v)
    ] = ()


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """A format with a field of every kind the declarations use."""

    day: Annotated[dt.date, declared(description="A day.")]
    name: Annotated[str, declared(nonempty=True, description="A name.")]
    note: Annotated[str | None, declared(description="A note.")] = None
    width: Annotated[int, declared(ge=20, le=200, description="A width.")] = 72
    height: Annotated[float, declared(ge=1.0, le=3.0, description="A height.")] = 1.5
    timeout: Annotated[float, declared(gt=0, description="Seconds.")] = 15.0
    limit: Annotated[int | None, declared(ge=1, description="A cap, or none.")] = None
    strict: Annotated[bool, declared(description="A switch.")] = False
    weekday: Annotated[Literal["monday", "thursday"], declared(description="A day of the week.")] = "thursday"
    labels: Annotated[dict[str, str], declared(description="Labels.")] = msgspec.field(default_factory=dict)
    entries: Annotated[dict[str, list[Entry]], declared(description="Entries by group.")] = msgspec.field(
        default_factory=dict
    )

    @staticmethod
    def problems_across_fields(valid: Mapping[str, Any]) -> Iterator[tuple[Location, str]]:
        labels = valid.get("labels")
        for group in valid.get("entries", {}) if labels is not None else ():
            if group not in labels:
                yield ("entries", group), f"group '{group}' has no label"


def problems(data: Any) -> list[tuple[Location, str]]:
    with pytest.raises(Invalid) as raised:
        validate(Document, data)
    return sorted((problem.loc, problem.message) for problem in raised.value.problems)


def test_a_valid_mapping_becomes_the_declared_struct_with_its_defaults() -> None:
    document = validate(
        Document,
        {
            "day": "2023-12-21",
            "name": "Weekly",
            "labels": {"news": "News"},
            "entries": {"news": [{"title": "A", "url": "https://example.org/a", "tags": "one"}]},
        },
    )

    assert document == Document(
        day=dt.date(2023, 12, 21),
        name="Weekly",
        labels={"news": "News"},
        entries={"news": [Entry(title="A", url="https://example.org/a", tags=("one",))]},
    )
    assert (document.width, document.height, document.weekday, document.note) == (72, 1.5, "thursday", None)


def test_every_problem_in_the_mapping_is_reported_each_at_its_place() -> None:
    assert problems(
        {
            "name": "",
            "width": "wide",
            "weekday": "thurs",
            "nmae": "x",
            "labels": {"news": "News"},
            "entries": {
                "news": [
                    {"title": "A", "url": "https://example.org/a"},
                    "https://example.org/b",
                    {"title": ["B"], "url": "javascript:alert(1)", "tag": "x"},
                ]
            },
        }
    ) == [
        (("day",), "required field is missing"),
        (("entries", "news", 1), "Expected a mapping but received: 'https://example.org/b'"),
        (("entries", "news", 2, "tag"), "unknown field 'tag'; did you mean 'tags'?"),
        (("entries", "news", 2, "title"), "Expected a string but received: a list"),
        (("entries", "news", 2, "url"), "Expected an http(s) URL but received: 'javascript:alert(1)'"),
        (("name",), "must not be empty"),
        (("nmae",), "unknown field 'nmae'; did you mean 'name'?"),
        (("weekday",), "Expected 'monday' or 'thursday' but received: 'thurs'"),
        (("width",), "Expected an integer but received: 'wide'"),
    ]


def test_an_unknown_field_is_a_problem_of_its_key() -> None:
    with pytest.raises(Invalid) as raised:
        validate(Document, {"day": "2023-12-21", "name": "N", "colour": "red"})

    assert raised.value.problems == (Problem(("colour",), "unknown field 'colour'", at_key=True),)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": 2024}, {"name": "2024"}),
        ({"name": 1.5}, {"name": "1.5"}),
        ({"width": 72.0}, {"width": 72}),
        ({"width": "72"}, {"width": 72}),
        ({"width": " 72.0 "}, {"width": 72}),
        ({"height": 2}, {"height": 2.0}),
        ({"height": "2.5"}, {"height": 2.5}),
        ({"strict": "yes"}, {"strict": True}),
        ({"strict": 0}, {"strict": False}),
        ({"day": dt.date(2023, 12, 21)}, {"day": dt.date(2023, 12, 21)}),
        ({"labels": {"a": 1}}, {"labels": {"a": "1"}}),
    ],
)
def test_values_written_another_way_are_taken_as_the_declared_type(
    data: dict[str, Any], expected: dict[str, Any]
) -> None:
    document = validate(Document, {"day": "2023-12-21", "name": "N", **data})

    assert {name: getattr(document, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": True}, "Expected a string but received: true"),
        ({"name": None}, "must not be empty"),
        ({"width": 72.5}, "Expected an integer but received: 72.5"),
        ({"width": "1e3"}, "Expected an integer but received: '1e3'"),
        ({"width": float("inf")}, "Expected an integer but received: inf"),
        ({"width": 5}, "must be greater than or equal to 20"),
        ({"height": 3.5}, "must be less than or equal to 3"),
        ({"height": "high"}, "Expected a number but received: 'high'"),
        ({"timeout": 0}, "must be greater than 0"),
        ({"limit": 0}, "must be greater than or equal to 1"),
        ({"strict": "maybe"}, "Expected true or false but received: 'maybe'"),
        ({"day": "21 December 2023"}, "Expected a date (YYYY-MM-DD) but received: '21 December 2023'"),
        ({"day": "2023-02-30"}, "Expected a date (YYYY-MM-DD) but received: '2023-02-30'"),
        ({"labels": ["news"]}, "Expected a mapping but received: a list"),
        ({"entries": {"news": "x"}}, "Expected a list but received: 'x'"),
    ],
)
def test_a_wrong_value_is_said_in_the_users_words(data: dict[str, Any], message: str) -> None:
    [(_, found)] = problems({"day": "2023-12-21", "name": "N", **data})

    assert found == message


def test_problems_across_fields_are_looked_for_among_the_valid_fields_only() -> None:
    entries = {"news": [{"title": "A", "url": "https://example.org/a"}]}

    assert problems({"day": "2023-12-21", "name": "N", "entries": entries}) == [
        (("entries", "news"), "group 'news' has no label")
    ]
    # Labels that are wrong are reported, not compared with.
    assert problems({"day": "2023-12-21", "name": "N", "labels": [], "entries": entries}) == [
        (("labels",), "Expected a mapping but received: a list")
    ]


def test_a_mapping_is_needed_at_the_top() -> None:
    assert problems(["day"]) == [((), "Expected a mapping but received: a list")]


def test_fields_of_lists_each_field_with_its_description_and_default() -> None:
    fields = fields_of(Document)

    assert list(fields)[:3] == ["day", "name", "note"]
    assert (fields["day"].required, fields["day"].description) == (True, "A day.")
    assert (fields["width"].required, fields["width"].default) == (False, 72)
    assert fields["labels"].factory is dict and not fields["labels"].required


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2023-12-21", dt.date(2023, 12, 21)),
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("2023-02-29", None),  # no such day
        ("20231221", None),  # `date.fromisoformat` reads it; the issue format does not write it
        ("2023-12-21T09:00", None),
        ("၂၀၂၃-၁၂-၂၁", None),  # Burmese digits: `\d` matches them
        (" 2023-12-21", None),
        ("", None),
    ],
)
def test_iso_date_is_exactly_yyyy_mm_dd_of_a_real_day(text: str, day: dt.date | None) -> None:
    assert iso_date(text) == day
