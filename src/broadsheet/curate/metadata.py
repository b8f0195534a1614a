"""What a page says about itself: title, organizations, language and date, from HTML or a PDF.

Title sources in order of trust, as metascraper has them: Open Graph, JSON-LD,
Highwire Press `citation_*` tags (used by report repositories), Twitter, and
last the `<title>` element, which usually carries the site's name as well.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from .. import burmese
from ..burmese import MYANMAR_CHAR
from ..schema import written_locale
from .fetch import Fetched


class Unreadable(Exception):
    """A fetched document that is neither HTML nor PDF, a PDF that cannot be read, or a page that stands in front
    of the one asked for (a consent wall); `fetched`, the answer (where it was read from it), lets an editor who
    gives `asks` (`--title`) add it all the same."""

    def __init__(
        self, cause: str, fetched: Fetched | None = None, asks: str = "its title with --title"
    ) -> None:
        super().__init__(cause)
        self.fetched = fetched
        self.asks = asks


@dataclass(frozen=True)
class PageMetadata:
    title: str | None = None
    organizations: tuple[str, ...] = ()
    lang: str | None = None
    """Language of the title: a language code such as `my`, or None when nothing says."""
    published: date | None = None
    platform: str | None = None
    """The service the page is on (`Google Drive`, `Facebook`), which hosts it for whoever published it."""
    canonical: str | None = None
    """For an AMP page, the URL of the page it is a copy of (its `<link rel="canonical">`): the one to publish."""
    notes: tuple[str, ...] = ()
    """What the page leaves unsaid that the editor should give (organizations it counts but does not name)."""


_PLATFORMS = {
    "drive.google.com": "Google Drive",
    "docs.google.com": "Google Docs",
    "sites.google.com": "Google Sites",
    "dropbox.com": "Dropbox",
    "onedrive.live.com": "OneDrive",
    "1drv.ms": "OneDrive",
    "sharepoint.com": "SharePoint",
    "box.com": "Box",
    "wetransfer.com": "WeTransfer",
    "facebook.com": "Facebook",
    "fb.watch": "Facebook",
    "x.com": "X",
    "twitter.com": "X",
    "t.me": "Telegram",
    "instagram.com": "Instagram",
    "linkedin.com": "LinkedIn",
    "tiktok.com": "TikTok",
    "youtube.com": "YouTube",
    "youtu.be": "YouTube",
    "vimeo.com": "Vimeo",
    "soundcloud.com": "SoundCloud",
    "medium.com": "Medium",
    "substack.com": "Substack",
    "scribd.com": "Scribd",
    "issuu.com": "Issuu",
    "flipsnack.com": "Flipsnack",
    "canva.com": "Canva",
}
"""Services where organizations put what they publish: their `og:site_name` names the service, not the publisher."""


@dataclass(frozen=True)
class Aggregator:
    """A site that republishes the reports of others (ReliefWeb): its own name is on every page, so the
    report's title and organizations are read from what it writes of them."""

    name: str
    domain: str
    summary: re.Pattern[str]
    """Its pages' `og:description` (or `description`), with groups `sources` (`OCHA, WFP and 1 other
    organization`), `place` and `published` (`26 Jan 2024`)."""
    suffix: str
    """What it adds to a report's title, `{place}` standing for the place of the summary."""
    others: re.Pattern[str] = re.compile(r"\d+ other organizations?")
    """How the summary counts the sources it leaves out."""


