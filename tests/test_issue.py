"""Reading an issue file: a valid one becomes an `Issue`; anything else, every error with its place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import msgspec.structs
import pytest

from broadsheet import markdown
from broadsheet.issue import Reading, read_issue
from broadsheet.model import Category, Footnote, Paragraph, Resource
from broadsheet.settings import Project

from .support import REPO, SAMPLE

FILE = "issues/2023-12-21.yaml"


@pytest.fixture
def read(write_issue: Callable[[str], Path], tmp_project: Project) -> Callable[[str], Reading]:
    """Write dedented YAML as issues/2023-12-21.yaml of a copy of the project and read it."""

    def run(text: str) -> Reading:
        return read_issue(write_issue(text), tmp_project.settings, display=FILE)

    return run


@pytest.fixture
def findings(read: Callable[[str], Reading]) -> Callable[[str], list[str]]:
    """Every diagnostic of the issue written from YAML, as `check` prints it."""

    def run(text: str) -> list[str]:
        reading = read(text)
        if reading.errors:
            assert reading.issue is None
        return [str(d) for d in reading.diagnostics]

    return run


# -- A valid issue becomes the model ---------------------------------------------


def test_minimal_issue_is_read_without_findings(read: Callable[[str], Reading], tmp_project: Project) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: A Year of Tragedy and Hope
        editorial: |
          Hello.
        resources:
          reports:
            - title: R
              url: https://example.org/r
              by: Org
        """
    )
    assert reading.diagnostics == ()
    issue = reading.issue
    assert issue is not None
    assert (issue.source, issue.date, issue.title, issue.title_line) == (
        FILE,
        date(2023, 12, 21),
        "A Year of Tragedy and Hope",
        2,
    )
    assert (issue.summary, issue.summary_line, issue.image, issue.footnotes) == ("", 0, None, ())
    assert issue.locale == tmp_project.settings.source_locale == "en"
    assert issue.paragraphs == (Paragraph("Hello.", 4),)
    assert issue.categories == (
        Category(
            "reports",
            "Reports and Publications",
            (Resource("R", "https://example.org/r", ("Org",), None, 7),),
        ),
    )


