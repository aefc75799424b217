"""The group-commit writer: many concurrent writes share one transaction and one fsync.

One thread owns a connection. Callers hand it a write (a function of the connection) and await
the result; the thread takes everything queued, runs it in one transaction, commits, then wakes
every caller at once. If the batch fails, each write is retried alone so one bad write cannot sink
its neighbours. On SQLite this is also the single writer the database wants; when several
processes share one SQLite file (`openses serve --processes N`), their writers take turns through
an exclusive lock on a file next to the database: SQLite's own busy handler would sleep in steps of
up to 100 ms instead of waking the next writer at once, and a reader that writes later in the same
transaction could otherwise be overtaken (the queue's lease claims read, then update). Every
commit costs an fsync, so a writer that had to wait for the lock takes what was queued meanwhile
into the same commit (api role, two processes: 4,440 → 4,990 req/s). On SQLite a batch of accepted
mail goes in as one statement that also commits (the note above repositories.ACCEPTED_VIEW says why:
each SQLite call hands the GIL to the event loop and waits to get it back, lock held; one process,
api role: a commit 5.6 → 3.6 ms, 4,120–4,470 → 4,430–4,880 req/s).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from openses.store import repositories
from openses.store.database import exclusive, open_lock

log = logging.getLogger(__name__)
T = TypeVar("T")
Write = Callable[[Connection], Any]


@dataclass
class Accepted:
    """Rows of accepted mail; all of a batch's Accepted go in with one executemany per table."""

    messages: list[dict[str, Any]]
    queue: list[dict[str, Any]]
    events: list[dict[str, Any]]
    counts: dict[tuple[str, int], int]


@dataclass
class _Pending:
    write: Write | Accepted
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[Any] | None
    done: threading.Event | None = None
    result: Any = None
    error: BaseException | None = None


class GroupCommitWriter:
    def __init__(self, engine: Engine, *, max_batch: int = 512,
                 after_commit: Callable[[], None] | None = None, lock_path: Path | None = None) -> None:
        self._engine = engine
        self._lock_path = lock_path
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._after_commit = after_commit
        self.batches = 0
        self.writes = 0
        self._one_step = False  # SQLite: accepted mail goes in as one statement (repositories)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="openses-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    async def run(self, write: Callable[[Connection], T]) -> T:
        """Run `write` in the next group transaction; return once it is committed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Pending(write, loop, fut))
        return await fut

    async def accept(self, rows: Accepted) -> None:
        """Commit accepted mail in the next group transaction; return once it is on disk."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Pending(rows, loop, fut))
        await fut

    def run_sync(self, write: Callable[[Connection], T]) -> T:
        """The same from a thread that has no event loop (CLI, worker threads)."""
        item = _Pending(write, None, None, threading.Event())
        self._queue.put(item)
        assert item.done is not None
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[no-any-return]

    # --- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        lock = open_lock(self._lock_path) if self._lock_path else None
        try:
            self._serve(lock)
        finally:
            if lock is not None:
                os.close(lock)

    def _serve(self, lock: int | None) -> None:
        with self._engine.connect() as conn:
            self._one_step = conn.dialect.name == "sqlite" and _create_view(conn)
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = self._drain(batch)
                statements = self._prepare(conn, batch)  # before the lock: it is held only for the SQL
                with exclusive(lock):  # the other processes' writers (see above)
                    if lock is not None and not stop:
                        # What arrived while the other processes held the lock joins this commit:
                        # a commit costs an fsync whatever its size.
                        prepared = len(batch)
                        stop = self._drain(batch)
                        if len(batch) > prepared:
                            statements = _joined(statements, self._prepare(conn, batch[prepared:]))
                    self._commit(conn, batch, statements)
                self._notify(batch)
                if stop:
                    return

    def _drain(self, batch: list[_Pending]) -> bool:
        """Move what is queued into `batch` (up to the batch limit); whether stop() was asked."""
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    def _prepare(self, conn: Connection, batch: list[_Pending]) -> _Prepared:
        try:
            if self._one_step and all(isinstance(item.write, Accepted) for item in batch):
                return _ViewRows(repositories.accepted_view_rows(*_merged(batch)))
            return _accepted_statements(conn.dialect.name, batch)
        except Exception:  # a row that cannot be encoded: _commit finds it
            return None

    def _commit(self, conn: Connection, batch: list[_Pending], prepared: _Prepared) -> None:
        try:
            statement = (repositories.accepted_view_statement(prepared.kinds)
                         if isinstance(prepared, _ViewRows) else None)
            if statement is not None:
                _in_one_step(conn, statement)
            else:
                statements = prepared if isinstance(prepared, list) else _accepted_statements(
                    conn.dialect.name, batch)
                with conn.begin():
                    repositories.run_statements(conn, statements)
                    for item in batch:
                        if not isinstance(item.write, Accepted):
                            item.result = item.write(conn)
            self.batches += 1
            self.writes += len(batch)
        except Exception:
            if len(batch) == 1:
                batch[0].error = _current_error()
                return
            # Find the bad one: each write alone. Accepted mail rarely is (a duplicate message id),
            # a write more often (an UpdateContact of a missing contact raises in its transaction):
            # the accepted mail of the batch tries again together first, one fsync, not one each.
            accepted = [item for item in batch if isinstance(item.write, Accepted)]
            if accepted and len(accepted) < len(batch):
                self._commit(conn, accepted, None)
                batch = [item for item in batch if not isinstance(item.write, Accepted)]
            for item in batch:
                self._commit(conn, [item], None)
            return
        if self._after_commit is not None:
            try:
                self._after_commit()
            except Exception:  # pragma: no cover - a hook must never stop the writer
                log.exception("after_commit hook failed")

    @staticmethod
    def _notify(batch: list[_Pending]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        for item in batch:
            if item.loop is None:
                assert item.done is not None
                item.done.set()
            else:
                by_loop.setdefault(item.loop, []).append(item)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, items)
            except RuntimeError:  # the loop closed while we wrote
                pass


