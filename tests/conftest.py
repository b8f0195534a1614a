"""Shared fixtures: the repository's own project, and throwaway projects in tmp_path."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner, Result

from broadsheet import catalogs
from broadsheet.cli import main
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
