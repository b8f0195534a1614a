"""Building a locale: translations used, English fallback marked and reported, Burmese digits and type."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

import pytest

from broadsheet import catalogs, i18n
from broadsheet.issue import read_issue
from broadsheet.localize import localize
from broadsheet.render import Renderer
from broadsheet.settings import Project, find_project

from .support import ISSUE, REPO, SAMPLE, translate


@pytest.fixture
def project(tmp_project: Project, cli) -> Project:
    (tmp_project.issues_dir / "2024-01-04.yaml").write_text(ISSUE, encoding="utf-8")
    cli("catalog", "extract", cwd=tmp_project.root)
    cli("catalog", "update", cwd=tmp_project.root)
    return tmp_project


def _issue(project: Project):  # type: ignore[no-untyped-def]
    issue = read_issue(
        project.issues_dir / "2024-01-04.yaml", project.settings, "issues/2024-01-04.yaml"
    ).issue
    assert issue is not None
    return issue


def test_translated_strings_are_used_and_the_subject_is_localized(project: Project) -> None:
    translate(
        project,
        "my",
        "issues/2024-01-04",
        {"The Year Ahead": "ရှေ့ဆက်မည့် နှစ်", "Third paragraph, plain.": "တတိယ စာပိုဒ်။"},
    )
    translate(project, "my", "messages", {"Resources from the past week": "ပြီးခဲ့သည့် အပတ်မှ အရင်းအမြစ်များ"})
    translate(project, "my", "names", {"Org One": "အဖွဲ့ တစ်"})
    edition = localize(project, _issue(project), "my")
    email = Renderer(project).render(edition)
    assert email.subject == "ရှေ့ဆက်မည့် နှစ်"
    assert "<title>ရှေ့ဆက်မည့် နှစ်</title>" in email.html
    assert re.search(r'<p style="[^"]*">တတိယ စာပိုဒ်။</p>', email.html)
    assert "ပြီးခဲ့သည့် အပတ်မှ အရင်းအမြစ်များ" in email.html
    assert "ပြီးခဲ့သည့် အပတ်မှ အရင်းအမြစ်များ" in email.text
    assert "By အဖွဲ့ တစ်၊ Org Two" in email.text  # names separated as Burmese separates a list
    assert email.html.startswith('<!DOCTYPE html><html lang="my"')


def test_untranslated_paragraph_falls_back_to_english_marked_and_reported(project: Project) -> None:
    translate(project, "my", "issues/2024-01-04", {"The Year Ahead": "ရှေ့ဆက်မည့် နှစ်"})
    edition = localize(project, _issue(project), "my")
    email = Renderer(project).render(edition)
    # English text inside the Burmese edition is marked, and set in the English fonts.
    assert re.search(
        r'<div lang="en" style="font-family: Helvetica, Arial, sans-serif;line-height: 1.6;"><p style="[^"]*">Third paragraph, plain.</p>',
        email.html,
    )
    assert "Third paragraph, plain." in email.text
    assert re.search(r'<h1 style="[^"]*">ရှေ့ဆက်မည့် နှစ်</h1>', email.html)
    messages = [str(d) for d in edition.diagnostics]
    assert (
        "issues/2024-01-04.yaml: warning: my: 7 of 8 messages in locales/my/LC_MESSAGES/issues/2024-01-04.po untranslated; English shown"
        in messages
    )
    assert (
        "issues/2024-01-04.yaml: warning: my: 3 of 3 messages in locales/my/LC_MESSAGES/names.po untranslated; English shown"
        in messages
    )
    assert len(messages) == 3  # one line per catalog: content, names, interface


NOTE = "Some parts of this issue are not yet translated and are shown in English."
NOTE_MY = "ဤစာစောင်၏ အချို့အပိုင်းများကို ဘာသာမပြန်ရသေးသဖြင့် အင်္ဂလိပ်ဘာသာဖြင့် ဖော်ပြထားပါသည်။"


def test_an_edition_with_english_fallback_says_so_at_the_top(project: Project) -> None:
    translate(project, "my", "messages", {NOTE: NOTE_MY})
    edition = localize(project, _issue(project), "my")
    assert edition.fallback
    email = Renderer(project).render(edition)
    assert re.search(rf'<p class="notice" style="[^"]*">{NOTE_MY}</p>', email.html)
    assert email.html.index(NOTE_MY) < email.html.index("<h1")
    assert email.text.index("ဤစာစောင်၏") < email.text.index("The Year Ahead")


def test_a_fully_translated_edition_has_no_note(project: Project) -> None:
    translations = {
        message.key: f"မြန်မာ {n}" for n, message in enumerate(catalogs.issue_messages(_issue(project)))
    }
    translate(project, "my", "issues/2024-01-04", translations)
    translate(
        project, "my", "names", {"Org One": "အဖွဲ့ တစ်", "Org Two": "အဖွဲ့ နှစ်", "Progressive Voice": "တိုးတက်သောအသံ"}
    )
    interface: dict[str, str | tuple[str, ...]] = {}
    for message in catalogs.interface_messages(project):
        text = " ".join(
            ["မြန်မာ", *re.findall(r"%\(\w+\)s", message.key)]
        )  # a pseudo-translation keeping the placeholders
        interface[message.key] = text if isinstance(message.id, str) else (text,)
    translate(project, "my", "messages", interface)
    edition = localize(project, _issue(project), "my")
    assert not edition.fallback, [str(d) for d in edition.diagnostics]
    email = Renderer(project).render(edition)
    assert 'class="notice"' not in email.html
    assert NOTE not in email.text and NOTE_MY not in email.text


def test_the_english_edition_has_no_note(project: Project) -> None:
    email = Renderer(project).render(localize(project, _issue(project), "en"))
    assert 'class="notice"' not in email.html and NOTE not in email.text


def test_a_project_that_sends_only_complete_editions_refuses_fallback(project: Project, cli) -> None:
    settings = project.root / "broadsheet.toml"
    settings.write_text(
        "send_incomplete_translations = false\n" + settings.read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = cli("build", "issues/2024-01-04.yaml", cwd=project.root)
    assert result.exit_code == 1
    assert (
        "issues/2024-01-04.yaml: error: my: 8 of 8 messages in locales/my/LC_MESSAGES/issues/2024-01-04.po untranslated; --strict forbids falling back to English"
        in result.stderr.splitlines()
    )
    assert not project.build_dir.exists()


def test_english_fallback_keeps_the_typography_of_its_element(project: Project) -> None:
    email = Renderer(project).render(localize(project, _issue(project), "my"))
    h1 = re.search(r'<h1 lang="en" style="([^"]*)">The Year Ahead</h1>', email.html)
    assert h1 is not None
    assert "font-family: Georgia, 'Times New Roman', serif" in h1.group(1)
    assert "line-height: 1.25" in h1.group(1)
    assert "font-size: 28px" in h1.group(1)


MYANMAR_FONTS = "font-family: 'Noto Sans Myanmar', 'Myanmar Text'"


def test_a_footnote_mark_in_burmese_digits_in_english_left_untranslated_is_marked_burmese(
    project: Project,
) -> None:
    email = Renderer(project).render(localize(project, _issue(project), "my"))
    html = email.html.replace("&#39;", "'")
    reference = re.search(
        r'<div lang="en"[^>]*><p[^>]*>Second paragraph with a footnote\.<sup class="fnref" lang="my" style="([^"]*)">'
        r'<a href="#fn-1" id="fnref-1"[^>]*>\[၁\]</a></sup></p>',
        html,
    )
    assert reference is not None and MYANMAR_FONTS in reference.group(1)
    assert "line-height: 0" in reference.group(1)  # a mark, not a line: it keeps the lines of its paragraph
    number = re.search(
        r'<p class="fn" lang="en" id="fn-1"[^>]*><span lang="my" style="([^"]*)">\[၁\]</span> The source of the figure\.</p>',
        html,
    )
    assert number is not None and MYANMAR_FONTS in number.group(1)
    assert "[၁] The source of the figure." in email.text
    english = Renderer(project).render(localize(project, _issue(project), "en")).html
    assert '<sup class="fnref" style=' in english and '<sup class="fnref" lang' not in english


PUBLISHER_MY = "တိုးတက်သောအသံ"


def test_the_burmese_email_names_its_publisher_as_the_names_catalog_gives_it(project: Project) -> None:
    translate(project, "my", "names", {"Progressive Voice": PUBLISHER_MY})
    email = Renderer(project).render(localize(project, _issue(project), "my"))
    assert re.search(
        rf'<a href="https://progressivevoicemyanmar.org" style="[^"]*">{PUBLISHER_MY}</a> · ', email.html
    )
    assert f"<strong>{PUBLISHER_MY}</strong>" in email.html
    assert "Progressive Voice" not in email.html
    assert email.text.startswith(f"{PUBLISHER_MY} · ")
    assert f"\n{PUBLISHER_MY}\n" in email.text.split("-" * 20)[-1]  # the footer
    english = Renderer(project).render(localize(project, _issue(project), "en"))
    assert english.text.startswith("Progressive Voice · ")


def test_a_publisher_left_untranslated_is_marked_english_and_counted(project: Project) -> None:
    issue_file = project.issues_dir / "2024-01-04.yaml"
    issue_file.write_text("author: Org One\n" + ISSUE, encoding="utf-8")
    edition = localize(project, _issue(project), "my")
    # The publisher is not the author here: it is counted as a name of its own (Org One, Org Two and it).
    assert (
        "issues/2024-01-04.yaml: warning: my: 3 of 3 messages in locales/my/LC_MESSAGES/names.po untranslated; English shown"
        in [str(d) for d in edition.diagnostics]
    )
    email = Renderer(project).render(edition)
    # In the English fonts, and read by a screen reader as English.
    top = re.search(
        r'<a href="https://progressivevoicemyanmar.org" style="([^"]*)" lang="en">Progressive Voice</a>',
        email.html,
    )
    assert top is not None and "font-family: Helvetica, Arial, sans-serif" in top.group(1)
    assert re.search(
        r'<strong lang="en" style="font-family: Helvetica, Arial, sans-serif;[^"]*">Progressive Voice</strong>',
        email.html,
    )


ENGLISH = '<span lang="en" style="font-family: Helvetica, Arial, sans-serif;line-height: 1.6;">'
"""A name left in English in the Burmese email: marked, and set in the English fonts."""


def test_names_left_untranslated_are_marked_english_in_the_burmese_by_lines_and_author(
    project: Project,
) -> None:
    issue_file = project.issues_dir / "2024-01-04.yaml"
    many = "by: [Org One, Org Two, Org Three, Org Four]"
    issue_file.write_text(
        "author: Org Two\n" + ISSUE.replace("by: [Org One, Org Two]", many), encoding="utf-8"
    )
    translate(project, "my", "names", {"Org One": "အဖွဲ့ တစ်"})
    translate(
        project,
        "my",
        "messages",
        {
            "By %(author)s": "ရေးသားသူ - %(author)s",
            "%(names)s and %(n)s other": ("%(names)s နှင့် အခြား %(n)s ဖွဲ့",),
        },
    )
    email = Renderer(project).render(localize(project, _issue(project), "my"))
    assert re.search(rf'<p class="meta" style="[^"]*">ရေးသားသူ - {ENGLISH}Org Two</span></p>', email.html)
    # Of four names the email shows two: the one left in English is marked, the count is not a name.
    assert f"ရေးသားသူ - အဖွဲ့ တစ်၊ {ENGLISH}Org Two</span> နှင့် အခြား ၂ ဖွဲ့</span>" in email.html
    assert re.search(r'<span style="[^"]*">ရေးသားသူ - အဖွဲ့ တစ်</span>', email.html)
    # The text part has no markup to hold a language.
    assert "ရေးသားသူ - Org Two\n" in email.text
    assert "ရေးသားသူ - အဖွဲ့ တစ်၊ Org Two နှင့် အခြား ၂ ဖွဲ့" in email.text and "<span" not in email.text
    english = Renderer(project).render(localize(project, _issue(project), "en"))
    assert "By Org One, Org Two and 2 others" in english.html and '<span lang="en"' not in english.html


REFUGEE_AID = "ဒုက္ခသည်ကူညီရေးအဖွဲ့"
"""An organization's name written in Burmese in an English issue, which no names catalog translates."""
BURMESE = (
    "<span lang=\"my\" style=\"font-family: 'Noto Sans Myanmar', 'Myanmar Text', 'Myanmar Sangam MN', "
    "'Myanmar MN', Pyidaungsu, Padauk, sans-serif;line-height: 1.8;font-size: 15px;\">"
)
"""A name written in Burmese in the English email: marked, and set in the Burmese fonts at Burmese's small size."""


