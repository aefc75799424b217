"""Queries of the DKIM zone and of Easy DKIM key rotation: the keys openses's DNS responder
serves, a cheap fingerprint telling when they changed, and the replacement of one key slot.
Every function takes a Connection."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.engine import Connection

from openses.store.repositories import Row, fetch_all
from openses.store.tables_identities import dkim_keys

EASY_DKIM = "AWS_SES"


def served_keys(conn: Connection) -> list[Row]:
    """Every Easy DKIM public key, by selector (the token): what the DKIM zone publishes."""
    stmt = select(dkim_keys.c.selector, dkim_keys.c.algorithm, dkim_keys.c.public_key).where(
        dkim_keys.c.origin == EASY_DKIM)
    return fetch_all(conn, stmt)


def served_keys_fingerprint(conn: Connection) -> tuple[int, int]:
    """(count, highest id) of the Easy DKIM keys. Key rows are only ever inserted and deleted,
    never updated, so any change to the served set changes this pair."""
    stmt = select(func.count(dkim_keys.c.id), func.max(dkim_keys.c.id)).where(dkim_keys.c.origin == EASY_DKIM)
    count, highest = conn.execute(stmt).one()
    return int(count or 0), int(highest or 0)


def replace_slot(conn: Connection, account_id: str, domain: str, position: int, row: Row) -> None:
    """Put `row` in place of whatever key the domain had at `position`."""
    conn.execute(delete(dkim_keys).where(and_(dkim_keys.c.account_id == account_id, dkim_keys.c.domain == domain,
                                              dkim_keys.c.position == position)))
    conn.execute(insert(dkim_keys).values(**row))
