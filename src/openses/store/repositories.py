"""Queries, one function per question or change. Every function takes a Connection.

Rows come back as plain dicts; the domain (core/) turns them into its values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from functools import lru_cache
from itertools import chain

import orjson
from sqlalchemy import JSON, Boolean, Integer, Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from openses.store.schema import access_keys, accounts, events, identities, messages, queue, send_counts

Row = dict[str, Any]


def fetch_one(conn: Connection, stmt: Any) -> Row | None:
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def fetch_all(conn: Connection, stmt: Any) -> list[Row]:
    return [dict(r) for r in conn.execute(stmt).mappings()]


# --- accounts -------------------------------------------------------------------------------


def insert_account(conn: Connection, row: Row) -> None:
    conn.execute(insert(accounts).values(**row))


def get_account(conn: Connection, account_id: str) -> Row | None:
    return fetch_one(conn, select(accounts).where(accounts.c.id == account_id))


def find_account(conn: Connection, id_or_name: str) -> Row | None:
    return fetch_one(conn, select(accounts).where(or_(accounts.c.id == id_or_name, accounts.c.name == id_or_name)))


def list_accounts(conn: Connection) -> list[Row]:
    return fetch_all(conn, select(accounts).order_by(accounts.c.created_at))


def update_account(conn: Connection, account_id: str, **values: Any) -> int:
    return conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values)).rowcount


# --- access keys ----------------------------------------------------------------------------


def insert_access_key(conn: Connection, row: Row) -> None:
    conn.execute(insert(access_keys).values(**row))


def get_access_key(conn: Connection, key_id: str) -> Row | None:
    return fetch_one(conn, select(access_keys).where(access_keys.c.id == key_id))


def list_access_keys(conn: Connection, account_id: str | None = None) -> list[Row]:
    stmt = select(access_keys).order_by(access_keys.c.created_at)
    if account_id is not None:
        stmt = stmt.where(access_keys.c.account_id == account_id)
    return fetch_all(conn, stmt)


def delete_access_key(conn: Connection, key_id: str) -> int:
    return conn.execute(delete(access_keys).where(access_keys.c.id == key_id)).rowcount


# --- identities -----------------------------------------------------------------------------


def upsert_identity(conn: Connection, row: Row) -> None:
    existing = get_identity(conn, row["account_id"], row["identity_key"])
    if existing is None:
        conn.execute(insert(identities).values(**row))
    else:
        values = {k: v for k, v in row.items() if k not in ("account_id", "identity_key", "created_at")}
        conn.execute(update(identities).where(identities.c.id == existing["id"]).values(**values))


def get_identity(conn: Connection, account_id: str, identity_key: str) -> Row | None:
    return fetch_one(conn, select(identities).where(
        and_(identities.c.account_id == account_id, identities.c.identity_key == identity_key)))


def list_identities(conn: Connection, account_id: str, kind: str | None = None) -> list[Row]:
    stmt = select(identities).where(identities.c.account_id == account_id).order_by(identities.c.id)
    if kind is not None:
        stmt = stmt.where(identities.c.kind == kind)
    return fetch_all(conn, stmt)


def verified_identity_keys(conn: Connection, account_id: str) -> list[str]:
    stmt = select(identities.c.identity_key).where(
        and_(identities.c.account_id == account_id, identities.c.status == "SUCCESS"))
    return [r[0] for r in conn.execute(stmt)]


def delete_identity(conn: Connection, account_id: str, identity_key: str) -> int:
    return conn.execute(delete(identities).where(
        and_(identities.c.account_id == account_id, identities.c.identity_key == identity_key))).rowcount


def claim_pending(conn: Connection, table: Table, now: float, lease_seconds: float, limit: int) -> list[Row]:
    """Due pending rows nobody holds, leased for `lease_seconds` (SKIP LOCKED on PostgreSQL), of
    an outbox-shaped table (id, status, next_attempt_at, lease_expires_at)."""
    c = table.c
    free = or_(c.lease_expires_at.is_(None), c.lease_expires_at < now)
    pick = select(c.id).where(and_(c.status == "pending", c.next_attempt_at <= now, free)) \
        .order_by(c.next_attempt_at).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = [r[0] for r in conn.execute(pick)]
    if not ids:
        return []
    conn.execute(update(table).where(c.id.in_(ids)).values(lease_expires_at=now + lease_seconds))
    return fetch_all(conn, select(table).where(c.id.in_(ids)).order_by(c.id))


# --- accepted mail: message + queue entries + Send event, in the caller's transaction ---------


def insert_accepted(conn: Connection, message_rows: Sequence[Row], queue_rows: Sequence[Row],
                    event_rows: Sequence[Row], counts: dict[tuple[str, int], int]) -> None:
    run_statements(conn, accepted_statements(conn.dialect.name, message_rows, queue_rows, event_rows, counts))


Statement = tuple[str, Any]  # SQL and its parameters: a tuple (execute) or a list of tuples (executemany)


def accepted_statements(dialect: str, message_rows: Sequence[Row], queue_rows: Sequence[Row],
                        event_rows: Sequence[Row], counts: dict[tuple[str, int], int]) -> list[Statement]:
    """The hot path's SQL, built before the transaction: plain DBAPI with JSON encoded once.

    SQLAlchemy's per-row parameter processing costs more than the insert itself at thousands of
    sends a second, so these statements bypass it. On SQLite each table's rows go in as one
    multi-row INSERT: executemany steps once per row and gives the GIL away and back each time,
    and under load every hand-back waits for the event loop (measured: a group commit's inserts
    took longer than its fsync)."""
    out: list[Statement] = []
    m = "?" if dialect == "sqlite" else "%s"  # the drivers: sqlite3 (qmark), psycopg (format)
    for table, rows in ((messages, message_rows), (queue, queue_rows), (events, event_rows)):
        if not rows:
            continue
        columns, _ = _insert_columns(table)
        values = table_values(table, rows)
        if dialect != "sqlite":
            out.append((_insert_sql(table, m, 1), [tuple(v) for v in values]))
            continue
        per_chunk = _SQLITE_MAX_PARAMETERS // len(columns)
        for start in range(0, len(values), per_chunk):
            chunk = values[start:start + per_chunk]
            out.append((_insert_sql(table, m, len(chunk)), tuple(chain.from_iterable(chunk))))
    if counts:
        out.append((_SEND_COUNT_SQL.format(m=m), [(a, minute, n) for (a, minute), n in counts.items()]))
    return out


def table_values(table: Table, rows: Sequence[Row]) -> list[list[Any]]:
    """Each row's values in _insert_columns order (defaults filled in), dicts and lists as JSON."""
    columns, defaults = _insert_columns(table)
    pairs = tuple(zip(columns, defaults))
    encode = _json_positions(table)
    values = []
    for r in rows:
        row = [r.get(c, d) for c, d in pairs]
        for i in encode:
            if isinstance(row[i], (dict, list)):
                row[i] = orjson.dumps(row[i], option=orjson.OPT_NON_STR_KEYS).decode()
        values.append(row)
    return values