_AGGREGATORS = (
    # reliefweb_meta.module (UN-OCHA/rwint9-site) writes a report's og:title as its title, " - " and its primary
    # country, and its description as "Situation Report in English on Myanmar and 1 other country about
    # Protection and Human Rights; published on 26 Jan 2024 by OCHA, WFP and 1 other organization": the sources'
    # short names, two at most. Its page has no JSON-LD; the full list is in the body's "Source" field.
    Aggregator(
        "ReliefWeb",
        "reliefweb.int",
        re.compile(
            r".+? on (?P<place>.+?)(?: and \d+ other countr(?:y|ies))?(?: about .+?)?"
            r"(?:; published on (?P<published>\d{1,2} [A-Z][a-z]{2} \d{4}))? by (?P<sources>.+)"
        ),
        " - {place}",
    ),
)
_TITLED_BY_ACCOUNT = frozenset({"Facebook", "Telegram"})
"""Services whose `og:title` of a post is the name of the account that posted it (`Progressive Voice`, a Telegram
channel's `National Unity Government of Myanmar` at t.me/nugmyanmar/4321), its own words being its
`og:description`."""
_QUOTED_POST = re.compile(
    r'.+? on (?:Instagram|X|Twitter|Threads): ["\u201c](?P<words>.+)["\u201d](?: / X)?', re.DOTALL
)
"""How Instagram and X title a post: the account's name and the post's words in quotes
(`Progressive Voice on Instagram: "Joint statement on..."`, `PV on X: "..." / X`)."""
POST_TITLE_COLUMNS = 100
"""How much of a post's words, when their first sentence is longer, make its title: about a long headline."""
_SENTENCE_END = re.compile(r"(?<=[.!?\u104b])\s+|(?<=\u104b)")
"""Where a sentence ends: after `.`, `!`, `?` and a space, or after Burmese's `။`."""
_EXTENSION = re.compile(r"\.(?:pdf|docx?|odt|rtf|pptx?|xlsx?|jpe?g|png|mp4|zip)$", re.IGNORECASE)
"""A file name's ending, as a shared file's page (Google Drive, Dropbox) gives it for a title."""


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_STRONG_SEPARATOR = r"\s+(?:\||\u2013|\u2014|\u00b7|\u00bb)\s+"  # | en dash, em dash, middle dot, >>
_SEPARATORS = re.compile(r"\s+(?:\||\u2013|\u2014|\u00b7|\u00bb|::|-)\s+")
_SEPARATOR_CHARS = " |\u2013\u2014\u00b7\u00bb:-"
_GENERIC_LABEL = re.compile(
    r"(?:report|reports|statement|statements|press release|news|publication|publications|briefing paper)",
    re.IGNORECASE,
)
_ORGANIZATION_TYPES = re.compile(
    r".*(?:Organization|Organisation|NGO|Corporation|GovernmentOrganization|NewsMediaOrganization)"
)
_ARTICLE_TYPES = {
    "Article",
    "NewsArticle",
    "BlogPosting",
    "Report",
    "ScholarlyArticle",
    "CreativeWork",
    "WebPage",
    "Blog",
    "AnalysisNewsArticle",
    "ReportageNewsArticle",
}
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_HEAD_END = re.compile(r"</head\s*>|<body[\s>]", re.IGNORECASE)
_LATE_METADATA = re.compile(
    r"<meta\b[^>]*>|<script\b[^>]*application/ld\+json[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL
)
_JUNK_PDF_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint) - .*|untitled.*|powerpoint presentation|document\d*|slide \d+"
    r"|.*\.(?:docx?|indd|pptx?|odt))$",
    re.IGNORECASE,
)
_JUNK_PDF_AUTHOR = re.compile(
    r"(?:windows user|microsoft office user|user\d*|admin(?:istrator)?|owner|author|unknown|default|pc"
    r"|hp|dell|lenovo|acer|asus|apple|mac)",
    re.IGNORECASE,
)
"""What a word processor writes as a PDF's `Author` from the computer's account, not the publisher."""


def read_document(fetched: Fetched) -> PageMetadata:
    """The metadata of a fetched page or PDF; `Unreadable` for anything else."""
    kind = fetched.content_type
    if kind == "application/pdf" or fetched.content.startswith(b"%PDF-"):
        return read_pdf(fetched.content, file_name(fetched))
    if kind in ("text/html", "application/xhtml+xml") or (not kind and fetched.content.lstrip()[:1] == b"<"):
        return read_html(
            decode_html(fetched.content, fetched.headers.get("content-type", "")), fetched.final_url
        )
    raise Unreadable(f"neither HTML nor PDF (Content-Type: {kind or 'none'})")


# -- HTML ---------------------------------------------------------------------


def _codec(label: str) -> str | None:
    name = label.strip().strip("\"'").lower()
    # WHATWG: pages labelled Latin-1 or ASCII are decoded as windows-1252, as every browser does.
    if name in ("iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"):
        name = "windows-1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _windows_1252_instead(error: UnicodeError) -> tuple[str, int]:
    """A byte that is no UTF-8 read as windows-1252: a page written in it, or a stray `\x92` pasted into one."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("windows-1252", errors="replace"), error.end


codecs.register_error("broadsheet.windows-1252", _windows_1252_instead)


def _utf8(content: bytes) -> bool:
    """Whether `content` is UTF-8 with something that is not ASCII, up to a character its end cuts (`max_bytes`).

    Text in windows-1252 is almost never also valid UTF-8 beyond ASCII (`Ã©` would have to be written), so
    such a page is UTF-8 whatever its label says."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(content, final=False)
    except UnicodeDecodeError:
        return False
    return not content.isascii()


