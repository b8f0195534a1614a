"""Sending an issue: every locale rendered once, then the ledger worked through by all the transport's channels.

`send_issue` is resumable: run it again after a crash, a rate limit or a
network failure, and it sends only what was not sent. Each copy's answer is
recorded as the transport learns it (see `ledger.py` for what that promises
after `kill -9`); copies deferred by the recipient's server are tried again
after everyone else.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..model import Issue
from ..render import Email
from ..settings import Project, Settings
from .ledger import Claimed, LedgerWriter, Patience, SendLedger
from .personalize import Copies, Recipe, Signer, recipient
from .store import State, Status, Subscriber
from .transports import Batch, Delivery, Outcome, Recipient, Transport, TransportError
from .transports.retry import Backoff


def ledger_of(engine: Engine, issue: Issue, settings: Settings) -> SendLedger:
    """The send ledger of `issue`, in which a run is taken for dead after `send_run_stale_seconds` of silence."""
    return SendLedger(engine, issue.date.isoformat(), timedelta(seconds=settings.send_run_stale_seconds))


def batch_of(
    issue: Issue,
    email: Email,
    project: Project,
    recipients: Sequence[Recipient],
    clearance: Callable[[], Collection[int]] | None = None,
) -> Batch:
    settings = project.settings
    return Batch(
        issue=issue.date.isoformat(),
        locale=email.locale,
        subject=email.subject,
        html=email.html,
        text=email.text,
        sender=settings.sender,
        reply_to=settings.reply_to or None,
        recipients=recipients,
        clearance=clearance,
    )


def unserved(engine: Engine, locales: Sequence[str]) -> Counter[str]:
    """Active subscribers per locale that is not among `locales`: a send leaves them out."""
    with Session(engine) as session:
        rows = session.execute(
            select(Subscriber.locale, func.count())
            .where(Subscriber.status == Status.ACTIVE.value, Subscriber.locale.not_in(locales))
            .group_by(Subscriber.locale)
        ).all()
    return Counter({locale: int(count) for locale, count in rows})


def to_send(
    engine: Engine, issue: Issue, settings: Settings, locales: Sequence[str], *, retry: Collection[State] = ()
) -> Counter[str]:
    """Per locale, the copies a send of `issue` would try now: active subscribers without one yet, pending and
    deferred copies, and those in the states of `retry` (unknown, failed)."""
    return ledger_of(engine, issue, settings).waiting(locales, retry)


def addresses_to_send(
    engine: Engine, issue: Issue, settings: Settings, locales: Sequence[str], *, retry: Collection[State] = ()
) -> dict[str, list[str]]:
    """The addresses `to_send` counts, per locale, in order of address: who a send would send to now."""
    return ledger_of(engine, issue, settings).waiting_addresses(locales, retry)


@dataclass
class Progress:
    """What a send did so far; `on_change` is called as copies are settled (a few times a second at most)."""

    total: int = 0
    """Copies this run settles: pending when it started, and deferred ones (those past trying fail at once)."""
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    """Copies waiting to be tried again: the recipient's server refused them for now."""
    unknown: int = 0
    """Copies this run handed over without hearing the answer."""
    unknown_before: int = 0
    """Copies of unknown fate left by earlier runs (and not sent again: `retry` did not name them)."""
    unknown_answer: str = ""
    """What happened to the first copy this run left unknown, as the transport said it."""
    on_change: Callable[[Progress], None] = lambda progress: None

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.sent - self.failed - self.deferred - self.unknown)


def retry_backoff(settings: Settings) -> Backoff:
    """How long to wait before trying again what certainly did not go: from `retry_base_seconds`, doubling."""
    return Backoff(base=settings.retry_base_seconds, cap=30 * settings.retry_base_seconds)


DEFERRED_ROUNDS = 3
"""How many times in a run the deferred copies are tried again, after everyone else, with growing waits."""


