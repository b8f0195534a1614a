"""Writing a file whole or not at all: what build, site, catalogs and the outbox write to disk."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Callable, Sequence
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> Path:
    """Replace `path` with `data` so that a reader sees the old file or the new one, never part of either,
    making its folder if needed.

    The data goes to a file of its own in the same folder (so that two writers
    never share one, and it stays on one file system), is flushed to disk,
    then takes the name `path` (`replace_whole`). A file replaced keeps its permissions (an
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


def write_changed(path: Path, data: bytes, *, ignoring: Callable[[bytes], bytes] | None = None) -> bool:
    """`write_atomic` unless `path` holds `data` already (each as `ignoring` leaves it, a catalog's dates taken
    out, say); True when written. A file left alone keeps its modification time, which rsync, a web server's
    caches, feed readers and a review of the changes go by."""
    same = ignoring or (lambda content: content)
    try:
        if same(path.read_bytes()) == same(data):
            return False
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass  # no file there to keep: writing it says why it cannot be, if it cannot
    write_atomic(path, data)
    return True


def replace_whole(
    target: str, data: bytes | Sequence[bytes], *, sync: bool = True, mode: int | None = None
) -> None:
    """`write_atomic` for a caller writing many files into a folder it made: `target` a plain string, no
    folder made (building and taking apart `Path` objects cost the outbox a tenth of its time), `data` the
    bytes or the pieces to write one after the other. Without `sync`, a crash of the machine (not of the
    process) may lose the file, or leave it empty. With `mode`, the file gets those permissions instead of
    the umask's.

    Where the system can (Linux), the data goes to a file without a name (`O_TMPFILE`), named `target` once
    whole: one name added to the folder, where a temporary file is a name added, then renamed; and a process
    killed while writing leaves nothing behind. A file already there is replaced by naming the new one
    beside it and renaming that over the old: `link` never takes a name from another file.
    """
    folder, name = os.path.split(target)
    handle = _unnamed_file(folder)
    if handle is None:
        _replace_by_rename(folder, name, target, data, sync=sync, mode=mode)
        return
    try:
        _write_all(handle, [data] if isinstance(data, bytes) else data)
        if sync:
            os.fsync(handle)
        if mode is not None:
            os.fchmod(handle, mode)
        try:
            _name(handle, target)
        except FileExistsError:
            temporary = _temporary(folder, name)
            _name(handle, temporary)
            _renamed(temporary, target)
    finally:
        os.close(handle)


def _replace_by_rename(
    folder: str, name: str, target: str, data: bytes | Sequence[bytes], *, sync: bool, mode: int | None
) -> None:
    """`replace_whole` where a file cannot be made without a name: written under a temporary one, renamed."""
    temporary = _temporary(folder, name)
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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _renamed(temporary, target)


def _temporary(folder: str, name: str) -> str:
    # A random name, created exclusively with the umask's permissions: tempfile.mkstemp's would be
    # 0600, unreadable to the web server that serves the site (and importing tempfile costs start-up).
    return os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")


def _renamed(temporary: str, target: str) -> None:
    """`temporary` renamed `target`, or gone."""
    try:
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


_UNNAMED = getattr(os, "O_TMPFILE", 0)
_NO_UNNAMED_FILES = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL})
"""What opening a file without a name gives where the file system (or a kernel before 3.11) makes none."""
_open_files: int | None = None
"""This process's `/proc/self/fd`, opened once: the way to a file without a name, to give it one."""
_opening = threading.Lock()


def _unnamed_file(folder: str) -> int | None:
    """A file without a name in `folder`, open for writing, with the umask's permissions; None where the
    system makes none (then no error: the caller writes a named temporary file instead)."""
    if not _UNNAMED or _open_files_folder() is None:
        return None
    try:
        return os.open(folder, _UNNAMED | os.O_WRONLY, 0o666)
    except OSError as exc:
        if exc.errno in _NO_UNNAMED_FILES:
            return None
        raise


def _open_files_folder() -> int | None:
    """This process's open files as a folder (`/proc/self/fd`), or None without /proc."""
    global _open_files
    if _open_files is None:
        with _opening:
            if _open_files is None:
                try:
                    _open_files = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                except OSError:
                    _open_files = -1
    return _open_files if _open_files >= 0 else None


def _forget_open_files() -> None:
    """In a forked child: the folder opened is its parent's files, where its own numbers name other files."""
    global _open_files, _opening
    if _open_files is not None and _open_files >= 0:
        with contextlib.suppress(OSError):
            os.close(_open_files)
    _open_files, _opening = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_open_files)


def _name(handle: int, path: str) -> None:
    """Give the file without a name open as `handle` the name `path`; FileExistsError if it is taken."""
    folder = _open_files_folder()
    assert folder is not None  # `_unnamed_file` opened it
    # linkat(..., AT_SYMLINK_FOLLOW), which CPython calls when given a folder of the source.
    os.link(str(handle), path, src_dir_fd=folder, follow_symlinks=True)


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
    # The pieces go as they are: a memoryview of each, made in case the system took only part of them, cost
    # the outbox 12 µs a copy of its 30 pieces. Only a short write makes one, of the piece it stopped in.
    waiting: list[bytes | memoryview] = list(pieces)
    while waiting:
        group = waiting[:_PIECES_AT_ONCE]
        written = os.writev(handle, group)
        if written == sum(map(len, group)):
            del waiting[:_PIECES_AT_ONCE]
            continue
        done = 0
        while written >= len(group[done]):
            written -= len(group[done])
            done += 1
        waiting[done] = memoryview(waiting[done])[written:]
        del waiting[:done]