def test_a_name_written_in_burmese_is_burmese_unmarked_in_the_burmese_email_and_marked_in_the_english(
    project: Project,
) -> None:
    issue_file = project.issues_dir / "2024-01-04.yaml"
    issue_file.write_text(
        f"author: {REFUGEE_AID}\n" + ISSUE.replace("by: [Org One, Org Two]", f"by: [Org One, {REFUGEE_AID}]"),
        encoding="utf-8",
    )
    settings = project.root / "broadsheet.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            'name = "Progressive Voice"', f'name = "{PUBLISHER_MY}"'
        ),
        encoding="utf-8",
    )
    project = find_project(project.root)
    burmese = Renderer(project).render(localize(project, _issue(project), "my")).html
    assert re.search(rf'<p class="meta" style="[^"]*">By {REFUGEE_AID}</p>', burmese)
    assert f"Org One</span>၊ {REFUGEE_AID}</span>" in burmese
    assert f"<strong>{PUBLISHER_MY}</strong>" in burmese
    assert (
        f'lang="en" style="font-family: Helvetica, Arial, sans-serif;line-height: 1.6;">{REFUGEE_AID}'
        not in burmese
    )
    english = Renderer(project).render(localize(project, _issue(project), "en")).html
    assert re.search(rf'<p class="meta" style="[^"]*">By {BURMESE}{REFUGEE_AID}</span></p>', english)
    assert f">By Org One, {BURMESE}{REFUGEE_AID}</span></span>" in english
    assert re.search(
        rf'<strong lang="my" style="font-family: \'Noto Sans Myanmar\'[^"]*">{PUBLISHER_MY}</strong>', english
    )


