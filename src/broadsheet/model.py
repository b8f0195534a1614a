"""The issue as the rest of the pipeline sees it: immutable values made by the reader.

Every piece of text that a translator may translate keeps the line it came
from, so catalogs and warnings can point editors back to the YAML.
"""

from __future__ import annotations

from datetime import date

import msgspec

UNSUBSCRIBE_PLACEHOLDER = "%%unsubscribe_url%%"
"""Stands in the rendered email for each recipient's own unsubscribe link; delivery fills it."""
PREFERENCES_PLACEHOLDER = "%%preferences_url%%"
"""Stands in the rendered email for each recipient's own preferences page (name, language); delivery fills it."""


class Image(msgspec.Struct, frozen=True):
    src: str
    alt: str
    alt_line: int
    alt_lang: str | None = None


class Paragraph(msgspec.Struct, frozen=True):
    """One top-level Markdown block of the editorial, as written."""

    markdown: str
    line: int
    lang: str | None = None
    """Set when the text is not in the edition's language (an untranslated fallback)."""


class Footnote(msgspec.Struct, frozen=True):
    """A footnote, numbered by its first reference in the editorial."""

    label: str
    number: int
    markdown: str
    line: int
    lang: str | None = None


class Resource(msgspec.Struct, frozen=True):
    title: str
    url: str
    by: tuple[str, ...]
    lang: str | None
    """The language of the title, when it is not the edition's."""
    line: int
    by_langs: tuple[str | None, ...] = ()
    """As `by`, the language of each name when it is not the edition's (a name left untranslated), else None;
    () in the issue as read."""


class Category(msgspec.Struct, frozen=True):
    key: str
    label: str
    resources: tuple[Resource, ...]


class Issue(msgspec.Struct, frozen=True):
    source: str
    date: date
    title: str
    title_line: int
    author: str
    summary: str
    summary_line: int
    image: Image | None
    paragraphs: tuple[Paragraph, ...]
    footnotes: tuple[Footnote, ...]
    categories: tuple[Category, ...]
    locale: str
    """The language this issue is in: the source language, or an edition's after localizing."""
    title_lang: str | None = None
    summary_lang: str | None = None
    author_line: int = 0
    """Where the author is named, or 0 when it comes from the settings."""
    author_lang: str | None = None
    """The language of `author` when it is not the edition's (a name left untranslated)."""

    @property
    def footnote_numbers(self) -> dict[str, int]:
        return {note.label: note.number for note in self.footnotes}

    @property
    def resources(self) -> tuple[Resource, ...]:
        return tuple(r for category in self.categories for r in category.resources)
