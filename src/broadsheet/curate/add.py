"""`broadsheet add`: resources made from their URLs, read from each page and written under a category."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml

from .. import burmese
from ..errors import UsageError
from ..issue import issue_files
from ..schema import did_you_mean, url_problem
from ..settings import Project, Settings, Source
from .edit import IssueText, NewResource
from .fetch import Fetched, Fetcher, FetchError, user_agent
from .metadata import PageMetadata, Unreadable, read_document, title_language
from .urls import clean, same_page, site_of


class Unusable(Exception):
    """A page read, but not one a resource can be made of as it is (no title, a Zawgyi title without PyICU)."""


@dataclass(frozen=True)
class Outcome:
    """What became of one URL."""

    url: str
    status: Literal["added", "present", "failed"]
    message: str
    category: str | None = None
    resource: NewResource | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddReport:
    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> bool:
        return any(outcome.status == "failed" for outcome in self.outcomes)


@dataclass
class Archive:
    """What every issue file already holds: its resource URLs (by issue) and the spelling of each organization."""

    published: dict[str, str] = field(default_factory=dict)
    """The issue file that first published each page, by its `same_page` key."""
    names: dict[str, str] = field(default_factory=dict)

    def spelled(self, name: str) -> str:
        """`name` as the names catalog and earlier issues write it, so that its translation applies."""
        return self.names.get(" ".join(name.split()).casefold(), name)


def read_archive(project: Project, *, leave_out: Path | None = None) -> Archive:
    """URLs and names of every issue under `issues/` (but `leave_out`), and the names of `locales/names.pot`."""
    from ..catalogs import NAMES, template_path

    archive = Archive()
    pot = template_path(project, NAMES)
    if pot.is_file():
        from babel.messages.pofile import read_po

        with pot.open("rb") as handle:
            for message in read_po(handle):
                if isinstance(message.id, str) and message.id:
                    archive.names.setdefault(message.id.casefold(), message.id)
    skip = leave_out.resolve() if leave_out else None
    for path in issue_files(project.issues_dir):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        resources = data.get("resources") if isinstance(data, dict) else None
        for items in resources.values() if isinstance(resources, dict) else ():
            for item in items if isinstance(items, list) else ():
                if not isinstance(item, dict):
                    continue
                names = item.get("by")
                for name in [names] if isinstance(names, str) else names if isinstance(names, list) else []:
                    if isinstance(name, str) and name.strip():
                        archive.names.setdefault(" ".join(name.split()).casefold(), name)
                if isinstance(item.get("url"), str) and path.resolve() != skip:
                    archive.published.setdefault(same_page(item["url"]), _shown(project, path))
    return archive


def _shown(project: Project, path: Path) -> str:
    try:
        return path.relative_to(project.root).as_posix()
    except ValueError:
        return str(path)


def source_for(settings: Settings, url: str) -> Source | None:
    """The declared source whose feed is on the site of `url`."""
    return next((source for source in settings.sources if site_of(source.feed) == site_of(url)), None)


def choose_category(settings: Settings, given: str | None, source: Source | None) -> str:
    """`given` (checked), else the source's category, else the first configured one."""
    if given is not None:
        if given not in settings.categories:
            raise UsageError(
                f"unknown category '{given}'{did_you_mean(given, settings.categories)} (configured categories: {', '.join(settings.categories)})"
            )
        return given
    if source is not None and source.category:
        return source.category
    return next(iter(settings.categories))


_MISSING_PAGE = re.compile(
    r"^\W*(error\W*)?404\b"
    r"|^\W*(404\W*)?not\s+found\W*$"
    r"|\bpage\b.{0,30}?\b(not\s+(be\s+)?found|can\W?t\s+be\s+found|cannot\s+be\s+found|no\s+longer\s+exists)"
    r"|စာမျက်နှာ.{0,20}?(ရှာ\s*)?မတွေ့",
    re.IGNORECASE,
)
"""A title that says its page is missing: a site answering 200 with its "page not found" page (WordPress's
`Page not found`, `404`, `Error 404 - ...`, a Burmese site's `စာမျက်နှာ ရှာမတွေ့ပါ`). Not a report's title that
speaks of something not found: only a page, or the whole title."""


