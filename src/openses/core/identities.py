"""Identities (email addresses and domains) an account may send from.

This module holds the records and their statuses. Verification by mail and by DNS builds on it;
until then an operator verifies with `openses admin identity verify`, and development mode
verifies at once on request, as local SES emulators do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from openses.core.addresses import check_address, identity_key, to_ascii_domain
from openses.errors import InvalidParameterValue
from openses.store import repositories as repo
from openses.store.store import Store

EMAIL = "EMAIL_ADDRESS"
DOMAIN = "DOMAIN"


@dataclass(frozen=True)
class Identity:
    account_id: str
    identity: str
    kind: str
    status: str
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Identity:
        return cls(row["account_id"], row["identity"], row["kind"], row["status"], row["created_at"],
                   row["updated_at"])


def normalize(identity: str) -> tuple[str, str]:
    """(identity as stored, kind); raises InvalidParameterValue for a malformed one."""
    identity = identity.strip()
    if "@" in identity:
        return check_address(identity), EMAIL
    domain = to_ascii_domain(identity.rstrip(".")).lower()
    if not domain or "." not in domain or any(not label for label in domain.split(".")):
        raise InvalidParameterValue(f"Invalid domain name {identity}.")
    return domain, DOMAIN


class IdentityService:
    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def _row(account_id: str, identity: str, status: str) -> dict[str, Any]:
        name, kind = normalize(identity)
        now = time.time()
        return {"account_id": account_id, "identity": name, "identity_key": identity_key(name),
                "kind": kind, "status": status, "verification_token": None, "attributes": None,
                "created_at": now, "updated_at": now}

    async def set_status(self, account_id: str, identity: str, status: str) -> Identity:
        row = self._row(account_id, identity, status)
        await self._store.write(lambda c: repo.upsert_identity(c, row))
        return Identity.from_row(row)

    def set_status_sync(self, account_id: str, identity: str, status: str) -> Identity:
        row = self._row(account_id, identity, status)
        self._store.write_sync(lambda c: repo.upsert_identity(c, row))
        return Identity.from_row(row)

    async def list(self, account_id: str, kind: str | None = None) -> list[Identity]:
        rows = await self._store.read(lambda c: repo.list_identities(c, account_id, kind))
        return [Identity.from_row(r) for r in rows]

    async def get(self, account_id: str, identity: str) -> Identity | None:
        key = identity_key(identity.strip())
        row = await self._store.read(lambda c: repo.get_identity(c, account_id, key))
        return Identity.from_row(row) if row else None

    async def delete(self, account_id: str, identity: str) -> bool:
        key = identity_key(identity.strip())
        return await self._store.write(lambda c: repo.delete_identity(c, account_id, key)) > 0
