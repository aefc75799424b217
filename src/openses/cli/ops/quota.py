"""`openses quota`: the account's sending quota (SES v1 GetSendQuota)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openses.cli.ops.client import Connection, open_profile
from openses.cli.ops.options import ACCOUNT_OPTIONAL, CONFIG, JSON, guarded
from openses.cli.output import emit_json, fields


def usage_percent(quota: dict[str, Any]) -> float | None:
    """SentLast24Hours over Max24HourSend in percent; None when unlimited (-1) or zero."""
    limit = float(quota.get("Max24HourSend", 0))
    if limit <= 0:
        return None
    return 100.0 * float(quota.get("SentLast24Hours", 0)) / limit


def read_quota(conn: Connection) -> dict[str, Any]:
    quota = conn.call("ses", "GetSendQuota")
    return {"Max24HourSend": quota.get("Max24HourSend", 0.0), "MaxSendRate": quota.get("MaxSendRate", 0.0),
            "SentLast24Hours": quota.get("SentLast24Hours", 0.0), "UsagePercent": usage_percent(quota)}


def quota(account: str | None = ACCOUNT_OPTIONAL, config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Show the sending quota: 24-hour limit, sent in the last 24 hours, maximum send rate."""
    with guarded():
        conn = open_profile(account, config)
        data = read_quota(conn)
    if as_json:
        emit_json(data)
        return
    used = data["UsagePercent"]
    fields(f"sending quota: {conn.profile.name}", {
        "24-hour limit": f"{data['Max24HourSend']:g}", "sent last 24 hours": f"{data['SentLast24Hours']:g}",
        "used": "unlimited" if used is None else f"{used:.1f} %",
        "maximum send rate": f"{data['MaxSendRate']:g} messages/second"})


COMMANDS = {"quota": quota}
