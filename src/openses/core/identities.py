"""Identities (email addresses and domains) an account may send from.

The identity row holds the verification status (what sending checks) and, in `attributes`, what
SES shows about it: DKIM (enabled, status, origin, key length), the custom MAIL FROM domain, tags,
feedback forwarding and the state of the last DNS check. Verification by mail lives in
core/verification.py, by DNS in core/dns_verifier.py; an operator can still verify at once with
`openses admin identity verify`, and development mode verifies at once on request.
"""

from __future__ import annotations

import builtins
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openses.core import dkim_keys
from openses.core.addresses import check_address, identity_key, to_ascii_domain
from openses.core.secrets import SecretBox
from openses.errors import AlreadyExists, InvalidParameterValue, NotFound
from openses.store import identities_repo as irepo
from openses.store.store import Store

EMAIL = "EMAIL_ADDRESS"
DOMAIN = "DOMAIN"
SUCCESS, PENDING, FAILED = "SUCCESS", "PENDING", "FAILED"
TEMPORARY_FAILURE, NOT_STARTED = "TEMPORARY_FAILURE", "NOT_STARTED"


@dataclass(frozen=True)
class Identity:
    account_id: str
    identity: str
    kind: str
    status: str
    created_at: float
    updated_at: float
    verification_token: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Identity:
        return cls(row["account_id"], row["identity"], row["kind"], row["status"], row["created_at"],
                   row["updated_at"], row.get("verification_token"), dict(row.get("attributes") or {}))

    @property
    def key(self) -> str:
        return identity_key(self.identity)

    @property
    def dkim(self) -> dict[str, Any]:
        return dict(self.attributes.get("dkim") or {})

    @property
    def mail_from(self) -> dict[str, Any]:
        return dict(self.attributes.get("mail_from") or {})

    @property
    def check(self) -> dict[str, Any]:
        """The verifier's bookkeeping: since (pending or failing), last_checked, error_type."""
        return dict(self.attributes.get("check") or {})


def normalize(identity: str) -> tuple[str, str]:
    """(identity as stored, kind); raises InvalidParameterValue for a malformed one."""
    identity = identity.strip()
    if "@" in identity:
        return check_address(identity), EMAIL
    domain = to_ascii_domain(identity.rstrip(".")).lower()
    if not domain or "." not in domain or any(not label for label in domain.split(".")):
        raise InvalidParameterValue(f"Invalid domain name {identity}.")
    return domain, DOMAIN


def new_row(account_id: str, identity: str, status: str, now: float | None = None) -> dict[str, Any]:
    name, kind = normalize(identity)
    now = time.time() if now is None else now
    return {"account_id": account_id, "identity": name, "identity_key": identity_key(name),
            "kind": kind, "status": status, "verification_token": None,
            "attributes": {"check": {"since": now}}, "created_at": now, "updated_at": now}


def verification_token() -> str:
    """The `_amazonses` TXT token: 32 random bytes, base64 like SES's 44-character tokens."""
    import base64

    return base64.b64encode(secrets.token_bytes(32)).decode()


