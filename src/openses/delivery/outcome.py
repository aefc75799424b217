"""The result of one delivery attempt, as a value (never an exception)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    DELIVERED = "delivered"
    TEMPORARY = "temporary"  # retry later
    PERMANENT = "permanent"  # bounce


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    smtp_response: str
    reporting_mta: str
