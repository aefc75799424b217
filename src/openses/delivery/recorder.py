"""What an attempt's Outcome changes in the store: the queue entry (retired, or rescheduled for
the recipients still to try) and the SES events (Delivery, Bounce, DeliveryDelay), in one
transaction. Nothing is written when the lease was lost: the worker that holds it records.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openses.core.events import bounce_event, delivery_delay_event, delivery_event
from openses.delivery import bounce
from openses.delivery.outcome import Outcome, Verdict
from openses.delivery.retry import RetryPolicy
from openses.store import delivery_repo as drepo
from openses.store import repositories as repo

Pairs = list[tuple[str, str]]  # (address, reply)


def feedback_id(now: float) -> str:
    """SES's feedbackId shape: like a MessageId (0100 + epoch ms in hex, a UUID, 000000)."""
    return f"0100{int(now * 1000):012x}-{uuid.uuid4()}-000000"


@dataclass
class Recorder:
    owner: str
    retry: RetryPolicy
    rand: Callable[[], float] = random.random

    def record(self, conn: Any, entry: dict[str, Any], outcome: Outcome, mail: tuple[float, Any] | None,
               now: float) -> bool:
        """Apply one attempt; False when the lease was lost and nothing was written."""
        groups = outcome.by_verdict(entry["recipients"])
        later = groups.get(Verdict.TEMPORARY, [])
        retry_at = self.retry.next_attempt(attempts=entry["attempts"] + 1, now=now,
                                           accepted_at=entry["created_at"], rand=self.rand,
                                           deliver_by=entry.get("deliver_by")) if later else None
        if retry_at is not None:
            if not drepo.reschedule(conn, entry["id"], self.owner, retry_at, [a for a, _ in later]):
                return False
        elif not repo.complete_entry(conn, entry["id"], self.owner):
            return False
        if mail is not None:
            rows = self._events(entry, outcome, groups, mail, now, expired=retry_at is None)
            repo.insert_events(conn, rows)
        if retry_at is None and not repo.remaining_entries(conn, entry["message_id"]):
            repo.set_message_status(conn, entry["message_id"], _final_status(drepo.event_counts(conn, entry["message_id"])))
        return True

    def record_many(self, conn: Any, items: list[Attempt]) -> None:
        """Apply many attempts in one go: the fully delivered ones with a handful of statements
        for the whole batch (capture mode delivers thousands a second), the rest one by one."""
        simple = [i for i in items if i.mail is not None and _all_delivered(i.entry, i.outcome)]
        for i in items:
            if not (i.mail is not None and _all_delivered(i.entry, i.outcome)):
                self.record(conn, i.entry, i.outcome, i.mail, i.now)
        if not simple:
            return
        held = drepo.complete_entries(conn, [i.entry["id"] for i in simple], self.owner)
        done = [i for i in simple if i.entry["id"] in held]
        repo.insert_events(conn, [row for i in done for row in self._events(
            i.entry, i.outcome, i.outcome.by_verdict(i.entry["recipients"]), i.mail, i.now, expired=False)])
        finished = {i.entry["message_id"] for i in done}
        finished -= drepo.messages_with_entries(conn, list(finished))
        if finished:
            counts = drepo.event_counts_many(conn, list(finished))
            drepo.set_statuses(conn, {m: _final_status(counts.get(m, {})) for m in finished})

    def _events(self, entry: dict[str, Any], outcome: Outcome, groups: dict[Verdict, Pairs],
                mail: tuple[float, Any], now: float, *, expired: bool) -> list[dict[str, Any]]:
        sent_at, mail_json = mail
        rows = []
        delivered = groups.get(Verdict.DELIVERED, [])
        if delivered:
            rows.append(delivery_event(mail_json, sent_at, [a for a, _ in delivered], at=now,
                                       smtp_response=delivered[0][1], reporting_mta=outcome.reporting_mta))
        rows += self._bounces(mail_json, groups.get(Verdict.PERMANENT, []), now, outcome.reporting_mta)
        later = groups.get(Verdict.TEMPORARY, [])
        if later and expired:
            rows += self._expired(mail_json, later, now, outcome.reporting_mta)
        elif later:
            kind = bounce.classify(later[0][1]).delay_type or "Undetermined"
            rows.append(delivery_delay_event(
                mail_json, [_recipient(a, r, bounce.parse_reply(r).status) for a, r in later], at=now,
                delay_type=kind, expires_at=self.retry.expires_at(entry["created_at"], entry.get("deliver_by")),
                reporting_mta=outcome.reporting_mta))
        return rows

    def _bounces(self, mail: Any, refused: Pairs, now: float, mta: str) -> list[dict[str, Any]]:
        kinds: dict[tuple[str, str], list[dict[str, str]]] = {}
        for address, reply in refused:
            c = bounce.classify(reply)
            key = (c.bounce_type or "Permanent", c.bounce_sub_type or "General")
            kinds.setdefault(key, []).append(_recipient(address, reply, c.status, action="failed"))
        return [bounce_event(mail, rs, at=now, bounce_type=t, bounce_sub_type=s, feedback_id=feedback_id(now),
                             reporting_mta=mta) for (t, s), rs in kinds.items()]

    def _expired(self, mail: Any, later: Pairs, now: float, mta: str) -> list[dict[str, Any]]:
        c = bounce.exhausted(bounce.classify(later[0][1]).delay_type)
        rs = [_recipient(a, r, bounce.parse_reply(r).status, action="failed") for a, r in later]
        return [bounce_event(mail, rs, at=now, bounce_type=c.bounce_type or "Transient",
                             bounce_sub_type=c.bounce_sub_type or "General", feedback_id=feedback_id(now),
                             reporting_mta=mta)]


@dataclass(frozen=True)
class Attempt:
    """One finished attempt waiting to be recorded."""

    entry: dict[str, Any]
    outcome: Outcome
    mail: tuple[float, Any] | None
    now: float


def _all_delivered(entry: dict[str, Any], outcome: Outcome) -> bool:
    groups = outcome.by_verdict(entry["recipients"])
    return set(groups) == {Verdict.DELIVERED}


def _recipient(address: str, reply: str, status: str, action: str | None = None) -> dict[str, str]:
    out = {"emailAddress": address}
    if action:
        out["action"] = action
    out.update({"status": status, "diagnosticCode": bounce.diagnostic_code(reply)})
    return out


def _final_status(counts: dict[str, int]) -> str:
    if not counts.get("Bounce"):
        return "delivered"
    return "partial" if counts.get("Delivery") else "bounced"