def test_paragraph_lines_point_at_their_lines_in_the_yaml(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        editorial: |
          The first paragraph.

          Second paragraph,
          on two lines.


          - a list item
          - another
        resources:
          reports: []
        """
    )
    assert reading.issue is not None
    assert reading.issue.paragraphs == (
        Paragraph("The first paragraph.", 4),
        Paragraph("Second paragraph,\non two lines.", 6),
        Paragraph("- a list item\n- another", 10),
    )


def test_footnotes_are_numbered_by_first_reference_not_by_definition(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        editorial: |
          Cited first.[^b]

          Then the other.[^a] And the first again.[^b]
        footnotes:
          a: Note A.
          b: "Note B, with a [link](https://example.org/b)."
        resources:
          reports: []
        """
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.footnotes == (
        Footnote("b", 1, "Note B, with a [link](https://example.org/b).", 9),
        Footnote("a", 2, "Note A.", 8),
    )
    assert reading.issue.footnote_numbers == {"b": 1, "a": 2}


def test_by_as_one_string_becomes_a_one_tuple_and_a_list_a_tuple(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        resources:
          statements:
            - title: One
              url: https://example.org/1
              by: Human Rights Watch
            - title: Two
              url: https://example.org/2
              by: [Progressive Voice, Fortify Rights]
              lang: my
        """
    )
    assert reading.issue is not None
    assert reading.issue.resources == (
        Resource("One", "https://example.org/1", ("Human Rights Watch",), None, 6),
        Resource("Two", "https://example.org/2", ("Progressive Voice", "Fortify Rights"), "my", 9),
    )


def test_numbers_where_text_belongs_are_read_as_text(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: 2024
        editorial: Hello [^1].
        footnotes:
          1: 1.5
        resources:
          reports:
            - title: 1984
              url: https://example.org/1984
              by: [88, Progressive Voice]
        """
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.title == "2024"
    assert reading.issue.footnotes[0].markdown == "1.5"
    assert reading.issue.resources == (
        Resource("1984", "https://example.org/1984", ("88", "Progressive Voice"), None, 8),
    )


def test_numbers_where_text_belongs_keep_their_spelling(read: Callable[[str], Reading]) -> None:
    # YAML 1.1 reads these as 1.1, 8, 750 (base 60) and 31.
    reading = read(
        """
        date: 2023-12-21
        title: 1.10
        author: 010
        editorial: Hello [^1].
        footnotes:
          1: 12:30
        resources:
          reports:
            - title: 0x1F
              url: https://example.org/1
              by: 1.50
        """
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert (reading.issue.title, reading.issue.author) == ("1.10", "010")
    assert reading.issue.footnotes[0].markdown == "12:30"
    assert (reading.issue.resources[0].title, reading.issue.resources[0].by) == ("0x1F", ("1.50",))


def test_yes_and_no_where_text_belongs_are_the_words_written(read: Callable[[str], Reading]) -> None:
    # YAML 1.1 reads these as true and false: a title "No", an organization "ON", Norwegian's code.
    reading = read(
        """
        date: 2023-12-21
        title: No
        author: On
        editorial: Yes.
        resources:
          reports:
            - title: Off
              url: https://example.org/1
              by: [Yes, NO]
              lang: no
        """
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert (reading.issue.title, reading.issue.author) == ("No", "On")
    resource = reading.issue.resources[0]
    assert (resource.title, resource.by, resource.lang) == ("Off", ("Yes", "NO"), "no")


def test_author_defaults_to_the_settings_default_author(
    read: Callable[[str], Reading], tmp_project: Project
) -> None:
    reading = read("date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources: {}\n")
    assert reading.issue is not None
    assert tmp_project.settings.default_author == "Progressive Voice"
    assert reading.issue.author == "Progressive Voice"


def test_author_left_empty_also_takes_the_default(read: Callable[[str], Reading]) -> None:
    reading = read("date: 2023-12-21\ntitle: T\nauthor:\neditorial: Hello.\nresources: {}\n")
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.author == "Progressive Voice"


def test_author_given_is_kept(read: Callable[[str], Reading]) -> None:
    reading = read("date: 2023-12-21\ntitle: T\nauthor: Daw Khin\neditorial: Hello.\nresources: {}\n")
    assert reading.issue is not None
    assert reading.issue.author == "Daw Khin"


def test_categories_keep_file_order_and_take_labels_from_settings(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        resources:
          reports:
            - {title: R, url: "https://example.org/r", by: A}
          statements:
            - {title: S, url: "https://example.org/s", by: B}
        """
    )
    assert reading.issue is not None
    assert [(c.key, c.label, [r.title for r in c.resources]) for c in reading.issue.categories] == [
        ("reports", "Reports and Publications", ["R"]),
        ("statements", "Statements and Press Releases", ["S"]),
    ]


def test_summary_and_image_are_read_with_their_lines(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        summary: >-
          A standfirst
          on two lines.
        image:
          src: https://example.org/i.jpg
          alt: Families walking along a forest path.
        editorial: Hello.
        resources: {}
        """
    )
    assert reading.issue is not None
    assert (reading.issue.summary, reading.issue.summary_line) == ("A standfirst on two lines.", 4)
    image = reading.issue.image
    assert image is not None
    assert (image.src, image.alt, image.alt_line) == (
        "https://example.org/i.jpg",
        "Families walking along a forest path.",
        8,
    )


def test_sample_issue_reads_without_findings(repo_project: Project) -> None:
    reading = read_issue(SAMPLE, repo_project.settings)
    assert reading.diagnostics == ()
    issue = reading.issue
    assert issue is not None
    assert issue.date == date(2023, 12, 21)
    assert len(issue.paragraphs) == 10
    assert [(note.label, note.number) for note in issue.footnotes] == [("1", 1)]
    assert len(issue.resources) >= 15
    assert [r.lang for r in issue.resources if r.lang] == ["my", "my"]
    assert [c.key for c in issue.categories] == ["statements", "reports"]


def test_byte_order_mark_at_the_start_is_accepted(
    write_issue: Callable[[str], Path], tmp_project: Project
) -> None:
    path = write_issue("")
    path.write_bytes(b"\xef\xbb\xbf" + b"date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources: {}\n")
    reading = read_issue(path, tmp_project.settings)
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.date == date(2023, 12, 21)


def test_diagnostics_name_the_file_as_given_by_default(
    write_issue: Callable[[str], Path], tmp_project: Project
) -> None:
    path = write_issue("date: 2023-12-21\n")
    reading = read_issue(path, tmp_project.settings)
    assert [str(d) for d in reading.diagnostics] == [
        f"{path}:1:1: error: editorial: required field is missing",
        f"{path}:1:1: error: resources: required field is missing",
        f"{path}:1:1: error: title: required field is missing",
    ]


# -- Files that are not YAML, or not a mapping ---------------------------------------


def test_malformed_yaml_is_one_error_where_the_parser_stopped(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\ntitle: [unclosed\neditorial: x\n") == [
        f"{FILE}:3:10: error: not valid YAML: while parsing a flow sequence expected ',' or ']', but got ':'"
    ]


def test_a_quote_left_open_is_an_error_where_it_opened(findings: Callable[[str], list[str]]) -> None:
    # The parser stumbles where a later quote closes it: `expected <block end>, but found '<scalar>'` on line 5.
    assert findings(
        'date: 2023-12-21\ntitle: "Myanmar: A Year On\neditorial: Text.\nresources:\n  reports: ["x"]\n'
    ) == [
        f"{FILE}:2:8: error: not valid YAML: the quote opened here is closed only on line 5, where what follows "
        "it cannot be read: close it where the value ends"
    ]
    assert findings('date: 2023-12-21\neditorial: Text.\nresources: {}\ntitle: "Myanmar: A Year On\n') == [
        f"{FILE}:4:8: error: not valid YAML: the quote opened here is never closed: close it where the value ends"
    ]


def test_a_quote_inside_a_quoted_value_is_an_error_saying_how_to_write_it(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings("date: 2023-12-21\ntitle: 'Myanmar's Junta'\neditorial: Text.\nresources: {}\n") == [
        f"{FILE}:2:8: error: not valid YAML: the quote opened here is closed before the value ends, at column "
        "16: write a ' inside it as ''"
    ]
    assert findings('date: 2023-12-21\ntitle: "Say "No""\neditorial: Text.\nresources: {}\n') == [
        f"{FILE}:2:8: error: not valid YAML: the quote opened here is closed before the value ends, at column "
        '13: write a " inside it as \\"'
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "title: Myanmar: A Year On",
            "(YAML reads the ': ' in it as the start of another field); put it in quotes: "
            'title: "Myanmar: A Year On"',
        ),
        (
            'title: "Nowhere Is Safe" Military Airstrikes',
            "(YAML takes the quoted part at its start for the whole value); put it in quotes: "
            "title: '\"Nowhere Is Safe\" Military Airstrikes'",
        ),
        (
            "title: [Joint] Statement",
            "(YAML reads a value starting with '[' as a list); put it in quotes: "
            'title: "[Joint] Statement"',
        ),
        (
            "title: @UN_Myanmar Speaks",
            "(YAML reads '@' at the start of a value as its own sign); put it in quotes: "
            'title: "@UN_Myanmar Speaks"',
        ),
        (
            "title: - Weekly Update -",
            "(YAML reads '-' at the start of a value as its own sign); put it in quotes: "
            'title: "- Weekly Update -"',
        ),
    ],
)
def test_a_value_yaml_reads_only_in_quotes_is_an_error_at_it_giving_the_line_to_write(
    findings: Callable[[str], list[str]], line: str, message: str
) -> None:
    assert findings(f"date: 2023-12-21\n{line}\neditorial: Text.\nresources: {{}}\n") == [
        f"{FILE}:2:8: error: not valid YAML: the value of 'title' cannot be read as written {message}"
    ]


def test_a_footnote_or_resource_yaml_reads_only_in_quotes_is_named_by_its_key(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Text.[^1]\nfootnotes:\n  1: OCHA, Myanmar: Update No. 34\n"
        "resources: {}\n"
    ) == [
        f"{FILE}:5:6: error: not valid YAML: the value of '1' cannot be read as written (YAML reads the ': ' in "
        'it as the start of another field); put it in quotes: 1: "OCHA, Myanmar: Update No. 34"'
    ]
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Text.\nresources:\n  reports:\n"
        "    - title: Q&A: The Junta's Trials\n      url: https://example.org/qa\n      by: Org\n"
    ) == [
        f"{FILE}:6:14: error: not valid YAML: the value of 'title' cannot be read as written (YAML reads the ': ' "
        'in it as the start of another field); put it in quotes: title: "Q&A: The Junta\'s Trials"'
    ]


def test_yaml_that_quotes_would_not_mend_keeps_the_parsers_words(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Text.\nresources:\n  reports:\n    - title: A\n"
        "     url: https://example.org/a\n"
    ) == [
        f"{FILE}:7:6: error: not valid YAML: while parsing a block collection expected <block end>, but found "
        "'<block mapping start>'"
    ]


def test_text_yaml_takes_for_a_comment_is_an_error_giving_the_line_to_write(
    findings: Callable[[str], list[str]],
) -> None:
    # ` #` starts a YAML comment: unquoted, the title would be 'Daily Briefing', the hashtag and number dropped.
    assert findings(
        """
        date: 2023-12-21
        title: Daily Briefing #432
        author: #PVamplifyvoices
        editorial: Text.
        resources:
          reports:
            - title: Stand with #WhatsHappeningInMyanmar
              url: https://example.org/a
              by:
                - Org #2
        """
    ) == [
        f"{FILE}:2:8: error: title: YAML reads '#432' as a comment, not as text, and leaves it out: a '#' after a "
        'space starts one; put the whole value in quotes to keep it: title: "Daily Briefing #432"',
        f"{FILE}:3:8: error: author: YAML reads '#PVamplifyvoices' as a comment, not as text, and leaves it out: "
        "a '#' after a space starts one; put the whole value in quotes to keep it: "
        'author: "#PVamplifyvoices"',
        f"{FILE}:7:14: error: resources.reports[0].title: YAML reads '#WhatsHappeningInMyanmar' as a comment, not "
        "as text, and leaves it out: a '#' after a space starts one; put the whole value in quotes to keep it: "
        'title: "Stand with #WhatsHappeningInMyanmar"',
        f"{FILE}:10:11: error: resources.reports[0].by[0]: YAML reads '#2' as a comment, not as text, and leaves "
        "it out: a '#' after a space starts one; put the whole value in quotes to keep it: - \"Org #2\"",
    ]


def test_a_comment_written_after_a_value_is_let_be(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21  # Thursday
        title: "Daily Briefing #432"  #  quoted, so the number is kept
        editorial: Text.
        resources:  # none this week
          reports:  #none
          statements:
            - title: Briefing  # a comment
              url: https://example.org/a#part-2
              by: Org
        """
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.title == "Daily Briefing #432"
    assert reading.issue.resources[0].url == "https://example.org/a#part-2"


def test_a_hashtag_starting_a_line_of_an_unquoted_value_is_an_error_saying_to_write_a_block(
    findings: Callable[[str], list[str]],
) -> None:
    # YAML ends the value at the line: the summary would be 'A week of news', the hashtag line dropped unsaid.
    message = (
        "YAML reads '#WhatsHappeningInMyanmar and more' as a comment, not as text, and leaves it out: a '#' that "
        "starts a line of an unquoted value starts one; write the value as a block to keep it, 'summary: >-' and "
        "its lines under it (or put the whole value in quotes)"
    )
    text = "date: 2023-12-21\ntitle: T\nsummary: A week of news\n  #WhatsHappeningInMyanmar and more\n{}editorial: x\n"
    assert findings(text.format("") + "resources: {}\n") == [f"{FILE}:4:3: error: summary: {message}"]
    # A line after it: the parser stumbles there, 'expected <block end>, but found '<scalar>''.
    assert findings(text.format("  and the end.\n") + "resources: {}\n") == [f"{FILE}:4:3: error: {message}"]


def test_a_comment_line_under_a_value_is_let_be(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        summary: A week of news
          # to be shortened
        editorial: Text.
        #notes
        resources: {}
        """
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.summary == "A week of news"


def test_an_anchor_or_a_tag_starting_an_unquoted_value_is_an_error_giving_the_line_to_write(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: &Breaking the Silence
        author: !important news
        editorial: Text.
        resources: {}
        """
    ) == [
        f"{FILE}:2:8: error: title: YAML reads '&Breaking' at the start of a value as a name for it (an anchor), "
        'not as text, and leaves it out; put the whole value in quotes to keep it: title: "&Breaking the Silence"',
        f"{FILE}:3:9: error: author: YAML reads '!important' at the start of a value as a tag (the value's type), "
        'not as text; put the whole value in quotes to keep it: author: "!important news"',
    ]


def test_an_anchor_an_alias_repeats_is_let_be(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        editorial: Text.
        resources:
          reports:
            - {title: A, url: "https://example.org/a", by: &pv Progressive Voice}
            - {title: B, url: "https://example.org/b", by: *pv}
        """
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert [r.by for r in reading.issue.resources] == [("Progressive Voice",), ("Progressive Voice",)]


def test_a_hash_in_a_name_of_a_list_in_brackets_is_an_error_there_giving_the_line_to_write(
    findings: Callable[[str], list[str]],
) -> None:
    # YAML reads '#1, Org]' as a comment, and says only that the list is never closed, on the line after.
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: Text.
        resources:
          reports:
            - title: R
              url: https://example.org/r
              by: [Org #1, Org]
              lang: my
        """
    ) == [
        f"{FILE}:8:12: error: YAML reads '#1, Org]' as a comment, not as text, and leaves it out, the closing "
        "']' too: a '#' after a space starts one; put the text in quotes to keep it: by: [\"Org #1\", Org]"
    ]


def test_a_line_of_a_block_indented_less_than_the_block_is_an_error_at_it_saying_how_far_to_indent(
    findings: Callable[[str], list[str]],
) -> None:
    # The parser said 'expected <block end>, but found '<scalar>'' there, or 'could not find expected ':'' below.
    message = (
        "not valid YAML: this line is indented less than the lines above it in the block '{}' ({} spaces), so "
        "YAML ends the block before it; indent it by {} spaces, as they are"
    )
    editorial = (
        "date: 2023-12-21\ntitle: T\neditorial: |\n  First.\n\n{}Second.\n\n  Third.\nresources: {{}}\n"
    )
    assert findings(editorial.format(" ")) == [f"{FILE}:6:2: error: {message.format('editorial: |', 2, 2)}"]
    assert findings(editorial.format("")) == [f"{FILE}:6:1: error: {message.format('editorial: |', 2, 2)}"]
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: x
        resources:
          reports:
            - title: A
              url: https://example.org/a
              by: >-
                Org A and
              Org B
        """
    ) == [f"{FILE}:10:7: error: {message.format('by: >-', 8, 8)}"]


@pytest.mark.parametrize("indent", [3, 5])
def test_an_item_of_a_list_indented_otherwise_than_the_one_above_is_an_error_at_it(
    findings: Callable[[str], list[str]], indent: int
) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: x\nresources:\n  reports:\n"
        "    - title: A\n      url: https://example.org/a\n\n"
        f"{' ' * indent}- title: B\n      url: https://example.org/b\n"
    ) == [
        f"{FILE}:9:{indent + 1}: error: not valid YAML: this item is indented {indent} spaces, the item above it "
        "(line 6) 4; indent it by 4 spaces, as it is"
    ]


def test_tab_indentation_is_an_error_on_its_line(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\nresources:\n\treports: []\n  \tstatements: []\n") == [
        f"{FILE}:3:1: error: tab characters cannot indent YAML; use spaces",
        f"{FILE}:4:3: error: tab characters cannot indent YAML; use spaces",
    ]


def test_a_space_pasted_from_a_web_page_in_the_indentation_is_an_error_where_it_breaks_or_joins(
    findings: Callable[[str], list[str]],
) -> None:
    # A line of no-break spaces between two paragraphs looks blank; Markdown joined the two into one. One before
    # a resource ended the block: the parser stumbled lines below.
    blank = (
        "a no-break space (U+00A0) in the indentation, as text pasted from a web page or a word processor "
        "carries: YAML indents with spaces only, and Markdown takes a line of it for text, not for the blank "
        "line between paragraphs; replace it with a space"
    )
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  First.\n  \u00a0\n  Second.\n"
        "resources:\n  reports:\n    - title: R\n      url: https://example.org/r\n"
    ) == [f"{FILE}:5:3: error: {blank}"]
    broken = findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  First.\n"
        "resources:\n  reports:\n\u00a0\u00a0- title: R\n    url: https://example.org/r\n"
    )
    assert broken[0] == (
        f"{FILE}:7:1: error: a no-break space (U+00A0) in the indentation, as text pasted from a web page or a "
        "word processor carries: YAML indents with spaces only; replace it with a space"
    )
    assert all(": error: " in found for found in broken)


def test_a_space_pasted_before_a_line_of_text_in_a_block_is_a_warning(
    findings: Callable[[str], list[str]], read: Callable[[str], Reading]
) -> None:
    # Inside the editorial it is text, shown before the line's words: the issue builds, and the editor is told.
    text = "date: 2023-12-21\ntitle: T\neditorial: |\n  \u3000Indented.\n\n  \u00a0Second.\nresources: {}\n"
    said = (
        "begins this line, as text pasted from a web page or a word processor carries: the email shows it as a "
        "space before the text; remove it unless it was meant"
    )
    assert findings(text) == [
        f"{FILE}:4:3: warning: an ideographic space (U+3000) {said}",
        f"{FILE}:6:3: warning: a no-break space (U+00A0) {said}",
    ]
    assert read(text).issue is not None


def test_non_utf8_bytes_are_an_error_at_the_byte(
    write_issue: Callable[[str], Path], tmp_project: Project
) -> None:
    path = write_issue("")
    path.write_bytes(b"date: 2023-12-21\ntitle: Caf\xe9 news\n")
    reading = read_issue(path, tmp_project.settings, display=FILE)
    assert reading.issue is None
    assert [str(d) for d in reading.diagnostics] == [
        f"{FILE}:2:11: error: not UTF-8 text: byte 0xE9 cannot be decoded; save the file as UTF-8"
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_an_issue_in_utf16_is_named_so(
    write_issue: Callable[[str], Path], tmp_project: Project, encoding: str
) -> None:
    """As Windows Notepad saves "Unicode": 'byte 0xFF cannot be decoded' does not say what to do."""
    path = write_issue("")
    path.write_bytes(
        ("\ufeff" if encoding == "utf-16-be" else "").encode(encoding) + "date: 2023-12-21\n".encode(encoding)
    )
    reading = read_issue(path, tmp_project.settings, display=FILE)
    assert reading.issue is None
    assert [str(d) for d in reading.diagnostics] == [
        f"{FILE}:1:1: error: UTF-16 text, not UTF-8; save the file as UTF-8"
    ]


def test_control_character_in_the_file_is_an_error_at_it(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\ntitle: Bell\x07\n") == [
        f"{FILE}:2:12: error: not valid YAML: character U+0007 is not allowed (control characters cannot appear in YAML); remove it"
    ]


def test_empty_file_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings("") == [
        f"{FILE}:1:1: error: the file is empty; an issue needs at least date, title, editorial and resources"
    ]


def test_file_of_only_comments_is_empty(findings: Callable[[str], list[str]]) -> None:
    assert findings("# to do\n\n") == [
        f"{FILE}:1:1: error: the file is empty; an issue needs at least date, title, editorial and resources"
    ]


def test_list_instead_of_a_mapping_of_fields_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings("- date: 2023-12-21\n- title: T\n") == [
        f"{FILE}:1:1: error: Expected a mapping of fields (date, title, ...) but received: a list"
    ]


def test_a_file_of_one_value_with_a_hashtag_or_an_anchor_is_no_mapping_not_a_traceback(
    findings: Callable[[str], list[str]],
) -> None:
    for text, value in (("Daily Briefing #432\n", "Daily Briefing"), ("&anchor rest\n", "rest")):
        assert findings(text) == [
            f"{FILE}:1:1: error: Expected a mapping of fields (date, title, ...) but received: {value!r}"
        ]


def test_second_document_in_the_file_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\n---\ntitle: T\n") == [
        f"{FILE}:2:1: error: not valid YAML: expected a single document in the stream but found another document"
    ]


def test_duplicate_key_is_an_error_naming_the_first_line(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: First
        editorial: Hello.
        resources:
          reports: []
          reports: []
        title: Second
        """
    ) == [
        f"{FILE}:6:3: error: resources.reports: 'reports' is given twice (first on line 5)",
        f"{FILE}:7:1: error: title: 'title' is given twice (first on line 2)",
    ]


def test_alias_bomb_is_one_error_not_a_billion_values(findings: Callable[[str], list[str]]) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    assert findings("\n".join(lines) + "\n") == [
        f"{FILE}:1:32: error: the file has more than 50000 values (too many aliases?)"
    ]


def test_deep_nesting_is_one_error(findings: Callable[[str], list[str]]) -> None:
    assert findings("title: " + "[" * 5000 + "]" * 5000 + "\n") == [
        f"{FILE}:1:1: error: the file is nested too deeply to be an issue"
    ]


def test_key_that_is_a_list_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\n? [title]\n: T\neditorial: Hello.\nresources: {}\n") == [
        f"{FILE}:1:1: error: title: required field is missing",
        f"{FILE}:2:3: error: keys must be plain names, not lists or mappings",
    ]


def test_key_with_a_control_character_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings('date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources: {}\n"auth\\ror": X\n') == [
        f"{FILE}:5:1: error: the key 'auth\\ror' contains a line break or control character; keys are plain names"
    ]


def test_value_that_cannot_be_read_as_its_tag_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\ntitle: !!int abc\neditorial: !!bool maybe\nresources: {}\n") == [
        f"{FILE}:2:8: error: title: cannot read value: 'abc' is not a valid !!int",
        f"{FILE}:3:12: error: editorial: cannot read value: 'maybe' is not a valid !!bool",
    ]


# -- Fields: types, required, unknown ----------------------------------------------


def test_wrong_types_are_each_reported_at_their_value(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: [A, B]
        editorial: {text: Hello}
        footnotes: [a]
        resources:
          reports:
            - title: R
              url: https://example.org/r
              by: {name: Org}
        """
    ) == [
        f"{FILE}:2:8: error: title: Expected a string but received: a list",
        f"{FILE}:3:12: error: editorial: Expected a string but received: a mapping",
        f"{FILE}:4:12: error: footnotes: Expected a mapping but received: a list",
        f"{FILE}:9:11: error: resources.reports[0].by: Expected an organization name or a list of them but received: a mapping",
    ]


def test_list_where_a_mapping_belongs_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        image: [https://example.org/i.jpg, Alt]
        resources:
          - reports: []
        """
    ) == [
        f"{FILE}:4:8: error: image: Expected a mapping but received: a list",
        f"{FILE}:6:3: error: resources: Expected a mapping but received: a list",
    ]


def test_text_where_a_resource_belongs_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n    - https://example.org/r\n"
    ) == [
        f"{FILE}:6:7: error: resources.reports[0]: Expected a mapping but received: 'https://example.org/r'"
    ]


def test_missing_required_fields_are_each_reported(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        """
        title: T
        resources:
          reports:
            - by: Org
        """
    ) == [
        f"{FILE}:1:1: error: date: required field is missing",
        f"{FILE}:1:1: error: editorial: required field is missing",
        f"{FILE}:4:7: error: resources.reports[0].title: required field is missing",
        f"{FILE}:4:7: error: resources.reports[0].url: required field is missing",
    ]


def test_empty_title_and_editorial_are_errors(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\ntitle:\neditorial: '  '\nresources: {}\n") == [
        f"{FILE}:2:7: error: title: must not be empty",
        f"{FILE}:3:12: error: editorial: must not be empty",
    ]


def test_unknown_key_is_an_error_suggesting_the_closest_field(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\ntitle: T\nsummery: S\neditorial: Hello.\nresources: {}\n") == [
        f"{FILE}:3:1: error: summery: unknown field 'summery'; did you mean 'summary'?"
    ]


def test_unknown_resource_key_suggests_a_resource_field(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        resources:
          reports:
            - title: R
              url: https://example.org/r
              by: Org
              language: my
              author: Someone
        """
    ) == [
        f"{FILE}:9:7: error: resources.reports[0].language: unknown field 'language'; did you mean 'lang'?",
        f"{FILE}:10:7: error: resources.reports[0].author: unknown field 'author'",
    ]


def test_a_field_written_in_capitals_suggests_the_field(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n"
        "    - title: R\n      URL: https://example.org/r\n      url: https://example.org/r\n      By: Org\n"
    ) == [
        f"{FILE}:6:7: warning: resources.reports[0]: resource has no 'by': readers will not see who published it",
        f"{FILE}:7:7: error: resources.reports[0].URL: unknown field 'URL'; did you mean 'url'?",
        f"{FILE}:9:7: error: resources.reports[0].By: unknown field 'By'; did you mean 'by'?",
    ]


def test_unknown_image_key_suggests_an_image_field(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nimage:\n  src: https://example.org/i.jpg\n  alt: A\n  salt: B\nresources: {}\n"
    ) == [f"{FILE}:7:3: error: image.salt: unknown field 'salt'; did you mean 'alt'?"]


def test_unknown_language_code_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n    - {title: R, url: 'https://example.org/r', by: O, lang: xx-nope}\n"
    ) == [
        f"{FILE}:6:61: error: resources.reports[0].lang: Expected a language code such as 'en' or 'my' but received: 'xx-nope'"
    ]


def test_a_language_written_by_its_name_is_an_error_giving_its_code(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n    - {title: R, url: 'https://example.org/r', by: O, lang: Burmese}\n"
    ) == [
        f"{FILE}:6:61: error: resources.reports[0].lang: Expected a language code such as 'en' or 'my' but received: 'Burmese'; write 'my'"
    ]


# -- Dates ---------------------------------------------------------------------------


def test_impossible_date_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-02-30\ntitle: T\neditorial: Hello.\nresources: {}\n") == [
        f"{FILE}:1:7: error: date: Expected a date (YYYY-MM-DD) but received: '2023-02-30' (day is out of range for month)"
    ]


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("21 December 2023", "; write 2023-12-21"),
        ("December 21, 2023", "; write 2023-12-21"),
        ("Thursday, 21st Dec. 2023", "; write 2023-12-21"),
        ("21/12/2023", "; write 2023-12-21"),
        ("12/21/2023", "; write 2023-12-21"),
        ("05/12/2023", "; write 2023-12-05 or 2023-05-12, whichever day it is"),
        ("2023/12/21", "; write 2023-12-21"),
        ("2023-12-1", "; write 2023-12-01"),
        ("၂၀၂၃-၁၂-၂၁", "; write 2023-12-21"),
        ("“2023-12-21”", "; write 2023-12-21"),
        ("31/02/2023", ""),
        ("next Thursday", ""),
    ],
)
def test_date_written_another_way_is_an_error_giving_the_date_to_write(
    findings: Callable[[str], list[str]], written: str, hint: str
) -> None:
    assert findings(f"date: {written}\ntitle: T\neditorial: Hello.\nresources: {{}}\n") == [
        f"{FILE}:1:7: error: date: Expected a date (YYYY-MM-DD) but received: {written!r}{hint}"
    ]


