"""The translators' workflow: extract, update (fuzzy, obsolete), status, checks of translations."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileParser, read_po
from sqlalchemy import Engine

from broadsheet import catalogs, markdown
from broadsheet.errors import InvalidInput
from broadsheet.i18n import read_catalog
from broadsheet.issue import read_issue
from broadsheet.localize import localize
from broadsheet.render import Renderer
from broadsheet.settings import Project, find_project
from broadsheet.site import build_site

from .live import app_sending_to, serving
from .support import ISSUE, REPO, table_rows, translate


@pytest.fixture
def project(tmp_project: Project) -> Project:
    (tmp_project.issues_dir / "2024-01-04.yaml").write_text(ISSUE, encoding="utf-8")
    return tmp_project


def _po(project: Project, locale: str, domain: str):  # type: ignore[no-untyped-def]
    with catalogs.catalog_path(project, locale, domain).open("rb") as handle:
        return read_po(handle)


def test_extract_writes_every_kind_of_message_with_its_location(project: Project, cli) -> None:
    result = cli("catalog", "extract", cwd=project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "wrote locales/messages.pot",
        "wrote locales/names.pot",
        "wrote locales/issues/2024-01-04.pot",
    ]
    pot = (project.locales_dir / "issues" / "2024-01-04.pot").read_text(encoding="utf-8")
    expected_entries = [
        ("issues/2024-01-04.yaml:2", "The Year Ahead"),
        ("issues/2024-01-04.yaml:3", "What to watch in 2024."),
        ("issues/2024-01-04.yaml:6", "A road at dawn"),
        (
            "issues/2024-01-04.yaml:8",
            "First paragraph with a [link](https://example.org/one) and *emphasis*.",
        ),
        ("issues/2024-01-04.yaml:10", "Second paragraph with a footnote.[^1]"),
        ("issues/2024-01-04.yaml:12", "Third paragraph, plain."),
        ("issues/2024-01-04.yaml:14", "The source of the figure."),
        ("issues/2024-01-04.yaml:17", "A statement about 50% of the cases"),
        ("issues/2024-01-04.yaml:21", "မြန်မာ အစီရင်ခံစာ"),
    ]
    for location, msgid in expected_entries:
        assert f'#: {location}\nmsgid "{msgid}"' in pot, msgid
    assert "#. lang: my\n" in pot
    assert "python-format" not in pot  # '50%' is content, not a format string
    names = (project.locales_dir / "names.pot").read_text(encoding="utf-8")
    assert '#: issues/2024-01-04.yaml:17 issues/2024-01-04.yaml:21\nmsgid "Org One"' in names
    assert names.count('msgid "Org One"') == 1
    interface = (project.locales_dir / "messages.pot").read_text(encoding="utf-8")
    for msgid in (
        "By %(author)s",
        "Resources from the past week",
        "Unsubscribe",
        "Statements and Press Releases",
        "Facebook",
    ):
        assert f'msgid "{msgid}"' in interface
    assert "#: templates/email.mjml.j2:" in interface
    assert "#: broadsheet.toml:" in interface
    assert 'msgid_plural "%(n)s minute read"' in interface


def test_extract_offers_the_publisher_s_name_even_when_no_issue_names_it(project: Project, cli) -> None:
    """Every edition names its publisher (masthead, footer, feed) as the names catalog gives it: an issue by
    another author, with no resource of its own, would otherwise leave the name out of `names.pot`."""
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text("author: Someone Else\n" + issue.read_text(encoding="utf-8"), encoding="utf-8")
    assert cli("catalog", "extract", cwd=project.root).exit_code == 0
    names = (project.locales_dir / "names.pot").read_text(encoding="utf-8")
    settings = (project.root / "broadsheet.toml").read_text(encoding="utf-8").splitlines()
    line = settings.index('name = "Progressive Voice"') + 1
    assert f'#: broadsheet.toml:{line}\nmsgid "Progressive Voice"' in names
    assert 'msgid "Someone Else"' in names


def test_extract_does_not_rewrite_unchanged_templates(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    pot = project.locales_dir / "issues" / "2024-01-04.pot"
    before = pot.read_bytes()
    pot_mtime = pot.stat().st_mtime_ns
    result = cli("catalog", "extract", cwd=project.root)
    assert result.stdout.splitlines() == [
        "unchanged locales/messages.pot",
        "unchanged locales/names.pot",
        "unchanged locales/issues/2024-01-04.pot",
    ]
    assert pot.read_bytes() == before
    assert pot.stat().st_mtime_ns == pot_mtime


def test_extract_of_one_issue_leaves_names_pot_as_extract_of_all_wrote_it(project: Project, cli) -> None:
    (project.issues_dir / "2024-01-11.yaml").write_text(
        ISSUE.replace("2024-01-04", "2024-01-11").replace("Org One", "Org Zero"), encoding="utf-8"
    )
    cli("catalog", "extract", cwd=project.root)
    result = cli("catalog", "extract", "issues/2024-01-11.yaml", cwd=project.root)
    assert result.stdout.splitlines() == [
        "unchanged locales/messages.pot",
        "unchanged locales/names.pot",
        "unchanged locales/issues/2024-01-11.pot",
    ]


def test_extract_of_an_invalid_issue_reports_it_and_exits_1(project: Project, cli) -> None:
    (project.issues_dir / "2024-01-11.yaml").write_text("date: 2024-01-11\ntitle: x\n")
    result = cli("catalog", "extract", cwd=project.root)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "issues/2024-01-11.yaml:1:1: error: editorial: required field is missing",
        "issues/2024-01-11.yaml:1:1: error: resources: required field is missing",
        "issues/2024-01-11.yaml: warning: its names are left out of locales/names.pot until its errors are fixed",
    ]
    assert result.stdout.splitlines() == [
        "wrote locales/messages.pot",
        "wrote locales/names.pot",
        "wrote locales/issues/2024-01-04.pot",
    ]


def test_extract_writes_the_names_of_this_week_s_issue_while_next_week_s_skeleton_has_errors(
    project: Project, cli
) -> None:
    """names.pot waited on every issue: an unfinished skeleton from `broadsheet new` kept this week's names from
    the translators until it was finished."""
    assert cli("new", "2024-01-11", cwd=project.root).exit_code == 0
    assert cli("catalog", "extract", cwd=project.root).exit_code == 1
    names = (project.locales_dir / "names.pot").read_text(encoding="utf-8")
    assert '#: issues/2024-01-04.yaml:17 issues/2024-01-04.yaml:21\nmsgid "Org One"' in names
    assert 'msgid "Org Two"' in names


def test_names_an_issue_gave_stay_while_it_has_errors(project: Project, cli) -> None:
    """A typo in an issue leaves out its names as it is now, not those it gave: they would turn obsolete at the
    next update, translations and all, for a name still in use."""
    issue = project.issues_dir / "2024-01-04.yaml"
    cli("catalog", "extract", cwd=project.root)
    names = project.locales_dir / "names.pot"
    before = names.read_bytes()
    issue.write_text(
        issue.read_text(encoding="utf-8")
        .replace("by: Org One\n", "by: Org Three\n")
        .replace("title:", "titel:", 1),
        encoding="utf-8",
    )
    (project.issues_dir / "2024-01-11.yaml").write_text(
        ISSUE.replace("2024-01-04", "2024-01-11").replace("Org Two", "Org Four"), encoding="utf-8"
    )
    result = cli("catalog", "extract", cwd=project.root)
    assert result.exit_code == 1
    assert (
        "issues/2024-01-04.yaml: warning: its names are left out of locales/names.pot until its errors are fixed; "
        "the 2 it gave when it last read without errors are kept"
    ) in result.stderr.splitlines()
    with names.open("rb") as handle:
        written = {message.id: message.locations for message in read_po(handle) if message.id}
    del written["Progressive Voice"]  # the publisher's, from broadsheet.toml
    assert written == {
        "Org One": [
            ("issues/2024-01-04.yaml", 17),
            ("issues/2024-01-04.yaml", 21),
            ("issues/2024-01-11.yaml", 17),
            ("issues/2024-01-11.yaml", 21),
        ],
        "Org Two": [("issues/2024-01-04.yaml", 17)],
        "Org Four": [("issues/2024-01-11.yaml", 17)],
    }
    (project.issues_dir / "2024-01-11.yaml").unlink()
    assert cli("catalog", "extract", cwd=project.root).exit_code == 1
    assert names.read_bytes() == before


def test_extract_of_two_issues_of_one_date_writes_neither_template(project: Project, cli) -> None:
    """Both would write `issues/<date>.pot`, the second over the first: a draft copy would make the real issue's
    translations obsolete at the next update."""
    cli("catalog", "extract", cwd=project.root)
    pot = project.locales_dir / "issues" / "2024-01-04.pot"
    before = pot.read_bytes()
    original = (project.issues_dir / "2024-01-04.yaml").read_text(encoding="utf-8")
    (project.issues_dir / "draft.yaml").write_text(
        original.replace("title:", "title: A draft,", 1), encoding="utf-8"
    )
    result = cli("catalog", "extract", cwd=project.root)
    assert result.exit_code == 1
    assert (
        "issues/2024-01-04.yaml: error: date: another issue has the same date (issues/draft.yaml)"
        in result.stderr
    )
    assert (
        "issues/draft.yaml: error: date: another issue has the same date (issues/2024-01-04.yaml)"
        in result.stderr
    )
    assert pot.read_bytes() == before
    assert "issues/2024-01-04.pot" not in result.stdout


def test_extract_leaves_hidden_files_alone(project: Project, cli) -> None:
    # macOS's `._` companion of an issue file, copied from a shared disk: not YAML, not an issue.
    (project.issues_dir / "._2024-01-04.yaml").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    result = cli("catalog", "extract", cwd=project.root)
    assert result.exit_code == 0, result.stderr
    assert "._" not in result.output


def test_update_creates_catalogs_with_one_burmese_plural_form(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    result = cli("catalog", "update", cwd=project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "wrote locales/my/LC_MESSAGES/messages.po",
        "wrote locales/my/LC_MESSAGES/names.po",
        "wrote locales/my/LC_MESSAGES/issues/2024-01-04.po",
    ]
    for domain in ("messages", "names", "issues/2024-01-04"):
        text = catalogs.catalog_path(project, "my", domain).read_text(encoding="utf-8")
        assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in text
        assert '"Language: my\\n"' in text
    issue_po = _po(project, "my", "issues/2024-01-04")
    # The Burmese title is already Burmese: not offered for translation into Burmese.
    assert "မြန်မာ အစီရင်ခံစာ" not in issue_po
    assert "The Year Ahead" in issue_po


def test_a_title_marked_with_a_region_of_the_catalog_s_language_is_not_offered_for_translation(
    project: Project, cli
) -> None:
    issue_file = project.issues_dir / "2024-01-04.yaml"
    issue_file.write_text(
        issue_file.read_text(encoding="utf-8").replace("      lang: my\n", "      lang: my_MM\n"),
        encoding="utf-8",
    )
    for command in ("extract", "update"):
        assert cli("catalog", command, cwd=project.root).exit_code == 0
    assert "#. lang: my_MM\n" in (project.locales_dir / "issues" / "2024-01-04.pot").read_text(
        encoding="utf-8"
    )
    issue_po = _po(project, "my", "issues/2024-01-04")
    assert "မြန်မာ အစီရင်ခံစာ" not in issue_po
    assert "The Year Ahead" in issue_po


REFUGEE_AID = "ဒုက္ခသည်ကူညီရေးအဖွဲ့"
"""An organization's name written in Burmese in an English issue."""


def _name_refugee_aid(project: Project) -> None:
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(
        ISSUE.replace("by: [Org One, Org Two]", f"by: [Org One, {REFUGEE_AID}]"), encoding="utf-8"
    )


def test_a_name_written_in_burmese_is_not_offered_for_translation_into_burmese(project: Project, cli) -> None:
    """`names.pot` is every locale's: the name is marked Burmese there, as a Burmese title is in an issue's, and
    left out of `my/names.po` (it was offered, and counted untranslated), not out of another locale's."""
    _name_refugee_aid(project)
    assert cli("catalog", "extract", cwd=project.root).exit_code == 0
    names = (project.locales_dir / "names.pot").read_text(encoding="utf-8")
    assert f'#. organization name\n#. lang: my\n#: issues/2024-01-04.yaml:17\nmsgid "{REFUGEE_AID}"' in names
    assert names.count("lang: my") == 1
    # Kept so while the issue has errors, as names.pot held it.
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(issue.read_text(encoding="utf-8").replace("title:", "titel:", 1), encoding="utf-8")
    assert cli("catalog", "extract", cwd=project.root).exit_code == 1
    assert (project.locales_dir / "names.pot").read_text(encoding="utf-8") == names
    _name_refugee_aid(project)
    assert cli("catalog", "update", cwd=project.root).exit_code == 0
    assert REFUGEE_AID not in _po(project, "my", "names")
    assert "Org One" in _po(project, "my", "names")
    settings = project.root / "broadsheet.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            'locales = ["en", "my"]', 'locales = ["en", "my", "th"]'
        ),
        encoding="utf-8",
    )
    assert cli("catalog", "update", "--locale", "th", cwd=project.root).exit_code == 0
    assert REFUGEE_AID in _po(project, "th", "names")  # for a transliteration