def decode_html(content: bytes, content_type: str = "") -> str:
    """The text of an HTML page: a BOM, else the header's charset, else a `<meta>` in the first 1024 bytes, else UTF-8.

    Servers mislabel pages: Apache's default `charset=ISO-8859-1` on a page written in UTF-8 (each Burmese
    letter read as three Latin ones), `charset=UTF-8` on one saved in windows-1252 (each `é` read as U+FFFD). A
    page labelled windows-1252 (or Latin-1, or ASCII) that is UTF-8 is read as UTF-8; in UTF-8, what is not
    UTF-8 is read as windows-1252."""
    for bom, bom_codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if content.startswith(bom):
            return content[len(bom) :].decode(bom_codec, errors="replace")
    declared = re.search(r"charset\s*=\s*([^;\s]+)", content_type, re.IGNORECASE)
    name: str | None = _codec(declared.group(1)) if declared else None
    if name is None:
        meta = _CHARSET.search(content[:1024])
        name = _codec(meta.group(1).decode("ascii")) if meta else None
    if name == "cp1252" and _utf8(content):
        name = "utf-8"
    if name is not None and name != "utf-8":
        return content.decode(name, errors="replace")
    return content.decode("utf-8", errors="broadsheet.windows-1252")


def tidy(text: str | None) -> str | None:
    """Entities decoded (twice-encoded ones too, as WordPress writes them), whitespace collapsed; None when empty."""
    if text is None:
        return None
    text = " ".join(html.unescape(text).split())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return text or None


def metadata_part(text: str) -> str:
    """What `read_html` reads of a page: all of it up to the end of its head, then only the `<meta>` and JSON-LD
    blocks of the body (where some sites put them).

    Lexbor's tree of a whole page takes about 15 times its text: 370 MB for a page read up to the 20 MB
    `max_bytes` (benchmarks/README.md, Links); of these parts, a few kilobytes.
    """
    end = _HEAD_END.search(text)
    if end is None:
        return text
    return text[: end.start()] + "".join(match.group() for match in _LATE_METADATA.finditer(text, end.end()))


def read_html(text: str, url: str = "") -> PageMetadata:
    """What the page at `url` says about itself; `url` tells its site's name where the page does not."""
    tree = LexborHTMLParser(metadata_part(text))
    meta: dict[str, list[str]] = {}
    for node in tree.css("meta"):
        attributes = node.attributes
        key = (attributes.get("property") or attributes.get("name") or "").strip().lower()
        value = tidy(attributes.get("content"))
        if key and value:
            meta.setdefault(key, []).append(value)
    nodes = list(_json_ld(tree))
    article = next(
        (n for n in nodes if _types(n) & _ARTICLE_TYPES and (n.get("headline") or n.get("name"))), None
    )
    site = _first(meta, "og:site_name") or _site_from_json_ld(nodes)

    title_node = tree.css_first("title")
    element = tidy(title_node.text()) if title_node else None
    ld_title = tidy(_text(article.get("headline") or article.get("name"))) if article else None
    names = _SiteNames(_other_names(site, meta, nodes), _host_label(url))
    # A title that is only the site's name (a theme's og:title on every page, x.com's bare `<title>X`) says
    # nothing of the page: the next source is asked.
    title = next(
        (
            _without_site(candidate, names)
            for candidate in (
                _first(meta, "og:title"),
                ld_title,
                _first(meta, "citation_title"),
                _first(meta, "twitter:title"),
            )
            if candidate and not names.named(candidate)
        ),
        _from_title_element(element, names) if element and not names.named(element) else None,
    )
    platform = platform_of(url)
    if platform in _TITLED_BY_ACCOUNT:
        # The account's name would be the title of every post it made: a reader calls a post by its words.
        title = post_title(_first(meta, "og:description") or "")
    elif platform and title and (quoted := _QUOTED_POST.fullmatch(title)):
        # The account's name, the same on every post, would lead each title; a reader calls a post by its words.
        title = post_title(quoted["words"])

    if title and _EXTENSION.search(title):
        # A shared file's name, as Google Drive and Dropbox title its page.
        title = readable_file_name(title)

    organizations = list(meta.get("citation_author", []))
    if article:
        for role in ("author", "publisher"):
            organizations += [name for name in _organizations(article.get(role), nodes)]
    notes: tuple[str, ...] = ()
    aggregator = aggregator_of(url)
    summary = (
        aggregator.summary.fullmatch(_first(meta, "og:description") or _first(meta, "description") or "")
        if aggregator
        else None
    )
    if aggregator and summary:
        suffix = aggregator.suffix.format(place=summary["place"])
        if title and title.endswith(suffix) and len(title) > len(suffix):
            title = title[: -len(suffix)]
        named = re.split(r", | and ", summary["sources"])
        organizations = [name for name in named if not aggregator.others.fullmatch(name)]
        notes = tuple(
            f"{aggregator.name} names {', '.join(organizations)} and counts {name} it does not name: give them all with --by"
            for name in named
            if aggregator.others.fullmatch(name)
        )
    elif aggregator:
        # Its own name is no report's organization: they are left for --by, as on a service that hosts them.
        platform = aggregator.name
    if platform:
        # A service's name (`Medium` as a post's publisher, `Google` at docs.google.com) is no publisher; the name
        # of a page's own space there is, though it is the site's: a Substack newsletter's, as its JSON-LD says.
        service = _SiteNames((platform, *_PLATFORMS.values()), names.host)
        organizations = [name for name in organizations if not service.named(name)]
    elif not organizations and site:
        organizations.append(site)

    html_node = tree.css_first("html")
    canonical = _amp_canonical(tree, url) if html_node and _is_amp(html_node.attributes) else None
    declared = (html_node.attributes.get("lang") if html_node else None) or _first(meta, "og:locale")
    published = _date(
        _first(meta, "article:published_time")
        or (_text(article.get("datePublished")) if article else None)
        or _first(meta, "citation_publication_date")
        or _first(meta, "citation_date")
    ) or (_written_date(summary["published"]) if summary and summary["published"] else None)
    return PageMetadata(
        title, _unique(organizations), title_language(title, declared), published, platform, canonical, notes
    )


