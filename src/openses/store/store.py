"""The Store: reads on pooled connections (off the event loop), writes through the writer."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

from openses.store.database import Checkpointer, exclusive, open_database, open_lock
from openses.store.writer import Accepted, GroupCommitWriter

T = TypeVar("T")


class Store:
    def __init__(self, engine: Engine, *, max_batch: int = 512) -> None:
        self.engine = engine
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        lock = Path(f"{database}.writer-lock") if database and database != ":memory:" else None
        self._lock_path = lock
        self.writer = GroupCommitWriter(engine, max_batch=max_batch, lock_path=lock)
        self._checkpointer = Checkpointer(engine, lock_path=lock)
        self._writer_started = False

    @classmethod
    def open(cls, url: str, *, max_batch: int = 512) -> Store:
        return cls(open_database(url), max_batch=max_batch)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def start(self, *, checkpoint: bool = True) -> None:
        """Start the writer thread (servers); without it writes run inline (CLI, tests).
        `checkpoint`: also copy SQLite's WAL back into the database (one process of a host does)."""
        self.writer.start()
        if checkpoint:
            self._checkpointer.start()
        self._writer_started = True

    def close(self) -> None:
        if self._writer_started:
            self.writer.stop()
            self._checkpointer.stop()
            self._writer_started = False
        self.engine.dispose()

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return fn(conn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.to_thread(self.read_sync, fn)

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        if self._writer_started:
            return self.writer.run_sync(fn)
        # Without a writer thread (the CLI, tests): still one writer at a time with the servers'
        # writers on this SQLite file. pysqlite begins the transaction only at the first write, so
        # a server's read-modify-write (its reads, then its writes) is atomic against this one
        # only because its writer holds the same lock around the whole of it.
        lock = open_lock(self._lock_path) if self._lock_path is not None else None
        try:
            with exclusive(lock), self.engine.begin() as conn:
                return fn(conn)
        finally:
            if lock is not None:
                os.close(lock)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        if self._writer_started:
            return await self.writer.run(fn)
        return await asyncio.to_thread(self.write_sync, fn)

    async def accept(self, rows: Accepted) -> None:
        if self._writer_started:
            await self.writer.accept(rows)
        else:
            from openses.store.repositories import insert_accepted

            await asyncio.to_thread(self.write_sync, lambda c: insert_accepted(
                c, rows.messages, rows.queue, rows.events, rows.counts))
