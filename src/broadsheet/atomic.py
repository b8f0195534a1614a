"""Writing a file whole or not at all: what build, site, catalogs and the outbox write to disk."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, sync: bool = True, make_folder: bool = True) -> Path:
    """Replace `path` with `data` so that a reader sees the old file or the new one, never part of either.

    The data goes to a file of its own in the same folder (so that two writers
    never share one, and the rename stays on one file system), is flushed to
    disk (unless `sync` is false: then a crash of the machine, not of the
    process, may lose it), then renamed over `path`. Makes the folder if
    needed, unless `make_folder` is false (a caller writing many files into
    one folder makes it once).
    """
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    # A random name, created exclusively with the umask's permissions: tempfile.mkstemp's would be
    # 0600, unreadable to the web server that serves the site (and importing tempfile costs start-up).
    temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
            if sync:
                os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
