"""Reading the user's files: each kind has a size limit, checked before anything is parsed.

A valid 50 MB issue took 342 s and 1.4 GB of memory to build (YAML, validation
and Markdown all scale with it), so a file far larger than any real one is
refused at once with its size, instead of being read.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import stat
from pathlib import Path

from .atomic import write_atomic
from .errors import Diagnostic, InvalidInput

MB = 1_000_000

ISSUE_LIMIT = 2 * MB
"""Bytes of an issue file; a real issue of 80 resources is about 30 KB."""
CATALOG_LIMIT = 5 * MB
"""Bytes of a `.po` or `.pot` file; a fully translated issue catalog is about 100 KB."""
SETTINGS_LIMIT = 1 * MB
"""Bytes of `broadsheet.toml`; a real one is about 5 KB."""

LIMITS = {"issue": ISSUE_LIMIT, "catalog": CATALOG_LIMIT, "settings": SETTINGS_LIMIT}
"""Each kind of file and its limit, as `docs/limits.md` lists them."""


def cache_folder(name: str = "") -> Path | None:
    """broadsheet's folder in the user's cache (`$XDG_CACHE_HOME/broadsheet`, else `~/.cache/broadsheet`), or its
    subfolder `name`, made if need be; None where it cannot be made. What is kept there is only ever remembered
    work (compiled templates, Babel's answers, the Zawgyi model): deleting it costs the next run a little time,
    nothing else."""
    folder = _cache_root() / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def kept(name: str) -> bytes | None:
    """What `keep` kept as `name` (a path inside the cache folder), or None: never kept, or unreadable."""
    try:
        return (_cache_root() / name).read_bytes()
    except OSError:
        return None


def keep(name: str, data: bytes) -> None:
    """`data` kept as `name` (a path inside the cache folder) for later runs, written whole; nothing where the
    cache folder cannot be written, as if there were none (each run then works it out again)."""
    folder = cache_folder(os.path.dirname(name))
    if folder is not None:
        with contextlib.suppress(OSError):
            write_atomic(folder / os.path.basename(name), data)


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "broadsheet"


def is_utf16(head: bytes) -> bool:
    """Whether `head` starts with UTF-16's byte order mark, as Windows saves "Unicode" text (Notepad, Excel's
    "Unicode Text"): such a file is named so, where decoding it as UTF-8 would report "invalid start byte at
    byte 0" or a NUL byte, which do not say what to do."""
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def read_limited(path: Path, kind: str, display: str | None = None) -> bytes:
    """The bytes of the `kind` file at `path` ("issue", "catalog", "settings"); InvalidInput when it is over its limit.

    OSError (a missing or unreadable file) is left to the caller, which knows what that means for it.
    """
    limit = LIMITS[kind]
    # Opened without waiting: a named pipe (FIFO) in its place used to hang the command on `open`.
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            where = display or str(path)
            raise InvalidInput(
                [
                    Diagnostic(
                        where,
                        0,
                        0,
                        "",
                        f"not a file but a named pipe or a device; {kind} files must be ordinary files",
                    )
                ]
            )
        data = handle.read(limit + 1)
        if len(data) > limit:
            size = max(path.stat().st_size, len(data))
            where = display or str(path)
            shown, allowed = _measured(size, limit)
            raise InvalidInput(
                [
                    Diagnostic(
                        where,
                        0,
                        0,
                        "",
                        f"the file is {shown}; {kind} files are limited to {allowed}",
                    )
                ]
            )
    return data


def _measured(size: int, limit: int) -> tuple[str, str]:
    """The file's size and the limit as the error shows them: in MB, and in bytes where MB to a tenth would not
    show the file over the limit (one byte over 1 MB is "1.0 MB")."""
    if round(size / MB, 1) > limit / MB:
        return f"{size / MB:.1f} MB", f"{limit / MB:g} MB"
    return f"{size:,} bytes", f"{limit / MB:g} MB ({limit:,} bytes)"