def make_resource(
    settings: Settings,
    archive: Archive,
    url: str,
    page: PageMetadata,
    *,
    title: str | None = None,
    by: Sequence[str] = (),
    organization: str | None = None,
) -> tuple[NewResource, list[str]]:
    """The resource for `url` from what its page says, `title` and `by` overriding it; `Unusable` when it has no usable title."""
    warnings: list[str] = []
    chosen = title or page.title
    if not chosen and page.platform:
        raise Unusable(
            f"found no title on the page: {page.platform} shows it only to a browser, or to one signed in; "
            "give one with --title"
        )
    if not chosen:
        raise Unusable("found no title on the page; give one with --title")
    if not title and _MISSING_PAGE.search(chosen):
        raise Unusable(
            f"the page answered, but its title says it is missing ({chosen!r}): check the URL, or give the "
            "title with --title to add it all the same"
        )
    chosen = _unicode(chosen, "the title", "give the title with --title", warnings)
    names = tuple(
        _unicode(name, f"the organization {name!r}", "give the organizations with --by", warnings)
        for name in (
            tuple(by)
            or tuple(archive.spelled(name) for name in page.organizations)
            or ((organization,) if organization else ())
        )
    )
    if not by:
        warnings += page.notes
    if page.platform and not names:
        warnings.append(
            f"the page is on {page.platform}, which does not say who published it: give the organizations with --by"
        )
    lang = title_language(chosen, page.lang)
    source_language = settings.source_locale.replace("-", "_").split("_")[0]
    return NewResource(chosen, url, names, lang if lang and lang != source_language else None), warnings


def _unicode(text: str, what: str, instead: str, warnings: list[str]) -> str:
    """`text` in Unicode, converted (with a warning) when it is Zawgyi-encoded, as `check` would refuse it."""
    if not burmese.is_zawgyi(text):
        return text
    try:
        converted = burmese.zawgyi_to_unicode(text)
    except burmese.ZawgyiConversionUnavailable:
        raise Unusable(
            f"{what} is Zawgyi-encoded Burmese and converting it to Unicode needs PyICU: "
            f"pip install 'broadsheet[zawgyi]', then run the command again (or {instead})"
        ) from None
    warnings.append(f"{what} was Zawgyi-encoded Burmese; converted to Unicode")
    return converted


@dataclass(frozen=True)
class Page:
    fetched: Fetched
    metadata: PageMetadata

    @property
    def url(self) -> str:
        """The URL to publish: where permanent redirects lead, or the page an AMP copy is of; without tracking."""
        canonical = self.metadata.canonical
        return clean(
            canonical if canonical and url_problem(canonical) is None else self.fetched.permanent_url
        )


async def read_page(fetcher: Fetcher, url: str) -> Page:
    """Fetch and read `url`; `FetchError` or `Unreadable` with the cause."""
    fetched = await fetcher.get(url)
    try:
        page = Page(fetched, read_document(fetched))
    except Unreadable as exc:
        raise Unreadable(str(exc), fetched) from None
    wall = _wall(page)
    if wall:
        # What the page says is the wall's (Google's title, Google as its site): the editor names both.
        raise Unreadable(wall, fetched, "its title with --title and its organizations with --by")
    return page


@dataclass(frozen=True)
class _Wall:
    """A page that a site puts in front of the one asked for until a browser's visitor clicks through it."""

    kind: str
    title: re.Pattern[str]
    """Its title, whole."""
    address: re.Pattern[str]
    """Where a site redirects to it: host and path of the URL, without `www.`."""


_WALLS = (
    _Wall(
        "consent",
        re.compile(
            r"before you continue(?: to \w+(?: \w+)?)?|cookie (?:consent|settings|preferences)"
            r"|(?:we value )?your privacy(?: choices)?|privacy (?:settings|preferences|choices)|consent required"
            r"|.* is part of the yahoo family of brands",
            re.IGNORECASE,
        ),
        # Google's and YouTube's consent.google.com, consent.youtube.com; Yahoo's consent.yahoo.com, guce.yahoo.com.
        re.compile(r"(?:consent|guce)\.[^/]+/.*", re.IGNORECASE),
    ),
    _Wall(
        "login",
        re.compile(
            r"log ?in(?:to| to)? facebook\b.*|(?:facebook \W )?log in or sign up(?: to view)?|log ?in|sign ?in",
            re.IGNORECASE,
        ),
        # Facebook's /login/?next=..., Instagram's /accounts/login/, X's /i/flow/login.
        re.compile(r"[^/]+/(?:accounts/|i/flow/)?login(?:\.php)?(?:/.*)?", re.IGNORECASE),
    ),
    _Wall(
        # Cloudflare's (fetch.challenged knows its 403; a site may answer it as a success), DDoS-Guard's, Vercel's.
        "bot check",
        re.compile(
            r"just a moment(?:\.\.\.|\u2026)?|attention required! \| cloudflare|checking your browser.*"
            r"|ddos-guard|vercel security checkpoint",
            re.IGNORECASE,
        ),
        re.compile(r"(?!)"),
    ),
)