def test_update_keeps_a_translation_already_written_for_a_name_written_in_burmese(
    project: Project, cli
) -> None:
    """A Burmese catalog written before such names were left out holds them; the one a translator respelled keeps
    its translation, which the build uses, instead of turning obsolete."""
    _name_refugee_aid(project)
    (project.issues_dir / "2024-01-11.yaml").write_text(
        ISSUE.replace("2024-01-04", "2024-01-11").replace("Org Two", "ကရင်အမျိုးသမီးအစည်းအရုံး"), encoding="utf-8"
    )
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    names = catalogs.catalog_path(project, "my", "names")
    for name, spelled in ((REFUGEE_AID, "ဒုက္ခသည် ကူညီရေး အဖွဲ့"), ("ကရင်အမျိုးသမီးအစည်းအရုံး", "")):
        names.write_text(
            names.read_text(encoding="utf-8")
            + f'\n#. organization name\nmsgid "{name}"\nmsgstr "{spelled}"\n',
            encoding="utf-8",
        )
    assert cli("catalog", "update", cwd=project.root).exit_code == 0
    catalog = _po(project, "my", "names")
    assert catalog.get(REFUGEE_AID).string == "ဒုက္ခသည် ကူညီရေး အဖွဲ့"
    assert "ကရင်အမျိုးသမီးအစည်းအရုံး" not in catalog
    # Counted as the build counts it: translated.
    status = cli("catalog", "status", cwd=project.root)
    assert table_rows(status.stdout)[3] == ["my", "names", "1", "0", "2", "4", "33%"]
    assert all(
        line.startswith("unchanged ")
        for line in cli("catalog", "update", cwd=project.root).stdout.splitlines()
    )


def test_status_does_not_count_a_name_written_in_burmese_untranslated_in_burmese(
    project: Project, cli
) -> None:
    _name_refugee_aid(project)
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "names", {"Org One": "အဖွဲ့ တစ်"})
    table = cli("catalog", "status", cwd=project.root)
    assert table.exit_code == 0, table.output
    assert table_rows(table.stdout)[3] == ["my", "names", "1", "0", "1", "2", "50%"]
    # As the issue is now, with a second Burmese name not extracted yet: nothing to extract for Burmese.
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(
        issue.read_text(encoding="utf-8").replace("by: Org One\n", "by: ကရင်အမျိုးသမီးအစည်းအရုံး\n"),
        encoding="utf-8",
    )
    result = cli("catalog", "status", "issues/2024-01-04.yaml", cwd=project.root)
    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout)[3] == ["my", "names", "1", "0", "1", "2", "50%"]
    assert result.stderr == ""
    assert (
        "issues/2024-01-04.yaml: warning: my: 1 of 2 messages in locales/my/LC_MESSAGES/names.po untranslated; "
        "English shown"
    ) in cli("check", "issues/2024-01-04.yaml", cwd=project.root).stderr.splitlines()


