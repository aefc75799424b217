"""Waiting for a background result (a server's worker, the events processor, a DNS check) with a
deadline: tests never sleep for a fixed time, they poll until the result is there."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float = 20.0, what: str = "condition",
               interval: float = 0.1) -> T:
    """The first truthy value `check` returns; AssertionError once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached after {timeout}s")


def eventually(fn: Callable[[], Any], want: Any, timeout: float = 15.0, interval: float = 0.1) -> Any:
    """`fn()` once it equals `want`; after `timeout` seconds, an assertion showing the last value."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got == want or time.monotonic() > deadline:
            assert got == want
            return got
        time.sleep(interval)
