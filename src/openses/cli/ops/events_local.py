"""Recent events of one address, read from the openses database when this machine has it.

The SES API has no call listing the events of a recipient (Amazon SES publishes them to
configuration-set destinations instead), so `debug` reads them from openses's own store when the
profile targets an openses server whose database this machine can open: the profile's
`database_url`, or $OPENSES_DATABASE_URL / the openses settings of this environment.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from openses.cli.ops.client import Connection

SCAN_LIMIT = 5000  # newest events looked through; enough for a debugging session


def _database_url(conn: Connection) -> str | None:
    url = conn.profile.extra.get("database_url") or os.environ.get("OPENSES_DATABASE_URL")
    return str(url) if url else None


def _concerns(payload: dict[str, Any], address: str) -> bool:
    mail = payload.get("mail", {})
    return address in (a.lower() for a in mail.get("destination", [])) or \
        address == str(mail.get("source", "")).lower()


def _detail(event_type: str, payload: dict[str, Any], address: str) -> str:
    """The remote reply or reason, as SES's event JSON records it."""
    body = payload.get(event_type[0].lower() + event_type[1:], {})
    if event_type == "Delivery":
        return str(body.get("smtpResponse", ""))
    if event_type == "Bounce":
        hits = [r for r in body.get("bouncedRecipients", []) if r.get("emailAddress", "").lower() == address]
        reply = hits[0].get("diagnosticCode", "") if hits else ""
        return f"{body.get('bounceType', '')}/{body.get('bounceSubType', '')} {reply}".strip()
    if event_type == "DeliveryDelay":
        hits = body.get("delayedRecipients", [])
        return f"{body.get('delayType', '')} {hits[0].get('diagnosticCode', '') if hits else ''}".strip()
    if event_type == "Reject":
        return str(body.get("reason", ""))
    if event_type == "Complaint":
        return str(body.get("complaintFeedbackType", ""))
    return ""


def recent(conn: Connection, address: str, days: float) -> tuple[list[dict[str, Any]], str | None]:
    """(events, None), or ([], why they cannot be read here)."""
    if not conn.profile.endpoint_url:
        return [], ("Amazon SES has no API listing an address's events: publish events to a "
                    "configuration-set destination and look there")
    url = _database_url(conn)
    if url is None:
        return [], "no openses database here (set database_url in the profile or OPENSES_DATABASE_URL)"
    account_id = conn.call("sts", "GetCallerIdentity")["Account"]
    try:
        rows = _read(url, account_id, time.time() - days * 86400)
    except SQLAlchemyError as e:
        return [], f"cannot read the openses database: {type(e).__name__}: {e.args[0] if e.args else ''}"
    address = address.lower()
    return [{"time": r["created_at"], "type": r["event_type"], "message_id": r["message_id"],
             "detail": _detail(r["event_type"], r["payload"], address)}
            for r in rows if _concerns(r["payload"] or {}, address)], None


def _read(url: str, account_id: str, since: float) -> list[dict[str, Any]]:
    from openses.store import ops_repo
    from openses.store.store import Store

    store = Store.open(url)
    try:
        return store.read_sync(lambda c: ops_repo.recent_events(c, account_id, since, SCAN_LIMIT))
    finally:
        store.close()