# --- accepted mail in one SQLite statement ------------------------------------------------------
#
# Under load the writer thread shares the GIL with a busy event loop, and every SQLite call gives
# the GIL away (sqlite3 releases it around each step) and must wait to get it back, all while the
# writers' lock is held: measured, a batch's four INSERTs took 0.2 ms alone and 0.9 ms under load
# (21 ms against a thread that never blocks). So the writer sends a batch as one INSERT into a
# TEMP view whose INSTEAD OF trigger puts each row in its table, in autocommit mode: the inserts
# and the commit are one step, one wait for the GIL.

ACCEPTED_VIEW = "openses_accepted"
_KINDS = (("m", messages), ("q", queue), ("e", events))


@lru_cache(maxsize=1)
def _view_width() -> int:
    return max(len(_insert_columns(table)[0]) for _, table in _KINDS)


def accepted_view_ddl() -> str:
    """The TEMP view and its trigger (TEMP: each connection that uses them creates them)."""
    width = _view_width()
    nulls = ", ".join(f"NULL AS c{i}" for i in range(width))
    parts = [f"CREATE TEMP VIEW IF NOT EXISTS {ACCEPTED_VIEW} AS SELECT NULL AS kind, {nulls} WHERE 0;",
             f"CREATE TEMP TRIGGER IF NOT EXISTS {ACCEPTED_VIEW}_rows INSTEAD OF INSERT ON {ACCEPTED_VIEW} BEGIN"]
    for kind, table in _KINDS:
        columns, _ = _insert_columns(table)
        news = ", ".join(f"NEW.c{i}" for i in range(len(columns)))
        parts.append(f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {news} WHERE NEW.kind = '{kind}';")
    parts.append(f"{_SEND_COUNT_INSERT} SELECT NEW.c0, NEW.c1, NEW.c2 WHERE NEW.kind = 'c' {_SEND_COUNT_ADD};")
    parts.append("END;")
    return "\n".join(parts)


def accepted_view_rows(message_rows: Sequence[Row], queue_rows: Sequence[Row], event_rows: Sequence[Row],
                       counts: dict[tuple[str, int], int]) -> list[list[list[Any]]]:
    """The values of each kind of row (messages, queue, events, send counts) for the view."""
    return [table_values(messages, message_rows), table_values(queue, queue_rows),
            table_values(events, event_rows), [[a, minute, n] for (a, minute), n in counts.items()]]


def accepted_view_statement(rows: list[list[list[Any]]]) -> Statement | None:
    """One INSERT of every row into the view; None when it would pass SQLite's parameter limit."""
    shape = tuple(len(kind) for kind in rows)
    params = tuple(chain.from_iterable(chain.from_iterable(rows)))
    if not params or len(params) > _SQLITE_MAX_PARAMETERS:
        return None
    return _view_insert_sql(shape), params


@lru_cache(maxsize=128)
def _view_insert_sql(shape: tuple[int, ...]) -> str:
    width = _view_width()
    values = []
    for (kind, table), count in zip((*_KINDS, ("c", None)), shape):
        used = len(_insert_columns(table)[0]) if table is not None else 3
        row = f"('{kind}', {', '.join(['?'] * used + ['NULL'] * (width - used))})"
        values += [row] * count
    return f"INSERT INTO {ACCEPTED_VIEW} VALUES {', '.join(values)}"


def mark(conn: Connection) -> str:
    """The DBAPI parameter marker of the connection's driver."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def marks(conn: Connection, n: int) -> str:
    """`n` parameter markers, comma-separated: the inside of an IN (…) list."""
    return ", ".join([mark(conn)] * n)


def raw_rows(conn: Connection, table: Table, columns: Sequence[str], where: str, params: Sequence[Any],
             *, tail: str = "") -> list[Row]:
    """SELECT `columns` FROM `table` WHERE `where` in plain DBAPI, as dicts with JSON decoded and
    booleans as bool: the worker's and the events processor's reads of thousands of rows a
    second, where SQLAlchemy's result processing cost more than the query."""
    json_cols = [c for c in columns if isinstance(table.c[c].type, JSON)]
    bool_cols = [c for c in columns if isinstance(table.c[c].type, Boolean)]
    result = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {table.name} WHERE {where} {tail}",
                                  tuple(params))
    out = []
    for values in result:
        row = dict(zip(columns, values))
        for c in json_cols:
            if isinstance(row[c], (str, bytes)):  # SQLite's TEXT; psycopg decodes json itself
                row[c] = orjson.loads(row[c])
        for c in bool_cols:
            if row[c] is not None:
                row[c] = bool(row[c])
        out.append(row)
    return out