def test_date_with_a_time_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21 09:00:00\ntitle: T\neditorial: Hello.\nresources: {}\n") == [
        f"{FILE}:1:7: error: date: Expected a date (YYYY-MM-DD) but received: '2023-12-21 09:00:00'"
    ]


def test_quoted_date_is_accepted(read: Callable[[str], Reading]) -> None:
    reading = read("date: '2023-12-21'\ntitle: T\neditorial: Hello.\nresources: {}\n")
    assert reading.issue is not None
    assert reading.issue.date == date(2023, 12, 21)


# -- URLs ----------------------------------------------------------------------------


def test_javascript_url_in_a_resource_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        resources:
          reports:
            - title: A
              url: https://example.org/a
              by: Org
            - title: B
              url: https://example.org/b
              by: Org
            - title: C
              url: javascript:alert(1)
              by: Org
        """
    ) == [
        f"{FILE}:13:12: error: resources.reports[2].url: Expected an http(s) URL but received: 'javascript:alert(1)'"
    ]


def test_data_url_for_the_image_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nimage:\n  src: data:image/png;base64,AAAA\n  alt: A\nresources: {}\n"
    ) == [f"{FILE}:5:8: error: image.src: Expected an http(s) URL but received: 'data:image/png;base64,AAAA'"]


def test_relative_url_in_a_resource_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n    - title: R\n      url: /2023/12/report\n      by: O\n"
    ) == [
        f"{FILE}:7:12: error: resources.reports[0].url: Expected an http(s) URL but received: '/2023/12/report'"
    ]


@pytest.mark.parametrize("port", ["abc", "99999", "-1"])
def test_a_url_whose_port_is_no_port_is_an_error_in_a_resource_and_in_a_link(
    findings: Callable[[str], list[str]], port: str
) -> None:
    url = f"https://example.org:{port}/report"
    why = f"received: {url!r} (the port must be a number from 1 to 65535)"
    assert findings(
        f"date: 2023-12-21\ntitle: T\neditorial: See [the report]({url}).\nresources:\n  reports:\n"
        f"    - title: R\n      url: {url}\n      by: O\n"
    ) == [
        f"{FILE}:3:29: error: editorial: Expected an http(s) or mailto: URL but {why}",
        f"{FILE}:7:12: error: resources.reports[0].url: Expected an http(s) URL but {why}",
    ]


@pytest.mark.parametrize(
    ("lang", "advice"),
    [
        ("my-MM", "write 'my_MM' (or 'my' for the language alone)"),
        ("MY", "write 'my'"),
        ("pt-br", "write 'pt_BR' (or 'pt' for the language alone)"),
    ],
)
def test_a_language_code_not_written_as_in_locales_is_an_error_that_says_how(
    findings: Callable[[str], list[str]], lang: str, advice: str
) -> None:
    """Editions match a title's language by its code as written: 'MY' would set a Burmese title apart in the
    Burmese edition and offer it for translation into Burmese."""
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n"
        f"    - {{title: R, url: 'https://example.org/r', by: O, lang: {lang}}}\n"
    ) == [
        f"{FILE}:6:61: error: resources.reports[0].lang: Expected a language code written as in `locales` "
        f"('en', 'my', 'pt_BR') but received: {lang!r}; {advice}"
    ]


def test_an_invisible_character_pasted_into_a_url_is_named(findings: Callable[[str], list[str]]) -> None:
    """A zero-width space breaks the link, and nobody sees it."""
    url = "https://example.org/re\u200bport"
    assert findings(
        f"date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n    - title: R\n      url: {url}\n      by: O\n"
    ) == [
        f"{FILE}:7:12: error: resources.reports[0].url: Expected an http(s) URL but received: {url!r} "
        "(it holds an invisible character, U+200B, at character 23; retype the URL there)"
    ]


def test_an_invisible_character_pasted_into_a_markdown_link_is_named_where_it_was_written(
    findings: Callable[[str], list[str]],
) -> None:
    """The renderer percent-encodes a link's URL: the zero-width space went out as %E2%80%8B, unseen."""
    url = "https://example.org/re\u200bport"
    assert findings(
        f"date: 2023-12-21\ntitle: T\neditorial: |\n  See [the report]({url}).[^1]\n"
        f"footnotes:\n  '1': '[x](https://example.org/a\ufeffb)'\nresources: {{}}\n"
    ) == [
        f"{FILE}:4:20: error: editorial: Expected an http(s) or mailto: URL but received: {url!r} "
        "(it holds an invisible character, U+200B, at character 23; retype the URL there)",
        f"{FILE}:6:13: error: footnotes.1: Expected an http(s) or mailto: URL but received: "
        "'https://example.org/a\\ufeffb' (it holds an invisible character, U+FEFF, at character 22; retype the URL "
        "there)",
    ]


