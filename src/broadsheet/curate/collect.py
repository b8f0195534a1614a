"""`broadsheet collect`: the week's entries of every partner's feed, added to the issue like `add` does.

Entries count when published after the previous issue and up to this one's
date. What collect offered is remembered per issue in the project's
database, so that an entry the editor deleted is not offered again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..delivery.store import project_store
from ..errors import BroadsheetError, UsageError
from ..issue import issue_files
from ..schema import iso_date
from ..settings import Project, Source
from . import memory
from .add import Archive, Page, Unusable, choose_category, make_resource, read_archive, read_or_failure
from .edit import IssueText, NewResource
from .feeds import Entry, Feed, FeedCache, NotAFeed, fetch_feed
from .fetch import Fetcher, FetchError, user_agent
from .metadata import PageMetadata, Unreadable, aggregator_of, feed_publisher
from .urls import clean, is_http, same_page

Progress = Callable[[int, int, str], None]
"""Told `(done, total, what)` as feeds and pages arrive."""


@dataclass
class CollectReport:
    since: date
    until: date
    added: dict[str, list[NewResource]] = field(default_factory=dict)
    already_published: int = 0
    already_offered: int = 0
    undated: int = 0
    """Entries without a date in the feed or on their page."""
    unreadable_dates: list[str] = field(default_factory=list)
    """Dates, as the feed wrote them, that could not be read (and that the page did not make up for)."""
    not_http: list[str] = field(default_factory=list)
    """Links of entries that have none that is http(s), as the feed wrote them (`""` for none)."""
    failed_feeds: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def added_count(self) -> int:
        return sum(len(items) for items in self.added.values())


@dataclass(frozen=True)
class _Candidate:
    source: Source
    feed: Feed
    entry: Entry
    url: str


def previous_issue_date(project: Project, issue_date: date) -> date | None:
    """The date of the latest issue file dated before `issue_date`."""
    dates = (iso_date(path.stem) for path in issue_files(project.issues_dir))
    earlier = [day for day in dates if day is not None and day < issue_date]
    return max(earlier) if earlier else None


def collect(
    project: Project, path: Path, *, since: date | None = None, progress: Progress | None = None
) -> CollectReport:
    """Add to the issue at `path` the entries of every source published in its window; see the module's docstring."""
    settings = project.settings
    if not settings.sources:
        raise BroadsheetError(
            "no sources to collect from: declare each partner's feed as a [[sources]] table in broadsheet.toml (see docs/settings.md)"
        )
    issue = IssueText(path)
    try:
        until = date.fromisoformat(issue.date or "")
    except ValueError:
        raise BroadsheetError(
            f"{issue.display}: the issue has no valid date (YYYY-MM-DD); run broadsheet check on it"
        ) from None
    start = since or previous_issue_date(project, until)
    if start is None:
        raise UsageError(
            f"no issue before {until} in {settings.issues_dir}/ to collect since; give --since DATE"
        )
    report = CollectReport(start, until)
    archive = read_archive(project)
    # Pages by their `same_page` keys: one page written two ways is offered once.
    published = set(archive.published) | {same_page(located.url) for located in issue.resource_urls()}
    with project_store(project) as engine:
        offered = {same_page(url) for url in memory.offered(engine, until.isoformat())}
        candidates, pages = asyncio.run(
            _fetch(project, settings.sources, report, progress, published, offered)
        )
        remembered: list[str] = []
        for candidate, page in zip(candidates, pages, strict=True):
            made = _resource(project, archive, candidate, page, report, published, offered)
            if made is None:
                continue  # not offered (out of the window, no usable title): a later run may offer it
            category, resource, notes = made
            remembered += [candidate.url, resource.url]
            published.add(same_page(resource.url))
            report.added.setdefault(category, []).append(resource)
            report.notes += notes
        if report.added:
            issue = issue.reread()
            issue.write(issue.with_resources(report.added, list(settings.categories)))
        memory.remember(engine, until.isoformat(), remembered)
    return report


