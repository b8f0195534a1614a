"""How many sign-ups the `/subscribe` form takes, per client, per email address and in all."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from typing import Literal

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class SignUpLimits:
    """How many sign-ups `/subscribe` takes per client address, per email address and in all, in a moving window
    (the `signup_limit_per_client`, `signup_limit_per_address` and `signup_limit_total` settings).

    Counted in this process's memory: a restart starts the count again, and
    several processes behind one address would each count on their own.
    Email addresses are counted by a hash, so that the memory holds none.
    """

    def __init__(self, per_client: str, per_address: str, total: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rates = {
            "client": parse_many(per_client),
            "address": parse_many(per_address),
            "total": parse_many(total),
        }

    def take(self, *counted: tuple[Literal["client", "address", "total"], str]) -> int | None:
        """Count one sign-up against each (kind, key) of `counted`, kind "client", "address" or "total" (whose
        key is ""); None when all are within their limits, else how many seconds until the fullest takes one
        more, and nothing was counted: a refused sign-up uses up no one else's allowance."""
        checks: list[tuple[RateLimitItem, str, str]] = [
            (rate, kind, self._identity(kind, key)) for kind, key in counted for rate in self._rates[kind]
        ]
        full = [
            (rate, kind, identity)
            for rate, kind, identity in checks
            if not self._limiter.test(rate, kind, identity)
        ]
        if full:
            reset = max(
                self._limiter.get_window_stats(rate, kind, identity).reset_time
                for rate, kind, identity in full
            )
            return max(1, math.ceil(reset - time.time()))
        for rate, kind, identity in checks:
            self._limiter.hit(rate, kind, identity)
        return None

    @staticmethod
    def _identity(kind: str, key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest() if kind == "address" else key


def client_key(host: str) -> str:
    """Whom the per-client limit counts: the address, or for IPv6 its /64 network (what one home or phone gets)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
