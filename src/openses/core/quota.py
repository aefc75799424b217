"""Sending limits per account: recipients per second and recipients per rolling 24 hours.

SES counts recipients, not messages, against both limits. The per-second rate is a token bucket
(burst = one second's worth); the daily quota is a per-minute histogram of the last 24 hours,
seeded from the database (send_counts) at start and refreshed from it periodically so several
nodes share one quota. A limit of -1 (or 0 for the rate) means unlimited.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from openses.errors import Throttling

DAY_MINUTES = 24 * 60


@dataclass
class _AccountWindow:
    tokens: float = 0.0
    refilled_at: float = 0.0
    minutes: deque[list[int]] = field(default_factory=deque)  # [minute, recipients]
    total: int = 0


class SendLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._accounts: dict[str, _AccountWindow] = {}

    def _window(self, account_id: str, rate: float, now: float) -> _AccountWindow:
        w = self._accounts.get(account_id)
        if w is None:
            w = self._accounts[account_id] = _AccountWindow(tokens=max(rate, 1.0), refilled_at=now)
        return w

    def _expire(self, w: _AccountWindow, now_minute: int) -> None:
        while w.minutes and w.minutes[0][0] <= now_minute - DAY_MINUTES:
            w.total -= w.minutes.popleft()[1]

    def take(self, account_id: str, recipients: int, *, max_per_day: float, max_rate: float) -> None:
        """Count `recipients` against the account's limits or raise Throttling, counting nothing."""
        now = self._clock()
        w = self._window(account_id, max_rate, now)
        minute = int(now // 60)
        self._expire(w, minute)
        if max_per_day >= 0 and w.total + recipients > max_per_day:
            raise Throttling("Daily message quota exceeded.")
        if max_rate > 0:
            burst = max(max_rate, 1.0)
            w.tokens = min(burst, w.tokens + max(0.0, now - w.refilled_at) * max_rate)
            w.refilled_at = now
            # A message with more recipients than one second's worth passes on a full bucket.
            need = min(float(recipients), burst)
            if w.tokens < need:
                raise Throttling("Maximum sending rate exceeded.")
            w.tokens -= recipients
        if w.minutes and w.minutes[-1][0] == minute:
            w.minutes[-1][1] += recipients
        else:
            w.minutes.append([minute, recipients])
        w.total += recipients

    def give_back(self, account_id: str, recipients: int) -> None:
        """Undo a take() whose send failed before it was committed."""
        w = self._accounts.get(account_id)
        if w is None or not w.minutes:
            return
        w.minutes[-1][1] -= recipients
        w.total -= recipients
        w.tokens += recipients

    def sent_last_24h(self, account_id: str) -> int:
        w = self._accounts.get(account_id)
        if w is None:
            return 0
        self._expire(w, int(self._clock() // 60))
        return w.total

    def load(self, account_id: str, counts: Iterable[tuple[int, int]]) -> None:
        """Replace what we know of the account's last 24 hours with the database's counts."""
        w = self._window(account_id, 1.0, self._clock())
        w.minutes = deque([m, n] for m, n in sorted(counts))
        w.total = sum(n for _, n in w.minutes)
        self._expire(w, int(self._clock() // 60))

    def forget(self, account_id: str) -> None:
        self._accounts.pop(account_id, None)
