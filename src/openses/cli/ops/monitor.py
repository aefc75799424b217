"""`openses monitor`: quota use, bounce and complaint rates, account health and suppressed count
against thresholds, with an exit status for cron (0 fine, 2 a threshold crossed, 1 an error)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from openses.cli.ops import quota as quota_cmd
from openses.cli.ops import stats as stats_cmd
from openses.cli.ops.client import Connection, open_profile
from openses.cli.ops.options import ACCOUNT_OPTIONAL, CONFIG, EXIT_ALERT, JSON, guarded
from openses.cli.ops.verdicts import FAIL, INFO, OK, UNKNOWN, Finding, probe, show


@dataclass(frozen=True)
class Thresholds:
    """Percentages. SES reviews accounts at a 5 % bounce rate and a 0.1 % complaint rate."""

    bounce: float = 5.0
    complaint: float = 0.1
    quota: float = 80.0


def judge_rate(item: str, value: float, limit: float, attempts: int) -> Finding:
    detail = f"{value:.3f} % of {attempts} delivery attempts (threshold {limit:g} %)"
    if value >= limit:
        return Finding(item, FAIL, detail, "find the source: `openses suppressed`, clean the list, "
                       "check the sign-up flow; stop sending to old addresses")
    return Finding(item, OK, detail)


def judge_quota(quota: dict[str, Any], limit: float) -> Finding:
    used = quota_cmd.usage_percent(quota)
    if used is None:
        return Finding("quota use", OK, "no 24-hour limit")
    detail = f"{quota['SentLast24Hours']:g} of {quota['Max24HourSend']:g} in 24 h = {used:.1f} % " \
             f"(threshold {limit:g} %)"
    if used >= limit:
        return Finding("quota use", FAIL, detail, "slow down or ask for a higher sending quota")
    return Finding("quota use", OK, detail)


def judge_account(account: dict[str, Any] | None, why: str | None) -> Finding:
    if account is None:
        return Finding("account health", UNKNOWN, why or "")
    status = account.get("EnforcementStatus", "HEALTHY")
    enabled = account.get("SendingEnabled", True)
    if status != "HEALTHY" or not enabled:
        return Finding("account health", FAIL, f"enforcement {status}, sending {'on' if enabled else 'off'}",
                       "read the review notice; fix the cause and ask for reinstatement")
    return Finding("account health", OK, f"enforcement {status}, sending enabled")


def judge_suppressed(count: int | None, why: str | None) -> Finding:
    if count is None:
        return Finding("suppressed destinations", UNKNOWN, why or "")
    return Finding("suppressed destinations", INFO, f"{count} address(es) on the account's suppression list")


def findings(conn: Connection, limits: Thresholds) -> list[Finding]:
    quota = quota_cmd.read_quota(conn)
    sums = stats_cmd.totals(stats_cmd.read_points(conn))
    account, why_account = probe(lambda: conn.call("sesv2", "GetAccount"))
    suppressed, why_suppressed = probe(
        lambda: len(conn.collect("sesv2", "ListSuppressedDestinations", "SuppressedDestinationSummaries")))
    return [judge_quota(quota, limits.quota),
            judge_rate("bounce rate", sums.bounce_rate, limits.bounce, sums.delivery_attempts),
            judge_rate("complaint rate", sums.complaint_rate, limits.complaint, sums.delivery_attempts),
            judge_account(account, why_account), judge_suppressed(suppressed, why_suppressed)]


def monitor(account: str | None = ACCOUNT_OPTIONAL, config: Path | None = CONFIG, as_json: bool = JSON,
            bounce: float = typer.Option(5.0, "--bounce-threshold", help="Alert at this bounce rate (%)."),
            complaint: float = typer.Option(0.1, "--complaint-threshold", help="Alert at this complaint rate (%)."),
            quota: float = typer.Option(80.0, "--quota-threshold", help="Alert at this share of the 24-hour quota (%).")
            ) -> None:
    """Check quota use, bounce and complaint rates and account health; exit 2 when a threshold is crossed."""
    with guarded():
        conn = open_profile(account, config)
        found = findings(conn, Thresholds(bounce, complaint, quota))
    alert = any(f.verdict == FAIL for f in found)
    show(f"SES monitor: {conn.profile.name}", found, as_json=as_json,
         extra={"profile": conn.profile.name, "alert": alert})
    if alert:
        raise typer.Exit(EXIT_ALERT)


COMMANDS = {"monitor": monitor}
