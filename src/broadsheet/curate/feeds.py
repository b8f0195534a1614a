"""Partners' feeds: RSS 2.0, RSS 1.0 and Atom through feedparser, fetched with `ETag`/`Last-Modified`.

A feed that has not changed answers 304; its last body is kept under the
build folder (`.cache/feeds/`), because another issue's window may need
entries already read once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser
from selectolax.lexbor import LexborHTMLParser

from .fetch import Fetcher
from .metadata import tidy


class NotAFeed(Exception):
    """A document that is not an RSS or Atom feed."""


@dataclass(frozen=True)
class Entry:
    title: str | None
    link: str
    """Absolute when the feed's was relative; `""` when the entry has none."""
    published: date | None
    date_written: str | None = None
    """The date as the feed wrote it, read or not."""


@dataclass(frozen=True)
class Feed:
    title: str | None
    entries: tuple[Entry, ...]


def parse_feed(content: bytes, url: str) -> Feed:
    """The entries of the RSS or Atom document at `url`, their relative links read against it; `NotAFeed` for
    anything else, named by the parser's complaint."""
    parsed = feedparser.parse(content)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        raise NotAFeed(f"not an RSS or Atom feed ({problem})" if problem else "not an RSS or Atom feed")
    entries = tuple(Entry(_title(entry), _link(entry, url), *_date(entry)) for entry in parsed.entries)
    return Feed(_title(parsed.feed), entries)


def _title(element: Any) -> str | None:
    """An entry's or the feed's title as text. feedparser gives the markup of one that is HTML (Atom's
    `type="html"` or `"xhtml"`, an RSS title with tags): `<em>urgent</em> call` is `urgent call`."""
    title = element.get("title")
    if not isinstance(title, str):
        return None
    if element.get("title_detail", {}).get("type") in ("text/html", "application/xhtml+xml"):
        title = LexborHTMLParser(title).text(deep=True)
    return tidy(title)


def _link(entry: Any, url: str) -> str:
    # feedparser resolves against an `xml:base`; what is still relative is relative to the feed (RFC 3986, 5.1.3).
    link = str(entry.get("link") or "").strip()
    try:
        return urljoin(url, link) if link else ""
    except ValueError:
        return link


def _date(entry: Any) -> tuple[date | None, str | None]:
    # dict.get: FeedParserDict's own maps a missing `updated_parsed` to `published_parsed`, with a DeprecationWarning.
    moment = next(
        (
            dict.get(entry, key)
            for key in ("published_parsed", "updated_parsed", "created_parsed")
            if dict.get(entry, key)
        ),
        None,
    )
    written = next(
        (str(dict.get(entry, key)) for key in ("published", "updated", "created") if dict.get(entry, key)),
        None,
    )
    return (date(*moment[:3]) if moment else None), written  # feedparser's struct_times are in UTC


class FeedCache:
    """The last body of each feed and its validators, under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self.folder / f"{key}.json", self.folder / f"{key}.xml"

    def validators(self, url: str) -> dict[str, str]:
        meta, body = self._paths(url)
        if not (meta.is_file() and body.is_file()):
            return {}
        try:
            saved = json.loads(meta.read_text(encoding="utf-8"))
        except ValueError:
            return {}
        headers = {"If-None-Match": saved.get("etag"), "If-Modified-Since": saved.get("last_modified")}
        return {name: value for name, value in headers.items() if isinstance(value, str) and value}

    def body(self, url: str) -> bytes:
        return self._paths(url)[1].read_bytes()

    def keep(self, url: str, content: bytes, etag: str | None, last_modified: str | None) -> None:
        meta, body = self._paths(url)
        self.folder.mkdir(parents=True, exist_ok=True)
        body.write_bytes(content)
        meta.write_text(
            json.dumps({"url": url, "etag": etag, "last_modified": last_modified}), encoding="utf-8"
        )


async def fetch_feed(fetcher: Fetcher, cache: FeedCache, url: str) -> Feed:
    """The feed at `url`, asked for only if it changed since the last time; `FetchError` or `NotAFeed` when it fails."""
    fetched = await fetcher.get(url, cache.validators(url))
    if fetched.status == 304:
        return parse_feed(cache.body(url), fetched.final_url)
    feed = parse_feed(fetched.content, fetched.final_url)
    etag, modified = fetched.headers.get("etag"), fetched.headers.get("last-modified")
    if etag or modified:
        cache.keep(url, fetched.content, etag, modified)
    return feed