def test_a_name_written_in_burmese_is_nothing_missing_in_the_burmese_edition(project: Project, cli) -> None:
    """A name already in Burmese has nothing to translate into Burmese: it was counted untranslated in `names.po`,
    reported as "English shown", and the email told its readers part of it was in English."""
    test_a_fully_translated_edition_has_no_note(project)
    # Markup, links and footnotes kept, for the build's checks.
    content = {m.key: f"မြန်မာ {m.key}" for m in catalogs.issue_messages(_issue(project))}
    translate(project, "my", "issues/2024-01-04", content)
    issue_file = project.issues_dir / "2024-01-04.yaml"
    issue_file.write_text(
        f"author: {REFUGEE_AID}\n" + ISSUE.replace("by: [Org One, Org Two]", f"by: [Org One, {REFUGEE_AID}]"),
        encoding="utf-8",
    )
    edition = localize(project, _issue(project), "my")
    assert edition.diagnostics == ()
    assert not edition.fallback
    built = cli("build", "issues/2024-01-04.yaml", cwd=project.root)
    assert built.exit_code == 0, built.output
    assert built.stderr == ""
    html = (project.build_dir / "2024-01-04" / "my" / "email.html").read_text(encoding="utf-8")
    assert 'class="notice"' not in html
    assert re.search(rf'<p class="meta" style="[^"]*">[^<]* {REFUGEE_AID}</p>', html)


