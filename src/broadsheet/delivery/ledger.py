"""The send ledger: one row per (issue, subscriber), so that each copy goes out at most once and its fate is known.

A row is `pending` when recorded. A run claims rows in chunks as `queued`
(not handed over yet: a run that stops gives them back, and so does the next
run for one that died). Before a row's data goes out, the row is marked
`sending`, and that mark is committed (the transport prepares the copy
meanwhile, and waits for it: `Batch.cleared`); the transport's answer makes it
`sent`, `failed`, `deferred` (refused for now: tried again after everyone
else, and by later runs, until it fails after `deferred_max_attempts` tries or
`deferred_max_age_hours`) or `unknown` (its data went out, its answer never
came). Each answer is committed together with a later hand-over's `sending`
mark, so a channel of the transport (an SMTP connection, a SendGrid request)
has at most one hand-over `sending` at any moment (`1 + hand_overs_ahead` for a
transport whose next batches are marked while it hands one over, as the
outbox's): after `kill -9` at most that many copies per channel are of unknown
fate, and the next run turns the dead run's `sending` rows into `unknown`. Unknown copies go again only when
asked (`send --retry-unknown`). On PostgreSQL, concurrent senders claim rows
with `FOR UPDATE SKIP LOCKED`; SQLite cannot share the work, so a second
sender for the same issue is refused.

A run writes its heartbeat (`runs.heartbeat_at`, by the database's clock on
PostgreSQL) from a thread of its own every fifth of `stale_after`, whatever its
channels are doing (waiting on a slow server, paused by a rate limit). A run
that did not finish is dead when its heartbeat is older than `stale_after`,
wherever it ran (another machine sharing the database, a container since
replaced), or sooner when it ran on this host and its process is gone; the
next run settles a dead run's rows as above.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    Table,
    Update,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import ColumnElement, Executable

from ..errors import BroadsheetError
from .personalize import Reader
from .store import LedgerEntry, Run, State, Status, Subscriber, utcnow
from .transports import Delivery, Outcome

_LEDGER: Table = LedgerEntry.__table__  # type: ignore[assignment]
_STATE_VALUE_OF = {outcome: State(outcome.value).value for outcome in Outcome}
"""The state a copy takes from the transport's answer (they share their names), as the ledger stores it: looked
up here, since an enum's `.value` costs a call through its descriptor."""
DIED = (
    "handed over by a send that stopped before it heard the answer (killed, its machine or its database went "
    "down, or it went silent for longer than send_run_stale_seconds)"
)
"""What a dead run's `sending` rows say once they are `unknown`."""

T = TypeVar("T")

_TRIED = (State.PENDING, State.QUEUED, State.DEFERRED)
"""The states of the copies a send tries without being asked to: not yet handed over, or refused for now."""

# The statements of every hand-over, built once: building them anew costs more than running them.
_SETTLED_ROWS = (
    _LEDGER.c.run_id == bindparam("run"),
    _LEDGER.c.state == State.SENDING.value,
    # A subscriber forgotten meanwhile keeps their copy anonymous, without the answer (it may quote the address).
    _LEDGER.c.subscriber_id.is_not(None),
)


