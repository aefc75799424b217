"""Queries of the identities domain: identity rows and attributes, DKIM keys, identity policies,
verification links and custom verification templates. Every function takes a Connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from openses.store.schema import identities
from openses.store.tables_identities import dkim_keys, identity_policies, verification_links, verification_templates

from openses.store.repositories import Row, fetch_all, fetch_one  # noqa: E402  (the shared row helpers)


def _identity(account_id: str, key: str) -> Any:
    return and_(identities.c.account_id == account_id, identities.c.identity_key == key)


# --- identity rows ----------------------------------------------------------------------------


def get_identity(conn: Connection, account_id: str, key: str) -> Row | None:
    return fetch_one(conn, select(identities).where(_identity(account_id, key)))


def lock_identity(conn: Connection, account_id: str, key: str) -> Row | None:
    """get_identity for a read-modify-write. On PostgreSQL the row stays locked (SELECT … FOR
    UPDATE) until the transaction ends, so of two writers (two nodes, or the CLI and a server)
    the second reads what the first wrote instead of overwriting it with what it read before;
    SQLite has one writer at a time already (writer.py) and SQLAlchemy leaves the clause out."""
    return fetch_one(conn, select(identities).where(_identity(account_id, key)).with_for_update())


def insert_identity(conn: Connection, row: Row) -> None:
    conn.execute(insert(identities).values(**row))


def update_identity(conn: Connection, account_id: str, key: str, **values: Any) -> int:
    return conn.execute(update(identities).where(_identity(account_id, key)).values(**values)).rowcount


def set_identity_status(conn: Connection, row: Row) -> Row:
    """Insert `row`, or change only the status of the existing identity (its attributes stay)."""
    existing = get_identity(conn, row["account_id"], row["identity_key"])
    if existing is None:
        insert_identity(conn, row)
        return row
    update_identity(conn, row["account_id"], row["identity_key"], status=row["status"],
                    updated_at=row["updated_at"])
    return dict(existing, status=row["status"], updated_at=row["updated_at"])


def identities_to_check(conn: Connection, kinds: tuple[str, ...]) -> list[Row]:
    """Every identity of these kinds, across accounts: the scheduler's work list."""
    return fetch_all(conn, select(identities).where(identities.c.kind.in_(kinds)).order_by(identities.c.id))


def delete_identity_everything(conn: Connection, account_id: str, key: str) -> int:
    """The identity and what hangs off it: keys, policies, pending links."""
    conn.execute(delete(dkim_keys).where(and_(dkim_keys.c.account_id == account_id, dkim_keys.c.domain == key)))
    conn.execute(delete(identity_policies).where(and_(identity_policies.c.account_id == account_id,
                                                      identity_policies.c.identity_key == key)))
    conn.execute(delete(verification_links).where(and_(verification_links.c.account_id == account_id,
                                                       verification_links.c.identity_key == key)))
    return conn.execute(delete(identities).where(_identity(account_id, key))).rowcount


def find_identity_any_account(conn: Connection, key: str) -> list[Row]:
    return fetch_all(conn, select(identities).where(identities.c.identity_key == key))


# --- DKIM keys --------------------------------------------------------------------------------


def replace_dkim_keys(conn: Connection, account_id: str, domain: str, rows: list[Row]) -> None:
    conn.execute(delete(dkim_keys).where(and_(dkim_keys.c.account_id == account_id, dkim_keys.c.domain == domain)))
    if rows:
        conn.execute(insert(dkim_keys), rows)


def list_dkim_keys(conn: Connection, account_id: str, domain: str) -> list[Row]:
    return fetch_all(conn, select(dkim_keys).where(
        and_(dkim_keys.c.account_id == account_id, dkim_keys.c.domain == domain)).order_by(dkim_keys.c.position))


def dkim_key_by_selector(conn: Connection, selector: str) -> Row | None:
    """The key published under `selector` (Easy DKIM selectors are unique tokens)."""
    return fetch_one(conn, select(dkim_keys).where(dkim_keys.c.selector == selector).limit(1))


# --- identity policies ------------------------------------------------------------------------


def put_policy(conn: Connection, account_id: str, key: str, name: str, document: str, now: float) -> None:
    where = and_(identity_policies.c.account_id == account_id, identity_policies.c.identity_key == key,
                 identity_policies.c.name == name)
    if conn.execute(update(identity_policies).where(where).values(document=document, updated_at=now)).rowcount:
        return
    conn.execute(insert(identity_policies).values(account_id=account_id, identity_key=key, name=name,
                                                  document=document, updated_at=now))


def list_policies(conn: Connection, account_id: str, key: str) -> dict[str, str]:
    stmt = select(identity_policies.c.name, identity_policies.c.document).where(
        and_(identity_policies.c.account_id == account_id, identity_policies.c.identity_key == key)
    ).order_by(identity_policies.c.name)
    return {r[0]: r[1] for r in conn.execute(stmt)}


def delete_policy(conn: Connection, account_id: str, key: str, name: str) -> int:
    return conn.execute(delete(identity_policies).where(and_(
        identity_policies.c.account_id == account_id, identity_policies.c.identity_key == key,
        identity_policies.c.name == name))).rowcount


# --- verification links -----------------------------------------------------------------------


def insert_link(conn: Connection, row: Row) -> None:
    conn.execute(insert(verification_links).values(**row))


def take_link(conn: Connection, token_hash: str) -> Row | None:
    """The link, removed: a link verifies once."""
    row = fetch_one(conn, select(verification_links).where(verification_links.c.token_hash == token_hash))
    if row is not None:
        conn.execute(delete(verification_links).where(verification_links.c.token_hash == token_hash))
    return row


def prune_links(conn: Connection, before: float) -> int:
    return conn.execute(delete(verification_links).where(verification_links.c.expires_at < before)).rowcount


# --- custom verification email templates ------------------------------------------------------


def _template(account_id: str, name: str) -> Any:
    return and_(verification_templates.c.account_id == account_id, verification_templates.c.name == name)


def insert_template(conn: Connection, row: Row) -> None:
    conn.execute(insert(verification_templates).values(**row))


def get_template(conn: Connection, account_id: str, name: str) -> Row | None:
    return fetch_one(conn, select(verification_templates).where(_template(account_id, name)))


def update_template(conn: Connection, account_id: str, name: str, **values: Any) -> int:
    return conn.execute(update(verification_templates).where(_template(account_id, name)).values(**values)).rowcount


def delete_template(conn: Connection, account_id: str, name: str) -> int:
    return conn.execute(delete(verification_templates).where(_template(account_id, name))).rowcount


def list_templates(conn: Connection, account_id: str) -> list[Row]:
    return fetch_all(conn, select(verification_templates).where(
        verification_templates.c.account_id == account_id).order_by(verification_templates.c.name))