def test_a_name_written_in_burmese_is_spelled_as_the_burmese_names_catalog_has_it(project: Project) -> None:
    """A translator may still respell a Burmese name (a catalog written before it was left out holds it)."""
    issue_file = project.issues_dir / "2024-01-04.yaml"
    issue_file.write_text(
        ISSUE.replace("by: [Org One, Org Two]", f"by: [Org One, {REFUGEE_AID}]"), encoding="utf-8"
    )
    names = catalogs.catalog_path(project, "my", "names")
    names.write_text(
        names.read_text(encoding="utf-8") + f'\nmsgid "{REFUGEE_AID}"\nmsgstr "{PUBLISHER_MY}"\n',
        encoding="utf-8",
    )
    edition = localize(project, _issue(project), "my")
    assert edition.issue.resources[0].by == ("Org One", PUBLISHER_MY)
    # Counted with the names it translates, as `catalog status` counts it.
    assert (
        "issues/2024-01-04.yaml: warning: my: 2 of 3 messages in locales/my/LC_MESSAGES/names.po untranslated; "
        "English shown"
    ) in [str(d) for d in edition.diagnostics]


def test_the_postal_address_is_marked_english_in_the_burmese_email(project: Project) -> None:
    email = Renderer(project).render(localize(project, _issue(project), "my"))
    assert f"<br>{ENGLISH}P.O. Box 000, Chiang Mai 50200, Thailand</span><br>" in email.html
    assert "\nP.O. Box 000, Chiang Mai 50200, Thailand\n" in email.text
    english = Renderer(project).render(localize(project, _issue(project), "en"))
    assert "<br>P.O. Box 000, Chiang Mai 50200, Thailand<br>" in english.html


