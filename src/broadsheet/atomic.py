"""Writing a file whole or not at all: what build, site, catalogs and the outbox write to disk."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> Path:
    """Replace `path` with `data` so that a reader sees the old file or the new one, never part of either,
    making its folder if needed.

    The data goes to a file of its own in the same folder (so that two writers
    never share one, and the rename stays on one file system), is flushed to
    disk, then renamed over `path`. A file replaced keeps its permissions (an
    issue file a team shares stays group-writable), and a symbolic link keeps
    being one: the file it points to is replaced.
    """
    target = os.path.realpath(path)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
        os.makedirs(os.path.dirname(target), exist_ok=True)
    replace_whole(target, data, mode=mode)
    return path


def replace_whole(
    target: str, data: bytes | Sequence[bytes], *, sync: bool = True, mode: int | None = None
) -> None:
    """`write_atomic` for a caller writing many files into a folder it made: `target` a plain string, no
    folder made (building and taking apart `Path` objects cost the outbox a tenth of its time), `data` the
    bytes or the pieces to write one after the other. Without `sync`, a crash of the machine (not of the
    process) may lose the file, or leave it empty. With `mode`, the file gets those permissions instead of
    the umask's."""
    folder, name = os.path.split(target)
    # A random name, created exclusively with the umask's permissions: tempfile.mkstemp's would be
    # 0600, unreadable to the web server that serves the site (and importing tempfile costs start-up).
    temporary = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            _write_all(handle, [data] if isinstance(data, bytes) else data)
            if sync:
                os.fsync(handle)
        finally:
            os.close(handle)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


_PIECES_AT_ONCE = 512
"""Pieces handed to one `os.writev`: well under any system's limit (IOV_MAX is 1024 on Linux and the BSDs)."""


def _write_all(handle: int, pieces: Sequence[bytes]) -> None:
    """Write `pieces` one after the other, whatever the system writes of them at a time."""
    if not hasattr(os, "writev"):  # Windows
        for piece in pieces:
            view = memoryview(piece)
            while view:
                view = view[os.write(handle, view) :]
        return
    waiting = [memoryview(piece) for piece in pieces if piece]
    first = 0
    while first < len(waiting):
        written = os.writev(handle, waiting[first : first + _PIECES_AT_ONCE])
        while first < len(waiting) and written >= len(waiting[first]):
            written -= len(waiting[first])
            first += 1
        if written:
            waiting[first] = waiting[first][written:]
