"""Queries of open and click tracking (core/tracking.py, the delivery worker)."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection

from openses.store.schema import messages


def replace_raw(conn: Connection, copies: dict[str, bytes]) -> None:
    """Store the tracked copies of messages (capture mode keeps what the recipient would get)."""
    if not copies:
        return
    stmt = update(messages).where(messages.c.id == bindparam("message_id")).values(raw=bindparam("new_raw"))
    conn.execute(stmt, [{"message_id": k, "new_raw": v} for k, v in copies.items()])