class _ViewRows:
    """A batch of accepted mail only, as the rows of repositories.accepted_view_statement."""

    __slots__ = ("kinds",)

    def __init__(self, kinds: list[list[list[Any]]]) -> None:
        self.kinds = kinds


# What _prepare makes before the lock: the rows for one step, statements for a transaction, or
# None (_commit then builds the statements itself, and finds the row that could not be encoded).
_Prepared = _ViewRows | list[repositories.Statement] | None


def _joined(first: _Prepared, extra: _Prepared) -> _Prepared:
    if isinstance(first, _ViewRows) and isinstance(extra, _ViewRows):
        for rows, more in zip(first.kinds, extra.kinds):
            rows.extend(more)
        return first
    if isinstance(first, list) and isinstance(extra, list):
        return first + extra
    return None


def _create_view(conn: Connection) -> bool:
    """The TEMP view of repositories.accepted_view_ddl on the writer's connection (False: not
    possible here, and the batches go as statements in a transaction)."""
    raw: Any = conn.connection.driver_connection
    try:
        raw.executescript(repositories.accepted_view_ddl())
        return True
    except Exception:  # pragma: no cover - an SQLite without UPSERT in triggers (< 3.24)
        log.warning("SQLite cannot create the accepted-mail view: each batch is several statements",
                    exc_info=True)
        return False


def _in_one_step(conn: Connection, statement: repositories.Statement) -> None:
    """Run `statement` in autocommit mode: SQLite commits it in the same step."""
    raw: Any = conn.connection.driver_connection
    level = raw.isolation_level
    raw.isolation_level = None
    try:
        raw.execute(*statement)
    finally:
        raw.isolation_level = level


def _merged(batch: list[_Pending]) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                            list[dict[str, Any]], dict[tuple[str, int], int]]:
    items = [i.write for i in batch if isinstance(i.write, Accepted)]
    counts: dict[tuple[str, int], int] = {}
    for a in items:
        for k, n in a.counts.items():
            counts[k] = counts.get(k, 0) + n
    return ([m for a in items for m in a.messages], [q for a in items for q in a.queue],
            [e for a in items for e in a.events], counts)


def _accepted_statements(dialect: str, batch: list[_Pending]) -> list[repositories.Statement]:
    messages, queue_rows, events, counts = _merged(batch)
    if not (messages or queue_rows or events or counts):
        return []
    return repositories.accepted_statements(dialect, messages, queue_rows, events, counts)


def _current_error() -> BaseException:
    import sys

    err = sys.exc_info()[1]
    assert err is not None
    return err


def _resolve(items: list[_Pending]) -> None:
    for item in items:
        fut = item.future
        assert fut is not None
        if fut.done():
            continue
        if item.error is not None:
            fut.set_exception(item.error)
        else:
            fut.set_result(item.result)
