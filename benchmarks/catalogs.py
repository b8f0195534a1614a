"""Benchmark: the catalogs' share of `build` and `site`, each in a fresh process.

Run from the repository root: `.venv/bin/python benchmarks/catalogs.py [SRC]`.
SRC (default: this checkout's `src/`) is the package to measure, so that two
versions can be compared side by side on the same machine and projects.
Prints medians of 5 processes, in CPU time (the machine is shared); the figures go into benchmarks/README.md.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from startup import project_of  # the same copies of the sample the start-up benchmark makes

REPO = Path(__file__).resolve().parent.parent
ISSUES = 50
RUNS = 5

# Runs in the child: times one job after the imports, and counts .po parses (Babel's parser, whoever calls it).
PROBE = """
import json, sys, time
from pathlib import Path
from babel.messages import pofile
parses = 0
parse = pofile.PoFileParser.parse
def counted(self, fileobj):
    global parses
    parses += 1
    return parse(self, fileobj)
pofile.PoFileParser.parse = counted
from broadsheet.settings import find_project
project = find_project(Path(sys.argv[2]))
start = time.process_time()
if sys.argv[1] == "build":
    from broadsheet.build import build
    build(project, project.issues_dir / "2023-12-21.yaml")
else:
    from broadsheet.site import build_site
    build_site(project)
print(json.dumps({"ms": (time.process_time() - start) * 1000, "parses": parses}))
"""


def measure(src: Path, job: str, project: Path) -> tuple[float, int]:
    results = []
    for _ in range(RUNS):
        run = subprocess.run(
            [sys.executable, "-c", PROBE, job, str(project)],
            env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(run.stdout.splitlines()[-1]))
    return statistics.median(r["ms"] for r in results), results[0]["parses"]


def main() -> None:
    src = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "src"
    with tempfile.TemporaryDirectory() as folder:
        one = project_of(Path(folder) / "one", 1)
        many = project_of(Path(folder) / "many", ISSUES)
        build_ms, build_parses = measure(src, "build", one)
        site_ms, site_parses = measure(src, "site", many)
    print(f"package: {src}")
    print(f"build of the sample, both locales, after imports: {build_ms:.0f} ms, {build_parses} .po parses")
    print(
        f"site of {ISSUES} issues, after imports: {site_ms:.0f} ms ({site_ms / ISSUES:.0f} ms an issue), {site_parses} .po parses"
    )


if __name__ == "__main__":
    main()
