"""The documentation of the issue format and of the settings stays in step with their declarations."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from broadsheet.issue import ImageFile, IssueFile, ResourceFile, read_issue
from broadsheet.schema import fields_of
from broadsheet.settings import (
    Curation,
    Language,
    Link,
    Organization,
    Project,
    Settings,
    Source,
    load_settings,
)

from .support import REPO

ISSUE_FORMAT = REPO / "docs" / "issue-format.md"
SETTINGS_DOC = REPO / "docs" / "settings.md"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.M | re.S)
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


def first_block(path: Path, language: str) -> str:
    """The contents of the first ```LANGUAGE fenced block of the Markdown file at `path`."""
    blocks = [m.group(2) for m in FENCE.finditer(path.read_text(encoding="utf-8")) if m.group(1) == language]
    assert blocks, f"{path.name} has no ```{language} block"
    return blocks[0]


def reference_rows(path: Path, heading: str) -> dict[str, list[str]]:
    """The table rows under `heading` (up to the next heading of its level or above), by the backticked name in their first cell."""
    lines = FENCE.sub("", path.read_text(encoding="utf-8")).splitlines()
    assert heading in lines, f"{path.name} has no heading {heading!r}"
    level = len(heading.split(" ")[0])
    rows: dict[str, list[str]] = {}
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("#") and len(line.split(" ")[0]) <= level:
            break
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def toml_literal(value: Any) -> str | None:
    """How a scalar default is written in TOML, or None for defaults the docs describe in words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return json.dumps(value)
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return json.dumps(list(value))
    return None


ISSUE_REFERENCE = [
    (IssueFile, "### Top-level fields"),
    (ImageFile, "### `image`"),
    (ResourceFile, "### `resources`"),
]
SETTINGS_REFERENCE = [
    (Settings, "## Top-level settings"),
    (Organization, "## `[organization]`"),
    (Link, "## `[[organization.links]]`"),
    (Language, "## `[languages.<code>]`"),
    (Source, "## `[[sources]]`"),
    (Curation, "## `[curation]`"),
]


@pytest.mark.parametrize(
    ("doc", "model", "heading"),
    [(ISSUE_FORMAT, *entry) for entry in ISSUE_REFERENCE]
    + [(SETTINGS_DOC, *entry) for entry in SETTINGS_REFERENCE],
    ids=[model.__name__ for model, _ in ISSUE_REFERENCE + SETTINGS_REFERENCE],
)
def test_reference_documents_exactly_the_declared_fields(doc: Path, model: type, heading: str) -> None:
    documented = reference_rows(doc, heading)

    assert sorted(f"`{name}`" for name in documented) == sorted(f"`{name}`" for name in fields_of(model))


# -- docs/issue-format.md -------------------------------------------------------


def test_issue_format_example_is_a_valid_issue_without_warnings(
    repo_project: Project, tmp_path: Path
) -> None:
    path = tmp_path / "2024-01-04.yaml"
    path.write_text(first_block(ISSUE_FORMAT, "yaml"), encoding="utf-8")

    reading = read_issue(path, repo_project.settings)

    assert [str(d) for d in reading.diagnostics] == []
    assert reading.issue is not None


def test_issue_format_example_uses_every_field() -> None:
    example = yaml.safe_load(first_block(ISSUE_FORMAT, "yaml"))

    assert set(example) == set(fields_of(IssueFile))
    assert set(example["image"]) == set(fields_of(ImageFile))
    used = {key for items in example["resources"].values() for item in items for key in item}
    assert used == set(fields_of(ResourceFile))


@pytest.mark.parametrize(
    ("model", "heading"), ISSUE_REFERENCE, ids=[model.__name__ for model, _ in ISSUE_REFERENCE]
)
def test_issue_format_reference_says_which_fields_are_required(model: type, heading: str) -> None:
    documented = reference_rows(ISSUE_FORMAT, heading)

    for name, field in fields_of(model).items():
        required = documented[name][1]
        assert required == ("required" if field.required else "optional"), name


# -- docs/settings.md -----------------------------------------------------------


def test_settings_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "broadsheet.toml"
    path.write_text(first_block(SETTINGS_DOC, "toml"), encoding="utf-8")

    settings = load_settings(path)

    assert settings.organization.links


def test_settings_example_sets_every_setting() -> None:
    example = tomllib.loads(first_block(SETTINGS_DOC, "toml"))

    assert set(example) == set(fields_of(Settings))
    assert set(example["organization"]) == set(fields_of(Organization))
    for link in example["organization"]["links"]:
        assert set(link) == set(fields_of(Link))
    for table in example["languages"].values():
        assert set(table) == set(fields_of(Language))
    assert set(example["curation"]) == set(fields_of(Curation))
    for source in example["sources"]:
        assert set(source) == set(fields_of(Source))


@pytest.mark.parametrize(
    ("model", "heading"), SETTINGS_REFERENCE, ids=[model.__name__ for model, _ in SETTINGS_REFERENCE]
)
def test_settings_doc_gives_the_declared_defaults(model: type, heading: str) -> None:
    documented = reference_rows(SETTINGS_DOC, heading)

    for name, field in fields_of(model).items():
        default = documented[name][1]
        if field.required:
            assert default == "required", name
        elif field.factory is None and toml_literal(field.default) is not None:
            assert f"`{toml_literal(field.default)}`" in default, name


ARCHITECTURE = REPO / "docs" / "architecture.md"
MODULE_PATH = re.compile(r"(?<![\w./*<])((?:[\w-]+/)*[\w-]+\.py|(?:[\w-]+/)+(?=`))")


def test_architecture_names_only_modules_and_folders_that_exist() -> None:
    named = set(MODULE_PATH.findall(ARCHITECTURE.read_text(encoding="utf-8")))
    assert {"pipeline.py", "delivery/ledger.py", "src/broadsheet/delivery/migrations/versions/"} <= named
    package = REPO / "src" / "broadsheet"
    missing = sorted(path for path in named if not (REPO / path).exists() and not (package / path).exists())
    assert missing == []


# Writes to the subscribers' records: a statement on their tables, a status set on a loaded row.
SUBSCRIBER_WRITE = re.compile(
    r"\b(?:update|insert|delete)\((?:Subscriber|Forgotten)\b|(?<!class )\bForgotten\(|(?<!self)\.status\s*=[^=]|\.values\([^)]*\bstatus="
)


def test_only_the_module_the_architecture_names_writes_subscribers() -> None:
    assert "Only `delivery/lifecycle.py`\nchanges a subscriber's status or record" in ARCHITECTURE.read_text(
        encoding="utf-8"
    )
    package = REPO / "src" / "broadsheet"
    writers = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "migrations" not in path.parts and SUBSCRIBER_WRITE.search(path.read_text(encoding="utf-8"))
    )
    assert writers == ["delivery/lifecycle.py"]
