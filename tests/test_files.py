"""Size limits on the user's files: an issue, a catalog or the settings far larger than any real one is refused before it is parsed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from broadsheet import files
from broadsheet.errors import InvalidInput
from broadsheet.settings import Project

from .support import SAMPLE


def _padded(path: Path, size: int, comment: bytes = b"#") -> None:
    """Grow the file at `path` to `size` bytes with comment lines, so that it stays valid."""
    content = path.read_bytes()
    line = comment + b" " + b"x" * 98 + b"\n"
    path.write_bytes(content + line * ((size - len(content)) // len(line) + 1))


def test_an_oversized_issue_is_refused_with_its_size(tmp_project: Project, cli) -> None:
    issue = tmp_project.issues_dir / "2023-12-21.yaml"
    issue.write_bytes(SAMPLE.read_bytes())
    _padded(issue, files.ISSUE_LIMIT + 100_000)
    for command in ("check", "build"):
        result = cli(command, "issues/2023-12-21.yaml", cwd=tmp_project.root)
        assert result.exit_code == 1
        assert (
            result.stderr.splitlines()[0]
            == "issues/2023-12-21.yaml: error: the file is 2.1 MB; issue files are limited to 2 MB"
        )


def test_an_oversized_catalog_is_refused_with_its_size(sample_project: Project, cli) -> None:
    _padded(sample_project.locales_dir / "my" / "LC_MESSAGES" / "messages.po", files.CATALOG_LIMIT + 400_000)
    result = cli("check", "issues/2023-12-21.yaml", cwd=sample_project.root)
    assert result.exit_code == 1
    assert (
        "locales/my/LC_MESSAGES/messages.po: error: the file is 5.4 MB; catalog files are limited to 5 MB"
        in result.stderr.splitlines()
    )


def test_oversized_settings_are_refused_with_their_size(tmp_project: Project, cli) -> None:
    settings = tmp_project.root / "broadsheet.toml"
    _padded(settings, files.SETTINGS_LIMIT + 50_000)
    result = cli("check", "issues/2023-12-21.yaml", cwd=tmp_project.root)
    assert result.exit_code == 1
    assert result.stderr == f"{settings}: error: the file is 1.1 MB; settings files are limited to 1 MB\n"


def test_a_file_of_exactly_its_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b"#" * files.SETTINGS_LIMIT)
    assert len(files.read_limited(path, "settings")) == files.SETTINGS_LIMIT
    path.write_bytes(b"#" * (files.SETTINGS_LIMIT + 1))
    with pytest.raises(InvalidInput) as refused:
        files.read_limited(path, "settings", "broadsheet.toml")
    # In MB to a tenth, one byte over would read "1.0 MB" against a limit of 1 MB.
    assert str(refused.value) == (
        "broadsheet.toml: error: the file is 1,000,001 bytes; settings files are limited to 1 MB (1,000,000 bytes)"
    )


def test_the_limits_are_documented_as_declared() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().split(" ")[1]: line.split("|")[2].strip()
        for line in text.splitlines()
        if line.startswith("| a") or line.startswith("| the")
    }
    assert rows == {kind: f"{limit / files.MB:g} MB" for kind, limit in files.LIMITS.items()}


def test_a_named_pipe_in_place_of_an_issue_is_refused_without_waiting_for_a_writer(
    tmp_project: Project,
) -> None:
    # `open` of a FIFO waits for a writer: `check` hung for ever. A real process, so that a hang is a failure, not a stuck suite.
    os.mkfifo(tmp_project.issues_dir / "2024-01-04.yaml")
    try:
        run = subprocess.run(
            [sys.executable, "-m", "broadsheet", "check", "issues/2024-01-04.yaml"],
            cwd=tmp_project.root,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("check waited on the named pipe")
    assert run.returncode == 1
    assert run.stderr.splitlines()[0] == (
        "issues/2024-01-04.yaml: error: not a file but a named pipe or a device; issue files must be ordinary files"
    )
