"""Sending statistics: SES's GetSendStatistics, 15-minute points over the last two weeks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

BUCKET_SECONDS = 15 * 60
WINDOW_SECONDS = 14 * 24 * 3600

_COUNTED = {"Send": "delivery_attempts", "Bounce": "bounces", "Complaint": "complaints", "Reject": "rejects"}


@dataclass
class DataPoint:
    start: float
    delivery_attempts: int = 0
    bounces: int = 0
    complaints: int = 0
    rejects: int = 0


def send_data_points(events: Iterable[dict[str, Any]]) -> list[DataPoint]:
    """Group events (event_type, recipients, created_at) into 15-minute points, oldest first."""
    points: dict[int, DataPoint] = {}
    for e in events:
        field = _COUNTED.get(e["event_type"])
        if field is None:
            continue
        bucket = int(e["created_at"] // BUCKET_SECONDS) * BUCKET_SECONDS
        point = points.setdefault(bucket, DataPoint(float(bucket)))
        setattr(point, field, getattr(point, field) + max(1, int(e["recipients"])))
    return [points[k] for k in sorted(points)]
