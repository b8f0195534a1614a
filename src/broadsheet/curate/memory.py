"""What `broadsheet collect` remembers in the project's database: the URLs it offered for each issue."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..delivery.store import Offered


def offered(engine: Engine, issue: str) -> set[str]:
    """The URLs offered for `issue` (its date) by earlier runs."""
    with Session(engine) as session:
        return set(session.scalars(select(Offered.url).where(Offered.issue == issue)))


def remember(engine: Engine, issue: str, urls: Iterable[str]) -> None:
    """Record `urls` as offered for `issue`; those already recorded stay as they were."""
    with Session(engine) as session, session.begin():
        known = set(session.scalars(select(Offered.url).where(Offered.issue == issue)))
        session.add_all(Offered(issue=issue, url=url) for url in dict.fromkeys(urls) if url not in known)
