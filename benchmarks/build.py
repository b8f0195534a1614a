"""Benchmark: building one issue of 80 resources in one locale, in-process and as a process.

Run from the repository root: `.venv/bin/python benchmarks/build.py`.
Prints the median of repeated runs; the figures go into benchmarks/README.md.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from broadsheet import catalogs, markdown
from broadsheet.issue import read_issue
from broadsheet.localize import localize
from broadsheet.render import Renderer
from broadsheet.settings import Project, find_project

REPO = Path(__file__).resolve().parent.parent


def issue_text(resources: int) -> str:
    """An issue like a real one: ten paragraphs, a footnote, `resources` links in two categories."""
    sentence = "The junta's airstrikes displaced thousands more people this week, and aid is still blocked. "
    paragraphs = "\n\n".join("  " + sentence * 5 for _ in range(10))
    items = []
    for i in range(resources):
        category = "statements" if i % 2 else "reports"
        items.append(
            (
                category,
                f"    - title: Statement number {i} on the human rights situation in Myanmar\n"
                f"      url: https://example.org/2023/12/item-{i}\n"
                f"      by: [Progressive Voice, Another Organization]\n",
            )
        )
    by_category = {key: "".join(text for k, text in items if k == key) for key in ("statements", "reports")}
    return (
        "date: 2023-12-21\ntitle: Benchmark issue\nsummary: A standfirst.\n"
        f"editorial: |\n{paragraphs} A figure.[^1]\n"
        'footnotes:\n  "1": A source.\n'
        f"resources:\n  statements:\n{by_category['statements']}  reports:\n{by_category['reports']}"
    )


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def translated_project(folder: Path, text: str) -> Project:
    """A copy of this project with the issue and complete Burmese catalogs for it."""
    folder.mkdir()
    shutil.copy(REPO / "broadsheet.toml", folder / "broadsheet.toml")
    shutil.copytree(REPO / "templates", folder / "templates")
    (folder / "issues").mkdir()
    (folder / "issues" / "2023-12-21.yaml").write_text(text, encoding="utf-8")
    project = find_project(folder)
    catalogs.extract(project)
    catalogs.update(project, ["my"])
    for po in (folder / "locales" / "my").rglob("*.po"):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if message.id:
                message.string = (
                    ("မြန်မာ " + message.id) if isinstance(message.id, str) else ("မြန်မာ " + message.id[0],)
                )
        with po.open("wb") as handle:
            write_po(handle, catalog)
    return project


def build_editions(project: Project, path: Path, locales: list[str]) -> None:
    renderer = Renderer(project)
    issue = read_issue(path, project.settings).issue
    assert issue is not None
    for locale in locales:
        renderer.render(localize(project, issue, locale))


def main() -> None:
    project = find_project(REPO)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "2023-12-21.yaml"
        path.write_text(issue_text(80), encoding="utf-8")

        start = time.perf_counter()
        renderer = Renderer(project)
        issue = read_issue(path, project.settings).issue
        assert issue is not None
        english = localize(project, issue, "en")
        email = renderer.render(english)
        first = (time.perf_counter() - start) * 1000

        def fresh_read() -> object:
            markdown._inspected.cache_clear()  # as in a new process: nothing parsed yet
            return read_issue(path, project.settings)

        read = median_ms(fresh_read, 50)
        render = median_ms(lambda: renderer.render(english), 50)
        both = median_ms(lambda: renderer.render(localize(project, fresh_read().issue, "en")), 50)  # type: ignore[attr-defined]

        print(
            f"80 resources, one locale, HTML {email.html_bytes / 1000:.1f} KB, text {len(email.text.encode()) / 1000:.1f} KB"
        )
        print(f"first build in a process (templates compiled): {first:.1f} ms")
        print(f"read + validate issue:                          {read:.1f} ms (median of 50)")
        print(f"render one locale (Jinja, MJML, CSS inlining):  {render:.1f} ms (median of 50)")
        print(f"read + render, steady state:                    {both:.1f} ms (median of 50)")

        translated = translated_project(Path(folder) / "project", issue_text(80))
        issue_path = translated.issues_dir / "2023-12-21.yaml"
        one = median_ms(lambda: build_editions(translated, issue_path, ["en"]), 30)
        two = median_ms(lambda: build_editions(translated, issue_path, ["en", "my"]), 30)
        print(f"one locale, no catalogs (read, render):         {one:.1f} ms (median of 30)")
        print(
            f"both locales, Burmese catalogs loaded/compiled: {two:.1f} ms (median of 30), {two / one:.2f} times one locale"
        )

        broadsheet = shutil.which("broadsheet", path=str(Path(sys.executable).parent))
        command = [broadsheet] if broadsheet else [sys.executable, "-m", "broadsheet"]
        out = Path(folder) / "out"
        process = median_ms(
            lambda: subprocess.run(
                [*command, "build", str(path), "-l", "en", "-o", str(out)],
                check=True,
                capture_output=True,
                cwd=REPO,
            ),
            10,
        )
        bare = median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 10)
        imports = median_ms(
            lambda: subprocess.run([sys.executable, "-c", "import broadsheet.cli"], check=True), 10
        )
        print(f"`broadsheet build` process, one locale:        {process:.0f} ms (median of 10)")
        print(f"  of which Python start-up:                     {bare:.0f} ms")
        print(f"  of which importing broadsheet.cli:            {imports - bare:.0f} ms")


if __name__ == "__main__":
    main()
