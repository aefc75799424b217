"""The account-level suppression list (SES v2) and what the send path knows of it.

Addresses are added by hand (PutSuppressedDestination) or automatically when the feedback
processor sees a hard bounce or a complaint for a reason the account (or the message's
configuration set, which overrides it) suppresses. A send to a suppressed address is accepted,
gets a Bounce event with bounceSubType OnAccountSuppressionList, and is never delivered.

The send path must stay O(1): each account's list is held in memory as a dict, re-read only when
a cheap (count, last change) version read — cached through the Directory — says it changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from openses.core.addresses import domain_of
from openses.core.directory import Directory
from openses.errors import InvalidParameterValue, NotFound
from openses.store import feedback_repo as frepo
from openses.store.store import Store

REASONS = ("BOUNCE", "COMPLAINT")
DEFAULT_REASONS = REASONS  # SES: accounts created since November 2019 suppress both
SIMULATOR_DOMAIN = "simulator.amazonses.com"
PAGE_MAX = 1000


def address_key(address: str) -> str:
    return address.strip().lower()


def check_reasons(reasons: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    bad = [r for r in reasons if r not in REASONS]
    if bad:
        raise InvalidParameterValue(f"Invalid suppression reason {bad[0]}: use BOUNCE or COMPLAINT.")
    return tuple(dict.fromkeys(reasons))


@dataclass(frozen=True)
class AccountFeedback:
    """Per-account facts the send path needs, read together and cached together."""

    suppressed_reasons: tuple[str, ...]
    default_configuration_set: str | None
    identity_configuration_sets: dict[str, str]
    suppression_version: tuple[int, float]


def _account_feedback(conn: Connection, account_id: str) -> AccountFeedback:
    own = frepo.get_settings(conn, account_id)
    identities = {k: v["ConfigurationSetName"] for k, v in frepo.settings_of_identities(conn, account_id).items()
                  if v.get("ConfigurationSetName")}
    return AccountFeedback(tuple(own.get("SuppressedReasons", DEFAULT_REASONS)),
                           own.get("DefaultConfigurationSetName"), identities,
                           frepo.suppression_version(conn, account_id))


@dataclass
class SuppressionCache:
    """The hot path's view: one cached read per account per TTL, the list itself on change."""

    store: Store
    directory: Directory
    _lists: dict[str, tuple[tuple[int, float], dict[str, str]]] = field(default_factory=dict)

    async def facts(self, account_id: str) -> AccountFeedback:
        return await self.directory.remember(
            "account_feedback", account_id,
            lambda: self.store.read(lambda c: _account_feedback(c, account_id)))

    async def suppressed(self, account_id: str, facts: AccountFeedback) -> dict[str, str]:
        """address key → reason, for the account's whole list."""
        held = self._lists.get(account_id)
        if held is not None and held[0] == facts.suppression_version:
            return held[1]
        if facts.suppression_version[0] == 0:
            entries: dict[str, str] = {}
        else:
            entries = await self.store.read(lambda c: frepo.suppression_map(c, account_id))
        self._lists[account_id] = (facts.suppression_version, entries)
        return entries


class SuppressionService:
    """The v2 operations on the list and on the account's suppression attributes."""

    def __init__(self, store: Store, directory: Directory | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._directory = directory
        self._clock = clock

    def _changed(self, account_id: str) -> None:
        if self._directory is not None:
            self._directory.forget(account_id)

    async def put(self, account_id: str, address: str, reason: str, *, message_id: str | None = None,
                  feedback_id: str | None = None) -> None:
        check_reasons([reason])
        if "@" not in address:
            raise InvalidParameterValue(f"Invalid email address <{address}>.")
        row = _entry(account_id, address, reason, self._clock(), message_id, feedback_id)
        await self._store.write(lambda c: frepo.put_suppressed(c, row))
        self._changed(account_id)

    async def get(self, account_id: str, address: str) -> dict[str, Any]:
        row = await self._store.read(lambda c: frepo.get_suppressed(c, account_id, address_key(address)))
        if row is None:
            raise NotFound(f"Email address {address} does not exist on your suppression list.")
        return row

    async def delete(self, account_id: str, address: str) -> None:
        if not await self._store.write(lambda c: frepo.delete_suppressed(c, account_id, address_key(address))):
            raise NotFound(f"Email address {address} does not exist on your suppression list.")
        self._changed(account_id)

    async def page(self, account_id: str, *, reasons: list[str] | None, start: float | None, end: float | None,
                   offset: int, size: int) -> tuple[list[dict[str, Any]], int | None]:
        """One page of entries and the offset of the next page (None at the end)."""
        size = max(1, min(size, PAGE_MAX))
        rows = await self._store.read(lambda c: frepo.list_suppressed(
            c, account_id, reasons=check_reasons(reasons or []), start=start, end=end, offset=offset,
            limit=size + 1))
        return rows[:size], (offset + size if len(rows) > size else None)

    async def reasons(self, account_id: str) -> tuple[str, ...]:
        data = await self._store.read(lambda c: frepo.get_settings(c, account_id))
        return tuple(data.get("SuppressedReasons", DEFAULT_REASONS))

    async def set_reasons(self, account_id: str, reasons: list[str]) -> None:
        await self.update_settings(account_id, SuppressedReasons=list(check_reasons(reasons)))

    async def update_settings(self, account_id: str, identity_key: str = "", **values: Any) -> None:
        await self._store.write(lambda c: merge_settings(c, account_id, identity_key, values, self._clock()))
        self._changed(account_id)


def merge_settings(conn: Connection, account_id: str, identity_key: str, values: dict[str, Any], now: float) -> None:
    """Merge `values` into the account's settings (identity_key "") or an identity's; a None value
    removes its key. Read and written under the row's lock: a key another writer (the API on
    another node, the operator's CLI) set meanwhile is kept."""
    data = {**frepo.lock_settings(conn, account_id, identity_key, now), **values}
    frepo.put_settings(conn, account_id, identity_key, {k: v for k, v in data.items() if v is not None}, now)


def _entry(account_id: str, address: str, reason: str, now: float, message_id: str | None,
           feedback_id: str | None) -> dict[str, Any]:
    return {"account_id": account_id, "email_key": address_key(address), "email": address.strip(),
            "reason": reason, "message_id": message_id, "feedback_id": feedback_id, "updated_at": now}


def feedback_entries(event: dict[str, Any], reasons: tuple[str, ...], now: float) -> list[dict[str, Any]]:
    """Suppression entries an event calls for: a hard bounce (not itself a suppression bounce)
    or a complaint, when its reason is suppressed; never simulator addresses."""
    payload = event["payload"]
    if event["event_type"] == "Bounce":
        bounce = payload.get("bounce", {})
        if bounce.get("bounceType") != "Permanent" or bounce.get("bounceSubType") == "OnAccountSuppressionList":
            return []
        reason, recipients, fid = "BOUNCE", bounce.get("bouncedRecipients", []), bounce.get("feedbackId")
    elif event["event_type"] == "Complaint":
        complaint = payload.get("complaint", {})
        reason, recipients, fid = "COMPLAINT", complaint.get("complainedRecipients", []), complaint.get("feedbackId")
    else:
        return []
    if reason not in reasons:
        return []
    return [_entry(event["account_id"], r["emailAddress"], reason, now, event["message_id"], fid)
            for r in recipients if domain_of(r["emailAddress"]) != SIMULATOR_DOMAIN]
