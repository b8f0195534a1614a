"""Benchmark: how fast the commands start, each beside the floor of the libraries it cannot avoid.

Run from the repository root: `.venv/bin/python benchmarks/startup.py [--runs N] [--importtime] [--account]`.
Measured side by side in one run, the processes interleaved so that a busy
machine slows them alike, and reported as medians:

- the import floor: a process importing jinja2, yaml, babel.dates and mjml, what rendering needs;
- `broadsheet build` of the sample in one locale (target: at most 1.6 times the floor), and the same
  with its cache folder empty;
- `broadsheet --help` (target: under 250 ms);
- `broadsheet site` of 200 generated issues, each with its Burmese catalog (target: under 5 s).

Every process reads its bytecode from one cache in the scratch folder
(`PYTHONPYCACHEPREFIX`), written by a first, untimed run of each command, even
where `PYTHONDONTWRITEBYTECODE` is set: otherwise broadsheet's own modules,
never compiled in an editable install, would be compiled from source in every
timed run while the floor's libraries load their installed bytecode.
broadsheet's own cache folder (`XDG_CACHE_HOME`: compiled templates, Babel's
answers) is one in the scratch folder too, filled by that first run as by an
editor's first build of the week; the build is also timed with an empty one of
its own each time ("its cache folder empty").

With `--importtime`, also prints the modules that `broadsheet build` spends
most on importing, from `python -X importtime`. With `--account`, also where
a build's time goes beyond the floor, timed inside its process (medians of
nine processes): click, broadsheet's own modules (and the
dataclasses they define), CLDR's answers kept by `cldr.py`, the Zawgyi model, and the
build's own work once all of that is loaded.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATE = "2023-12-21"
ISSUES = 200
RUNS = 9
"""Runs of each command, unless `--runs N` says otherwise: on a shared machine 15 or more steady the ratio."""
SITE_RUNS = 1

FLOOR = [sys.executable, "-c", "import jinja2, yaml, babel.dates, mjml"]
# What users run (the README's `.venv/bin/broadsheet`): the console script beside this interpreter, which imports
# `broadsheet.cli` directly; `python -m broadsheet` also imports `runpy` and `importlib.util`, about 3% of a build.
SCRIPT = Path(sys.executable).with_name("broadsheet")
BROADSHEET = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "broadsheet"]
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
COLD = "COLD"


def seconds(command: list[str], cwd: Path) -> tuple[float, float]:
    """The wall time of running `command`, and the CPU time it used (steadier on a shared machine).

    A command whose first word is `COLD` runs with an empty cache folder of its own: no compiled templates,
    none of Babel's answers kept (`docs/architecture.md`, What is kept between runs)."""
    environment = ENVIRONMENT
    if command[0] == COLD:
        command = command[1:]
        environment = {**ENVIRONMENT, "XDG_CACHE_HOME": tempfile.mkdtemp(dir=ENVIRONMENT["XDG_CACHE_HOME"])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=environment, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def medians(commands: dict[str, list[str]], cwd: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Each command's median wall and CPU times over `runs`, the commands taking turns, after an untimed run of each."""
    for command in commands.values():
        seconds(command, cwd)
    times: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(seconds(command, cwd))
    return {
        name: (statistics.median(w for w, _ in found), statistics.median(c for _, c in found))
        for name, found in times.items()
    }


def runs() -> int:
    """The runs asked for with `--runs N`, else RUNS."""
    arguments = sys.argv[1:]
    return int(arguments[arguments.index("--runs") + 1]) if "--runs" in arguments else RUNS


def project_of(folder: Path, issues: int) -> Path:
    """A copy of the repository's project with `issues` copies of the sample, each on its own date, with its catalogs."""
    folder.mkdir()
    shutil.copy(REPO / "broadsheet.toml", folder / "broadsheet.toml")
    shutil.copytree(REPO / "templates", folder / "templates")
    shutil.copytree(REPO / "locales", folder / "locales")
    (folder / "issues").mkdir()
    text = (REPO / "issues" / f"{SAMPLE_DATE}.yaml").read_text(encoding="utf-8")
    catalogs = [path for path in (REPO / "locales").rglob(f"{SAMPLE_DATE}.po*") if path.is_file()]
    first = date.fromisoformat(SAMPLE_DATE)
    for n in range(issues):
        day = (first - timedelta(weeks=n)).isoformat()
        (folder / "issues" / f"{day}.yaml").write_text(text.replace(SAMPLE_DATE, day), encoding="utf-8")
        for catalog in catalogs:
            target = folder / catalog.relative_to(REPO).with_name(catalog.name.replace(SAMPLE_DATE, day))
            target.write_text(catalog.read_text(encoding="utf-8").replace(SAMPLE_DATE, day), encoding="utf-8")
    return folder


def import_times(command: list[str], cwd: Path, top: int = 12, runs: int = 5) -> list[tuple[str, float]]:
    """The packages `command` spends most on importing: each one's own import time summed over its modules,
    in ms, the median of `runs` runs of `python -X importtime`."""
    totals: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        found = subprocess.run(
            # the console script is a Python file: run by this interpreter, which takes the -X
            [sys.executable, "-X", "importtime", *(command[1:] if command[0] == sys.executable else command)],
            cwd=cwd,
            env=ENVIRONMENT,
            capture_output=True,
            text=True,
            check=True,
        )
        run: dict[str, float] = defaultdict(float)
        for line in found.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)$", line)
            if match:
                run[match.group(2).split(".")[0]] += int(match.group(1)) / 1000
        for name, ms in run.items():
            totals[name].append(ms)
    medians = {name: statistics.median(found + [0.0] * (runs - len(found))) for name, found in totals.items()}
    return sorted(medians.items(), key=lambda item: -item[1])[:top]


ACCOUNT = r"""
import json, sys, time
from pathlib import Path

spent = {}
started = time.perf_counter()
import babel.dates, jinja2, mjml, yaml

spent["the floor's imports (jinja2, yaml, babel.dates, mjml)"] = time.perf_counter() - started
import dataclasses

define, defining = dataclasses._process_class, [0.0]


def timed(*args, **kwargs):
    started = time.perf_counter()
    try:
        return define(*args, **kwargs)
    finally:
        defining[0] += time.perf_counter() - started


dataclasses._process_class = timed
for name, modules in (
    ("click", ["click"]),
    ("broadsheet's modules for a build", ["broadsheet.cli", "broadsheet.cli.editor", "broadsheet.build"]),
):
    defining[0], started = 0.0, time.perf_counter()
    for module in modules:
        __import__(module)
    spent[name] = time.perf_counter() - started
spent["  of which defining broadsheet's dataclasses"] = defining[0]
from broadsheet import cldr

started = time.perf_counter()
cldr.numbering_system("en")
spent["CLDR's answers, read from the cache (formerly Babel's locale data)"] = time.perf_counter() - started
from broadsheet import burmese

started = time.perf_counter()
burmese._zawgyi_model()
spent["the Zawgyi model"] = time.perf_counter() - started
from broadsheet.build import build
from broadsheet.settings import find_project

started = time.perf_counter()
build(find_project(Path(".")), Path(sys.argv[1]), ["en"], Path(sys.argv[2]))
spent["the build's own work, all of the above loaded"] = time.perf_counter() - started
print(json.dumps(spent))
"""


def account(cwd: Path, out: Path, runs: int = 9) -> dict[str, float]:
    """Where a build's time goes, timed inside its process: each part's median over `runs` processes, in ms."""
    found = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", ACCOUNT, f"issues/{SAMPLE_DATE}.yaml", str(out)],
                cwd=cwd,
                env=ENVIRONMENT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(runs + 1)
    ][1:]  # the first run writes the bytecode cache
    return {part: statistics.median(run[part] for run in found) * 1000 for part in found[0]}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        ENVIRONMENT["PYTHONPYCACHEPREFIX"] = str(Path(scratch, "pycache"))
        # broadsheet's own cache folder, filled by the untimed first run, as by an editor's first build
        ENVIRONMENT["XDG_CACHE_HOME"] = str(Path(scratch, "cache"))
        Path(scratch, "cache").mkdir()
        root = project_of(Path(scratch, "project"), ISSUES)
        one = project_of(Path(scratch, "one"), 1)
        build = [
            *BROADSHEET,
            "build",
            f"issues/{SAMPLE_DATE}.yaml",
            "-l",
            "en",
            "-o",
            str(Path(scratch, "out")),
        ]
        found = medians(
            {"floor": FLOOR, "build": build, "cold": [COLD, *build], "help": [*BROADSHEET, "--help"]},
            one,
            runs(),
        )
        site = medians({"site": [*BROADSHEET, "site", "-o", str(Path(scratch, "site"))]}, root, SITE_RUNS)
        (floor, floor_cpu), (build_wall, build_cpu), (help_wall, help_cpu) = (
            found["floor"],
            found["build"],
            found["help"],
        )
        print(f"{'':48} {'wall':>8} {'cpu':>8}")
        print(
            f"{'import floor (jinja2, yaml, babel.dates, mjml)':48} {floor * 1000:6.0f}ms {floor_cpu * 1000:6.0f}ms"
        )
        print(
            f"{'broadsheet build -l en':48} {build_wall * 1000:6.0f}ms {build_cpu * 1000:6.0f}ms"
            f"  {build_wall / floor:.2f}x the floor ({build_cpu / floor_cpu:.2f}x in CPU; target <= 1.6x)"
        )
        cold_wall, cold_cpu = found["cold"]
        print(
            f"{'  the same, its cache folder empty':48} {cold_wall * 1000:6.0f}ms {cold_cpu * 1000:6.0f}ms"
            f"  {cold_wall / floor:.2f}x the floor ({cold_cpu / floor_cpu:.2f}x in CPU)"
        )
        print(
            f"{'broadsheet --help':48} {help_wall * 1000:6.0f}ms {help_cpu * 1000:6.0f}ms  (target < 250 ms)"
        )
        print(
            f"{f'broadsheet site, {ISSUES} issues':48} {site['site'][0]:7.2f}s {site['site'][1]:7.2f}s  (target < 5 s)"
        )
        if "--account" in sys.argv[1:]:
            print("\nwhere `broadsheet build -l en` spends its time, inside its process (median of 9):")
            for part, ms in account(one, Path(scratch, "account")).items():
                print(f"  {part:<56} {ms:6.1f} ms")
        if "--importtime" in sys.argv[1:]:
            print(
                "\nimports of `broadsheet build -l en`, ms by package (-X importtime, self times summed, median of 5):"
            )
            for name, ms in import_times(build, one):
                print(f"  {name:<28} {ms:6.0f}")


if __name__ == "__main__":
    main()
