"""Queries of inbound feedback: the reports the bounce domain's MX received."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from openses.store.repositories import Row, fetch_all
from openses.store.schema import identities
from openses.store.tables_inbound import inbound_reports


def insert_report(conn: Connection, row: Row) -> int:
    return int(conn.execute(insert(inbound_reports).values(**row)).inserted_primary_key[0])


def outcome_counts(conn: Connection) -> dict[str, int]:
    """How many reports ended each way (recorded, unmatched, ignored, unparsable)."""
    stmt = select(inbound_reports.c.outcome, func.count()).group_by(inbound_reports.c.outcome)
    return {r[0]: int(r[1]) for r in conn.execute(stmt)}


def recent_reports(conn: Connection, limit: int = 50, outcome: str | None = None) -> list[dict[str, Any]]:
    """The latest reports, newest first, without their raw bytes."""
    cols = [c for c in inbound_reports.c if c.name != "raw"]
    stmt = select(*cols).order_by(inbound_reports.c.id.desc()).limit(limit)
    if outcome is not None:
        stmt = stmt.where(inbound_reports.c.outcome == outcome)
    return fetch_all(conn, stmt)


def custom_mail_from_domains(conn: Connection) -> frozenset[str]:
    """Every verified custom MAIL FROM domain: envelope senders live there too (delivery/prepare.py),
    so their MX, pointed at this server, receives the bounces. A scan of the identities' attributes,
    made once a minute by the inbound listener."""
    found = set()
    for (attributes,) in conn.execute(select(identities.c.attributes).where(identities.c.attributes.is_not(None))):
        mail_from = (attributes or {}).get("mail_from") or {}
        if mail_from.get("domain") and mail_from.get("status") == "SUCCESS":
            found.add(str(mail_from["domain"]).rstrip(".").lower())
    return frozenset(found)
