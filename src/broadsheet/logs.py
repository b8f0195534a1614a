"""What goes into logs: no full email address, ever."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"[^\s<>@,;:\"'()\[\]]+@([^\s<>@,;:\"'()\[\]]+)")


def without_addresses(text: str) -> str:
    """`text` with the part before the @ of every email address in it hidden: `<…@example.org>`."""
    return _ADDRESS.sub(r"…@\1", text)