def test_a_url_pasted_with_spaces_angle_brackets_or_without_its_scheme_is_an_error_saying_what_to_write(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: Read [the appeal](www.example.org/appeal).
        resources:
          reports:
            - {title: A, by: Org, url: <https://example.org/a>}
            - {title: B, by: Org, url: " https://example.org/b "}
            - {title: C, by: Org, url: www.example.org/c}
        """
    ) == [
        f"{FILE}:3:30: error: editorial: Expected an http(s) or mailto: URL but received: 'www.example.org/appeal' "
        "(write it with its scheme: 'https://www.example.org/appeal')",
        f"{FILE}:6:32: error: resources.reports[0].url: Expected an http(s) URL but received: "
        "'<https://example.org/a>' (write it without the '<' and '>' around it: 'https://example.org/a')",
        f"{FILE}:7:32: error: resources.reports[1].url: Expected an http(s) URL but received: "
        "' https://example.org/b ' (write it without the spaces around it: 'https://example.org/b')",
        f"{FILE}:8:32: error: resources.reports[2].url: Expected an http(s) URL but received: "
        "'www.example.org/c' (write it with its scheme: 'https://www.example.org/c')",
    ]


def test_a_url_ending_with_what_was_copied_after_it_is_a_warning(
    findings: Callable[[str], list[str]],
) -> None:
    copied = "as when one is copied with the punctuation after it; if the page's address does not end so, remove it"
    assert findings(
        """
        date: 2023-12-21
        title: T
        image: {src: "https://example.org/a.jpg.", alt: A photo}
        editorial: See [the appeal](https://example.org/appeal.) and [Sagaing](https://example.org/Sagaing_(region)).
        resources:
          reports:
            - {title: A, by: Org, url: "https://example.org/a,"}
            - {title: B, by: Org, url: "https://example.org/b)"}
            - {title: C, by: Org, url: "https://example.org/wiki/Sagaing_(region)"}
        """
    ) == [
        f"{FILE}:3:14: warning: image.src: the URL ends with '.', {copied}",
        f"{FILE}:4:29: warning: editorial: the URL ends with '.', {copied}",
        f"{FILE}:7:32: warning: resources.reports[0].url: the URL ends with ',', {copied}",
        f"{FILE}:8:32: warning: resources.reports[1].url: the URL ends with ')', which no '(' in it opens, as when "
        "one is copied with the text after it; if the page's address does not end so, remove it",
    ]


def test_tracking_parameters_in_a_resource_url_are_a_warning_naming_them_and_the_url_without_them(
    findings: Callable[[str], list[str]],
) -> None:
    # The parameters are those `broadsheet add` leaves out of a link it adds (curate.urls.clean).
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: Text.
        resources:
          reports:
            - title: R
              url: https://example.org/report?utm_source=newsletter&id=4&UTM_Medium=email&fbclid=IwAR0x#part-2
              by: Org
            - title: S
              url: https://example.org/statement?mc_cid=5f1&mc_eid=a9
              by: Org
            - title: Kept
              url: https://example.org/list?id=2&page=3
              by: Org
        """
    ) == [
        f"{FILE}:7:12: warning: resources.reports[0].url: the URL carries tracking parameters (utm_source, "
        "UTM_Medium, fbclid), which tell the site where its readers came from and are no part of the page's "
        "address; `broadsheet add` leaves them out: write https://example.org/report?id=4#part-2",
        f"{FILE}:10:12: warning: resources.reports[1].url: the URL carries tracking parameters (mc_cid, mc_eid), "
        "which tell the site where its readers came from and are no part of the page's address; `broadsheet add` "
        "leaves them out: write https://example.org/statement",
    ]


def test_tracking_parameters_in_a_link_of_the_editorial_or_a_footnote_are_a_warning_too(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  See [it](https://example.org/a?gclid=x&id=1).[^1]\n"
        "footnotes:\n  '1': '[b](https://example.org/b?utm_campaign=w)'\nresources: {}\n"
    ) == [
        f"{FILE}:4:12: warning: editorial: the URL carries tracking parameters (gclid), which tell the site where "
        "its readers came from and are no part of the page's address; `broadsheet add` leaves them out: write "
        "https://example.org/a?id=1",
        f"{FILE}:6:13: warning: footnotes.1: the URL carries tracking parameters (utm_campaign), which tell the "
        "site where its readers came from and are no part of the page's address; `broadsheet add` leaves them "
        "out: write https://example.org/b",
    ]


def test_mailto_url_in_a_resource_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n    - title: R\n      url: mailto:info@example.org\n      by: O\n"
    ) == [
        f"{FILE}:7:12: error: resources.reports[0].url: Expected an http(s) URL but received: 'mailto:info@example.org'"
    ]


def test_javascript_url_in_markdown_link_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: |
          The first paragraph.

          Read [the report](javascript:alert(1)) today.
        resources: {}
        """
    ) == [
        f"{FILE}:6:21: error: editorial: Expected an http(s) or mailto: URL but received: 'javascript:alert(1)'"
    ]


def test_data_url_in_markdown_link_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  See [this](data:text/html,hi).\nresources: {}\n"
    ) == [
        f"{FILE}:4:14: error: editorial: Expected an http(s) or mailto: URL but received: 'data:text/html,hi'"
    ]


def test_relative_url_in_markdown_link_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  See [our report](/reports/2023).\nresources: {}\n"
    ) == [f"{FILE}:4:20: error: editorial: Expected an http(s) or mailto: URL but received: '/reports/2023'"]


def test_javascript_url_in_a_footnote_link_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.[^1]\nfootnotes:\n  '1': See [x](javascript:void(0)).\nresources: {}\n"
    ) == [
        f"{FILE}:5:16: error: footnotes.1: Expected an http(s) or mailto: URL but received: 'javascript:void(0)'"
    ]


def test_mailto_and_https_links_in_markdown_are_accepted(findings: Callable[[str], list[str]]) -> None:
    assert (
        findings(
            "date: 2023-12-21\ntitle: T\neditorial: |\n"
            "  Write to [us](mailto:info@example.org), read <https://example.org/a>.\nresources: {}\n"
        )
        == []
    )


# -- Markdown --------------------------------------------------------------------------


def test_raw_inline_html_in_markdown_is_rejected(findings: Callable[[str], list[str]]) -> None:
    assert findings("date: 2023-12-21\ntitle: T\neditorial: |\n  A <b>bold</b> claim.\nresources: {}\n") == [
        f"{FILE}:4:5: error: editorial: raw HTML is not allowed in Markdown (found '<b>'); use Markdown instead",
        f"{FILE}:4:12: error: editorial: raw HTML is not allowed in Markdown (found '</b>'); use Markdown instead",
    ]


def test_raw_html_block_in_markdown_is_rejected(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: |
          Hello.

          <script>alert(1)</script>
        resources: {}
        """
    ) == [
        f"{FILE}:6:3: error: editorial: raw HTML is not allowed in Markdown (found '<script>alert(1)</script>'); use Markdown instead"
    ]


def test_raw_html_in_a_footnote_is_rejected(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.[^1]\nfootnotes:\n  '1': <img src=x onerror=alert(1)>\nresources: {}\n"
    ) == [
        f"{FILE}:5:8: error: footnotes.1: raw HTML is not allowed in Markdown (found '<img src=x onerror=alert(1)>'); use Markdown instead"
    ]


def test_image_in_markdown_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  Look: ![a chart](https://example.org/c.png)\nresources: {}\n"
    ) == [
        f"{FILE}:4:9: error: editorial: images are not allowed in the text; the issue's image goes under 'image:'"
    ]


def test_markdown_the_email_shows_otherwise_than_meant_is_a_warning_at_its_place(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: |
          ## Background

          A claim, ~~withdrawn~~ since.

              Pasted with an indent.

          | year | killed |
          |------|--------|
          | 2023 | 160    |

          ```
          code
          ```
        footnotes: {}
        resources: {}
        """
    ) == [
        f"{FILE}:4:3: warning: editorial: {markdown._HEADING}",
        f"{FILE}:6:12: warning: editorial: {markdown._STRIKE}",
        f"{FILE}:8:7: warning: editorial: {markdown._CODE_BLOCK}",
        f"{FILE}:10:3: warning: editorial: {markdown._TABLE}",
        f"{FILE}:14:3: warning: editorial: {markdown._FENCE}",
    ]
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: A.[^1]\nfootnotes:\n  '1': Was ~~B~~.\nresources: {}\n"
    ) == [f"{FILE}:5:12: warning: footnotes.1: {markdown._STRIKE}"]


def test_a_list_pasted_with_bullet_characters_is_a_warning_at_its_first_bullet(
    findings: Callable[[str], list[str]],
) -> None:
    # Google Docs and Word paste a list as lines starting with a bullet (Word's own U+F0B7): Markdown joins them.
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: |
          Three demands:
          •\tStop the jet fuel;
          •\tSanction the banks.

          \uf0b7 Refer Myanmar to the ICC;
          \uf0b7 Fund local groups.

          • One point alone, a paragraph of its own.
        resources: {}
        """
    ) == [
        f"{FILE}:5:3: warning: editorial: {markdown._BULLET.format('•')}",
        f"{FILE}:8:3: warning: editorial: {markdown._BULLET.format(chr(0xF0B7))}",
    ]


def test_a_link_defined_by_name_is_an_error_at_its_definition_giving_the_link_to_write(
    findings: Callable[[str], list[str]],
) -> None:
    # Each paragraph is rendered on its own: [HRW][hrw] was shown as written and the definition left out.
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: |
          Read [the report][hrw] today.

          [hrw]: https://www.hrw.org/report
        resources: {}
        """
    ) == [
        f"{FILE}:6:3: error: editorial: {markdown._DEFINITION.format('[hrw]:', 'https://www.hrw.org/report')}"
    ]


def test_a_link_markdown_shows_as_written_or_a_title_it_leaves_out_is_a_warning_at_it(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: |
          The [full text](https://example.org/Final Report.pdf) and
          the [summary] (https://example.org/summary).[^map]
        footnotes:
          map: "[Map](https://example.org/map (January 2024))"
        resources: {}
        """
    ) == [
        f"{FILE}:4:7: warning: editorial: this is shown as written, not as a link: an address cannot hold a "
        "space; write it as %20, or the whole address between < and >",
        f"{FILE}:5:7: warning: editorial: this is shown as written, not as a link: write the '(' of its address "
        "right after the ']'",
        f"{FILE}:7:13: warning: footnotes.map: {markdown._TITLE.format('January 2024')}",
    ]


