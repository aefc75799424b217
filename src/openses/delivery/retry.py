"""When to try again: exponential back-off with jitter, bounded by the maximum delivery time.

Pure functions of the attempt count, the time and a random source, so tests inject both.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

# SES: MaxDeliverySeconds is 300–50400 (14 hours); without it SES keeps trying for 14 hours.
SES_MAX_DELIVERY_SECONDS = 50_400


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 60.0
    factor: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 0.2  # ± this fraction of the delay, so retries of many messages spread out
    max_delivery_seconds: float = SES_MAX_DELIVERY_SECONDS

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1 for the first)."""
        base = min(self.first_delay * self.factor ** max(attempts - 1, 0), self.max_delay)
        return max(0.0, base * (1 + self.jitter * (2 * rand() - 1)))

    def expires_at(self, accepted_at: float, deliver_by: float | None = None) -> float:
        """The delivery deadline: the configuration set's MaxDeliverySeconds (frozen into
        `deliver_by` at send time) when it has one, else the server's."""
        return deliver_by if deliver_by is not None else accepted_at + self.max_delivery_seconds

    def next_attempt(self, *, attempts: int, now: float, accepted_at: float,
                     rand: Callable[[], float] = random.random, deliver_by: float | None = None) -> float | None:
        """When to try next, or None when the delivery time is up. The last try happens at the
        deadline itself, so a message is never given up before its time."""
        deadline = self.expires_at(accepted_at, deliver_by)
        if now >= deadline:
            return None
        return min(now + self.delay(attempts, rand), deadline)
