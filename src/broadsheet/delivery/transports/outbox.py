"""The `outbox:PATH` transport: each message written as an `.eml` file instead of sent, to look at or hand on.

Files go to `PATH/<issue>/<locale>/<address>.eml`; a rerun replaces a file
whole, so the folder always holds one complete message per recipient.
Writing a file cannot half-succeed: no copy's fate is ever unknown here
except when the process is killed mid-send (then at most the two batches
each channel had marked), or when one of its writers dies (below).

A large send is written by two writer processes (`WRITERS`), one per
channel: filling in and writing a copy is Python's work, which one process
does one copy at a time, so the sending process hands each writer its
batches' subscribers (`Copies`: their rows, and once their `Recipe`) and the
writers make each copy's links and headers, fill in and write the files on
the machine's other cores. Small sends, and machines of one core, write in the
sending process. A writer is `python -m broadsheet.delivery.transports.outbox
--writer PATH`; it ends when the sending process closes its pipe, or dies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import msgspec

from ...atomic import replace_whole
from ..personalize import Copies, Reader, Recipe, Signer
from . import Batch, Delivery, Outcome, Recipient, TransportError, TransportSpecError
from .mime import PreparedMessage, prepare

_UNSAFE = re.compile(r"[^a-z0-9._@+-]")

WRITERS = 2
"""Writer processes, and channels, of an outbox send on a machine of two cores or more."""

IN_PROCESS_BATCHES = 2
"""Batches written in the sending process before the writers start: a writer takes about 0.2 s to start
(importing Python's `email` package), the time of writing some 1000 copies here, so a send of a few copies (a
test copy, a trial) never pays for one."""


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
    hand_overs_ahead = 1
    """The next batch's mark is committed while this one's files are written: the ledger's writes, which
    took a fifth of a send's time waited for, go while the kernel makes files. Two batches of 50 a channel leave
    the same 100 copies of unknown fate after `kill -9` as one of 100 did."""

    def __init__(self, path: str | os.PathLike[str], *, writers: int | None = None) -> None:
        if not str(path):
            raise TransportSpecError("outbox: needs a folder, e.g. outbox:build/outbox")
        self.path = Path(path)
        self.writers = (WRITERS if (os.cpu_count() or 1) > 1 else 0) if writers is None else writers
        self.channels = max(1, self.writers)
        """One per writer: each channel hands its batches to a writer of its own."""
        self._pool = _Writers(self.path, self.writers)
        self._written_here = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OutboxTransport({str(self.path)!r})"

    def send(self, batch: Batch) -> list[Delivery]:
        folder = self.path / file_name(batch.issue) / file_name(batch.locale)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(f"outbox: cannot write {folder}: {exc.strerror or exc}") from None
        where = os.fspath(folder)
        with self._lock:
            here = self.writers == 0 or self._written_here < IN_PROCESS_BATCHES
            self._written_here += here
        if here:
            return _write_batch(prepare(batch), where, batch.recipients, batch.cleared)
        try:
            return self._pool.send(batch, where)
        except _NoWriter as exc:
            # The system would not start one (out of processes or memory), or it could not run: this batch, and
            # the rest, here.
            with self._lock:
                self.writers = 0
            given = exc.cleared
            clearance = batch.cleared if given is None else (lambda: given)
            return _write_batch(prepare(batch), where, batch.recipients, clearance)

    def close(self) -> None:
        self._pool.close()


def _write_batch(
    prepared: PreparedMessage, where: str, recipients: Sequence[Recipient], cleared: Any
) -> list[Delivery]:
    """Each cleared recipient's copy written into `where`. The copies are made while the ledger commits their
    hand-over (`cleared` waits for it; a copy's own pieces are a few KB, the rest is the edition, shared), and
    written once it is committed, only those it cleared."""
    made = [_made(prepared, recipient) for recipient in recipients]
    deliveries = []
    for position in cleared():
        recipient, pieces = recipients[position], made[position]
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


def _made(prepared: PreparedMessage, recipient: Recipient) -> list[bytes] | ValueError:
    """`recipient`'s copy in pieces, or why it cannot be composed."""
    try:
        return prepared.message_pieces(recipient)
    except ValueError as exc:
        return exc


# --- the writers -------------------------------------------------------------------------------------
#
# Sending process and writer speak msgpack over the writer's standard input and output, each message after
# its length (4 bytes, big-endian):
#
#                                            <- ("ready",) once started, before it reads anything
#   -> ("make", edition number, edition or None if sent before, folder, recipients)
#   -> ("write", positions cleared)          <- ("done", [(sent?, path or why not), ...]) or ("error", why)
#
# An edition whose batches come as `Copies` carries their `Recipe`, and its recipients are the subscribers' rows:
# the writer makes their copies' links and headers, a third of the sending process's CPU when it made them.
# The writer makes the copies on "make" and writes nothing before "write": the ledger's clearance holds as
# in the sending process.

_LENGTH = struct.Struct(">I")
_READY = "ready"
"""What a writer says first, once it has started, before it reads any request."""


class _NoWriter(Exception):
    """A writer process could not be started, or ended before it wrote anything."""

    def __init__(self, cleared: list[int] | None = None) -> None:
        super().__init__()
        self.cleared = cleared
        """The batch's clearance, if it was already given."""


class _WriterGone(Exception):
    """The writer's pipe closed: it ended, or was killed."""


class _Writer:
    """One writer process, and the editions it has been given."""

    def __init__(self, path: Path) -> None:
        # What it says goes to a file, not a pipe: a pipe that nobody reads until the writer ends would stop it
        # once full (Python's own warnings, or `PYTHONVERBOSE`, can fill one), and the send with it.
        with contextlib.ExitStack() as opened:
            self._said = opened.enter_context(tempfile.TemporaryFile())
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, "--writer", os.fspath(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._said,
            )
            self._files = opened.pop_all()  # kept open until `close`
        assert self.process.stdin is not None and self.process.stdout is not None
        self._input, self._output = self.process.stdin, self.process.stdout
        self.editions: set[int] = set()
        self._ready = False

    def tell(self, message: Any) -> None:
        data = msgspec.msgpack.encode(message)
        try:
            self._input.write(_LENGTH.pack(len(data)) + data)
            self._input.flush()
        except (BrokenPipeError, ValueError):
            raise _WriterGone from None

    def answer(self) -> Any:
        if not self.started():
            raise _WriterGone
        return msgspec.msgpack.decode(_read(self._output))

    def started(self) -> bool:
        """Whether it said it was ready, before it read any request; waits for it to say so, or end."""
        if not self._ready:
            with contextlib.suppress(_WriterGone):
                self._ready = msgspec.msgpack.decode(_read(self._output)) == [_READY]
        return self._ready

    def why_gone(self) -> str:
        """What the writer said before it ended, and how it ended."""
        try:
            status = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        said = self._last_said()
        ended = f"was killed by signal {-status}" if status < 0 else f"ended with status {status}"
        last = said.splitlines()[-1] if said else ""
        return f"{ended}{f': {last}' if last else ''}"

    def close(self) -> None:
        with contextlib.suppress(OSError):  # what it had not read yet: it is ending anyway
            self._input.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._output.close()
        self._files.close()

    def _last_said(self) -> str:
        """The end of what the writer said (its last line is why it ended, if it knew)."""
        self._said.seek(0, os.SEEK_END)
        self._said.seek(max(0, self._said.tell() - 4096))
        return self._said.read().decode("utf-8", "replace").strip()


class _Writers:
    """The writer processes of one transport, started as the channels first need them, one per channel."""

    def __init__(self, path: Path, most: int) -> None:
        self.path, self.most = path, most
        self._idle: list[_Writer] = []
        self._all: list[_Writer] = []
        self._editions: dict[tuple[Any, ...], int] = {}
        self._broken = ""
        self._lock = threading.Lock()

    def send(self, batch: Batch, where: str) -> list[Delivery]:
        writer = self._take()
        # The batch without its recipients, and the fields of their `Recipe` if they are `Copies`.
        edition: tuple[Any, ...] = (
            batch.issue,
            batch.locale,
            batch.subject,
            batch.html,
            batch.text,
            batch.sender,
            batch.reply_to,
        )
        given = batch.recipients
        if isinstance(given, Copies):
            edition += (dataclasses.astuple(given.recipe),)
            recipients: list[Any] = list(given.readers)
            addresses = [reader.email for reader in given.readers]
        else:
            edition += (None,)
            recipients = [
                (r.address, r.name, r.message_id, dict(r.substitutions), dict(r.headers)) for r in given
            ]
            addresses = [r.address for r in given]
        with self._lock:
            number = self._editions.setdefault(edition, len(self._editions))
        handed = False
        cleared: list[int] | None = None
        try:
            writer.tell(("make", number, None if number in writer.editions else edition, where, recipients))
            writer.editions.add(number)
            cleared = list(batch.cleared())
            writer.tell(("write", cleared))
            handed = True
            kind, found = writer.answer()
        except _WriterGone:
            self._lose(writer)
            why = f"outbox: a writer process {writer.why_gone()}"
            started = writer.started()  # it has ended: what it said is all there
            writer.close()
            if not started:
                # It ended before it read anything (it could not import broadsheet, say): a writer that cannot
                # start. The sending process writes this batch, cleared or not yet, and the rest.
                raise _NoWriter(cleared) from None
            if not handed:
                raise TransportError(why) from None
            # It may have written any of the batch's files before it ended.
            assert cleared is not None  # handed over: cleared first
            return [
                Delivery(addresses[position], Outcome.UNKNOWN, f"{why}, not saying which files")
                for position in cleared
            ]
        except BaseException:
            self._lose(writer)  # its half of the exchange is lost: it cannot be asked again
            writer.close()
            raise
        self._give_back(writer)
        if kind == "error":
            raise TransportError(found)
        return [
            Delivery(addresses[position], Outcome.SENT if sent else Outcome.FAILED, detail)
            for position, (sent, detail) in zip(cleared, found, strict=True)
        ]

    def _take(self) -> _Writer:
        with self._lock:
            if self._broken:
                raise TransportError(self._broken)
            if self._idle:
                return self._idle.pop()
            if len(self._all) >= self.most:
                raise RuntimeError("more channels than writers")  # each channel gives its writer back first
        try:
            writer = _Writer(self.path)
        except OSError:
            raise _NoWriter from None
        with self._lock:
            self._all.append(writer)
        return writer

    def _give_back(self, writer: _Writer) -> None:
        with self._lock:
            self._idle.append(writer)

    def _lose(self, writer: _Writer) -> None:
        """`writer` is not used again, nor is any other: a writer that died once would die again."""
        with self._lock:
            self._broken = self._broken or "outbox: a writer process ended in an earlier batch"
            if writer in self._all:
                self._all.remove(writer)

    def close(self) -> None:
        with self._lock:
            writers, self._all, self._idle = self._all, [], []
        for writer in writers:
            writer.close()


def _read(stream: IO[bytes]) -> bytes:
    """One message from `stream`; _WriterGone at its end."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise _WriterGone
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        raise _WriterGone
    return data


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """A writer's loop: make and write what the sending process asks, until it closes the pipe."""
    editions: dict[int, tuple[PreparedMessage, Recipe | None, Signer | None]] = {}
    while True:
        try:
            _, number, edition, where, recipients = msgspec.msgpack.decode(_read(requests))
        except _WriterGone:
            return
        if edition is not None:
            issue, locale, subject, html, text, sender, reply_to, recipe_fields = edition
            recipe = Recipe(*recipe_fields) if recipe_fields is not None else None
            editions[number] = (
                prepare(Batch(issue, locale, subject, html, text, sender, reply_to, ())),
                recipe,
                Signer(recipe.secret) if recipe is not None else None,
            )
        prepared, recipe, signer = editions[number]
        copies: Sequence[Recipient] = (
            Copies(recipe, [Reader(*row) for row in recipients], signer)
            if recipe is not None
            else [Recipient(*fields) for fields in recipients]
        )
        written: list[Delivery] = []

        def cleared() -> list[int]:
            _, positions = msgspec.msgpack.decode(_read(requests))
            return list(positions)

        try:
            written = _write_batch(prepared, where, copies, cleared)
        except _WriterGone:
            return  # the sending process ended before clearing the batch: nothing of it is written
        except TransportError as exc:
            answer: Any = ("error", str(exc))
        else:
            answer = ("done", [(d.outcome is Outcome.SENT, d.detail) for d in written])
        try:
            _answer(answers, answer)
        except BrokenPipeError:
            return


def _answer(answers: IO[bytes], answer: Any) -> None:
    data = msgspec.msgpack.encode(answer)
    answers.write(_LENGTH.pack(len(data)) + data)
    answers.flush()


def _main(arguments: list[str]) -> int:
    if arguments[:1] != ["--writer"]:
        print("usage: python -m broadsheet.delivery.transports.outbox --writer PATH", file=sys.stderr)
        return 2
    # Ctrl-C reaches every process of the terminal's group: the sending process ends its hand-overs and then
    # closes the pipe, which ends this one; an interrupt here would lose a batch's answers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers goes to the sending process
    _answer(answers, (_READY,))
    serve(requests, answers)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