def feed_publisher(title: str, url: str, page: PageMetadata) -> str:
    """Who publishes the feed titled `title` at `url`: the one segment of the title that names its site, as the
    organizations of an entry's `page` or the feed's host name it (`Statements &#8211; Progressive Voice Myanmar`, the
    title WordPress gives a category's feed; `Progressive Voice Myanmar » Statements` in older versions); else
    the title whole."""
    names = _SiteNames(page.organizations, _host_label(url))
    named = [part for part in _SEPARATORS.split(title) if names.named(part)]
    return named[0] if len(named) == 1 and named[0] != title else title


def aggregator_of(url: str) -> Aggregator | None:
    """The aggregator whose site `url` is on (ReliefWeb), whose pages are by the sources they name, not by it."""
    return next((aggregator for aggregator in _AGGREGATORS if _on(url, aggregator.domain)), None)


def _written_date(text: str) -> date | None:
    """`26 Jan 2024` as a date."""
    try:
        return datetime.strptime(text, "%d %b %Y").date()
    except ValueError:
        return None


def post_title(words: str) -> str | None:
    """What a reader calls a post by: its first sentence without its full stop (`.`, `။`), cut where a line may
    break to `POST_TITLE_COLUMNS`."""
    sentence = _SENTENCE_END.split(words.strip(), maxsplit=1)[0].rstrip(".\u104b ")
    return burmese.shorten(sentence, POST_TITLE_COLUMNS) or None


def _is_amp(attributes: dict[str, str | None]) -> bool:
    """`<html amp>` or `<html ⚡>`: an AMP copy of a page, made for phones and search engines' caches."""
    return "amp" in attributes or "\u26a1" in attributes


def _amp_canonical(tree: LexborHTMLParser, url: str) -> str | None:
    """The http(s) URL an AMP page's `<link rel="canonical">` names (every AMP page must), read against `url`."""
    for link in tree.css("link[rel]"):
        if "canonical" in (link.attributes.get("rel") or "").lower().split():
            href = (link.attributes.get("href") or "").strip()
            absolute = urljoin(url, href) if href else ""
            if urlsplit(absolute).scheme.lower() in ("http", "https") and urlsplit(absolute).hostname:
                return absolute
    return None