class IdentityService:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    # --- statuses (operator, development mode) --------------------------------------------

    async def set_status(self, account_id: str, identity: str, status: str) -> Identity:
        row = new_row(account_id, identity, status, self._clock())
        return Identity.from_row(await self._store.write(lambda c: irepo.set_identity_status(c, row)))

    def set_status_sync(self, account_id: str, identity: str, status: str) -> Identity:
        row = new_row(account_id, identity, status, self._clock())
        return Identity.from_row(self._store.write_sync(lambda c: irepo.set_identity_status(c, row)))

    # --- reading ----------------------------------------------------------------------------

    async def list(self, account_id: str, kind: str | None = None) -> list[Identity]:
        from openses.store import repositories as repo

        rows = await self._store.read(lambda c: repo.list_identities(c, account_id, kind))
        return [Identity.from_row(r) for r in rows]

    async def get(self, account_id: str, identity: str) -> Identity | None:
        key = identity_key(identity.strip().rstrip("."))
        row = await self._store.read(lambda c: irepo.get_identity(c, account_id, key))
        return Identity.from_row(row) if row else None

    async def require(self, account_id: str, identity: str) -> Identity:
        found = await self.get(account_id, identity)
        if found is None:
            raise NotFound(f"Email identity {identity} does not exist.")
        return found

    async def delete(self, account_id: str, identity: str) -> bool:
        key = identity_key(identity.strip().rstrip("."))
        return await self._store.write(lambda c: irepo.delete_identity_everything(c, account_id, key)) > 0

    # --- creating ---------------------------------------------------------------------------

    async def ensure(self, account_id: str, identity: str, *, exclusive: bool = False,
                     **attributes: Any) -> Identity:
        """The identity, created PENDING when new; `exclusive`: AlreadyExists when it exists (v2).
        Given attributes are merged into the existing ones."""
        row = new_row(account_id, identity, PENDING, self._clock())
        row["attributes"].update(attributes)

        def write(conn: Any) -> dict[str, Any]:
            existing = irepo.lock_identity(conn, account_id, row["identity_key"])
            if existing is None:
                irepo.insert_identity(conn, row)
                return row
            if exclusive:
                raise AlreadyExists(f"Email identity {row['identity']} already exist.")
            merged = dict(existing["attributes"] or {}, **attributes)
            irepo.update_identity(conn, account_id, row["identity_key"], attributes=merged)
            return dict(existing, attributes=merged)

        return Identity.from_row(await self._store.write(write))

    async def update(self, account_id: str, identity: str,
                     change: Callable[[Identity], dict[str, Any]]) -> Identity:
        """Read-modify-write in one transaction: `change` returns the column values to set."""
        key = identity_key(identity.strip().rstrip("."))

        def write(conn: Any) -> dict[str, Any]:
            row = irepo.lock_identity(conn, account_id, key)
            if row is None:
                raise NotFound(f"Email identity {identity} does not exist.")
            values = change(Identity.from_row(row))
            values.setdefault("updated_at", self._clock())
            irepo.update_identity(conn, account_id, key, **values)
            return dict(row, **values)

        return Identity.from_row(await self._store.write(write))

    async def set_attribute(self, account_id: str, identity: str, name: str, value: Any) -> Identity:
        return await self.update(account_id, identity, lambda i: {"attributes": dict(i.attributes, **{name: value})})

    # --- DKIM -------------------------------------------------------------------------------

    async def start_easy_dkim(self, box: SecretBox, account_id: str, domain: str, length: str,
                              *, enabled: bool = True) -> Identity:
        """New Easy DKIM keys for a domain identity; DKIM status PENDING until DNS shows them."""
        import asyncio

        rows = await asyncio.to_thread(dkim_keys.easy_dkim_rows, box, account_id, domain, length)
        dkim = {"enabled": enabled, "status": PENDING, "origin": "AWS_SES", "current_length": length,
                "next_length": length, "generated_at": self._clock(), "since": self._clock(),
                "tokens": [r["selector"] for r in rows]}
        return await self._replace_keys(account_id, domain, rows, dkim)

    async def use_byodkim(self, box: SecretBox, account_id: str, domain: str, selector: str,
                          private_key: str) -> Identity:
        rows = dkim_keys.byodkim_rows(box, account_id, domain, selector, private_key)
        dkim = {"enabled": True, "status": PENDING, "origin": "EXTERNAL", "since": self._clock(),
                "tokens": [selector]}
        return await self._replace_keys(account_id, domain, rows, dkim)

    async def _replace_keys(self, account_id: str, domain: str, rows: builtins.list[dict[str, Any]],
                            dkim: dict[str, Any]) -> Identity:
        def write(conn: Any) -> dict[str, Any]:
            row = irepo.lock_identity(conn, account_id, domain)
            if row is None:
                raise NotFound(f"Email identity {domain} does not exist.")
            irepo.replace_dkim_keys(conn, account_id, domain, rows)
            attributes = dict(row["attributes"] or {}, dkim=dkim)
            irepo.update_identity(conn, account_id, domain, attributes=attributes, updated_at=self._clock())
            return dict(row, attributes=attributes)

        return Identity.from_row(await self._store.write(write))

    # builtins.list in this class's annotations: `list` here is the method above.
    async def public_keys(self, account_id: str, domain: str) -> builtins.list[dkim_keys.PublicKey]:
        rows = await self._store.read(lambda c: irepo.list_dkim_keys(c, account_id, domain))
        return dkim_keys.public_keys(rows)

    # --- identity policies ------------------------------------------------------------------

    async def put_policy(self, account_id: str, identity: str, name: str, document: str) -> None:
        found = await self.require(account_id, identity)
        await self._store.write(lambda c: irepo.put_policy(c, account_id, found.key, name, document,
                                                           self._clock()))

    async def policies(self, account_id: str, identity: str) -> dict[str, str]:
        key = identity_key(identity.strip().rstrip("."))
        return await self._store.read(lambda c: irepo.list_policies(c, account_id, key))

    async def delete_policy(self, account_id: str, identity: str, name: str) -> bool:
        key = identity_key(identity.strip().rstrip("."))
        return await self._store.write(lambda c: irepo.delete_policy(c, account_id, key, name)) > 0


def covers(verified: frozenset[str], address: str) -> bool:
    """Whether the verified identity keys let `address` send: itself, its domain or a parent."""
    if identity_key(address) in verified:
        return True
    labels = address.rpartition("@")[2].lower().split(".")
    return any(".".join(labels[i:]) in verified for i in range(len(labels) - 1))


async def mail_from_domain(store: Store, account_id: str, from_address: str) -> str | None:
    """For the send pipeline and delivery: the custom MAIL FROM domain for mail from
    `from_address` (the address identity's, else its domain's or a parent's), or None for the
    default. When that MAIL FROM is not verified: None with BehaviorOnMxFailure
    USE_DEFAULT_VALUE, MailFromDomainNotVerifiedException with REJECT_MESSAGE (SES)."""
    from openses.errors import MailFromDomainNotVerifiedException

    labels = from_address.rpartition("@")[2].lower().split(".")
    keys = [identity_key(from_address)] + [".".join(labels[i:]) for i in range(len(labels) - 1)]
    for key in keys:
        row = await store.read(lambda c: irepo.get_identity(c, account_id, key))  # read before the next
        mail_from = ((row or {}).get("attributes") or {}).get("mail_from") or {}
        if not mail_from.get("domain"):
            continue
        if mail_from.get("status") == SUCCESS:
            return str(mail_from["domain"])
        if mail_from.get("behavior") == "REJECT_MESSAGE":
            raise MailFromDomainNotVerifiedException(
                f"The MAIL FROM domain {mail_from['domain']} of {row['identity']} is not verified.")  # type: ignore[index]
        return None
    return None