def test_emphasis_markdown_does_not_read_in_burmese_is_a_warning_at_its_place(
    findings: Callable[[str], list[str]],
) -> None:
    # ၏ is punctuation to CommonMark: emphasis cannot end after it when a letter follows, as Burmese writes.
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  ဆို၍ **စစ်ကောင်စီ၏**သည် _မြန်မာ_နိုင်ငံ၊ **စစ်ကောင်စီ**၏\nresources: {}\n"
    ) == [
        f"{FILE}:4:8: warning: editorial: {markdown.unread_emphasis_message('**')}",
    ]


# -- Footnotes, both ways ----------------------------------------------------------------


def test_footnote_reference_without_definition_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  Hello.\n\n  A figure.[^2]\nresources: {}\n"
    ) == [f"{FILE}:6:12: error: editorial: footnote [^2] is referenced but not defined under 'footnotes:'"]


def test_footnote_definition_without_reference_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nfootnotes:\n  '1': A source.\nresources: {}\n"
    ) == [
        f"{FILE}:5:3: error: footnotes.1: footnote '1' is defined but never referenced as [^1] in the editorial"
    ]


def test_a_footnote_referred_to_as_a_word_processor_writes_it_is_an_error_at_the_reference(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: |
          Pasted from Word[1], from an email ^2, a third ^[c], and a link [4](https://example.org/4).
        footnotes:
          "1": One.
          "2": Two.
          c: Three.
          "4": Four.
        resources: {}
        """
    ) == [
        f"{FILE}:4:19: error: editorial: [1] is shown as written, not as a reference to footnote '1'; write [^1]",
        f"{FILE}:4:38: error: editorial: ^2 is shown as written, not as a reference to footnote '2'; write [^2]",
        f"{FILE}:4:50: error: editorial: ^[c] is shown as written, not as a reference to footnote 'c'; write [^c]",
        f"{FILE}:9:3: error: footnotes.4: footnote '4' is defined but never referenced as [^4] in the editorial",
    ]


def test_a_bracketed_number_no_footnote_has_is_a_warning_saying_how_a_footnote_is_written(
    findings: Callable[[str], list[str]],
) -> None:
    text = (
        "date: 2023-12-21\ntitle: T\neditorial: |\n"
        "  Figures are from the survey.{note} As the report says [6], and [7](https://example.org/7),\n"
        "  the camps are full [2].\n{footnotes}resources: {{}}\n"
    )
    assert findings(text.format(note="[^survey]", footnotes="footnotes:\n  survey: Survey.\n")) == [
        f"{FILE}:4:60: warning: editorial: [6] is shown as written, as text: no footnote '6' is defined; if it "
        "refers to one, write [^6] and give its text under 'footnotes:'",
        f"{FILE}:5:22: warning: editorial: [2] is shown as written, as text: no footnote '2' is defined; if it "
        "refers to one, write [^2] and give its text under 'footnotes:'",
    ]
    # Without footnotes, a number in brackets may be the text's own (a quotation's [2]): let be.
    assert findings(text.format(note="", footnotes="")) == []


@pytest.mark.parametrize(
    ("character", "name"),
    [("\u2028", "a line separator (U+2028)"), ("\x85", "a next-line character (U+0085)")],
)
def test_a_unicode_line_break_pasted_into_the_editorial_is_named_at_its_place(
    findings: Callable[[str], list[str]], character: str, name: str
) -> None:
    """YAML counts lines by it: its own error pointed two lines further and named nothing."""
    assert findings(
        f"date: 2023-12-21\ntitle: T\neditorial: |\n  The first paragraph.\n\n  It is hard{character}to find.\nresources: {{}}\n"
    ) == [
        f"{FILE}:6:13: error: {name}, as pasted text carries: YAML takes it for a line break; replace it with a "
        "space (or a blank line, between paragraphs)"
    ]


def test_text_pasted_from_a_pdf_is_a_warning_at_each_trace_saying_what_to_write(
    findings: Callable[[str], list[str]],
) -> None:
    # Soft hyphens, ligatures and words broken at a line's end are left as written: check says where they are.
    assert findings(
        """
        date: 2023-12-21
        title: Myan\u00admar in Crisis
        summary: >-
          The humani-
          tarian response, pre- and post-war.
        editorial: |
          A report on the con\ufb02ict and its e\ufb00ects, the long- term plan.
        footnotes: {}
        resources:
          reports:
            - title: \ufb01nancial Flows
              url: https://example.org/re\u00adport
              by: Org
        """
    ) == [
        f"{FILE}:2:8: warning: title: 'Myan\\xadmar' holds a soft hyphen (U+00AD), as text pasted from a PDF or a "
        "word processor does: some mail programs show it as a hyphen, and a search for the word does not find it; "
        "delete it: 'Myanmar'",
        f"{FILE}:4:7: warning: summary: 'humani- tarian' is a word broken at the end of a line, as text pasted from "
        "a PDF is, and reads with a space after the hyphen; write 'humanitarian', or 'humani-tarian' if the hyphen "
        "is the word's",
        f"{FILE}:7:19: warning: editorial: 'con\ufb02ict' holds '\ufb02' (U+FB02), the ligature of 'fl' as one "
        "character, as text pasted from a PDF does: a search for the word does not find it, and a screen reader "
        "may misread it; write 'fl': 'conflict'",
        f"{FILE}:7:35: warning: editorial: 'e\ufb00ects' holds '\ufb00' (U+FB00), the ligature of 'ff' as one "
        "character, as text pasted from a PDF does: a search for the word does not find it, and a screen reader "
        "may misread it; write 'ff': 'effects'",
        f"{FILE}:7:47: warning: editorial: 'long- term' is a word broken at the end of a line, as text pasted from "
        "a PDF is, and reads with a space after the hyphen; write 'longterm', or 'long-term' if the hyphen is "
        "the word's",
        f"{FILE}:11:14: warning: resources.reports[0].title: '\ufb01nancial' holds '\ufb01' (U+FB01), the ligature "
        "of 'fi' as one character, as text pasted from a PDF does: a search for the word does not find it, and a "
        "screen reader may misread it; write 'fi': 'financial'",
        f"{FILE}:12:12: error: resources.reports[0].url: Expected an http(s) URL but received: "
        "'https://example.org/re\\xadport' (it holds an invisible character, U+00AD, at character 23; retype the "
        "URL there)",
    ]


def test_the_zero_width_space_and_joiners_of_burmese_text_are_kept_without_a_word(
    read: Callable[[str], Reading],
) -> None:
    title = "ဆောင်းရာသီ\u200bလိုအပ်ချက်များ\u200c အစီရင်ခံစာ\u200d"
    reading = read(
        f"""
        date: 2023-12-21
        title: T
        editorial: |
          {title}
        resources:
          reports:
            - {{title: {title}, url: "https://example.org/r", by: Org, lang: my}}
        """
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.resources[0].title == title
    assert reading.issue.paragraphs[0].markdown == title


def test_a_footnote_label_with_a_space_is_an_error_that_says_why(
    findings: Callable[[str], list[str]],
) -> None:
    """Markdown reads no reference in [^Note A]: it would be shown as it is written, the note never numbered."""
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: A figure.[^Note A]\nfootnotes:\n  Note A: OCHA.\nresources: {}\n"
    ) == [
        f"{FILE}:3:21: error: editorial: [^Note A] is no footnote reference: Markdown shows it as written, a "
        "label having no space; write [^Note-A], under 'footnotes:' too",
        f"{FILE}:5:3: error: footnotes.Note A: footnote label 'Note A' has a space, and Markdown reads [^Note A] "
        "as text, not as a reference; use a label without spaces, such as 'Note-A'",
    ]


def test_a_reference_with_a_space_in_its_label_is_an_error_at_its_place(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  Hello.\n\n  A figure.[^see note]\nresources: {}\n"
    ) == [
        f"{FILE}:6:12: error: editorial: [^see note] is no footnote reference: Markdown shows it as written, a "
        "label having no space; write [^see-note], under 'footnotes:' too"
    ]


def test_misspelt_footnote_label_is_reported_both_ways_with_a_suggestion(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: A figure.[^ocha]\nfootnotes:\n  ohca: OCHA.\nresources: {}\n"
    ) == [
        f"{FILE}:3:21: error: editorial: footnote [^ocha] is referenced but not defined under 'footnotes:'; did you mean 'ohca'?",
        f"{FILE}:5:3: error: footnotes.ohca: footnote 'ohca' is defined but never referenced as [^ohca] in the editorial",
    ]


def test_footnote_defined_inside_the_markdown_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: |\n  A figure.[^1]\n\n  [^1]: A source.\nresources: {}\n"
    ) == [
        f"{FILE}:4:12: error: editorial: footnote [^1] is referenced but not defined under 'footnotes:'",
        f"{FILE}:6:3: error: editorial: footnote [^1] is defined inside the Markdown; define it under 'footnotes:' instead",
    ]


def test_footnote_reference_inside_a_footnote_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: A.[^1]\nfootnotes:\n  '1': See [^2].\n  '2': B.\nresources: {}\n"
    ) == [
        f"{FILE}:5:12: error: footnotes.1: footnote [^2] is referenced inside a footnote; references belong in the editorial",
        f"{FILE}:6:3: error: footnotes.2: footnote '2' is defined but never referenced as [^2] in the editorial",
    ]


def test_empty_footnote_text_is_an_error_at_the_text(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: A.[^1] B.[^2]\nfootnotes:\n  '1': ''\n  '2': ' '\nresources: {}\n"
    ) == [
        f"{FILE}:5:8: error: footnotes.1: footnote '1' has no text",
        f"{FILE}:6:8: error: footnotes.2: footnote '2' has no text",
    ]


# -- Categories ------------------------------------------------------------------------


def test_unknown_category_is_an_error_naming_the_configured_ones(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  statements: []\n  news: []\n  report: []\n"
    ) == [
        f"{FILE}:6:3: error: resources.news: unknown category 'news' (configured categories: statements, reports)",
        f"{FILE}:7:3: error: resources.report: unknown category 'report'; did you mean 'reports'? "
        "(configured categories: statements, reports)",
    ]


def test_categories_come_from_the_project_settings(
    write_issue: Callable[[str], Path], tmp_project: Project
) -> None:
    settings = msgspec.structs.replace(tmp_project.settings, categories={"news": "News"})
    path = write_issue("date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports: []\n")
    assert [str(d) for d in read_issue(path, settings, display=FILE).diagnostics] == [
        f"{FILE}:5:3: error: resources.reports: unknown category 'reports' (configured categories: news)"
    ]


# -- Text that cannot go into an email header ---------------------------------------------


def test_line_break_in_the_title_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings(
        'date: 2023-12-21\ntitle: "Breaking\\nBcc: everyone@example.org"\neditorial: Hello.\nresources: {}\n'
    ) == [
        f"{FILE}:2:8: error: title: contains a line break or control character (U+000A), "
        "which cannot appear in an email subject; write it on one line"
    ]


def test_carriage_return_in_the_title_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings('date: 2023-12-21\ntitle: "A\\rB"\neditorial: Hello.\nresources: {}\n') == [
        f"{FILE}:2:8: error: title: contains a line break or control character (U+000D), "
        "which cannot appear in an email subject; write it on one line"
    ]


def test_control_character_in_the_title_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings('date: 2023-12-21\ntitle: "Ring \\a the bell"\neditorial: Hello.\nresources: {}\n') == [
        f"{FILE}:2:8: error: title: contains a line break or control character (U+0007), "
        "which cannot appear in an email subject; write it on one line"
    ]


def test_unicode_line_separator_in_the_author_is_an_error(findings: Callable[[str], list[str]]) -> None:
    assert findings('date: 2023-12-21\ntitle: T\nauthor: "A\\LB"\neditorial: Hello.\nresources: {}\n') == [
        f"{FILE}:3:9: error: author: contains a line break or control character (U+2028), "
        "which cannot appear in an email subject; write it on one line"
    ]


def test_a_title_folded_by_a_block_is_one_line_and_one_keeping_its_lines_is_an_error(
    findings: Callable[[str], list[str]], read: Callable[[str], Reading]
) -> None:
    # `>` folds the lines into one and keeps a line break at the end, which broke a resource's title in two in the
    # text part: it is dropped. `|` keeps every line break: the title's own are an error.
    text = """
        date: 2023-12-21
        title: >
          A Title Wrapped
          Over Two Lines
        editorial: Hello.
        resources:
          reports:
            - title: >
                A long title that an editor
                wrapped
              url: https://example.org/a
              by: Org
            - title: >-
                Folded into
                one line
              url: https://example.org/c
              by: Org
        """
    reading = read(text)
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.title == "A Title Wrapped Over Two Lines"
    assert [r.title for r in reading.issue.resources] == [
        "A long title that an editor wrapped",
        "Folded into one line",
    ]
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        resources:
          reports:
            - title: |
                Two lines
                kept
              url: https://example.org/b
              by: Org
        """
    ) == [
        f"{FILE}:6:14: error: resources.reports[0].title: contains a line break or control character (U+000A); "
        "a title is shown on one line: write it on one line, or as a '>-' block, which folds its lines into one",
    ]


def test_a_tab_inside_a_resource_s_title_is_no_line_break(read: Callable[[str], Reading]) -> None:
    """A title copied from a PDF or a spreadsheet may hold a tab: it is on one line, and built before."""
    reading = read(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n"
        "    - title: Annual Report\t2023\n      url: https://example.org/r\n      by: Org\n"
    )
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert [r.title for r in reading.issue.resources] == ["Annual Report\t2023"]


# -- Warnings do not stop an issue ----------------------------------------------------------


def test_resource_without_by_is_a_warning_and_the_issue_is_still_read(read: Callable[[str], Reading]) -> None:
    reading = read(
        "date: 2023-12-21\ntitle: T\neditorial: Hello.\nresources:\n  reports:\n    - title: R\n      url: https://example.org/r\n"
    )
    assert [str(d) for d in reading.diagnostics] == [
        f"{FILE}:6:7: warning: resources.reports[0]: resource has no 'by': readers will not see who published it"
    ]
    assert reading.errors == []
    assert reading.issue is not None
    assert reading.issue.resources[0].by == ()


def test_a_title_in_burmese_without_its_lang_is_a_warning_saying_to_add_it(
    findings: Callable[[str], list[str]],
) -> None:
    # Taken for English, it was marked lang="en" in the Burmese edition, in English fonts, and sent to translators.
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        resources:
          reports:
            - title: စစ်ကောင်စီ၏ လေကြောင်းတိုက်ခိုက်မှုများ
              url: https://example.org/a
              by: Org
            - title: ၂၀၂၃ ခုနှစ် အစီရင်ခံစာ
              url: https://example.org/b
              by: Org
              lang: my
            - title: Airstrikes in စစ်ကိုင်း
              url: https://example.org/c
              by: Org
        """
    ) == [
        f"{FILE}:6:14: warning: resources.reports[0].title: this title is in Burmese, but without 'lang: my' it is "
        "taken for English, the issue's language: the Burmese edition marks it so, sets it in English fonts and "
        "asks translators for it; add 'lang: my' to the resource"
    ]


def test_organizations_written_as_one_text_are_a_warning_saying_how_to_list_them(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        """
        date: 2023-12-21
        title: T
        editorial: x
        resources:
          reports:
            - {title: A, url: "https://example.org/a", by: "Progressive Voice, Fortify Rights"}
            - {title: B, url: "https://example.org/b", by: တိုးတက်သောအသံ၊ ဖို့တီဖိုင်း}
            - {title: C, url: "https://example.org/c", by: ["Save the Children, Myanmar"]}
            - {title: D, url: "https://example.org/d", by: [Progressive Voice, Fortify Rights]}
        """
    ) == [
        f"{FILE}:6:52: warning: resources.reports[0].by: 'Progressive Voice, Fortify Rights' is read as one "
        "organization's name; if it names 2, write them as a list: by: [Progressive Voice, Fortify Rights] (a name "
        'that holds a comma, as a list of one: by: ["Progressive Voice, Fortify Rights"])',
        f"{FILE}:7:52: warning: resources.reports[1].by: 'တိုးတက်သောအသံ၊ ဖို့တီဖိုင်း' is read as one organization's "
        "name; if it names 2, write them as a list: by: [တိုးတက်သောအသံ, ဖို့တီဖိုင်း] (a name that holds a comma, "
        'as a list of one: by: ["တိုးတက်သောအသံ၊ ဖို့တီဖိုင်း"])',
    ]


def test_duplicate_url_is_a_warning_naming_the_first(read: Callable[[str], Reading]) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        resources:
          statements:
            - title: S
              url: https://example.org/same
              by: A
          reports:
            - title: R
              url: https://example.org/same
              by: B
        """
    )
    assert [str(d) for d in reading.diagnostics] == [
        f"{FILE}:11:12: warning: resources.reports[0].url: duplicate URL, also at line 7 (resources.statements[0])"
    ]
    assert reading.issue is not None


