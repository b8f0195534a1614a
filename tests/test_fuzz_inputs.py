"""Whatever translators' catalogs, subscriber lists and the settings file hold, the commands that read them
never show a traceback: they exit 0 or 1 and every error names its file (and its line where it has one).

The issue file has its own fuzzing (test_fuzz.py). Here each example is a real file of the sample project
changed as people and tools change them: cut short, re-encoded, edited by hand, exported from another tool.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from broadsheet.cli import main
from broadsheet.delivery import subscribers
from broadsheet.delivery.store import Status, open_store
from broadsheet.errors import InvalidInput
from broadsheet.i18n import read_catalog, texts

from .support import REPO

fuzz = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ISSUE = "issues/2023-12-21.yaml"
CATALOGS = (
    "locales/my/LC_MESSAGES/messages.po",
    "locales/my/LC_MESSAGES/issues/2023-12-21.po",
    "locales/my/LC_MESSAGES/names.po",
)


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project, copied once for the module; each example writes the one file it changes."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "broadsheet.toml", root / "broadsheet.toml")
    for folder in ("templates", "issues", "locales"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def run(root: Path, *args: str) -> Result:
    """`broadsheet -C ROOT ARGS...` in-process; an exception escaping the command is returned, not raised."""
    return CliRunner().invoke(main, ["-C", str(root), *args])


def assert_no_traceback(result: Result) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": error: " in line]


# -- Translators' catalogs --------------------------------------------------------------

# What hand edits, other tools and broken transfers put into a .po file.
PO_PIECES = st.sampled_from(
    [
        b'msgctxt "menu"\n',
        b'msgid_plural "many"\n',
        b'msgstr[0] "a"\n',
        b'msgstr[1] "b"\n',
        b'#~ msgid "old"\n#~ msgstr "\xe1\x80\x80"\n',
        b'#~ msgctxt "c"\n#~ msgid "x"\n#~ msgid_plural "y"\n#~ msgstr[0] "z"\n',
        b'#| msgid "before"\n',
        b"#, fuzzy\n",
        b"#, python-format\n",
        b"#, fuzzy, c-format, no-wrap, range: 0..3\n",
        b"#,\n",
        b"#: issues/2023-12-21.yaml:abc templates/email.mjml.j2\n",
        b'msgid "dup"\nmsgstr "x"\n\nmsgid "dup"\nmsgstr "y"\n',
        b'msgid ""\nmsgstr ""\n',
        b'"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n',
        b'"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"\n',
        b'"Content-Type: text/plain; charset=ISO-8859-1\\n"\n',
        b'"Content-Type: text/plain; charset=CHARSET\\n"\n',
        b'"Language: my_MM@zawgyi\\n"\n',
        b'msgid "a" "b"\n',
        b'msgstr "\\q\\777\\x41"\n',
        b'msgstr "100% %(author)d <script>"\n',
        b'"' + b"x" * 3000 + b'"\n',
        b"\x00",
        b"\r",
        b"\r\n",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\xe1\x80",
        b'"',
        b"\\",
        b"\n",
    ]
)


# Whole entries, as another tool or a merge from elsewhere writes them: a catalog may stay valid with them.
PO_ENTRIES = st.sampled_from(
    [
        b'msgctxt "menu"\nmsgid "Resources from the past week"\nmsgstr "\xe1\x80\x80"\n',
        b'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "\xe1\x80\x80"\n',
        b'#, fuzzy\n#| msgid "before"\nmsgid "after"\nmsgstr "\xe1\x80\x80"\n',
        b'#~ msgid "gone"\n#~ msgstr "\xe1\x80\x80"\n',
        b'#~ msgid "Resources from the past week"\n#~ msgstr "old"\n',
        b'#, python-format, no-wrap\nmsgid "%(n)s left"\nmsgstr "%(n)s \xe1\x80\x80"\n',
        b'msgid "long"\nmsgstr "' + b"\xe1\x80\x80 " * 2000 + b'"\n',
        b'# translator\'s note\n#. extracted\n#: nowhere.yaml:1\nmsgid "x"\nmsgstr ""\n',
    ]
)


@st.composite
def mutated_catalog(draw: st.DrawFn) -> tuple[str, bytes]:
    """One of the sample's catalogs with whole entries added, then changed in up to three places."""
    name = draw(st.sampled_from(CATALOGS))
    raw = bytearray((REPO / name).read_bytes())
    for entry in draw(st.lists(PO_ENTRIES, max_size=2)):
        raw += b"\n" + entry
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 3]))):
        at = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["insert", "insert at a line", "delete", "byte", "cut", "line ends"]))
        if kind == "insert":
            raw[at:at] = draw(PO_PIECES)
        elif kind == "insert at a line":
            at = raw.rfind(b"\n", 0, at) + 1
            raw[at:at] = draw(PO_PIECES)
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 40))]
        elif kind == "byte" and raw:
            raw[min(at, len(raw) - 1)] = draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[at:]
        else:
            raw = bytearray(raw.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r"]))))
    return name, bytes(raw)


def translations(path: Path) -> set[str]:
    """Every translated text of the catalog at `path`, obsolete messages included; none when it cannot be read."""
    try:
        catalog, _lines = read_catalog(path)
    except InvalidInput:
        return set()
    messages = [*catalog, *catalog.obsolete.values()]
    return {text for message in messages if message.id for text in texts(message.string) if text}


@settings(fuzz, max_examples=80)
@given(mutated_catalog(), st.sampled_from(["check", "build", "catalog status", "catalog update"]))
def test_a_broken_catalog_is_located_errors_never_a_traceback(
    project_dir: Path, case: tuple[str, bytes], command: str
) -> None:
    name, raw = case
    path = project_dir / name
    for catalog in CATALOGS:
        shutil.copy(REPO / catalog, project_dir / catalog)
    path.write_bytes(raw)
    translated = translations(path) if command == "catalog update" else set()
    args = {
        "check": ["check", ISSUE],
        "build": ["build", ISSUE, "-o", str(project_dir / "build")],
        "catalog status": ["catalog", "status"],
        "catalog update": ["catalog", "update"],
    }[command]
    result = run(project_dir, *args)
    event(f"{command}: exit {result.exit_code}")
    assert_no_traceback(result)
    # Only this catalog changed: every error is about it, at a line of it (or at none, for the file as a whole).
    last = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1
    for line in error_lines(result):
        where = re.match(rf"{re.escape(name)}(?::([0-9]+)(?::[0-9]+)?)?: error: \S", line)
        assert where, line
        assert where.group(1) is None or 1 <= int(where.group(1)) <= last, line
    if command == "catalog update":
        if result.exit_code == 1:
            assert path.read_bytes() == raw  # a catalog with an error is left as the translator wrote it
        else:
            # Nothing translated is lost: each translation is still there, kept, fuzzy or obsolete.
            assert translated <= translations(path)


# -- Subscriber lists --------------------------------------------------------------------

HEADERS = st.sampled_from(
    ["email", "name", "locale", "status", "consented_at", "consent_text", "Email Address", "First Name", ""]
)
CELLS = {
    "email": [
        "a@example.org",
        "A@EXAMPLE.ORG",
        "a+news@example.org",
        " b@example.org ",
        "Aung <aung@example.org>",
        "a@bücher.de",
        "a@xn--bcher-kva.de",
        "ü@example.org",
        "a@@example.org",
        "a@localhost",
        "=a@example.org",
        "",
    ],
    "name": ["", "Aung", "မောင်မောင်", '=HYPERLINK("x")', "'=x", "a\u202eb", "x" * 201, "Mg, Mg"],
    "locale": ["en", "my", "EN", "English", "Burmese", "မြန်မာ", "", "my_MM"],
    "status": ["", "active", "pending", "UNSUBSCRIBED", "bounced", "complained", "gone"],
    "consented_at": [
        "",
        "2023-05-01",
        "2023-05-01T09:30:00+06:30",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "2099-01-01",
        "01/05/2023",
    ],
    "consent_text": ["", "I agree", "two\nlines", "x" * 5000],
}
OTHER_CELLS = ["", "x", "English", "မြန်မာ", "a@example.org"]


@st.composite
def subscriber_list(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    """A list as spreadsheets and mailing tools export one: its separator, header and rows."""
    header = draw(st.lists(HEADERS, max_size=8))
    if draw(st.booleans()):
        header += [column for column in subscribers.COLUMNS if column not in header]
    draw(st.randoms()).shuffle(header)
    rows = [
        [draw(st.sampled_from(CELLS.get(column, OTHER_CELLS))) for column in header]
        for _ in range(draw(st.integers(0, 6)))
    ]
    return draw(st.sampled_from(subscribers.SEPARATORS)), [header, *rows]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One SQLite store for every example: each import goes into what the ones before left."""
    engine = open_store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'broadsheet.db'}")
    yield engine
    engine.dispose()


@fuzz
@given(subscriber_list(), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_an_import_reports_every_row_and_loses_nobody(
    store: Engine,
    tmp_path_factory: pytest.TempPathFactory,
    table: tuple[str, list[list[str]]],
    end: str,
    bom: bool,
) -> None:
    separator, rows = table
    text = io.StringIO()
    csv.writer(text, delimiter=separator, lineterminator=end).writerows(rows)
    path = tmp_path_factory.mktemp("list") / "list.csv"
    path.write_bytes((("\ufeff" if bom else "") + text.getvalue()).encode("utf-8"))
    before = {row.key: row.status for row in subscribers.list_subscribers(store)}
    try:
        report = subscribers.import_csv(store, path, ["en", "my"])
    except InvalidInput as exc:
        # The header (after blank lines) has no column to read: one error, and nothing imported.
        assert [d.field for d in exc.diagnostics] == [""]
        assert 1 <= exc.diagnostics[0].line <= max(len(rows), 1)
        assert {row.key: row.status for row in subscribers.list_subscribers(store)} == before
        return
    filled = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    assert report.added + report.updated + report.unchanged + report.skipped == len(filled)
    for diagnostic in report.diagnostics:
        assert diagnostic.path == str(path)
        assert 1 <= diagnostic.line <= len(text.getvalue().splitlines())
        assert len(str(diagnostic).splitlines()) == 1
    after = {row.key: row.status for row in subscribers.list_subscribers(store)}
    assert before.keys() <= after.keys()
    assert all(
        after[key] is not Status.ACTIVE for key, status in before.items() if status is not Status.ACTIVE
    )


@fuzz
@given(st.binary(max_size=600), st.sampled_from([b"", b"email,name,locale\n", b"email;name;locale\r\n"]))
def test_an_import_of_any_bytes_is_located_errors_never_a_traceback(
    project_dir: Path, raw: bytes, header: bytes
) -> None:
    path = project_dir / "list.csv"
    path.write_bytes(header + raw)
    result = run(project_dir, "subscribers", "import", str(path))
    assert_no_traceback(result)
    for line in error_lines(result):
        assert re.match(rf"{re.escape(str(path))}:[1-9][0-9]*: error: \S", line), line


# -- The settings file -------------------------------------------------------------------

TOML_VALUES = st.sampled_from(
    [
        '""',
        '" "',
        "0",
        "-1",
        "1e400",
        "nan",
        "true",
        "[]",
        "{}",
        '[1, "a"]',
        "99999999999999999999",
        "1979-05-27T07:32:00Z",
        '"\\u0000"',
        '"my"',
        '["my", "my"]',
        '"javascript:alert(1)"',
        '"smtp://a:b@h:x"',
        '"0/hour"',
        "{ a = 1 }",
    ]
)
TOML_KEYS = st.sampled_from(
    [
        "locales",
        "web_url",
        "publication_weekday",
        "text_width",
        "email_max_html_kb",
        "sender",
        "default_author",
        "transport",
        "signup_limit_total",
        "unknown_key",
        "name",
        "label",
        "url",
        "line_height",
    ]
)


@st.composite
def mutated_settings(draw: st.DrawFn) -> bytes:
    """The sample's broadsheet.toml with values replaced, keys added and text cut or broken."""
    lines = (REPO / "broadsheet.toml").read_bytes().split(b"\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["value", "key", "table", "delete", "byte"]))
        if kind == "value" and b" = " in lines[at]:
            lines[at] = lines[at].split(b" = ")[0] + b" = " + draw(TOML_VALUES).encode()
        elif kind == "key":
            lines.insert(at, f"{draw(TOML_KEYS)} = {draw(TOML_VALUES)}".encode())
        elif kind == "table":
            table = draw(st.sampled_from(["[categories]", "[languages.my]", "[[sources]]", "[curation]"]))
            lines.insert(at, table.encode())
        elif kind == "delete":
            del lines[at]
        elif lines[at]:
            line = bytearray(lines[at])
            line[draw(st.integers(0, len(line) - 1))] = draw(st.integers(0, 255))
            lines[at] = bytes(line)
    return b"\n".join(lines)


@fuzz
@given(mutated_settings(), st.sampled_from(["check", "build"]))
def test_broken_settings_are_located_errors_never_a_traceback(
    project_dir: Path, raw: bytes, command: str
) -> None:
    for catalog in CATALOGS:
        shutil.copy(REPO / catalog, project_dir / catalog)
    (project_dir / "broadsheet.toml").write_bytes(raw)
    args = [command, ISSUE] if command == "check" else [command, ISSUE, "-o", str(project_dir / "build")]
    try:
        result = run(project_dir, *args)
    finally:
        shutil.copy(REPO / "broadsheet.toml", project_dir / "broadsheet.toml")
    event(f"{command}: exit {result.exit_code}")
    assert_no_traceback(result)
    settings_file = re.escape(str(project_dir / "broadsheet.toml"))
    for line in error_lines(result):
        assert re.match(rf"({settings_file}|{ISSUE})(:[1-9][0-9]*(:[1-9][0-9]*)?)?: error: \S", line), line
