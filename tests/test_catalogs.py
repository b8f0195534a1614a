"""The translators' workflow: extract, update (fuzzy, obsolete), status, checks of translations."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from broadsheet import catalogs
from broadsheet.issue import read_issue
from broadsheet.settings import Project

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
        ("issues/2024-01-04.yaml:8", "First paragraph with a [link](https://example.org/one) and *emphasis*."),
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
    for msgid in ("By %(author)s", "Resources from the past week", "Unsubscribe", "Statements and Press Releases", "Facebook"):
        assert f'msgid "{msgid}"' in interface
    assert '#: templates/email.mjml.j2:' in interface
    assert '#: broadsheet.toml:' in interface
    assert 'msgid_plural "%(n)s minute read"' in interface


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


def test_extract_of_an_invalid_issue_reports_it_and_exits_1(project: Project, cli) -> None:
    (project.issues_dir / "2024-01-11.yaml").write_text("date: 2024-01-11\ntitle: x\n")
    result = cli("catalog", "extract", cwd=project.root)
    assert result.exit_code == 1
    assert "issues/2024-01-11.yaml:1:1: error: editorial: required field is missing" in result.stderr
    assert not (project.locales_dir / "names.pot").exists()  # names stay as they were
    assert (project.locales_dir / "issues" / "2024-01-04.pot").is_file()


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


def test_catalogs_written_by_broadsheet_pass_msgfmt_check(project: Project, cli) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("GNU gettext's msgfmt is missing; ./scripts/test installs it")
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "messages", {"By %(author)s": "ရေးသားသူ - %(author)s"})
    for path in [*project.locales_dir.rglob("*.po"), *project.locales_dir.rglob("*.pot")]:
        run = subprocess.run([msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True, check=False)
        assert run.returncode == 0, f"{path}: {run.stderr}"


def test_edited_paragraph_becomes_fuzzy_with_its_old_translation(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": "တတိယ စာပိုဒ်။"})
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(ISSUE.replace("Third paragraph, plain.", "Third paragraph, plain and edited."), encoding="utf-8")
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


def test_deleted_paragraph_becomes_obsolete(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": "တတိယ စာပိုဒ်။"})
    issue = project.issues_dir / "2024-01-04.yaml"
    issue.write_text(ISSUE.replace("\n  Third paragraph, plain.\n", "\n"), encoding="utf-8")
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    text = catalogs.catalog_path(project, "my", "issues/2024-01-04").read_text(encoding="utf-8")
    assert '#~ msgid "Third paragraph, plain."\n#~ msgstr "တတိယ စာပိုဒ်။"' in text
    assert "Third paragraph, plain." not in _po(project, "my", "issues/2024-01-04")


def test_update_keeps_translations_and_is_stable(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "names", {"Org One": "အဖွဲ့ တစ်"})
    cli("catalog", "update", cwd=project.root)
    assert _po(project, "my", "names").get("Org One").string == "အဖွဲ့ တစ်"
    again = cli("catalog", "update", cwd=project.root)
    assert all(line.startswith("unchanged ") for line in again.stdout.splitlines())


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
    assert rows == [["my", "names", "0", "0", "3", "6", "0%"], ["my", "issues/2024-01-04", "1", "1", "6", "36", "12%"]]


def test_status_before_extract_says_what_to_run(project: Project, cli) -> None:
    result = cli("catalog", "status", cwd=project.root)
    assert result.exit_code == 1
    assert result.stderr == "broadsheet: no template locales/messages.pot; run `broadsheet catalog extract` first\n"


@pytest.mark.parametrize(
    ("msgid", "msgstr", "problem"),
    [
        ("By %(author)s", "ရေးသားသူ", "translation has missing placeholder %(author)s"),
        ("By %(author)s", "ရေးသားသူ %(autor)s", "translation has missing placeholder %(author)s and unexpected placeholder %(autor)s"),
        ("See [this](https://a.org/x).", "[ဒီမှာ](https://a.org/y) ကြည့်ပါ။", "translation has missing link https://a.org/x and unexpected link https://a.org/y"),
        ("A figure.[^1]", "ကိန်းဂဏန်း။", "translation has missing footnote reference [^1]"),
        ("Some *emphasis* here.", "အလေး *ပေး ဒီမှာ။", "Markdown markup differs from the original (em: 1 in the original, 0 here); check that every *, ** and [ ] is closed"),
    ],
)
def test_translation_that_loses_structure_is_an_error(msgid: str, msgstr: str, problem: str) -> None:
    assert catalogs.translation_problems(msgid, msgstr, is_markdown=True) == [problem]


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
    assert f"locales/my/LC_MESSAGES/issues/2024-01-04.po:{line}: error: msgstr: translation has missing footnote reference [^1]" in result.stderr.splitlines()


def test_pybabel_extract_uses_the_registered_extractor(project: Project, tmp_path: Path) -> None:
    pybabel = shutil.which("pybabel", path=str(Path(REPO / ".venv" / "bin"))) or shutil.which("pybabel")
    assert pybabel, "pybabel comes with Babel"
    mapping = tmp_path / "babel.cfg"
    mapping.write_text("[broadsheet: issues/*.yaml]\n")
    out = tmp_path / "out.pot"
    run = subprocess.run([pybabel, "extract", "-F", str(mapping), "-o", str(out), "."], cwd=project.root, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    pot = out.read_text(encoding="utf-8")
    assert '#: issues/2024-01-04.yaml:2\nmsgid "The Year Ahead"' in pot
    assert 'msgid "Org Two"' in pot
    assert "Second paragraph with a footnote.[^1]" in pot


def test_repeated_text_is_one_message_with_every_location(project: Project) -> None:
    path = project.issues_dir / "2024-01-04.yaml"
    path.write_text(ISSUE.replace("Third paragraph, plain.", "First paragraph with a [link](https://example.org/one) and *emphasis*."))
    issue = read_issue(path, project.settings, "issues/2024-01-04.yaml").issue
    assert issue is not None
    messages = catalogs.issue_messages(issue)
    repeated = [m for m in messages if m.key.startswith("First paragraph")]
    assert len(repeated) == 1
    assert repeated[0].locations == (("issues/2024-01-04.yaml", 8), ("issues/2024-01-04.yaml", 12))


ZAWGYI = "ကၽြန္ေတာ္ ရန္ကုန္ၿမိဳ႕မွာ ေနပါတယ္"
UNICODE = "ကျွန်တော် ရန်ကုန်မြို့မှာ နေပါတယ်"  # the same sentence, checked with ICU's Zawgyi-my


def test_zawgyi_translation_is_reported_with_its_line_and_the_command_that_converts_it(project: Project, cli) -> None:
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

    converted = cli("catalog", "convert-zawgyi", "locales/my/LC_MESSAGES/issues/2024-01-04.po", cwd=project.root)
    assert converted.exit_code == 0
    assert converted.stdout == "locales/my/LC_MESSAGES/issues/2024-01-04.po: converted 1 message(s) from Zawgyi to Unicode\n"
    assert _po(project, "my", "issues/2024-01-04").get("Third paragraph, plain.").string == UNICODE
    assert cli("check", "issues/2024-01-04.yaml", cwd=project.root).exit_code == 0


def test_unicode_burmese_translation_is_not_taken_for_zawgyi(project: Project, cli) -> None:
    cli("catalog", "extract", cwd=project.root)
    cli("catalog", "update", cwd=project.root)
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": UNICODE})
    assert catalogs.check_catalog(project, catalogs.catalog_path(project, "my", "issues/2024-01-04"), is_markdown=True) == []
