"""`openses stats`: sending statistics of the last two weeks (SES v1 GetSendStatistics)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from openses.cli.ops.client import Connection, open_profile
from openses.cli.ops.options import ACCOUNT_OPTIONAL, CONFIG, JSON, guarded
from openses.cli.output import emit_json, fields, table


@dataclass(frozen=True)
class Totals:
    delivery_attempts: int
    bounces: int
    complaints: int
    rejects: int

    @property
    def bounce_rate(self) -> float:
        """Percent of delivery attempts that bounced (0 when nothing was sent)."""
        return 100.0 * self.bounces / self.delivery_attempts if self.delivery_attempts else 0.0

    @property
    def complaint_rate(self) -> float:
        return 100.0 * self.complaints / self.delivery_attempts if self.delivery_attempts else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"DeliveryAttempts": self.delivery_attempts, "Bounces": self.bounces,
                "Complaints": self.complaints, "Rejects": self.rejects,
                "BounceRate": round(self.bounce_rate, 4), "ComplaintRate": round(self.complaint_rate, 4)}


def totals(points: list[dict[str, Any]]) -> Totals:
    return Totals(*(sum(int(p.get(k, 0)) for p in points)
                    for k in ("DeliveryAttempts", "Bounces", "Complaints", "Rejects")))


def read_points(conn: Connection) -> list[dict[str, Any]]:
    points = conn.call("ses", "GetSendStatistics").get("SendDataPoints", [])
    return sorted(points, key=lambda p: p["Timestamp"])


def stats(account: str | None = ACCOUNT_OPTIONAL, config: Path | None = CONFIG, as_json: bool = JSON,
          points: bool = typer.Option(False, "--points", help="Also list the 15-minute data points.")) -> None:
    """Show delivery attempts, bounces, complaints and rejects of the last two weeks, with rates."""
    with guarded():
        conn = open_profile(account, config)
        data = read_points(conn)
    sums = totals(data)
    if as_json:
        emit_json(dict(sums.as_json(), SendDataPoints=[dict(p, Timestamp=p["Timestamp"].isoformat())
                                                        for p in data]))
        return
    fields(f"sending statistics, last 2 weeks: {conn.profile.name}", {
        "delivery attempts": sums.delivery_attempts, "bounces": sums.bounces, "complaints": sums.complaints,
        "rejects": sums.rejects, "bounce rate": f"{sums.bounce_rate:.2f} %",
        "complaint rate": f"{sums.complaint_rate:.3f} %", "data points": len(data)})
    if points:
        table("data points", ["time", "attempts", "bounces", "complaints", "rejects"],
              [(p["Timestamp"].isoformat(), p.get("DeliveryAttempts", 0), p.get("Bounces", 0),
                p.get("Complaints", 0), p.get("Rejects", 0)) for p in data])


COMMANDS = {"stats": stats}
