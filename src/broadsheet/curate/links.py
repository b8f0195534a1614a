"""`broadsheet links`: every URL of an issue checked at once, each broken one reported at its place.

Results found good are remembered in `BUILD_DIR/.cache/links.json` for
`link_cache_hours`: a cache that anyone may delete with the build folder,
kept out of the project's database so that checking links needs none.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic, Severity
from ..settings import Project
from .edit import IssueText, LocatedURL
from .fetch import Fetched, Fetcher, FetchError, challenged, redirected, refusal, user_agent
from .urls import clean, is_http


@dataclass(frozen=True)
class LinkResult:
    """How one URL answered: broken (with why), moved permanently (with where), or good."""

    url: str
    broken: str | None = None
    moved_to: str | None = None
    note: str | None = None
    """Neither good nor broken: a server that answered `429 Too Many Requests` to the last try, or a bot check."""


@dataclass(frozen=True)
class LinksReport:
    diagnostics: tuple[Diagnostic, ...]
    checked: int
    """URLs requested in this run (the others came from the cache)."""
    fixed: int = 0

    @property
    def broken(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


class ResultCache:
    """Good results by URL, with the time they were found (`{url: [seconds since the epoch, moved_to or null]}`), as a JSON file."""

    def __init__(self, path: Path, hours: float) -> None:
        self.path = path
        self.seconds = hours * 3600
        self.entries: dict[str, tuple[float, str | None]] = {}
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
        for url, entry in saved.items() if isinstance(saved, dict) else ():
            if (
                isinstance(entry, list)
                and len(entry) == 2
                and isinstance(entry[0], float | int)
                and isinstance(entry[1], str | None)
            ):
                self.entries[url] = (float(entry[0]), entry[1])

    def fresh(self, url: str, now: float) -> LinkResult | None:
        entry = self.entries.get(url)
        if entry is None or now - entry[0] > self.seconds:
            return None
        return LinkResult(url, moved_to=entry[1])

    def keep(self, results: Sequence[LinkResult], now: float) -> None:
        for result in results:
            if result.broken is None and result.note is None:
                self.entries[result.url] = (now, result.moved_to)
        kept = {
            url: list(entry) for url, entry in sorted(self.entries.items()) if now - entry[0] <= self.seconds
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(kept, indent=0), encoding="utf-8")


def judge(url: str, fetched: Fetched, timeout: float) -> LinkResult:
    if fetched.status == 429 or challenged(fetched):
        return LinkResult(url, note=f"{refusal(fetched, timeout)}; not checked")
    if fetched.status >= 400:
        return LinkResult(url, broken=redirected(refusal(fetched, timeout), url, fetched.final_url))
    moved = clean(fetched.permanent_url) if fetched.permanent_url != url else None
    return LinkResult(url, moved_to=moved)


async def check_urls(fetcher: Fetcher, urls: Sequence[str]) -> list[LinkResult]:
    """Each URL's result, all at once (the fetcher bounds connections per host)."""

    async def one(url: str) -> LinkResult:
        try:
            return judge(url, await fetcher.probe(url), fetcher.curation.timeout)
        except FetchError as exc:
            return LinkResult(url, broken=exc.cause)

    return list(await asyncio.gather(*(one(url) for url in urls)))


def check_links(project: Project, path: Path, *, fix: bool = False, now: float | None = None) -> LinksReport:
    """Check every URL of the issue at `path`; with `fix`, write the new URL of each permanent redirect into it."""
    settings = project.settings
    issue = IssueText(path)
    located = [link for link in issue.urls() if is_http(link.url)]
    moment = time.time() if now is None else now
    cache = ResultCache(project.build_dir / ".cache" / "links.json", settings.curation.link_cache_hours)
    results: dict[str, LinkResult] = {}
    for link in located:
        cached = cache.fresh(link.url, moment)
        if cached is not None:
            results[link.url] = cached
    asked = [url for url in dict.fromkeys(link.url for link in located) if url not in results]
    if asked:
        fresh = asyncio.run(_check(project, asked))
        results.update((result.url, result) for result in fresh)
        cache.keep(fresh, moment)
        # Links saved meanwhile are checked the next time; the others are reported where they are now.
        issue = issue.reread()
        located = [link for link in issue.urls() if link.url in results]
    diagnostics = [d for link in located if (d := _diagnostic(issue, link, results[link.url], fix=fix))]
    fixed = 0
    if fix:
        moves = [(link, results[link.url].moved_to) for link in located if results[link.url].moved_to]
        if moves:
            issue.write(issue.with_replaced([(link, str(new)) for link, new in moves]))
            fixed = len(moves)
    return LinksReport(tuple(diagnostics), len(asked), fixed)


async def _check(project: Project, urls: Sequence[str]) -> list[LinkResult]:
    settings = project.settings
    async with Fetcher(settings.curation, user_agent(settings.organization.website)) as fetcher:
        return await check_urls(fetcher, urls)


def _diagnostic(issue: IssueText, link: LocatedURL, result: LinkResult, *, fix: bool) -> Diagnostic | None:
    def at(message: str, severity: Severity) -> Diagnostic:
        return Diagnostic(issue.display, link.line, link.col, link.field, message, severity)

    if result.broken:
        return at(result.broken, Severity.ERROR)
    if result.note:
        return at(result.note, Severity.WARNING)
    if result.moved_to:
        then = "replaced by it" if fix else "broadsheet links --fix writes it"
        return at(f"moved permanently to {result.moved_to}; {then}", Severity.WARNING)
    return None
