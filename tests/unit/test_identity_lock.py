"""Two read-modify-writes of one identity from two connections (two nodes, or the CLI and a
server): the second sees what the first committed instead of writing back what it read before."""

from __future__ import annotations

import asyncio
import threading

import pytest

from openses.core.identities import PENDING, IdentityService, new_row
from openses.store import identities_repo as irepo
from openses.store.store import Store
from tests.support.polling import wait_until

ACCOUNT = "111122223333"


def _waiting_for_a_lock(store: Store) -> int:
    return int(store.read_sync(lambda c: c.exec_driver_sql(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database()").scalar_one()))  # this test's database only


async def test_an_update_waits_for_the_writer_holding_the_identity_and_keeps_its_change(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: tests/unit/test_writer.py")
    store = Store.open(database_url)
    try:
        store.write_sync(lambda c: irepo.insert_identity(c, new_row(ACCOUNT, "example.com", PENDING, 0.0)))
        locked, release = threading.Event(), threading.Event()

        def first_writer() -> None:  # another node's transaction, held open
            with store.engine.begin() as conn:
                row = irepo.lock_identity(conn, ACCOUNT, "example.com")
                assert row is not None
                irepo.update_identity(conn, ACCOUNT, "example.com",
                                      attributes=dict(row["attributes"] or {}, first=1))
                locked.set()
                release.wait(30)

        holder = threading.Thread(target=first_writer)
        holder.start()
        try:
            assert locked.wait(30)
            second = asyncio.create_task(IdentityService(store).update(
                ACCOUNT, "example.com", lambda i: {"attributes": dict(i.attributes, second=2)}))
            await asyncio.to_thread(wait_until, lambda: _waiting_for_a_lock(store) > 0,
                                    what="the second writer waiting for the identity's row")
            assert not second.done()
        finally:
            release.set()
            holder.join()
        updated = await second
        assert (updated.attributes["first"], updated.attributes["second"]) == (1, 2)
        stored = store.read_sync(lambda c: irepo.get_identity(c, ACCOUNT, "example.com"))
        assert stored is not None and (stored["attributes"]["first"], stored["attributes"]["second"]) == (1, 2)
    finally:
        store.close()
