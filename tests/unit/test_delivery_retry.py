"""The retry schedule: exponential back-off, jitter, the maximum delivery time."""

from __future__ import annotations

from openses.delivery.retry import SES_MAX_DELIVERY_SECONDS, RetryPolicy


def middle() -> float:
    return 0.5


def test_delays_double_from_the_first_delay_up_to_the_cap():
    p = RetryPolicy(first_delay=60, factor=2, max_delay=600)
    assert [p.delay(n, middle) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]


def test_jitter_spreads_a_delay_by_at_most_its_fraction():
    p = RetryPolicy(first_delay=100, jitter=0.2)
    assert p.delay(1, lambda: 0.0) == 80
    assert p.delay(1, lambda: 0.999999) < 120.0001


def test_next_attempt_never_passes_the_deadline_and_the_last_try_is_at_the_deadline():
    p = RetryPolicy(first_delay=60, max_delivery_seconds=100)
    assert p.next_attempt(attempts=1, now=1000, accepted_at=1000, rand=middle) == 1060
    assert p.next_attempt(attempts=2, now=1060, accepted_at=1000, rand=middle) == 1100
    assert p.next_attempt(attempts=3, now=1100, accepted_at=1000, rand=middle) is None


def test_default_maximum_delivery_time_is_ses_fourteen_hours():
    assert RetryPolicy().max_delivery_seconds == SES_MAX_DELIVERY_SECONDS == 14 * 3600


def test_a_configuration_sets_deadline_replaces_the_servers():
    policy = RetryPolicy(first_delay=60, jitter=0, max_delivery_seconds=SES_MAX_DELIVERY_SECONDS)
    assert policy.expires_at(1000.0, deliver_by=1300.0) == 1300.0
    assert policy.next_attempt(attempts=1, now=1000.0, accepted_at=1000.0, deliver_by=1030.0) == 1030.0
    assert policy.next_attempt(attempts=1, now=1300.0, accepted_at=1000.0, deliver_by=1300.0) is None
    assert policy.next_attempt(attempts=1, now=1000.0, accepted_at=1000.0) == 1060.0
