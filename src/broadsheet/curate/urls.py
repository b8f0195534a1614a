"""The URL an editor should publish: tracking parameters removed, everything else kept as written."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_TRACKING = re.compile(r"utm_[^=&]*|fbclid|gclid|mc_cid|mc_eid", re.IGNORECASE)


def clean(url: str) -> str:
    """`url` without `utm_*`, `fbclid`, `gclid`, `mc_cid` and `mc_eid`; the other parameters keep their order and spelling."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [
        pair for pair in parts.query.split("&") if pair and not _TRACKING.fullmatch(pair.split("=", 1)[0])
    ]
    return urlunsplit(parts._replace(query="&".join(kept)))


def is_http(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host and no spaces."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host) and not any(ch.isspace() for ch in url)


def host_of(url: str) -> str:
    """Host and port, the unit that connections are bounded by."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a number from 0 to 65535: the request fails, and says so, on its own
        port = None
    return f"{(parts.hostname or '').lower()}:{port or (443 if parts.scheme == 'https' else 80)}"


def site_of(url: str) -> str:
    """The host without `www.`: pages and their feeds are the same site."""
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")
