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

import feedparser

from .fetch import Fetcher
from .metadata import tidy


class NotAFeed(Exception):
    """A document that is not an RSS or Atom feed."""


@dataclass(frozen=True)
class Entry:
    title: str | None
    link: str
    published: date | None


@dataclass(frozen=True)
class Feed:
    title: str | None
    entries: tuple[Entry, ...]


def parse_feed(content: bytes) -> Feed:
    """The entries of an RSS or Atom document; `NotAFeed` for anything else, named by the parser's complaint."""
    parsed = feedparser.parse(content)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        raise NotAFeed(f"not an RSS or Atom feed ({problem})" if problem else "not an RSS or Atom feed")
    entries = tuple(
        Entry(tidy(entry.get("title")), str(entry["link"]).strip(), _date(entry))
        for entry in parsed.entries
        if entry.get("link")
    )
    return Feed(tidy(parsed.feed.get("title")), entries)


def _date(entry: Any) -> date | None:
    moment = entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
    return date(*moment[:3]) if moment else None  # feedparser's struct_times are in UTC


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
        return parse_feed(cache.body(url))
    feed = parse_feed(fetched.content)
    etag, modified = fetched.headers.get("etag"), fetched.headers.get("last-modified")
    if etag or modified:
        cache.keep(url, fetched.content, etag, modified)
    return feed
