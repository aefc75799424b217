"""Reputation: rolling bounce and complaint rates per account, judged with SES's thresholds, and
per configuration set with ReputationMetricsEnabled (measured and reported, never judged: SES
leaves pausing a set to the user, e.g. an alarm that calls UpdateConfigurationSetSendingEnabled).

Bounce rate = hard bounces / recipients sent; complaint rate = complaints / recipients sent,
over the window (default 7 days, never before the account's last reinstatement), and only once
`min_volume` recipients were sent (SES judges on a representative volume). Mailbox simulator
and suppression-list bounces never count. SES's thresholds:
    bounce ≥ 5 % → PROBATION (under review),    ≥ 10 %  → SHUTDOWN (sending paused)
    complaint ≥ 0.1 % → PROBATION,              ≥ 0.5 % → SHUTDOWN
A paused account stays paused until the operator reinstates it (`openses admin account resume`),
which also starts a fresh window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from openses.store import feedback_repo as frepo
from openses.store import reputation_repo
from openses.store import repositories as repo

BOUNCE_REVIEW, BOUNCE_PAUSE = 0.05, 0.10
COMPLAINT_REVIEW, COMPLAINT_PAUSE = 0.001, 0.005


@dataclass(frozen=True)
class Rates:
    sent: int
    bounce_rate: float
    complaint_rate: float


@dataclass(frozen=True)
class Policy:
    min_volume: int = 1000
    window_seconds: float = 7 * 24 * 3600.0


def judge(rates: Rates, policy: Policy) -> str:
    """HEALTHY, PROBATION or SHUTDOWN for these rates (HEALTHY below the minimum volume)."""
    if rates.sent < policy.min_volume:
        return "HEALTHY"
    if rates.bounce_rate >= BOUNCE_PAUSE or rates.complaint_rate >= COMPLAINT_PAUSE:
        return "SHUTDOWN"
    if rates.bounce_rate >= BOUNCE_REVIEW or rates.complaint_rate >= COMPLAINT_REVIEW:
        return "PROBATION"
    return "HEALTHY"


def rates(conn: Connection, account_id: str, since: float) -> Rates:
    return _rates(frepo.counts_since(conn, account_id, math.ceil(since / 60)))  # whole minutes after `since`


def config_set_rates(conn: Connection, account_id: str, name: str, since: float) -> Rates:
    """The rates of the mail sent with one configuration set (SES's ReputationMetricsEnabled)."""
    return _rates(reputation_repo.config_set_counts_since(conn, account_id, name, math.ceil(since / 60)))


def config_set_reputation(conn: Connection, now: float, policy: Policy) -> list[tuple[str, str, Rates]]:
    """(account id, set, rates) of every set with reputation metrics on, since its LastFreshStart
    (when the set was given a fresh start) or the window, whichever is later."""
    return [(account_id, name, config_set_rates(conn, account_id, name,
                                                max(fresh_start or 0.0, now - policy.window_seconds)))
            for account_id, name, fresh_start in reputation_repo.reputation_enabled_sets(conn)]


def _rates(counts: dict[str, int]) -> Rates:
    sent = counts.get("Send", 0)
    if not sent:
        return Rates(0, 0.0, 0.0)
    return Rates(sent, counts.get("HardBounce", 0) / sent, counts.get("Complaint", 0) / sent)


def evaluate(conn: Connection, account_ids: Iterable[str], now: float, policy: Policy) -> set[str]:
    """Judge the accounts again; write and return those whose EnforcementStatus changed."""
    changed = set()
    for account_id in account_ids:
        account = repo.get_account(conn, account_id)
        if account is None:
            continue
        state = frepo.get_reputation(conn, account_id) or {"status": "HEALTHY", "window_start": 0.0}
        window_start = state["window_start"]
        if state["status"] == "SHUTDOWN" and account["enforcement_status"] != "SHUTDOWN":
            window_start = now  # the operator reinstated the account: judge afresh from now
        current = rates(conn, account_id, max(window_start, now - policy.window_seconds))
        status = judge(current, policy)
        if account["enforcement_status"] == "SHUTDOWN" and window_start == state["window_start"]:
            status = "SHUTDOWN"  # only the operator lifts a pause
        frepo.put_reputation(conn, {"account_id": account_id, "status": status, "window_start": window_start,
                                    "bounce_rate": current.bounce_rate, "complaint_rate": current.complaint_rate,
                                    "updated_at": now})
        if status != account["enforcement_status"]:
            repo.update_account(conn, account_id, enforcement_status=status)
            changed.add(account_id)
    return changed


def state(conn: Connection, account_id: str, now: float, policy: Policy) -> dict[str, float | str | int]:
    """What the operator sees: status and the current rates."""
    saved = frepo.get_reputation(conn, account_id) or {"status": "HEALTHY", "window_start": 0.0}
    current = rates(conn, account_id, max(saved["window_start"], now - policy.window_seconds))
    return {"status": saved["status"], "sent": current.sent, "bounce_rate": current.bounce_rate,
            "complaint_rate": current.complaint_rate, "window_start": saved["window_start"]}