def run_statements(conn: Connection, statements: Sequence[Statement]) -> None:
    for sql, params in statements:
        conn.exec_driver_sql(sql, params)


_SQLITE_MAX_PARAMETERS = 32766  # SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32
# A recipient count adds to its minute's row, or makes it: the statement below and the trigger of
# the accepted-mail view (accepted_view_ddl) both end so.
_SEND_COUNT_INSERT = "INSERT INTO send_counts (account_id, minute, recipients)"
_SEND_COUNT_ADD = ("ON CONFLICT (account_id, minute) DO UPDATE SET recipients = "
                   "send_counts.recipients + excluded.recipients")
_SEND_COUNT_SQL = f"{_SEND_COUNT_INSERT} VALUES ({{m}}, {{m}}, {{m}}) {_SEND_COUNT_ADD}"


@lru_cache(maxsize=16)
def _insert_columns(table: Table) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Every column but an autoincrement key, and each column's scalar default."""
    cols = [c for c in table.columns if not (c.primary_key and c.autoincrement is True
                                             and isinstance(c.type, Integer))]
    return (tuple(c.name for c in cols),
            tuple(getattr(c.default, "arg", None) if c.default is not None and c.default.is_scalar else None
                  for c in cols))


@lru_cache(maxsize=16)
def _json_positions(table: Table) -> tuple[int, ...]:
    """Where the JSON columns are among _insert_columns: their dicts and lists go in as text."""
    columns, _ = _insert_columns(table)
    return tuple(i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON))