def send_issue(
    project: Project,
    issue: Issue,
    emails: Mapping[str, Email],
    engine: Engine,
    transport: Transport,
    signer: Signer,
    *,
    retry: Collection[State] = (),
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> Progress:
    """Deliver every pending copy of `issue`, then try the deferred ones again; copies of unknown fate, and
    failed ones, are left alone unless `retry` names their state. Raises TransportError when the transport cannot go on (what it
    did until then is recorded)."""
    settings = project.settings
    progress = progress or Progress()
    ledger = ledger_of(engine, issue, settings)
    patience = Patience(settings.deferred_max_attempts, settings.deferred_max_age_hours)
    backoff = retry_backoff(settings)
    ledger.start()
    try:
        ledger.record(list(emails))
        progress.failed = ledger.give_up_deferred(patience)
        for state in retry:
            ledger.requeue(state)
        progress.unknown_before = len(ledger.unknown())
        due = ledger.due(patience)
        progress.total = due[State.PENDING.value] + due[State.DEFERRED.value] + progress.failed
        progress.deferred = due[State.DEFERRED.value]
        progress.on_change(progress)
        with _untouched_by_collections(), LedgerWriter(ledger) as writer:
            channels = _Channels(
                project, issue, emails, ledger, writer, transport, signer, progress, batch_size
            )
            channels.run(State.PENDING)
            for round_number in range(1, DEFERRED_ROUNDS + 1):
                if not ledger.due(patience)[State.DEFERRED.value]:
                    break
                backoff.wait(round_number)
                channels.run(State.DEFERRED, patience)
        given_up = ledger.give_up_deferred(patience)
        progress.failed += given_up
        progress.deferred -= given_up
        progress.on_change(progress)
    finally:
        ledger.finish()
    ledger.raise_if_taken_for_dead()
    return progress


@contextlib.contextmanager
def _untouched_by_collections() -> Iterator[None]:
    """Keep what is alive now (modules, editions, the engine) out of the garbage collector's scans until the end.

    Each request's or message's making allocates thousands of small containers, and the full collections
    they set off went through every object of the process each time: a third of a SendGrid send's time.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Channels:
    """The copies of one run going out over all the transport's channels at once, one thread each."""

    def __init__(
        self,
        project: Project,
        issue: Issue,
        emails: Mapping[str, Email],
        ledger: SendLedger,
        writer: LedgerWriter,
        transport: Transport,
        signer: Signer,
        progress: Progress,
        batch_size: int | None,
    ) -> None:
        self.project, self.issue, self.emails = project, issue, emails
        self.ledger, self.writer, self.transport, self.signer = ledger, writer, transport, signer
        self.recipe = Recipe.of(ledger.issue, project.settings, signer)
        self.progress = progress
        self.size = min(batch_size or transport.max_batch, transport.max_batch)
        self._lock = threading.Lock()
        self._reported = 0.0

    def run(self, state: State, patience: Patience | None = None) -> None:
        """Hand over every row in `state` (deferred ones within `patience`); raises the first error of any channel."""
        chunk = max(self.size * self.transport.channels, CLAIM_AT_LEAST)
        feed = _Feed(self.ledger, self.writer, list(self.emails), state, patience, self.size, chunk)
        stop = threading.Event()
        ended = threading.Semaphore(0)
        errors: list[BaseException] = []
        channels = [
            threading.Thread(
                target=self._channel,
                args=(feed, state, stop, errors, ended),
                name=f"send-{number}",
                daemon=True,
            )
            for number in range(self.transport.channels)
        ]
        for channel in channels:
            channel.start()
        try:
            # Not `Thread.join`: Python 3.11's, interrupted while the thread runs, marks it stopped all the same
            # (its handling of bpo-45274 releases the lock the running thread holds), and the join below then
            # returned at once, leaving that channel's hand-over `sending`: unknown to the next run.
            for _ in channels:
                ended.acquire()
        except BaseException:
            # Interrupted (Ctrl-C): each channel ends after the hand-over it is in, its answer recorded.
            stop.set()
            for channel in channels:
                channel.join()
            raise
        finally:
            self._report(force=True)
        if errors:
            raise errors[0]

    def _channel(
        self,
        feed: _Feed,
        state: State,
        stop: threading.Event,
        errors: list[BaseException],
        ended: threading.Semaphore,
    ) -> None:
        """One channel's loop. Each batch's hand-over (its `sending` mark, committed with the answers of the
        batches before it) is started `hand_overs_ahead` batches before the transport has the batch, which
        waits for it (`Batch.cleared`) before any copy's data goes out, preparing what it can meanwhile: a
        channel has at most `1 + hand_overs_ahead` batches `sending` at any moment."""
        ahead = self.transport.hand_overs_ahead
        settled: list[tuple[int, Delivery]] = []
        started: deque[tuple[str, list[Claimed], _Clearance]] = deque()
        try:
            while True:
                while not stop.is_set() and len(started) <= ahead and (taken := feed.next()) is not None:
                    locale, claimed = taken
                    handed = self.writer.hand_over([row.entry_id for row in claimed], settled)
                    started.append((locale, claimed, _Clearance(handed, claimed)))
                    settled = []
                if not started:
                    break
                if settled:
                    # No later hand-over to carry the answers (the round ends, or the send stops): they are
                    # committed before the next batch goes, as they would have been with its mark.
                    self.writer.hand_over((), settled)()
                    settled = []
                locale, claimed, clearance = started.popleft()
                batch = batch_of(
                    self.issue,
                    self.emails[locale],
                    self.project,
                    Copies(self.recipe, [row.subscriber for row in claimed], self.signer),
                    clearance,
                )
                try:
                    deliveries = self.transport.send(batch)
                except TransportError as exc:
                    self.writer.call(
                        functools.partial(
                            self.ledger.release,
                            entry_ids=[row.entry_id for row in claimed] + _rows_of(started),
                            detail=str(exc),
                        )
                    )
                    started.clear()
                    raise
                finally:
                    # The hand-over is committed, and the answers it carried with it, whether the transport
                    # waited for it or not (it raised first).
                    rows = [claimed[position] for position in clearance()]
                if state is State.DEFERRED:
                    self._count(deferred=-len(rows))
                settled = [(row.entry_id, delivery) for row, delivery in zip(rows, deliveries, strict=True)]
                self._count(settled=deliveries)
        except BaseException as exc:  # reported by `run`, in the main thread
            errors.append(exc)
            stop.set()
            if started:
                # Marked, perhaps, but certainly not handed over: given back, unless the database that failed
                # refuses that too (then they count as unknown, within the bound above).
                with contextlib.suppress(Exception):
                    self.writer.call(
                        functools.partial(
                            self.ledger.release, entry_ids=_rows_of(started), detail=f"not handed over: {exc}"
                        )
                    )
        finally:
            if settled:
                try:
                    self.writer.hand_over((), settled)()
                except BaseException as exc:  # as above
                    errors.append(exc)
            ended.release()

    def _count(self, *, settled: Sequence[Delivery] = (), deferred: int = 0) -> None:
        with self._lock:
            progress = self.progress
            progress.deferred += deferred
            for delivery in settled:
                if delivery.outcome is Outcome.SENT:
                    progress.sent += 1
                elif delivery.outcome is Outcome.FAILED:
                    progress.failed += 1
                elif delivery.outcome is Outcome.DEFERRED:
                    progress.deferred += 1
                else:
                    progress.unknown += 1
                    progress.unknown_answer = progress.unknown_answer or delivery.detail
        self._report()

    def _report(self, *, force: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            if not force and now - self._reported < REPORT_EVERY:
                return
            self._reported = now
            self.progress.on_change(self.progress)


def _rows_of(started: Collection[tuple[str, list[Claimed], _Clearance]]) -> list[int]:
    """The ledger rows of batches whose hand-over was started."""
    return [row.entry_id for _, claimed, _ in started for row in claimed]


class _Clearance:
    """A batch's `clearance`: waits once for its hand-over to be committed, then gives the positions of the rows
    it marked `sending` (a row whose subscriber was forgotten since its claim is not among them)."""

    def __init__(self, answer: Callable[[], set[int]], claimed: Sequence[Claimed]) -> None:
        self._answer, self._claimed = answer, claimed
        self._positions: list[int] | None = None

    def __call__(self) -> list[int]:
        if self._positions is None:
            handed = self._answer()
            self._positions = [
                position for position, row in enumerate(self._claimed) if row.entry_id in handed
            ]
        return self._positions


CLAIM_AT_LEAST = 1000
"""Rows claimed at a time (more when the channels take more at once): a claim is a transaction of its own, and
its two statements cost the ledger's writer about 2 ms of Python (SQLAlchemy's) whatever their size: claims of 200
were 11 of the 26 µs a row that claiming took, claims of 1000 are 2 of 17."""

REPORT_EVERY = 0.25
"""Seconds between progress reports: an SMTP send settles hundreds of copies a second."""


class _Feed:
    """The batches of one round, claimed from the ledger a chunk at a time, locale after locale, for the channels to take.

    The next chunk is claimed while the channels take the batches of the last one: a claim waited for held up
    every channel (an outbox send's channel spent a fifth of its time so). The rows claimed ahead are `queued`,
    not handed over: a send that stops gives them back, as any claimed row.
    """

    def __init__(
        self,
        ledger: SendLedger,
        writer: LedgerWriter,
        locales: list[str],
        state: State,
        patience: Patience | None,
        size: int,
        chunk: int,
    ) -> None:
        self.ledger, self.writer, self.locales = ledger, writer, locales
        self.state, self.patience, self.size, self.chunk = state, patience, size, chunk
        self._after = 0
        self._batches: deque[tuple[str, list[Claimed]]] = deque()
        self._ahead: Callable[[], list[Claimed]] | None = None
        """The claim of the next chunk of `locales[0]`, started and not yet taken."""
        self._lock = threading.Lock()

    def next(self) -> tuple[str, list[Claimed]] | None:
        """The next batch of one locale, or None when the round has no more."""
        with self._lock:
            while not self._batches:
                if not self.locales:
                    return None
                locale = self.locales[0]
                claimed = (self._ahead or self._claim())()
                self._ahead = None
                if not claimed:
                    self.locales.pop(0)
                    self._after = 0
                    continue
                # Keyset order: a row deferred again in this round is not claimed twice in it.
                self._after = claimed[-1].entry_id
                self._batches.extend(
                    (locale, claimed[i : i + self.size]) for i in range(0, len(claimed), self.size)
                )
                self._ahead = self._claim()
            return self._batches.popleft()

    def _claim(self) -> Callable[[], list[Claimed]]:
        """The claim of the chunk of `locales[0]` after the last one, started now."""
        return self.writer.start(
            functools.partial(
                self.ledger.claim,
                locale=self.locales[0],
                limit=self.chunk,
                state=self.state,
                after=self._after,
                patience=self.patience,
            )
        )


def send_test_copy(
    project: Project, issue: Issue, email: Email, transport: Transport, signer: Signer, address: str
) -> Delivery:
    """One copy to `address`, outside the ledger (its unsubscribe link names no subscriber)."""
    stand_in = Subscriber(id=0, email=address, email_key=address.lower(), name="", locale=email.locale)
    copy = recipient(stand_in, issue.date.isoformat(), project.settings, signer)
    return transport.send(batch_of(issue, email, project, [copy]))[0]
