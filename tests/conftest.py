"""Shared fixtures (the repository's project, throwaway projects, stores, Chromium) and the markers.

Tests are marked by what they need, from the fixtures they use: `browser` (Chromium),
`postgres` (the PostgreSQL server); `slow` is set by the modules whose tests take seconds.
`./scripts/test -m "not browser"` runs the rest.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from broadsheet import burmese
from broadsheet.cli import main
from broadsheet.delivery.store import open_store
from broadsheet.settings import Project, find_project

from .support import CHROMIUM_ARGS, REPO, SAMPLE, chromium, scratch_schema


@pytest.fixture(scope="session", autouse=True)
def suite_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The suite's own cache folder (`XDG_CACHE_HOME`), for every test and every process a test starts: what
    broadsheet keeps between runs (compiled templates, Babel's answers, Markdown's) goes there, not into the
    cache of whoever runs the tests. Tests of what is kept make an empty one of their own."""
    folder = tmp_path_factory.mktemp("cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


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


@pytest.fixture
def project(sample_project: Project) -> Project:
    """The project most tests work in: the sample issue with its catalogs (a module may define its own)."""
    return sample_project


@pytest.fixture
def engine(sample_store: Engine) -> Engine:
    """The store of `project` (a module may define its own)."""
    return sample_store


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium, launched once for a module's tests.

    Not once for the session: playwright's sync API keeps an asyncio loop running
    in the main thread while it is open, and `asyncio.run` refuses to start there.
    """
    executable = chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; ./scripts/test installs it (Debian package chromium)")
        pytest.skip("Chromium is not installed; run ./scripts/test to install it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it needs, so that a run can leave out what the machine lacks."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        if "postgres_url" in fixtures or params.get("store_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def without_pyicu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the test as if the optional PyICU (the `zawgyi` extra) were not installed."""
    burmese._zawgyi_transliterator.cache_clear()
    # A None entry in sys.modules makes `import icu` raise ImportError.
    monkeypatch.setitem(sys.modules, "icu", None)
    yield
    burmese._zawgyi_transliterator.cache_clear()
