"""Benchmark: the HTML size of each edition, for the sample and for issues of 25, 80 and 200 resources.

Run from the repository root: `.venv/bin/python benchmarks/email_size.py`.
English as written; Burmese as a pseudo-translation of every message at the
byte weight of real Burmese (tests/pseudo.py). Prints a Markdown table for
benchmarks/README.md.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pseudo import write_issue_translated  # noqa: E402

from broadsheet.build import build  # noqa: E402
from broadsheet.settings import find_project  # noqa: E402


def main() -> None:
    print("| issue | en HTML | en resources listed | my HTML | my resources listed |")
    print("|---|---|---|---|---|")
    sample = build(find_project(REPO), REPO / "issues" / "2023-12-21.yaml", out=Path(tempfile.mkdtemp()))
    print(_row("the sample (19 resources, Burmese partly translated)", sample.emails, 19))
    for resources in (25, 80, 200):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            shutil.copy(REPO / "broadsheet.toml", root / "broadsheet.toml")
            shutil.copytree(REPO / "templates", root / "templates")
            shutil.copytree(REPO / "locales", root / "locales")
            project = find_project(root)
            built = build(project, write_issue_translated(project, resources), out=root / "out")
            print(_row(f"{resources} resources, Burmese wholly (pseudo-)translated", built.emails, resources))


def _row(name: str, emails: object, total: int) -> str:
    cells = []
    for email in emails:  # type: ignore[attr-defined]
        lists = re.findall(r'<div class="res">(.*?)</div>', email.html, re.S)
        listed = sum(len(re.findall(r'<a href="https?://[^"#]*"', part)) for part in lists)
        cells += [f"{email.html_bytes / 1000:.1f} KB", f"{listed} of {total}"]
    return f"| {name} | {' | '.join(cells)} |"


if __name__ == "__main__":
    main()
