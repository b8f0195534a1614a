"""Project settings: one declaration of every setting in `broadsheet.toml`, with types and defaults.

A project is a folder holding `broadsheet.toml`, `issues/`, `templates/` and
`locales/`. Commands find it by walking up from the current directory.
"""

# No `from __future__ import annotations` here: the declared formats' annotations are read at run time
# (`schema.fields_of`), and written as objects they need no evaluating (strings cost a build 3 ms).

import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import msgspec.structs

from .errors import Diagnostic, InvalidInput
from .files import is_utf16, read_limited
from .schema import (
    Invalid,
    Location,
    Problem,
    code_problem,
    control_character,
    declared,
    did_you_mean,
    field_path,
    http_url,
    validate,
    written_locale,
)

SETTINGS_FILE = "broadsheet.toml"

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")


# -- Checks of single values, each raising ValueError with the message users read ------------


def _optional_address(value: str) -> None:
    if value and not _EMAIL.fullmatch(value):
        raise ValueError(f"Expected an email address but received: {value!r}")


_NAMED_ADDRESS = re.compile(r"\s*([^\"<>]*?)\s*<([^<>]*)>\s*")
_SPECIALS = re.compile(r"[,;:@\[\]()\\]")


def _quoted_sender(value: Any) -> Any:
    """`Name, Org <address>` as RFC 5322 writes it, the name in double quotes: unquoted, its comma would split it
    into two addresses in the From header and wherever the sender is read again."""
    match = _NAMED_ADDRESS.fullmatch(value) if isinstance(value, str) else None
    if not match or not _SPECIALS.search(match.group(1)):
        return value
    name = match.group(1).replace("\\", "\\\\")
    return f'"{name}" <{match.group(2).strip()}>'


def _sender(value: str) -> None:
    from email.utils import parseaddr

    # A line break in the name passed, and every send then failed as it wrote the From header.
    if not _EMAIL.fullmatch(parseaddr(value)[1]) or "\n" in value or "\r" in value:
        raise ValueError(f"Expected 'Name <address>' on one line but received: {value!r}")


def _folder_url(value: str) -> None:
    """`web_url` is a folder that edition paths are appended to: `?`, `#` or a file name would come before them."""
    from urllib.parse import urlsplit

    http_url(value)
    last = urlsplit(value).path.rsplit("/", 1)[-1]
    if "?" in value or "#" in value or "." in last:
        raise ValueError(
            "Expected the URL of a folder, without '?', '#' or a file name, such as "
            f"'https://example.org/newsletter' but received: {value!r}"
        )


def _not_blank(value: str) -> None:
    if value and not value.strip():
        raise ValueError("must not be blank: leave it out, or empty, for the organization's name")


