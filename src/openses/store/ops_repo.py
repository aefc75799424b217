"""Queries for the operator's `debug` command: an account's recent events with their SES JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from openses.store.schema import events


def recent_events(conn: Connection, account_id: str, since: float, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` events of the account since `since`, newest first, payload included."""
    stmt = (select(events.c.message_id, events.c.event_type, events.c.created_at, events.c.payload)
            .where(and_(events.c.account_id == account_id, events.c.created_at >= since))
            .order_by(events.c.created_at.desc(), events.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in conn.execute(stmt)]
