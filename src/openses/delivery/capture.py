"""Capture mode: the message stays in the database, where `openses messages` and the
development endpoints show it; it counts as delivered, as a real recipient would have got it."""

from __future__ import annotations

from typing import Any

from openses.delivery.outcome import Outcome, Verdict


class CaptureTransport:
    def __init__(self, hostname: str) -> None:
        self._hostname = hostname

    async def deliver(self, entry: dict[str, Any]) -> Outcome:
        return Outcome(Verdict.DELIVERED, "250 2.0.0 Ok: captured by openses", self._hostname)
