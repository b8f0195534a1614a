"""The URL an editor should publish: tracking parameters removed, everything else kept as written."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

from ..schema import url_problem

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


def tracking_warning(url: str) -> str | None:
    """What to say of a URL written with tracking parameters (those `clean` leaves out), or None."""
    names = [
        name
        for pair in urlsplit(url).query.split("&")
        if pair and _TRACKING.fullmatch(name := pair.split("=", 1)[0])
    ]
    if not names:
        return None
    return (
        f"the URL carries tracking parameters ({', '.join(names)}), which tell the site where its readers came "
        f"from and are no part of the page's address; `broadsheet add` leaves them out: write {clean(url)}"
    )


def same_page(url: str) -> str:
    """A key that two ways of writing one page's URL share: `http://www.Example.org/report/?utm_source=x` and
    `https://example.org/report` are one page to a reader, and listing both is a mistake.

    Left out of the key: the scheme (http or https), `www.`, the host's case, a default port, tracking
    parameters, a path's last `/`, percent-escapes (`%E1%80%80` is `က`), and a text fragment
    (`#:~:text=`, which a browser adds to a copied link). Every other part counts: `?id=1` and `?id=2`, or
    `#part-1` and `#part-2`, are different pages.
    """
    try:
        parts = urlsplit(clean(url))
        port = parts.port
    except ValueError:
        return url
    host = (parts.hostname or "").rstrip(".").removeprefix("www.")
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    fragment = "" if parts.fragment.startswith(":~:") else parts.fragment
    path = unquote(parts.path).rstrip("/")
    return urlunsplit(("", host, path, parts.query, fragment))


def is_http(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL that `check` takes (a host, a port that is one, no spaces)."""
    return url_problem(url) is None


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