def test_fuzzy_translation_is_not_used(project: Project) -> None:
    translate(
        project,
        "my",
        "issues/2024-01-04",
        {"Third paragraph, plain.": "တတိယ စာပိုဒ်။"},
        fuzzy=frozenset({"Third paragraph, plain."}),
    )
    edition = localize(project, _issue(project), "my")
    assert "တတိယ" not in Renderer(project).render(edition).html


def test_build_prints_one_warning_per_catalog(project: Project, cli) -> None:
    interface = len(
        catalogs.interface_messages(project)
    )  # the email's, the web pages' and the settings' strings
    assert interface > 10
    result = cli("build", "issues/2024-01-04.yaml", cwd=project.root)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"issues/2024-01-04.yaml: warning: my: {interface} of {interface} messages in locales/my/LC_MESSAGES/messages.po untranslated; English shown",
        "issues/2024-01-04.yaml: warning: my: 3 of 3 messages in locales/my/LC_MESSAGES/names.po untranslated; English shown",
        "issues/2024-01-04.yaml: warning: my: 8 of 8 messages in locales/my/LC_MESSAGES/issues/2024-01-04.po untranslated; English shown",
    ]


def test_strict_build_refuses_fallback_and_writes_nothing(project: Project, cli) -> None:
    result = cli("build", "issues/2024-01-04.yaml", "--strict", cwd=project.root)
    assert result.exit_code == 1
    assert (
        "issues/2024-01-04.yaml: error: my: 8 of 8 messages in locales/my/LC_MESSAGES/issues/2024-01-04.po untranslated; --strict forbids falling back to English"
        in result.stderr.splitlines()
    )
    assert not project.build_dir.exists()
    english = cli("build", "issues/2024-01-04.yaml", "--strict", "--locale", "en", cwd=project.root)
    assert english.exit_code == 0


def test_a_catalog_not_made_yet_counts_everything_as_untranslated_and_says_what_makes_it(
    tmp_project: Project, cli
) -> None:
    (tmp_project.issues_dir / "2024-01-04.yaml").write_text(ISSUE, encoding="utf-8")
    edition = localize(tmp_project, _issue(tmp_project), "my")
    assert edition.issue.title == "The Year Ahead"
    assert edition.issue.title_lang == "en"
    result = cli("build", "issues/2024-01-04.yaml", cwd=tmp_project.root)
    assert result.exit_code == 0
    assert not (tmp_project.locales_dir / "my" / "LC_MESSAGES" / "issues" / "2024-01-04.po").exists()
    # Not "8 of 8 messages in ….po untranslated": there is no such file to open.
    assert (
        "issues/2024-01-04.yaml: warning: my: 8 of 8 messages untranslated: "
        "locales/my/LC_MESSAGES/issues/2024-01-04.po does not exist yet (run `broadsheet catalog extract`, "
        "then `broadsheet catalog update` to make it); English shown"
    ) in result.stderr.splitlines()


def test_a_paragraph_changed_after_its_translation_says_the_catalog_needs_updating(project: Project) -> None:
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": "တတိယ စာပိုဒ်။"})
    issue_file = project.issues_dir / "2024-01-04.yaml"
    issue_file.write_text(
        ISSUE.replace("Third paragraph, plain.", "Third paragraph, plainer."), encoding="utf-8"
    )
    edition = localize(project, _issue(project), "my")
    assert (
        "issues/2024-01-04.yaml: warning: my: 8 of 8 messages in locales/my/LC_MESSAGES/issues/2024-01-04.po "
        "untranslated (1 not in it: run `broadsheet catalog extract`, then `broadsheet catalog update`); English shown"
    ) in [str(d) for d in edition.diagnostics]


