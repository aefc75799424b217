"""Queries of identity feedback notifications: the feedback-forwarding queue.

One function per question or change; every function takes a Connection and returns plain dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from openses.store.repositories import Row, fetch_all
from openses.store.tables_notifications import feedback_forwards as ff


def insert_forwards(conn: Connection, rows: Sequence[Row]) -> None:
    if rows:
        conn.execute(insert(ff), list(rows))


def claim_forwards(conn: Connection, now: float, lease_seconds: float, limit: int) -> list[Row]:
    """Due pending rows nobody holds, leased for `lease_seconds` (SKIP LOCKED on PostgreSQL)."""
    free = or_(ff.c.lease_expires_at.is_(None), ff.c.lease_expires_at < now)
    pick = select(ff.c.id).where(and_(ff.c.status == "pending", ff.c.next_attempt_at <= now, free)) \
        .order_by(ff.c.next_attempt_at).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = [r[0] for r in conn.execute(pick)]
    if not ids:
        return []
    conn.execute(update(ff).where(ff.c.id.in_(ids)).values(lease_expires_at=now + lease_seconds))
    return fetch_all(conn, select(ff).where(ff.c.id.in_(ids)).order_by(ff.c.id))


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
