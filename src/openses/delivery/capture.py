"""Capture mode: the message stays in the database, where `openses messages` and the
development endpoints show it; it counts as delivered, as a real recipient would have got it."""

from __future__ import annotations

from openses.delivery.outcome import Outcome, Verdict
from openses.delivery.parcel import Parcel


class CaptureTransport:
    needs_data = False  # nothing leaves the machine: no DKIM signing, no message read

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname

    async def deliver(self, parcel: Parcel) -> Outcome:
        return Outcome(Verdict.DELIVERED, "250 2.0.0 Ok: captured by openses", self._hostname)

    async def close(self) -> None:
        return None