def test_a_translation_made_fuzzy_by_the_update_is_counted_as_a_draft(project: Project, cli) -> None:
    translate(project, "my", "issues/2024-01-04", {"Third paragraph, plain.": "တတိယ စာပိုဒ်။"})
    issue_file = project.issues_dir / "2024-01-04.yaml"
    issue_file.write_text(
        ISSUE.replace("Third paragraph, plain.", "Third paragraph, plainer."), encoding="utf-8"
    )
    for command in ("extract", "update"):
        assert cli("catalog", command, cwd=project.root).exit_code == 0
    catalog = (project.root / "locales/my/LC_MESSAGES/issues/2024-01-04.po").read_text(encoding="utf-8")
    assert '#, fuzzy\n#| msgid "Third paragraph, plain."\nmsgid "Third paragraph, plainer."' in catalog
    edition = localize(project, _issue(project), "my")
    assert (
        "issues/2024-01-04.yaml: warning: my: 8 of 8 messages in locales/my/LC_MESSAGES/issues/2024-01-04.po "
        "untranslated (1 marked fuzzy: drafts used once their translator removes the mark); English shown"
    ) in [str(d) for d in edition.diagnostics]
    assert "တတိယ" not in Renderer(project).render(edition).html


@pytest.mark.parametrize(
    "draft", ["\u200b", " ", " \u102c "], ids=["zero-width-space", "space", "vowel-sign"]
)
def test_a_fuzzy_translation_that_shows_no_text_is_not_counted_as_a_draft(
    project: Project, draft: str
) -> None:
    # Counted as a draft to be used once its translator removed the mark, which would have given no text.
    paragraph = "Third paragraph, plain."
    translate(project, "my", "issues/2024-01-04", {paragraph: draft}, fuzzy=frozenset({paragraph}))
    edition = localize(project, _issue(project), "my")
    assert (
        "issues/2024-01-04.yaml: warning: my: 8 of 8 messages in locales/my/LC_MESSAGES/issues/2024-01-04.po "
        "untranslated; English shown"
    ) in [str(d) for d in edition.diagnostics]


def test_a_region_without_catalogs_of_its_own_is_warned_of_its_languages(project: Project) -> None:
    settings = project.root / "broadsheet.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace('locales = ["en", "my"]', 'locales = ["en", "my_MM"]'),
        encoding="utf-8",
    )
    region = find_project(project.root)
    diagnostics = [str(d) for d in localize(region, _issue(region), "my_MM").diagnostics]
    assert diagnostics[0] == (
        "issues/2024-01-04.yaml: warning: my_MM: locales/my_MM/ has no catalogs, so the my_MM edition is in "
        "English; locales/my/ has the catalogs of 'my': write 'my' in `locales`, or copy locales/my/ to locales/my_MM/"
    )
    assert not any("has no catalogs" in str(d) for d in localize(project, _issue(project), "my").diagnostics)


def test_burmese_edition_uses_burmese_digits_for_dates_and_numbers(repo_project: Project) -> None:
    issue = read_issue(SAMPLE, repo_project.settings).issue
    assert issue is not None
    email = Renderer(repo_project).render(localize(repo_project, issue, "my"))
    assert "၂၀၂၃ ဒီဇင်ဘာ ၂၁" in email.html
    assert "၂၀၂၃ ဒီဇင်ဘာ ၂၁" in email.text
    assert "[၁]" in email.html  # footnote reference and footnote number
    assert re.search(r"ဖတ်ရှုချိန် [၀-၉]+ မိနစ်", email.text)
    assert not re.search(r"ဖတ်ရှုချိန် [0-9]", email.html)


def test_burmese_plural_has_one_form(project: Project) -> None:
    translate(project, "my", "messages", {"%(n)s minute read": ("ဖတ်ရှုချိန် %(n)s မိနစ်",)})
    catalog_text = catalogs.catalog_path(project, "my", "messages").read_text(encoding="utf-8")
    assert 'msgstr[0] "ဖတ်ရှုချိန် %(n)s မိနစ်"' in catalog_text
    assert "msgstr[1]" not in catalog_text
    edition = localize(project, _issue(project), "my")
    assert edition.interface.ngettext("%(n)s minute read", "%(n)s minute read", 1) == "ဖတ်ရှုချိန် %(n)s မိနစ်"
    assert edition.interface.ngettext("%(n)s minute read", "%(n)s minute read", 7) == "ဖတ်ရှုချိန် %(n)s မိနစ်"


@pytest.mark.parametrize("locale", ["fr", "es", "pt_BR", "it", "ca"])
def test_plural_forms_of_languages_whose_cldr_rules_read_the_exponent_are_gettext(locale: str) -> None:
    header = i18n.plural_forms(locale)
    plural = gettext.c2py(header.split("plural=", 1)[1].rstrip(";"))  # raised ValueError at `e`
    assert [plural(n) for n in (1, 2, 1_000_000)] == [0, 2, 1]  # "un million de": CLDR's "many"
    assert (
        i18n.Translations(locale).ngettext("%(n)s minute read", "%(n)s minutes read", 7)
        == "%(n)s minutes read"
    )


