"""Whatever an issue file holds, reading it never raises and every finding names its place."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet.issue import Reading, read_issue
from broadsheet.settings import Project

from .support import SAMPLE

Reader = Callable[[bytes], Reading]

FORMAT = re.compile(r"issue\.yaml(:[1-9][0-9]*(:[1-9][0-9]*)?)?: (error|warning): .*\S")

fuzz = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory, repo_project: Project) -> Reader:
    """Read bytes as the file `issue.yaml`; each call overwrites the one file."""
    path = tmp_path_factory.mktemp("fuzz") / "issue.yaml"

    def read(raw: bytes) -> Reading:
        path.write_bytes(raw)
        return read_issue(path, repo_project.settings, display="issue.yaml")

    return read


def assert_well_formed(reader: Reader, raw: bytes) -> Reading:
    """Read `raw` twice; the findings are the same, located, one line each, errors iff no issue."""
    reading = reader(raw)
    assert reader(raw) == reading
    last_line = len(raw.decode("utf-8", "replace").splitlines()) + 1
    for diagnostic in reading.diagnostics:
        if diagnostic.line == 0:  # only a problem with the whole file has no line
            assert (diagnostic.col, diagnostic.field) == (0, "")
        else:
            assert 1 <= diagnostic.line <= last_line
            assert diagnostic.col >= 1
        assert diagnostic.message.strip()
        assert FORMAT.fullmatch(str(diagnostic)), str(diagnostic)
        assert len(str(diagnostic).splitlines()) == 1
    assert (reading.issue is None) == bool(reading.errors)
    return reading


# -- Random YAML values, biased towards the names and texts of the issue format --

NAMES = st.sampled_from(
    [
        "date",
        "title",
        "author",
        "summary",
        "image",
        "src",
        "alt",
        "editorial",
        "footnotes",
        "resources",
        "statements",
        "reports",
        "url",
        "by",
        "lang",
        "1",
        "a",
    ]
)
TEXTS = st.sampled_from(
    [
        "",
        " ",
        "2023-12-21",
        "2023-02-30",
        "https://example.org/a",
        "javascript:alert(1)",
        "data:text/html,x",
        "/relative",
        "mailto:a@example.org",
        "Hello [^1].",
        "[^a]",
        "[x](javascript:y)",
        "[x](https://example.org)",
        "<b>bold</b>",
        "<div>\n</div>",
        "![i](https://example.org/i.png)",
        "line\nbreak",
        "tab\there",
        "my",
        "xx-nope",
        "[^1]: inside",
        "- item\n- item",
        "&",
        "\u1000\u103a",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.dates()
    | st.datetimes()
    | st.text(max_size=40)
    | TEXTS
)
KEYS = NAMES | st.text(max_size=12)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)
DOCUMENTS = VALUES | st.dictionaries(KEYS, VALUES, max_size=8)


def dump(value: Any, *, flow: bool = False) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, default_flow_style=flow, width=10**9)


@fuzz
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(reader: Reader, raw: bytes) -> None:
    assert_well_formed(reader, raw)


@fuzz
@given(st.text(max_size=2000))
def test_random_text_never_raises(reader: Reader, text: str) -> None:
    assert_well_formed(reader, text.encode("utf-8"))


@fuzz
@given(DOCUMENTS)
def test_random_yaml_never_raises(reader: Reader, document: Any) -> None:
    assert_well_formed(reader, dump(document).encode("utf-8"))


# -- The sample issue, damaged -------------------------------------------------

SAMPLE_LINES = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
VALUE_LINE = re.compile(r"^(\s*(?:- )?[\w\"']+: )(.+)$")
AWKWARD = st.sampled_from(list("\t\n\r:-[]{}&*!|>#'\"%@`,?\\\x00\x07\x85\ufeff\u2028 ")) | st.characters(
    codec="utf-8"
)


@st.composite
def damaged_samples(draw: st.DrawFn) -> str:
    lines = list(SAMPLE_LINES)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "duplicate", "insert", "replace", "value"]))
        if kind == "value":
            i = draw(st.sampled_from([i for i, line in enumerate(lines) if VALUE_LINE.match(line)]))
            match = VALUE_LINE.match(lines[i])
            assert match is not None
            # A flow-style list of one item, without its brackets, is that item on one line.
            value = dump([draw(VALUES)], flow=True).strip()[1:-1]
            lines[i] = f"{match.group(1)}{value}\n"
            continue
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        else:
            col = draw(st.integers(0, len(lines[i])))
            end = col + (kind == "replace")
            lines[i] = lines[i][:col] + draw(AWKWARD) + lines[i][end:]
    return "".join(lines)


def test_the_undamaged_sample_is_valid(reader: Reader) -> None:
    reading = assert_well_formed(reader, "".join(SAMPLE_LINES).encode("utf-8"))
    assert reading.issue is not None
    assert reading.diagnostics == ()


@fuzz
@given(damaged_samples())
def test_damaged_sample_never_raises(reader: Reader, text: str) -> None:
    assert_well_formed(reader, text.encode("utf-8"))
