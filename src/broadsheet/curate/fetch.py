"""The one HTTP client of curation: redirects, a timeout, a size cap, a bound on connections per host.

Every request names broadsheet in its User-Agent. A `429 Too Many Requests`
is waited for when its `Retry-After` is within the timeout; the connection
slot is given back while waiting, so other links of that host go on.

httpx's timeout bounds each read, not the whole: a server that sends its
headers or body a byte at a time keeps it from ever expiring. So the answer
(its headers, after redirects) must come within the timeout, and its body
at `SLOWEST` bytes a second or more over each timeout's span, as curl's
`--speed-limit` and `--speed-time` have it.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import socket
import ssl
import time
from collections import defaultdict
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from .. import __version__
from ..settings import Curation
from .urls import host_of

PERMANENT = (301, 308)
MAX_REDIRECTS = 10
RETRIES_AFTER_429 = 2
SLOWEST = 1000
"""Bytes a second: a 20 MB report at this pace takes five hours, so only a server that is stuck or hostile
is slower."""


def user_agent(website: str) -> str:
    """`broadsheet/VERSION (+WEBSITE)`: who is asking, and where to write to them."""
    return f"broadsheet/{__version__} (+{website})"


def reason(status: int) -> str:
    """`404 Not Found`: the code and its standard phrase, whatever words a server sent."""
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class FetchError(Exception):
    """A URL that could not be fetched; `cause` says why in a few words (`404 Not Found`, `timed out after 15 s`)."""

    def __init__(self, url: str, cause: str, status: int = 0) -> None:
        super().__init__(f"{url}: {cause}")
        self.url = url
        self.cause = cause
        self.status = status


class _TooSlow(Exception):
    """A body arriving slower than `SLOWEST`, in the words of the cause."""


class _BadRedirect(Exception):
    """A redirect to a URL that is not http(s) (`mailto:`, `javascript:`), which httpx cannot follow or name."""


async def _refuse_bad_redirect(response: httpx.Response) -> None:
    """Stop at a `Location` that is not http(s), before httpx tries to follow it and fails with a bare `InvalidURL`."""
    if not response.has_redirect_location:
        return
    location = response.headers["location"]
    try:
        scheme = urlsplit(urljoin(str(response.url), location)).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https"):
        raise _BadRedirect(f"redirected to a URL that is not http(s): {location!r}")


_asking: ContextVar[str] = ContextVar("asking")
"""The URL the current task last sent a request to: where a deadline found it, redirects followed. Each task
(each URL of `asyncio.gather`) has its own."""


_followed: ContextVar[list[str]] = ContextVar("followed")
"""Every URL the current task's request went to, redirects included, in order: where a loop goes round."""


async def _note_request(request: httpx.Request) -> None:
    _asking.set(str(request.url))
    _followed.get([]).append(str(request.url))


def _too_many_redirects(followed: list[str]) -> str:
    """`more than 10 redirects`, or, where a URL came back, the loop they went round: the URLs from its first
    visit to its return, so that the editor (or the site's webmaster) sees which pages send to each other."""
    seen: dict[str, int] = {}
    for step, url in enumerate(followed):
        if url in seen:
            return f"redirects in a loop: {' -> '.join(followed[seen[url] : step + 1])}"
        seen[url] = step
    return f"more than {MAX_REDIRECTS} redirects"


def redirected(cause: str, url: str, final_url: str) -> str:
    """`cause`, saying where `url` was redirected to when the failure happened there."""
    try:
        moved = httpx.URL(url) != httpx.URL(final_url)
    except httpx.InvalidURL:
        moved = url != final_url
    return f"{cause} (redirected to {final_url})" if moved else cause


def _failed_url(exc: httpx.RequestError, url: str) -> str:
    """The URL whose request failed: after redirects, not the one asked for."""
    try:
        return str(exc.request.url)
    except RuntimeError:  # an error raised before httpx made a request of it
        return url


@dataclass(frozen=True)
class Fetched:
    """An answer, after redirects."""

    url: str
    """As asked for."""
    final_url: str
    permanent_url: str
    """Where the leading permanent redirects (301, 308) lead: the URL to publish. `url` when there were none."""
    status: int
    headers: httpx.Headers
    content: bytes
    truncated: bool = False
    tries: int = 1
    """Requests made, counting those repeated after a `429`."""
    wait: float | None = None
    """For a `429`: the seconds its `Retry-After` asked to wait, None where it said none that could be read."""

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()


def _permanent_url(response: httpx.Response, asked: str) -> str:
    # `asked` as written, not as httpx rewrites it (`HTTPS://Example.org/ဆောင်း` reads
    # `https://example.org/%E1%80%86...`): the same page, which `links` would call moved and `--fix` rewrite.
    url = asked
    for hop, redirect in enumerate(response.history):
        if redirect.status_code not in PERMANENT:
            break
        following = response.history[hop + 1] if hop + 1 < len(response.history) else response
        url = str(following.url)
    return url