@lru_cache(maxsize=2048)
def _insert_sql(table: Table, mark: str, rows: int) -> str:
    columns, _ = _insert_columns(table)
    row = f"({', '.join([mark] * len(columns))})"
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([row] * rows)}"


def sent_since(conn: Connection, account_id: str, minute: int) -> int:
    stmt = select(func.coalesce(func.sum(send_counts.c.recipients), 0)).where(
        and_(send_counts.c.account_id == account_id, send_counts.c.minute >= minute))
    return int(conn.execute(stmt).scalar_one())


def sent_by_account_since(conn: Connection, minute: int) -> dict[str, list[tuple[int, int]]]:
    stmt = select(send_counts).where(send_counts.c.minute >= minute)
    out: dict[str, list[tuple[int, int]]] = {}
    for r in conn.execute(stmt).mappings():
        out.setdefault(r["account_id"], []).append((r["minute"], r["recipients"]))
    return out


def prune_send_counts(conn: Connection, before_minute: int) -> None:
    conn.execute(delete(send_counts).where(send_counts.c.minute < before_minute))


# --- messages -------------------------------------------------------------------------------


def get_message(conn: Connection, message_id: str, account_id: str | None = None) -> Row | None:
    stmt = select(messages).where(messages.c.id == message_id)
    if account_id is not None:
        stmt = stmt.where(messages.c.account_id == account_id)
    return fetch_one(conn, stmt)


def list_messages(conn: Connection, account_id: str | None = None, limit: int = 100,
                  with_raw: bool = False) -> list[Row]:
    cols = [c for c in messages.c if with_raw or c.name != "raw"]
    stmt = select(*cols).order_by(messages.c.created_at.desc()).limit(limit)
    if account_id is not None:
        stmt = stmt.where(messages.c.account_id == account_id)
    return fetch_all(conn, stmt)


def set_message_status(conn: Connection, message_id: str, status: str) -> None:
    conn.execute(update(messages).where(messages.c.id == message_id).values(status=status))


# --- queue ----------------------------------------------------------------------------------