class _Direct:
    """A statement of every hand-over, compiled once per database driver and handed to the driver as it is.

    Through `Connection.execute`, SQLAlchemy's work on each execution (naming, typing and processing each
    parameter, setting up the result) cost the ledger's writer more than the database's own: settling 50 answers
    took 20 µs a row, 12 directly, and the writer holds the interpreter lock that the channels wait for while it
    works. The parameters are processed as SQLAlchemy would (a time made the text SQLite keeps), with the same
    statement in the same transaction.
    """

    def __init__(self, statement: Update) -> None:
        self.statement = statement
        self._compiled: dict[
            tuple[str, str, str], tuple[str, list[str] | None, dict[str, Any], dict[str, Any]]
        ] = {}

    def execute(self, connection: Connection, values: dict[str, Any]) -> int:
        """Run the statement with `values` for its parameters; the rows it changed."""
        dialect = connection.dialect
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        if key not in self._compiled:
            compiled = self.statement.compile(dialect=dialect)
            processors = {
                name: process
                for name in compiled.params
                if (process := compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            }
            self._compiled[key] = (str(compiled), compiled.positiontup, processors, compiled.params)
        sql, order, processors, constants = self._compiled[key]
        given = {**constants, **values}
        for name, process in processors.items():
            given[name] = process(given[name])
        parameters = tuple(given[name] for name in order) if order is not None else given
        return int(connection.exec_driver_sql(sql, parameters).rowcount)


@functools.cache
def _names(prefix: str, count: int) -> tuple[str, ...]:
    """The names of `count` parameters of a statement built for that many rows: `entry0`, `entry1` ..."""
    return tuple(f"{prefix}{number}" for number in range(count))


@functools.cache
def _settle_each(count: int) -> _Direct:
    """For `count` rows of one outcome, each with its own answer (an SMTP reply, an outbox file): one statement,
    built once per count. An executemany of the rows cost twice its time (SQLAlchemy's work on each row's
    parameters), and gave up the interpreter lock once a row to the channels, which the writer then waited for."""
    entries = [bindparam(name, type_=Integer) for name in _names("entry", count)]
    answers = [bindparam(name, type_=String) for name in _names("answer", count)]
    return _Direct(
        update(_LEDGER)
        .where(_LEDGER.c.id.in_(entries), *_SETTLED_ROWS)
        .values(
            state=bindparam("outcome"),
            detail=case(
                *[(_LEDGER.c.id == entry, answer) for entry, answer in zip(entries, answers, strict=True)]
            ),
            updated_at=bindparam("now"),
        )
    )


_SETTLE_EACH_AT_MOST = 100
"""Rows settled by one statement of `_settle_each`: a few statements to build, and few parameters each."""
_SETTLE_ALL = (
    update(_LEDGER)
    .where(_LEDGER.c.id.in_(bindparam("entries", expanding=True)), *_SETTLED_ROWS)
    .values(state=bindparam("outcome"), detail=bindparam("answer"), updated_at=bindparam("now"))
)
"""For rows that share their answer (a SendGrid request's thousand copies): one statement, not a thousand."""


@functools.cache
def _mark_sending(count: int) -> _Direct:
    """For `count` rows: `sending`, one more attempt. Built once per count (a batch's size, or the few sizes of a
    group of hand-overs), without the list of ids that SQLAlchemy expands anew at each execution."""
    return _Direct(
        update(_LEDGER)
        .where(
            _LEDGER.c.id.in_([bindparam(name, type_=Integer) for name in _names("entry", count)]),
            _LEDGER.c.run_id == bindparam("run"),
            _LEDGER.c.state == State.QUEUED.value,
            _LEDGER.c.subscriber_id.is_not(None),
        )
        .values(state=State.SENDING.value, attempts=_LEDGER.c.attempts + 1, updated_at=bindparam("now"))
    )


class SendRefused(BroadsheetError):
    """Another sender is at work and the database cannot share the work."""


class TakenForDead(BroadsheetError):
    """Another run found this run's heartbeat stale and settled its rows: it must not claim any more."""


log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=300)
"""The default of the `send_run_stale_seconds` setting: how old a run's heartbeat may be before it counts as dead."""


def _alive(run: Run, beaten_since: datetime) -> bool:
    """Whether the process of `run` still runs: it did not finish, it wrote its heartbeat since `beaten_since`
    (wherever it runs), and on this host its process exists. A process found under the pid of a run whose
    heartbeat is stale is another one that was given the same number."""
    if run.finished_at is not None or run.heartbeat_at < beaten_since:
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


def _clock(connection: Connection) -> datetime:
    """Now, by the database's clock where several machines may share it (PostgreSQL): the heartbeats of runs on
    different hosts are written and judged by one clock, whatever the hosts' own clocks say."""
    now = connection.scalar(select(func.now())) if connection.dialect.name == "postgresql" else None
    return now if isinstance(now, datetime) else utcnow()


