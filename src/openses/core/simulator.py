"""The mailbox simulator: addresses at simulator.amazonses.com give SES's outcomes without any
mail leaving the machine, and count neither against the quota nor against reputation.

    success@          → Delivery
    bounce@           → Bounce, Permanent/General, 5.1.1 (the address is not suppressed)
    ooto@             → Delivery, and an out-of-office auto-reply mailed to the sender
                        (core/identity_notifications.py queues it, core/feedback_forwarding.py sends it)
    complaint@        → Delivery, then Complaint (ARF feedback type "abuse")
    suppressionlist@  → Bounce, Permanent/OnAccountSuppressionList
A "+label" before the @ is ignored (success+signup@…); other local parts behave like success@.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from openses.core import events as ev

DOMAIN = "simulator.amazonses.com"
REPORTING_MTA = "simulator.openses.local"
DELIVERED_REPLY = "250 2.6.0 Message received"
BOUNCE_REPLY = "smtp; 550 5.1.1 user unknown"


@dataclass(frozen=True)
class Simulated:
    """What the simulator does with one recipient."""

    delivered: bool
    bounce_sub_type: str | None = None  # General | OnAccountSuppressionList
    complaint: bool = False


def is_simulator(address: str) -> bool:
    return address.rpartition("@")[2].lower() == DOMAIN


def out_of_office(addresses: list[str]) -> list[str]:
    """The ooto@ addresses among these (a +label allowed): each answers with an auto-reply."""
    return [a for a in addresses if is_simulator(a) and a.rpartition("@")[0].split("+", 1)[0].lower() == "ooto"]


def simulate(address: str) -> Simulated:
    """The outcome for a simulator address (the local part before any +label decides)."""
    local = address.rpartition("@")[0].split("+", 1)[0].lower()
    if local == "bounce":
        return Simulated(False, "General")
    if local == "suppressionlist":
        return Simulated(False, "OnAccountSuppressionList")
    return Simulated(True, complaint=local == "complaint")


def feedback_id(now: float) -> str:
    return f"0100{int(now * 1000):012x}-{uuid.uuid4()}-000000"


def simulated_events(mail: dict[str, Any], sent_at: float, recipients: list[str], now: float) -> list[dict[str, Any]]:
    """The events SES records for these simulator recipients, in the order SES sends them."""
    outcomes = {r: simulate(r) for r in recipients}
    rows: list[dict[str, Any]] = []
    delivered = [r for r, o in outcomes.items() if o.delivered]
    if delivered:
        rows.append(ev.delivery_event(mail, sent_at, delivered, at=now, smtp_response=DELIVERED_REPLY,
                                      reporting_mta=REPORTING_MTA))
    hard = [r for r, o in outcomes.items() if o.bounce_sub_type == "General"]
    if hard:
        bounced = [{"emailAddress": r, "action": "failed", "status": "5.1.1", "diagnosticCode": BOUNCE_REPLY}
                   for r in hard]
        rows.append(ev.bounce_event(mail, bounced, at=now, bounce_type="Permanent", bounce_sub_type="General",
                                    feedback_id=feedback_id(now), reporting_mta=REPORTING_MTA))
    listed = [r for r, o in outcomes.items() if o.bounce_sub_type == "OnAccountSuppressionList"]
    if listed:
        rows.append(ev.suppression_bounce_event(mail, listed, at=now, feedback_id=feedback_id(now)))
    complained = [r for r, o in outcomes.items() if o.complaint]
    if complained:
        rows.append(ev.complaint_event(mail, complained, at=now, feedback_id=feedback_id(now),
                                       user_agent="Amazon SES Mailbox Simulator", arrival=sent_at))
    return rows