def lease_due(conn: Connection, owner: str, now: float, lease_seconds: float, limit: int) -> list[Row]:
    """Take up to `limit` due entries nobody holds (or whose lease expired) for `owner`."""
    free = or_(queue.c.lease_expires_at.is_(None), queue.c.lease_expires_at < now)
    pick = select(queue.c.id).where(and_(queue.c.next_attempt_at <= now, free)) \
        .order_by(queue.c.next_attempt_at).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = [r[0] for r in conn.execute(pick)]
    if not ids:
        return []
    conn.execute(update(queue).where(and_(queue.c.id.in_(ids), free)).values(
        lease_owner=owner, lease_expires_at=now + lease_seconds))
    return raw_rows(conn, queue, tuple(c.name for c in queue.columns),
                    f"id IN ({marks(conn, len(ids))}) AND lease_owner = {mark(conn)}", [*ids, owner])


def complete_entry(conn: Connection, entry_id: int, owner: str) -> int:
    """Retire a delivered (or finally failed) entry; 0 if `owner` lost the lease meanwhile."""
    return conn.execute(delete(queue).where(and_(queue.c.id == entry_id, queue.c.lease_owner == owner))).rowcount


def retry_entry(conn: Connection, entry_id: int, owner: str, next_attempt_at: float) -> int:
    return conn.execute(update(queue).where(and_(queue.c.id == entry_id, queue.c.lease_owner == owner)).values(
        attempts=queue.c.attempts + 1, next_attempt_at=next_attempt_at,
        lease_owner=None, lease_expires_at=None)).rowcount


def queue_depth(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(queue)).scalar_one())


def remaining_entries(conn: Connection, message_id: str) -> int:
    return int(conn.execute(select(func.count()).select_from(queue).where(
        queue.c.message_id == message_id)).scalar_one())


# --- events ---------------------------------------------------------------------------------


def insert_events(conn: Connection, rows: Iterable[Row]) -> None:
    rows = list(rows)
    if rows:
        run_statements(conn, accepted_statements(conn.dialect.name, (), (), rows, {}))


def list_events(conn: Connection, account_id: str, since: float, types: Sequence[str] | None = None) -> list[Row]:
    stmt = select(events.c.event_type, events.c.recipients, events.c.created_at).where(
        and_(events.c.account_id == account_id, events.c.created_at >= since))
    if types:
        stmt = stmt.where(events.c.event_type.in_(list(types)))
    return fetch_all(conn, stmt)


def send_mail_objects(conn: Connection, message_ids: Sequence[str]) -> dict[str, tuple[float, Any]]:
    """For each message, (accepted at, SES mail object) from its Send event."""
    if not message_ids:
        return {}
    ids = list(message_ids)
    rows = raw_rows(conn, events, ("message_id", "created_at", "payload"),
                    f"message_id IN ({marks(conn, len(ids))}) AND event_type = 'Send'", ids)
    return {r["message_id"]: (r["created_at"], r["payload"]["mail"]) for r in rows}


def message_events(conn: Connection, message_id: str) -> list[Row]:
    return fetch_all(conn, select(events).where(events.c.message_id == message_id).order_by(events.c.id))


# --- development reset ----------------------------------------------------------------------


def forget_account_state(conn: Connection, account_id: str) -> None:
    """Everything an account did or set up (every table keyed by account), not the account or
    its keys: what development mode's reset promises."""
    from openses.store.schema import metadata

    for table in reversed(metadata.sorted_tables):
        if "account_id" in table.c and table.name not in ("accounts", "access_keys"):
            conn.execute(delete(table).where(table.c.account_id == account_id))


# --- read-modify-writes of an account ---------------------------------------------------------


def lock_account(conn: Connection, account_id: str) -> Row | None:
    """get_account for a read-modify-write (production access and its review status, which both the
    API and the operator's CLI change). On PostgreSQL the row stays locked (SELECT … FOR UPDATE)
    until the transaction ends, as identities_repo.lock_identity; SQLite's writers take turns."""
    return fetch_one(conn, select(accounts).where(accounts.c.id == account_id).with_for_update())
