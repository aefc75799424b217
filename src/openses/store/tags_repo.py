"""Queries of resource tags: the tags of email identities (in their `attributes`), configuration
sets and contact lists (their `tags` columns), read and replaced in place. Every function takes a
Connection; `kind` is the resource type of the ARN (identity, configuration-set, contact-list)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from openses.store.schema import identities
from openses.store.tables_contacts import contact_lists
from openses.store.tables_feedback import configuration_sets

KINDS = ("identity", "configuration-set", "contact-list")
Tags = list[dict[str, str]]


def _where(kind: str, account_id: str, name: str) -> Any:
    if kind == "identity":
        return and_(identities.c.account_id == account_id, identities.c.identity_key == name)
    table = configuration_sets if kind == "configuration-set" else contact_lists
    return and_(table.c.account_id == account_id, table.c.name == name)


def _select_tags(kind: str, account_id: str, name: str) -> Any:
    if kind == "identity":  # an identity's tags are one of its attributes
        column = identities.c.attributes
    else:
        column = (configuration_sets if kind == "configuration-set" else contact_lists).c.tags
    return select(column).where(_where(kind, account_id, name))


def _tags(row: Any, kind: str) -> Tags | None:
    if row is None:
        return None
    return list((row[0] or {}).get("tags") or []) if kind == "identity" else list(row[0] or [])


def get_tags(conn: Connection, kind: str, account_id: str, name: str) -> Tags | None:
    """The resource's tags, [] when it has none; None when there is no such resource."""
    return _tags(conn.execute(_select_tags(kind, account_id, name)).first(), kind)


def lock_tags(conn: Connection, kind: str, account_id: str, name: str) -> Tags | None:
    """get_tags for a read-modify-write (TagResource adds to the tags, UntagResource takes some
    away). On PostgreSQL the resource's row stays locked (SELECT … FOR UPDATE) until the
    transaction ends, so of two writers (two nodes) the second reads the tags the first wrote
    instead of writing back those it read before; SQLite's writers take turns already and
    SQLAlchemy leaves the clause out."""
    return _tags(conn.execute(_select_tags(kind, account_id, name).with_for_update()).first(), kind)


def set_tags(conn: Connection, kind: str, account_id: str, name: str, tags: Tags) -> None:
    if kind == "identity":  # the tags are one of the attributes: the others are kept, under the row's lock
        row = conn.execute(_select_tags(kind, account_id, name).with_for_update()).one()
        attributes = dict(row[0] or {}, tags=tags)
        conn.execute(update(identities).where(_where(kind, account_id, name)).values(attributes=attributes))
        return
    table = configuration_sets if kind == "configuration-set" else contact_lists
    conn.execute(update(table).where(_where(kind, account_id, name)).values(tags=tags))
