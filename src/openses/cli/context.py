"""Opening the database and services for one CLI command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError

from openses.cli.output import fail
from openses.config import Settings, load_settings
from openses.core.accounts import Account, AccountService
from openses.runtime import account_service, open_store
from openses.store.store import Store


@contextmanager
def opened() -> Iterator[tuple[Settings, Store, AccountService]]:
    settings = load_settings()
    try:
        store = open_store(settings)
    except OperationalError as e:
        fail(f"cannot open the database {settings.effective_database_url}: {e.orig}")
    try:
        yield settings, store, account_service(settings, store)
    finally:
        store.close()


def require_account(accounts: AccountService, id_or_name: str) -> Account:
    account = accounts.find(id_or_name)
    if account is None:
        fail(f"no account named or numbered {id_or_name!r} (see `openses admin account list`)")
    return account
