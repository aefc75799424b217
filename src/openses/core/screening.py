"""What the send path asks of the feedback loop, in two steps.

`admission` (before the quota is taken): which configuration set applies — the one named, else
the sending identity's default, else the account's — and whether it may send; plus the account's
suppression list and reasons, all from memory. `screen` (when the rows are built): simulator
recipients get their events at once, suppressed recipients a suppression Bounce; only the rest
are queued for delivery. Both are O(1) per recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openses.core import configuration_sets as csets
from openses.core import simulator
from openses.core.addresses import domain_of, identity_key
from openses.core.directory import Directory
from openses.core.events import suppression_bounce_event
from openses.core.suppression import SuppressionCache, address_key
from openses.errors import ConfigurationSetSendingPausedException
from openses.store.store import Store


@dataclass
class SendFeedback:
    config_set: csets.ConfigSet | None
    suppressed: dict[str, str]  # address key → reason
    reasons: tuple[str, ...]  # reasons that block a send (the set's override, else the account's)

    @property
    def config_set_name(self) -> str | None:
        return self.config_set.name if self.config_set else None


@dataclass
class Screened:
    deliver: tuple[str, ...]  # recipients to queue
    events: list[dict[str, Any]]  # events made now (simulator outcomes, suppression bounces)


def counted(recipients: tuple[str, ...]) -> int:
    """Recipients that count against the quota: the simulator's do not."""
    return sum(1 for r in recipients if not simulator.is_simulator(r))


def _identity_default(defaults: dict[str, str], address: str) -> str | None:
    """The default configuration set of the identity that covers `address`, if it has one."""
    if not defaults:
        return None
    found = defaults.get(identity_key(address))
    domain = domain_of(address)
    while found is None and "." in domain:
        found = defaults.get(domain)
        domain = domain.partition(".")[2]
    return found


async def admission(cache: SuppressionCache, store: Store, directory: Directory, account_id: str,
                    from_address: str, requested: str | None) -> SendFeedback:
    facts = await cache.facts(account_id)
    name = requested or _identity_default(facts.identity_configuration_sets, from_address) \
        or facts.default_configuration_set
    config_set = await csets.lookup(store, directory, account_id, name) if name else None
    if config_set is not None and not config_set.sending_enabled:
        raise ConfigurationSetSendingPausedException(
            f"Sending is paused for this configuration set: {config_set.name}.")
    reasons = facts.suppressed_reasons
    if config_set is not None and config_set.suppressed_reasons is not None:
        reasons = config_set.suppressed_reasons
    suppressed = await cache.suppressed(account_id, facts) if reasons else {}
    return SendFeedback(config_set, suppressed, reasons)


def screen(feedback: SendFeedback | None, mail: dict[str, Any], sent_at: float,
           recipients: tuple[str, ...]) -> Screened:
    sim = [r for r in recipients if simulator.is_simulator(r)]
    suppressed: list[str] = []
    if feedback is not None and feedback.suppressed:
        suppressed = [r for r in recipients if not simulator.is_simulator(r)
                      and feedback.suppressed.get(address_key(r)) in feedback.reasons]
    if not sim and not suppressed:
        return Screened(recipients, [])
    rows = simulator.simulated_events(mail, sent_at, sim, sent_at) if sim else []
    if suppressed:
        rows.append(suppression_bounce_event(mail, suppressed, at=sent_at,
                                             feedback_id=simulator.feedback_id(sent_at)))
    skip = set(sim) | set(suppressed)
    return Screened(tuple(r for r in recipients if r not in skip), rows)


def final_status(screened: Screened) -> str:
    """The message's status when nothing is left to deliver."""
    kinds = {e["event_type"] for e in screened.events}
    return "delivered" if "Delivery" in kinds and "Bounce" not in kinds else (
        "partial" if "Delivery" in kinds else "bounced")
