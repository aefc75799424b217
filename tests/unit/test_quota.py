"""The per-second rate and rolling 24-hour quota, with an injected clock."""

import pytest

from openses.core.quota import SendLimiter, SharedSendLimiter
from openses.errors import Throttling


@pytest.fixture(params=["process", "shared"])
def make(request):
    """Every rule holds for the per-process limiter and for the one shared between processes."""
    return SendLimiter if request.param == "process" else (lambda clock: SharedSendLimiter(64, clock))


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_first_send_at_the_rate_passes_and_the_next_in_the_same_second_is_throttled(make):
    clock = Clock()
    limiter = make(clock)
    limiter.take("a", 1, max_per_day=100, max_rate=1)
    with pytest.raises(Throttling, match="Maximum sending rate exceeded."):
        limiter.take("a", 1, max_per_day=100, max_rate=1)
    clock.t += 1.0
    limiter.take("a", 1, max_per_day=100, max_rate=1)


def test_a_throttled_send_counts_nothing(make):
    clock = Clock()
    limiter = make(clock)
    limiter.take("a", 1, max_per_day=100, max_rate=1)
    with pytest.raises(Throttling):
        limiter.take("a", 1, max_per_day=100, max_rate=1)
    assert limiter.sent_last_24h("a") == 1


def test_daily_quota_counts_recipients_and_frees_them_after_24_hours(make):
    clock = Clock()
    limiter = make(clock)
    limiter.take("a", 3, max_per_day=4, max_rate=-1)
    with pytest.raises(Throttling, match="Daily message quota exceeded."):
        limiter.take("a", 2, max_per_day=4, max_rate=-1)
    clock.t += 24 * 3600 + 60
    limiter.take("a", 4, max_per_day=4, max_rate=-1)


def test_minus_one_means_unlimited(make):
    limiter = make(Clock())
    for _ in range(1000):
        limiter.take("a", 50, max_per_day=-1, max_rate=-1)
    assert limiter.sent_last_24h("a") == 50_000


def test_a_message_with_more_recipients_than_the_rate_passes_on_a_full_bucket(make):
    limiter = make(Clock())
    limiter.take("a", 50, max_per_day=-1, max_rate=14)


def test_give_back_undoes_a_take(make):
    limiter = make(Clock())
    limiter.take("a", 1, max_per_day=1, max_rate=1)
    limiter.give_back("a", 1)
    limiter.take("a", 1, max_per_day=1, max_rate=1)


def test_loaded_counts_from_the_database_count_against_the_quota(make):
    clock = Clock()
    limiter = make(clock)
    minute = int(clock.t // 60)
    limiter.load("a", [(minute - 10, 5), (minute - 24 * 60 - 5, 100)])
    assert limiter.sent_last_24h("a") == 5
    with pytest.raises(Throttling):
        limiter.take("a", 1, max_per_day=5, max_rate=-1)


def test_the_shared_limiter_counts_every_process_against_one_quota():
    import os

    limiter = SharedSendLimiter(64)
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:  # each child takes 10 recipients, one at a time
            try:
                for _ in range(10):
                    limiter.take("a", 1, max_per_day=100, max_rate=-1)
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    assert limiter.sent_last_24h("a") == 30
    with pytest.raises(Throttling, match="Daily message quota exceeded."):
        limiter.take("a", 71, max_per_day=100, max_rate=-1)


def test_the_shared_limiter_has_one_token_bucket_for_every_process():
    import os

    clock = Clock()
    limiter = SharedSendLimiter(64, clock)
    limiter.take("a", 1, max_per_day=-1, max_rate=2)
    pid = os.fork()
    if pid == 0:
        try:
            limiter.take("a", 1, max_per_day=-1, max_rate=2)
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    with pytest.raises(Throttling, match="Maximum sending rate exceeded."):
        limiter.take("a", 1, max_per_day=-1, max_rate=2)


def test_a_full_shared_table_falls_back_to_the_process_limiter():
    limiter = SharedSendLimiter(2, Clock())
    for account in ("a", "b", "c"):
        limiter.take(account, 1, max_per_day=1, max_rate=-1)
    with pytest.raises(Throttling):
        limiter.take("c", 1, max_per_day=1, max_rate=-1)
    assert limiter.sent_last_24h("c") == 1


def test_the_shared_window_slides_minute_by_minute():
    clock = Clock(60 * 1_000_000)
    limiter = SharedSendLimiter(8, clock)
    limiter.take("a", 2, max_per_day=10, max_rate=-1)
    clock.t += 60 * 100
    limiter.take("a", 3, max_per_day=10, max_rate=-1)
    clock.t += 60 * (24 * 60 - 100)  # the first take is now exactly 24 hours old: gone
    assert limiter.sent_last_24h("a") == 3
    limiter.give_back("a", 3)
    assert limiter.sent_last_24h("a") == 0


def test_a_process_killed_while_holding_the_shared_lock_does_not_stop_the_others():
    import os
    import signal

    limiter = SharedSendLimiter(8)
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        with limiter._lock:  # noqa: SLF001 - the child dies holding the lock
            os.write(ready_w, b"x")
            signal.pause()
        os._exit(0)
    os.read(ready_r, 1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    limiter.take("a", 1, max_per_day=-1, max_rate=-1)  # would hang with a semaphore
    assert limiter.sent_last_24h("a") == 1


def test_merged_counts_from_other_nodes_count_against_the_quota(make):
    """Nodes sharing one database: the database's count of a minute raises ours, never lowers it
    (our sends not committed yet stay counted), and minutes outside the 24 hours are ignored."""
    clock = Clock()
    limiter = make(clock)
    minute = int(clock.t // 60)
    limiter.take("a", 3, max_per_day=10, max_rate=-1)  # ours, maybe not committed yet
    limiter.merge("a", [(minute, 2), (minute - 1, 4), (minute - 24 * 60, 100), (minute + 1, 100)])
    assert limiter.sent_last_24h("a") == 7  # 3 (ours, more than the database's 2) + 4 from another node
    limiter.merge("a", [(minute, 5), (minute - 1, 4)])  # another node sent 2 more this minute
    assert limiter.sent_last_24h("a") == 9
    limiter.take("a", 1, max_per_day=10, max_rate=-1)
    with pytest.raises(Throttling, match="Daily message quota exceeded."):
        limiter.take("a", 1, max_per_day=10, max_rate=-1)
    clock.t += 24 * 3600 - 60  # the other node's 4 of the minute before leave the window first
    assert limiter.sent_last_24h("a") == 6


def test_an_account_first_seen_in_a_merge_starts_with_a_full_bucket(make):
    clock = Clock()
    limiter = make(clock)
    limiter.merge("b", [(int(clock.t // 60), 1)])
    limiter.take("b", 14, max_per_day=100, max_rate=14)  # one second's worth, at once
    assert limiter.sent_last_24h("b") == 15
