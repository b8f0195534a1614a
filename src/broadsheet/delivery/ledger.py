"""The send ledger: one row per (issue, subscriber), so that each copy goes out exactly once.

A row is `pending` when recorded, `sending` from the moment it is handed to
the transport (committed before the hand-over), and `sent` or `failed` once
the transport answered. A row left `sending` by a process that died has an
unknown fate: it is reported, and resent only when asked. On PostgreSQL,
concurrent senders claim rows with `FOR UPDATE SKIP LOCKED`; SQLite cannot
share the work, so a second sender for the same issue is refused.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, String, and_, exists, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from ..errors import BroadsheetError
from .store import LedgerEntry, Run, State, Status, Subscriber, utcnow
from .transports import Delivery, Outcome


class SendRefused(BroadsheetError):
    """Another sender is at work and the database cannot share the work."""


def _alive(run: Run) -> bool:
    """Whether the process of `run` still runs (known only on this host; elsewhere, assumed)."""
    if run.finished_at is not None:
        return False
    if run.host != socket.gethostname():
        return True
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Claimed:
    entry_id: int
    subscriber: Subscriber


class SendLedger:
    """The ledger rows of one issue, worked through by one run of `broadsheet send`."""

    def __init__(self, engine: Engine, issue: str) -> None:
        self.engine = engine
        self.issue = issue
        self.run_id: str | None = None

    @property
    def shares_work(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def start(self) -> str:
        """Register this process as a sender of the issue; refused on SQLite while another one runs."""
        with Session(self.engine) as session, session.begin():
            if not self.shares_work:
                others = session.scalars(select(Run).where(Run.issue == self.issue, Run.finished_at.is_(None))).all()
                live = [run for run in others if _alive(run)]
                if live:
                    raise SendRefused(
                        f"another `broadsheet send` of {self.issue} is running (process {live[0].pid} on {live[0].host}); "
                        "SQLite cannot share the work: wait for it to finish, or use PostgreSQL"
                    )
                for run in others:
                    run.finished_at = utcnow()
            run = Run(id=str(uuid.uuid4()), issue=self.issue, pid=os.getpid(), host=socket.gethostname())
            session.add(run)
            self.run_id = run.id
        return self.run_id

    def finish(self) -> None:
        if self.run_id is None:
            return
        with Session(self.engine) as session, session.begin():
            session.execute(update(Run).where(Run.id == self.run_id).values(finished_at=utcnow()))

    def record(self, locales: Sequence[str]) -> int:
        """Add a pending row for every active subscriber (in `locales`) without one; how many were added."""
        with Session(self.engine) as session, session.begin():
            already = exists().where(and_(LedgerEntry.issue == self.issue, LedgerEntry.subscriber_id == Subscriber.id))
            chosen = select(
                literal(self.issue, String()).label("issue"),
                Subscriber.id,
                Subscriber.locale,
            ).where(Subscriber.status == Status.ACTIVE.value, Subscriber.locale.in_(locales), ~already)
            before = session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.issue == self.issue)) or 0
            # Two senders starting at once on PostgreSQL may both find a subscriber without a row:
            # the unique (issue, subscriber) index settles it, and the later insert skips the row.
            columns, key = ["issue", "subscriber_id", "locale"], ["issue", "subscriber_id"]
            statement: Executable
            if self.engine.dialect.name == "postgresql":
                statement = postgresql.insert(LedgerEntry).from_select(columns, chosen).on_conflict_do_nothing(index_elements=key)
            elif self.engine.dialect.name == "sqlite":
                statement = sqlite.insert(LedgerEntry).from_select(columns, chosen).on_conflict_do_nothing(index_elements=key)
            else:
                statement = insert(LedgerEntry).from_select(columns, chosen)
            session.execute(statement)
            after = session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.issue == self.issue)) or 0
            return int(after - before)

    def unknown(self) -> list[int]:
        """Rows handed to the transport by a process that died before recording the answer."""
        with Session(self.engine) as session:
            # A forgotten subscriber's row (no subscriber_id) has nobody to be sent again to.
            rows = session.execute(
                select(LedgerEntry.id, Run).join(Run, LedgerEntry.run_id == Run.id).where(
                    LedgerEntry.issue == self.issue, LedgerEntry.state == State.SENDING.value, LedgerEntry.subscriber_id.is_not(None)
                )
            ).all()
            return sorted(entry_id for entry_id, run in rows if run.id != self.run_id and not _alive(run))

    def requeue(self, entry_ids: Sequence[int]) -> None:
        """Send these rows again (`--retry-unknown`)."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.id.in_(entry_ids), LedgerEntry.state == State.SENDING.value, LedgerEntry.subscriber_id.is_not(None))
                .values(state=State.PENDING.value, run_id=None, detail="requeued after an unknown outcome")
            )

    def claim(self, locale: str, limit: int) -> list[Claimed]:
        """Take up to `limit` pending rows of `locale` for this run and mark them `sending`, committed."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            query = (
                select(LedgerEntry.id)
                .where(
                    LedgerEntry.issue == self.issue,
                    LedgerEntry.locale == locale,
                    LedgerEntry.state == State.PENDING.value,
                    LedgerEntry.subscriber_id.is_not(None),
                )
                .order_by(LedgerEntry.id)
                .limit(limit)
            )
            if self.shares_work:
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if not ids:
                return []
            session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.id.in_(ids))
                .values(state=State.SENDING.value, run_id=self.run_id, attempts=LedgerEntry.attempts + 1)
            )
            session.execute(update(Run).where(Run.id == self.run_id).values(heartbeat_at=utcnow()))
            pairs = session.execute(
                select(LedgerEntry.id, Subscriber).join(Subscriber, LedgerEntry.subscriber_id == Subscriber.id).where(LedgerEntry.id.in_(ids)).order_by(LedgerEntry.id)
            ).all()
            return [Claimed(entry_id, subscriber) for entry_id, subscriber in pairs]

    def settle(self, claimed: Sequence[Claimed], deliveries: Sequence[Delivery]) -> None:
        """Record what the transport answered for each claimed row."""
        changes = [
            {
                "id": row.entry_id,
                "state": (State.SENT if delivery.outcome is Outcome.SENT else State.FAILED).value,
                "detail": delivery.detail[:500],
            }
            for row, delivery in zip(claimed, deliveries, strict=True)
        ]
        if not changes:
            return
        with Session(self.engine) as session, session.begin():
            # One statement, executed for many rows; only rows still this run's and someone's: a subscriber
            # forgotten meanwhile keeps their copy anonymous, without the answer, which may quote the address.
            session.execute(
                update(LedgerEntry).where(LedgerEntry.run_id == self.run_id, LedgerEntry.subscriber_id.is_not(None)),
                changes,
                execution_options={"synchronize_session": None},
            )

    def release(self, claimed: Sequence[Claimed], detail: str) -> None:
        """Give rows back as pending: the transport certainly did not send them."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(LedgerEntry)
                .where(
                    LedgerEntry.id.in_([row.entry_id for row in claimed]),
                    LedgerEntry.run_id == self.run_id,
                    LedgerEntry.subscriber_id.is_not(None),
                )
                .values(state=State.PENDING.value, run_id=None, detail=detail[:500])
            )

    def counts(self) -> Counter[tuple[str, str]]:
        """Rows per (state, locale), counted by the database; `sending` rows of dead processes count as `unknown`."""
        with Session(self.engine) as session:
            groups = session.execute(
                select(LedgerEntry.state, LedgerEntry.locale, LedgerEntry.run_id, func.count())
                .where(LedgerEntry.issue == self.issue)
                .group_by(LedgerEntry.state, LedgerEntry.locale, LedgerEntry.run_id)
            ).all()
            runs = {run.id: run for run in session.scalars(select(Run).where(Run.issue == self.issue))}
        counts: Counter[tuple[str, str]] = Counter()
        for state, locale, run_id, number in groups:
            run = runs.get(run_id) if run_id else None
            if state == State.SENDING.value and run is not None and run.id != self.run_id and not _alive(run):
                state = "unknown"
            counts[(state, locale)] += int(number)
        return counts
