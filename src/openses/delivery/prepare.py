"""Turning leased queue entries into Parcels: the envelope sender, the bytes, the signatures.

The envelope sender is a per-message bounce address, `<MessageId>@<bounce domain>`, the shape SES
uses (its Return-Path is `<MessageId>@<region>.amazonses.com`): an asynchronous bounce (a DSN sent
later to that address) names the message it is about without parsing its body. When the sending
identity has a verified custom MAIL FROM domain, that domain replaces the bounce domain (SES: the
domain's MX points at SES's feedback endpoint, here at openses's inbound listener), which aligns
SPF with the From domain for DMARC.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from openses.delivery.dkim import DkimSigner, KeyLookup, SigningKey, to_crlf
from openses.delivery.parcel import Parcel
from openses.delivery.tracking import TrackingLookup, rewrite_message

log = logging.getLogger("openses.delivery")


def bounce_address(message_id: str, bounce_domain: str) -> str:
    return f"{message_id}@{bounce_domain}"


def message_id_of(bounce_addr: str, bounce_domain: str) -> str | None:
    """The MessageId a bounce address stands for, or None when it is not one of ours."""
    local, _, domain = bounce_addr.strip("<>").rpartition("@")
    return local if local and domain.lower() == bounce_domain.lower() else None


def from_domain(from_header: str | None, source: str) -> str:
    _, address = email.utils.parseaddr(from_header or source)
    return (address or source).rpartition("@")[2].lower()


class Preparer:
    def __init__(self, *, bounce_domain: str, signer: DkimSigner | None = None,
                 key_lookup: KeyLookup | None = None, key_ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, tracking: TrackingLookup | None = None) -> None:
        self._bounce_domain = bounce_domain
        self._tracking = tracking
        self._signer = signer or DkimSigner()
        self._lookup = key_lookup
        self._ttl = key_ttl
        self._clock = clock
        self._keys: dict[tuple[str, str], tuple[float, Sequence[SigningKey]]] = {}

    async def contents(self, messages: dict[str, dict[str, Any]], accounts: dict[str, str],
                       config_sets: dict[str, str | None] | None = None) -> dict[str, bytes]:
        """message id → the bytes to send, signed once per message (not per recipient domain);
        open and click tracking (config_sets: message id → its configuration set) comes first,
        as the signature covers the body."""
        out: dict[str, bytes] = {}
        for message_id, row in messages.items():
            data = to_crlf(row["raw"])
            data = await self.tracked(data, accounts[message_id], (config_sets or {}).get(message_id), message_id)
            keys = await self._keys_for(accounts[message_id], from_domain(row["from_header"], row["source"]))
            out[message_id] = self._sign(data, keys) if keys else data
        return out

    async def tracks(self, account_id: str, config_set: str | None) -> bool:
        """Whether mail sent with this configuration set gets open or click tracking."""
        return bool(config_set and self._tracking and await self._tracker(account_id, config_set))

    async def tracked(self, data: bytes, account_id: str, config_set: str | None, message_id: str) -> bytes:
        """The message with open and click tracking when its configuration set asks for it."""
        tracker = await self._tracker(account_id, config_set) if config_set and self._tracking else None
        if tracker is None:
            return data
        try:
            return rewrite_message(data, tracker, message_id)
        except Exception:  # a rewriting bug must not stop delivery: the mail goes untracked
            log.exception("tracking %s failed", message_id)
            return data

    async def _tracker(self, account_id: str, config_set: str) -> Any:
        assert self._tracking is not None
        try:
            return await self._tracking(account_id, config_set)
        except Exception:  # like a broken DKIM key: deliver untracked rather than not at all
            log.exception("tracking lookup for %s (account %s) failed", config_set, account_id)
            return None

    def _sign(self, data: bytes, keys: Sequence[SigningKey]) -> bytes:
        try:
            return self._signer.sign(data, keys)
        except ValueError:  # a key of the wrong kind: send unsigned rather than not at all
            log.exception("DKIM signing failed")
            return data

    def parcel(self, entry: dict[str, Any], data: bytes) -> Parcel:
        return Parcel(entry["id"], entry["message_id"], entry["account_id"], entry["domain"],
                      bounce_address(entry["message_id"], entry.get("mail_from_domain") or self._bounce_domain),
                      tuple(entry["recipients"]), data,
                      require_tls=bool(entry.get("require_tls")))

    async def _keys_for(self, account_id: str, domain: str) -> Sequence[SigningKey]:
        if self._lookup is None or not domain:
            return ()
        now = self._clock()
        cached = self._keys.get((account_id, domain))
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            keys = await self._lookup(account_id, domain)
        except Exception:  # a broken key must not stop delivery; the mail goes unsigned
            log.exception("DKIM key lookup for %s (account %s) failed", domain, account_id)
            keys = ()
        self._keys[(account_id, domain)] = (now, keys)
        return keys
