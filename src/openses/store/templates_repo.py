"""Queries of the templates domain, one function per question or change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from openses.store.tables_templates import email_templates as t

Row = dict[str, Any]


def insert_template(conn: Connection, row: Row) -> None:
    conn.execute(insert(t).values(**row))


def get_template(conn: Connection, account_id: str, name: str) -> Row | None:
    row = conn.execute(select(t).where(and_(t.c.account_id == account_id, t.c.name == name))).mappings().first()
    return dict(row) if row is not None else None


def update_template(conn: Connection, account_id: str, name: str, **values: Any) -> int:
    return conn.execute(update(t).where(and_(t.c.account_id == account_id, t.c.name == name))
                        .values(**values)).rowcount


def delete_template(conn: Connection, account_id: str, name: str) -> int:
    return conn.execute(delete(t).where(and_(t.c.account_id == account_id, t.c.name == name))).rowcount


def list_templates(conn: Connection, account_id: str) -> list[Row]:
    """Name and creation time of every template, oldest first (SES lists in creation order)."""
    stmt = select(t.c.name, t.c.created_at).where(t.c.account_id == account_id).order_by(t.c.created_at, t.c.id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def count_templates(conn: Connection, account_id: str) -> int:
    return int(conn.execute(select(func.count()).select_from(t).where(t.c.account_id == account_id)).scalar_one())
