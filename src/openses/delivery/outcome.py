"""The result of one delivery attempt, as a value (never an exception).

An attempt concerns one queue entry: one message to the recipients at one domain, in one SMTP
transaction. The remote server may answer each RCPT differently, so an Outcome carries an overall
verdict plus per-recipient verdicts where they differ (RFC 5321 §4.1.1.3: each RCPT has its reply).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    DELIVERED = "delivered"
    TEMPORARY = "temporary"  # retry later
    PERMANENT = "permanent"  # bounce


@dataclass(frozen=True)
class RecipientOutcome:
    address: str
    verdict: Verdict
    smtp_response: str


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    smtp_response: str
    reporting_mta: str
    remote_mta: str | None = None
    per_recipient: tuple[RecipientOutcome, ...] = ()

    def by_verdict(self, recipients: Iterable[str]) -> dict[Verdict, list[tuple[str, str]]]:
        """Each recipient's (address, reply), grouped by verdict; recipients without their own
        outcome share the overall one."""
        own = {r.address: r for r in self.per_recipient}
        groups: dict[Verdict, list[tuple[str, str]]] = {}
        for address in recipients:
            r = own.get(address)
            verdict, reply = (r.verdict, r.smtp_response) if r else (self.verdict, self.smtp_response)
            groups.setdefault(verdict, []).append((address, reply))
        return groups
