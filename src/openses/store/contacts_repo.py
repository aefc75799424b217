"""Queries of the contacts domain: contact lists, contacts, unsubscribe links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from openses.store.tables_contacts import contact_lists as cl
from openses.store.tables_contacts import contacts as c
from openses.store.tables_contacts import unsubscribe_links as u

from openses.store.repositories import Row, fetch_one  # noqa: E402  (the shared row helper)


# --- contact lists ----------------------------------------------------------------------------


def insert_list(conn: Connection, row: Row) -> None:
    conn.execute(insert(cl).values(**row))


def get_list(conn: Connection, account_id: str, name: str) -> Row | None:
    return fetch_one(conn, select(cl).where(and_(cl.c.account_id == account_id, cl.c.name == name)))


def list_lists(conn: Connection, account_id: str) -> list[Row]:
    stmt = select(cl).where(cl.c.account_id == account_id).order_by(cl.c.created_at, cl.c.id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def count_lists(conn: Connection, account_id: str) -> int:
    return int(conn.execute(select(func.count()).select_from(cl).where(cl.c.account_id == account_id)).scalar_one())


def update_list(conn: Connection, account_id: str, name: str, **values: Any) -> int:
    return conn.execute(update(cl).where(and_(cl.c.account_id == account_id, cl.c.name == name))
                        .values(**values)).rowcount


def delete_list(conn: Connection, account_id: str, name: str) -> int:
    """The list and all its contacts."""
    conn.execute(delete(c).where(and_(c.c.account_id == account_id, c.c.list_name == name)))
    return conn.execute(delete(cl).where(and_(cl.c.account_id == account_id, cl.c.name == name))).rowcount


# --- contacts ---------------------------------------------------------------------------------


def _contact_where(account_id: str, list_name: str, email_key: str) -> Any:
    return and_(c.c.account_id == account_id, c.c.list_name == list_name, c.c.email_key == email_key)


def insert_contact(conn: Connection, row: Row) -> None:
    conn.execute(insert(c).values(**row))


def get_contact(conn: Connection, account_id: str, list_name: str, email_key: str) -> Row | None:
    return fetch_one(conn, select(c).where(_contact_where(account_id, list_name, email_key)))


def lock_contact(conn: Connection, account_id: str, list_name: str, email_key: str) -> Row | None:
    """get_contact for a read-modify-write of its topic preferences (UpdateContact, an unsubscribe
    link). On PostgreSQL the row stays locked (SELECT … FOR UPDATE) until the transaction ends, so
    of two writers (two nodes) the second reads what the first wrote instead of writing back the
    preferences it read before; SQLite's writers take turns already and SQLAlchemy leaves the
    clause out."""
    return fetch_one(conn, select(c).where(_contact_where(account_id, list_name, email_key)).with_for_update())


def get_contacts(conn: Connection, account_id: str, list_name: str, email_keys: list[str]) -> list[Row]:
    stmt = select(c).where(and_(c.c.account_id == account_id, c.c.list_name == list_name,
                                c.c.email_key.in_(email_keys)))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def list_contacts(conn: Connection, account_id: str, list_name: str) -> list[Row]:
    stmt = select(c).where(and_(c.c.account_id == account_id, c.c.list_name == list_name)).order_by(c.c.id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def update_contact(conn: Connection, account_id: str, list_name: str, email_key: str, **values: Any) -> int:
    return conn.execute(update(c).where(_contact_where(account_id, list_name, email_key)).values(**values)).rowcount


def delete_contact(conn: Connection, account_id: str, list_name: str, email_key: str) -> int:
    return conn.execute(delete(c).where(_contact_where(account_id, list_name, email_key))).rowcount


# --- unsubscribe links ------------------------------------------------------------------------


def insert_link(conn: Connection, row: Row) -> None:
    conn.execute(insert(u).values(**row))


def get_link(conn: Connection, token: str) -> Row | None:
    return fetch_one(conn, select(u).where(u.c.token == token))
