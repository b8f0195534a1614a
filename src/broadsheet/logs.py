"""What goes into logs: no full email address, ever."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"[^\s<>@,;:\"'()\[\]/=?&]+(@|%40)([^\s<>@,;:\"'()\[\]/=?&]+)", re.IGNORECASE)


def without_addresses(text: str) -> str:
    """`text` with the part before the @ of every email address in it hidden: `<…@example.org>`.

    Addresses in paths and URLs (`%40`) too: `outbox/en/…@example.org.eml`.
    """
    return _ADDRESS.sub(r"…\1\2", text)
