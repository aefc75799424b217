"""The AUTH throttle on its own: plain values in, verdicts out, an injected clock."""

from __future__ import annotations

from openses.smtp.auth_throttle import AuthThrottle, FailureVerdict, ThrottlePolicy

POLICY = ThrottlePolicy(
    free_failures=2, delay_step=1.5, max_delay=4.0, lockout_failures=6, window=60, lockout=300,
    max_clients=3,
)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_failures_are_free_then_delayed_increasingly_up_to_the_maximum() -> None:
    throttle = AuthThrottle(Clock(), POLICY)
    delays = [throttle.record_failure("192.0.2.1").delay for _ in range(5)]
    assert delays == [0.0, 0.0, 1.5, 3.0, 4.0]


def test_the_lockout_failure_locks_the_client_until_the_lockout_ends() -> None:
    clock = Clock()
    throttle = AuthThrottle(clock, POLICY)
    for _ in range(5):
        throttle.record_failure("192.0.2.1")
    assert throttle.record_failure("192.0.2.1") == FailureVerdict(delay=0.0, locked=True)
    assert throttle.is_locked("192.0.2.1") and not throttle.is_locked("192.0.2.2")
    clock.now += 300
    assert not throttle.is_locked("192.0.2.1")
    assert throttle.record_failure("192.0.2.1").delay == 0.0  # a fresh start


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    throttle = AuthThrottle(clock, POLICY)
    for _ in range(4):
        throttle.record_failure("192.0.2.1")
    clock.now += 61
    assert throttle.record_failure("192.0.2.1").delay == 0.0


def test_a_success_clears_the_clients_failures() -> None:
    throttle = AuthThrottle(Clock(), POLICY)
    for _ in range(4):
        throttle.record_failure("192.0.2.1")
    throttle.record_success("192.0.2.1")
    assert throttle.record_failure("192.0.2.1").delay == 0.0


def test_memory_is_bounded_by_forgetting_the_oldest_client() -> None:
    throttle = AuthThrottle(Clock(), POLICY)
    for _ in range(6):
        throttle.record_failure("192.0.2.1")
    for client in ("192.0.2.2", "192.0.2.3", "192.0.2.4"):
        throttle.record_failure(client)
    assert not throttle.is_locked("192.0.2.1")
