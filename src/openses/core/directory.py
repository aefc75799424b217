"""What the request path needs to know, from memory: keys, accounts, verified identities.

Each entry is re-read from the database after `ttl` seconds, so changes made by another node or
by the admin CLI are seen within that time; changes made through this node invalidate at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from openses.core.accounts import Account, AccountService, Principal
from openses.store import repositories as repo
from openses.store.store import Store

K = TypeVar("K")
V = TypeVar("V")


class _TtlCache(Generic[K, V]):
    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        hit = self._items.get(key)
        if hit is None or hit[0] < self._clock():
            return False, None
        return True, hit[1]

    def put(self, key: K, value: V) -> None:
        if len(self._items) > 100_000:
            self._items.clear()
        self._items[key] = (self._clock() + self._ttl, value)

    def drop(self, key: K | None = None) -> None:
        if key is None:
            self._items.clear()
        else:
            self._items.pop(key, None)


class _SingleFlight(Generic[K, V]):
    """Concurrent misses for one key share one database read (no thundering herd on expiry)."""

    def __init__(self) -> None:
        self._pending: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        try:
            value = await load()
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        else:
            fut.set_result(value)
            return value
        finally:
            del self._pending[key]


class Directory:
    def __init__(self, store: Store, accounts: AccountService, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._accounts = accounts
        self._keys: _TtlCache[str, Principal | None] = _TtlCache(ttl, clock)
        self._account: _TtlCache[str, Account | None] = _TtlCache(ttl, clock)
        self._verified: _TtlCache[str, frozenset[str]] = _TtlCache(ttl, clock)
        self._flights: _SingleFlight[tuple[str, str], Any] = _SingleFlight()
        self._other: dict[str, _TtlCache[str, Any]] = {}
        self._ttl, self._clock = ttl, clock

    async def principal(self, key_id: str) -> Principal | None:
        hit, value = self._keys.get(key_id)
        if hit:
            return value
        async def load() -> Principal | None:
            row = await self._store.read(lambda c: repo.get_access_key(c, key_id))
            principal = self._accounts.principal_from_row(row) if row else None
            self._keys.put(key_id, principal)
            return principal

        return await self._flights.run(("key", key_id), load)  # type: ignore[no-any-return]

    async def account(self, account_id: str) -> Account | None:
        hit, value = self._account.get(account_id)
        if hit:
            return value
        async def load() -> Account | None:
            row = await self._store.read(lambda c: repo.get_account(c, account_id))
            account = Account.from_row(row) if row else None
            self._account.put(account_id, account)
            return account

        return await self._flights.run(("account", account_id), load)  # type: ignore[no-any-return]

    async def verified(self, account_id: str) -> frozenset[str]:
        """Identity keys (addresses and domains) of the account whose status is SUCCESS."""
        hit, value = self._verified.get(account_id)
        if hit:
            assert value is not None
            return value
        async def load() -> frozenset[str]:
            keys = frozenset(await self._store.read(lambda c: repo.verified_identity_keys(c, account_id)))
            self._verified.put(account_id, keys)
            return keys

        return await self._flights.run(("verified", account_id), load)  # type: ignore[no-any-return]

    async def remember(self, kind: str, key: str, load: Callable[[], Awaitable[V]]) -> V:
        """Any other per-account fact the send path needs, cached like the rest under `kind`."""
        cache = self._other.setdefault(kind, _TtlCache(self._ttl, self._clock))
        hit, value = cache.get(key)
        if hit:
            return value  # type: ignore[return-value]

        async def fill() -> V:
            value = await load()
            cache.put(key, value)
            return value

        return await self._flights.run((kind, key), fill)  # type: ignore[no-any-return]

    def forget(self, account_id: str | None = None) -> None:
        """Drop what we know of an account (or everything) after a local change."""
        self._account.drop(account_id)
        self._verified.drop(account_id)
        for cache in self._other.values():
            cache.drop()  # keyed by more than the account: drop all, they refill on demand
        if account_id is None:
            self._keys.drop()