def test_burmese_edition_uses_burmese_fonts_and_line_heights(project: Project) -> None:
    translate(project, "my", "issues/2024-01-04", {"The Year Ahead": "ရှေ့ဆက်မည့် နှစ်"})
    email = Renderer(project).render(localize(project, _issue(project), "my"))
    body = re.search(r'<div style="font-family:([^;]*);font-size:(\d+)px;line-height:([0-9.]+);', email.html)
    assert body is not None
    assert "Noto Sans Myanmar" in body.group(1)
    assert int(body.group(2)) >= 16
    assert float(body.group(3)) >= 1.8
    h1 = re.search(r'<h1 style="[^"]*line-height: ([0-9.]+)', email.html)
    assert h1 is not None and float(h1.group(1)) >= 1.6


def test_burmese_titles_in_the_english_edition_get_burmese_type(project: Project) -> None:
    email = Renderer(project).render(localize(project, _issue(project), "en"))
    tag = re.search(r'<a href="https://example.org/r" lang="my" style="([^"]*)"', email.html)
    assert tag is not None
    assert "Noto Sans Myanmar" in tag.group(1)
    assert "line-height: 1.8" in tag.group(1)


def test_burmese_text_part_wraps_at_syllables(repo_project: Project) -> None:
    from broadsheet import burmese

    issue = read_issue(SAMPLE, repo_project.settings).issue
    assert issue is not None
    email = Renderer(repo_project).render(localize(repo_project, issue, "my"))
    for line in email.text.splitlines():
        if burmese.columns(line) > 72:
            units = line.split()
            assert len(units) == 1 and ("http" in units[0] or len(burmese.syllables(units[0])) == 1), line


def test_a_third_locale_needs_only_configuration_and_a_catalog(tmp_path: Path, cli) -> None:
    settings = (
        (REPO / "broadsheet.toml")
        .read_text(encoding="utf-8")
        .replace('locales = ["en", "my"]', 'locales = ["en", "my", "th"]')
    )
    (tmp_path / "broadsheet.toml").write_text(settings, encoding="utf-8")
    (tmp_path / "templates").symlink_to(REPO / "templates")
    (tmp_path / "issues").mkdir()
    (tmp_path / "issues" / "2024-01-04.yaml").write_text(ISSUE, encoding="utf-8")
    cli("catalog", "extract", cwd=tmp_path)
    result = cli("catalog", "update", "--locale", "th", cwd=tmp_path)
    assert "wrote locales/th/LC_MESSAGES/issues/2024-01-04.po" in result.stdout
    project = find_project(tmp_path)
    translate(project, "th", "messages", {"Resources from the past week": "แหล่งข้อมูลจากสัปดาห์ที่ผ่านมา"})
    translate(project, "th", "issues/2024-01-04", {"The Year Ahead": "ปีข้างหน้า"})
    built = cli("build", "issues/2024-01-04.yaml", "--locale", "th", cwd=tmp_path)
    assert built.exit_code == 0, built.output
    html = (tmp_path / "build" / "2024-01-04" / "th" / "email.html").read_text(encoding="utf-8")
    assert html.startswith('<!DOCTYPE html><html lang="th"')
    assert "<title>ปีข้างหน้า</title>" in html
    assert "แหล่งข้อมูลจากสัปดาห์ที่ผ่านมา" in html
    assert "4 มกราคม ค.ศ. 2024" in html  # Babel's Thai date, Thai digits not being Thailand's default
    assert '<a href="https://example.org/r" lang="my"' in html


def test_strict_refuses_no_edition_for_a_web_page_message_left_untranslated(project: Project) -> None:
    # The email shows no English, and has no note: `--strict` (and send_incomplete_translations = false) let it go.
    test_a_fully_translated_edition_has_no_note(project)
    translate(project, "my", "messages", {"Confirm my subscription": ""})
    edition = localize(project, _issue(project), "my", strict=True)
    assert not edition.fallback
    interface = len(catalogs.interface_messages(project))
    assert [str(d) for d in edition.diagnostics] == [
        f"issues/2024-01-04.yaml: warning: my: 1 of {interface} messages in locales/my/LC_MESSAGES/messages.po "
        "untranslated; English shown"
    ]


