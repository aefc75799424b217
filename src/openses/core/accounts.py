"""Accounts and their access keys: the tenants of openses and how a request proves who it is.

Sandbox accounts start with SES's sandbox quota (200 recipients a day, 1 a second); production
access gives SES's usual starting quota. A quota of -1 means unlimited (SES's GetSendQuota
convention), which is what the development account gets.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass
from typing import Any

from openses.core import ids
from openses.core.policy import Policy, parse_policy
from openses.core.secrets import SecretBox
from openses.protocol.smtp_password import smtp_password
from openses.store import repositories as repo
from openses.store.store import Store

SANDBOX_QUOTA = (200.0, 1.0)
PRODUCTION_QUOTA = (50000.0, 14.0)
UNLIMITED = (-1.0, -1.0)


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    production: bool
    sending_enabled: bool
    paused_by_operator: bool
    enforcement_status: str
    max_24h_send: float
    max_send_rate: float
    details: dict[str, Any] | None
    created_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Account:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Principal:
    """Who is calling: an access key of an account, with its policy."""

    key_id: str
    account_id: str
    user_name: str
    secret: str
    policy: Policy

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{self.user_name}"


@dataclass(frozen=True)
class NewKey:
    access_key_id: str
    secret_access_key: str
    smtp_password: str
    account_id: str


def production_values(account: Account, production: bool) -> dict[str, Any]:
    """The columns that change when production access is granted or revoked."""
    values: dict[str, Any] = {"production": production}
    # Granting production lifts a sandbox quota to SES's starting production quota.
    if production and (account.max_24h_send, account.max_send_rate) == SANDBOX_QUOTA:
        values["max_24h_send"], values["max_send_rate"] = PRODUCTION_QUOTA
    if account.details and "ReviewDetails" in account.details:  # the request is answered
        review = dict(account.details["ReviewDetails"], Status="GRANTED" if production else "DENIED")
        values["details"] = dict(account.details, ReviewDetails=review)
    return values


def review_status(production: bool) -> str:
    """A PutAccountDetails request's review status: granted at once for a production account."""
    return "GRANTED" if production else "PENDING"


class AccountService:
    """Operator-side changes to accounts and keys (the admin CLI and dev-mode start-up)."""

    def __init__(self, store: Store, box: SecretBox, region: str) -> None:
        self.store = store
        self.box = box
        self.region = region

    def create_account(self, name: str, *, production: bool = False, account_id: str | None = None,
                       quota: tuple[float, float] | None = None) -> Account:
        max_day, max_rate = quota or (PRODUCTION_QUOTA if production else SANDBOX_QUOTA)
        row = {"id": account_id or ids.account_id(), "name": name, "production": production,
               "sending_enabled": True, "paused_by_operator": False, "enforcement_status": "HEALTHY",
               "max_24h_send": max_day, "max_send_rate": max_rate, "details": None,
               "created_at": time.time()}
        self.store.write_sync(lambda c: repo.insert_account(c, row))
        return Account.from_row(row)

    def find(self, id_or_name: str) -> Account | None:
        row = self.store.read_sync(lambda c: repo.find_account(c, id_or_name))
        return Account.from_row(row) if row else None

    def list(self) -> list[Account]:
        return [Account.from_row(r) for r in self.store.read_sync(repo.list_accounts)]

    def update(self, account_id: str, **values: Any) -> Account:
        self.store.write_sync(lambda c: repo.update_account(c, account_id, **values))
        found = self.find(account_id)
        assert found is not None
        return found

    def set_production(self, account_id: str, production: bool = True) -> Account:
        """Grant production access (or revoke it) and answer a PutAccountDetails request with it:
        read and written in one transaction, the account's row locked, so that a request or a
        quota set meanwhile (the API on a server, another operator) is kept."""
        def write(conn: Any) -> dict[str, Any]:
            row = repo.lock_account(conn, account_id)
            assert row is not None
            values = production_values(Account.from_row(row), production)
            repo.update_account(conn, account_id, **values)
            return dict(row, **values)

        return Account.from_row(self.store.write_sync(write))

    def create_key(self, account_id: str, *, user_name: str = "openses", policy: str | None = None,
                   key_id: str | None = None, secret: str | None = None) -> NewKey:
        if policy is not None:
            parse_policy(policy)  # refuse a policy we could not evaluate
        key_id = key_id or ids.access_key_id()
        secret = secret or ids.secret_access_key()
        import json

        row = {"id": key_id, "account_id": account_id, "user_name": user_name,
               "secret_encrypted": self.box.seal(secret, key_id),
               "policy": json.loads(policy) if policy else None, "created_at": time.time()}
        self.store.write_sync(lambda c: repo.insert_access_key(c, row))
        return NewKey(key_id, secret, smtp_password(secret, self.region), account_id)

    # builtins.list: in this class's annotations `list` is the method above.
    def list_keys(self, account_id: str | None = None) -> builtins.list[dict[str, Any]]:
        rows = self.store.read_sync(lambda c: repo.list_access_keys(c, account_id))
        return [{k: v for k, v in r.items() if k != "secret_encrypted"} for r in rows]

    def delete_key(self, key_id: str) -> bool:
        return self.store.write_sync(lambda c: repo.delete_access_key(c, key_id)) > 0

    def principal_from_row(self, row: dict[str, Any]) -> Principal:
        return Principal(row["id"], row["account_id"], row["user_name"],
                         self.box.open(row["secret_encrypted"], row["id"]), parse_policy(row["policy"]))
