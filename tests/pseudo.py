"""Long issues and a pseudo-translation into Burmese at the weight of real Burmese text.

Burmese text is about 3.8 times the UTF-8 bytes of the English it translates
(each Myanmar character takes three bytes, and a translation has more of them).
The pseudo-translation replaces every English word with Myanmar syllables of
3.8 times its bytes and keeps what `check` requires a translation to keep:
links, footnote references and Markdown markup. Used by the browser tests and
by benchmarks/email_size.py.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from broadsheet import catalogs
from broadsheet.issue import read_issue
from broadsheet.settings import Project

BURMESE_WEIGHT = 3.8
_SYLLABLES = ("မြန်", "မာ", "နိုင်", "ငံ", "လူ", "အခွင့်", "အရေး", "ကို", "သည်", "များ", "စစ်", "တပ်")
_KEPT = re.compile(r"(\]\([^)]*\)|\[\^[^\]]*\]|%\(\w+\)s)")
_WORD = re.compile(r"[A-Za-z0-9'\u2019.-]+")


def issue_text(resources: int) -> str:
    """An issue like a real one: ten paragraphs, a footnote, `resources` links in two categories, two organizations each."""
    sentence = "The junta's airstrikes displaced thousands more people this week, and aid is still blocked. "
    paragraphs = "\n\n".join("  " + sentence * 5 for _ in range(10))
    by_category: dict[str, list[str]] = {"statements": [], "reports": []}
    for i in range(resources):
        by_category["statements" if i % 2 else "reports"].append(
            f"    - title: Statement number {i} on the human rights situation in Myanmar\n"
            f"      url: https://example.org/2023/12/item-{i}\n"
            f"      by: [Progressive Voice, Organization {i % 9}]\n"
        )
    return (
        "date: 2023-12-21\ntitle: A long issue\nsummary: A standfirst of one sentence.\n"
        f"editorial: |\n{paragraphs} A figure.[^1]\n"
        'footnotes:\n  "1": A source.\n'
        f"resources:\n  statements:\n{''.join(by_category['statements'])}  reports:\n{''.join(by_category['reports'])}"
    )


def burmese_like(english: str) -> str:
    """`english` with each word replaced by Myanmar syllables of `BURMESE_WEIGHT` times its bytes; links and placeholders kept."""
    syllables = itertools.cycle(_SYLLABLES)

    def word(match: re.Match[str]) -> str:
        wanted = BURMESE_WEIGHT * len(match.group().encode("utf-8"))
        text = ""
        while len(text.encode("utf-8")) < wanted:
            text += next(syllables)
        return text

    parts = _KEPT.split(english)
    return "".join(part if _KEPT.fullmatch(part) else _WORD.sub(word, part) for part in parts)


def write_issue_translated(project: Project, resources: int) -> Path:
    """Write an issue of `resources` resources to the project and translate it all into pseudo-Burmese."""
    path = project.issues_dir / "2023-12-21.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(issue_text(resources), encoding="utf-8")
    issue = read_issue(path, project.settings).issue
    assert issue is not None
    _translate_all(
        project,
        catalogs.catalog_path(project, "my", catalogs.issue_domain(issue)),
        [m.key for m in catalogs.issue_messages(issue)],
    )
    _translate_all(
        project,
        catalogs.catalog_path(project, "my", catalogs.NAMES),
        [m.key for m in catalogs.name_messages([issue])],
    )
    return path


def _translate_all(project: Project, path: Path, keys: list[str]) -> None:
    """A `.po` at `path` holding `keys` translated, added to what the catalog already has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="my")
    else:
        from babel.messages.catalog import Catalog

        catalog = Catalog(locale="my")
    for key in keys:
        catalog.add(key, burmese_like(key))
    with path.open("wb") as handle:
        write_po(handle, catalog, width=76)
