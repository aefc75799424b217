"""Engines for SQLite (WAL, fsync on commit) and PostgreSQL, and the schema check at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from openses.store import migrate


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before we reply 200/250 (the durability promise).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def open_engine(url: str, *, create_dirs: bool = True) -> Engine:
    """Open (and, for SQLite, create the directory of) the database at `url`."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if create_dirs and path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=8)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def open_database(url: str) -> Engine:
    """Open the database and bring its schema to the newest revision."""
    engine = open_engine(url)
    migrate.upgrade(engine)
    return engine