def _wall(page: Page) -> str | None:
    """What to say of a consent or login page answered for the one asked for, or None for the page itself.

    Known by its whole title ("Before you continue to Google", "We value your privacy", "Log into Facebook"),
    or, after a redirect, by its address (consent.google.com): a cookie wall answered as a success would be
    added under its own title."""
    fetched, title = page.fetched, page.metadata.title or ""
    moved = same_page(fetched.final_url) != same_page(fetched.url)
    parts = urlsplit(fetched.final_url)
    address = f"{(parts.hostname or '').removeprefix('www.')}{parts.path}"
    for wall in _WALLS:
        if wall.title.fullmatch(title.strip()) or (moved and wall.address.fullmatch(address)):
            if not moved:
                return f"answered with a {wall.kind} page ({title!r}) rather than the page"
            named = f"{title!r}, " if title else ""
            return f"redirected to a {wall.kind} page ({named}{fetched.final_url}) rather than the page"
    return None


def add_resources(
    project: Project,
    path: Path,
    urls: Sequence[str],
    *,
    category: str | None = None,
    by: Sequence[str] = (),
    title: str | None = None,
) -> AddReport:
    """Read each URL and write it as a resource into the issue at `path`; every other byte of the file stays."""
    settings = project.settings
    if category is not None:
        choose_category(settings, category, None)
    issue = IssueText(path)
    archive = read_archive(project, leave_out=path)
    in_issue = {same_page(located.url) for located in issue.resource_urls()}
    outcomes: dict[int, Outcome] = {}
    wanted: dict[int, str] = {}
    asked: set[str] = set()
    for number, url in enumerate(urls):
        problem = url_problem(url)
        if problem:
            # What `check` would say of it in the issue.
            outcomes[number] = Outcome(url, "failed", problem)
            continue
        page = same_page(url)
        if page in in_issue or page in asked:
            outcomes[number] = Outcome(url, "present", "already in this issue; not added again")
        else:
            wanted[number] = clean(url)
            asked.add(page)
    pages = asyncio.run(_read_all(settings, list(wanted.values())))
    issue = issue.reread()
    in_issue |= {same_page(located.url) for located in issue.resource_urls()}
    additions: dict[str, list[NewResource]] = {}
    for (number, cleaned), read in zip(wanted.items(), pages, strict=True):
        url = urls[number]
        if isinstance(read, Unreadable) and read.fetched is not None and title:
            # A Word document, an image: what it is called, the editor says.
            read = Page(read.fetched, PageMetadata())
        if isinstance(read, FetchError):
            outcomes[number] = Outcome(url, "failed", read.cause)
            continue
        if isinstance(read, Unreadable):
            hint = f"; give {read.asks} to add it all the same" if read.fetched else ""
            outcomes[number] = Outcome(url, "failed", f"{read}{hint}")
            continue
        published = read.url
        page = same_page(published)
        if page in in_issue:
            outcomes[number] = Outcome(
                url, "present", f"already in this issue as {published}; not added again"
            )
            continue
        source = source_for(settings, published) or source_for(settings, cleaned)
        chosen = choose_category(settings, category, source)
        try:
            resource, warnings = make_resource(
                settings,
                archive,
                published,
                read.metadata,
                title=title,
                by=by,
                organization=source.organization if source else None,
            )
        except Unusable as exc:
            outcomes[number] = Outcome(url, "failed", str(exc))
            continue
        if page in archive.published:
            warnings.append(f"already published in {archive.published[page]}")
        in_issue.add(page)
        additions.setdefault(chosen, []).append(resource)
        outcomes[number] = Outcome(url, "added", f"added under {chosen}", chosen, resource, tuple(warnings))
    if additions:
        issue.write(issue.with_resources(additions, list(settings.categories)))
    return AddReport(tuple(outcomes[number] for number in sorted(outcomes)))


async def _read_all(settings: Settings, urls: Sequence[str]) -> list[Page | FetchError | Unreadable]:
    async with Fetcher(settings.curation, user_agent(settings.organization.website)) as fetcher:
        return await asyncio.gather(*(read_or_failure(fetcher, url) for url in urls))


async def read_or_failure(fetcher: Fetcher, url: str) -> Page | FetchError | Unreadable:
    """`read_page`, its failure returned rather than raised, for `asyncio.gather`."""
    try:
        return await read_page(fetcher, url)
    except (FetchError, Unreadable) as exc:
        return exc
