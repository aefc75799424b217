"""The group-commit writer: many writes, one transaction; a bad write sinks only itself."""

import asyncio
import fcntl
import os
import threading

import pytest
from sqlalchemy import text

from openses.store.database import open_database, open_lock
from openses.store.writer import GroupCommitWriter


@pytest.fixture
def engine(database_url):
    e = open_database(database_url)
    with e.begin() as c:
        c.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield e
    e.dispose()


async def test_concurrent_writes_share_commits_and_all_land(engine):
    writer = GroupCommitWriter(engine)
    writer.start()
    try:
        await asyncio.gather(*(writer.run(lambda c, i=i: c.execute(text("INSERT INTO t VALUES (:i, 'x')"), {"i": i}))
                               for i in range(200)))
    finally:
        writer.stop()
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar_one() == 200
    assert writer.writes == 200 and writer.batches < 200


async def test_a_failing_write_raises_to_its_caller_and_its_neighbours_still_commit(engine):
    writer = GroupCommitWriter(engine)
    gate = threading.Event()
    writer.start()
    try:
        # Hold the writer so the next three queue up into one batch.
        blocker = asyncio.ensure_future(writer.run(lambda c: gate.wait(5)))
        await asyncio.sleep(0.05)
        good1 = asyncio.ensure_future(writer.run(lambda c: c.execute(text("INSERT INTO t VALUES (1, 'a')"))))
        bad = asyncio.ensure_future(writer.run(lambda c: c.execute(text("INSERT INTO t VALUES (2, NULL)"))))
        good2 = asyncio.ensure_future(writer.run(lambda c: c.execute(text("INSERT INTO t VALUES (3, 'c')"))))
        await asyncio.sleep(0.05)
        gate.set()
        await blocker
        await good1
        await good2
        with pytest.raises(Exception):
            await bad
    finally:
        writer.stop()
    with engine.connect() as c:
        assert sorted(r[0] for r in c.execute(text("SELECT id FROM t"))) == [1, 3]


def test_writes_from_threads_without_a_loop_work_too(engine):
    writer = GroupCommitWriter(engine)
    writer.start()
    try:
        assert writer.run_sync(lambda c: c.execute(text("INSERT INTO t VALUES (7, 'z')")).rowcount) == 1
    finally:
        writer.stop()


async def test_writes_queued_while_another_process_holds_the_lock_join_the_commit(tmp_path):
    # --processes N on SQLite: a writer waiting for the writers' lock takes, once it has it, what
    # arrived meanwhile into the same transaction (one fsync for all).
    e = open_database(f"sqlite:///{tmp_path / 'w.db'}")
    with e.begin() as c:
        c.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    lock_path = tmp_path / "w.db.writer-lock"
    writer = GroupCommitWriter(e, lock_path=lock_path)
    other = open_lock(lock_path)  # the other process's writer
    fcntl.flock(other, fcntl.LOCK_EX)
    writer.start()
    try:
        first = asyncio.ensure_future(writer.run(lambda c: c.execute(text("INSERT INTO t VALUES (0, 'a')"))))
        await asyncio.sleep(0.1)  # the writer has taken it and waits for the lock
        later = [asyncio.ensure_future(writer.run(lambda c, i=i: c.execute(text("INSERT INTO t VALUES (:i, 'b')"),
                                                                           {"i": i})))
                 for i in range(1, 4)]
        await asyncio.sleep(0.1)
        assert writer.batches == 0
        fcntl.flock(other, fcntl.LOCK_UN)
        await asyncio.gather(first, *later)
    finally:
        writer.stop()
        os.close(other)
        e.dispose()
    assert (writer.batches, writer.writes) == (1, 4)
