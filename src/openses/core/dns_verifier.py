"""The DNS verifier: the scheduler role's task that checks domains with real look-ups.

Statuses follow SES: PENDING while openses searches; SUCCESS when the record is seen; FAILED when
it is not seen within 72 hours (the user restarts verification); TEMPORARY_FAILURE when a verified
record disappears or DNS cannot answer, FAILED if that lasts 72 hours. A domain is verified by
its `_amazonses` TXT token or by its DKIM records (SES: "also changes to Success when it is DKIM
verified"). Each pass also fails email identities whose link was not followed within 24 hours.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openses.core import dkim_keys, dns_check
from openses.core.dns_check import Check, Expected, Publishing
from openses.core.identities import (
    DOMAIN,
    EMAIL,
    FAILED,
    PENDING,
    SUCCESS,
    TEMPORARY_FAILURE,
    Identity,
    IdentityService,
)
from openses.core.secrets import SecretBox
from openses.protocol.dns import Resolver
from openses.store import identities_repo as irepo
from openses.store.store import Store

log = logging.getLogger("openses.verifier")
DOMAIN_WINDOW = 72 * 3600.0
EMAIL_WINDOW = 24 * 3600.0


def next_status(current: str, found: bool, dns_error: bool, since: float | None,
                now: float) -> tuple[str, float | None]:
    """(status, since) after one check; `since` is when PENDING or TEMPORARY_FAILURE began."""
    if found:
        return SUCCESS, None
    if current == FAILED:
        return FAILED, since
    if current == SUCCESS:
        return TEMPORARY_FAILURE, now
    since = now if since is None else since
    if now - since >= DOMAIN_WINDOW:
        return FAILED, since
    if dns_error:
        return TEMPORARY_FAILURE, since
    return current if current in (PENDING, TEMPORARY_FAILURE) else PENDING, since


def email_status(identity: Identity, now: float) -> str:
    """An address whose link was not followed in 24 hours has failed (SES)."""
    since = identity.check.get("since", identity.updated_at)
    if identity.status == PENDING and now - since >= EMAIL_WINDOW:
        return FAILED
    return identity.status


@dataclass(frozen=True)
class DomainRecords:
    verification: list[Expected]
    dkim: list[Expected]  # the keys in use: what the DKIM status is about
    mail_from: list[Expected]
    advisory: list[Expected]
    dkim_next: list[Expected] = field(default_factory=list)  # a rotated-in key not yet seen in DNS

    def all(self) -> list[Expected]:
        return [*self.verification, *self.dkim, *self.dkim_next, *self.mail_from, *self.advisory]


async def domain_records(identities: IdentityService, identity: Identity, publishing: Publishing) -> DomainRecords:
    """Every record openses expects for a domain identity, from its state."""
    domain = identity.identity
    verification = ([Expected("verification", f"_amazonses.{domain}", "TXT", identity.verification_token)]
                    if identity.verification_token else [])
    keys = await identities.public_keys(identity.account_id, domain)
    records = dns_check.dkim_records(domain, keys, identity.dkim.get("origin", "AWS_SES"), publishing)
    nxt = identity.dkim.get("next")
    pending = f"{identity.dkim['tokens'][nxt['slot']]}._domainkey.{domain}" if nxt else None
    dkim = [r for r in records if r.name != pending]
    dkim_next = [r for r in records if r.name == pending]
    mail_from_domain = identity.mail_from.get("domain")
    mail_from = dns_check.mail_from_records(mail_from_domain, publishing) if mail_from_domain else []
    advisory = dns_check.advisory_records(domain, publishing, has_mail_from=bool(mail_from_domain))
    return DomainRecords(verification, dkim, mail_from, advisory, dkim_next)


def _first_error(checks: list[Check]) -> str | None:
    return next((c.error_type for c in checks if c.error_type), None)


def _has_dns_error(checks: list[Check]) -> bool:
    return any(c.verdict == dns_check.ERROR for c in checks)


class DnsVerifier:
    def __init__(self, store: Store, resolver: Resolver, publishing: Publishing, *,
                 clock: Callable[[], float] = time.time,
                 on_change: Callable[[str], None] | None = None,
                 box: SecretBox | None = None, grace: float = 86400.0) -> None:
        self._store = store
        self._resolver = resolver
        self._publishing = publishing
        self._clock = clock
        self._on_change = on_change
        self._box = box  # to replace rotated-out keys after their grace period (cname mode)
        self._grace = grace
        self.identities = IdentityService(store, clock)

    async def check(self, identity: Identity) -> Identity:
        """Look the domain's records up and record the statuses they give."""
        records = await domain_records(self.identities, identity, self._publishing)
        token = await dns_check.check_all(self._resolver, records.verification)
        dkim = await dns_check.check_all(self._resolver, records.dkim)
        mx = await dns_check.check_all(self._resolver, records.mail_from[:1])  # SES: MX decides
        seen_next = identity.dkim.get("next")
        next_ok = dns_check.all_ok(await dns_check.check_all(self._resolver, records.dkim_next))
        now = self._clock()

        def change(current: Identity) -> dict[str, Any]:
            values = self._apply(current, token, dkim, mx, now)
            if next_ok and seen_next and current.dkim.get("next") == seen_next:
                values["attributes"]["dkim"] = self._switch(values["attributes"].get("dkim") or current.dkim, now)
            return values

        updated = await self.identities.update(identity.account_id, identity.identity, change)
        if (updated.status != identity.status or updated.dkim.get("signing") != identity.dkim.get("signing")) \
                and self._on_change is not None:
            self._on_change(identity.account_id)
        await self._retire(updated, now)
        return updated

    def _switch(self, dkim: dict[str, Any], now: float) -> dict[str, Any]:
        """The rotated-in key is in DNS: sign with it. cname mode keeps the old key in the zone
        for the grace period; in txt mode it is the user's record, left to the user."""
        grace = self._grace if self._publishing.dkim_mode == "cname" else None
        log.info("DKIM signing key switched (slot %s)", dkim["next"]["slot"])
        return dkim_keys.switch_signing(dkim, now, grace)

    async def _retire(self, identity: Identity, now: float) -> None:
        retiring = identity.dkim.get("retiring")
        if self._box is None or not retiring or retiring["until"] > now:
            return
        await dkim_keys.retire(self._store, self._box, identity.account_id, identity.identity,
                               identity.dkim.get("current_length") or dkim_keys.RSA_2048, now)

    def _apply(self, current: Identity, token: list[Check], dkim: list[Check], mx: list[Check],
               now: float) -> dict[str, Any]:
        attributes = dict(current.attributes)
        if not token and not dkim:  # verified by an operator or in development mode: nothing to see
            return self._apply_mail_from(current, attributes, mx, now)
        found = dns_check.all_ok(token) or dns_check.all_ok(dkim)
        check = current.check
        status, check["since"] = next_status(current.status, found, _has_dns_error(token + dkim),
                                             check.get("since"), now)
        check.update(last_checked=now, error_type=None if found else _first_error(token + dkim))
        if found:
            check["last_success"] = now
        attributes["check"] = check
        if current.dkim.get("tokens") and current.dkim.get("status") != FAILED:
            d = current.dkim
            d["status"], d["since"] = next_status(d.get("status", PENDING), dns_check.all_ok(dkim),
                                                  _has_dns_error(dkim), d.get("since"), now)
            attributes["dkim"] = d
        return dict(self._apply_mail_from(current, attributes, mx, now), status=status)

    @staticmethod
    def _apply_mail_from(current: Identity, attributes: dict[str, Any], mx: list[Check],
                         now: float) -> dict[str, Any]:
        if current.mail_from.get("domain"):
            m = current.mail_from
            m["status"], m["since"] = next_status(m.get("status", PENDING), dns_check.all_ok(mx),
                                                  _has_dns_error(mx), m.get("since"), now)
            attributes["mail_from"] = m
        return {"attributes": attributes, "updated_at": now}

    async def run_once(self) -> int:
        """One pass over every identity; the number of domains checked."""
        rows = await self._store.read(lambda c: irepo.identities_to_check(c, (DOMAIN, EMAIL)))
        now = self._clock()
        checked = 0
        for identity in (Identity.from_row(r) for r in rows):
            if identity.kind == EMAIL:
                await self._expire_email(identity, now)
            elif self._wants_check(identity):
                try:
                    await self.check(identity)
                except Exception:  # one domain's failure must not stop the pass
                    log.exception("checking %s failed", identity.identity)
                checked += 1
        await self._store.write(lambda c: irepo.prune_links(c, now))
        return checked

    @staticmethod
    def _wants_check(identity: Identity) -> bool:
        return (identity.status != FAILED or identity.dkim.get("status") not in (None, FAILED)
                or identity.mail_from.get("status") not in (None, FAILED))

    async def _expire_email(self, identity: Identity, now: float) -> None:
        if email_status(identity, now) == FAILED:
            await self.identities.update(identity.account_id, identity.identity, lambda i: {"status": FAILED})

    async def run(self, interval: float) -> None:
        """The scheduler task: a pass every `interval` seconds until cancelled."""
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("DNS verification pass failed")
            await asyncio.sleep(interval)


def publishing_from(settings: Any) -> Publishing:
    import socket

    return Publishing(settings.dkim_mode, settings.dkim_zone, settings.mail_host or socket.getfqdn())


def verifier_from(settings: Any, store: Store, on_change: Callable[[str], None] | None = None) -> DnsVerifier:
    """The scheduler's verifier, with real look-ups through the configured nameservers (and the
    DKIM zone's own server for names in it, when configured: core/dkim_zone.py)."""
    from openses.core.dkim_zone import resolver_from
    from openses.core.secrets import load_master_key

    box = SecretBox(load_master_key(settings.master_key, settings.data_dir))
    return DnsVerifier(store, resolver_from(settings), publishing_from(settings), on_change=on_change,
                       box=box, grace=settings.dkim_key_grace_seconds)
