"""Shared fixtures: the repository's own project, and throwaway projects in tmp_path."""

from __future__ import annotations

import os
import re
import shutil
import textwrap
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from broadsheet import catalogs
from broadsheet.cli import main
from broadsheet.delivery.store import open_store
from broadsheet.settings import Project, find_project

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "issues" / "2023-12-21.yaml"
ROOTS = Path(__file__).resolve().parent / "roots"
EXPECTED = Path(__file__).resolve().parent / "expected"


@pytest.fixture(scope="session")
def repo_project() -> Project:
    """The project at the top of this repository: its settings, templates and sample issue."""
    return find_project(REPO)


@pytest.fixture
def tmp_project(tmp_path: Path) -> Project:
    """A copy of the repository's project (settings and templates) with an empty issues/ folder."""
    shutil.copy(REPO / "broadsheet.toml", tmp_path / "broadsheet.toml")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    (tmp_path / "issues").mkdir()
    return find_project(tmp_path)


@pytest.fixture
def sample_project(tmp_project: Project) -> Project:
    """The sample issue with its catalogs, in a project of its own."""
    (tmp_project.issues_dir / "2023-12-21.yaml").write_bytes(SAMPLE.read_bytes())
    shutil.copytree(REPO / "locales", tmp_project.locales_dir)
    return tmp_project


@pytest.fixture
def sample_store(sample_project: Project) -> Iterator[Engine]:
    """The SQLite store of `sample_project`, migrated, its connections closed after the test."""
    engine = open_store(f"sqlite:///{sample_project.root / 'broadsheet.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def write_issue(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented YAML text to tmp_path/issues/NAME and return its path."""

    def write(text: str, name: str = "2023-12-21.yaml") -> Path:
        path = tmp_path / "issues" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `broadsheet ARGS...` in-process from a given folder (the repository by default)."""

    def run(*args: str, cwd: Path = REPO) -> Result:
        monkeypatch.chdir(cwd)
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def translate(
    project: Project,
    locale: str,
    domain: str,
    translations: dict[str, str | tuple[str, ...]],
    *,
    fuzzy: frozenset[str] = frozenset(),
) -> None:
    """Translate messages of a `.po` file the way a translator's tool would (msgid -> msgstr)."""
    path = catalogs.catalog_path(project, locale, domain)
    with path.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            message.string = translations[key]
            if key in fuzzy:
                message.flags.add("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=76)


POSTGRES_VARIABLE = "BROADSHEET_TEST_POSTGRES_URL"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty schema on the PostgreSQL server of BROADSHEET_TEST_POSTGRES_URL, dropped after the test.

    Without that variable the test is skipped, except under CI, which must run every test.
    """
    server = os.environ.get(POSTGRES_VARIABLE)
    if not server:
        reason = f"{POSTGRES_VARIABLE} is not set: no PostgreSQL server to test on (scripts/test starts one)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI runs every test")
        pytest.skip(reason)
    with scratch_schema(server) as url:
        yield url


@contextmanager
def scratch_schema(server: str, prefix: str = "test") -> Iterator[str]:
    """A URL on a new, empty schema of the PostgreSQL database at `server`, dropped with all it holds after."""
    url = make_url(server).set(drivername="postgresql+psycopg")
    schema = f"{prefix}_{uuid.uuid4().hex}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: an SQLite file in tmp_path, then a PostgreSQL schema (see `postgres_url`)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'broadsheet.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    """The store on each kind of database, migrated, its connections closed after the test."""
    engine = open_store(store_url)
    yield engine
    engine.dispose()


def table_rows(output: str) -> list[list[str]]:
    """The tables in a command's output, line by line, each line split into its cells (a title is one cell).

    rich puts at least three spaces between cells and no cell here holds two in a
    row; an empty last cell leaves its line shorter. Blank lines and the rule
    under the headings are left out.
    """
    lines = (line.strip() for line in output.splitlines())
    return [re.split(r" {2,}", line) for line in lines if line and set(line) != {"─"}]

