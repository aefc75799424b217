"""Queries of the feedback loop (configuration sets, topics, outbox, suppression, reputation).

One function per question or change; every function takes a Connection and returns plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from openses.store.schema import events
from openses.store.tables_feedback import (
    configuration_sets,
    event_destinations,
    feedback_counts,
    feedback_cursor,
    feedback_settings,
    outbox,
    outbox_attempts,
    reputation_state,
    subscriptions,
    suppressed_destinations,
    topics,
)

from openses.store.repositories import Row, claim_pending, fetch_all, fetch_one, mark, raw_rows  # noqa: E402


def _upsert(conn: Connection, table: Any, row: Row, keys: Sequence[str]) -> None:
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = ins(table).values(**row)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys],
                                      set_={k: v for k, v in row.items() if k not in keys})
    conn.execute(stmt)


# --- configuration sets and event destinations ----------------------------------------------

def _cs(account_id: str, name: str) -> Any:
    return and_(configuration_sets.c.account_id == account_id, configuration_sets.c.name == name)


def insert_configuration_set(conn: Connection, row: Row) -> None:
    conn.execute(insert(configuration_sets).values(**row))


def get_configuration_set(conn: Connection, account_id: str, name: str) -> Row | None:
    return fetch_one(conn, select(configuration_sets).where(_cs(account_id, name)))


def lock_configuration_set(conn: Connection, account_id: str, name: str) -> Row | None:
    """get_configuration_set for a read-modify-write of its options (each PutConfigurationSet*
    changes one group of them). On PostgreSQL the row stays locked (SELECT … FOR UPDATE) until the
    transaction ends, so a second writer (another node, the CLI) reads what the first wrote
    instead of writing back the groups it read before; SQLite's writers take turns already
    (writer.py) and SQLAlchemy leaves the clause out."""
    return fetch_one(conn, select(configuration_sets).where(_cs(account_id, name)).with_for_update())


def list_configuration_sets(conn: Connection, account_id: str) -> list[str]:
    stmt = select(configuration_sets.c.name).where(configuration_sets.c.account_id == account_id) \
        .order_by(configuration_sets.c.name)
    return [r[0] for r in conn.execute(stmt)]


def update_configuration_set(conn: Connection, account_id: str, name: str, **values: Any) -> int:
    return conn.execute(update(configuration_sets).where(_cs(account_id, name)).values(**values)).rowcount


def delete_configuration_set(conn: Connection, account_id: str, name: str) -> int:
    conn.execute(delete(event_destinations).where(and_(
        event_destinations.c.account_id == account_id, event_destinations.c.configuration_set == name)))
    return conn.execute(delete(configuration_sets).where(_cs(account_id, name))).rowcount


def _dest(account_id: str, config_set: str, name: str | None = None) -> Any:
    cond = and_(event_destinations.c.account_id == account_id, event_destinations.c.configuration_set == config_set)
    return cond if name is None else and_(cond, event_destinations.c.name == name)


def insert_event_destination(conn: Connection, row: Row) -> None:
    conn.execute(insert(event_destinations).values(**row))


def list_event_destinations(conn: Connection, account_id: str, config_set: str) -> list[Row]:
    return fetch_all(conn, select(event_destinations).where(_dest(account_id, config_set))
                .order_by(event_destinations.c.id))


def update_event_destination(conn: Connection, account_id: str, config_set: str, name: str, **values: Any) -> int:
    return conn.execute(update(event_destinations).where(_dest(account_id, config_set, name))
                        .values(**values)).rowcount


def delete_event_destination(conn: Connection, account_id: str, config_set: str, name: str) -> int:
    return conn.execute(delete(event_destinations).where(_dest(account_id, config_set, name))).rowcount


def destinations_of(conn: Connection, pairs: Iterable[tuple[str, str]]) -> list[Row]:
    """Enabled destinations of the given (account, configuration set) pairs."""
    conds = [_dest(a, c) for a, c in set(pairs)]
    if not conds:
        return []
    return fetch_all(conn, select(event_destinations).where(and_(event_destinations.c.enabled.is_(True), or_(*conds))))


# --- settings (account: identity_key "") -------------------------------------------------------

def _settings_data(account_id: str, identity_key: str) -> Any:
    return select(feedback_settings.c.data).where(and_(
        feedback_settings.c.account_id == account_id, feedback_settings.c.identity_key == identity_key))


def get_settings(conn: Connection, account_id: str, identity_key: str = "") -> Row:
    row = fetch_one(conn, _settings_data(account_id, identity_key))
    return dict(row["data"]) if row else {}


def lock_settings(conn: Connection, account_id: str, identity_key: str, now: float) -> Row:
    """get_settings for a read-modify-write (the API's suppression reasons and an identity's
    default configuration set, the operator's default configuration set: keys of one row). The row
    is created empty when missing, so that two first changes have a row to take turns on too; on
    PostgreSQL it stays locked (SELECT … FOR UPDATE) until the transaction ends, as
    lock_configuration_set."""
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(ins(feedback_settings).values(account_id=account_id, identity_key=identity_key, data={},
                                               updated_at=now).on_conflict_do_nothing())
    row = fetch_one(conn, _settings_data(account_id, identity_key).with_for_update())
    return dict(row["data"]) if row else {}


def put_settings(conn: Connection, account_id: str, identity_key: str, data: Row, now: float) -> None:
    _upsert(conn, feedback_settings, {"account_id": account_id, "identity_key": identity_key, "data": data,
                                      "updated_at": now}, ("account_id", "identity_key"))


def settings_of_identities(conn: Connection, account_id: str) -> dict[str, Row]:
    stmt = select(feedback_settings).where(and_(feedback_settings.c.account_id == account_id,
                                                feedback_settings.c.identity_key != ""))
    return {r["identity_key"]: dict(r["data"]) for r in conn.execute(stmt).mappings()}


# --- topics and subscriptions ---------------------------------------------------------------

def insert_topic(conn: Connection, row: Row) -> None:
    conn.execute(insert(topics).values(**row))


def get_topic(conn: Connection, arn: str) -> Row | None:
    return fetch_one(conn, select(topics).where(topics.c.arn == arn))


def list_topics(conn: Connection, account_id: str | None = None) -> list[Row]:
    stmt = select(topics).order_by(topics.c.arn)
    if account_id:
        stmt = stmt.where(topics.c.account_id == account_id)
    return fetch_all(conn, stmt)


def delete_topic(conn: Connection, arn: str) -> int:
    conn.execute(delete(subscriptions).where(subscriptions.c.topic_arn == arn))
    return conn.execute(delete(topics).where(topics.c.arn == arn)).rowcount


def insert_subscription(conn: Connection, row: Row) -> None:
    conn.execute(insert(subscriptions).values(**row))


def get_subscription(conn: Connection, sub_id: str) -> Row | None:
    return fetch_one(conn, select(subscriptions).where(subscriptions.c.id == sub_id))


def list_subscriptions(conn: Connection, topic_arns: Sequence[str] | None = None,
                       confirmed_only: bool = False) -> list[Row]:
    stmt = select(subscriptions).order_by(subscriptions.c.created_at)
    if topic_arns is not None:
        stmt = stmt.where(subscriptions.c.topic_arn.in_(list(topic_arns)))
    if confirmed_only:
        stmt = stmt.where(subscriptions.c.status == "Confirmed")
    return fetch_all(conn, stmt)


def confirm_subscription(conn: Connection, topic_arn: str, token: str) -> Row | None:
    cond = and_(subscriptions.c.topic_arn == topic_arn, subscriptions.c.token == token)
    conn.execute(update(subscriptions).where(cond).values(status="Confirmed"))
    return fetch_one(conn, select(subscriptions).where(cond))


def delete_subscription(conn: Connection, sub_id: str) -> int:
    return conn.execute(delete(subscriptions).where(subscriptions.c.id == sub_id)).rowcount


# --- outbox ---------------------------------------------------------------------------------

def insert_outbox(conn: Connection, rows: Sequence[Row]) -> None:
    if rows:
        conn.execute(insert(outbox), list(rows))


def claim_outbox(conn: Connection, now: float, lease_seconds: float, limit: int) -> list[Row]:
    return claim_pending(conn, outbox, now, lease_seconds, limit)


def record_attempt(conn: Connection, outbox_id: int, *, at: float, status_code: int | None, error: str | None,
                   outcome: str, next_attempt_at: float | None) -> None:
    """Log the attempt and move the row on: delivered, failed for good, or pending later."""
    conn.execute(insert(outbox_attempts).values(outbox_id=outbox_id, at=at, status_code=status_code, error=error))
    values: Row = {"attempts": outbox.c.attempts + 1, "lease_expires_at": None, "status": outcome}
    if outcome == "pending":
        values["next_attempt_at"] = next_attempt_at
    else:
        values["finished_at"] = at
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))


def list_outbox(conn: Connection, subscription_ids: Sequence[str] | None = None, limit: int = 100) -> list[Row]:
    stmt = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if subscription_ids is not None:
        stmt = stmt.where(outbox.c.subscription_id.in_(list(subscription_ids)))
    return fetch_all(conn, stmt)


def list_attempts(conn: Connection, outbox_id: int) -> list[Row]:
    return fetch_all(conn, select(outbox_attempts).where(outbox_attempts.c.outbox_id == outbox_id)
                .order_by(outbox_attempts.c.id))


def outbox_counts(conn: Connection) -> dict[str, int]:
    stmt = select(outbox.c.status, func.count()).group_by(outbox.c.status)
    return {r[0]: int(r[1]) for r in conn.execute(stmt)}


def attempt_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(outbox_attempts)).scalar_one())


# --- suppression ----------------------------------------------------------------------------

def _sup(account_id: str, email_key: str) -> Any:
    return and_(suppressed_destinations.c.account_id == account_id, suppressed_destinations.c.email_key == email_key)


def put_suppressed(conn: Connection, row: Row) -> None:
    _upsert(conn, suppressed_destinations, row, ("account_id", "email_key"))


def get_suppressed(conn: Connection, account_id: str, email_key: str) -> Row | None:
    return fetch_one(conn, select(suppressed_destinations).where(_sup(account_id, email_key)))


def delete_suppressed(conn: Connection, account_id: str, email_key: str) -> int:
    return conn.execute(delete(suppressed_destinations).where(_sup(account_id, email_key))).rowcount


def list_suppressed(conn: Connection, account_id: str, *, reasons: Sequence[str] | None, start: float | None,
                    end: float | None, offset: int, limit: int) -> list[Row]:
    t = suppressed_destinations.c
    stmt = select(suppressed_destinations).where(t.account_id == account_id)
    if reasons:
        stmt = stmt.where(t.reason.in_(list(reasons)))
    if start is not None:
        stmt = stmt.where(t.updated_at >= start)
    if end is not None:
        stmt = stmt.where(t.updated_at <= end)
    return fetch_all(conn, stmt.order_by(t.email_key).offset(offset).limit(limit))


def suppression_version(conn: Connection, account_id: str) -> tuple[int, float]:
    """(entries, latest change): changes whenever the list does, read cheaply."""
    t = suppressed_destinations.c
    row = conn.execute(select(func.count(), func.max(t.updated_at)).where(t.account_id == account_id)).one()
    return int(row[0]), float(row[1] or 0.0)


def suppression_map(conn: Connection, account_id: str) -> dict[str, str]:
    t = suppressed_destinations.c
    return {r[0]: r[1] for r in conn.execute(select(t.email_key, t.reason).where(t.account_id == account_id))}


# --- counts and reputation ------------------------------------------------------------------

def add_counts(conn: Connection, counts: dict[tuple[str, int, str], int]) -> None:
    for (account_id, minute, event_type), n in counts.items():
        ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stmt = ins(feedback_counts).values(account_id=account_id, minute=minute, event_type=event_type,
                                           recipients=n)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[feedback_counts.c.account_id, feedback_counts.c.minute, feedback_counts.c.event_type],
            set_={"recipients": feedback_counts.c.recipients + n}))


def counts_since(conn: Connection, account_id: str, minute: int) -> dict[str, int]:
    t = feedback_counts.c
    stmt = select(t.event_type, func.sum(t.recipients)).where(and_(t.account_id == account_id, t.minute >= minute)) \
        .group_by(t.event_type)
    return {r[0]: int(r[1]) for r in conn.execute(stmt)}


def totals_by_type(conn: Connection) -> list[tuple[str, str, int]]:
    t = feedback_counts.c
    stmt = select(t.account_id, t.event_type, func.sum(t.recipients)).group_by(t.account_id, t.event_type)
    return [(r[0], r[1], int(r[2])) for r in conn.execute(stmt)]


def get_reputation(conn: Connection, account_id: str) -> Row | None:
    return fetch_one(conn, select(reputation_state).where(reputation_state.c.account_id == account_id))


def put_reputation(conn: Connection, row: Row) -> None:
    _upsert(conn, reputation_state, row, ("account_id",))


# --- the events stream ------------------------------------------------------------------------

def lock_cursor(conn: Connection, name: str, now: float) -> int:
    """The cursor's position, locked for this transaction (one processor at a time)."""
    stmt = select(feedback_cursor.c.last_event_id).where(feedback_cursor.c.name == name)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    value = conn.execute(stmt).scalar()
    if value is None:
        ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(ins(feedback_cursor).values(name=name, last_event_id=0, updated_at=now)
                     .on_conflict_do_nothing())
        return lock_cursor(conn, name, now) if conn.dialect.name == "postgresql" else 0
    return int(value)


def move_cursor(conn: Connection, name: str, last_event_id: int, now: float) -> None:
    conn.execute(update(feedback_cursor).where(feedback_cursor.c.name == name)
                 .values(last_event_id=last_event_id, updated_at=now))


def events_after(conn: Connection, event_id: int, limit: int) -> list[Row]:
    m = mark(conn)
    return raw_rows(conn, events, tuple(c.name for c in events.columns), f"id > {m}", (event_id, limit),
                    tail=f"ORDER BY id LIMIT {m}")


def events_of_message(conn: Connection, account_id: str, message_id: str) -> list[Row]:
    return fetch_all(conn, select(events).where(and_(events.c.account_id == account_id,
                                                events.c.message_id == message_id)).order_by(events.c.id))
