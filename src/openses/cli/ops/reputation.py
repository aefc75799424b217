"""`openses reputation`: enforcement status, sending switch, sandbox, and the two-week rates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openses.cli.ops import stats as stats_cmd
from openses.cli.ops.client import Connection, open_profile
from openses.cli.ops.options import ACCOUNT_OPTIONAL, CONFIG, JSON, guarded
from openses.cli.ops.verdicts import probe
from openses.cli.output import emit_json, fields


def read_reputation(conn: Connection) -> dict[str, Any]:
    account, why = probe(lambda: conn.call("sesv2", "GetAccount"))
    enabled, why_enabled = probe(lambda: conn.call("ses", "GetAccountSendingEnabled").get("Enabled"))
    sums = stats_cmd.totals(stats_cmd.read_points(conn))
    out: dict[str, Any] = {"BounceRate": round(sums.bounce_rate, 4), "ComplaintRate": round(sums.complaint_rate, 4),
                           "DeliveryAttempts": sums.delivery_attempts}
    if account is not None:
        out.update(EnforcementStatus=account.get("EnforcementStatus"),
                   ProductionAccessEnabled=account.get("ProductionAccessEnabled"),
                   SendingEnabled=account.get("SendingEnabled"),
                   SuppressedReasons=account.get("SuppressionAttributes", {}).get("SuppressedReasons", []))
    else:
        out["EnforcementStatus"] = f"unknown ({why})"
    if "SendingEnabled" not in out:
        out["SendingEnabled"] = enabled if enabled is not None else f"unknown ({why_enabled})"
    return out


def reputation(account: str | None = ACCOUNT_OPTIONAL, config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Show the account's reputation: enforcement status, sending, sandbox, bounce and complaint rates."""
    with guarded():
        conn = open_profile(account, config)
        data = read_reputation(conn)
    if as_json:
        emit_json(data)
        return
    view = dict(data)
    view["BounceRate"] = f"{data['BounceRate']:.2f} %"
    view["ComplaintRate"] = f"{data['ComplaintRate']:.3f} %"
    if "SuppressedReasons" in view:
        view["SuppressedReasons"] = ", ".join(view["SuppressedReasons"]) or "none (account-level suppression off)"
    fields(f"reputation: {conn.profile.name}", view)


COMMANDS = {"reputation": reputation}