def test_one_page_written_two_ways_is_a_duplicate_but_two_parts_of_a_page_are_not(
    read: Callable[[str], Reading],
) -> None:
    reading = read(
        """
        date: 2023-12-21
        title: T
        editorial: Hello.
        resources:
          statements:
            - {title: A, by: X, url: "https://www.example.org/%E1%80%80/report"}
            - {title: B, by: X, url: "http://example.org/က/report/?utm_source=mail"}
            - {title: C, by: X, url: "https://example.org/statements#part-1"}
            - {title: D, by: X, url: "https://example.org/statements#part-2"}
            - {title: E, by: X, url: "https://example.org/list?id=1"}
            - {title: F, by: X, url: "https://example.org/list?id=2"}
        """
    )
    assert [str(d) for d in reading.diagnostics] == [
        f"{FILE}:7:30: warning: resources.statements[1].url: duplicate URL, also at line 6 "
        "(resources.statements[0], written there as https://www.example.org/%E1%80%80/report)",
        f"{FILE}:7:30: warning: resources.statements[1].url: the URL carries tracking parameters (utm_source), "
        "which tell the site where its readers came from and are no part of the page's address; `broadsheet add` "
        "leaves them out: write http://example.org/က/report/",
    ]


# -- Every error in the file ----------------------------------------------------------------


