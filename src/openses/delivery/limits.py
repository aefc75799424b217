"""Per-destination concurrency: at most N deliveries to one recipient domain at a time, so one
slow or throttling domain cannot take every connection and a receiver is not flooded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class DomainLimiter:
    def __init__(self, per_domain: int) -> None:
        self._per_domain = per_domain
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def slot(self, domain: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(domain, (asyncio.Semaphore(self._per_domain), 0))
        self._slots[domain] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[domain]
            if users == 1:
                del self._slots[domain]  # forget idle domains: the table stays small
            else:
                self._slots[domain] = (semaphore, users - 1)

    def in_use(self, domain: str) -> int:
        return self._slots.get(domain, (None, 0))[1]