@pytest.mark.parametrize("marked", ["my", "my_MM"])
def test_a_title_in_the_edition_s_language_is_shown_as_written_whatever_its_region(
    project: Project, marked: str
) -> None:
    issue_file = project.issues_dir / "2024-01-04.yaml"
    issue_file.write_text(ISSUE.replace("      lang: my\n", f"      lang: {marked}\n"), encoding="utf-8")
    edition = localize(project, _issue(project), "my")
    (reports,) = [category for category in edition.issue.categories if category.key == "reports"]
    assert reports.resources[0].title == "မြန်မာ အစီရင်ခံစာ"
    assert reports.resources[0].lang is None  # not marked as another language in this edition
    # Nor counted as untranslated: the eight English texts are.
    assert "8 of 8 messages in locales/my/LC_MESSAGES/issues/2024-01-04.po" in " ".join(
        str(d) for d in edition.diagnostics
    )


PLURAL = '#, python-format\nmsgid "%(n)s minute read"\nmsgid_plural "%(n)s minute read"\nmsgstr[0] ""\n'


def test_a_plural_translation_is_judged_by_the_forms_of_its_language_not_by_the_catalog_s_header(
    project: Project, cli
) -> None:
    # `pybabel init -l my`, and Poedit and Weblate after it, write nplurals=2 for Burmese: the translator fills
    # msgstr[0] and leaves msgstr[1], which Burmese (one form) never uses. It was counted untranslated, English shown.
    path = catalogs.catalog_path(project, "my", "messages")
    text = path.read_text(encoding="utf-8")
    assert PLURAL in text
    path.write_text(
        text.replace("nplurals=1; plural=0;", "nplurals=2; plural=(n != 1);").replace(
            PLURAL, PLURAL.replace('msgstr[0] ""', 'msgstr[0] "ဖတ်ရှုချိန် %(n)s မိနစ်"\nmsgstr[1] ""')
        ),
        encoding="utf-8",
    )
    edition = localize(project, _issue(project), "my")
    for n in (1, 7):
        assert edition.interface.ngettext("%(n)s minute read", "%(n)s minute read", n) == "ဖတ်ရှုချိန် %(n)s မိနစ်"
    interface = len(catalogs.interface_messages(project))
    assert (
        f"my: {interface - 1} of {interface} messages in locales/my/LC_MESSAGES/messages.po untranslated"
        in str(edition.diagnostics)
    )
    status = json.loads(cli("catalog", "status", "--json", cwd=project.root).stdout)
    assert status[0]["messages"]["translated"] == 1

    # A language of two forms (French) whose catalog has only msgstr[0], under a header of one form: its plural
    # was English, unreported. It is untranslated, English in both forms, as status counts it.
    path = project.locales_dir / "fr" / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    path.write_text(
        text.replace("Language: my", "Language: fr").replace(
            PLURAL, PLURAL.replace('msgstr[0] ""', 'msgstr[0] "%(n)s minute de lecture"')
        ),
        encoding="utf-8",
    )
    assert i18n.load_lookup(path, "fr").get("%(n)s minute read") is None
    french = i18n.translations(path, "fr")
    assert french.ngettext("%(n)s minute read", "%(n)s minutes read", 1) == "%(n)s minute read"
    assert french.ngettext("%(n)s minute read", "%(n)s minutes read", 7) == "%(n)s minutes read"


def test_an_interface_message_left_untranslated_is_shown_in_english_and_reported_but_not_marked(
    sample_project: Project, cli
) -> None:
    # What docs/translating.md says of it: the issue's text and names left in English are marked, an interface message is
    # not yet (`_` cannot tell an element's text from an attribute's, a <title>'s or a subject's).
    catalog = sample_project.locales_dir / "my" / "LC_MESSAGES" / "messages.po"
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace('msgstr "ဤအီးမေးလ်ကို ဘရောက်ဇာတွင် ကြည့်ရှုရန်"', 'msgstr ""'),
        encoding="utf-8",
    )
    result = cli("build", "issues/2023-12-21.yaml", "--locale", "my", cwd=sample_project.root)
    assert result.exit_code == 0, result.output
    assert "locales/my/LC_MESSAGES/messages.po untranslated; English shown" in result.stderr
    email = (sample_project.root / "build" / "2023-12-21" / "my" / "email.html").read_text(encoding="utf-8")
    assert re.search(r'/my/2023-12-21/" style="[^"]*">View this email in your browser</a>', email)