def test_catalogs_written_by_broadsheet_pass_msgfmt_check(project: Project, cli) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("GNU gettext's msgfmt is missing; ./scripts/test installs it")
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "messages", {"By %(author)s": "ရေးသားသူ - %(author)s"})
    for path in [*project.locales_dir.rglob("*.po"), *project.locales_dir.rglob("*.pot")]:
        run = subprocess.run(
            [msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, f"{path}: {run.stderr}"


def test_edited_paragraph_becomes_fuzzy_with_its_old_translation(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": "တတိယ စာပိုဒ်။"})
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(
        ISSUE.replace("Third paragraph, plain.", "Third paragraph, plain and edited."), encoding="utf-8"
    )
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    catalog = _po(project, "my", "issues/2024-01-04")
    edited = catalog.get("Third paragraph, plain and edited.")
    assert edited is not None
    assert edited.fuzzy
    assert edited.string == "တတိယ စာပိုဒ်။"
    text = catalogs.catalog_path(project, "my", "issues/2024-01-04").read_text(encoding="utf-8")
    assert '#, fuzzy\n#| msgid "Third paragraph, plain."\nmsgid "Third paragraph, plain and edited."' in text
    assert "Third paragraph, plain." not in catalog


GUNS = "to hand their future to men with guns."


def _msgfmt_check(path: Path) -> str:
    """What GNU msgfmt --check says of the catalog at `path` when it refuses it; "" when it takes it."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is missing; ./scripts/test installs it"
    run = subprocess.run(
        [msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True, check=False
    )
    return run.stderr if run.returncode else ""


def test_an_edited_long_paragraph_is_fuzzy_with_its_previous_msgid_as_gnu_gettext_writes_it(
    sample_project: Project, cli
) -> None:
    # Babel's writer joined a long previous msgid's lines into `#| msgid "" "As 2023...` cut anywhere: a
    # catalog that check, build, send, site and update itself then refused ("a string is not closed").
    issue = sample_project.issues_dir / "2023-12-21.yaml"
    text = issue.read_text(encoding="utf-8")
    old = next(line.strip() for line in text.splitlines() if GUNS in line)
    issue.write_text(text.replace(GUNS, "to hand their future to armed men."), encoding="utf-8")
    po = catalogs.catalog_path(sample_project, "my", "issues/2023-12-21")
    translation = read_catalog(po)[0][old].string
    assert cli("catalog", "extract", cwd=sample_project.root).exit_code == 0
    assert cli("catalog", "update", cwd=sample_project.root).exit_code == 0
    written = po.read_text(encoding="utf-8")
    assert (
        '#, fuzzy\n#| msgid ""\n#| "As 2023 draws to a close, it is hard to find words equal to the year "\n'
        in written
    )
    assert '#| " hand their future to men with guns."\nmsgid ""\n' in written
    catalog = read_catalog(po)[0]
    edited = catalog[old.replace("men with guns", "armed men")]
    assert (edited.fuzzy, edited.string, edited.previous_id) == (True, translation, [old])
    assert _msgfmt_check(po) == ""
    for command in (["check", SAMPLE_ISSUE], ["catalog", "status"], ["catalog", "update"]):
        result = cli(*command, cwd=sample_project.root)
        assert result.exit_code == 0, (command, result.output)
    assert po.read_text(encoding="utf-8") == written
    # Edited again: the translation is still of the first text, which the diff must start from.
    issue.write_text(text.replace(GUNS, "to hand their future to the armed men."), encoding="utf-8")
    cli("catalog", "extract", cwd=sample_project.root)
    cli("catalog", "update", cwd=sample_project.root)
    again = read_catalog(po)[0][old.replace("men with guns", "the armed men")]
    assert (again.fuzzy, again.string, again.previous_id) == (True, translation, [old])


def test_previous_msgids_are_read_and_written_back_unchanged(tmp_path: Path) -> None:
    catalog = catalogs.Catalog(locale="my", domain="messages", fuzzy=False)
    long = "A paragraph long enough to wrap. " * 5
    previous = {
        "Short now.": ["Short."],
        "Long now.": [long.strip()],
        "Lines now.": ['First line,\nsecond line "quoted",\n' + long],
        "Burmese now.": ["ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ " * 4],
        "%(n)s item": ["%(n)s old item", "%(n)s old items"],
    }
    for msgid, was in previous.items():
        key: str | tuple[str, str] = (msgid, "%(n)s items") if msgid.startswith("%") else msgid
        string: str | tuple[str] = ("ခု %(n)s",) if isinstance(key, tuple) else "ဘာသာပြန်"
        catalog.add(key, string, flags=["fuzzy"], previous_id=was)
    path = tmp_path / "messages.po"
    path.write_bytes(catalogs._po_text(catalog, history=True))
    read = read_catalog(path)[0]
    assert {catalogs.texts(m.id)[0]: m.previous_id for m in read if m.id} == previous
    assert catalogs._po_text(read, history=True) == path.read_bytes()
    assert "# |" not in path.read_text(encoding="utf-8")
    assert _msgfmt_check(path) == ""


def test_previous_msgids_that_poedit_or_msgmerge_wrote_survive_update(sample_project: Project, cli) -> None:
    # Babel read `#| "..."` as a translator's comment, written back as `# | "..."` above the `#.` comments, one more
    # at each update.
    msgmerge = shutil.which("msgmerge")
    assert msgmerge, "GNU gettext's msgmerge is missing; ./scripts/test installs it"
    issue = sample_project.issues_dir / "2023-12-21.yaml"
    issue.write_text(issue.read_text(encoding="utf-8").replace(GUNS, "to armed men."), encoding="utf-8")
    cli("catalog", "extract", cwd=sample_project.root)
    po = catalogs.catalog_path(sample_project, "my", "issues/2023-12-21")
    subprocess.run(
        [msgmerge, "--quiet", "--previous", "-U", "--backup=off", str(po), "locales/issues/2023-12-21.pot"],
        cwd=sample_project.root,
        check=True,
    )
    assert '#| msgid ""\n#| "As 2023' in po.read_text(encoding="utf-8")
    for _ in range(2):
        assert cli("catalog", "update", cwd=sample_project.root).exit_code == 0
    written = po.read_text(encoding="utf-8")
    assert "# |" not in written
    assert '#, fuzzy\n#| msgid ""\n#| "As 2023' in written


def test_deleted_paragraph_becomes_obsolete_and_is_translated_again_when_restored(
    project: Project, cli
) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": "တတိယ စာပိုဒ်။"})
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(ISSUE.replace("\n  Third paragraph, plain.\n", "\n"), encoding="utf-8")
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    path = catalogs.catalog_path(project, "my", "issues/2024-01-04")
    deleted = path.read_text(encoding="utf-8")
    assert '#~ msgid "Third paragraph, plain."\n#~ msgstr "တတိယ စာပိုဒ်။"' in deleted
    assert "Third paragraph, plain." not in _po(project, "my", "issues/2024-01-04")

    # Restored (an editor's undo): Babel's merge matched only the messages in use, and gave it an empty msgstr,
    # its translation left below as #~, where msgmerge takes it back. So it does for a catalog left so.
    path.write_text(
        deleted.replace("#~ msgid", 'msgid "Third paragraph, plain."\nmsgstr ""\n\n#~ msgid'),
        encoding="utf-8",
    )
    issue.write_text(ISSUE, encoding="utf-8")
    cli("catalog", "extract", cwd=project.root)
    assert cli("catalog", "update", cwd=project.root).exit_code == 0
    assert "#~" not in path.read_text(encoding="utf-8")
    message = _po(project, "my", "issues/2024-01-04").get("Third paragraph, plain.")
    assert (message.string, message.fuzzy) == ("တတိယ စာပိုဒ်။", False)
    assert _msgfmt_check(path) == ""


def test_a_paragraph_re_wrapped_in_the_issue_keeps_its_translation_but_not_one_given_a_hard_break(
    sample_project: Project, cli
) -> None:
    # An editor's fill-paragraph changed the msgid's spaces into line breaks, which Markdown renders as spaces:
    # the translation became fuzzy, English shown in the Burmese edition until the translator cleared the mark.
    issue = sample_project.issues_dir / "2023-12-21.yaml"
    original = issue.read_text(encoding="utf-8")
    po = catalogs.catalog_path(sample_project, "my", "issues/2023-12-21")
    old = next(m for m in read_catalog(po)[0] if isinstance(m.id, str) and m.id.endswith(GUNS))
    rewrapped = old.id.replace(" the year the ", " the year\n  the ").replace(" Yet ", "\n  Yet ")
    issue.write_text(original.replace(old.id, rewrapped), encoding="utf-8")
    cli("catalog", "extract", cwd=sample_project.root)
    result = cli("catalog", "update", cwd=sample_project.root)
    assert result.stdout.splitlines()[-1] == "wrote locales/my/LC_MESSAGES/issues/2023-12-21.po"
    now = read_catalog(po)[0][rewrapped.replace("\n  ", "\n")]
    assert (now.string, now.fuzzy) == (old.string, False)
    check = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert "untranslated (" not in check.stderr, check.stderr

    hard_break = old.id.replace(" Yet ", "  \n  Yet ")
    issue.write_text(original.replace(old.id, hard_break), encoding="utf-8")
    cli("catalog", "extract", cwd=sample_project.root)
    result = cli("catalog", "update", cwd=sample_project.root)
    assert result.stdout.splitlines()[-1].endswith("(1 translation now fuzzy, to revise)")
    assert read_catalog(po)[0][hard_break.replace("\n  ", "\n")].fuzzy


def test_update_says_how_many_translations_it_made_fuzzy_or_obsolete(project: Project, cli) -> None:
    # It said only "wrote": a rewritten paragraph's translation went to the #~ lines at the file's end unseen.
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(
        project,
        "my",
        "issues/2024-01-04",
        {"Third paragraph, plain.": "တတိယ စာပိုဒ်။", "Second paragraph with a footnote.[^1]": "ဒုတိယ[^1]"},
    )
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(
        ISSUE.replace("Third paragraph, plain.", "Something else entirely, written anew.").replace(
            "Second paragraph with", "Second paragraph, with"
        ),
        encoding="utf-8",
    )
    cli("catalog", "extract", cwd=project.root)
    result = cli("catalog", "update", cwd=project.root)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "wrote locales/my/LC_MESSAGES/issues/2024-01-04.po (1 translation now fuzzy, to revise; "
        "1 translation made obsolete, kept as #~ at the end)"
    )
    again = cli("catalog", "update", cwd=project.root)
    assert again.stdout.splitlines()[-1] == "unchanged locales/my/LC_MESSAGES/issues/2024-01-04.po"


def test_update_gives_a_catalog_written_without_a_header_the_header_of_a_new_one(
    project: Project, cli
) -> None:
    # Babel wrote its own: marked fuzzy, "PROJECT VERSION", and a copyright of the year, which changed each January.
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    path = catalogs.catalog_path(project, "my", "issues/2024-01-04")
    made = path.read_text(encoding="utf-8")
    path.write_text('msgid "Third paragraph, plain."\nmsgstr "တတိယ စာပိုဒ်။"\n', encoding="utf-8")
    cli("catalog", "update", cwd=project.root)
    written = path.read_text(encoding="utf-8")
    assert written.split("\n\n")[0] == made.split("\n\n")[0]
    # The file's one line end at its end is kept, as a translator's tool wrote it.
    assert written == made.replace('plain."\nmsgstr ""', 'plain."\nmsgstr "တတိယ စာပိုဒ်။"').rstrip("\n") + "\n"
    assert _msgfmt_check(path) == ""


def test_update_keeps_translations_and_is_stable(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "names", {"Org One": "အဖွဲ့ တစ်"})
    cli("catalog", "update", cwd=project.root)
    assert _po(project, "my", "names").get("Org One").string == "အဖွဲ့ တစ်"
    again = cli("catalog", "update", cwd=project.root)
    assert all(line.startswith("unchanged ") for line in again.stdout.splitlines())


def test_update_of_a_translation_holding_a_very_long_word_takes_no_time(sample_project: Project, cli) -> None:
    # Babel's wrapping took time quadratic in a run of letters: 15 s for this one, hours for a line of 1 MB.
    word = "x" * 40_000
    path = catalogs.catalog_path(sample_project, "my", "messages")
    old = 'msgstr "ပြီးခဲ့သည့် အပတ်မှ အရင်းအမြစ်များ"'
    path.write_text(path.read_text(encoding="utf-8").replace(old, f'msgstr "{word}"'), encoding="utf-8")
    started = time.monotonic()
    result = cli("catalog", "update", cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 5
    assert _po(sample_project, "my", "messages").get("Resources from the past week").string == word


def test_update_refuses_the_source_locale(project: Project, cli) -> None:
    result = cli("catalog", "update", "--locale", "en", cwd=project.root)
    assert result.exit_code == 2
    assert result.stderr == "broadsheet: en is the source language; it has no catalogs to update\n"


def test_status_counts_messages_and_words(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(
        project,
        "my",
        "issues/2024-01-04",
        {"The Year Ahead": "ရှေ့ဆက်မည့် နှစ်", "Third paragraph, plain.": "တတိယ စာပိုဒ်။"},
        fuzzy=frozenset({"Third paragraph, plain."}),
    )
    result = cli("catalog", "status", "issues/2024-01-04.yaml", "--json", cwd=project.root)
    assert result.exit_code == 0, result.output
    rows = {row["catalog"]: row for row in json.loads(result.stdout)}
    issue = rows["locales/my/LC_MESSAGES/issues/2024-01-04.po"]
    assert issue["locale"] == "my"
    assert issue["messages"] == {"translated": 1, "fuzzy": 1, "untranslated": 6, "total": 8}
    assert issue["words"]["translated"] == 3
    assert issue["words"]["fuzzy"] == 3
    assert issue["percent"] == 12.5
    assert set(rows) == {
        "locales/my/LC_MESSAGES/messages.po",
        "locales/my/LC_MESSAGES/names.po",
        "locales/my/LC_MESSAGES/issues/2024-01-04.po",
    }
    table = cli("catalog", "status", cwd=project.root)
    assert table.exit_code == 0
    title, headings, interface, *rows = table_rows(table.stdout)
    assert (title, headings) == (
        ["Translation status"],
        ["locale", "catalog", "translated", "fuzzy", "untranslated", "words left", "done"],
    )
    assert interface[:2] == ["my", "messages"]  # its counts are those of the templates
    assert rows == [
        ["my", "names", "0", "0", "3", "6", "0%"],
        ["my", "issues/2024-01-04", "1", "1", "6", "36", "12%"],
    ]


def test_status_of_an_issue_counts_what_it_has_now_as_the_build_does(project: Project, cli) -> None:
    """A name or paragraph written since the last extract is English in the build: the status of the issue
    counted the templates alone, and said 100% of a catalog the build said lacked it."""
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "names", {"Org One": "အဖွဲ့ တစ်", "Org Two": "အဖွဲ့ နှစ်"})
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(
        issue.read_text(encoding="utf-8").replace("by: Org One\n", "by: Org Three\n"), encoding="utf-8"
    )
    (project.issues_dir / "2024-01-11.yaml").write_text(ISSUE.replace("2024-01-04", "2024-01-11"))
    result = cli("catalog", "status", "issues/2024-01-04.yaml", cwd=project.root)
    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout)[3:] == [
        ["my", "names", "2", "0", "2", "4", "50%"],
        ["my", "issues/2024-01-04", "0", "0", "8", "39", "0%"],
    ]
    assert result.stderr == (
        "locales/names.pot: warning: 1 of the issue's messages are not in it yet: counted untranslated; "
        "run `broadsheet catalog extract`, then `broadsheet catalog update`\n"
    )
    build = cli("check", "issues/2024-01-04.yaml", cwd=project.root)
    assert "my: 2 of 4 messages in locales/my/LC_MESSAGES/names.po untranslated (1 not in it" in build.stderr
    fresh = cli("catalog", "status", "issues/2024-01-11.yaml", "--json", cwd=project.root)
    issue_row = json.loads(fresh.stdout)[2]
    assert (issue_row["catalog"], issue_row["messages"]["untranslated"]) == (
        "locales/my/LC_MESSAGES/issues/2024-01-11.po",
        8,
    )
    assert fresh.stderr == (
        "locales/issues/2024-01-11.pot: warning: not written yet, so none of the issue's 8 messages is in it: "
        "counted untranslated; run `broadsheet catalog extract`, then `broadsheet catalog update`\n"
    )


def test_status_before_extract_says_what_to_run(project: Project, cli) -> None:
    result = cli("catalog", "status", cwd=project.root)
    assert result.exit_code == 1
    assert (
        result.stderr
        == "broadsheet: no template locales/messages.pot; run `broadsheet catalog extract` first\n"
    )


@pytest.mark.parametrize(
    ("msgid", "msgstr", "problem"),
    [
        ("By %(author)s", "ရေးသားသူ", "translation has missing placeholder %(author)s"),
        (
            "By %(author)s",
            "ရေးသားသူ %(autor)s",
            "translation has missing placeholder %(author)s and unexpected placeholder %(autor)s",
        ),
        (
            "See [this](https://a.org/x).",
            "[ဒီမှာ](https://a.org/y) ကြည့်ပါ။",
            "translation has missing link https://a.org/x and unexpected link https://a.org/y",
        ),
        ("A figure.[^1]", "ကိန်းဂဏန်း။", "translation has missing footnote reference [^1]"),
        (
            "See the report.[^1]",
            "![x](https://evil.example/a.png)[^1]",
            "translation has unexpected link https://evil.example/a.png",
        ),
        (
            "See the report.",
            "# ကြည့်ပါ",
            "Markdown markup differs from the original (heading: 0 in the original, 1 here); a line that begins "
            "with #, -, *, 1. or > makes a heading, list or quote",
        ),
        (
            "Some *emphasis* here.",
            "အလေး *ပေး ဒီမှာ။",
            "Markdown markup differs from the original (em: 1 in the original, 0 here); check that every *, ** and [ ] is closed",
        ),
        (
            "The **junta's** airstrikes.",
            "**စစ်ကောင်စီ၏**လေကြောင်းတိုက်ခိုက်မှုများ။",
            "Markdown markup differs from the original (strong: 1 in the original, 0 here); "
            + markdown.unread_emphasis_message("**"),
        ),
    ],
)
def test_translation_that_loses_structure_is_an_error(msgid: str, msgstr: str, problem: str) -> None:
    assert catalogs.translation_problems(msgid, msgstr, is_markdown=True) == [problem]


@pytest.mark.parametrize(
    ("msgid", "msgstr"),
    [
        ("Aid Falls 40% in a Year", "တစ်နှစ်အတွင်း အကူအညီ ၄၀% ကျဆင်း"),
        ("100% of the villages, 5 %d less", "ရွာ ၁၀၀% နှင့် ၅ ရာခိုင်နှုန်း"),
    ],
)
def test_a_percent_sign_in_an_issue_is_prose_not_a_placeholder(msgid: str, msgstr: str) -> None:
    """An issue's text is never formatted: "40% in" holds no `% i` that a translation must keep."""
    assert catalogs.translation_problems(msgid, msgstr, is_markdown=True) == []
    # The interface's messages are formatted: there, a lost `%d` is a lost number.
    assert catalogs.translation_problems("%d more", "ထပ်", is_markdown=False, is_format=True) == [
        "translation has missing placeholder %d"
    ]


def test_an_issue_text_with_a_percent_sign_is_not_flagged_as_a_format_string(project: Project, cli) -> None:
    """Babel flags "40% in" as `python-format`; a translator's editor would then ask for a `% i` placeholder."""
    path = project.issues_dir / "2024-01-04.yaml"
    text = path.read_text(encoding="utf-8")
    title = re.search(r"^title: (.*)$", text, re.MULTILINE)
    assert title is not None
    path.write_text(text.replace(title.group(0), "title: Aid Falls 40% in a Year"), encoding="utf-8")
    assert cli("catalog", "extract", cwd=project.root).exit_code == 0
    assert cli("catalog", "update", cwd=project.root).exit_code == 0
    for catalog in (
        project.locales_dir / "issues" / "2024-01-04.pot",
        catalogs.catalog_path(project, "my", "issues/2024-01-04"),
    ):
        entry = (
            catalog.read_text(encoding="utf-8")
            .split('msgid "Aid Falls 40% in a Year"')[0]
            .rsplit("\n\n", 1)[-1]
        )
        assert entry and "python-format" not in entry


def test_a_list_numbered_in_burmese_digits_is_a_faithful_translation() -> None:
    """ "၁။" makes no Markdown list: the translation reads as a paragraph, which is no error; adding one is."""
    assert catalogs.translation_problems("1. Food\n2. Water", "၁။ အစားအစာ\n၂။ ရေ", is_markdown=True) == []


def test_faithful_translation_has_no_problems() -> None:
    msgid = "By %(author)s, see [this](https://a.org/x) and *that*.[^1]"
    msgstr = "%(author)s ရေးသည်၊ [ဤ](https://a.org/x) နှင့် *ထို* ကို ကြည့်ပါ။[^1]"
    assert catalogs.translation_problems(msgid, msgstr, is_markdown=True) == []


def test_check_reports_catalog_problems_with_their_line(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Second paragraph with a footnote.[^1]": "ဒုတိယ စာပိုဒ်။"})
    result = cli("check", "issues/2024-01-04.yaml", cwd=project.root)
    assert result.exit_code == 1
    po = catalogs.catalog_path(project, "my", "issues/2024-01-04")
    line = po.read_text(encoding="utf-8").splitlines().index('msgstr "ဒုတိယ စာပိုဒ်။"') + 1
    assert (
        f"locales/my/LC_MESSAGES/issues/2024-01-04.po:{line}: error: msgstr: translation has missing footnote reference [^1]"
        in result.stderr.splitlines()
    )


def test_a_footnote_reference_written_in_burmese_digits_is_told_to_keep_the_original_s(
    project: Project, cli
) -> None:
    # A Burmese translator writes the number as the reader sees it, [^၁]: the label is the original's, [^1].
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Second paragraph with a footnote.[^1]": "ဒုတိယ စာပိုဒ်။[^၁]"})
    result = cli("check", "issues/2024-01-04.yaml", cwd=project.root)
    assert result.exit_code == 1
    po = catalogs.catalog_path(project, "my", "issues/2024-01-04")
    line = po.read_text(encoding="utf-8").splitlines().index('msgstr "ဒုတိယ စာပိုဒ်။[^၁]"') + 1
    assert (
        f"locales/my/LC_MESSAGES/issues/2024-01-04.po:{line}: error: msgstr: translation has missing footnote "
        "reference [^1] and unexpected footnote reference [^၁]; write [^1] as the original does: the email shows "
        "footnote numbers in the edition's own digits"
    ) in result.stderr.splitlines()


@pytest.mark.parametrize(
    "command",
    [["check"], ["build", "--locale", "my"], ["catalog", "status"], ["catalog", "extract"]],
    ids=["check", "build", "status", "extract"],
)
def test_a_catalog_named_where_an_issue_is_expected_is_told_to_name_its_issue(
    sample_project: Project, cli, command: list[str]
) -> None:
    # A translator checking their work names their catalog: it was read as YAML, "not valid YAML: mapping values
    # are not allowed here" at its header.
    po = "locales/my/LC_MESSAGES/issues/2023-12-21.po"
    result = cli(*command, po, cwd=sample_project.root)
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[0] == (
        f"{po}: error: a translation catalog, not an issue: name the issue, issues/2023-12-21.yaml, whose "
        "catalogs are read and checked with it"
    )


def test_a_catalog_broadsheet_never_reads_is_a_warning_saying_what_it_expected(
    sample_project: Project, cli
) -> None:
    # A translator's file named as another tool names it did nothing, without a word.
    names = catalogs.catalog_path(sample_project, "my", "names").read_bytes()
    expected = {
        "th/LC_MESSAGES/messages.po": "locale 'th' is not configured, so its catalogs are not read; "
        "add it to `locales` in broadsheet.toml if it should be sent",
        "my_MM/LC_MESSAGES/names.po": "locale 'my_MM' is not configured, so its catalogs are not read; "
        "did you mean 'my'? (locales/my/LC_MESSAGES/)",
        "zz/LC_MESSAGES/names.po": "locale 'zz' is not configured, so its catalogs are not read; "
        "add it to `locales` in broadsheet.toml if it should be sent",
        "my/LC_MESSAGES/my_MM.po": "not a catalog broadsheet reads: expected messages.po, names.po or "
        "issues/<date>.po",
        "my/names.po": "not where broadsheet reads a catalog: expected locales/my/LC_MESSAGES/names.po",
        # An issue's catalog out of issues/, or a file named as a tool names it, is pointed to where it goes.
        "my/2023-12-21.po": "not where broadsheet reads a catalog: expected "
        "locales/my/LC_MESSAGES/issues/2023-12-21.po",
        "my/LC_MESSAGES/2023-12-21.po": "not a catalog broadsheet reads: expected messages.po, names.po or "
        "issues/<date>.po; did you mean locales/my/LC_MESSAGES/issues/2023-12-21.po?",
        "my/LC_MESSAGES/names.my.po": "not a catalog broadsheet reads: expected messages.po, names.po or "
        "issues/<date>.po; did you mean locales/my/LC_MESSAGES/names.po?",
        "en/LC_MESSAGES/names.po": "en is the source language: its catalogs are not read",
    }
    for name in expected:
        path = sample_project.locales_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(names)
    warnings = sorted(f"locales/{name}: warning: {message}" for name, message in expected.items())
    # Said once, however many issues are checked.
    shutil.copy(sample_project.root / SAMPLE_ISSUE, sample_project.issues_dir / "2023-12-28.yaml")
    check = cli("check", SAMPLE_ISSUE, "issues/2023-12-28.yaml", cwd=sample_project.root)
    assert check.exit_code == 1, check.output  # the copy's date is not its file's
    assert [line for line in check.stderr.splitlines() if line.startswith("locales/")] == warnings
    status = cli("catalog", "status", cwd=sample_project.root)
    assert status.exit_code == 0, status.output
    assert status.stderr.splitlines() == warnings


def test_translations_written_in_a_template_are_named_and_not_overwritten_by_extract(
    sample_project: Project, cli
) -> None:
    # A translator who filled in the .pot (opened in a text editor, or a .po saved over it): nothing read them,
    # and the next catalog extract rewrote the template without them, without a word.
    pot = sample_project.locales_dir / "issues" / "2023-12-21.pot"
    msgid = 'msgid "Myanmar: Investigate Pazigyi Airstrike as a War Crime"\n'
    translated = pot.read_text(encoding="utf-8").replace(
        msgid + 'msgstr ""', msgid + 'msgstr "မြန်မာ - ပဇီကြီး လေကြောင်းတိုက်ခိုက်မှုကို စုံစမ်းပါ"'
    )
    pot.write_text(translated, encoding="utf-8")
    line = translated.splitlines().index(msgid.strip()) + 2
    said = (
        "1 translation{}: broadsheet reads none from a template; they go in "
        "locales/my/LC_MESSAGES/issues/2023-12-21.po, which `broadsheet catalog update` makes: copy them there, "
        "then empty the template's msgstr lines"
    )
    warning = f"locales/issues/2023-12-21.pot:{line}: warning: msgstr: this template holds " + said.format(
        ", and catalog extract will not rewrite it while it does"
    )
    assert cli("check", SAMPLE_ISSUE, cwd=sample_project.root).stderr.splitlines()[0] == warning
    assert cli("catalog", "status", cwd=sample_project.root).stderr.splitlines() == [warning]
    extract = cli("catalog", "extract", cwd=sample_project.root)
    assert extract.exit_code == 1
    assert extract.stderr.splitlines() == [
        f"locales/issues/2023-12-21.pot:{line}: error: msgstr: not rewritten, as it holds " + said.format("")
    ]
    assert extract.stdout.splitlines() == ["unchanged locales/messages.pot", "unchanged locales/names.pot"]
    assert pot.read_text(encoding="utf-8") == translated


def test_a_catalog_of_an_issue_no_longer_in_issues_is_a_warning_saying_what_to_do(
    sample_project: Project, cli
) -> None:
    # The issue given another date: its translations stayed in a catalog no edition reads, the new date's was
    # made empty, and catalog status counted both without a word.
    old = sample_project.issues_dir / "2023-12-21.yaml"
    text = old.read_text(encoding="utf-8").replace("date: 2023-12-21", "date: 2023-12-22")
    (sample_project.issues_dir / "2023-12-22.yaml").write_text(text, encoding="utf-8")
    old.unlink()
    cli("catalog", "extract", cwd=sample_project.root)
    cli("catalog", "update", cwd=sample_project.root)
    warnings = [
        "locales/issues/2023-12-21.pot: warning: no issue in issues/ is dated 2023-12-21, yet catalog update "
        "makes catalogs of this template; delete it (catalog extract writes it again for an issue of that date)",
        "locales/my/LC_MESSAGES/issues/2023-12-21.po: warning: no issue in issues/ is dated 2023-12-21, so no "
        "edition reads its 6 translations: if the issue's date changed, give this file the new date and run "
        "`broadsheet catalog update`; if the issue is gone, delete it",
    ]
    status = cli("catalog", "status", cwd=sample_project.root)
    assert status.exit_code == 0, status.output
    assert status.stderr.splitlines() == warnings
    check = cli("check", "issues/2023-12-22.yaml", cwd=sample_project.root)
    assert check.exit_code == 0, check.output
    assert check.stderr.splitlines()[:2] == warnings

    catalogs.catalog_path(sample_project, "my", "issues/2023-12-21").replace(
        catalogs.catalog_path(sample_project, "my", "issues/2023-12-22")
    )
    (sample_project.locales_dir / "issues" / "2023-12-21.pot").unlink()
    cli("catalog", "update", cwd=sample_project.root)
    status = cli("catalog", "status", "issues/2023-12-22.yaml", "--json", cwd=sample_project.root)
    assert status.stderr == ""
    assert json.loads(status.stdout)[-1]["messages"]["translated"] == 6
    # An issue whose file is not named after its date is read for it.
    (sample_project.issues_dir / "2023-12-22.yaml").rename(sample_project.issues_dir / "year-end.yaml")
    assert cli("catalog", "status", cwd=sample_project.root).stderr == ""


def test_the_search_for_stray_catalogs_keeps_to_the_depth_of_catalogs_and_out_of_hidden_folders(
    tmp_project: Project,
) -> None:
    """A `locales_dir` set to the project's own folder: its virtual environment, git objects and deep folders are
    not walked, while a catalog where catalogs stand, or a linked folder of them, is still looked at."""
    settings = tmp_project.root / "broadsheet.toml"
    settings.write_text('locales_dir = "."\n' + settings.read_text(encoding="utf-8"), encoding="utf-8")
    project = find_project(tmp_project.root)
    for name in (
        ".venv/lib/python3.11/site-packages/django/conf/locale/my/LC_MESSAGES/django.po",
        ".git/x.po",
        "a/b/c/d/deep.po",
    ):
        (project.root / name).parent.mkdir(parents=True, exist_ok=True)
        (project.root / name).write_text("", encoding="utf-8")
    shared = project.root.parent / f"{project.root.name}-shared"
    (shared / "LC_MESSAGES").mkdir(parents=True)
    (shared / "LC_MESSAGES" / "notes.po").write_text("", encoding="utf-8")
    (project.root / "my").symlink_to(shared, target_is_directory=True)
    (project.root / "th" / "LC_MESSAGES" / "issues").mkdir(parents=True)
    (project.root / "th" / "LC_MESSAGES" / "issues" / "2024-01-04.po").write_text("", encoding="utf-8")

    assert [(d.path, d.message) for d in catalogs.stray_catalogs(project)] == [
        (
            "my/LC_MESSAGES/notes.po",
            "not a catalog broadsheet reads: expected messages.po, names.po or issues/<date>.po",
        ),
        (
            "th/LC_MESSAGES/issues/2024-01-04.po",
            "locale 'th' is not configured, so its catalogs are not read; add it to `locales` in broadsheet.toml "
            "if it should be sent",
        ),
    ]


def test_pybabel_extract_uses_the_registered_extractor(project: Project, tmp_path: Path) -> None:
    pybabel = shutil.which("pybabel", path=str(Path(REPO / ".venv" / "bin"))) or shutil.which("pybabel")
    assert pybabel, "pybabel comes with Babel"
    mapping = tmp_path / "babel.cfg"
    mapping.write_text("[broadsheet: issues/*.yaml]\n")
    out = tmp_path / "out.pot"
    run = subprocess.run(
        [pybabel, "extract", "-F", str(mapping), "-o", str(out), "."],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    pot = out.read_text(encoding="utf-8")
    assert '#: issues/2024-01-04.yaml:2\nmsgid "The Year Ahead"' in pot
    assert 'msgid "Org Two"' in pot
    assert "Second paragraph with a footnote.[^1]" in pot


def test_repeated_text_is_one_message_with_every_location(project: Project) -> None:
    path = project.issues_dir / "2024-01-04.yaml"
    path.write_text(
        ISSUE.replace(
            "Third paragraph, plain.",
            "First paragraph with a [link](https://example.org/one) and *emphasis*.",
        )
    )
    issue = read_issue(path, project.settings, "issues/2024-01-04.yaml").issue
    assert issue is not None
    messages = catalogs.issue_messages(issue)
    repeated = [m for m in messages if m.key.startswith("First paragraph")]
    assert len(repeated) == 1
    assert repeated[0].locations == (("issues/2024-01-04.yaml", 8), ("issues/2024-01-04.yaml", 12))


ZAWGYI = "ကၽြန္ေတာ္ ရန္ကုန္ၿမိဳ႕မွာ ေနပါတယ္"
UNICODE = "ကျွန်တော် ရန်ကုန်မြို့မှာ နေပါတယ်"  # the same sentence, checked with ICU's Zawgyi-my


def test_zawgyi_translation_is_reported_with_its_line_and_the_command_that_converts_it(
    project: Project, cli
) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": ZAWGYI})
    po = catalogs.catalog_path(project, "my", "issues/2024-01-04")
    line = po.read_text(encoding="utf-8").splitlines().index(f'msgstr "{ZAWGYI}"') + 1
    result = cli("check", "issues/2024-01-04.yaml", cwd=project.root)
    assert result.exit_code == 1
    assert (
        f"locales/my/LC_MESSAGES/issues/2024-01-04.po:{line}: error: msgstr: text is Zawgyi-encoded Burmese, "
        "not Unicode; readers without a Zawgyi font see garbage. Convert it with: "
        "broadsheet catalog convert-zawgyi locales/my/LC_MESSAGES/issues/2024-01-04.po"
    ) in result.stderr.splitlines()

    converted = cli(
        "catalog", "convert-zawgyi", "locales/my/LC_MESSAGES/issues/2024-01-04.po", cwd=project.root
    )
    assert converted.exit_code == 0
    assert (
        converted.stdout
        == "locales/my/LC_MESSAGES/issues/2024-01-04.po: converted 1 message(s) from Zawgyi to Unicode\n"
    )
    assert _po(project, "my", "issues/2024-01-04").get("Third paragraph, plain.").string == UNICODE
    assert cli("check", "issues/2024-01-04.yaml", cwd=project.root).exit_code == 0


def test_unicode_burmese_translation_is_not_taken_for_zawgyi(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": UNICODE})
    assert (
        catalogs.check_catalog(
            project, catalogs.catalog_path(project, "my", "issues/2024-01-04"), is_markdown=True
        )
        == []
    )


def test_a_fuzzy_translation_which_is_never_used_is_not_checked(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    link = "First paragraph with a [link](https://example.org/one) and *emphasis*."
    translate(
        project,
        "my",
        "issues/2024-01-04",
        {link: "လင့်ခ် မပါသော ပထမ စာပိုဒ်။", "Third paragraph, plain.": ZAWGYI},
        fuzzy=frozenset({link, "Third paragraph, plain."}),
    )
    result = cli("check", "issues/2024-01-04.yaml", cwd=project.root)
    assert result.exit_code == 0, result.output
    assert "error" not in result.stderr


# -- Translators' mistakes never break a build or a page ----------------------------

BY = 'msgstr "ရေးသားသူ - %(author)s"'
SECRET = "a-secret-for-the-tests-of-broken-catalogs"
SAMPLE_ISSUE = "issues/2023-12-21.yaml"
ISSUE_TITLE = "A Year of Tragedy and Hope"


@dataclass(frozen=True)
class Broken:
    """A mistake written into one of the sample's catalogs, and the error that must name it."""

    domain: str
    old: bytes
    new: bytes
    message: str
    column_at: bytes = b""
    """Where the error's column points, when it has one."""
    line_at: bytes = b""
    """The text on the error's line, when it is not the mistake's."""

    def apply(self, project: Project) -> str:
        """Write the mistake; the location `check` must give, `FILE:LINE[:COL]`."""
        path = catalogs.catalog_path(project, "my", self.domain)
        raw = path.read_bytes()
        assert raw.count(self.old) == 1, self.old
        raw = raw.replace(self.old, self.new)
        path.write_bytes(raw)
        start = raw.index(self.line_at or self.new)
        line_start = raw.rfind(b"\n", 0, start) + 1
        line = raw.count(b"\n", 0, start) + 1
        where = f"{catalogs.shown(project, path)}:{line}"
        if self.column_at:
            where += f":{raw.index(self.column_at, start) - line_start + 1}"
        return where


BROKEN = {
    "stray percent": Broken(
        "messages",
        BY.encode(),
        'msgstr "ရေးသားသူ 100% - %(author)s"'.encode(),
        "msgstr: translation has a % (character 13) that is neither a placeholder like %(name)s nor written %% "
        "for a literal %: Python cannot format it",
    ),
    "wrong conversion": Broken(
        "messages",
        BY.encode(),
        'msgstr "ရေးသားသူ - %(author)d"'.encode(),
        "msgstr: translation has %(author)d where the original has %(author)s: Python cannot format it "
        "(%d format: a real number is required, not str)",
    ),
    "unknown charset": Broken(
        "messages",
        b"charset=utf-8",
        b"charset=no-such-charset",
        "unknown charset 'no-such-charset' in the Content-Type header; write charset=UTF-8",
        b"no-such-charset",
    ),
    "legacy charset declared for UTF-8 text": Broken(
        "issues/2023-12-21",
        b"charset=utf-8",
        b"charset=ISO-8859-1",
        "the Content-Type header declares charset=ISO-8859-1, but the text is UTF-8 and would be garbled; "
        "write charset=UTF-8",
        b"ISO-8859-1",
    ),
    "more plural forms than any language has": Broken(
        "messages",
        b"nplurals=1;",
        b"nplurals=7;",
        "the Plural-Forms header gives nplurals=7, but a language has from 1 to 6 plural forms; delete the line: "
        "broadsheet catalog update writes the right one",
        b"nplurals=7;",
    ),
    "plural forms left as xgettext's placeholder": Broken(
        "messages",
        b"nplurals=1; plural=0;",
        b"nplurals=INTEGER; plural=EXPRESSION;",
        "the Plural-Forms header gives nplurals=INTEGER, but a language has from 1 to 6 plural forms; delete the "
        "line: broadsheet catalog update writes the right one",
        b"nplurals=INTEGER;",
    ),
    "a plural form more than the language has": Broken(
        "messages",
        'msgstr[0] "%(names)s နှင့် အခြား %(n)s ဖွဲ့"'.encode(),
        'msgstr[0] "%(names)s နှင့် အခြား %(n)s ဖွဲ့"\nmsgstr[1] "%(names)s နှင့် အခြား %(n)s ဖွဲ့"'.encode(),
        "msgstr[1]: the catalog's language has 1 plural form (Plural-Forms: nplurals=1); remove msgstr[1] and any "
        "after it",
        line_at=b"msgstr[1]",
    ),
    "NUL byte": Broken(
        "messages",
        BY.encode(),
        'msgstr "ရေးသားသူ -\0 %(author)s"'.encode(),
        "the catalog holds a NUL byte; a .po file is text (was it saved by another program?)",
        b"\0",
    ),
    "syntax error": Broken(
        "messages",
        BY.encode(),
        'msgstr "ရေးသားသူ - %(author)s'.encode(),
        'a string is not closed: it needs a " at its end, and a " inside it is written \\"',
    ),
    "curly quotes around a translation, as a word processor writes them": Broken(
        "names",
        'msgstr "ပရိုဂရက်ဆစ်ဗွိုက်စ်"'.encode(),
        "msgstr “ပရိုဂရက်ဆစ်ဗွိုက်စ်”".encode(),
        "the string opens with “, a typographic quote, as a word processor writes it; a .po string is in "
        'straight quotes: msgstr "..."',
    ),
    "a space between a link's ] and (, which makes it text": Broken(
        "issues/2023-12-21",
        "အခြေအနေ](https://reliefweb".encode(),
        "အခြေအနေ] (https://reliefweb".encode(),
        "msgstr: translation has missing link https://reliefweb.int/report/myanmar/myanmar-humanitarian-update-"
        "no-34-15-december-2023; its URL is in the translation as text, not as a link: write [words](URL), in "
        "these brackets, with nothing between ] and (",
        line_at='msgstr ""\n"ကုလသမဂ္ဂ'.encode(),
    ),
    "a merge conflict left in a catalog": Broken(
        "names",
        'msgstr "ပရိုဂရက်ဆစ်ဗွိုက်စ်"'.encode(),
        '<<<<<<< HEAD\nmsgstr "ပရိုဂရက်ဆစ်ဗွိုက်စ်"\n=======\nmsgstr "ပီဗွီ"\n>>>>>>> translations'.encode(),
        "a Git merge conflict marker: keep one version of each message between the <<<<<<< and >>>>>>> lines, "
        "and delete the markers",
    ),
    "misspelt keyword in names": Broken(
        "names",
        'msgstr "ပရိုဂရက်ဆစ်ဗွိုက်စ်"'.encode(),
        'msgstrr "ပရိုဂရက်ဆစ်ဗွိုက်စ်"'.encode(),
        "cannot read 'msgstrr \"ပရိုဂရက်ဆစ်ဗွိုက်စ်\"': expected a comment (#), a keyword (msgid, msgstr...) "
        "with a quoted string, or a quoted string",
    ),
    "msgid without msgstr in an issue catalog": Broken(
        "issues/2023-12-21",
        'msgstr "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"\n'.encode(),
        b"\n",
        "msgid without a msgstr after it",
        line_at=b'msgid "A Year of Tragedy and Hope"',
    ),
    "line break in the translation of the title, the email's subject": Broken(
        "issues/2023-12-21",
        'msgstr "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"'.encode(),
        'msgstr "ကြေကွဲမှု\\nBcc: evil@example.org"'.encode(),
        "msgstr: translation contains a line break or control character (U+000A), which cannot appear in an "
        "email subject; write it on one line",
    ),
    "HTML in an interface translation": Broken(
        "messages",
        BY.encode(),
        b'msgstr "<a href=\\"https://evil.example/\\"><script>alert(1)</script></a> %(author)s"',
        'msgstr: translation has HTML markup the original has not (</a>, </script>, <a href="https://evil.example/">, '
        "<script>); it would be shown as text, so write it without",
    ),
    "HTML without a space after its tag name": Broken(
        "messages",
        BY.encode(),
        b'msgstr "<svg/onload=alert(1)> %(author)s"',
        "msgstr: translation has HTML markup the original has not (<svg/onload=alert(1)>); it would be shown as text, so write it without",
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_broken_catalog_is_one_located_error_for_check_build_site_and_send(
    sample_project: Project, cli, case: Broken
) -> None:
    where = case.apply(sample_project)
    expected = f"{where}: error: {case.message}"
    for command in (["check", SAMPLE_ISSUE], ["build", SAMPLE_ISSUE], ["site"]):
        result = cli(*command, cwd=sample_project.root)  # an exception would fail the test here: no traceback
        assert result.exit_code == 1, (command, result.output)
        assert expected in result.stderr.splitlines(), (command, result.stderr)
    assert not (sample_project.build_dir / "2023-12-21").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROADSHEET_", "SENDGRID_"))}
    env.update(
        BROADSHEET_SECRET=SECRET,
        BROADSHEET_DATABASE_URL=f"sqlite:///{sample_project.root / 'send.db'}",
        # The code under test, not another copy installed: a relative PYTHONPATH=src means nothing in the project.
        PYTHONPATH=os.pathsep.join([str(Path(catalogs.__file__).parents[1]), env.get("PYTHONPATH", "")]),
    )
    send = subprocess.run(
        [sys.executable, "-m", "broadsheet", "send", SAMPLE_ISSUE, "--dry-run"],
        cwd=sample_project.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert send.returncode == 1, send.stderr
    assert expected in send.stderr.splitlines()
    assert "Traceback" not in send.stderr


def test_a_translation_that_is_only_spaces_is_untranslated_and_reported(sample_project: Project, cli) -> None:
    # It was used: a blank subject and heading.
    title = 'msgstr "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"'

    def untranslated() -> int:
        status = cli("catalog", "status", SAMPLE_ISSUE, "--json", cwd=sample_project.root)
        return int(
            next(row for row in json.loads(status.stdout) if row["domain"] == "issues/2023-12-21")[
                "messages"
            ]["untranslated"]
        )

    before = untranslated()
    where = Broken("issues/2023-12-21", title.encode(), b'msgstr " "', "").apply(sample_project)
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    assert (
        f"{where}: warning: msgstr: translation is only spaces: taken as untranslated (English shown); "
        "write the translation, or leave it empty"
    ) in result.stderr.splitlines()
    issue = read_issue(sample_project.issues_dir / "2023-12-21.yaml", sample_project.settings).issue
    assert issue is not None
    assert Renderer(sample_project).render(localize(sample_project, issue, "my")).subject == issue.title
    assert untranslated() == before + 1


def test_a_translation_with_a_context_is_not_taken_for_the_message_without_one(
    sample_project: Project,
) -> None:
    # Broadsheet never asks for a context; gettext would not use these, and they replaced the translations above them.
    for domain, msgid in [("messages", "Resources from the past week"), ("issues/2023-12-21", ISSUE_TITLE)]:
        path = catalogs.catalog_path(sample_project, "my", domain)
        entry = f'\nmsgctxt "menu"\nmsgid "{msgid}"\nmsgstr "IN ANOTHER CONTEXT"\n'
        path.write_bytes(path.read_bytes() + entry.encode())
    issue = read_issue(sample_project.issues_dir / "2023-12-21.yaml", sample_project.settings).issue
    assert issue is not None
    email = Renderer(sample_project).render(localize(sample_project, issue, "my"))
    assert "IN ANOTHER CONTEXT" not in email.text
    assert email.subject == "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"
    assert "ပြီးခဲ့သည့် အပတ်မှ အရင်းအမြစ်များ" in email.text


def test_a_translation_with_a_context_is_a_warning_at_its_line_and_not_checked(
    sample_project: Project, cli
) -> None:
    path = catalogs.catalog_path(sample_project, "my", "messages")
    raw = path.read_bytes()
    # HTML the original has not would be an error in a message that is used.
    path.write_bytes(raw + b'\nmsgctxt "menu"\nmsgid "Resources from the past week"\nmsgstr "<b>x</b>"\n')
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    line = raw.count(b"\n") + 2
    assert (
        f"locales/my/LC_MESSAGES/messages.po:{line}: warning: msgctxt: a message with a context ('menu') is never "
        "used, as broadsheet asks for none; remove its msgctxt line, or the whole message"
    ) in result.stderr.splitlines()


def test_translation_that_cannot_be_formatted_falls_back_to_english_when_rendering(
    sample_project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    # `check` and `build` refuse this catalog; rendering must not break on it all the same (the web pages, a preview).
    Broken("messages", BY.encode(), 'msgstr "ရေးသားသူ 100% - %(author)s"'.encode(), "").apply(sample_project)
    issue = read_issue(sample_project.issues_dir / "2023-12-21.yaml", sample_project.settings).issue
    assert issue is not None
    renderer = Renderer(sample_project)
    with caplog.at_level(logging.WARNING, "broadsheet.i18n"):
        email = renderer.render(localize(sample_project, issue, "my"))
        again = renderer.render(localize(sample_project, issue, "my"))
    assert email.html == again.html
    assert "By ပရိုဂရက်ဆစ်ဗွိုက်စ်" in email.text  # English for that string, the name still translated
    assert "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ" in email.text  # and every other translation used
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1  # once, however often the string is shown
    po = (
        (sample_project.locales_dir / "my" / "LC_MESSAGES" / "messages.po")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    line = po.index('msgstr "ရေးသားသူ 100% - %(author)s"') + 1
    assert warnings[0].startswith(
        f"locales/my/LC_MESSAGES/messages.po:{line}: warning: msgstr: the translation of 'By %(author)s' cannot be formatted (ValueError:"
    )
    assert warnings[0].endswith("; English shown")


def test_html_in_a_translation_is_escaped_when_rendering(sample_project: Project) -> None:
    Broken("messages", BY.encode(), b'msgstr "<script>alert(1)</script> %(author)s"', "").apply(
        sample_project
    )
    issue = read_issue(sample_project.issues_dir / "2023-12-21.yaml", sample_project.settings).issue
    assert issue is not None
    email = Renderer(sample_project).render(localize(sample_project, issue, "my"))
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ပရိုဂရက်ဆစ်ဗွိုက်စ်" in email.html


@pytest.mark.parametrize(
    ("translation", "shown"),
    [
        # Neither was taken for a tag: the first has no space after its name, the second no end (the template's next `>` closed it).
        ("<svg/onload=alert(1)> %(author)s", "&lt;svg/onload=alert(1)&gt; ပရိုဂရက်ဆစ်ဗွိုက်စ်"),
        ("%(author)s <img src=x onerror=alert(1) ", "ပရိုဂရက်ဆစ်ဗွိုက်စ် &lt;img src=x onerror=alert(1) "),
        ("<https://x/onmouseover=alert(1)> %(author)s", "&lt;https://x/onmouseover=alert(1)&gt; ပရိုဂရက်ဆစ်ဗွိုက်စ်"),
    ],
    ids=["no-space", "unclosed", "autolink-shaped"],
)
def test_any_tag_a_browser_would_read_in_a_translation_is_escaped(
    sample_project: Project, translation: str, shown: str
) -> None:
    Broken("messages", BY.encode(), f'msgstr "{translation}"'.encode(), "").apply(sample_project)
    issue = read_issue(sample_project.issues_dir / "2023-12-21.yaml", sample_project.settings).issue
    assert issue is not None
    email = Renderer(sample_project).render(localize(sample_project, issue, "my"))
    assert shown in email.html
    assert not any(tag in email.html for tag in ("<svg", "<img src=x", "<https://x"))


def test_rendering_imports_neither_the_tooling_nor_the_extractor() -> None:
    code = (
        "import sys, broadsheet.render, broadsheet.localize, broadsheet.i18n\n"
        "print(sorted(m for m in ('broadsheet.catalogs', 'babel.messages.extract', 'babel.messages.mofile') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "[]\n"


def test_a_catalog_is_parsed_once_for_every_issue_of_the_site(
    sample_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (sample_project.issues_dir / "2023-12-21.yaml").read_text(encoding="utf-8")
    po = catalogs.catalog_path(sample_project, "my", "issues/2023-12-21")
    for day in ("2024-01-04", "2024-01-11", "2024-01-18"):
        (sample_project.issues_dir / f"{day}.yaml").write_text(
            text.replace("2023-12-21", day), encoding="utf-8"
        )
        po.with_name(f"{day}.po").write_bytes(po.read_bytes())
    parsed: list[str] = []
    parse = PoFileParser.parse

    def counted(self: PoFileParser, fileobj: Any) -> None:
        parse(self, fileobj)
        parsed.append(str(self.catalog.domain or self.catalog.project))

    monkeypatch.setattr(PoFileParser, "parse", counted)
    build_site(sample_project)
    # messages.po, names.po and messages.pot once each, and each issue's own catalog (it was 28 parses)
    assert len(parsed) == 3 + 4, parsed


def test_web_page_with_a_broken_translation_answers_in_burmese_with_that_string_in_english(
    sample_project: Project, sample_store: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    heading = 'msgstr "%(organization)s ၏ သတင်းလွှာကို စာရင်းသွင်းရန်"'
    broken = Broken(
        "messages", heading.encode(), 'msgstr "%(organization)s ၏ 100% သတင်းလွှာကို စာရင်းသွင်းရန်"'.encode(), ""
    )
    line = broken.apply(sample_project).rsplit(":", 1)[1]
    app = app_sending_to(tmp_path / "outbox", sample_project, sample_store, SECRET)
    with caplog.at_level(logging.WARNING, "broadsheet.i18n"), serving(app) as client:
        pages = [client.get("/subscribe", params={"lang": "my"}) for _ in range(2)]
    for page in pages:
        assert page.status_code == 200
        # English for the broken string, naming the organization as the Burmese names catalog does.
        assert "Subscribe to the ပရိုဂရက်ဆစ်ဗွိုက်စ် newsletter" in page.text
        assert "အီးမေးလ် လိပ်စာ" in page.text  # "Email address": the rest in Burmese
    logged = [record.getMessage() for record in caplog.records if record.name == "broadsheet.i18n"]
    assert len(logged) == 1
    assert logged[0].startswith(
        f"locales/my/LC_MESSAGES/messages.po:{line}: warning: msgstr: the translation of "
        "'Subscribe to the %(organization)s newsletter' cannot be formatted (TypeError: not enough arguments for format string)"
    )


def test_web_page_with_an_unreadable_catalog_answers_in_english_and_logs_where(
    sample_project: Project, sample_store: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    where = BROKEN["syntax error"].apply(sample_project)
    app = app_sending_to(tmp_path / "outbox", sample_project, sample_store, SECRET)
    with caplog.at_level(logging.WARNING, "broadsheet.i18n"), serving(app) as client:
        page = client.get("/subscribe", params={"lang": "my"})
    assert page.status_code == 200
    assert '<html lang="my"' in page.text
    assert "Email address" in page.text
    logged = [record.getMessage() for record in caplog.records if record.name == "broadsheet.i18n"]
    assert logged == [
        f"{where}: error: {BROKEN['syntax error'].message}; English shown instead of this catalog"
    ]


PO_HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: my\\n"\n\n'


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (PO_HEADER + 'msgid "a"\nmsgid "b"\nmsgstr ""\n', 6, "msgid without a msgstr after it"),
        (PO_HEADER + 'msgid "a"\nmsgstr ""\nmsgid "b"\n', 8, "msgid without a msgstr after it"),
        (
            PO_HEADER + 'msgstr "a"\n',
            6,
            "msgstr is out of order here: an entry is [msgctxt,] msgid, [msgid_plural,] msgstr",
        ),
        (
            PO_HEADER + 'msgid "a"\nmsgid_plural "b"\nmsgstr[1] "x"\n',
            8,
            "msgstr[1] is out of order; plural forms are msgstr[0], msgstr[1]... after msgid_plural",
        ),
        # A plural message translated as a singular one, and the other way round.
        (
            PO_HEADER + 'msgid "a"\nmsgid_plural "b"\nmsgstr "x"\n',
            8,
            "a message with a msgid_plural is translated in msgstr[0] (and msgstr[1]...)",
        ),
        (
            PO_HEADER + 'msgid "a"\nmsgstr[0] "x"\n',
            7,
            "msgstr[0] after a msgid without msgid_plural: write msgstr",
        ),
        ('"x"\n' + PO_HEADER, 1, "a string outside any msgid or msgstr"),
        (
            PO_HEADER + 'msgid "a" x\nmsgstr ""\n',
            6,
            "cannot read 'msgid \"a\" x': expected a comment (#), a keyword (msgid, msgstr...) with a quoted string, or a quoted string",
        ),
        (
            PO_HEADER + 'msgid "a"\nmsgstr "b\n',
            7,
            'a string is not closed: it needs a " at its end, and a " inside it is written \\"',
        ),
        (
            PO_HEADER + 'msgid "a"\nmsgstr "x"\n\nmsgid "a"\nmsgstr "y"\n',
            9,
            "this message is defined twice: first at line 6; keep one of them",
        ),
        (
            PO_HEADER + '#, fuzzy\nmsgid ""\n"a"\nmsgstr "x"\nmsgid "a"\nmsgid_plural "as"\nmsgstr[0] "y"\n',
            10,
            "this message is defined twice: first at line 7; keep one of them",
        ),
        (
            PO_HEADER + 'msgctxt "c"\nmsgid "a"\nmsgstr "x"\nmsgctxt "c"\nmsgid "a"\nmsgstr "y"\n',
            10,
            "this message is defined twice: first at line 7; keep one of them",
        ),
    ],
)
def test_syntax_errors_that_babel_lets_pass_are_located_as_msgfmt_refuses_them(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "messages.po"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        read_catalog(path, display="messages.po")
    assert [str(d) for d in refused.value.diagnostics] == [f"messages.po:{line}: error: {message}"]
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is missing; ./scripts/test installs it"
    assert (
        subprocess.run(
            [msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, check=False
        ).returncode
        == 1
    )


def test_two_strings_on_one_line_which_babel_would_misread_are_refused_with_what_to_do(
    tmp_path: Path,
) -> None:
    path = tmp_path / "messages.po"
    path.write_text(PO_HEADER + 'msgid "By %(author)s"\nmsgstr "By " "%(author)s"\n', encoding="utf-8")
    # msgfmt joins the two strings, as gettext allows; Babel keeps the quotes between them in the translation.
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is missing; ./scripts/test installs it"
    assert subprocess.run([msgfmt, "--check", "-o", "/dev/null", str(path)], check=False).returncode == 0
    with path.open("rb") as handle:
        assert read_po(handle).get("By %(author)s").string == 'By " "%(author)s'
    with pytest.raises(InvalidInput) as refused:
        read_catalog(path, display="messages.po")
    assert [str(d) for d in refused.value.diagnostics] == [
        "messages.po:7: error: two quoted strings on one line: put each on a line of its own, or join them into one"
    ]


@pytest.mark.parametrize(
    "separator", ["\u2028", "\u2029", "\x85", "\x1c"], ids=["U+2028", "U+2029", "U+0085", "U+001C"]
)
def test_a_translation_holding_a_unicode_line_separator_is_read_as_msgfmt_reads_it(
    tmp_path: Path, separator: str
) -> None:
    # Lines of a .po end at "\n" only: these characters used to split a string in two, "a string is not closed".
    path = tmp_path / "messages.po"
    path.write_text(PO_HEADER + f'msgid "a"\nmsgstr "x{separator}y"\n', encoding="utf-8")
    if separator != "\x1c":  # a control character, refused as such; the others msgfmt takes
        assert (
            subprocess.run(
                ["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, check=False
            ).returncode
            == 0
        )
        catalog, _lines = read_catalog(path, display="messages.po")
        assert catalog["a"].string == f"x{separator}y"
    else:
        with pytest.raises(InvalidInput) as refused:
            read_catalog(path, display="messages.po")
        assert [str(d) for d in refused.value.diagnostics] == [
            "messages.po:7:10: error: the catalog holds the control character U+001C; a .po file is text (was it saved by another program?)"
        ]


def test_a_catalog_in_the_legacy_charset_it_declares_is_read_in_it(tmp_path: Path) -> None:
    path = tmp_path / "messages.po"
    text = PO_HEADER.replace("UTF-8", "ISO-8859-1") + 'msgid "Coffee"\nmsgstr "Café"\n'
    path.write_text(text, encoding="iso-8859-1")
    assert read_catalog(path, display="messages.po")[0]["Coffee"].string == "Café"


def test_update_writes_a_catalog_in_a_legacy_charset_back_in_utf8(sample_project: Project, cli) -> None:
    issue = sample_project.issues_dir / "2023-12-21.yaml"
    title = "“A Year” of Tragedy and Hope"  # the quotes are not in ISO-8859-1
    issue.write_text(
        issue.read_text(encoding="utf-8").replace("A Year of Tragedy and Hope", title), encoding="utf-8"
    )
    assert cli("catalog", "extract", SAMPLE_ISSUE, cwd=sample_project.root).exit_code == 0
    path = catalogs.catalog_path(sample_project, "my", "issues/2023-12-21")
    text = PO_HEADER.replace("UTF-8", "ISO-8859-1") + 'msgid "Coffee"\nmsgstr "Café"\n'
    path.write_text(text, encoding="iso-8859-1")
    assert cli("catalog", "update", cwd=sample_project.root).exit_code == 0
    written = path.read_bytes().decode("utf-8")
    assert "charset=utf-8" in written
    assert f'msgid "{title}"' in written
    catalog, _lines = read_catalog(path)
    assert catalog.get(title) is not None
    assert catalog.obsolete["Coffee"].string == "Café"  # nothing translated is lost


@pytest.mark.parametrize("end", ["\r", "\r\n"], ids=["CR", "CRLF"])
def test_a_catalog_with_old_mac_or_windows_line_ends_is_read_as_it_is_written(
    tmp_path: Path, end: str
) -> None:
    # With "\r" only, the whole file was one line: an empty catalog, every message untranslated without a word.
    path = tmp_path / "messages.po"
    text = PO_HEADER + 'msgid "Read more"\nmsgstr "ဆက်လက်ဖတ်ရှုရန်"\n\nmsgid "a"\nmsgstr "b\n'
    path.write_bytes(text.replace("\n", end).encode())
    with pytest.raises(InvalidInput) as refused:
        read_catalog(path, display="messages.po")
    assert [str(d) for d in refused.value.diagnostics] == [
        'messages.po:10: error: a string is not closed: it needs a " at its end, and a " inside it is written \\"'
    ]
    path.write_bytes(text.replace('"b\n', '"b"\n').replace("\n", end).encode())
    catalog, _lines = read_catalog(path, display="messages.po")
    assert (catalog["Read more"].string, catalog["a"].string) == ("ဆက်လက်ဖတ်ရှုရန်", "b")


def test_a_catalog_saved_as_utf16_is_told_to_be_saved_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "messages.po"
    path.write_text(PO_HEADER + 'msgid "a"\nmsgstr "b"\n', encoding="utf-16")
    with pytest.raises(InvalidInput) as refused:
        read_catalog(path, display="messages.po")
    assert [str(d) for d in refused.value.diagnostics] == [
        "messages.po:1:1: error: the catalog is UTF-16 text; save it as UTF-8"
    ]


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (lambda path: path.mkdir(), "cannot read catalog: Is a directory"),
        (
            lambda path: path.symlink_to("/dev/zero"),
            "not a file but a named pipe or a device; catalog files must be ordinary files",
        ),
        (
            lambda path: path.symlink_to(path.name),
            "cannot read catalog: Too many levels of symbolic links (it is a symbolic link to messages.po)",
        ),
        (
            lambda path: path.symlink_to("moved-away.po"),
            "cannot read catalog: No such file or directory (it is a symbolic link to moved-away.po)",
        ),
    ],
    ids=["directory", "dev-zero", "link-to-itself", "link-to-nowhere"],
)
def test_something_else_where_a_catalog_should_be_is_an_error_not_a_missing_catalog(
    sample_project: Project, cli, replace: Any, message: str
) -> None:
    # It was taken for no catalog at all: every message untranslated, and `catalog update` raised IsADirectoryError.
    path = catalogs.catalog_path(sample_project, "my", "messages")
    path.unlink()
    replace(path)
    expected = f"locales/my/LC_MESSAGES/messages.po: error: {message}"
    for command in (["check", SAMPLE_ISSUE], ["build", SAMPLE_ISSUE], ["site"]):
        result = cli(*command, cwd=sample_project.root)
        assert result.exit_code == 1, (command, result.output)
        assert expected in result.stderr.splitlines(), (command, result.stderr)
    for command in (["catalog", "status"], ["catalog", "update"]):
        result = cli(*command, cwd=sample_project.root)
        assert result.exit_code == 1, (command, result.output)
        assert expected in result.stderr.splitlines(), (command, result.stderr)
    assert path.is_symlink() or path.is_dir()  # left as it was


def test_one_msgid_in_two_contexts_is_no_second_definition(tmp_path: Path) -> None:
    path = tmp_path / "messages.po"
    path.write_text(
        PO_HEADER + 'msgid "a"\nmsgstr "x"\n\nmsgctxt "c"\nmsgid "a"\nmsgstr "y"\n', encoding="utf-8"
    )
    assert (
        subprocess.run(
            ["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, check=False
        ).returncode
        == 0
    )
    catalog, _lines = read_catalog(path, display="messages.po")
    assert catalog.get("a").string == "x" and catalog.get("a", context="c").string == "y"


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (
            "We send 100% of issues",
            "%o format: an integer is required, not _MarkupEscapeHelper; a literal % is written %%",
        ),
        ("We send %(issues)s issues", "the template gives it no variable 'issues'"),
    ],
    ids=["stray-percent", "unknown-variable"],
)
@pytest.mark.parametrize("locale", ["en", "my"])
def test_web_page_whose_template_message_cannot_be_formatted_answers_and_logs_where_once(
    sample_project: Project,
    sample_store: Engine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    message: str,
    problem: str,
    locale: str,
) -> None:
    # `build` reports such a message as a located error; a page must answer all the same.
    template = sample_project.templates_dir / "web" / "signup.html.j2"
    lines = template.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(
        n
        for n, text in enumerate(lines, 1)
        if '_("We will send you an email with a link to confirm your subscription.")' in text
    )
    lines[line - 1] = lines[line - 1].replace(
        "We will send you an email with a link to confirm your subscription.", message
    )
    template.write_text("".join(lines), encoding="utf-8")
    app = app_sending_to(tmp_path / "outbox", sample_project, sample_store, SECRET)
    with caplog.at_level(logging.WARNING, "broadsheet.i18n"), serving(app) as client:
        pages = [client.get("/subscribe", params={"lang": locale}) for _ in range(2)]
    for page in pages:
        assert page.status_code == 200
        assert f"<p>{message}</p>" in page.text  # the English text, as the template has it
        assert "Email address" in page.text or "အီးမေးလ် လိပ်စာ" in page.text
    logged = [record.getMessage() for record in caplog.records if record.name == "broadsheet.i18n"]
    assert logged == [
        f"{template}:{line}: error: the message {message!r} cannot be formatted: {problem}; shown unformatted"
    ]


def test_the_header_warnings_of_a_shared_catalog_follow_its_content_in_one_process(
    sample_project: Project, cli
) -> None:
    """They are worked out once for each content a catalog has (`site` asks them for every issue): a header
    mended, or spoilt again, between two checks in one process is seen as it is now."""
    path = catalogs.catalog_path(sample_project, "my", "messages")
    good = path.read_text(encoding="utf-8")
    bad = good.replace("nplurals=1; plural=0;", "nplurals=2; plural=(n != 1);")
    said = []
    for text in (good, bad, bad, good, bad):
        path.write_text(text, encoding="utf-8")
        said.append("Plural-Forms" in cli("check", SAMPLE_ISSUE, cwd=sample_project.root).stderr)
    assert said == [False, True, True, False, True]


def test_a_plural_forms_header_that_miscounts_the_language_s_forms_is_a_warning_at_its_line(
    sample_project: Project, cli
) -> None:
    # As `pybabel init -l my` writes it, and Poedit keeps it: two tabs for each plural message, the second never used.
    path = catalogs.catalog_path(sample_project, "my", "messages")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("nplurals=1; plural=0;", "nplurals=2; plural=(n != 1);"), encoding="utf-8")
    line = text.splitlines().index('"Plural-Forms: nplurals=1; plural=0;\\n"') + 1
    warning = (
        f"locales/my/LC_MESSAGES/messages.po:{line}: warning: Plural-Forms: the header gives nplurals=2, but "
        "Burmese has 1 plural form (nplurals=1; plural=0;): a plural message's translation is used in msgstr[0] "
        "alone; `broadsheet catalog update` writes the right header"
    )
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    assert warning in result.stderr.splitlines()
    # Said where the translator looks too.
    assert cli("catalog", "status", cwd=sample_project.root).stderr.splitlines() == [warning]
    # A catalog without a plural message is told nothing: its header is used for nothing.
    names = catalogs.catalog_path(sample_project, "my", "names")
    names.write_text(
        names.read_text(encoding="utf-8").replace("nplurals=1; plural=0;", "nplurals=2; plural=(n != 1);"),
        encoding="utf-8",
    )
    assert "names.po" not in cli("check", SAMPLE_ISSUE, cwd=sample_project.root).stderr
    cli("catalog", "update", cwd=sample_project.root)
    assert "Plural-Forms" not in cli("check", SAMPLE_ISSUE, cwd=sample_project.root).stderr


def test_a_compiled_catalog_without_its_po_file_is_a_warning_saying_what_to_put_there(
    sample_project: Project, cli
) -> None:
    # Poedit writes a .mo beside each .po it saves; sent alone, it made every message untranslated, said nowhere.
    po = catalogs.catalog_path(sample_project, "my", "names")
    with po.open("rb") as source, po.with_suffix(".mo").open("wb") as compiled:
        write_mo(compiled, read_po(source))
    assert cli("catalog", "status", cwd=sample_project.root).stderr == ""  # a .mo beside its .po: all is well
    po.unlink()
    status = cli("catalog", "status", cwd=sample_project.root)
    assert status.stderr.splitlines() == [
        "locales/my/LC_MESSAGES/names.mo: warning: a compiled catalog, which broadsheet does not read: it reads "
        "the .po file it was compiled from, locales/my/LC_MESSAGES/names.po; put that there (or write one from "
        "this: msgunfmt locales/my/LC_MESSAGES/names.mo -o locales/my/LC_MESSAGES/names.po)"
    ]
    check = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert "locales/my/LC_MESSAGES/names.mo: warning: a compiled catalog" in check.stderr


def test_a_translation_that_is_the_original_copied_is_a_warning_at_its_line(
    sample_project: Project, cli
) -> None:
    # Poedit's "Copy from Source Text" and a translation memory's pre-fill write the English as the translation:
    # it passed for Burmese, marked lang="my" and set in Burmese type, and no reader was told it was English.
    title = 'msgstr "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"'
    where = Broken("issues/2023-12-21", title.encode(), f'msgstr "{ISSUE_TITLE}"'.encode(), "").apply(
        sample_project
    )
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("locales/")] == [
        f"{where}: warning: msgstr: translation is a copy of the original: it would pass for a translation "
        "(marked as this catalog's language, with no note of untranslated text); translate it, or leave it empty "
        "for the original to be shown as untranslated"
    ]


POEDIT_FIELDS = (
    '"X-Generator: Poedit 3.4.2\\n"\n"X-Poedit-SourceCharset: UTF-8\\n"\n"X-Crowdin-Project: broadsheet\\n"\n'
)


def _saved_by_poedit(path: Path) -> bytes:
    """The catalog at `path` written as Poedit on Windows saves it: wrapped as GNU gettext wraps (79 columns,
    a space at the end of a line, not at the start of the next), with CRLF line ends, its own header fields and
    an empty Language; its bytes."""
    msgcat = shutil.which("msgcat")
    assert msgcat, "GNU gettext's msgcat is missing; ./scripts/test installs it"
    wrapped = subprocess.run([msgcat, str(path)], capture_output=True, text=True, check=True).stdout
    assert '"Language: my\\n"\n' in wrapped and '"Generated-By: ' in wrapped
    wrapped = wrapped.replace('"Language: my\\n"\n', '"Language: \\n"\n')
    wrapped = re.sub(r'("Generated-By: .*\n)', lambda m: m.group(1) + POEDIT_FIELDS, wrapped)
    path.write_bytes(wrapped.replace("\n", "\r\n").encode())
    return path.read_bytes()


def _changed_entries(before: bytes, after: bytes) -> tuple[list[str], list[str]]:
    """The entries (groups of lines between blank lines) only in `before`, and those only in `after`."""
    old, new = before.decode().split("\r\n\r\n"), after.decode().split("\r\n\r\n")
    return [entry for entry in old if entry not in new], [entry for entry in new if entry not in old]


def test_update_of_a_catalog_a_translator_s_tool_saved_changes_only_what_it_must(
    sample_project: Project, cli
) -> None:
    # Babel's writer dropped X-Generator, X-Poedit-*, X-Crowdin-* and an empty Language, rewrapped every entry
    # and wrote LF line ends: after each save in Poedit, the diff of an update was the whole file.
    po = catalogs.catalog_path(sample_project, "my", "issues/2023-12-21")
    saved = _saved_by_poedit(po)
    result = cli("catalog", "update", cwd=sample_project.root)
    assert "unchanged locales/my/LC_MESSAGES/issues/2023-12-21.po" in result.stdout.splitlines()
    assert po.read_bytes() == saved
    issue = sample_project.issues_dir / "2023-12-21.yaml"
    issue.write_text(issue.read_text(encoding="utf-8").replace(GUNS, "to armed men."), encoding="utf-8")
    assert cli("catalog", "extract", SAMPLE_ISSUE, cwd=sample_project.root).exit_code == 0
    assert cli("catalog", "update", cwd=sample_project.root).exit_code == 0
    written = po.read_bytes()
    assert written.count(b"\n") == written.count(b"\r\n")
    gone, added = _changed_entries(saved, written)
    assert len(gone) == 1 and GUNS in gone[0].replace('"\r\n"', "")
    assert len(added) == 1 and "#, fuzzy\r\n" in added[0] and "to armed men." in added[0]
    # Written at the width of the file's own lines, not at Babel's 76.
    assert 76 < max(len(line) for line in added[0].split("\r\n") if line.isascii()) <= 79
    assert POEDIT_FIELDS.replace("\n", "\r\n") in written.decode()
    assert '"Language: \\n"\r\n' in written.decode()
    assert _msgfmt_check(po) == ""
    assert next(m for m in read_catalog(po)[0] if m.id and "to armed men." in m.id).fuzzy


def test_convert_zawgyi_of_a_catalog_a_translator_s_tool_saved_changes_only_what_it_converts(
    sample_project: Project, cli
) -> None:
    po = catalogs.catalog_path(sample_project, "my", "issues/2023-12-21")
    title = "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"
    po.write_bytes(po.read_bytes().replace(f'msgstr "{title}"'.encode(), f'msgstr "{ZAWGYI}"'.encode()))
    saved = _saved_by_poedit(po)
    converted = cli("catalog", "convert-zawgyi", catalogs.shown(sample_project, po), cwd=sample_project.root)
    assert converted.exit_code == 0, converted.output
    gone, added = _changed_entries(saved, po.read_bytes())
    assert (gone, added) == ([gone[0]], [gone[0].replace(ZAWGYI, UNICODE)])


def _joined_by_msgcat(po: Path, other: Path, old: str, new: str) -> str:
    """The catalog at `po` joined by GNU msgcat, in place, with `other`, a copy of it that says `new` for `old`."""
    msgcat = shutil.which("msgcat")
    assert msgcat, "GNU gettext's msgcat is missing; ./scripts/test installs it"
    other.write_text(po.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    subprocess.run([msgcat, "-o", str(po), str(po), str(other)], check=True)
    return po.read_text(encoding="utf-8")


def test_a_header_msgcat_joined_from_two_catalogs_is_a_warning_at_its_line_and_kept_by_update(
    sample_project: Project, cli, tmp_path: Path
) -> None:
    # Babel reads no field of it: `catalog update` replaced it with its placeholders (PROJECT VERSION), unsaid.
    po = catalogs.catalog_path(sample_project, "my", "names")
    joined = _joined_by_msgcat(
        po, tmp_path / "other.po", "FULL NAME <EMAIL@ADDRESS>", "Ko Aung <aung@example.org>"
    )
    line = joined.splitlines().index('"#-#-#-#-#  names.po (broadsheet 0.1.0)  #-#-#-#-#\\n"') + 1
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    assert (
        f"locales/my/LC_MESSAGES/names.po:{line}: warning: header: the header is 2 catalogs' headers joined by "
        "msgcat (each after a #-#-#-#-# line), which cannot be read as one: its Language and Plural-Forms are "
        "taken for none; keep one header's fields and delete the others with their #-#-#-#-# lines (msgcat "
        "--use-first keeps the first header)"
    ) in result.stderr.splitlines()
    assert cli("catalog", "update", cwd=sample_project.root).exit_code == 0
    written = po.read_text(encoding="utf-8")
    assert "PROJECT VERSION" not in written
    assert written.split("\n\n")[0] == joined.split("\n\n")[0]


@pytest.mark.parametrize(
    ("language", "warned"),
    [
        (
            "th",
            "in Thai, but it is read for the Burmese edition, as it is in locales/my/: write Language: my, or "
            "if its translations are in Thai, move it to locales/th/LC_MESSAGES/names.po",
        ),
        (
            "Burmese",
            "in 'Burmese', but it is read for the Burmese edition, as it is in locales/my/: write Language: my",
        ),
        ("my_MM", ""),
        ("my-MM", ""),
        ("", ""),
    ],
    ids=["another-language", "no-language-code", "region", "region-with-hyphen", "empty"],
)
def test_a_language_header_naming_another_language_than_its_folder_is_a_warning_at_its_line(
    sample_project: Project, cli, language: str, warned: str
) -> None:
    # It passed without a word, and the Thai catalog was used for the Burmese edition; then it was said by check,
    # build and site, but not by catalog status, where a translator looks at their catalogs.
    path = catalogs.catalog_path(sample_project, "my", "names")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"Language: my\\n"', f'"Language: {language}\\n"'), encoding="utf-8")
    line = text.splitlines().index('"Language: my\\n"') + 1
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    found = [line for line in result.stderr.splitlines() if "Language" in line]
    expected = (
        f"locales/my/LC_MESSAGES/names.po:{line}: warning: Language: the header says the catalog is {warned}"
    )
    assert found == ([expected] if warned else [])
    for arguments in ((), (SAMPLE_ISSUE, "--json")):
        status = cli("catalog", "status", *arguments, cwd=sample_project.root)
        assert status.exit_code == 0, status.output
        assert status.stderr.splitlines() == ([expected] if warned else [])


TITLE = "ကြေကွဲမှုနှင့် မျှော်လင့်ချက်တို့၏ တစ်နှစ်တာ"


@pytest.mark.parametrize(
    ("translation", "what"),
    [
        ("\u200b", "invisible characters (U+200B ZERO WIDTH SPACE)"),
        ("\u2060", "invisible characters (U+2060 WORD JOINER)"),
        ("\ufeff", "invisible characters (U+FEFF ZERO WIDTH NO-BREAK SPACE)"),
        ("\u200c", "invisible characters (U+200C ZERO WIDTH NON-JOINER)"),
        ("\u200d \u200b", "invisible characters (U+200B ZERO WIDTH SPACE, U+200D ZERO WIDTH JOINER)"),
        ("\u102c", "marks with no letter to go on (U+102C MYANMAR VOWEL SIGN AA)"),
        ("\u103b", "marks with no letter to go on (U+103B MYANMAR CONSONANT SIGN MEDIAL YA)"),
        (
            " \u103b \u102c\u1037 ",
            "marks with no letter to go on (U+102C MYANMAR VOWEL SIGN AA, U+1037 MYANMAR SIGN DOT BELOW, "
            "U+103B MYANMAR CONSONANT SIGN MEDIAL YA)",
        ),
        (
            "\u200b\u102c",
            "invisible characters (U+200B ZERO WIDTH SPACE) and marks with no letter to go on "
            "(U+102C MYANMAR VOWEL SIGN AA)",
        ),
    ],
    ids=[
        "zero-width-space",
        "word-joiner",
        "byte-order-mark",
        "zwnj",
        "zwj-space-zwsp",
        "vowel-sign",
        "medial",
        "marks-and-spaces",
        "zwsp-and-vowel-sign",
    ],
)
def test_a_translation_that_is_only_invisible_characters_or_lone_marks_is_untranslated_and_reported(
    sample_project: Project, cli, translation: str, what: str
) -> None:
    # It counted as translated: an invisible subject and heading, or one of a vowel sign on a dotted circle.
    def translated() -> int:
        status = cli("catalog", "status", SAMPLE_ISSUE, "--json", cwd=sample_project.root)
        row = next(row for row in json.loads(status.stdout) if row["domain"] == "issues/2023-12-21")
        return int(row["messages"]["translated"])

    issue = read_issue(sample_project.issues_dir / "2023-12-21.yaml", sample_project.settings).issue
    assert issue is not None
    before = translated()
    where = Broken(
        "issues/2023-12-21", f'msgstr "{TITLE}"'.encode(), f'msgstr "{translation}"'.encode(), ""
    ).apply(sample_project)
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    assert (
        f"{where}: warning: msgstr: translation is only {what}: taken as untranslated "
        "(English shown); write the translation, or leave it empty"
    ) in result.stderr.splitlines()
    edition = localize(sample_project, issue, "my")
    assert Renderer(sample_project).render(edition).subject == issue.title
    assert edition.fallback
    assert translated() == before - 1


def test_zero_width_characters_inside_burmese_text_are_kept_and_not_reported(
    sample_project: Project, cli
) -> None:
    # A zero-width space marks where a line of Burmese may break, a ZWNJ keeps letters apart: the text is there.
    issue = read_issue(sample_project.issues_dir / "2023-12-21.yaml", sample_project.settings).issue
    assert issue is not None
    marked = TITLE.replace(" ", "\u200b", 1).replace("တစ်", "တ\u200cစ်")
    Broken("issues/2023-12-21", f'msgstr "{TITLE}"'.encode(), f'msgstr "{marked}"'.encode(), "").apply(
        sample_project
    )
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("locales/")] == []
    assert Renderer(sample_project).render(localize(sample_project, issue, "my")).subject == marked


def test_a_translation_msgcat_joined_from_two_catalogs_is_an_error_at_its_msgstr_and_english_is_shown(
    sample_project: Project, cli, tmp_path: Path
) -> None:
    # msgcat gives a message two catalogs translate differently both versions, each after a #-#-#-#-# line, and
    # marks it fuzzy: with the mark cleared and the versions left, the marker lines went out as the name.
    po = catalogs.catalog_path(sample_project, "my", "names")
    joined = _joined_by_msgcat(po, tmp_path / "names-aung.po", "ဟျူးမင်းရိုက်ဝေါ့ချ်", "ဟျူမင်း ရိုက်ဝေါ့ချ်")
    assert '#, fuzzy\nmsgid "Human Rights Watch"' in joined
    # A draft, as msgcat left it: not checked, nor used.
    assert "names.po:" not in cli("check", SAMPLE_ISSUE, cwd=sample_project.root).stderr
    po.write_text(
        joined.replace('#, fuzzy\nmsgid "Human Rights Watch"', 'msgid "Human Rights Watch"'), "utf-8"
    )
    line = po.read_text(encoding="utf-8").splitlines().index('msgid "Human Rights Watch"') + 2
    result = cli("check", SAMPLE_ISSUE, cwd=sample_project.root)
    assert result.exit_code == 1
    assert [said for said in result.stderr.splitlines() if "names.po" in said] == [
        f"locales/my/LC_MESSAGES/names.po:{line}: error: msgstr: translation is 2 versions that msgcat joined "
        "(each after a #-#-#-#-# line), from catalogs that translate it differently: keep one of them and delete "
        "the #-#-#-#-# lines; until then it is taken as untranslated (English shown)"
    ]
    issue = read_issue(sample_project.root / SAMPLE_ISSUE, sample_project.settings, SAMPLE_ISSUE).issue
    assert issue is not None
    edition = localize(sample_project, issue, "my")
    email = Renderer(sample_project).render(edition)
    assert "#-#-#-#-#" not in email.text
    assert "Human Rights Watch" in email.text
    assert (
        "issues/2023-12-21.yaml: warning: my: 1 of 11 messages in locales/my/LC_MESSAGES/names.po untranslated; "
        "English shown" in [str(d) for d in edition.diagnostics]
    )
    status = cli("catalog", "status", "--json", cwd=sample_project.root)
    row = next(row for row in json.loads(status.stdout) if row["domain"] == "names")
    assert row["messages"] == {"translated": 10, "fuzzy": 0, "untranslated": 1, "total": 11}


def test_the_repository_s_catalogs_are_what_extract_and_update_write_from_its_templates_and_sample(
    sample_project: Project, cli
) -> None:
    """A template changed without `catalog extract` leaves translators a catalog that names the wrong lines (or
    lacks a message): the committed templates and catalogs are kept as the commands write them."""
    for command in ("extract", "update"):
        result = cli("catalog", command, cwd=sample_project.root)
        assert result.exit_code == 0, result.output
    stale = [
        path.relative_to(sample_project.root).as_posix()
        for path in sorted(sample_project.locales_dir.rglob("*.po*"))
        if path.read_bytes() != (REPO / path.relative_to(sample_project.root)).read_bytes()
    ]
    assert stale == [], (
        "run `broadsheet catalog extract` and `broadsheet catalog update`, and commit what they write"
    )