def test_several_errors_in_one_file_are_all_reported_in_file_order(
    findings: Callable[[str], list[str]],
) -> None:
    assert findings(
        """
        date: 2023-13-01
        title: "Two\\nlines"
        editorial: |
          See [x](javascript:go()) and <i>this</i>.[^9]
        footnotes:
          z: Unused.
        resources:
          reprots:
            - title: R
              url: data:text/plain,x
              autor: me
        """
    ) == [
        f"{FILE}:1:7: error: date: Expected a date (YYYY-MM-DD) but received: '2023-13-01' (month must be in 1..12)",
        f"{FILE}:2:8: error: title: contains a line break or control character (U+000A), "
        "which cannot appear in an email subject; write it on one line",
        f"{FILE}:4:11: error: editorial: Expected an http(s) or mailto: URL but received: 'javascript:go()'",
        f"{FILE}:4:32: error: editorial: raw HTML is not allowed in Markdown (found '<i>'); use Markdown instead",
        f"{FILE}:4:39: error: editorial: raw HTML is not allowed in Markdown (found '</i>'); use Markdown instead",
        f"{FILE}:4:44: error: editorial: footnote [^9] is referenced but not defined under 'footnotes:'",
        f"{FILE}:6:3: error: footnotes.z: footnote 'z' is defined but never referenced as [^z] in the editorial",
        f"{FILE}:8:3: error: resources.reprots: unknown category 'reprots'; did you mean 'reports'? "
        "(configured categories: statements, reports)",
        f"{FILE}:9:7: warning: resources.reprots[0]: resource has no 'by': readers will not see who published it",
        f"{FILE}:10:12: error: resources.reprots[0].url: Expected an http(s) URL but received: 'data:text/plain,x'",
        f"{FILE}:11:7: error: resources.reprots[0].autor: unknown field 'autor'",
    ]


