"""What goes into logs: no full email address, ever."""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"[^\s<>@,;:\"'()\[\]]+(@|%40)([^\s<>@,;:\"'()\[\]/?&]+)", re.IGNORECASE)


def without_addresses(text: str) -> str:
    """`text` with the part before the @ of every email address in it hidden: `<…@example.org>`.

    Addresses in URLs (`%40`) too. Whatever runs into the address without a space goes with it: a path
    `outbox/en/alice@example.org.eml` becomes `…@example.org.eml`, and `to=alice@example.org` becomes
    `…@example.org`.
    """
    return _ADDRESS.sub(r"…\1\2", text)


def without_any_address(text: str) -> str:
    """`text` with every email address in it hidden whole, domain included: `<…>`. Two answers that differ
    only in the address they name read the same."""
    return _ADDRESS.sub("…", text)
