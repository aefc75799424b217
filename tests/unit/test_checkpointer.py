"""The WAL stays bounded: past its limit the checkpointer truncates it under the writers' lock."""

import os
import threading

from openses.store.database import Checkpointer, exclusive, open_database, open_lock


def _fill(engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (data TEXT)")
    for _ in range(rows):
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO filler VALUES (?)", ("x" * 4000,))


def test_a_wal_past_its_limit_is_truncated_and_a_shorter_one_is_left_alone(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/db.sqlite")
    wal = tmp_path / "db.sqlite-wal"
    _fill(engine, 200)
    size = wal.stat().st_size
    assert size > 100_000

    Checkpointer(engine, wal_limit=10 * size).run_once(None)
    assert wal.stat().st_size == size  # PASSIVE copies the pages back but keeps the file

    Checkpointer(engine, wal_limit=100_000).run_once(None)
    assert wal.stat().st_size == 0
    engine.dispose()


def test_the_truncating_checkpoint_waits_for_the_writers_lock(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/db.sqlite")
    lock_path = tmp_path / "db.sqlite.writer-lock"
    wal = tmp_path / "db.sqlite-wal"
    _fill(engine, 100)
    writer_lock, checkpoint_lock = open_lock(lock_path), open_lock(lock_path)
    done = threading.Event()
    with exclusive(writer_lock):  # a writer is in the middle of a transaction
        thread = threading.Thread(target=lambda: (Checkpointer(engine, wal_limit=1).run_once(checkpoint_lock),
                                                  done.set()))
        thread.start()
        assert not done.wait(0.3)
        assert wal.stat().st_size > 0
    assert done.wait(10)
    thread.join()
    assert wal.stat().st_size == 0
    os.close(writer_lock)
    os.close(checkpoint_lock)
    engine.dispose()
