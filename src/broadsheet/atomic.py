"""Writing a file whole or not at all: what build, site, catalogs and the outbox write to disk."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> Path:
    """Replace `path` with `data` so that a reader sees the old file or the new one, never part of either.

    The data goes to a uniquely named file in the same folder (so that two
    writers never share it, and the rename stays on one file system), is
    flushed to disk, then renamed over `path`. Makes the folder if needed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
