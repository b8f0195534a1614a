"""Project settings: defaults without broadsheet.toml, every bad value reported at its line, the project found upwards."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadsheet.errors import EXIT_INPUT, InvalidInput
from broadsheet.settings import DEFAULT_CATEGORIES, SETTINGS_FILE, Settings, find_project, load_settings

from .support import REPO


def write_settings(folder: Path, text: str) -> Path:
    path = folder / SETTINGS_FILE
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    """The diagnostics `load_settings` raises for the file at `path`, as printed."""
    with pytest.raises(InvalidInput) as raised:
        load_settings(path)
    assert raised.value.exit_code == EXIT_INPUT
    assert raised.value.message == "\n".join(str(d) for d in raised.value.diagnostics)
    return [str(d) for d in raised.value.diagnostics]


# -- Defaults and the repository's own settings ---------------------------------------


def test_every_setting_has_its_default_without_a_settings_file(tmp_path: Path) -> None:
    project = find_project(tmp_path)
    assert project.root == tmp_path.resolve()
    assert project.settings == Settings()
    defaults = project.settings
    assert defaults.locales == ("en", "my")
    assert defaults.source_locale == "en"
    assert defaults.categories == DEFAULT_CATEGORIES
    assert (defaults.text_width, defaults.publication_weekday, defaults.email_max_html_kb) == (
        72,
        "thursday",
        90,
    )
    assert defaults.web_url == "https://progressivevoicemyanmar.org/newsletter"
    assert defaults.default_author == defaults.organization.name == "Progressive Voice"
    assert (project.issues_dir, project.templates_dir, project.locales_dir, project.build_dir) == tuple(
        tmp_path.resolve() / name for name in ("issues", "templates", "locales", "build")
    )


def test_empty_settings_file_is_all_defaults(tmp_path: Path) -> None:
    assert load_settings(write_settings(tmp_path, "# nothing set yet\n")) == Settings()


def test_default_author_is_the_organization_name_unless_set(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '[organization]\nname = "Burma Campaign UK"\n')
    assert load_settings(path).default_author == "Burma Campaign UK"
    path = write_settings(
        tmp_path, 'default_author = "The editors"\n[organization]\nname = "Burma Campaign UK"\n'
    )
    assert load_settings(path).default_author == "The editors"


def test_repository_settings_load(repo_project) -> None:
    assert repo_project.root == REPO
    loaded = repo_project.settings
    assert loaded == load_settings(REPO / SETTINGS_FILE)
    assert loaded.locales == ("en", "my")
    assert loaded.categories == {
        "statements": "Statements and Press Releases",
        "reports": "Reports and Publications",
    }
    assert loaded.organization.email == "info@progressivevoicemyanmar.org"
    assert [link.label for link in loaded.organization.links] == ["Website", "Facebook", "X (Twitter)"]
    assert loaded.default_author == "Progressive Voice"


def test_settings_override_only_what_they_name(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        """
        locales = ["en"]
        text_width = 66
        issues_dir = "editions"

        [categories]
        news = "News"
        """,
    )
    project = find_project(tmp_path)
    assert project.settings == load_settings(path)
    assert project.settings.locales == ("en",)
    assert project.settings.categories == {"news": "News"}
    assert project.settings.text_width == 66
    assert project.settings.publication_weekday == "thursday"
    assert project.issues_dir == tmp_path.resolve() / "editions"


def test_language_settings_add_to_the_burmese_defaults(tmp_path: Path) -> None:
    path = write_settings(tmp_path, "[languages.th]\nline_height = 1.9\n")
    loaded = load_settings(path)
    assert loaded.language("th").line_height == 1.9
    assert loaded.language("th_TH").line_height == 1.9
    assert loaded.language("my").line_height == Settings().language("my").line_height == 1.8
    assert loaded.language("en").line_height == 1.6


def test_a_font_list_in_double_quotes_is_taken_in_single_quotes(tmp_path: Path) -> None:
    # The list goes into MJML attributes written in double quotes: one inside ended the attribute.
    path = write_settings(
        tmp_path,
        """
        [languages.my]
        font_family = '"Noto Sans Myanmar",  "Myanmar Text", -apple-system, sans-serif'
        serif_font_family = "Georgia, 'Times New Roman', serif"
        """,
    )
    loaded = load_settings(path)
    assert (
        loaded.language("my").font_family == "'Noto Sans Myanmar', 'Myanmar Text', -apple-system, sans-serif"
    )
    assert loaded.language("my").serif_font_family == "Georgia, 'Times New Roman', serif"


@pytest.mark.parametrize(
    ("written", "font"),
    [
        ("Arial; } </style><script>", "Arial; } </style><script>"),
        ("Arial, 'Noto Sans Myanmar", "'Noto Sans Myanmar"),
        ("Arial, , serif", ""),
        ("Arial {color: red}", "Arial {color: red}"),
        ("'a\\62', serif", "'a\\62'"),
    ],
)
def test_a_font_list_that_is_not_plain_css_is_an_error_at_its_line(
    tmp_path: Path, written: str, font: str
) -> None:
    path = write_settings(
        tmp_path, f"[organization]\nname = 'PV'\n[languages.my]\nfont_family = '''{written}'''\n"
    )
    example = "\"'Noto Sans Myanmar', 'Myanmar Text', sans-serif\""
    assert problems(path) == [
        f"{path}:4: error: languages.my.font_family: Expected a CSS font list such as {example} but received: "
        f"{written!r} (font {font!r}: a name, or a name in quotes, without ; {{ }} < > or a backslash)"
    ]


# -- Finding the project ----------------------------------------------------------------


def test_find_project_walks_up_from_a_subfolder(tmp_path: Path) -> None:
    write_settings(tmp_path, 'locales = ["en"]\n')
    deep = tmp_path / "issues" / "drafts" / "2023"
    deep.mkdir(parents=True)
    project = find_project(deep)
    assert project.root == tmp_path.resolve()
    assert project.settings.locales == ("en",)


def test_find_project_takes_the_nearest_settings_file(tmp_path: Path) -> None:
    write_settings(tmp_path, 'locales = ["en"]\n')
    inner = tmp_path / "other-newsletter"
    inner.mkdir()
    write_settings(inner, 'locales = ["my", "en"]\n')
    (inner / "issues").mkdir()
    project = find_project(inner / "issues")
    assert project.root == inner.resolve()
    assert project.settings.source_locale == "my"


def test_find_project_reports_a_bad_settings_file_above(tmp_path: Path) -> None:
    write_settings(tmp_path, 'text_width = "wide"\n')
    (tmp_path / "issues").mkdir()
    with pytest.raises(InvalidInput) as raised:
        find_project(tmp_path / "issues")
    assert (
        str(raised.value)
        == f"{tmp_path.resolve() / SETTINGS_FILE}:1: error: text_width: Expected an integer but received: 'wide'"
    )


# -- Bad values, each at its line ------------------------------------------------------


def test_wrong_type_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en"]\ntext_width = "wide"\n')
    assert problems(path) == [f"{path}:2: error: text_width: Expected an integer but received: 'wide'"]


def test_a_commented_out_setting_does_not_take_the_line_of_the_one_set(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        '# text_width = 72\ntext_width = "wide"\n[organization]\n# website = "https://old.example.org"\nwebsite = "ftp://example.org"\n',
    )
    assert problems(path) == [
        f"{path}:2: error: text_width: Expected an integer but received: 'wide'",
        f"{path}:5: error: organization.website: Expected an http(s) URL but received: 'ftp://example.org'",
    ]


def test_fraction_where_an_integer_belongs_is_an_error(tmp_path: Path) -> None:
    path = write_settings(tmp_path, "text_width = 72.5\n")
    assert problems(path) == [f"{path}:1: error: text_width: Expected an integer but received: 72.5"]


def test_value_out_of_range_is_an_error(tmp_path: Path) -> None:
    path = write_settings(tmp_path, "# plain-text part\ntext_width = 5\n")
    assert problems(path) == [f"{path}:2: error: text_width: must be greater than or equal to 20"]


def test_unknown_key_suggests_the_closest_setting(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en"]\ntext_widht = 72\n')
    assert problems(path) == [
        f"{path}:2: error: text_widht: unknown field 'text_widht'; did you mean 'text_width'?"
    ]


def test_unknown_key_in_a_table_suggests_a_key_of_that_table(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '[organization]\nname = "PV"\nadress = "Chiang Mai"\n')
    assert problems(path) == [
        f"{path}:3: error: organization.adress: unknown field 'adress'; did you mean 'address'?"
    ]


def test_unknown_key_is_found_in_its_own_table(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '[organization]\nname = "PV"\n\n[languages.my]\nname = "Burmese"\n')
    assert problems(path) == [f"{path}:5: error: languages.my.name: unknown field 'name'"]


def test_unknown_key_in_a_table_of_a_list_suggests_a_key_of_that_table(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        """
        [[sources]]
        name = "Partner"
        feed = "https://example.org/feed"

        [[sources]]
        name = "Other"
        fed = "https://example.org/other"

        [languages.my]
        line_heigth = 2
        """,
    )
    assert problems(path) == [
        f"{path}:5: error: sources[1].feed: required field is missing",
        f"{path}:7: error: sources[1].fed: unknown field 'fed'; did you mean 'feed'?",
        f"{path}:10: error: languages.my.line_heigth: unknown field 'line_heigth'; did you mean 'line_height'?",
    ]


def test_every_problem_in_a_list_of_tables_is_reported_at_its_table(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        """
        [[organization.links]]
        label = ""
        url = "https://example.org"

        [[organization.links]]
        label = "Facebook"

        [[organization.links]]
        label = 7
        url = "https://example.org/7"
        lable = "Seven"
        """,
    )
    assert problems(path) == [
        f"{path}:2: error: organization.links[0].label: must not be empty",
        f"{path}:5: error: organization.links[1].url: required field is missing",
        f"{path}:11: error: organization.links[2].lable: unknown field 'lable'; did you mean 'label'?",
    ]
    assert (
        load_settings(
            write_settings(tmp_path, '[[organization.links]]\nlabel = 7\nurl = "https://example.org/7"\n')
        )
        .organization.links[0]
        .label
        == "7"
    )


def test_numbers_written_as_text_or_with_a_zero_fraction_are_taken(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'text_width = "66"\nemail_max_html_kb = 80.0\n[curation]\ntimeout = 5\n')
    loaded = load_settings(path)
    assert (loaded.text_width, loaded.email_max_html_kb, loaded.curation.timeout) == (66, 80, 5.0)
    assert isinstance(loaded.curation.timeout, float)


def test_bad_url_is_an_error(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en"]\nweb_url = "ftp://example.org/newsletter"\n')
    assert problems(path) == [
        f"{path}:2: error: web_url: Expected an http(s) URL but received: 'ftp://example.org/newsletter'"
    ]


@pytest.mark.parametrize(
    "url",
    ["https://example.org/newsletter/index.html", "https://example.org?x=1", "https://example.org/#top"],
)
def test_web_url_is_a_folder_without_query_fragment_or_file_name(tmp_path: Path, url: str) -> None:
    # Editions' paths are appended to it: "…/index.html/en/2023-12-21/" led nowhere.
    path = write_settings(tmp_path, f'locales = ["en"]\nweb_url = "{url}"\n')
    assert problems(path) == [
        f"{path}:2: error: web_url: Expected the URL of a folder, without '?', '#' or a file name, such as "
        f"'https://example.org/newsletter' but received: {url!r}"
    ]
    for folder in (
        "https://example.org",
        "https://example.org/news.letter/",
        "HTTPS://Example.org/newsletter/",
    ):
        assert load_settings(write_settings(tmp_path, f'web_url = "{folder}"\n')).web_url == folder


@pytest.mark.parametrize(
    ("written", "taken"),
    [
        (
            "Progressive Voice, Myanmar <newsletter@example.org>",
            '"Progressive Voice, Myanmar" <newsletter@example.org>',
        ),
        ("Voice (Myanmar) <newsletter@example.org>", '"Voice (Myanmar)" <newsletter@example.org>'),
        (
            '"Progressive Voice, Myanmar" <newsletter@example.org>',
            '"Progressive Voice, Myanmar" <newsletter@example.org>',
        ),
        ("Progressive Voice <newsletter@example.org>", "Progressive Voice <newsletter@example.org>"),
    ],
)
def test_a_sender_name_with_a_comma_is_put_in_quotes(tmp_path: Path, written: str, taken: str) -> None:
    path = write_settings(tmp_path, f"sender = '{written}'\n")
    assert load_settings(path).sender == taken


def test_a_sender_on_two_lines_is_an_error(tmp_path: Path) -> None:
    # It was taken, and every send failed: "Header values may not contain linefeed or carriage return characters".
    path = write_settings(tmp_path, 'sender = "Progressive\\nVoice <news@example.org>"\n')
    assert problems(path) == [
        f"{path}:1: error: sender: Expected 'Name <address>' on one line but received: "
        "'Progressive\\nVoice <news@example.org>'"
    ]


def test_bad_url_in_an_inline_link_is_reported_on_its_own_line(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        """
        [organization]
        links = [
            { label = "Website", url = "https://progressivevoicemyanmar.org" },
            { label = "Facebook", url = "facebook.com/progressivevoicemyanmar" },
        ]
        """,
    )
    assert problems(path) == [
        f"{path}:4: error: organization.links[1].url: Expected an http(s) URL but received: 'facebook.com/progressivevoicemyanmar'"
    ]


def test_bad_url_in_a_second_link_table_is_reported_at_that_link(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        """
        [[organization.links]]
        label = "Website"
        url = "https://progressivevoicemyanmar.org"

        [[organization.links]]
        label = "Mail"
        url = "javascript:alert(1)"
        """,
    )
    assert problems(path) == [
        f"{path}:7: error: organization.links[1].url: Expected an http(s) URL but received: 'javascript:alert(1)'"
    ]


def test_unknown_locale_code_is_an_error(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en", "xx-nope"]\n')
    assert problems(path) == [
        f"{path}:1: error: locales: Expected a locale code such as 'en' or 'my' but received: 'xx-nope'"
    ]


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("my_mm", "write 'my_MM' (or 'my' for the language alone)"),
        ("My", "write 'my'"),
        ("EN", "write 'en'"),
        ("my-MM", "write 'my_MM' (or 'my' for the language alone)"),
    ],
)
def test_a_locale_code_in_another_case_is_an_error_saying_how_to_write_it(
    tmp_path: Path, code: str, hint: str
) -> None:
    # Catalogs' folders and build folders are named by the code as written: "EN" made build/…/EN/.
    path = write_settings(tmp_path, f'locales = ["en", "{code}"]\n')
    assert problems(path) == [
        f"{path}:1: error: locales: Expected a locale code written as babel writes it ('en', 'my', 'pt_BR') "
        f"but received: {code!r}; {hint}"
    ]


def test_the_same_locale_in_two_cases_is_refused(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en", "EN"]\n')
    assert problems(path) == [
        f"{path}:1: error: locales: Expected a locale code written as babel writes it ('en', 'my', 'pt_BR') "
        "but received: 'EN'; write 'en'"
    ]
    assert load_settings(write_settings(tmp_path, 'locales = ["en", "my_MM"]\n')).locales == ("en", "my_MM")


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("20 an hour", "Expected a rate such as '20/hour' or '20/hour;100/day' but received: '20 an hour'"),
        (
            "20/hour;0/day",
            "Expected at least 1 in each rate (0 would close the sign-up page) but received: '20/hour;0/day'",
        ),
    ],
)
def test_a_sign_up_limit_must_be_a_rate_of_at_least_one(tmp_path: Path, rate: str, message: str) -> None:
    path = write_settings(tmp_path, f'signup_limit_per_client = "{rate}"\n')
    assert problems(path) == [f"{path}:1: error: signup_limit_per_client: {message}"]


def test_a_confirmation_link_lives_at_least_a_day(tmp_path: Path) -> None:
    # 0 would refuse every link at once, and drop every sign-up as it is made.
    path = write_settings(tmp_path, "confirmation_max_age_days = 0\n")
    assert problems(path) == [
        f"{path}:1: error: confirmation_max_age_days: must be greater than or equal to 1"
    ]


def test_confirm_url_is_empty_or_a_link_with_a_token(tmp_path: Path) -> None:
    assert load_settings(write_settings(tmp_path, 'confirm_url = ""\n')).confirm_url == ""
    path = write_settings(tmp_path, 'confirm_url = "https://news.example.org/confirm/{token}"\n')
    assert load_settings(path).confirm_url == "https://news.example.org/confirm/{token}"
    path = write_settings(tmp_path, 'confirm_url = "https://news.example.org/confirm"\n')
    assert problems(path) == [
        f"{path}:1: error: confirm_url: the confirm URL must contain {{token}}; received: 'https://news.example.org/confirm'"
    ]


def test_duplicate_locale_is_an_error(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en", "my", "en"]\n')
    assert problems(path) == [f"{path}:1: error: locales: each locale may be listed only once"]


def test_locales_must_be_a_non_empty_list(tmp_path: Path) -> None:
    path = write_settings(tmp_path, "locales = []\n")
    assert problems(path) == [f"{path}:1: error: locales: must not be empty"]
    path = write_settings(tmp_path, 'locales = "en"\n')
    assert problems(path) == [f"{path}:1: error: locales: Expected a list but received: 'en'"]


def test_names_of_only_spaces_are_errors(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        """
        default_author = "   "
        [organization]
        name = "  "
        [[organization.links]]
        label = " "
        url = "https://example.org"
        """,
    )
    assert problems(path) == [
        f"{path}:1: error: default_author: must not be blank: leave it out, or empty, for the organization's name",
        f"{path}:3: error: organization.name: must not be empty",
        f"{path}:5: error: organization.links[0].label: must not be empty",
    ]


def test_a_control_character_in_any_setting_is_an_error_at_its_line(tmp_path: Path) -> None:
    # Written with TOML's escapes; a NUL in a category label was taken, and MJML then refused the template.
    path = write_settings(
        tmp_path,
        """
        text_width = 60
        [categories]
        statements = "Statements\\u0000"
        reports = "Reports\\u001b[31m"
        [organization]
        address = "Line one\\nLine two\\tand a tab"
        links = [{ label = "Web\\u007f", url = "https://example.org" }]
        """,
    )
    assert problems(path) == [
        f"{path}:3: error: categories.statements: Expected text without control characters but received U+0000 at "
        "character 11: 'Statements\\x00'",
        f"{path}:4: error: categories.reports: Expected text without control characters but received U+001B at "
        "character 8: 'Reports\\x1b[31m'",
        f"{path}:7: error: organization.links[0].label: Expected text without control characters but received "
        "U+007F at character 4: 'Web\\x7f'",
    ]


def test_a_dotted_key_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en"]\norganization.name = ""\n')
    assert problems(path) == [f"{path}:2: error: organization.name: must not be empty"]


def test_a_weekday_is_taken_in_any_case(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'publication_weekday = "Thursday"\n')
    assert load_settings(path).publication_weekday == "thursday"


def test_unknown_weekday_names_the_allowed_ones(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'publication_weekday = "thurs"\n')
    assert problems(path) == [
        f"{path}:1: error: publication_weekday: Expected 'monday', 'tuesday', 'wednesday', 'thursday', "
        "'friday', 'saturday' or 'sunday' but received: 'thurs'"
    ]


def test_category_keys_are_lowercase_words_with_labels(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '[categories]\n"Press Releases" = "Press releases"\n')
    assert problems(path) == [
        f"{path}:2: error: categories.Press Releases: category keys are lowercase words (a-z, 0-9, _ and -); received: 'Press Releases'"
    ]
    path = write_settings(tmp_path, '[categories]\nstatements = "Statements"\nnews = " "\n')
    assert problems(path) == [f"{path}:3: error: categories.news: category 'news' needs a label"]


def test_a_category_key_may_not_be_a_footnotes_anchor(tmp_path: Path) -> None:
    path = write_settings(tmp_path, '[categories]\nfn-1 = "Notes"\nfnref-12 = "Refs"\nfn-news = "News"\n')
    assert problems(path) == [
        f"{path}:2: error: categories.fn-1: category key 'fn-1' is the name of a footnote's anchor (fn-N, fnref-N); choose another",
        f"{path}:3: error: categories.fnref-12: category key 'fnref-12' is the name of a footnote's anchor (fn-N, fnref-N); choose another",
    ]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "mm",
            "Expected a language code such as 'en' or 'my' but received: 'mm'; did you mean 'my'? ('MM' is a country)",
        ),
        ("burmese", "Expected a language code such as 'en' or 'my' but received: 'burmese'; write 'my'"),
        (
            "My",
            "Expected a language code written as in `locales` ('en', 'my', 'pt_BR') but received: 'My'; write 'my'",
        ),
    ],
)
def test_a_languages_table_must_name_a_language(tmp_path: Path, code: str, message: str) -> None:
    path = write_settings(tmp_path, f'locales = ["en"]\n\n[languages.{code}]\nline_height = 2\n')
    assert problems(path) == [f"{path}:3: error: languages.{code}: {message}"]


def test_every_bad_value_in_the_file_is_reported(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        """
        locales = ["en", "en"]
        text_width = "wide"
        web_url = "/newsletter"

        [organization]
        website = "javascript:void(0)"
        """,
    )
    assert problems(path) == [
        f"{path}:1: error: locales: each locale may be listed only once",
        f"{path}:2: error: text_width: Expected an integer but received: 'wide'",
        f"{path}:3: error: web_url: Expected an http(s) URL but received: '/newsletter'",
        f"{path}:6: error: organization.website: Expected an http(s) URL but received: 'javascript:void(0)'",
    ]


# -- Files that are not TOML ----------------------------------------------------------------


def test_bad_toml_syntax_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en"]\nweb_url = https://example.org\n')
    assert problems(path) == [f"{path}:2:11: error: not valid TOML: Invalid value"]


def test_a_byte_order_mark_at_the_start_is_read_past(tmp_path: Path) -> None:
    # Windows Notepad writes one; TOML does not allow it, so tomllib called it an "Invalid statement".
    path = tmp_path / SETTINGS_FILE
    path.write_bytes(b'\xef\xbb\xbftext_width = 66\nweb_url = "https://example.org"\n')
    assert load_settings(path).text_width == 66
    path.write_bytes(b"\xef\xbb\xbftext_width = 66\nweb_url = https://example.org\n")
    assert problems(path) == [f"{path}:2:11: error: not valid TOML: Invalid value"]
    path.write_bytes(b'\xef\xbb\xbf[organization]\nwebsite = "ftp://x"\n')
    assert problems(path) == [
        f"{path}:2: error: organization.website: Expected an http(s) URL but received: 'ftp://x'"
    ]


def test_key_set_twice_is_an_error_naming_where_it_was_set_first(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'locales = ["en"]\ntext_width = 66\nlocales = ["my"]\n')
    assert problems(path) == [f"{path}:3:1: error: locales: set twice: first on line 1; keep one of them"]
    path = write_settings(
        tmp_path, '[organization]\nname = "A"\n# the new name:\nname = "B"\n[organization.address]\n'
    )
    assert problems(path) == [
        f"{path}:4:1: error: organization.name: set twice: first on line 2; keep one of them"
    ]


def test_a_value_overwritten_otherwise_is_the_toml_error(tmp_path: Path) -> None:
    # A key set once, and again as a table: no second `key =` line to point at.
    path = write_settings(tmp_path, 'organization = "A"\n[organization]\nname = "B"\n')
    assert problems(path)[0].startswith(f"{path}:2")
    assert "not valid TOML" in problems(path)[0]


def test_array_left_open_is_reported_at_the_last_line(tmp_path: Path) -> None:
    path = write_settings(tmp_path, 'text_width = 72\nlocales = ["en",\n  "my",\n')
    assert problems(path) == [f"{path}:3: error: not valid TOML: Invalid value (at end of document)"]


def test_settings_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / SETTINGS_FILE
    path.write_bytes(b'[organization]\nname = "Caf\xe9"\n')
    assert problems(path) == [f"{path}:2: error: not UTF-8 text (invalid continuation byte at byte 26)"]


def test_settings_file_in_utf16_is_named_so(tmp_path: Path) -> None:
    # Windows Notepad's "Unicode" is UTF-16, after a byte order mark.
    path = tmp_path / SETTINGS_FILE
    path.write_bytes('text_width = 66\n[organization]\nname = "Café"\n'.encode("utf-16"))
    assert problems(path) == [f"{path}:1: error: UTF-16 text, not UTF-8; save the file as UTF-8"]


KEYS = st.sampled_from(
    [
        "locales",
        "categories",
        "organization",
        "default_author",
        "web_url",
        "publication_weekday",
        "text_width",
        "languages",
        "email_max_html_kb",
        "issues_dir",
        "nope",
        "organization.links",
        "languages.my",
        "categories.news",
    ]
)
VALUES = st.sampled_from(
    [
        '"en"',
        '["en", "my"]',
        '["xx-nope"]',
        "[]",
        "72",
        "72.5",
        "-1",
        "true",
        '"https://example.org"',
        '"/x"',
        "{}",
        '{ name = "X" }',
        '[{ label = "A", url = "/a" }]',
        "{ line_height = 9 }",
        "1979-05-27",
        '"""\nx\n"""',
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "[organization]\n", "[[organization.links]]\n", "[languages.my]\n"]),
            KEYS,
            VALUES,
        ),
        max_size=6,
    )
)
def test_any_settings_file_loads_or_raises_invalid_input(
    tmp_path_factory: pytest.TempPathFactory, lines: list[tuple[str, str, str]]
) -> None:
    folder = tmp_path_factory.mktemp("settings", numbered=True)
    path = write_settings(folder, "".join(f"{table}{key} = {value}\n" for table, key, value in lines))
    try:
        loaded = load_settings(path)
    except InvalidInput as exc:
        assert exc.diagnostics
        for diagnostic in exc.diagnostics:
            assert diagnostic.path == str(path)
            assert 0 <= diagnostic.line <= len(path.read_text().splitlines())
            assert str(diagnostic).startswith(f"{path}:") and ": error: " in str(diagnostic)
    else:
        assert isinstance(loaded, Settings)