def _lowercase(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _token_url(what: str, *, optional: bool = False) -> Callable[[str], None]:
    """The check of a link that carries each recipient's `{token}`; `optional` ones may be empty."""

    def check(value: str) -> None:
        if not value and optional:
            return
        http_url(value.replace("{token}", "token"))
        if "{token}" not in value:
            raise ValueError(f"the {what} URL must contain {{token}}; received: {value!r}")

    return check


def _rate_limit(value: str) -> None:
    from limits import parse_many

    try:
        rates = parse_many(value)
    except ValueError:
        raise ValueError(
            f"Expected a rate such as '20/hour' or '20/hour;100/day' but received: {value!r}"
        ) from None
    if any(rate.amount < 1 for rate in rates):
        raise ValueError(
            f"Expected at least 1 in each rate (0 would close the sign-up page) but received: {value!r}"
        )


def _known_locales(value: tuple[str, ...]) -> None:
    for code in value:
        # Catalogs' folders, build folders and `lang` in issue files are matched by the code as written.
        problem = code_problem(code, "locale", "as babel writes it")
        if problem:
            raise ValueError(problem)
    if len(set(value)) != len(value):
        raise ValueError("each locale may be listed only once")


_FONT_NAME = re.compile(r"-?[^\W\d][\w-]*(?: +[\w-]+)*")
_QUOTED_FONT = re.compile(r"""(["'])([^"'\\;{}<>\x00-\x1f\x7f]+)\1""")


def _font_stack(value: Any) -> Any:
    """A CSS font list written the one way every template can hold it: names in single quotes.

    The stack goes into MJML attributes (`font-family="..."`) and into <style>
    blocks as written, so a double quote would end the attribute and `;`, `{`,
    `}`, `<` or `>` would end the rule or the block; CSS reads "A" and 'A' alike.
    """
    if not isinstance(value, str) or not value.strip():
        return value.strip() if isinstance(value, str) else value
    example = "\"'Noto Sans Myanmar', 'Myanmar Text', sans-serif\""
    families = []
    for family in value.split(","):
        family = " ".join(family.split())
        quoted = _QUOTED_FONT.fullmatch(family)
        if quoted:
            families.append(f"'{quoted.group(2).strip()}'")
        elif _FONT_NAME.fullmatch(family):
            families.append(family)
        else:
            raise ValueError(
                f"Expected a CSS font list such as {example} but received: {value!r} "
                f"(font {family!r}: a name, or a name in quotes, without ; {{ }} < > or a backslash)"
            )
    return ", ".join(families)


def _category_problem(key: str, label: str) -> str | None:
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", key):
        return f"category keys are lowercase words (a-z, 0-9, _ and -); received: {key!r}"
    if re.fullmatch(r"fn(?:ref)?-[0-9]+", key):
        # The key is the id of the category's heading, in the email and on the web page, beside the footnotes'.
        return f"category key {key!r} is the name of a footnote's anchor (fn-N, fnref-N); choose another"
    if not label.strip():
        return f"category '{key}' needs a label"
    return None


def _language_key_problem(code: str) -> str | None:
    """Why `code`, a key of `[languages]`, names no language as `locales` writes them; None if it does."""
    problem = code_problem(code)
    if problem and written_locale(code) is None:
        from babel.languages import get_official_languages

        # `mm` for Burmese is Myanmar's country code (ISO 3166), a common mistake.
        spoken = get_official_languages(code.upper()) if re.fullmatch(r"[A-Za-z]{2}", code) else ()
        problem += f"; did you mean '{spoken[0]}'? ('{code.upper()}' is a country)" if spoken else ""
    return problem


def _over_defaults(value: Any) -> Any:
    """Settings for one language add to the defaults of the others instead of replacing them all."""
    if not isinstance(value, dict):
        return value
    merged: dict[str, Any] = {
        code: msgspec.structs.asdict(language) for code, language in DEFAULT_LANGUAGES.items()
    }
    for code, given in value.items():
        merged[code] = {**merged.get(code, {}), **given} if isinstance(given, dict) else given
    return merged


def unknown_category(key: str, categories: Mapping[str, str]) -> str:
    """The message for a category key that is not among the configured `categories`."""
    names = ", ".join(categories)
    return f"unknown category '{key}'{did_you_mean(key, categories)} (configured categories: {names})"


# -- The declaration ------------------------------------------------------------------------


class Link(msgspec.Struct, frozen=True, kw_only=True):
    """A link in the footer, such as the organization's Facebook page."""

    label: Annotated[str, declared(nonempty=True, description="Text of the link.")]
    url: Annotated[str, declared(description="Where it points (http or https).", check=http_url)]


class Organization(msgspec.Struct, frozen=True, kw_only=True):
    """Who publishes the newsletter: shown in the masthead and the footer."""

    name: Annotated[str, declared(nonempty=True, description="Name of the publisher.")] = "Progressive Voice"
    address: Annotated[
        str,
        declared(description="Postal address for the footer (required by law for bulk mail in many places)."),
    ] = ""
    website: Annotated[str, declared(description="Home page.", check=http_url)] = (
        "https://progressivevoicemyanmar.org"
    )
    email: Annotated[
        str, declared(description="Contact address shown in the footer.", check=_optional_address)
    ] = ""
    links: Annotated[tuple[Link, ...], declared(description="Further footer links, in order.")] = ()


class Language(msgspec.Struct, frozen=True, kw_only=True):
    """How text in one language is set and read: fonts, line heights, reading speed."""

    font_family: Annotated[
        str,
        declared(
            nonempty=True,
            before=_font_stack,
            description="CSS font stack for body text; system fonts only (mail clients block web fonts).",
        ),
    ] = "Helvetica, Arial, sans-serif"
    serif_font_family: Annotated[
        str,
        declared(
            nonempty=True, before=_font_stack, description="CSS font stack for the title and standfirst."
        ),
    ] = "Georgia, 'Times New Roman', serif"
    line_height: Annotated[float, declared(ge=1.0, le=3.0, description="Line height of body text.")] = 1.6
    heading_line_height: Annotated[
        float, declared(ge=1.0, le=3.0, description="Line height of headings.")
    ] = 1.25
    reading_rate: Annotated[
        int,
        declared(
            ge=20,
            le=2000,
            description="Reading speed for the reading time: words per minute, or syllables per minute for scripts written without spaces (Burmese).",
        ),
    ] = 200
    font_size: Annotated[
        int, declared(ge=12, le=32, description="Size of body text in the email, in CSS pixels.")
    ] = 16
    small_font_size: Annotated[
        int,
        declared(
            ge=10,
            le=32,
            description="Size of small text in the email (by-lines, notes, footer), in CSS pixels.",
        ),
    ] = 13


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """A partner's feed, read by `broadsheet collect`: one `[[sources]]` table."""

    name: Annotated[
        str, declared(nonempty=True, description="Name of the source, shown in `collect`'s reports.")
    ]
    feed: Annotated[str, declared(description="URL of its RSS or Atom feed (http or https).", check=http_url)]
    category: Annotated[
        str | None,
        declared(description="Category key its entries go under; the first configured category when absent."),
    ] = None
    organization: Annotated[
        str | None,
        declared(description="Organization named in `by` of its entries; the feed's own title when absent."),
    ] = None


class Curation(msgspec.Struct, frozen=True, kw_only=True):
    """How `broadsheet add`, `collect` and `links` reach other sites."""

    timeout: Annotated[
        float,
        declared(gt=0, le=300, description="Seconds to wait for a site to answer before giving up on it."),
    ] = 15.0
    max_bytes: Annotated[
        int,
        declared(
            ge=10_000,
            description="Largest page or PDF read, in bytes; HTML beyond it is cut, a larger PDF fails.",
        ),
    ] = 20_000_000
    connections_per_host: Annotated[
        int, declared(ge=1, le=64, description="Connections open at once to one host (host and port).")
    ] = 4
    link_cache_hours: Annotated[
        float,
        declared(ge=0, description="How long a link found good is not checked again; 0 checks every time."),
    ] = 24.0


BURMESE_FONTS = (
    "'Noto Sans Myanmar', 'Myanmar Text', 'Myanmar Sangam MN', 'Myanmar MN', Pyidaungsu, Padauk, sans-serif"
)

DEFAULT_LANGUAGES = {
    # Burmese stacks marks above and below the line: tighter line heights clip them.
    "my": Language(
        font_family=BURMESE_FONTS,
        serif_font_family=BURMESE_FONTS,
        line_height=1.8,
        heading_line_height=1.8,
        reading_rate=250,
        # Myanmar letters are small for their line: below these sizes marks and small text blur.
        font_size=17,
        small_font_size=15,
    ),
}

DEFAULT_CATEGORIES = {
    "statements": "Statements and Press Releases",
    "reports": "Reports and Publications",
}


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything in `broadsheet.toml`; every key is optional."""

    locales: Annotated[
        tuple[str, ...],
        declared(
            nonempty=True,
            check=_known_locales,
            description="Editions to build, as locale codes; the first is the language issues are written in.",
        ),
    ] = ("en", "my")
    categories: Annotated[
        dict[str, str],
        declared(
            nonempty=True,
            description="Resource category keys and their display labels, in the order editors usually use them.",
        ),
    ] = msgspec.field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    organization: Annotated[
        Organization, declared(description="The publisher, shown in the masthead and footer.")
    ] = msgspec.field(default_factory=Organization)
    default_author: Annotated[
        str,
        declared(
            check=_not_blank,
            description="Author shown when an issue names none; the organization's name when empty.",
        ),
    ] = ""
    web_url: Annotated[
        str,
        declared(
            check=_folder_url,
            description="Base URL of the web archive; 'view in browser' links to WEB_URL/LOCALE/DATE/.",
        ),
    ] = "https://progressivevoicemyanmar.org/newsletter"
    feed_entries: Annotated[
        int,
        declared(
            ge=1,
            le=10_000,
            description="How many of the newest issues each locale's Atom feed holds; the archive's index lists them all.",
        ),
    ] = 20
    publication_weekday: Annotated[
        Weekday,
        declared(
            before=_lowercase,
            description="Day the newsletter goes out; `broadsheet new` dates the next issue on it.",
        ),
    ] = "thursday"
    text_width: Annotated[int, declared(ge=20, le=200, description="Line width of the plain-text part.")] = 72
    languages: Annotated[
        dict[str, Language],
        declared(
            before=_over_defaults,
            description="Per-language typography and reading speed, by language code; languages not listed use the defaults of `Language`. Burmese (`my`) has its own defaults.",
        ),
    ] = msgspec.field(default_factory=lambda: dict(DEFAULT_LANGUAGES))
    email_max_html_kb: Annotated[
        int,
        declared(
            ge=20,
            le=10_000,
            description="Size budget of each edition's HTML, in kilobytes of 1000 bytes (Gmail clips at about 102 KB): resources that do not fit are listed on the web edition instead.",
        ),
    ] = 90
    email_max_resources_per_category: Annotated[
        int | None,
        declared(
            ge=1,
            description="Most resources of one category listed in the email; the rest are on the web edition. No cap when empty.",
        ),
    ] = None
    send_incomplete_translations: Annotated[
        bool,
        declared(
            description="Whether an edition with text still in English (marked, with a note to readers) may be built and sent; false refuses it as `--strict` does."
        ),
    ] = True
    sender: Annotated[
        str,
        declared(
            nonempty=True,
            before=_quoted_sender,
            check=_sender,
            description="The From header of every email: `Name <address>`.",
        ),
    ] = "Progressive Voice <newsletter@progressivevoicemyanmar.org>"
    reply_to: Annotated[
        str, declared(description="The Reply-To header; none when empty.", check=_optional_address)
    ] = ""
    database_url: Annotated[
        str,
        declared(
            description="Where subscribers and the send ledger live: an SQLAlchemy URL (a relative SQLite path is relative to the project folder). The environment variable `BROADSHEET_DATABASE_URL` overrides it."
        ),
    ] = "sqlite:///broadsheet.db"
    transport: Annotated[
        str,
        declared(
            description="How mail leaves: `sendgrid`, an `smtp://user:pass@host:port` or `smtps://` URL, or `outbox:PATH` (one .eml file per message). The environment variable `BROADSHEET_TRANSPORT` overrides it."
        ),
    ] = "sendgrid"
    smtp_connections: Annotated[
        int,
        declared(
            ge=1,
            le=32,
            description="How many connections an `smtp://` or `smtps://` transport keeps open at once, each reused for many messages; after `kill -9` at most this many copies are of unknown fate.",
        ),
    ] = 4
    sendgrid_concurrency: Annotated[
        int,
        declared(
            ge=1,
            le=16,
            description="How many requests (of up to 1000 recipients each) the `sendgrid` transport has in flight at once; a rate limit pauses all of them.",
        ),
    ] = 4
    retry_base_seconds: Annotated[
        float,
        declared(
            gt=0,
            le=600,
            description="The first wait, in seconds, before trying again what certainly did not go (a connection that failed, a rate limit, a deferred copy); each further wait doubles, up to 30 times this.",
        ),
    ] = 5.0
    deferred_max_attempts: Annotated[
        int,
        declared(
            ge=1,
            le=1000,
            description="How many tries, over all runs, a copy the recipient's server keeps refusing for now (SMTP 4xx, such as a full mailbox) gets before it counts as failed.",
        ),
    ] = 12
    deferred_max_age_hours: Annotated[
        int,
        declared(
            ge=1,
            le=8760,
            description="How many hours after it was first deferred a copy counts as failed, however few tries it had.",
        ),
    ] = 72
    send_run_stale_seconds: Annotated[
        int,
        declared(
            ge=30,
            le=86400,
            description="How many seconds a `send` may go without writing its heartbeat (it writes one every fifth of this) before another `send` takes it for dead, wherever it ran, and settles the copies it held.",
        ),
    ] = 300
    unsubscribe_url: Annotated[
        str,
        declared(
            check=_token_url("unsubscribe"),
            description="The one-click unsubscribe link of each recipient; `{token}` becomes their signed token.",
        ),
    ] = "https://progressivevoicemyanmar.org/newsletter/unsubscribe/{token}"
    preferences_url: Annotated[
        str,
        declared(
            check=_token_url("preferences"),
            description="Each recipient's page for changing their name and language, linked from the footer; `{token}` becomes their signed token, the same as in the unsubscribe link.",
        ),
    ] = "https://progressivevoicemyanmar.org/newsletter/preferences/{token}"
    confirm_url: Annotated[
        str,
        declared(
            check=_token_url("confirm", optional=True),
            description="The link in the confirmation email of a sign-up on the `/subscribe` page (`/confirm/{token}` of `broadsheet serve`); `{token}` becomes its signed token. Empty: beside the unsubscribe pages, `unsubscribe_url` with `/confirm/{token}` for `/unsubscribe/{token}`.",
        ),
    ] = ""
    unsubscribe_email: Annotated[
        str,
        declared(
            check=_optional_address,
            description="An address for `mailto:` unsubscribes in the List-Unsubscribe header; none when empty.",
        ),
    ] = ""
    confirmation_max_age_days: Annotated[
        int,
        declared(
            ge=1,
            le=365,
            description="How many days the confirmation link of a sign-up on the `/subscribe` page stays valid; a new address that never confirmed is deleted after it.",
        ),
    ] = 7
    signup_limit_per_client: Annotated[
        str,
        declared(
            check=_rate_limit,
            description="How many sign-ups the `/subscribe` form takes from one client address (an IPv6 client: its /64 network), in the notation of the `limits` library: `20/hour`, or several limits such as `20/hour;100/day`. Behind a reverse proxy, see `broadsheet serve --forwarded-allow-ips`.",
        ),
    ] = "20/hour"
    signup_limit_per_address: Annotated[
        str,
        declared(
            check=_rate_limit,
            description="How many sign-ups the `/subscribe` form takes for one email address, in the same notation; at most one confirmation email an hour goes to an address whatever this says.",
        ),
    ] = "5/hour"
    signup_limit_total: Annotated[
        str,
        declared(
            check=_rate_limit,
            description="How many sign-ups the `/subscribe` form takes in all, from everyone, in the same notation: a ceiling on the confirmation emails sent should many clients sign up strangers at once.",
        ),
    ] = "200/hour"
    sendgrid_unsubscribe_group: Annotated[
        int | None,
        declared(
            description="SendGrid unsubscribe group id (ASM) for sends through SendGrid; none when empty. `suppressions sync` also marks those who left the group unsubscribed."
        ),
    ] = None
    webhook_max_age_seconds: Annotated[
        int,
        declared(
            ge=1,
            le=86400,
            description="How many seconds after SendGrid signed an Event Webhook post `broadsheet serve` still takes it; an older one (a captured post played again) is refused with 403, as is one signed more than a minute ahead of this machine's clock.",
        ),
    ] = 300
    sendgrid_webhook_public_key: Annotated[
        str,
        declared(
            description="The public key (base64) that checks the signatures of SendGrid's Event Webhook, from SendGrid's Mail Settings; `broadsheet serve` refuses every event without one. The environment variable `SENDGRID_WEBHOOK_PUBLIC_KEY` overrides it."
        ),
    ] = ""
    sources: Annotated[
        tuple[Source, ...],
        declared(
            description="Partners' feeds that `broadsheet collect` reads, one `[[sources]]` table each."
        ),
    ] = ()
    curation: Annotated[
        Curation,
        declared(
            description="Timeouts, size cap, connections and link-result memory of `add`, `collect` and `links`."
        ),
    ] = msgspec.field(default_factory=Curation)
    issues_dir: Annotated[str, declared(description="Folder of issue files.")] = "issues"
    templates_dir: Annotated[str, declared(description="Folder of Jinja2 templates.")] = "templates"
    locales_dir: Annotated[str, declared(description="Folder of gettext catalogs.")] = "locales"
    build_dir: Annotated[str, declared(description="Where `broadsheet build` writes by default.")] = "build"

    def __post_init__(self) -> None:
        if not self.default_author:
            msgspec.structs.force_setattr(self, "default_author", self.organization.name)

    @staticmethod
    def problems_across_fields(valid: Mapping[str, Any]) -> Iterator[tuple[Location, str]]:
        """Each source's category is a configured one, the error located at that source's `category`."""
        categories = valid.get("categories") or {}
        for key, label in categories.items():
            problem = _category_problem(key, label)
            if problem:
                yield ("categories", key), problem
        for code in valid.get("languages") or {}:
            problem = _language_key_problem(code)
            if problem:
                yield ("languages", code), problem
        for number, source in enumerate(valid.get("sources") or ()):
            if source.category is not None and categories and source.category not in categories:
                yield ("sources", number, "category"), unknown_category(source.category, categories)

    @property
    def source_locale(self) -> str:
        return self.locales[0]

    def language(self, locale: str) -> Language:
        """The typography of `locale`: its own settings, else those of its language, else the defaults."""
        code = locale.replace("-", "_").split("_")[0]
        return self.languages.get(locale) or self.languages.get(code) or Language()

    def other_languages(self, locale: str) -> dict[str, Language]:
        """The typography of each language but `locale` that a text in its edition may be marked in (the other
        locales, and those `[languages]` sets), by code, in order."""
        return {
            code: self.language(code) for code in sorted((set(self.locales) | set(self.languages)) - {locale})
        }


class Project(msgspec.Struct, frozen=True):
    """A project folder and its settings; the paths every stage reads from."""

    root: Path
    settings: Settings

    @property
    def issues_dir(self) -> Path:
        return self.root / self.settings.issues_dir

    @property
    def templates_dir(self) -> Path:
        return self.root / self.settings.templates_dir

    @property
    def locales_dir(self) -> Path:
        return self.root / self.settings.locales_dir

    @property
    def build_dir(self) -> Path:
        return self.root / self.settings.build_dir


def find_project(start: Path) -> Project:
    """The project whose `broadsheet.toml` is in `start` or its nearest parent.

    Without one anywhere above, `start` is the project and every setting takes
    its default.
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        path = folder / SETTINGS_FILE
        if path.is_file():
            return Project(folder, load_settings(path))
    return Project(start, Settings())


def load_settings(path: Path) -> Settings:
    display = str(path)
    content = read_limited(path, "settings", display)
    if is_utf16(content):
        raise InvalidInput([Diagnostic(display, 1, 0, "", "UTF-16 text, not UTF-8; save the file as UTF-8")])
    try:
        text = content.decode("utf-8-sig")
        raw = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            [Diagnostic(display, line, 0, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        line, col = _toml_position(str(exc), text)
        message = re.sub(r"\s*\(at line \d+, column \d+\)$", "", str(exc))
        if message == "Cannot overwrite a value" and (first := _set_before(text, line)):
            key, at = first
            raise InvalidInput(
                [Diagnostic(display, line, 1, key, f"set twice: first on line {at}; keep one of them")]
            ) from None
        raise InvalidInput([Diagnostic(display, line, col, "", f"not valid TOML: {message}")]) from None
    problems = list(_control_characters(raw, ()))
    try:
        settings = validate(Settings, raw)
    except Invalid as exc:
        problems += exc.problems
    if problems:
        raise InvalidInput(
            [
                Diagnostic(
                    display, _toml_line(text, problem.loc), 0, field_path(problem.loc), problem.message
                )
                for problem in problems
            ]
        )
    return settings


def _control_characters(value: Any, loc: Location) -> Iterator[Problem]:
    """A problem for each string in the TOML `value` that holds a control character, at its location."""
    if isinstance(value, str) and (control := control_character(value)):
        yield Problem(loc, f"Expected text without control characters but received {control}: {value!r}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _control_characters(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_characters(item, (*loc, index))


def _toml_position(message: str, text: str) -> tuple[int, int]:
    match = re.search(r"at line (\d+), column (\d+)", message)
    if match:
        return int(match.group(1)), int(match.group(2))
    # An array or string left open is only noticed at the end: point at the last line.
    return (max(1, len(text.splitlines())), 0) if "at end of document" in message else (0, 0)


_TOML_KEY = r"^\s*([A-Za-z0-9_.-]+|\"[^\"]*\")\s*="


def _set_before(text: str, line: int) -> tuple[str, int] | None:
    """The key set on `line` of `text` (with its table: `organization.sender`) and the line of the same table
    where it was first set, if there is one: where tomllib says only "Cannot overwrite a value", at the second."""
    lines = text.splitlines()
    key = re.match(_TOML_KEY, lines[line - 1]) if 0 < line <= len(lines) else None
    if key is None:
        return None
    first, table = None, ""
    for number in range(line - 1, 0, -1):
        if header := re.match(_TOML_HEADER, lines[number - 1]):
            table = f"{header.group(1)}."
            break
        if (earlier := re.match(_TOML_KEY, lines[number - 1])) and earlier.group(1) == key.group(1):
            first = number
    return (f"{table}{key.group(1)}", first) if first else None


_TOML_HEADER = r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$"


def _toml_line(text: str, loc: tuple[int | str, ...]) -> int:
    """The line where `loc` (a field's location, like `('organization', 'links', 2, 'url')`) is set in
    the valid TOML `text`, or that of its nearest ancestor; 0 if none is found.

    A key search, not a parser (tomllib keeps no positions): the table's `[header]`
    (for `[[header]]`, the one the index names), then each key's `key =` line after
    it, an index taking the n-th line of the key that follows. Comment lines are
    skipped; a `key =` inside a multi-line string could mislead it.
    """
    lines = text.splitlines()
    headers = [
        (number, tuple(part.strip().strip("\"'") for part in match.group(1).split(".")))
        for number, line in enumerate(lines)
        if (match := re.match(_TOML_HEADER, line))
    ]
    found, start, end, rest = 0, 0, headers[0][0] if headers else len(lines), loc
    for size in range(len(loc), 0, -1):
        following = loc[size] if size < len(loc) else None
        index = following if isinstance(following, int) else None
        matching = [number for number, name in headers if name == loc[:size]]
        if len(matching) > (index or 0):
            number = matching[index or 0]
            found, start = number + 1, number + 1
            end = next((later for later, _ in headers if later > number), len(lines))
            rest = loc[size + (index is not None) :]
            break
    skip = 0
    for part in rest:
        if isinstance(part, int):
            skip = part
            continue
        # `organization.name = ""` sets a key of a table on a line of its own: a part may end at a dot.
        key = re.compile(rf"""(?:^|[{{,\s.])["']?{re.escape(part)}["']?\s*[=.]""")
        hits = [
            number
            for number in range(start, end)
            if not lines[number].lstrip().startswith("#") and key.search(lines[number])
        ]
        if len(hits) <= skip:
            break
        found, start, skip = hits[skip] + 1, hits[skip], 0
    return found
