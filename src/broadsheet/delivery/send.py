"""Sending an issue: every locale rendered once, then the ledger worked through in batches.

`send_issue` is resumable: run it again after a crash, a rate limit or a
network failure, and it sends only what was not sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..model import Issue
from ..render import Email
from ..settings import Project
from .ledger import Claimed, SendLedger
from .personalize import Signer, recipient
from .store import Status, Subscriber
from .transports import Batch, Delivery, Outcome, Recipient, Transport, TransportError


def batch_of(issue: Issue, email: Email, project: Project, recipients: Sequence[Recipient]) -> Batch:
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
    )


def audience(engine: Engine, locales: Sequence[str]) -> Counter[str]:
    """Active subscribers per locale."""
    with Session(engine) as session:
        rows = session.execute(
            select(Subscriber.locale, func.count())
            .where(Subscriber.status == Status.ACTIVE.value, Subscriber.locale.in_(locales))
            .group_by(Subscriber.locale)
        ).all()
    return Counter({locale: int(count) for locale, count in rows})


def active_addresses(engine: Engine, locales: Sequence[str]) -> dict[str, list[str]]:
    """The addresses of the active subscribers of each locale, ordered by address."""
    with Session(engine) as session:
        return {
            locale: list(
                session.scalars(
                    select(Subscriber.email)
                    .where(Subscriber.status == Status.ACTIVE.value, Subscriber.locale == locale)
                    .order_by(Subscriber.email_key)
                )
            )
            for locale in locales
        }


@dataclass
class Progress:
    """What a send did so far; `on_change` is called after every batch."""

    total: int = 0
    sent: int = 0
    failed: int = 0
    unknown: list[int] = field(default_factory=list)
    on_change: Callable[[Progress], None] = lambda progress: None

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.sent - self.failed)


def send_issue(
    project: Project,
    issue: Issue,
    emails: Mapping[str, Email],
    engine: Engine,
    transport: Transport,
    signer: Signer,
    *,
    retry_unknown: bool = False,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> Progress:
    """Deliver every pending copy of `issue`; the counts, and rows of unknown fate left alone."""
    progress = progress or Progress()
    ledger = SendLedger(engine, issue.date.isoformat())
    ledger.start()
    try:
        ledger.record(list(emails))
        unknown = ledger.unknown()
        if unknown and retry_unknown:
            ledger.requeue(unknown)
            unknown = []
        progress.unknown = unknown
        counts = ledger.counts()
        progress.total = sum(n for (state, _), n in counts.items() if state == "pending")
        progress.on_change(progress)
        size = min(batch_size or transport.max_batch, transport.max_batch)
        for locale, email in emails.items():
            while claimed := ledger.claim(locale, size):
                deliveries = _deliver(ledger, claimed, transport, batch_of(issue, email, project, [recipient(row.subscriber, ledger.issue, project.settings, signer) for row in claimed]))
                ledger.settle(claimed, deliveries)
                progress.sent += sum(1 for d in deliveries if d.outcome is Outcome.SENT)
                progress.failed += sum(1 for d in deliveries if d.outcome is Outcome.FAILED)
                progress.on_change(progress)
    finally:
        ledger.finish()
    return progress


def _deliver(ledger: SendLedger, claimed: Sequence[Claimed], transport: Transport, batch: Batch) -> list[Delivery]:
    try:
        return transport.send(batch)
    except TransportError as exc:
        done = len(exc.delivered)
        ledger.settle(claimed[:done], exc.delivered)
        unsure = exc.unsure_count(len(claimed) - done)
        if claimed[done + unsure :]:
            ledger.release(claimed[done + unsure :], exc.message)
        raise


def send_test_copy(project: Project, issue: Issue, email: Email, transport: Transport, signer: Signer, address: str) -> Delivery:
    """One copy to `address`, outside the ledger (its unsubscribe link names no subscriber)."""
    stand_in = Subscriber(id=0, email=address, email_key=address.lower(), name="", locale=email.locale)
    copy = recipient(stand_in, issue.date.isoformat(), project.settings, signer)
    return transport.send(batch_of(issue, email, project, [copy]))[0]
