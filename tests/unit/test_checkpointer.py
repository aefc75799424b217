"""The WAL stays bounded: past its limit the checkpointer copies it all back under the writers'
lock, so the next commit starts it again from the first frame; far past it, it is truncated."""

import os
import threading
from contextlib import contextmanager

from openses.store.database import Checkpointer, exclusive, open_database, open_lock


def _fill(engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (data TEXT)")
    for _ in range(rows):
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO filler VALUES (?)", ("x" * 4000,))


def _fill_at_once(engine, rows: int) -> None:
    """`rows` rows of 4 KB in one transaction (one fsync)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (data TEXT)")
        conn.exec_driver_sql("INSERT INTO filler VALUES (?)", [("x" * 4000,) for _ in range(rows)])


def _frames(engine) -> int:
    """Frames in the WAL now (a PASSIVE checkpoint of nothing new reports them)."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()[1]


def test_a_wal_past_its_limit_restarts_at_the_next_commit_in_the_same_file(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/db.sqlite")
    wal = tmp_path / "db.sqlite-wal"
    _fill(engine, 200)
    size = wal.stat().st_size
    assert size > 100_000 and _frames(engine) >= 200

    Checkpointer(engine, restart_at=100_000).run_once(None)
    _fill(engine, 1)
    assert _frames(engine) <= 3  # the next commit started the WAL again
    assert wal.stat().st_size == size  # in the same file: its blocks are overwritten, not regrown
    engine.dispose()


def test_a_wal_grown_past_16_mb_restarts_in_place_not_cut_back(tmp_path):
    # At full load the WAL grows to ≈ 35 MB between restarts; cutting it back to a smaller limit at
    # each restart made the next commit free and reallocate blocks (6–9 ms on the send path).
    engine = open_database(f"sqlite:///{tmp_path}/db.sqlite")
    wal = tmp_path / "db.sqlite-wal"
    _fill_at_once(engine, 5_000)
    size = wal.stat().st_size
    assert size > 20_000_000
    Checkpointer(engine, restart_at=1).run_once(None)
    _fill(engine, 1)
    assert _frames(engine) <= 3  # restarted
    assert wal.stat().st_size == size
    engine.dispose()


@contextmanager
def _checkpoint_while_another_writer_holds_the_lock(tmp_path, engine, restart_at: int):
    """run_once in a thread while "another process's writer" holds the writers' lock; the body
    gets the Event set when run_once returns; on leaving, the lock is released and run_once ends."""
    lock_path = tmp_path / "db.sqlite.writer-lock"
    writer_lock, checkpoint_lock = open_lock(lock_path), open_lock(lock_path)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (Checkpointer(engine, restart_at=restart_at).run_once(checkpoint_lock),
                                              done.set()))
    try:
        with exclusive(writer_lock):  # a writer is in the middle of a transaction
            thread.start()
            yield done
        assert done.wait(10)
        thread.join()
    finally:
        os.close(writer_lock)
        os.close(checkpoint_lock)


def test_a_shorter_wal_is_copied_without_waiting_for_the_writers(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/db.sqlite")
    _fill(engine, 20)
    with _checkpoint_while_another_writer_holds_the_lock(tmp_path, engine, restart_at=10_000_000) as done:
        assert done.wait(10)  # no lock taken
    engine.dispose()


def test_a_wal_past_the_hard_limit_is_truncated(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/db.sqlite")
    wal = tmp_path / "db.sqlite-wal"
    _fill(engine, 50)
    Checkpointer(engine, restart_at=1, hard_limit=100_000).run_once(None)
    assert wal.stat().st_size == 0
    engine.dispose()


def test_the_last_pass_waits_for_the_writers_lock(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/db.sqlite")
    _fill(engine, 100)
    with _checkpoint_while_another_writer_holds_the_lock(tmp_path, engine, restart_at=1) as done:
        assert not done.wait(0.3)
    _fill(engine, 1)
    assert _frames(engine) <= 3
    engine.dispose()
