"""Engines for SQLite (WAL, fsync on commit) and PostgreSQL, and the schema check at start-up."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from openses.store import migrate

log = logging.getLogger(__name__)

# JSON columns (event payloads, mail objects, options) through orjson: the events processor and the
# delivery worker decode thousands of payloads a second, and the stdlib's json was their largest cost.
_JSON: dict[str, Any] = {
    "json_serializer": lambda value: orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode(),
    "json_deserializer": orjson.loads,
}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before we reply 200/250 (the durability promise).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    # Checkpoints run in the Checkpointer thread, not inside a commit on the send path.
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
    cur.close()


def open_engine(url: str, *, create_dirs: bool = True) -> Engine:
    """Open (and, for SQLite, create the directory of) the database at `url`."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if create_dirs and path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=8, **_JSON)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **_JSON)


WAL_LIMIT = 16_777_216  # bytes of WAL after which it is truncated (also journal_size_limit)


def open_lock(path: Path) -> int:
    """A descriptor for the writers' lock file (each user opens its own: flock excludes
    descriptors, so two threads of one process exclude each other too)."""
    return os.open(path, os.O_CREAT | os.O_RDWR, 0o600)


@contextmanager
def exclusive(fd: int | None) -> Iterator[None]:
    """Hold the writers' lock (none: nothing to hold)."""
    if fd is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Checkpointer:
    """Copies the SQLite WAL back into the database every `interval` seconds, off the hot path.

    With SQLite's automatic checkpoint, the commit that crosses 1,000 WAL pages also writes and
    fsyncs the database file, stalling every send in that group commit (measured here: group
    commits of 64 sends went from ~10 ms to ~6 ms without it). PASSIVE never blocks the writer.

    But under constant writes a PASSIVE checkpoint never finds the moment to restart the WAL, which
    then grows without end (8.7 GB after three minutes at 4,000 sends a second, and the WAL index
    in shared memory with it). So once the WAL passes WAL_LIMIT, after the PASSIVE pass has copied
    nearly everything, the checkpointer holds the writers' lock (`lock_path`, see writer.py) for
    a TRUNCATE checkpoint of the last frames, and the next commit starts a new WAL. Measured (two
    processes, 64 connections, checked every second): a 64 MB limit held the lock long enough for
    a p99 of 69 ms, 16 MB for 44 ms, with the same throughput. Checking every 0.25 s looked better
    for the API alone and worse with every role (the TRUNCATE waits for the readers to finish).
    """

    def __init__(self, engine: Engine, interval: float = 1.0, *, lock_path: Path | None = None,
                 wal_limit: int = WAL_LIMIT) -> None:
        self._engine = engine
        self._interval = interval
        self._lock_path = lock_path
        self._wal_limit = wal_limit
        database = engine.url.database or ""
        self._wal = Path(f"{database}-wal") if database and database != ":memory:" else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._engine.dialect.name != "sqlite" or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="openses-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.checkpoint("TRUNCATE")

    def checkpoint(self, mode: str = "PASSIVE") -> None:
        with self._engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")

    def _run(self) -> None:
        lock = open_lock(self._lock_path) if self._lock_path else None
        try:
            while not self._stop.wait(self._interval):
                try:
                    self.run_once(lock)
                except Exception:  # pragma: no cover - the next round tries again
                    log.exception("WAL checkpoint failed")
        finally:
            if lock is not None:
                os.close(lock)

    def run_once(self, lock: int | None) -> None:
        """A PASSIVE checkpoint, then a TRUNCATE under the writers' lock if the WAL is too long."""
        self.checkpoint()
        if self._wal is not None and self._wal_size() > self._wal_limit:
            with exclusive(lock):
                self.checkpoint("TRUNCATE")

    def _wal_size(self) -> int:
        assert self._wal is not None
        try:
            return self._wal.stat().st_size
        except FileNotFoundError:
            return 0


def open_database(url: str) -> Engine:
    """Open the database and bring its schema to the newest revision."""
    engine = open_engine(url)
    migrate.upgrade(engine)
    return engine
