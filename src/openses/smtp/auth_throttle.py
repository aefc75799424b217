"""Slows down, then refuses, clients that keep failing SMTP AUTH. No I/O: the caller passes a
client key (its IP address), the clock is injected, and the answer is a value the session acts on
(sleep `delay` seconds before the 535, or reply 421 and close when `locked`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 3  # failures within `window` answered without delay (typos happen)
    delay_step: float = 1.0  # seconds of delay added per failure beyond the free ones
    max_delay: float = 5.0
    lockout_failures: int = 10  # this many failures within `window` lock the client out
    window: float = 600.0
    lockout: float = 900.0  # seconds a locked-out client is refused
    max_clients: int = 10_000  # bound on remembered clients; the oldest are forgotten first


@dataclass(frozen=True)
class FailureVerdict:
    delay: float  # wait this long before replying 535
    locked: bool  # this failure locked the client out: reply 421 and close


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class AuthThrottle:
    def __init__(
        self, clock: Callable[[], float], policy: ThrottlePolicy = ThrottlePolicy()
    ) -> None:
        self._clock = clock
        self._policy = policy
        self._clients: dict[str, _Record] = {}

    def is_locked(self, client: str) -> bool:
        record = self._clients.get(client)
        return record is not None and self._clock() < record.locked_until

    def record_failure(self, client: str) -> FailureVerdict:
        now = self._clock()
        record = self._record(client, now)
        record.failures.append(now)
        count = len(record.failures)
        if count >= self._policy.lockout_failures:
            record.locked_until = now + self._policy.lockout
            record.failures.clear()
            return FailureVerdict(delay=0.0, locked=True)
        return FailureVerdict(delay=self._delay_for(count), locked=False)

    def record_success(self, client: str) -> None:
        self._clients.pop(client, None)

    def _delay_for(self, failures: int) -> float:
        over = failures - self._policy.free_failures
        return min(max(over, 0) * self._policy.delay_step, self._policy.max_delay)

    def _record(self, client: str, now: float) -> _Record:
        record = self._clients.get(client)
        if record is None:
            if len(self._clients) >= self._policy.max_clients:
                del self._clients[next(iter(self._clients))]
            record = self._clients[client] = _Record()
        horizon = now - self._policy.window
        record.failures = [t for t in record.failures if t > horizon]
        return record
