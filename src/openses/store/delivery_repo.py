"""Queries of the delivery worker (beyond lease_due, complete_entry and retry_entry)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection

from openses.store.schema import events, messages, queue


def messages_to_deliver(conn: Connection, message_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """id → {raw, source, from_header} for the messages a worker is about to send."""
    stmt = select(messages.c.id, messages.c.raw, messages.c.source, messages.c.from_header).where(
        messages.c.id.in_(list(message_ids)))
    return {r["id"]: dict(r) for r in conn.execute(stmt).mappings()}


def reschedule(conn: Connection, entry_id: int, owner: str, next_attempt_at: float,
               recipients: list[str]) -> int:
    """Give the entry back for a later attempt, for the recipients still to deliver; 0 if
    `owner` lost the lease meanwhile."""
    return conn.execute(update(queue).where(and_(queue.c.id == entry_id, queue.c.lease_owner == owner)).values(
        attempts=queue.c.attempts + 1, next_attempt_at=next_attempt_at, recipients=recipients,
        lease_owner=None, lease_expires_at=None)).rowcount


def release(conn: Connection, entry_ids: Sequence[int], owner: str) -> int:
    """Hand leased entries back untouched (graceful shutdown before they were tried)."""
    return conn.execute(update(queue).where(and_(queue.c.id.in_(list(entry_ids)), queue.c.lease_owner == owner))
                        .values(lease_owner=None, lease_expires_at=None)).rowcount


def event_counts(conn: Connection, message_id: str) -> dict[str, int]:
    stmt = select(events.c.event_type, func.count()).where(events.c.message_id == message_id) \
        .group_by(events.c.event_type)
    return {r[0]: int(r[1]) for r in conn.execute(stmt)}


def leased_entries(conn: Connection) -> list[dict[str, Any]]:
    """Entries some worker holds right now (tests and operators: what is in flight)."""
    stmt = select(queue).where(queue.c.lease_owner.is_not(None))
    return [dict(r) for r in conn.execute(stmt).mappings()]
