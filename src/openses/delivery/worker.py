"""The delivery worker: lease due queue entries, deliver them, record what happened.

Leases expire, so entries held by a worker that died are leased again by another. Completing an
entry checks that we still hold its lease, so two live workers never both record one delivery.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

from openses.core.events import delivery_event
from openses.delivery.outcome import Outcome, Verdict
from openses.store import repositories as repo
from openses.store.store import Store

log = logging.getLogger("openses.delivery")


class Transport(Protocol):
    async def deliver(self, entry: dict[str, Any]) -> Outcome: ...


class DeliveryWorker:
    def __init__(self, store: Store, transport: Transport, *, lease_seconds: float = 300,
                 poll_interval: float = 1.0, batch: int = 256, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._transport = transport
        self._lease = lease_seconds
        self._poll = poll_interval
        self._batch = batch
        self._clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def wake(self) -> None:
        """Something was queued (callable from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                done = await self.run_once()
            except Exception:
                log.exception("delivery pass failed")
                done = 0
            if done:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            await asyncio.sleep(0.01)  # let concurrent sends pile up into one lease

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        """Lease and deliver one batch; the number of entries handled."""
        now = self._clock()
        entries = await self._store.write(lambda c: repo.lease_due(c, self.owner, now, self._lease, self._batch))
        if not entries:
            return 0
        outcomes = await asyncio.gather(*(self._transport.deliver(e) for e in entries))
        await self._store.write(lambda c: self._record(c, entries, outcomes))
        return len(entries)

    def _record(self, conn: Any, entries: list[dict[str, Any]], outcomes: list[Outcome]) -> None:
        mails = repo.send_mail_objects(conn, list({e["message_id"] for e in entries}))
        now = self._clock()
        rows = []
        for entry, outcome in zip(entries, outcomes):
            if outcome.verdict is not Verdict.DELIVERED:
                # Temporary and permanent failures belong to the mx and relay modes (not served yet).
                raise NotImplementedError(f"outcome {outcome.verdict} is not handled yet")
            if not repo.complete_entry(conn, entry["id"], self.owner):
                continue  # our lease expired and another worker took the entry
            sent_at, mail = mails[entry["message_id"]]
            rows.append(delivery_event(mail, sent_at, entry["recipients"], at=now,
                                       smtp_response=outcome.smtp_response,
                                       reporting_mta=outcome.reporting_mta))
            if not repo.remaining_entries(conn, entry["message_id"]):
                repo.set_message_status(conn, entry["message_id"], "delivered")
        repo.insert_events(conn, rows)
