"""Writing a file whole or not at all: what build, site, catalogs and the outbox write to disk."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> Path:
    """Replace `path` with `data` so that a reader sees the old file or the new one, never part of either,
    making its folder if needed.

    The data goes to a file of its own in the same folder (so that two writers
    never share one, and the rename stays on one file system), is flushed to
    disk, then renamed over `path`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_whole(os.fspath(path), data)
    return path


def replace_whole(target: str, data: bytes, *, sync: bool = True) -> None:
    """`write_atomic` for a caller writing many files into a folder it made: `target` a plain string, no
    folder made (building and taking apart `Path` objects cost the outbox a tenth of its time). Without
    `sync`, a crash of the machine (not of the process) may lose the file, or leave it empty.

    Where the file system can (Linux's `O_TMPFILE`), the data goes to a file without a name, named once
    written: nothing is left behind by a process killed meanwhile, and the folder changes once, not three
    times (make, rename away, rename to), which cost the kernel a tenth more than a plain write."""
    folder, name = os.path.split(target)
    unnamed = _unnamed(folder)
    if unnamed is None:
        _through_temporary(target, data, sync)
        return
    try:
        _write(unnamed, data, sync)
        try:
            _name(unnamed, target)
        except FileExistsError:
            # A file replaced (the outbox run again): named apart first, then renamed over the old one.
            temporary = _temporary(folder, name)
            _name(unnamed, temporary)
            try:
                os.replace(temporary, target)
            except BaseException:
                os.unlink(temporary)
                raise
        except FileNotFoundError:  # no /proc to name it through
            _through_temporary(target, data, sync)
    finally:
        os.close(unnamed)


def _name(unnamed: int, path: str) -> None:
    """Give the file without a name open as `unnamed` the name `path`: `linkat` of its /proc entry, following
    it. (os.link calls `linkat` only when given a folder descriptor: any, since an absolute path ignores it.)"""
    os.link(f"/proc/self/fd/{unnamed}", path, src_dir_fd=unnamed, follow_symlinks=True)


def _unnamed(folder: str) -> int | None:
    """A new file without a name in `folder`, open for writing; None where the system cannot make one."""
    if not _O_TMPFILE:
        return None
    try:
        return os.open(folder or ".", os.O_WRONLY | _O_TMPFILE, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


_O_TMPFILE: int = getattr(os, "O_TMPFILE", 0)


def _through_temporary(target: str, data: bytes, sync: bool) -> None:
    folder, name = os.path.split(target)
    temporary = _temporary(folder, name)
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            _write(handle, data, sync)
        finally:
            os.close(handle)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _temporary(folder: str, name: str) -> str:
    # A random name, created exclusively with the umask's permissions: tempfile.mkstemp's would be
    # 0600, unreadable to the web server that serves the site (and importing tempfile costs start-up).
    return os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")


def _write(handle: int, data: bytes, sync: bool) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]
    if sync:
        os.fsync(handle)
