"""Benchmark: `broadsheet report` on a large list where some subscribers were forgotten.

Run from the repository root: `.venv/bin/python benchmarks/report.py [SUBSCRIBERS] [POSTGRES_URL]`
(default 20000 subscribers, SQLite only; on PostgreSQL in a schema of its
own, dropped after). Each subscriber has a copy of the
issue and three events (delivered, open, click); one in ten is then forgotten,
so that their copy and events are found by their anonymous ids. Prints the
median of five runs of the report query.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ISSUE = "2024-01-04"
FORGOTTEN_EVERY = 10


def fill(url: str, count: int) -> object:
    from sqlalchemy import insert, select

    from broadsheet.delivery import lifecycle
    from broadsheet.delivery.store import Event, LedgerEntry, Subscriber, open_store

    engine = open_store(url)
    moment = datetime(2024, 1, 4, 9, 30, tzinfo=UTC)
    with engine.begin() as connection:
        for first in range(0, count, 5000):
            numbers = range(first, min(count, first + 5000))
            ids = (
                connection.execute(
                    insert(Subscriber).returning(Subscriber.id),
                    [
                        {
                            "email": f"r{n}@example.org",
                            "email_key": f"r{n}@example.org",
                            "name": "",
                            "locale": ("en", "my")[n % 2],
                            "status": "active",
                        }
                        for n in numbers
                    ],
                )
                .scalars()
                .all()
            )
            connection.execute(
                insert(LedgerEntry),
                [
                    {"issue": ISSUE, "subscriber_id": id_, "locale": ("en", "my")[n % 2], "state": "sent"}
                    for id_, n in zip(ids, numbers, strict=True)
                ],
            )
            connection.execute(
                insert(Event),
                [
                    {
                        "sg_event_id": f"{kind}-{id_}",
                        "issue": ISSUE,
                        "subscriber_id": id_,
                        "kind": kind,
                        "created_at": moment,
                    }
                    for id_ in ids
                    for kind in ("delivered", "open", "click")
                ],
            )
    with engine.connect() as connection:
        leaving = connection.scalars(
            select(Subscriber.email).where(Subscriber.id % FORGOTTEN_EVERY == 0)
        ).all()
    for email in leaving:
        # As `forget` leaves them, without the keyed hash of the address, which the report never reads.
        lifecycle.remove(engine, email)
    return engine


def main() -> None:
    from broadsheet.delivery.feedback import issue_report

    sys.path.insert(0, str(REPO))  # for the tests' scratch PostgreSQL schema
    from tests.support import scratch_schema

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        urls = [
            f"sqlite:///{folder}/report.db",
            *(stack.enter_context(scratch_schema(url, "bench")) for url in sys.argv[2:3]),
        ]
        for url in urls:
            engine = fill(url, count)
            timings = []
            for _ in range(5):
                start = time.perf_counter()
                rows = issue_report(engine, ISSUE, ["en", "my"])  # type: ignore[arg-type]
                timings.append(time.perf_counter() - start)
            sent = sum(row.sent for row in rows)
            opened = sum(row.counts.get("opened", 0) for row in rows)
            print(
                f"{url.split(':')[0]}: {count} subscribers, {count // FORGOTTEN_EVERY} forgotten: "
                f"report in {statistics.median(timings) * 1000:.0f} ms (sent {sent}, opened {opened})"
            )
            engine.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
