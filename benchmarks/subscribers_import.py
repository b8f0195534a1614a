"""Benchmark: `subscribers import` of a long file, its time and peak memory.

Run from the repository root: `.venv/bin/python benchmarks/subscribers_import.py [COUNT...]`
(default 10000 100000). Each count runs in a fresh process, so peak memory
(max RSS) is the import's own. The file is what an export writes: a new
address per row, half English and half Burmese, one row in a hundred bad
(reported, with its line) and one in a hundred a duplicate of an earlier row.
The import runs twice: into an empty list (every row added), then again
(every row unchanged), as the second import of a list does.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(count: int) -> None:
    from broadsheet.delivery.store import open_store
    from broadsheet.delivery.subscribers import import_csv

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        with path.open("w", encoding="utf-8") as out:
            out.write("email,name,locale,status,consented_at,consent_text\n")
            for n in range(count):
                if n % 100 == 99:
                    out.write(f"not-an-address-{n},Bad,en,,,\n")
                elif n % 100 == 98:
                    out.write(f"r{n - 50}@example.org,Again,en,,,\n")
                else:
                    locale = ("en", "my")[n % 2]
                    out.write(
                        f"r{n}@example.org,Reader {n} မြန်မာ,{locale},active,2024-01-04T09:30:00+00:00,I agree to receive the newsletter.\n"
                    )
        engine = open_store(f"sqlite:///{folder}/bench.db")
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            report = import_csv(engine, path, ("en", "my"))
            timings.append(round(time.perf_counter() - start, 2))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        engine.dispose()
        print(json.dumps({
            "rows": count, "added_then_unchanged": [report.unchanged, report.skipped], "diagnostics": len(report.diagnostics),
            "seconds_first_second": timings, "peak_rss_mb": round(peak, 1),
        }))  # fmt: skip


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        run(int(sys.argv[2]))
        return
    for count in [int(arg) for arg in sys.argv[1:]] or [10_000, 100_000]:
        subprocess.run([sys.executable, __file__, "--one", str(count)], check=True, cwd=REPO)


if __name__ == "__main__":
    main()
