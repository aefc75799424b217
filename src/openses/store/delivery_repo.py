"""Queries of the delivery worker (beyond lease_due, complete_entry and retry_entry)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, select, update
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


def complete_entries(conn: Connection, entry_ids: Sequence[int], owner: str) -> set[int]:
    """Retire many entries at once; the ids `owner` still held (the others were taken over)."""
    held = {r[0] for r in conn.execute(select(queue.c.id).where(
        and_(queue.c.id.in_(list(entry_ids)), queue.c.lease_owner == owner)))}
    if held:
        conn.execute(delete(queue).where(queue.c.id.in_(list(held))))
    return held


def messages_with_entries(conn: Connection, message_ids: Sequence[str]) -> set[str]:
    """Which of these messages still have queue entries (other domains not done yet)."""
    stmt = select(queue.c.message_id).where(queue.c.message_id.in_(list(message_ids))).distinct()
    return {r[0] for r in conn.execute(stmt)}


def event_counts_many(conn: Connection, message_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    stmt = select(events.c.message_id, events.c.event_type, func.count()).where(
        events.c.message_id.in_(list(message_ids))).group_by(events.c.message_id, events.c.event_type)
    out: dict[str, dict[str, int]] = {}
    for mid, kind, n in conn.execute(stmt):
        out.setdefault(mid, {})[kind] = int(n)
    return out


def set_statuses(conn: Connection, statuses: dict[str, str]) -> None:
    by_status: dict[str, list[str]] = {}
    for mid, status in statuses.items():
        by_status.setdefault(status, []).append(mid)
    for status, ids in by_status.items():
        conn.execute(update(messages).where(messages.c.id.in_(ids)).values(status=status))


def leased_entries(conn: Connection) -> list[dict[str, Any]]:
    """Entries some worker holds right now (tests and operators: what is in flight)."""
    stmt = select(queue).where(queue.c.lease_owner.is_not(None))
    return [dict(r) for r in conn.execute(stmt).mappings()]
