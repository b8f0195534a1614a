"""How transports wait before trying a transient failure again: bounded exponential backoff with jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """`attempts` tries in all; before try n+1, about `base * 2**(n-1)` seconds (at most `cap`), jittered.

    `sleep` and `jitter` (a number in [0, 1)) are injectable so tests can record the waits instead of waiting.
    """

    attempts: int = 5
    base: float = 1.0
    cap: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, failures: int) -> float:
        """The wait after `failures` failed tries: between half and all of the exponential step."""
        step = min(self.cap, self.base * 2.0 ** (failures - 1))
        # Jitter spreads the retries of concurrent senders instead of having them all come back at once.
        return step / 2 + step / 2 * self.jitter()

    def wait(self, failures: int) -> None:
        self.sleep(self.delay(failures))