async def _fetch(
    project: Project,
    sources: Sequence[Source],
    report: CollectReport,
    progress: Progress | None,
    published: set[str],
    offered: set[str],
) -> tuple[list[_Candidate], list[Page | FetchError | Unreadable]]:
    settings = project.settings
    cache = FeedCache(project.build_dir / ".cache" / "feeds")
    done = 0
    total = len(sources)

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, what)

    async with Fetcher(settings.curation, user_agent(settings.organization.website)) as fetcher:

        async def one_feed(source: Source) -> Feed | None:
            try:
                return await fetch_feed(fetcher, cache, source.feed)
            except (FetchError, NotAFeed) as exc:
                report.failed_feeds.append(
                    (source.name, exc.cause if isinstance(exc, FetchError) else str(exc))
                )
                return None
            finally:
                tick(source.name)

        feeds = await asyncio.gather(*(one_feed(source) for source in sources))
        candidates: list[_Candidate] = []
        seen: set[str] = set()
        for source, feed in zip(sources, feeds, strict=True):
            if feed is None:
                continue
            for entry in feed.entries:
                if entry.published is not None and not report.since < entry.published <= report.until:
                    continue
                if not is_http(entry.link):
                    report.not_http.append(entry.link)
                    continue
                url = clean(entry.link)
                page = same_page(url)
                if page in seen:
                    continue
                seen.add(page)
                if page in published:
                    report.already_published += 1
                elif page in offered:
                    report.already_offered += 1
                else:
                    candidates.append(_Candidate(source, feed, entry, url))
        total += len(candidates)

        async def one_page(candidate: _Candidate) -> Page | FetchError | Unreadable:
            try:
                return await read_or_failure(fetcher, candidate.url)
            finally:
                tick(candidate.entry.title or candidate.url)

        pages = await asyncio.gather(*(one_page(candidate) for candidate in candidates))
    return candidates, list(pages)


def _resource(
    project: Project,
    archive: Archive,
    candidate: _Candidate,
    page: Page | FetchError | Unreadable,
    report: CollectReport,
    published: set[str],
    offered: set[str],
) -> tuple[str, NewResource, list[str]] | None:
    """The resource for one entry, the page filling in what the feed lacks; None when it is not to be offered."""
    settings = project.settings
    entry, source = candidate.entry, candidate.source
    notes: list[str] = []
    if not isinstance(page, Page):
        cause = page.cause if isinstance(page, FetchError) else str(page)
        # A document read but not understood (a Word file) is published where its permanent redirects lead, as a
        # page is: a feed's link through a tracker (feeds.feedburner.com) is no address to give readers.
        fetched = page.fetched if isinstance(page, Unreadable) else None
        metadata, url = PageMetadata(), fetched.permanent_url if fetched else candidate.url
        notes.append(f"{url}: the page could not be read ({cause}); added from the feed alone")
    else:
        metadata, url = page.metadata, page.url
    page_key = same_page(url)
    moved = page_key != same_page(candidate.url)
    if moved and page_key in published:
        report.already_published += 1
        return None
    if moved and page_key in offered:
        report.already_offered += 1
        return None
    when = entry.published or metadata.published
    if when is None:
        if entry.date_written:
            report.unreadable_dates.append(entry.date_written)
        else:
            report.undated += 1
        return None
    if not report.since < when <= report.until:
        return None
    # A feed's title names who publishes it, unless its pages are an aggregator's (ReliefWeb's "Myanmar" feed):
    # then each page names its own sources. An organization the editor set for the feed wins all the same.
    by_page = isinstance(page, Page) and aggregator_of(url) is not None and bool(metadata.organizations)
    feed = candidate.feed.title
    organization = source.organization or (
        None if by_page or not feed else feed_publisher(feed, source.feed, metadata)
    )
    try:
        resource, warnings = make_resource(
            settings,
            archive,
            url,
            metadata,
            title=entry.title,
            by=(archive.spelled(organization),) if organization else (),
        )
    except Unusable as exc:
        notes.append(f"{url}: {exc}")
        return None
    notes += [f"{url}: {warning}" for warning in warnings]
    return choose_category(settings, None, source), resource, notes


def summary(report: CollectReport) -> list[str]:
    """The closing lines of `collect`: added per category, skipped, failed feeds."""
    counts = Counter({category: len(items) for category, items in report.added.items()})
    added = ", ".join(f"{count} under {category}" for category, count in counts.items()) or "nothing"
    lines = [f"collected entries published after {report.since} up to {report.until}: added {added}"]
    if report.already_published:
        lines.append(f"skipped {report.already_published} already published in an issue")
    if report.already_offered:
        lines.append(f"skipped {report.already_offered} offered before for this issue")
    if report.undated:
        lines.append(f"skipped {report.undated} without a date, in the feed or on its page")
    if report.unreadable_dates:
        lines.append(
            f"skipped {len(report.unreadable_dates)} whose date could not be read{_example(report.unreadable_dates)}"
        )
    if report.not_http:
        lines.append(f"skipped {len(report.not_http)} without an http(s) link{_example(report.not_http)}")
    lines += [f"feed failed: {name}: {cause}" for name, cause in report.failed_feeds]
    return lines


def _example(written: Sequence[str]) -> str:
    """`: 'x'` for one, `, such as 'x'` for more: what the feed wrote, for the editor to find it there."""
    shown = next((text for text in written if text), None)
    if shown is None:
        return ""
    return f": {shown!r}" if len(written) == 1 else f", such as {shown!r}"
