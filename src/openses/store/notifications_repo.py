"""Queries of identity feedback notifications: the feedback-forwarding queue.

One function per question or change; every function takes a Connection and returns plain dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from openses.store.repositories import Row, claim_pending, fetch_all
from openses.store.tables_notifications import feedback_forwards as ff


def insert_forwards(conn: Connection, rows: Sequence[Row]) -> None:
    if rows:
        conn.execute(insert(ff), list(rows))


def claim_forwards(conn: Connection, now: float, lease_seconds: float, limit: int) -> list[Row]:
    """Due pending rows nobody holds, leased for `lease_seconds` (SKIP LOCKED on PostgreSQL)."""
    return claim_pending(conn, ff, now, lease_seconds, limit)


def finish_forward(conn: Connection, row_id: int, *, at: float, status: str, message_id: str | None = None,
                   error: str | None = None) -> None:
    """The row is done: `sent` (with the feedback mail's MessageId) or `failed` (with why)."""
    conn.execute(update(ff).where(ff.c.id == row_id).values(
        status=status, message_id=message_id, error=error, attempts=ff.c.attempts + 1,
        lease_expires_at=None, finished_at=at))


def retry_forward(conn: Connection, row_id: int, *, next_attempt_at: float, error: str) -> None:
    conn.execute(update(ff).where(ff.c.id == row_id).values(
        attempts=ff.c.attempts + 1, lease_expires_at=None, next_attempt_at=next_attempt_at, error=error))


def list_forwards(conn: Connection, account_id: str | None = None, limit: int = 100) -> list[Row]:
    stmt = select(ff).order_by(ff.c.id.desc()).limit(limit)
    if account_id is not None:
        stmt = stmt.where(ff.c.account_id == account_id)
    return fetch_all(conn, stmt)
