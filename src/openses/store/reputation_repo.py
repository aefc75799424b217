"""SQL for per configuration set reputation counters."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from openses.store.tables_feedback import configuration_sets, reputation_state
from openses.store.tables_reputation import config_set_counts

Key = tuple[str, str, int, str]  # account id, configuration set, minute, event type


def add_config_set_counts(conn: Connection, counts: dict[Key, int]) -> None:
    t = config_set_counts
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for (account_id, name, minute, event_type), n in counts.items():
        stmt = ins(t).values(account_id=account_id, configuration_set=name, minute=minute,
                             event_type=event_type, recipients=n)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[t.c.account_id, t.c.configuration_set, t.c.minute, t.c.event_type],
            set_={"recipients": t.c.recipients + n}))


def config_set_counts_since(conn: Connection, account_id: str, name: str, minute: int) -> dict[str, int]:
    t = config_set_counts.c
    stmt = select(t.event_type, func.sum(t.recipients)).where(and_(
        t.account_id == account_id, t.configuration_set == name, t.minute >= minute)).group_by(t.event_type)
    return {r[0]: int(r[1]) for r in conn.execute(stmt)}


def delete_config_set_counts(conn: Connection, account_id: str, name: str) -> None:
    t = config_set_counts
    conn.execute(t.delete().where(and_(t.c.account_id == account_id, t.c.configuration_set == name)))


def reputation_enabled_sets(conn: Connection) -> list[tuple[str, str, float | None]]:
    """(account id, name, LastFreshStart) of every configuration set with ReputationMetricsEnabled."""
    t = configuration_sets.c
    out = []
    for account_id, name, options in conn.execute(select(t.account_id, t.name, t.options)):
        reputation = (options or {}).get("ReputationOptions") or {}
        if reputation.get("ReputationMetricsEnabled"):
            out.append((account_id, name, reputation.get("LastFreshStart")))
    return out


def account_reputations(conn: Connection) -> list[tuple[str, str, float, float]]:
    """(account id, status, bounce rate, complaint rate) as the reputation judge last saw them."""
    t = reputation_state.c
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(
        select(t.account_id, t.status, t.bounce_rate, t.complaint_rate))]
