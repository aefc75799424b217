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


def _accepted(message_id: str, now: float = 1_700_000_000.0):
    from openses.store.writer import Accepted

    return Accepted(
        messages=[{"id": message_id, "account_id": "111122223333", "source": "a@example.com",
                   "from_header": "a@example.com", "subject": "s", "recipients": ["b@example.org"],
                   "raw": b"Subject: s\r\n\r\nbody\r\n", "size": 19, "channel": "api",
                   "configuration_set": None, "tags": {"k": ["v"]}, "status": "queued", "created_at": now}],
        queue=[{"message_id": message_id, "account_id": "111122223333", "domain": "example.org",
                "recipients": ["b@example.org"], "attempts": 0, "next_attempt_at": now, "created_at": now}],
        events=[{"account_id": "111122223333", "message_id": message_id, "event_type": "Send", "recipients": 1,
                 "created_at": now, "payload": {"eventType": "Send", "mail": {"messageId": message_id}}}],
        counts={("111122223333", int(now // 60)): 1},
    )


async def test_accepted_mail_lands_in_every_table_and_a_bad_message_sinks_only_itself(database_url, monkeypatch):
    # On SQLite a batch of accepted mail is one INSERT through a TEMP view, committed in the same
    # step (repositories.accepted_view_statement); elsewhere, statements in a transaction.
    from openses.store import writer as writer_module

    one_steps = []
    real = writer_module._in_one_step

    def counted(conn, statement):
        real(conn, statement)
        one_steps.append(statement)

    monkeypatch.setattr(writer_module, "_in_one_step", counted)
    e = open_database(database_url)
    writer = GroupCommitWriter(e)
    writer.start()
    try:
        await writer.accept(_accepted("m-0"))
        results = await asyncio.gather(*(writer.accept(_accepted(f"m-{i}")) for i in (1, 2, 0, 3)),
                                       return_exceptions=True)
    finally:
        writer.stop()
    assert writer._one_step is (e.dialect.name == "sqlite")
    assert bool(one_steps) is (e.dialect.name == "sqlite")  # at least m-0's first batch went so
    assert [isinstance(r, Exception) for r in results] == [False, False, True, False]  # m-0 twice
    with e.connect() as c:
        def ids(sql):
            return sorted(r[0] for r in c.execute(text(sql)))
        assert ids("SELECT id FROM messages") == ["m-0", "m-1", "m-2", "m-3"]
        assert ids("SELECT message_id FROM queue") == ["m-0", "m-1", "m-2", "m-3"]
        assert ids("SELECT message_id FROM events") == ["m-0", "m-1", "m-2", "m-3"]
        assert c.execute(text("SELECT recipients FROM send_counts")).scalar_one() == 4
        assert c.execute(text("SELECT raw FROM messages WHERE id = 'm-2'")).scalar_one() == b"Subject: s\r\n\r\nbody\r\n"
        tags = c.execute(text("SELECT tags FROM messages WHERE id = 'm-2'")).scalar_one()
        assert tags in ('{"k":["v"]}', {"k": ["v"]})  # SQLite's TEXT; PostgreSQL decodes json
    e.dispose()


async def test_a_failing_write_does_not_split_the_accepted_mail_of_its_batch(database_url):
    # The batch fails as a whole; the write is tried alone, the mail again together (one commit).
    e = open_database(database_url)
    writer = GroupCommitWriter(e)
    inside, gate = threading.Event(), threading.Event()
    writer.start()
    try:
        blocker = asyncio.ensure_future(writer.run(lambda c: (inside.set(), gate.wait(10))))
        assert await asyncio.to_thread(inside.wait, 10)
        mail = [asyncio.ensure_future(writer.accept(_accepted(f"m-{i}"))) for i in range(5)]
        bad = asyncio.ensure_future(writer.run(lambda c: c.execute(text("SELECT * FROM no_such_table"))))
        await asyncio.sleep(0)  # every one is queued behind the blocker
        gate.set()
        await blocker
        await asyncio.gather(*mail)
        with pytest.raises(Exception):
            await bad
    finally:
        writer.stop()
    assert writer.batches == 2  # the blocker's, then the five sends together
    with e.connect() as c:
        assert c.execute(text("SELECT count(*) FROM messages")).scalar_one() == 5
    e.dispose()


def test_a_store_without_a_writer_thread_waits_for_the_writers_lock(tmp_path):
    # The CLI writes from its own process: while a server's writer holds the lock (around a
    # read-modify-write, say), the CLI's write waits instead of landing between the read and the write.
    import threading

    from openses.store.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    store.write_sync(lambda c: c.execute(text("CREATE TABLE t (v TEXT NOT NULL)")))
    server = open_lock(tmp_path / "s.db.writer-lock")
    fcntl.flock(server, fcntl.LOCK_EX)
    done = threading.Event()
    cli = threading.Thread(target=lambda: (store.write_sync(lambda c: c.execute(text("INSERT INTO t VALUES ('cli')"))),
                                           done.set()))
    cli.start()
    try:
        assert not done.wait(0.3)  # blocked on the lock
        assert store.read_sync(lambda c: c.execute(text("SELECT count(*) FROM t")).scalar_one()) == 0
    finally:
        fcntl.flock(server, fcntl.LOCK_UN)
        os.close(server)
    cli.join(10)
    assert done.is_set()
    assert store.read_sync(lambda c: c.execute(text("SELECT v FROM t")).scalar_one()) == "cli"
    store.close()