# -- The check command -----------------------------------------------------------------------

BAD = """\
date: 2023-12-21
title: T
editorial: Read [this](javascript:alert(1)).
resources:
  reports:
    - title: R
      url: https://example.org/r
"""


def test_check_command_prints_every_finding_of_a_bad_file_and_exits_1(cli, tmp_project: Project) -> None:
    (tmp_project.issues_dir / "2023-12-21.yaml").write_text(BAD, encoding="utf-8")
    result = cli("check", "issues/2023-12-21.yaml", cwd=tmp_project.root)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "issues/2023-12-21.yaml:3:24: error: editorial: Expected an http(s) or mailto: URL but received: 'javascript:alert(1)'",
        "issues/2023-12-21.yaml:6:7: warning: resources.reports[0]: resource has no 'by': readers will not see who published it",
        "issues/2023-12-21.yaml: 1 error(s), 1 warning(s)",
    ]


def test_check_command_on_the_sample_exits_0(cli) -> None:
    result = cli("check", str(SAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{SAMPLE.relative_to(REPO)}: ok")
    assert ": error: " not in result.stderr
    assert "Traceback" not in result.output


def test_check_command_checks_every_file_given(cli, tmp_project: Project) -> None:
    issues = tmp_project.issues_dir
    (issues / "2023-12-14.yaml").write_text(
        BAD.replace("date: 2023-12-21", "date: 2023-12-14"), encoding="utf-8"
    )
    (issues / "2023-12-21.yaml").write_bytes(SAMPLE.read_bytes())
    (issues / "2023-12-28.yaml").write_text("- not\n- a mapping\n", encoding="utf-8")
    result = cli(
        "check",
        "issues/2023-12-14.yaml",
        "issues/2023-12-21.yaml",
        "issues/2023-12-28.yaml",
        cwd=tmp_project.root,
    )
    assert result.exit_code == 1
    assert result.stdout.startswith("issues/2023-12-21.yaml: ok")
    assert [line for line in result.stderr.splitlines() if ": error: " in line or " error(s)" in line] == [
        "issues/2023-12-14.yaml:3:24: error: editorial: Expected an http(s) or mailto: URL but received: 'javascript:alert(1)'",
        "issues/2023-12-14.yaml: 1 error(s), 1 warning(s)",
        "issues/2023-12-28.yaml:1:1: error: Expected a mapping of fields (date, title, ...) but received: a list",
        "issues/2023-12-28.yaml: 1 error(s), 0 warning(s)",
    ]


MINIMAL = "date: 2023-12-21\ntitle: T\neditorial: x\nresources: {}\n"


def test_date_that_does_not_match_the_file_name_is_an_error(write_issue, tmp_project: Project) -> None:
    path = write_issue(MINIMAL.replace("date: 2023-12-21", "date: 2023-12-28"), "2023-12-21.yaml")
    assert [str(d) for d in read_issue(path, tmp_project.settings, FILE).errors] == [
        f"{FILE}:1:7: error: date: the date 2023-12-28 does not match the file name "
        "2023-12-21.yaml; catalogs and the build folder are named after the date"
    ]


def test_blank_texts_are_errors_wherever_text_is_required(write_issue, tmp_project: Project) -> None:
    path = write_issue(
        """
        date: 2023-12-21
        title: T
        author: "  "
        image: {src: "https://example.org/a.jpg", alt: " "}
        editorial: x
        resources:
          reports:
            - {title: " ", url: "https://example.org/r", by: ["Org", " "]}
        """
    )
    assert [
        f"{d.line}:{d.col} {d.field}: {d.message}" for d in read_issue(path, tmp_project.settings).errors
    ] == [
        "3:9 author: must not be empty",
        "4:48 image.alt: must not be empty",
        "8:15 resources.reports[0].title: must not be empty",
        "8:62 resources.reports[0].by[1]: must not be empty",
    ]


def test_a_recipients_link_placeholder_in_an_issue_is_an_error(write_issue, tmp_project: Project) -> None:
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: See %%preferences_url%%.\nresources:\n  reports:\n"
        "    - title: A\n      url: https://example.org/?u=%%unsubscribe_url%%\n      by: Org\n"
    )
    assert [str(d) for d in read_issue(path, tmp_project.settings, FILE).errors] == [
        f"{FILE}:3:12: error: editorial: %%preferences_url%% is each recipient's own link, filled in by delivery; "
        "it cannot be written in an issue",
        f"{FILE}:7:12: error: resources.reports[0].url: %%unsubscribe_url%% is each recipient's own link, filled in "
        "by delivery; it cannot be written in an issue",
    ]


def test_zawgyi_text_in_an_issue_is_an_error(write_issue, tmp_project: Project) -> None:
    zawgyi = "ကၽြန္ေတာ္ ရန္ကုန္ၿမိဳ႕မွာ ေနပါတယ္"  # in Unicode: ကျွန်တော် ရန်ကုန်မြို့မှာ နေပါတယ်
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: x\nresources:\n  reports:\n"
        f"    - title: {zawgyi}\n      url: https://example.org/z\n      by: Org\n      lang: my\n"
    )
    assert [str(d) for d in read_issue(path, tmp_project.settings, FILE).errors] == [
        f"{FILE}:6:14: error: resources.reports[0].title: text is Zawgyi-encoded Burmese, not Unicode: "
        "readers without a Zawgyi font see garbage; convert it to Unicode"
    ]
    unicode_title = "ကျွန်တော် ရန်ကုန်မြို့မှာ နေပါတယ်"
    path.write_text(path.read_text(encoding="utf-8").replace(zawgyi, unicode_title), encoding="utf-8")
    assert read_issue(path, tmp_project.settings).errors == []


def test_a_diagnostic_is_always_one_line() -> None:
    from broadsheet.errors import Diagnostic

    assert str(Diagnostic(FILE, 3, 4, "footnotes.a\u2028b", "bad\nthing\r")) == (
        f"{FILE}:3:4: error: footnotes.a\\u2028b: bad\\u000athing\\u000d"
    )


def test_empty_footnotes_and_empty_categories_mean_none(write_issue, tmp_project: Project) -> None:
    path = write_issue(
        "date: 2023-12-21\ntitle: T\neditorial: x\nfootnotes:\nresources:\n  statements:\n  reports: []\n"
    )
    reading = read_issue(path, tmp_project.settings)
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.footnotes == ()
    assert [(c.key, c.resources) for c in reading.issue.categories] == [("statements", ()), ("reports", ())]


def test_resources_left_empty_mean_none(read: Callable[[str], Reading]) -> None:
    # It was 'Expected a mapping but received: nothing (null)', where `resources: {}` and `reports:` mean none.
    reading = read("date: 2023-12-21\ntitle: T\neditorial: x\nresources:   # none this week\n")
    assert reading.diagnostics == ()
    assert reading.issue is not None
    assert reading.issue.categories == ()
