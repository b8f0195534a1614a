"""The one pipeline: every command that reads an issue reports what it found the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine

from broadsheet import pipeline
from broadsheet.build import build, check
from broadsheet.catalogs import NAMES, catalog_path
from broadsheet.errors import InvalidInput, Severity
from broadsheet.preview import build_preview
from broadsheet.settings import Project, find_project
from broadsheet.site import build_site

ISSUE = "issues/2023-12-21.yaml"
GMAIL = "Gmail clips messages over about 102 KB"


@pytest.fixture
def warned_project(sample_project: Project) -> Project:
    """The sample with a size budget every edition is over and no Burmese names: size and fallback warnings."""
    settings = sample_project.root / "broadsheet.toml"
    settings.write_text("email_max_html_kb = 20\n" + settings.read_text(encoding="utf-8"), encoding="utf-8")
    catalog_path(sample_project, "my", NAMES).unlink()
    return find_project(sample_project.root)


def _lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": warning: " in line]


def test_editions_are_rendered_in_the_locales_asked_for_with_every_warning(warned_project: Project) -> None:
    made = pipeline.editions(warned_project, warned_project.root / ISSUE, ["my"])
    assert list(made.emails) == ["my"]
    assert {d.severity for d in made.diagnostics} == {Severity.WARNING}
    assert [d.message[:16] for d in made.diagnostics if GMAIL in d.message] == ["my: the HTML is "]
    assert any(
        "untranslated: locales/my/LC_MESSAGES/names.po does not exist yet" in d.message
        for d in made.diagnostics
    )


def test_strict_editions_refuse_a_fallback_and_carry_every_diagnostic(warned_project: Project) -> None:
    with pytest.raises(InvalidInput) as raised:
        pipeline.editions(warned_project, warned_project.root / ISSUE, strict=True)
    messages = [d.message for d in raised.value.diagnostics]
    assert any("--strict forbids falling back to English" in m for m in messages)
    assert any(GMAIL in m for m in messages)


def test_every_command_that_renders_the_email_reports_its_size(
    warned_project: Project, sample_store: Engine, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADSHEET_SECRET", "s" * 32)
    monkeypatch.setenv("BROADSHEET_DATABASE_URL", sample_store.url.render_as_string(hide_password=False))
    root = warned_project.root
    printed = {
        "check": cli("check", ISSUE, cwd=root),
        "build": cli("build", ISSUE, cwd=root),
        "send": cli("send", ISSUE, "--dry-run", cwd=root),
    }
    expected = [str(d) for d in check(warned_project, Path(ISSUE)) if GMAIL in d.message]
    assert [line.split(": warning: ")[1][:16] for line in expected] == [
        "en: the HTML is ",
        "my: the HTML is ",
    ]
    for command, result in printed.items():
        assert result.exit_code == 0, (command, result.stderr)
        assert [line for line in _lines(result) if GMAIL in line] == expected, command
    preview = build_preview(root, root / ISSUE, "state")
    assert [d for d in preview.diagnostics if GMAIL in d.message] == [
        d for d in check(warned_project, Path(ISSUE)) if GMAIL in d.message
    ]


def test_build_send_preview_and_site_report_the_same_diagnostics(
    warned_project: Project, sample_store: Engine, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = warned_project.root
    monkeypatch.chdir(root)
    built = build(warned_project, Path(ISSUE)).diagnostics
    assert len(built) == 6  # per edition: resources left out, the size, and the Burmese names untranslated
    assert list(check(warned_project, Path(ISSUE))) == list(built)
    assert build_preview(root, root / ISSUE, "state").diagnostics == list(built)
    monkeypatch.setenv("BROADSHEET_SECRET", "s" * 32)
    monkeypatch.setenv("BROADSHEET_DATABASE_URL", sample_store.url.render_as_string(hide_password=False))
    assert _lines(cli("send", ISSUE, "--dry-run", cwd=root)) == [str(d) for d in built]
    # The site renders web pages, not the email: everything but the email's size budget.
    assert list(build_site(warned_project).diagnostics) == [
        d for d in built if "(email_max_html_kb)" not in d.message
    ]


def test_a_build_of_an_issue_read_before_loads_no_markdown_it(
    sample_project: Project, tmp_path: Path
) -> None:
    """Markdown's answers for the issue's paragraphs, footnotes and translations are kept by the first build (or
    check, or preview): the next one, in a new process, writes the same files without loading markdown-it."""
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    loaded, built = {}, {}
    for run in ("first", "next"):
        code = (
            "import sys\n"
            "from broadsheet.cli import main\n"
            f"main(['build', '{ISSUE}', '-o', {str(tmp_path / run)!r}], standalone_mode=False)\n"
            "print(sorted(m for m in ('markdown_it', 'mdit_py_plugins') if m in sys.modules))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=sample_project.root,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        loaded[run] = done.stdout.splitlines()[-1]
        built[run] = {
            path.relative_to(tmp_path / run): path.read_bytes() for path in (tmp_path / run).rglob("email.*")
        }
    assert loaded == {"first": "['markdown_it', 'mdit_py_plugins']", "next": "[]"}
    assert len(built["first"]) == 4  # English and Burmese, HTML and text
    assert built["next"] == built["first"]


def test_an_edition_in_the_source_language_loads_no_catalog_code(
    sample_project: Project, tmp_path: Path
) -> None:
    """It has no catalog to check or read: neither the translators' tooling nor Babel's catalog modules
    are imported (9 ms of a build's start, benchmarks/README.md); a Burmese edition needs both."""
    loaded = {}
    for locale in ("en", "my"):
        code = (
            "import sys\n"
            "from broadsheet.cli import main\n"
            f"main(['build', '{ISSUE}', '-l', '{locale}', '-o', {str(tmp_path)!r}], standalone_mode=False)\n"
            "print(sorted(m for m in ('broadsheet.catalogs', 'babel.messages.catalog') if m in sys.modules))"
        )
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=sample_project.root, capture_output=True, text=True, check=True
        )
        loaded[locale] = run.stdout.splitlines()[-1]
        assert (tmp_path / locale / "email.html").is_file()
    assert loaded == {"en": "[]", "my": "['babel.messages.catalog', 'broadsheet.catalogs']"}