class _Heartbeat:
    """Writes a run's `heartbeat_at` every fifth of `stale_after`, from a thread of its own, so that a run busy
    or waiting for a long time (a slow server, a rate limit's pause) is never taken for dead."""

    def __init__(self, engine: Engine, run_id: str, stale_after: timedelta, lost: threading.Event) -> None:
        self.engine, self.run_id, self.stale_after = engine, run_id, stale_after
        self.interval = stale_after.total_seconds() / 5
        self.lost = lost
        """Set when another run is found to have taken this one for dead (and finished it)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat_until_stopped, name="send-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.interval) and not self.lost.is_set():
            try:
                self.beat()
            except SQLAlchemyError as exc:
                # The next beat may get through; a send whose database stays away fails on its own writes.
                log.warning(
                    "the heartbeat of this send could not be written (%s); trying again in %.0f s",
                    type(exc).__name__,
                    self.interval,
                )

    def beat(self) -> None:
        """Write the heartbeat now, unless another run has taken this one for dead (then `lost`)."""
        with self.engine.begin() as connection:
            written = connection.execute(
                update(Run)
                .where(Run.id == self.run_id, Run.finished_at.is_(None))
                .values(heartbeat_at=_clock(connection))
            ).rowcount
        if not written:
            self.lost.set()
            log.error(
                "another send took this one for dead (its heartbeat was older than %.0f s) and settled its copies",
                self.stale_after.total_seconds(),
            )


class Claimed(NamedTuple):
    entry_id: int
    subscriber: Reader
    """The columns a copy needs, read in the claim's own query."""


@dataclass(frozen=True)
class Copy:
    """One copy as `send --status --list` shows it."""

    subscriber_id: int
    address: str
    locale: str
    attempts: int
    answer: str


@dataclass(frozen=True)
class Patience:
    """How long a deferred copy is tried: `max_attempts` tries in all runs, or `max_age_hours` after its first deferral."""

    max_attempts: int
    max_age_hours: float

    def eligible(self) -> ColumnElement[bool]:
        """The deferred rows still worth a try."""
        since = utcnow() - timedelta(hours=self.max_age_hours)
        return and_(
            LedgerEntry.attempts < self.max_attempts,
            or_(LedgerEntry.deferred_at.is_(None), LedgerEntry.deferred_at > since),
        )


