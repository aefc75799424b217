"""Nodes sharing one database count each other's sends: a pass of runtime.merge_send_counts reads
the last minutes of send_counts (every node's committed sends) into this node's limiter, on
SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

from openses.core.quota import SendLimiter, SharedSendLimiter
from openses.errors import Throttling
from openses.runtime import SYNC_MINUTES, merge_send_counts
from openses.store.schema import send_counts
from openses.store.store import Store


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


@pytest.mark.parametrize("make", [SendLimiter, SharedSendLimiter])
async def test_a_pass_adds_what_other_nodes_committed_and_keeps_our_own(store, make):
    limiter = make()
    minute = int(time.time() // 60)
    limiter.take("a", 3, max_per_day=20, max_rate=-1)  # ours: accepted, not committed yet
    rows = [{"account_id": "a", "minute": minute, "recipients": 2},  # another node's, this minute
            {"account_id": "a", "minute": minute - 1, "recipients": 10},
            {"account_id": "a", "minute": minute - SYNC_MINUTES - 1, "recipients": 100},  # older: loaded at start
            {"account_id": "b", "minute": minute, "recipients": 4}]
    store.write_sync(lambda c: c.execute(send_counts.insert(), rows))

    await merge_send_counts(store, limiter)
    assert limiter.sent_last_24h("a") == 13  # our 3 (more than the database's 2) and the other 10
    assert limiter.sent_last_24h("b") == 4
    with pytest.raises(Throttling, match="Daily message quota exceeded."):
        limiter.take("a", 8, max_per_day=20, max_rate=-1)
    await merge_send_counts(store, limiter)  # a second pass counts nothing twice
    assert limiter.sent_last_24h("a") == 13


@pytest.mark.parametrize("make", [SendLimiter, SharedSendLimiter])
async def test_counts_read_before_a_reset_are_not_merged_after_it(store, make, monkeypatch):
    """Development mode's reset deletes the account's rows and forgets its counts; a pass that
    read the rows before the reset must not bring them back."""
    limiter = make()
    minute = int(time.time() // 60)
    store.write_sync(lambda c: c.execute(send_counts.insert(), [{"account_id": "a", "minute": minute,
                                                                  "recipients": 7}]))
    read = store.read

    async def read_then_reset(fn):
        rows = await read(fn)
        limiter.forget("a")  # the reset lands between the read and the merge
        return rows

    monkeypatch.setattr(store, "read", read_then_reset)
    await merge_send_counts(store, limiter)
    assert limiter.sent_last_24h("a") == 0
    monkeypatch.setattr(store, "read", read)
    await merge_send_counts(store, limiter)  # the next pass reads what is there
    assert limiter.sent_last_24h("a") == 7
