"""The `outbox:PATH` transport: each message written as an `.eml` file instead of sent, to look at or hand on.

Files go to `PATH/<issue>/<locale>/<address>.eml`; a rerun replaces a file
whole, so the folder always holds one complete message per recipient.
Writing a file cannot half-succeed: no copy's fate is ever unknown here
except when the process is killed mid-send (then at most the two batches the
ledger had marked).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ...atomic import replace_whole
from . import Batch, Delivery, Outcome, Recipient, TransportError, TransportSpecError
from .mime import PreparedMessage, prepare

_UNSAFE = re.compile(r"[^a-z0-9._@+-]")


def file_name(text: str) -> str:
    """`text` as a file name: itself when it is plain lower-case ASCII, else cleaned and made unique by a hash.

    Distinct texts never share a name (`~` appears only before a hash), and names
    differ by more than case, for case-insensitive file systems.
    """
    if not _UNSAFE.search(text) and not text.startswith(".") and len(text) <= 100:
        return text
    cleaned = _UNSAFE.sub("_", text.lower()).lstrip(".")[:100]
    return f"{cleaned}~{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


class OutboxTransport:
    """Writes each recipient's message to a folder."""

    name = "outbox"
    max_batch = 50
    channels = 1
    hand_overs_ahead = 1
    """The next batch's mark is committed while this one's files are written: the ledger's writes, which
    took a fifth of a send's time waited for, go while the kernel makes files. Two batches of 50 leave the same
    100 copies of unknown fate after `kill -9` as one of 100 did."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not str(path):
            raise TransportSpecError("outbox: needs a folder, e.g. outbox:build/outbox")
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"OutboxTransport({str(self.path)!r})"

    def send(self, batch: Batch) -> list[Delivery]:
        folder = self.path / file_name(batch.issue) / file_name(batch.locale)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(f"outbox: cannot write {folder}: {exc.strerror or exc}") from None
        prepared, where = prepare(batch), os.fspath(folder)
        # The copies are made while the ledger commits their hand-over (a copy's own pieces are a few KB: the
        # rest is the edition, shared), and written once it is committed, only those it cleared.
        made = [_made(prepared, recipient) for recipient in batch.recipients]
        deliveries = []
        for position in batch.cleared():
            recipient, pieces = batch.recipients[position], made[position]
            if isinstance(pieces, ValueError):
                deliveries.append(
                    Delivery(recipient.address, Outcome.FAILED, f"cannot compose the message: {pieces}")
                )
                continue
            target = os.path.join(where, f"{file_name(recipient.address)}.eml")
            try:
                replace_whole(target, pieces, sync=False)
            except OSError as exc:
                # Each file is written whole or not at all, and written again whole by the rerun: the batch
                # counts as not handed over.
                raise TransportError(f"outbox: cannot write {target}: {exc.strerror or exc}") from None
            deliveries.append(Delivery(recipient.address, Outcome.SENT, target))
        return deliveries

    def close(self) -> None:
        pass


def _made(prepared: PreparedMessage, recipient: Recipient) -> list[bytes] | ValueError:
    """`recipient`'s copy in pieces, or why it cannot be composed."""
    try:
        return prepared.message_pieces(recipient)
    except ValueError as exc:
        return exc
