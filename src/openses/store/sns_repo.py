"""Queries of the SNS API: topic attributes and tags, paged listings of an account's topics and
subscriptions, and the signing keys of SNS messages. The topic and subscription rows themselves
are read and written through feedback_repo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from openses.store.repositories import Row, fetch_all, fetch_one
from openses.store.tables_feedback import subscriptions, topics
from openses.store.tables_sns import sns_signing_keys, topic_attributes


def _insert(conn: Connection, table: Any) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


# --- topic attributes -------------------------------------------------------------------------

def get_topic_attributes(conn: Connection, arn: str) -> Row | None:
    return fetch_one(conn, select(topic_attributes).where(topic_attributes.c.topic_arn == arn))


def lock_topic_attributes(conn: Connection, arn: str, now: float) -> Row:
    """get_topic_attributes for a read-modify-write (SetTopicAttributes sets one attribute,
    TagResource and UntagResource some tags, and each writes the row's attributes and tags back).
    The row is created empty when missing (a topic from before these rows); on PostgreSQL it stays
    locked (SELECT … FOR UPDATE) until the transaction ends, so a second writer (another node)
    reads what the first wrote; SQLite's writers take turns already and SQLAlchemy leaves the
    clause out."""
    conn.execute(_insert(conn, topic_attributes).values(topic_arn=arn, attributes={}, tags={}, deleted_subscriptions=0,
                                                        updated_at=now).on_conflict_do_nothing())
    row = fetch_one(conn, select(topic_attributes).where(topic_attributes.c.topic_arn == arn).with_for_update())
    assert row is not None
    return row


def put_topic_attributes(conn: Connection, arn: str, attributes: Row, tags: dict[str, str], now: float) -> None:
    """Create or replace the attributes and tags (the deleted-subscriptions count is kept)."""
    stmt = _insert(conn, topic_attributes).values(topic_arn=arn, attributes=attributes, tags=tags,
                                                  deleted_subscriptions=0, updated_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=[topic_attributes.c.topic_arn],
                                            set_={"attributes": attributes, "tags": tags, "updated_at": now}))


def count_deleted_subscription(conn: Connection, arn: str, now: float) -> None:
    stmt = _insert(conn, topic_attributes).values(topic_arn=arn, attributes={}, tags={}, deleted_subscriptions=1,
                                                  updated_at=now)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[topic_attributes.c.topic_arn],
        set_={"deleted_subscriptions": topic_attributes.c.deleted_subscriptions + 1}))


def delete_topic_attributes(conn: Connection, arn: str) -> None:
    conn.execute(delete(topic_attributes).where(topic_attributes.c.topic_arn == arn))


def subscription_counts(conn: Connection, arn: str) -> dict[str, int]:
    """{status: subscriptions} of one topic."""
    stmt = select(subscriptions.c.status, func.count()).where(subscriptions.c.topic_arn == arn) \
        .group_by(subscriptions.c.status)
    return {r[0]: int(r[1]) for r in conn.execute(stmt)}


def set_subscription_raw(conn: Connection, sub_id: str, raw: bool) -> int:
    return conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(raw=raw)).rowcount


# --- paged listings -----------------------------------------------------------------------------

def topics_page(conn: Connection, account_id: str, after: str, limit: int) -> list[Row]:
    """An account's topics in ARN order, after the ARN `after` ("" for the first page)."""
    stmt = select(topics).where(and_(topics.c.account_id == account_id, topics.c.arn > after)) \
        .order_by(topics.c.arn).limit(limit)
    return fetch_all(conn, stmt)


def subscriptions_page(conn: Connection, account_id: str, topic_arn: str | None, offset: int,
                       limit: int) -> list[Row]:
    """Subscriptions to an account's topics (or one of them), oldest first."""
    cond = topics.c.account_id == account_id
    if topic_arn is not None:
        cond = and_(cond, subscriptions.c.topic_arn == topic_arn)
    stmt = select(subscriptions).join(topics, topics.c.arn == subscriptions.c.topic_arn).where(cond) \
        .order_by(subscriptions.c.created_at, subscriptions.c.id).offset(offset).limit(limit)
    return fetch_all(conn, stmt)


# --- signing keys -------------------------------------------------------------------------------

def newest_signing_key(conn: Connection) -> Row | None:
    stmt = select(sns_signing_keys).order_by(sns_signing_keys.c.created_at.desc(), sns_signing_keys.c.id).limit(1)
    return fetch_one(conn, stmt)


def get_signing_certificate(conn: Connection, key_id: str) -> str | None:
    stmt = select(sns_signing_keys.c.certificate).where(sns_signing_keys.c.id == key_id)
    return conn.execute(stmt).scalar()


def insert_signing_key(conn: Connection, row: Row) -> None:
    conn.execute(_insert(conn, sns_signing_keys).values(**row).on_conflict_do_nothing())