@dataclass
class SendLedger:
    """The ledger rows of one issue, worked through by one run of `broadsheet send`.

    Methods that change rows during a send take the `Connection` of a transaction: the
    `LedgerWriter` groups the writes of all channels into as few transactions as it can.
    """

    engine: Engine
    issue: str
    stale_after: timedelta = STALE_AFTER
    """How old a run's heartbeat may be before it counts as dead (`send_run_stale_seconds`)."""
    run_id: str | None = field(default=None, init=False)
    _heartbeat: _Heartbeat | None = field(default=None, init=False, repr=False)
    _taken_for_dead: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    @property
    def shares_work(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    # -- a run ------------------------------------------------------------------------------------------

    def start(self) -> str:
        """Register this process as a sender of the issue, start its heartbeat, and settle what dead runs left;
        refused on SQLite while another sender runs."""
        with self.engine.begin() as connection:
            now = _clock(connection)
            others = self._runs(connection)
            live = [run for run in others if _alive(run, now - self.stale_after)]
            if live and not self.shares_work:
                raise SendRefused(
                    f"another `broadsheet send` of {self.issue} is running (process {live[0].pid} on {live[0].host}); "
                    "SQLite cannot share the work: wait for it to finish, or use PostgreSQL"
                )
            dead = [run.id for run in others if run not in live]
            if dead:
                connection.execute(
                    update(Run)
                    .where(Run.id.in_(dead), Run.finished_at.is_(None))
                    .values(finished_at=utcnow())
                )
                connection.execute(
                    update(LedgerEntry)
                    .where(LedgerEntry.run_id.in_(dead), LedgerEntry.state == State.SENDING.value)
                    .values(state=State.UNKNOWN.value, detail=DIED, updated_at=utcnow())
                )
                self._give_back(connection, LedgerEntry.run_id.in_(dead))
            self.run_id = str(uuid.uuid4())
            connection.execute(
                insert(Run).values(
                    id=self.run_id,
                    issue=self.issue,
                    pid=os.getpid(),
                    host=socket.gethostname(),
                    started_at=utcnow(),
                    heartbeat_at=now,
                )
            )
        self._heartbeat = _Heartbeat(self.engine, self.run_id, self.stale_after, self._taken_for_dead)
        self._heartbeat.start()
        return self.run_id

    def finish(self) -> None:
        """Stop the heartbeat, give back the rows this run claimed and did not hand over, and mark the run finished.

        A row left `sending` (the run was interrupted while the transport had it) stays so: the next
        run counts it unknown.
        """
        if self.run_id is None:
            return
        if self._heartbeat is not None:
            self._heartbeat.stop()
        with self.engine.begin() as connection:
            self._give_back(connection, LedgerEntry.run_id == self.run_id)
            finished = connection.execute(
                update(Run)
                .where(Run.id == self.run_id, Run.finished_at.is_(None))
                .values(finished_at=utcnow())
            ).rowcount
        if not finished:
            self._taken_for_dead.set()

    def raise_if_taken_for_dead(self) -> None:
        """Raise `TakenForDead` if another run found this one's heartbeat stale and settled its rows."""
        if self._taken_for_dead.is_set():
            raise TakenForDead(
                f"this send of {self.issue} was taken for dead by another: its heartbeat went unwritten for more "
                f"than {self.stale_after.total_seconds():.0f} s (was the process stopped, or the database out of "
                "reach?), so the copies it held are pending again or unknown (`--status` counts them): run "
                "`broadsheet send` again"
            )

    def _without_a_row(self, locales: Sequence[str]) -> ColumnElement[bool]:
        """Active subscribers (in `locales`) that this issue has no row for yet."""
        already = exists().where(
            and_(LedgerEntry.issue == self.issue, LedgerEntry.subscriber_id == Subscriber.id)
        )
        return and_(Subscriber.status == Status.ACTIVE.value, Subscriber.locale.in_(locales), ~already)

    def unrecorded(self, locales: Sequence[str]) -> Counter[str]:
        """Per locale, the active subscribers that `record` would add a row for now."""
        return self._per_locale(locales, ())

    def waiting(self, locales: Sequence[str], retry: Collection[State] = ()) -> Counter[str]:
        """Per locale, the active subscribers whose copy a send would try now: those without a row yet, and those
        whose copy is pending, claimed by a run that stopped, deferred, or in a state of `retry`."""
        return self._per_locale(locales, (*_TRIED, *retry))

    def waiting_addresses(
        self, locales: Sequence[str], retry: Collection[State] = ()
    ) -> dict[str, list[str]]:
        """Per locale (each of `locales`), the addresses of the subscribers `waiting` counts, in order of address."""
        found: dict[str, list[str]] = {locale: [] for locale in locales}
        with self.engine.connect() as connection:
            for locale, address in connection.execute(
                select(Subscriber.locale, Subscriber.email)
                .outerjoin(LedgerEntry, self._copy_of_subscriber())
                .where(self._active_with_copy_in(locales, (*_TRIED, *retry)))
                .order_by(Subscriber.email_key)
            ):
                found[locale].append(address)
        return found

    def _per_locale(self, locales: Sequence[str], states: Collection[State]) -> Counter[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Subscriber.locale, func.count())
                .outerjoin(LedgerEntry, self._copy_of_subscriber())
                .where(self._active_with_copy_in(locales, states))
                .group_by(Subscriber.locale)
            ).all()
        return Counter({locale: int(number) for locale, number in rows})

    def _copy_of_subscriber(self) -> ColumnElement[bool]:
        return and_(LedgerEntry.issue == self.issue, LedgerEntry.subscriber_id == Subscriber.id)

    def _active_with_copy_in(self, locales: Sequence[str], states: Collection[State]) -> ColumnElement[bool]:
        """The active subscribers (in `locales`, their copy joined) without a copy of this issue yet, or with one
        in `states`."""
        return and_(
            Subscriber.status == Status.ACTIVE.value,
            Subscriber.locale.in_(locales),
            or_(LedgerEntry.id.is_(None), LedgerEntry.state.in_([state.value for state in states])),
        )

    def record(self, locales: Sequence[str]) -> int:
        """Add a pending row for every active subscriber (in `locales`) without one; how many were added."""
        with self.engine.begin() as connection:
            chosen = select(
                literal(self.issue, String()).label("issue"),
                Subscriber.id,
                Subscriber.locale,
            ).where(self._without_a_row(locales))
            # Two senders starting at once on PostgreSQL may both find a subscriber without a row:
            # the unique (issue, subscriber) index settles it, and the later insert skips the row.
            columns, key = ["issue", "subscriber_id", "locale"], ["issue", "subscriber_id"]
            statement: Executable
            if self.engine.dialect.name == "postgresql":
                statement = (
                    postgresql.insert(LedgerEntry)
                    .from_select(columns, chosen)
                    .on_conflict_do_nothing(index_elements=key)
                )
            elif self.engine.dialect.name == "sqlite":
                statement = (
                    sqlite.insert(LedgerEntry)
                    .from_select(columns, chosen)
                    .on_conflict_do_nothing(index_elements=key)
                )
            else:
                statement = insert(LedgerEntry).from_select(columns, chosen)
            return int(connection.execute(statement).rowcount or 0)

    # -- before the copies go: what to try ----------------------------------------------------------------

    def requeue(self, state: State) -> int:
        """Make every copy in `state` (unknown: `--retry-unknown`, failed: `--retry-failed`) pending again; how many."""
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    update(LedgerEntry)
                    .where(self._mine(), LedgerEntry.state == state.value)
                    .values(
                        state=State.PENDING.value,
                        run_id=None,
                        deferred_at=None,
                        detail=f"sent again after {'an unknown fate' if state is State.UNKNOWN else 'it failed'}",
                    )
                ).rowcount
            )

    def give_up_deferred(self, patience: Patience | None = None) -> int:
        """Mark failed the deferred copies past `patience` (all of them without one); how many."""
        past = ~patience.eligible() if patience is not None else literal(True)
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    update(LedgerEntry)
                    .where(self._mine(), LedgerEntry.state == State.DEFERRED.value, past)
                    .values(
                        state=State.FAILED.value,
                        detail=func.substr(
                            literal("gave up on a deferred copy; its last answer: ", String())
                            + LedgerEntry.detail,
                            1,
                            500,
                        ),
                        updated_at=utcnow(),
                    )
                ).rowcount
            )

    def due(self, patience: Patience) -> Counter[str]:
        """How many copies this run would try: `pending`, and `deferred` still within `patience`."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(LedgerEntry.state, func.count())
                .where(
                    self._mine(),
                    or_(
                        LedgerEntry.state == State.PENDING.value,
                        and_(LedgerEntry.state == State.DEFERRED.value, patience.eligible()),
                    ),
                )
                .group_by(LedgerEntry.state)
            ).all()
        return Counter({state: int(number) for state, number in rows})

    # -- during a send: each write in a transaction of the `LedgerWriter` ---------------------------------

    def claim(
        self,
        connection: Connection,
        locale: str,
        limit: int,
        *,
        state: State = State.PENDING,
        after: int = 0,
        patience: Patience | None = None,
    ) -> list[Claimed]:
        """Take up to `limit` rows of `locale` in `state` (deferred ones within `patience`), of ids above
        `after`, in order, for this run: `queued`, and the subscriber's columns that a copy needs."""
        self.raise_if_taken_for_dead()
        chosen = (
            select(LedgerEntry.id)
            .where(
                self._mine(),
                LedgerEntry.locale == locale,
                LedgerEntry.state == state.value,
                LedgerEntry.id > after,
                patience.eligible() if patience is not None else literal(True),
            )
            .order_by(LedgerEntry.id)
            .limit(limit)
        )
        if self.shares_work:
            chosen = chosen.with_for_update(skip_locked=True)
        # One UPDATE choosing its rows itself: no list of a thousand ids goes to the database and back.
        claimed = connection.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id.in_(chosen))
            .values(state=State.QUEUED.value, run_id=self.run_id)
        ).rowcount
        if not claimed:
            return []
        # This round's rows of the locale above `after` that the run holds are exactly the ones just claimed.
        rows = connection.execute(
            select(LedgerEntry.id, Subscriber.id, Subscriber.email, Subscriber.email_key, Subscriber.name)
            .join(Subscriber, LedgerEntry.subscriber_id == Subscriber.id)
            .where(
                LedgerEntry.issue == self.issue,
                LedgerEntry.run_id == self.run_id,
                LedgerEntry.state == State.QUEUED.value,
                LedgerEntry.locale == locale,
                LedgerEntry.id > after,
            )
            .order_by(LedgerEntry.id)
        ).all()
        return [
            Claimed(entry_id, Reader(subscriber_id, email, key, name))
            for entry_id, subscriber_id, email, key, name in rows
        ]

    def hand_over(
        self, connection: Connection, entry_ids: Collection[int], settled: Sequence[tuple[int, Delivery]] = ()
    ) -> set[int]:
        """Record the answers in `settled`, and mark `entry_ids` `sending` (one more attempt each): the
        ids that may go now. A row whose subscriber was forgotten since its claim is not among them."""
        self.settle(connection, settled)
        if not entry_ids:
            return set()
        values: dict[str, Any] = {"run": self.run_id, "now": utcnow()}
        values.update(zip(_names("entry", len(entry_ids)), entry_ids, strict=True))
        marked = _mark_sending(len(entry_ids)).execute(connection, values)
        if marked == len(entry_ids):
            return set(entry_ids)
        return set(
            connection.scalars(
                select(LedgerEntry.id).where(
                    LedgerEntry.id.in_(entry_ids),
                    LedgerEntry.run_id == self.run_id,
                    LedgerEntry.state == State.SENDING.value,
                )
            )
        )

    def settle(self, connection: Connection, settled: Sequence[tuple[int, Delivery]]) -> None:
        """Record what the transport answered for rows it was handed."""
        if not settled:
            return
        now = utcnow()
        # Only rows still this run's are settled.
        answers: dict[tuple[str, str], list[int]] = {}
        for entry_id, delivery in settled:
            answers.setdefault((_STATE_VALUE_OF[delivery.outcome], delivery.detail[:500]), []).append(
                entry_id
            )
        each: dict[str, list[tuple[int, str]]] = {}
        for (outcome, answer), entry_ids in answers.items():
            if len(entry_ids) > 1:
                connection.execute(
                    _SETTLE_ALL,
                    {
                        "entries": entry_ids,
                        "run": self.run_id,
                        "outcome": outcome,
                        "answer": answer,
                        "now": now,
                    },
                )
            else:
                each.setdefault(outcome, []).append((entry_ids[0], answer))
        for outcome, rows in each.items():
            for first in range(0, len(rows), _SETTLE_EACH_AT_MOST):
                some = rows[first : first + _SETTLE_EACH_AT_MOST]
                values: dict[str, Any] = {"run": self.run_id, "outcome": outcome, "now": now}
                entries, answers_given = zip(*some, strict=True)
                values.update(zip(_names("entry", len(some)), entries, strict=True))
                values.update(zip(_names("answer", len(some)), answers_given, strict=True))
                _settle_each(len(some)).execute(connection, values)
        deferred = [entry_id for entry_id, delivery in settled if delivery.outcome is Outcome.DEFERRED]
        if deferred:
            connection.execute(
                update(LedgerEntry)
                .where(LedgerEntry.id.in_(deferred), LedgerEntry.deferred_at.is_(None))
                .values(deferred_at=now)
            )

    def release(self, connection: Connection, entry_ids: Collection[int], detail: str) -> None:
        """Give rows back: the transport certainly did not take them."""
        self._give_back(
            connection, and_(LedgerEntry.id.in_(entry_ids), LedgerEntry.run_id == self.run_id), detail
        )

    def _give_back(
        self, connection: Connection, which: ColumnElement[bool], detail: str | None = None
    ) -> None:
        """`queued` and `sending` rows in `which` back to what they were before their claim."""
        values: dict[str, Any] = {
            "state": case(
                (LedgerEntry.deferred_at.is_(None), State.PENDING.value), else_=State.DEFERRED.value
            ),
            "run_id": None,
        }
        if detail is not None:
            values["detail"] = detail[:500]
        states = [State.QUEUED.value] if detail is None else [State.QUEUED.value, State.SENDING.value]
        connection.execute(update(LedgerEntry).where(which, LedgerEntry.state.in_(states)).values(**values))

    # -- what became of the copies -------------------------------------------------------------------------

    def counts(self) -> Counter[tuple[str, str]]:
        """Rows per (state, locale), counted by the database. Rows of dead runs count as what the next run
        will make of them: `sending` as `unknown`, `queued` as what they were before."""
        with self.engine.connect() as connection:
            groups = connection.execute(
                select(
                    LedgerEntry.state,
                    LedgerEntry.locale,
                    LedgerEntry.run_id,
                    LedgerEntry.deferred_at.is_(None),
                    func.count(),
                )
                .where(LedgerEntry.issue == self.issue)
                .group_by(
                    LedgerEntry.state,
                    LedgerEntry.locale,
                    LedgerEntry.run_id,
                    LedgerEntry.deferred_at.is_(None),
                )
            ).all()
            dead = self._dead_runs(connection)
        counts: Counter[tuple[str, str]] = Counter()
        for state, locale, run_id, never_deferred, number in groups:
            if run_id in dead and state == State.SENDING.value:
                state = State.UNKNOWN.value
            elif run_id in dead and state == State.QUEUED.value:
                state = State.PENDING.value if never_deferred else State.DEFERRED.value
            counts[(state, locale)] += int(number)
        return counts

    def unknown(self) -> list[int]:
        """The rows of unknown fate, and those a dead run left `sending` (unknown to the next run)."""
        with self.engine.connect() as connection:
            dead = self._dead_runs(connection)
            return list(
                connection.scalars(
                    select(LedgerEntry.id)
                    .where(
                        self._mine(),
                        or_(
                            LedgerEntry.state == State.UNKNOWN.value,
                            and_(LedgerEntry.state == State.SENDING.value, LedgerEntry.run_id.in_(dead)),
                        ),
                    )
                    .order_by(LedgerEntry.id)
                )
            )

    def copies(self, state: State) -> list[Copy]:
        """Each copy in `state` (unknown: with those a dead run left `sending`), by subscriber id."""
        with self.engine.connect() as connection:
            which: ColumnElement[bool] = LedgerEntry.state == state.value
            if state is State.UNKNOWN:
                which = or_(
                    which,
                    and_(
                        LedgerEntry.state == State.SENDING.value,
                        LedgerEntry.run_id.in_(self._dead_runs(connection)),
                    ),
                )
            rows = connection.execute(
                select(
                    Subscriber.id,
                    Subscriber.email,
                    LedgerEntry.locale,
                    LedgerEntry.attempts,
                    LedgerEntry.state,
                    LedgerEntry.detail,
                )
                .join(Subscriber, LedgerEntry.subscriber_id == Subscriber.id)
                .where(LedgerEntry.issue == self.issue, which)
                .order_by(Subscriber.id)
            ).all()
        return [
            Copy(
                subscriber_id, address, locale, attempts, DIED if row_state == State.SENDING.value else answer
            )
            for subscriber_id, address, locale, attempts, row_state, answer in rows
        ]

    def _mine(self) -> ColumnElement[bool]:
        """This issue's rows that someone can still be sent (a forgotten subscriber's copy has nobody)."""
        return and_(LedgerEntry.issue == self.issue, LedgerEntry.subscriber_id.is_not(None))

    def _runs(self, connection: Connection) -> list[Run]:
        """Every run of the issue, as detached objects (a handful: one per `send` of it)."""
        return [Run(**row._mapping) for row in connection.execute(select(Run).where(Run.issue == self.issue))]

    def _dead_runs(self, connection: Connection) -> set[str]:
        beaten_since = _clock(connection) - self.stale_after
        return {
            run.id
            for run in self._runs(connection)
            if run.id != self.run_id and not _alive(run, beaten_since)
        }


