"""The feedback processor: reads every event once, in order, and acts on it.

Per event, in ONE transaction with the cursor move (so each event is handled exactly once, even
with several nodes — the cursor row is locked): add suppression entries for hard bounces and
complaints; count it for reputation and metrics; freeze a copy for each subscription of each
matching event destination into the outbox. The outbox sender (core/outbox.py) then POSTs them.

Event ids are assigned at insert; on PostgreSQL a transaction may commit after a later id was
seen, so the processor stops at a gap in ids and waits for it to fill — unless the gap is older
than GAP_PATIENCE seconds (a rolled-back insert leaves a gap forever).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from openses.core import identity_notifications, simulator, suppression, topics
from openses.core.configuration_sets import EVENT_TYPES
from openses.store import feedback_repo as frepo
from openses.store import reputation_repo

CURSOR = "events"
GAP_PATIENCE = 30.0


@dataclass
class Processed:
    events: int = 0
    accounts: set[str] = field(default_factory=set)
    outbox: int = 0
    suppressed: int = 0


def config_set_of(event: dict[str, Any]) -> str | None:
    names = event["payload"].get("mail", {}).get("tags", {}).get("ses:configuration-set") or []
    return names[0] if names else None


def _contiguous(rows: list[dict[str, Any]], after: int, now: float, gaps: dict[int, float]) -> list[dict[str, Any]]:
    """The rows up to the first gap in ids that is younger than GAP_PATIENCE."""
    out, expected = [], after + 1
    for row in rows:
        if row["id"] != expected:
            first_seen = gaps.setdefault(expected, now)
            if now - first_seen < GAP_PATIENCE:
                break
        out.append(row)
        expected = row["id"] + 1
    return out


def counts_of(event: dict[str, Any]) -> dict[str, int]:
    """What an event adds to the counters; the simulator's recipients count for nothing."""
    payload, kind = event["payload"], event["event_type"]
    if kind == "Send":
        n = sum(1 for r in payload["mail"].get("destination", []) if not simulator.is_simulator(r))
        return {"Send": n} if n else {}
    key = kind[0].lower() + kind[1:]
    listed = {"Bounce": "bouncedRecipients", "Complaint": "complainedRecipients", "Delivery": "recipients",
              "DeliveryDelay": "delayedRecipients"}.get(kind)
    if listed is None:
        return {kind: max(1, int(event.get("recipients") or 0))}
    recipients = payload.get(key, {}).get(listed, [])
    addresses = [r if isinstance(r, str) else r.get("emailAddress", "") for r in recipients]
    n = sum(1 for a in addresses if not simulator.is_simulator(a))
    out = {kind: n} if n else {}
    bounce = payload.get("bounce", {})
    if kind == "Bounce" and n and bounce.get("bounceType") == "Permanent" \
            and bounce.get("bounceSubType") != "OnAccountSuppressionList":
        out["HardBounce"] = n  # what the bounce rate counts
    return out


class FeedbackProcessor:
    def __init__(self, *, public_url: str, batch: int = 500, clock: Callable[[], float] = time.time) -> None:
        self._public_url = public_url
        self._batch = batch
        self._clock = clock
        self._gaps: dict[int, float] = {}

    def process(self, conn: Connection) -> Processed:
        """One pass, inside the caller's transaction."""
        now = self._clock()
        after = frepo.lock_cursor(conn, CURSOR, now)
        rows = _contiguous(frepo.events_after(conn, after, self._batch), after, now, self._gaps)
        done = Processed(len(rows))
        if not rows:
            return done
        self._suppress(conn, rows, now, done)
        self._count(conn, rows)
        self._fan_out(conn, rows, now, done)
        done.outbox += identity_notifications.publish(conn, rows, self._public_url, now)  # per-identity topics
        done.accounts = {r["account_id"] for r in rows}
        frepo.move_cursor(conn, CURSOR, rows[-1]["id"], now)
        self._gaps = {k: v for k, v in self._gaps.items() if k > rows[-1]["id"]}
        return done

    def _suppress(self, conn: Connection, rows: list[dict[str, Any]], now: float, done: Processed) -> None:
        reasons: dict[tuple[str, str | None], tuple[str, ...]] = {}
        for event in rows:
            if event["event_type"] not in ("Bounce", "Complaint"):
                continue
            key = (event["account_id"], config_set_of(event))
            if key not in reasons:
                reasons[key] = _reasons(conn, *key)
            for entry in suppression.feedback_entries(event, reasons[key], now):
                frepo.put_suppressed(conn, entry)
                done.suppressed += 1

    def _count(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Per account, and per configuration set for its reputation metrics."""
        counts: dict[tuple[str, int, str], int] = {}
        by_set: dict[tuple[str, str, int, str], int] = {}
        for event in rows:
            minute, name = int(event["created_at"] // 60), config_set_of(event)
            for kind, n in counts_of(event).items():
                key = (event["account_id"], minute, kind)
                counts[key] = counts.get(key, 0) + n
                if name:
                    set_key = (event["account_id"], name, minute, kind)
                    by_set[set_key] = by_set.get(set_key, 0) + n
        frepo.add_counts(conn, counts)
        reputation_repo.add_config_set_counts(conn, by_set)

    def _fan_out(self, conn: Connection, rows: list[dict[str, Any]], now: float, done: Processed) -> None:
        pairs = {(r["account_id"], cs) for r in rows if (cs := config_set_of(r))}
        dests: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for d in frepo.destinations_of(conn, pairs):
            dests.setdefault((d["account_id"], d["configuration_set"]), []).append(d)
        arns = {d["destination"]["SnsDestination"]["TopicArn"] for ds in dests.values() for d in ds}
        subs: dict[str, list[dict[str, Any]]] = {}
        for s in frepo.list_subscriptions(conn, sorted(arns), confirmed_only=True) if arns else []:
            subs.setdefault(s["topic_arn"], []).append(s)
        out = []
        for event in rows:
            for d in dests.get((event["account_id"], config_set_of(event) or ""), []):
                if EVENT_TYPES.get(event["event_type"]) not in d["event_types"]:
                    continue
                for s in subs.get(d["destination"]["SnsDestination"]["TopicArn"], []):
                    body = topics.notification_body(s, event["payload"], self._public_url, now)
                    out.append(topics.outbox_row(s["id"], "Notification", body, now, event["id"]))
        frepo.insert_outbox(conn, out)
        done.outbox += len(out)


def _reasons(conn: Connection, account_id: str, config_set: str | None) -> tuple[str, ...]:
    """Suppression reasons for a message: its configuration set's override, else the account's."""
    if config_set:
        row = frepo.get_configuration_set(conn, account_id, config_set)
        override = (row or {}).get("options", {}).get("SuppressionOptions")
        if override is not None:
            return tuple(override.get("SuppressedReasons") or ())
    return tuple(frepo.get_settings(conn, account_id).get("SuppressedReasons", suppression.DEFAULT_REASONS))