def _on(url: str, domain: str) -> bool:
    """Whether `url` is on `domain` or one of its subdomains (`m.facebook.com` is on `facebook.com`)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host == domain or host.endswith("." + domain)


def platform_of(url: str) -> str | None:
    """The service of `_PLATFORMS` that `url` is on, or None."""
    return next((name for domain, name in _PLATFORMS.items() if _on(url, domain)), None)


def _first(meta: dict[str, list[str]], key: str) -> str | None:
    values = meta.get(key)
    return values[0] if values else None


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _json_ld(tree: LexborHTMLParser) -> Iterator[dict[str, Any]]:
    """Every object of the page's JSON-LD blocks, `@graph` members included; blocks that are not JSON are skipped.

    A line break or tab inside a string (an excerpt as some WordPress plugins write it) is read: strict JSON
    refuses it, and the whole block, headline and publisher with it, was lost."""
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(script.text(deep=True) or "null", strict=False)
        except ValueError:
            continue
        pending = data if isinstance(data, list) else [data]
        while pending:
            item = pending.pop(0)
            if isinstance(item, dict):
                pending += item.get("@graph", []) if isinstance(item.get("@graph"), list) else []
                yield item


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    return (
        {kind}
        if isinstance(kind, str)
        else {k for k in kind if isinstance(k, str)}
        if isinstance(kind, list)
        else set()
    )


def _organizations(value: Any, nodes: list[dict[str, Any]]) -> Iterator[str]:
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and set(item) == {"@id"}:
            item = by_id.get(item["@id"])
        if isinstance(item, dict) and any(_ORGANIZATION_TYPES.fullmatch(t) for t in _types(item)):
            name = tidy(_text(item.get("name")))
            if name:
                yield name


def _site_from_json_ld(nodes: list[dict[str, Any]]) -> str | None:
    site = next((n for n in nodes if "WebSite" in _types(n)), None)
    return tidy(_text(site.get("name"))) if site else None


def _other_names(
    site: str | None, meta: dict[str, list[str]], nodes: list[dict[str, Any]]
) -> tuple[str, ...]:
    """Every name the site gives itself: `og:site_name`, its app's (`application-name`,
    `apple-mobile-web-app-title`), and the `name` and `alternateName` of its JSON-LD `WebSite` and of that
    site's `publisher`. A site in two languages may name itself in one and end its titles with the other
    (`… - ဧရာဝတီ` at The Irrawaddy's). Not the publisher of an article, which on a service that hosts what others
    publish (Medium) is the organization, not the site."""
    names = [site] if site else []
    names += meta.get("application-name", []) + meta.get("apple-mobile-web-app-title", [])
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    owners: list[Any] = []
    for node in nodes:
        if "WebSite" in _types(node):
            owners += [node, *(p if isinstance(p := node.get("publisher"), list) else [p])]
    for owner in owners:
        if isinstance(owner, dict) and set(owner) == {"@id"}:
            owner = by_id.get(owner["@id"])
        if isinstance(owner, dict):
            for key in ("name", "alternateName"):
                value = owner.get(key)
                names += [
                    tidy(v) or ""
                    for v in (value if isinstance(value, list) else [value])
                    if isinstance(v, str)
                ]
    return _unique([name for name in names if name])


def _unique(names: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.casefold(), name)
    return tuple(seen.values())


_HOST_SUFFIXES = {"co", "com", "org", "net", "gov", "edu", "ac", "or", "ne", "go"}


def _host_label(url: str) -> str:
    """The name a site's host gives it: `hrw` of `www.hrw.org`, `irrawaddy` of `burma.irrawaddy.com`,
    `mizzima` of `mizzima.com.mm`; empty for an address (`127.0.0.1`) or a host of one label."""
    labels = (urlsplit(url).hostname or "").lower().rstrip(".").split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return ""
    if len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in _HOST_SUFFIXES:
        return labels[-3]
    return labels[-2]


@dataclass(frozen=True)
class _SiteNames:
    """How a page's site is named: the names it gives itself (`_other_names`), and the name its host gives it."""

    sites: tuple[str, ...]
    host: str

    def named(self, text: str) -> bool:
        """Whether `text` is the site's name: as the page gives it, or as its host spells it, whole
        (`Progressive Voice Myanmar` at progressivevoicemyanmar.org, `The Irrawaddy` at irrawaddy.com) or
        by initials of three letters or more (`Karen Human Rights Group` at khrg.org)."""
        if any(text.casefold() == site.casefold() for site in self.sites):
            return True
        if not self.host:
            return False
        words = re.findall(r"\w+", text.casefold())
        host = self.host.replace("-", "")
        spelled = "".join(words)
        initials = "".join(word[0] for word in words) if len(host) >= 3 else None
        return host in (spelled, spelled.removeprefix("the"), initials)


def _without_site(title: str, names: _SiteNames) -> str:
    """`title` without a leading or trailing segment that is the site's name."""
    parts = _SEPARATORS.split(title)
    if len(parts) > 1 and names.named(parts[-1]):
        return title[: len(title) - len(parts[-1])].rstrip(_SEPARATOR_CHARS).rstrip()
    if len(parts) > 1 and names.named(parts[0]):
        return title[len(parts[0]) :].lstrip(_SEPARATOR_CHARS).lstrip()
    return title


def _from_title_element(title: str, names: _SiteNames) -> str:
    """A `<title>` without the site's name: `… - Site` (any dash), `… | Site`, `Report | … | Site`."""
    stripped = _without_site(title, names)
    if stripped == title:
        # No known site name: the last segment after a strong separator is taken to be it.
        match = list(re.finditer(_STRONG_SEPARATOR, title))
        if match:
            stripped = title[: match[-1].start()]
    first = re.match(r"(.+?)" + _STRONG_SEPARATOR, stripped)
    if first and _GENERIC_LABEL.fullmatch(first.group(1)):
        stripped = stripped[first.end() :]
    return stripped.strip() or title


def title_language(title: str | None, declared: str | None) -> str | None:
    """`my` for a title in Myanmar script; else the language the page declares, unless it claims Burmese for a title that is not."""
    if title and MYANMAR_CHAR.search(title):
        return "my"
    code = re.split(r"[-_]", declared.strip())[0].lower() if declared and declared.strip() else None
    # As `check` wants it written: an old or three-letter code ('iw', 'eng') by its language's own.
    locale = written_locale(code) if code and code.isalpha() else None
    if locale is None:
        return None
    return None if locale.language == "my" else locale.language


def _date(value: str | None) -> date | None:
    match = _DATE.search(value) if value else None
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


# -- PDF ----------------------------------------------------------------------


def file_name(fetched: Fetched) -> str:
    """The name a download is saved under: its `Content-Disposition` header's (`/download/123`,
    `uc?export=download`), `filename*` before `filename` as RFC 6266 has it; else the URL's last segment."""
    disposition = fetched.headers.get("content-disposition")
    if disposition:
        header = Message()
        header["content-disposition"] = disposition
        given = [
            value for key, value in header.get_params([], header="content-disposition") if key == "filename"
        ]
        given.sort(key=lambda value: not isinstance(value, tuple))
        for value in given:
            name = collapse_rfc2231_value(value).replace("\\", "/").rsplit("/", 1)[-1].strip()
            if name:
                return name
    return unquote(urlsplit(fetched.final_url).path.rsplit("/", 1)[-1])


def read_pdf(content: bytes, name: str) -> PageMetadata:
    """Title and author from the PDF's document information; its file `name` made readable when it has no title."""
    from pypdf.errors import PyPdfError

    # pypdf logs what it works around ("invalid pdf header", "EOF marker not found") as warnings of its
    # loggers (`pypdf._reader`, ...), which reach stderr ahead of the one line saying the PDF cannot be read.
    quiet = logging.getLogger("pypdf")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL + 1)
    try:
        return _pdf_metadata(content, name)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unreadable(f"not a readable PDF ({exc})") from None
    finally:
        quiet.setLevel(level)


def _pdf_metadata(content: bytes, name: str) -> PageMetadata:
    from pypdf import PdfReader

    info = PdfReader(io.BytesIO(content)).metadata
    title = tidy(info.title) if info else None
    if title and _JUNK_PDF_TITLE.fullmatch(title):
        title = None
    author = tidy(info.author) if info else None
    created: datetime | None = None
    if info:
        try:
            created = info.creation_date
        except ValueError:
            created = None
    organizations = tuple(
        part.strip()
        for part in (author or "").split(";")
        if part.strip() and not _JUNK_PDF_AUTHOR.fullmatch(part.strip())
    )
    return PageMetadata(
        title or readable_file_name(name),
        organizations,
        title_language(title, None),
        created.date() if created else None,
    )


def readable_file_name(name: str) -> str | None:
    """`cold-season_needs-2024.pdf` -> `Cold season needs 2024`."""
    name = _EXTENSION.sub("", name)
    words = " ".join(re.sub(r"[-_+.]+", " ", name).split())
    return words[:1].upper() + words[1:] if words else None