def _cause(exc: BaseException, timeout: float) -> str:
    """What went wrong, named as an editor would look it up."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, httpx.TooManyRedirects):
        return _too_many_redirects(_followed.get([]))
    if isinstance(exc, httpx.DecodingError):
        # zlib's words ("Error -3 while decompressing data: incorrect header check") name no cause an editor knows.
        return "the site's answer is not compressed as its Content-Encoding header says (a fault of the site)"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "DNS lookup failed: no such host"
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"TLS failure: {seen.verify_message or seen.reason}"
        if isinstance(seen, ssl.SSLError):
            # OpenSSL's reason codes read as words: WRONG_VERSION_NUMBER -> "wrong version number".
            return f"TLS failure: {str(seen.reason).replace('_', ' ').lower() if seen.reason else seen}"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "Name or service not known" in text or "name resolution" in text or "nodename nor servname" in text:
        return "DNS lookup failed: no such host"
    if "SSL" in text or "certificate" in text:
        return f"TLS failure: {text}"
    if "refused" in text.lower():
        return "connection refused"
    return f"connection failed: {text or type(exc).__name__}"


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    """An open client for one command's requests: `async with Fetcher(curation, agent) as fetcher:`."""

    def __init__(self, curation: Curation, agent: str) -> None:
        self.curation = curation
        self._slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(curation.connections_per_host)
        )
        self._client = httpx.AsyncClient(
            headers={"User-Agent": agent},
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=curation.timeout,
            event_hooks={"request": [_note_request], "response": [_refuse_bad_redirect]},
            # The per-host semaphores bound the connections; a command is short, so every one is kept for reuse.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
        )

    async def __aenter__(self) -> Fetcher:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.__aexit__(kind, exc, tb)

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> Fetched:
        """The body of `url` (up to the size cap), following redirects; `FetchError` unless 2xx or 304."""
        fetched = await self._send("GET", url, headers, read=True)
        if not (200 <= fetched.status < 300 or fetched.status == 304):
            cause = refusal(fetched, self.curation.timeout)
            raise FetchError(url, redirected(cause, url, fetched.final_url), fetched.status)
        return fetched

    async def probe(self, url: str) -> Fetched:
        """How `url` answers without reading its body: `HEAD`, then `GET` where `HEAD` fails.

        Some servers answer `HEAD` with any error (404, 500) for pages that `GET` serves. A `429` is not asked
        again: it was waited for already, and the server asked for fewer requests."""
        fetched = await self._send("HEAD", url, None, read=False)
        if fetched.status >= 400 and fetched.status != 429:
            fetched = await self._send("GET", url, None, read=False)
        return fetched

    async def _send(self, method: str, url: str, headers: Mapping[str, str] | None, *, read: bool) -> Fetched:
        for attempt in range(RETRIES_AFTER_429 + 1):
            async with self._slots[host_of(url)]:
                fetched = await self._once(method, url, headers, read=read)
            if fetched.status != 429:
                return replace(fetched, tries=attempt + 1)
            wait = _retry_after(fetched.headers.get("retry-after"))
            if wait is None or wait > self.curation.timeout or attempt == RETRIES_AFTER_429:
                return replace(fetched, tries=attempt + 1, wait=wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _once(self, method: str, url: str, headers: Mapping[str, str] | None, *, read: bool) -> Fetched:
        timeout = self.curation.timeout
        _followed.set([])
        try:
            request = self._client.build_request(method, url, headers=headers)
            async with asyncio.timeout(timeout):
                response = await self._client.send(request, stream=True)
            try:
                body, truncated = await self._body(response) if read else (b"", False)
            finally:
                await response.aclose()
        except _BadRedirect as exc:
            raise FetchError(url, str(exc)) from None
        except _TooSlow as exc:
            raise FetchError(url, redirected(str(exc), url, str(response.url))) from None
        except TimeoutError:
            raise FetchError(
                url, redirected(f"timed out after {timeout:g} s", url, _asking.get(url))
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            cause = _cause(exc, timeout)
            if isinstance(exc, httpx.RequestError) and not isinstance(exc, httpx.TooManyRedirects):
                cause = redirected(cause, url, _failed_url(exc, url))
            raise FetchError(url, cause) from None
        return Fetched(
            url,
            str(response.url),
            _permanent_url(response, url),
            response.status_code,
            response.headers,
            body,
            truncated,
        )

    async def _body(self, response: httpx.Response) -> tuple[bytes, bool]:
        """The body up to `max_bytes`, and whether there was more; `_TooSlow` when it comes slower than `SLOWEST`."""
        timeout, limit = self.curation.timeout, self.curation.max_bytes
        body = bytearray()
        clock = asyncio.get_running_loop().time
        since, counted = clock(), 0
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                del body[limit:]
                return bytes(body), True
            counted += len(chunk)
            elapsed = clock() - since
            if elapsed >= timeout:
                if counted < SLOWEST * elapsed:
                    raise _TooSlow(
                        f"too slow: {counted} bytes in {elapsed:.0f} s, under {SLOWEST} bytes a second"
                    )
                since, counted = clock(), 0
        return bytes(body), False


def challenged(fetched: Fetched) -> bool:
    """Whether the answer is a bot check for browsers (Cloudflare marks its `403` so), not the page's own."""
    return fetched.status == 403 and str(fetched.headers.get("cf-mitigated", "")).lower() == "challenge"


def refusal(fetched: Fetched, timeout: float) -> str:
    """An answer's error status in words (`404 Not Found`); for a `429`, why it was not waited for, or not for
    long enough; for a bot check, that it is one."""
    if challenged(fetched):
        return f"{reason(fetched.status)}: the site's bot check (Cloudflare) lets only browsers through"
    return reason(fetched.status) + (_rate_limited(fetched, timeout) if fetched.status == 429 else "")


def _rate_limited(fetched: Fetched, timeout: float) -> str:
    """Why a `429` was not waited for, or not for long enough: the wait asked as the server wrote it."""
    written = str(fetched.headers.get("retry-after", "")).strip()
    if not written:
        return ", without a Retry-After saying how long to wait"
    if fetched.wait is None:
        return f": the server asks to wait {written!r}, which is neither seconds nor a date"
    asked = f"{fetched.wait:g} s" if written.isdigit() else f"until {written}"
    if fetched.wait > timeout:
        return f": the server asks to wait {asked}, longer than the timeout ({timeout:g} s)"
    return f": still rate-limited after {fetched.tries} tries (the last answer asked to wait {asked})"
