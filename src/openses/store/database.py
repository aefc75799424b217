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


# Bytes: the WAL file is cut back to this when it restarts (journal_size_limit). Above what the WAL
# grows to between two restarts at full load (12,000 sends a second write 100–150 MB/s of frames;
# with passes four times a second and restarts from 4 MB, the checkpointer found it at 20–66 MB,
# 41 MB typical, when it restarted it; with ten a second and restarts from 32 MB, at 33–62 MB), so a
# restart overwrites the file's blocks instead of cutting it and growing it again: the commit after
# a cut took 6–9 ms more (freeing and allocating blocks is journalled, and the disk here is
# mounted with `discard`), on top of the checkpointer's own hold of the lock (api role, two
# processes, 64 connections: p99 19.3–22.2 → 15.4–15.9 ms with 16 MB → 64 MB). A clean stop
# truncates the WAL to nothing (Checkpointer.stop).
WAL_LIMIT = 134_217_728
RESTART_AT = 33_554_432  # bytes of frames from which the checkpointer restarts the WAL


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

    But under constant writes a PASSIVE checkpoint never catches up with the writers, and SQLite
    starts the WAL again from its first frame only when a commit begins with every frame already
    copied: otherwise the WAL grows without end (8.7 GB after three minutes at 4,000 sends a second,
    and the WAL index in shared memory with it). So PASSIVE passes run until what is left is short,
    then the checkpointer holds the writers' lock (`lock_path`, see writer.py) for one more PASSIVE
    pass over that short tail; the next commit, in any process, restarts the WAL in the same file
    (overwriting blocks it already has is also the cheaper fsync). A TRUNCATE under the lock, what
    this did before, held it ≈ 45 ms once a second (it waits for the readers and shrinks the file
    that the next commits grow again) and made the p99 of the whole API; the PASSIVE tail holds it
    1–11 ms four times a second (api role, two processes, 64 connections: p99 40–48 → 20–23 ms,
    5,860–5,940 → 5,730–6,300 req/s; every role: p99 51 → 38 ms). If readers keep the WAL from
    restarting until it passes `hard_limit`, a TRUNCATE is still the way out.

    Passes run ten times a second, and the WAL restarts from 32 MB: at 12,000 sends a second the
    first pass of a round copied 25–40 MB into the database and fsynced it, and the writers' own
    fsyncs queued behind that; in smaller pieces, with the lock still taken about three times a
    second, the p99 went 15.6–17.0 → 12.7–14.4 ms (four alternated pairs of 15 s, compiled build;
    1-minute runs: 17.8–18.0 → 15.9–16.0 ms). Restarting from 4 MB at the same pace took the lock
    eight times a second and gained less; from 64 or 96 MB, two or three times less often, no
    better (each hold lasts 4–15 ms: the pass under the lock fsyncs a database file that grows).
    """

    def __init__(self, engine: Engine, interval: float = 0.1, *, lock_path: Path | None = None,
                 restart_at: int = RESTART_AT, tail: int = 1_048_576, hard_limit: int = 2 * WAL_LIMIT,
                 max_passes: int = 8) -> None:
        self._engine = engine
        self._interval = interval
        self._lock_path = lock_path
        self._restart_at = restart_at  # bytes of frames in the WAL from which it is restarted
        self._tail = tail  # bytes of new frames a pass may leave for the pass under the lock
        self._hard_limit = hard_limit  # bytes of frames past which the WAL is truncated
        self._max_passes = max_passes
        self._frame = 0  # bytes per WAL frame (page size + 24), read on the first pass
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

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int]:
        """Run one checkpoint; (bytes of frames in the WAL, bytes of them now in the database)."""
        with self._engine.connect() as conn:
            if not self._frame:
                self._frame = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one()) + 24
            _busy, frames, copied = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
        return max(frames, 0) * self._frame, max(copied, 0) * self._frame

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
        """PASSIVE passes; past `restart_at`, the last one under the writers' lock so the WAL restarts."""
        length, copied = self.checkpoint()
        if not length:
            return
        for _ in range(self._max_passes - 1):
            before = copied
            length, copied = self.checkpoint()
            if copied - before <= self._tail:  # the writers added little during that pass
                break
        if length < self._restart_at:
            return
        with exclusive(lock):
            self.checkpoint("TRUNCATE" if length > self._hard_limit else "PASSIVE")


def open_database(url: str) -> Engine:
    """Open the database and bring its schema to the newest revision."""
    engine = open_engine(url)
    migrate.upgrade(engine)
    return engine
