"""The command line: exact output and exit codes of build, new, help and version; commands loaded lazily."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import click
import pytest

from broadsheet import __version__
from broadsheet.build import new_issue, next_publication_day
from broadsheet.cli import COMMANDS, main
from broadsheet.issue import read_issue
from broadsheet.settings import Project

from .support import REPO, SAMPLE


def test_build_writes_both_parts_for_every_locale(cli, tmp_path: Path) -> None:
    result = cli("build", str(SAMPLE), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    for locale in ("en", "my"):
        for part in ("email.html", "email.txt"):
            assert (tmp_path / locale / part).stat().st_size > 1000
    lines = result.stdout.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        f"wrote {tmp_path / locale / part}" for locale in ("en", "my") for part in ("email.html", "email.txt")
    ]
    # The sample's Burmese edition translates only part of the editorial.
    assert result.stderr == (
        "issues/2023-12-21.yaml: warning: my: 25 of 31 messages in "
        "locales/my/LC_MESSAGES/issues/2023-12-21.po untranslated; English shown\n"
    )


def test_build_defaults_to_build_date_folder(cli, tmp_project: Project) -> None:
    (tmp_project.issues_dir / "2023-12-21.yaml").write_bytes(SAMPLE.read_bytes())
    result = cli("build", "issues/2023-12-21.yaml", "--locale", "en", cwd=tmp_project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote build/2023-12-21/en/email.html (")
    assert (tmp_project.root / "build/2023-12-21/en/email.txt").is_file()
    assert not (tmp_project.root / "build/2023-12-21/my").exists()


def test_build_with_unknown_locale_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("build", str(SAMPLE), "--locale", "fr", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == "broadsheet: unknown locale fr; configured locales: en, my\n"
    assert list(tmp_path.iterdir()) == []


def test_build_outside_a_project_says_so_not_only_that_a_template_is_missing(cli, tmp_path: Path) -> None:
    (tmp_path / "2023-12-21.yaml").write_bytes(SAMPLE.read_bytes())
    result = cli("build", "2023-12-21.yaml", cwd=tmp_path)
    assert result.exit_code == 1
    root = tmp_path.resolve()
    assert result.stderr == (
        f"{root / 'templates' / 'email.mjml.j2'}: error: template not found: no broadsheet.toml in {root} or any "
        "folder above it, so this is not a project's folder; run broadsheet in one, or name one with -C DIR\n"
    )


def test_build_with_a_templates_dir_that_does_not_exist_names_the_setting(cli, tmp_project: Project) -> None:
    settings = tmp_project.root / "broadsheet.toml"
    settings.write_text(
        'templates_dir = "layouts"\n' + settings.read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_project.issues_dir / "2023-12-21.yaml").write_bytes(SAMPLE.read_bytes())
    result = cli("build", "issues/2023-12-21.yaml", cwd=tmp_project.root)
    assert result.exit_code == 1, result.output
    folder = tmp_project.root.resolve() / "layouts"
    assert result.stderr == (
        f"{folder / 'email.mjml.j2'}: error: template not found: the folder {folder} does not exist "
        "(templates_dir in broadsheet.toml)\n"
    )


def test_build_of_an_invalid_issue_writes_nothing_and_exits_1(cli, tmp_project: Project) -> None:
    path = tmp_project.issues_dir / "2023-12-21.yaml"
    path.write_text("date: 2023-12-21\ntitle: T\neditorial: x\nresources:\n  report: []\n")
    result = cli("build", "issues/2023-12-21.yaml", cwd=tmp_project.root)
    assert result.exit_code == 1
    assert result.stderr == (
        "issues/2023-12-21.yaml:5:3: error: resources.report: unknown category 'report'; "
        "did you mean 'reports'? (configured categories: statements, reports)\n"
    )
    assert not tmp_project.build_dir.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["build", str(SAMPLE), "--locale", "en", "--out", "{file}/out"],
        ["site", "--out", "{file}/site"],
        ["subscribers", "export", "--out", "{file}/subscribers.csv"],
    ],
)
def test_an_output_path_through_a_file_is_an_error_in_a_line(
    cli, tmp_project: Project, tmp_path: Path, command: list[str]
) -> None:
    """A folder given that is a file (or a full or read-only disk): the path and the reason, exit 1."""
    (tmp_project.issues_dir / "2023-12-21.yaml").write_bytes(SAMPLE.read_bytes())
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    result = cli(*[part.format(file=file) for part in command], cwd=tmp_project.root)
    assert result.exit_code == 1, result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"broadsheet: {file}")
    assert last.endswith(("Not a directory", "File exists"))
    assert "Traceback" not in result.stderr
    assert file.read_text() == "not a folder"


def test_missing_issue_file_is_a_usage_error(cli) -> None:
    result = cli("build", "issues/1999-01-01.yaml")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_new_writes_a_skeleton_for_the_next_publication_day(cli, tmp_project: Project) -> None:
    result = cli("new", "2024-01-04", cwd=tmp_project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote issues/2024-01-04.yaml\n"
    reading = read_issue(tmp_project.issues_dir / "2024-01-04.yaml", tmp_project.settings)
    # The skeleton is a valid shape whose only errors are the title and the editorial the editor must write.
    assert [f"{d.line}: {d.field}: {d.message}" for d in reading.errors] == [
        "8: title: must not be empty",
        "25: editorial: 'First paragraph.' is still the text `broadsheet new` wrote; write the editorial",
        "27: editorial: 'Second paragraph.' is still the text `broadsheet new` wrote; write the editorial",
    ]
    text = (tmp_project.issues_dir / "2024-01-04.yaml").read_text()
    assert "date: 2024-01-04\n" in text
    assert "  statements:  # Statements and Press Releases\n" in text
    assert "  reports:  # Reports and Publications\n" in text


def test_new_refuses_to_overwrite(cli, tmp_project: Project) -> None:
    existing = tmp_project.issues_dir / "2024-01-04.yaml"
    existing.write_text("mine\n")
    result = cli("new", "2024-01-04", cwd=tmp_project.root)
    assert result.exit_code == 1
    assert result.stderr == f"{existing}: error: already exists; not overwritten\n"
    assert existing.read_text() == "mine\n"


def test_a_project_folder_that_does_not_exist_is_a_usage_error(cli, tmp_path: Path) -> None:
    # A mistyped -C once made a project of its own there: `new` wrote DIR/issues/, `build` found no template.
    result = cli("-C", "newsleter", "new", "2024-01-04", cwd=tmp_path)
    assert result.exit_code == 2
    assert "Invalid value for '-C' / '--project': Directory 'newsleter' does not exist." in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_without_date_picks_next_thursday(tmp_project: Project) -> None:
    path = new_issue(tmp_project, today=date(2026, 11, 25))  # a Wednesday
    assert path.name == "2026-11-26.yaml"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 25), date(2026, 11, 26)),  # Wednesday -> next day
        (date(2026, 11, 26), date(2026, 12, 3)),  # Thursday -> a week later
        (date(2026, 11, 27), date(2026, 12, 3)),  # Friday
    ],
)
def test_next_publication_day(today: date, expected: date) -> None:
    assert next_publication_day(today, "thursday") == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("new", "2024-02-30"), "Invalid value for '[DATE]': Expected a date (YYYY-MM-DD) but received: '2024-02-30' (no such day)"),
        (("new", "2024-2-5"), "Invalid value for '[DATE]': Expected a date (YYYY-MM-DD) but received: '2024-2-5'; write 2024-02-05"),
        (("new", "20240104"), "Invalid value for '[DATE]': Expected a date (YYYY-MM-DD) but received: '20240104'; write 2024-01-04"),
        (("site", "--until", "2024-13-01"), "Invalid value for '--until': Expected a date (YYYY-MM-DD) but received: '2024-13-01' (no such day)"),
        (("collect", "issues/x.yaml", "--since", "yesterday"), "Invalid value for '--since': Expected a date (YYYY-MM-DD) but received: 'yesterday'"),
        (("report", "20240104"), "ISSUE: Expected a date such as 2024-01-04 or an issue file but received: '20240104'"),
    ],
)  # fmt: skip
def test_a_bad_date_is_a_usage_error_saying_what_is_wrong(
    cli, tmp_project: Project, args: tuple[str, ...], message: str
) -> None:
    (tmp_project.issues_dir / "x.yaml").parent.mkdir(exist_ok=True)
    (tmp_project.issues_dir / "x.yaml").write_text("", encoding="utf-8")
    result = cli(*args, cwd=tmp_project.root)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not list(tmp_project.issues_dir.glob("2024*"))


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["check"],
        ["build"],
        ["new"],
        ["catalog"],
        ["catalog", "extract"],
        ["catalog", "update"],
        ["catalog", "status"],
        ["catalog", "convert-zawgyi"],
        ["send"],
        ["report"],
        ["subscribers"],
        ["subscribers", "import"],
        ["subscribers", "list"],
        ["suppressions", "sync"],
        ["preview"],
        ["site"],
        ["serve"],
        ["snippet"],
    ],
)
def test_every_command_has_help(cli, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: broadsheet")
    assert len(result.stdout.splitlines()) > 4


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"broadsheet, version {__version__}\n"


def test_bad_settings_file_exits_1_with_its_location(cli, tmp_path: Path) -> None:
    (tmp_path / "broadsheet.toml").write_text('locales = ["en"]\ntext_width = "wide"\n')
    result = cli("check", str(SAMPLE), cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"{tmp_path / 'broadsheet.toml'}:2: error: text_width: Expected an integer but received: 'wide'\n"
    )


def test_real_process_exit_codes_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"date: 2023-12-21\ntitle: caf\xe9\n")
    run = [sys.executable, "-m", "broadsheet"]
    ok = subprocess.run([*run, "check", str(SAMPLE)], cwd=REPO, capture_output=True, text=True, check=False)
    assert (ok.returncode, ok.stdout) == (0, f"{SAMPLE.relative_to(REPO)}: ok (1 warning(s))\n")
    wrong = subprocess.run([*run, "check", str(bad)], cwd=REPO, capture_output=True, text=True, check=False)
    assert wrong.returncode == 1
    assert "Traceback" not in wrong.stderr
    assert wrong.stderr.splitlines()[0] == (
        f"{bad}:2:11: error: not UTF-8 text: byte 0xE9 cannot be decoded; save the file as UTF-8"
    )
    usage = subprocess.run([*run, "nonsense"], cwd=REPO, capture_output=True, text=True, check=False)
    assert usage.returncode == 2


def test_broken_template_is_reported_once_at_its_place(cli, sample_project: Project) -> None:
    template = sample_project.templates_dir / "email.txt.j2"
    template.write_text("{{ oops \n", encoding="utf-8")
    result = cli("build", "issues/2023-12-21.yaml", "--locale", "en", cwd=sample_project.root)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{template}:1: error: template: ")
    assert len(result.stderr.splitlines()) == 1


# Importing any of these takes tens to hundreds of milliseconds; `broadsheet --help` needs none.
HEAVY = {"jinja2", "yaml", "babel", "mjml", "sqlalchemy", "pydantic", "rich", "uvicorn", "starlette"}


def python(script: str) -> list[str]:
    """The lines a fresh Python process prints running `script` (dedented) from the repository."""
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, capture_output=True, text=True, check=True
    )
    return run.stdout.splitlines()


def test_help_imports_no_command_module_and_no_heavy_library() -> None:
    usage, *_help, heavy, ours = python(
        f"""
        import sys
        from broadsheet.cli import main
        main(["--help"], prog_name="broadsheet", standalone_mode=False)
        print(sorted({{name.split(".")[0] for name in sys.modules}} & {HEAVY!r}))
        print(sorted(name for name in sys.modules if name.startswith("broadsheet")))
        """
    )
    assert usage == "Usage: broadsheet [OPTIONS] COMMAND [ARGS]..."
    assert heavy == "[]"
    assert ours == "['broadsheet', 'broadsheet.cli', 'broadsheet.cli.output', 'broadsheet.errors']"


def test_each_command_imports_only_its_own_module() -> None:
    names = sorted(COMMANDS)
    *_help, found = python(
        f"""
        import json, sys
        from broadsheet.cli import main

        def ours():
            return {{name for name in sys.modules if name.startswith("broadsheet.cli.")}}

        imported = []
        for name in {names!r}:
            before = ours()
            main([name, "--help"], standalone_mode=False)
            imported.append(sorted(ours() - before))
        print(json.dumps(imported))
        """
    )
    imported = dict(zip(names, json.loads(found), strict=True))
    modules = {name: f"broadsheet.cli.{COMMANDS[name][0].partition(':')[0]}" for name in names}
    # The first command of a module imports it; the neighbours run after it find it loaded.
    assert {name: new for name, new in imported.items() if new} == {
        name: [module]
        for name, module in modules.items()
        if name == min(n for n in names if modules[n] == module)
    }


def test_a_command_loads_with_the_cycle_collector_paused_and_leaves_it_running() -> None:
    *_help, found = python(
        """
        import gc
        from broadsheet.cli import main
        before = gc.get_freeze_count()
        main(["build", "--help"], standalone_mode=False)
        print(before, gc.get_freeze_count() > 0, gc.isenabled())
        """
    )
    # What the command's modules made is out of the collector's sight; it runs for all that comes after.
    assert found == "0 True True"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_resolves_to_the_help_it_is_listed_with(name: str) -> None:
    with click.Context(main) as ctx:
        command = main.get_command(ctx, name)
    assert command is not None and command.name == name
    assert inspect.cleandoc(command.help or "").partition("\n\n")[0].replace("\n", " ") == COMMANDS[name][1]