def _held() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Request:
    work: Callable[[Connection], Any] | None
    """What to run in the transaction; None for a hand-over, which runs with the others of its group."""
    entry_ids: Collection[int] = ()
    settled: Sequence[tuple[int, Delivery]] = ()
    done: threading.Lock = field(default_factory=_held)
    """Released once the request is done: a bare lock wakes its one waiter at a fraction of an Event's cost."""
    result: Any = None
    error: BaseException | None = None


class LedgerWriter:
    """Runs the ledger writes of all the channels of a send in one thread, as many as wait in one transaction.

    A channel waits for its write to be committed before any copy's data goes out, so grouping the writes
    (a group commit) weakens no promise; it saves commits and statements (the hand-overs of a group are
    one UPDATE), and on SQLite it keeps writers from waiting for each other's locks.
    """

    def __init__(self, ledger: SendLedger) -> None:
        self.ledger = ledger
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="ledger-writer", daemon=True)

    def __enter__(self) -> LedgerWriter:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._requests.put(None)
        self._thread.join()

    def call(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in a transaction, committed when this returns; raises what it raised."""
        return self.start(work)()

    def start(self, work: Callable[[Connection], T]) -> Callable[[], T]:
        """`call`, started now: the function returned waits until `work` is committed and gives what it returned
        (raising what it raised), so that the caller goes on meanwhile."""
        return self._started(_Request(work))

    def hand_over(
        self, entry_ids: Collection[int], settled: Sequence[tuple[int, Delivery]] = ()
    ) -> Callable[[], set[int]]:
        """`SendLedger.hand_over`, started now: the function returned waits until it is committed and gives
        its answer (raising what it raised), so that a channel prepares its copies meanwhile."""
        return self._started(_Request(None, entry_ids, settled))

    def _started(self, request: _Request) -> Callable[[], Any]:
        self._requests.put(request)
        return functools.partial(self._answer, request)

    @staticmethod
    def _answer(request: _Request) -> Any:
        with request.done:
            pass
        if request.error is not None:
            raise request.error
        return request.result

    def _serve(self) -> None:
        # One connection for the whole send while it works: taking one from the pool for each group cost a third
        # of a hand-over's time. A group that fails leaves it for a new one.
        connection: Connection | None = None
        try:
            while (first := self._requests.get()) is not None:
                group, last = [first], False
                while not last:
                    try:
                        waiting = self._requests.get_nowait()
                    except queue.Empty:
                        break
                    if waiting is None:
                        last = True
                    else:
                        group.append(waiting)
                try:
                    connection = connection or self.ledger.engine.connect()
                    with connection.begin():
                        self._run(connection, group)
                except BaseException as exc:  # handed to every caller of the group, in its own thread
                    for request in group:
                        request.error = exc
                    _closed(connection)
                    connection = None
                for request in group:
                    request.done.release()
                if last:
                    return
        finally:
            _closed(connection)

    def _run(self, connection: Connection, group: list[_Request]) -> None:
        hand_overs = [request for request in group if request.work is None]
        if hand_overs:
            handed = self.ledger.hand_over(
                connection,
                [entry_id for request in hand_overs for entry_id in request.entry_ids],
                [answer for request in hand_overs for answer in request.settled],
            )
            for request in hand_overs:
                request.result = handed.intersection(request.entry_ids)
        for request in group:
            if request.work is not None:
                request.result = request.work(connection)


def _closed(connection: Connection | None) -> None:
    """Close `connection` if there is one, whatever state it is in."""
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()
