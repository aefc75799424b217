"""The per-second rate and rolling 24-hour quota, with an injected clock."""

import pytest

from openses.core.quota import SendLimiter
from openses.errors import Throttling


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_first_send_at_the_rate_passes_and_the_next_in_the_same_second_is_throttled():
    clock = Clock()
    limiter = SendLimiter(clock)
    limiter.take("a", 1, max_per_day=100, max_rate=1)
    with pytest.raises(Throttling, match="Maximum sending rate exceeded."):
        limiter.take("a", 1, max_per_day=100, max_rate=1)
    clock.t += 1.0
    limiter.take("a", 1, max_per_day=100, max_rate=1)


def test_a_throttled_send_counts_nothing():
    clock = Clock()
    limiter = SendLimiter(clock)
    limiter.take("a", 1, max_per_day=100, max_rate=1)
    with pytest.raises(Throttling):
        limiter.take("a", 1, max_per_day=100, max_rate=1)
    assert limiter.sent_last_24h("a") == 1


def test_daily_quota_counts_recipients_and_frees_them_after_24_hours():
    clock = Clock()
    limiter = SendLimiter(clock)
    limiter.take("a", 3, max_per_day=4, max_rate=-1)
    with pytest.raises(Throttling, match="Daily message quota exceeded."):
        limiter.take("a", 2, max_per_day=4, max_rate=-1)
    clock.t += 24 * 3600 + 60
    limiter.take("a", 4, max_per_day=4, max_rate=-1)


def test_minus_one_means_unlimited():
    limiter = SendLimiter(Clock())
    for _ in range(1000):
        limiter.take("a", 50, max_per_day=-1, max_rate=-1)
    assert limiter.sent_last_24h("a") == 50_000


def test_a_message_with_more_recipients_than_the_rate_passes_on_a_full_bucket():
    limiter = SendLimiter(Clock())
    limiter.take("a", 50, max_per_day=-1, max_rate=14)


def test_give_back_undoes_a_take():
    limiter = SendLimiter(Clock())
    limiter.take("a", 1, max_per_day=1, max_rate=1)
    limiter.give_back("a", 1)
    limiter.take("a", 1, max_per_day=1, max_rate=1)


def test_loaded_counts_from_the_database_count_against_the_quota():
    clock = Clock()
    limiter = SendLimiter(clock)
    minute = int(clock.t // 60)
    limiter.load("a", [(minute - 10, 5), (minute - 24 * 60 - 5, 100)])
    assert limiter.sent_last_24h("a") == 5
    with pytest.raises(Throttling):
        limiter.take("a", 1, max_per_day=5, max_rate=-1)
