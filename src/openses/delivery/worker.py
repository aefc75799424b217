"""The delivery worker: lease due queue entries, deliver them, record what happened.

Leases expire, so entries held by a worker that died are leased again by another. Recording an
attempt checks that we still hold its lease, so two live workers never both record one delivery.
Each entry is delivered by its own task (at most `max_in_flight` at once, `per_domain` per
recipient domain); the group-commit writer gathers their records into few transactions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

from openses.delivery.bounce import failed_outcome
from openses.delivery.limits import DomainLimiter
from openses.delivery.outcome import Outcome
from openses.delivery.parcel import Parcel
from openses.delivery.prepare import Preparer
from openses.delivery.recorder import Attempt, Recorder
from openses.delivery.retry import RetryPolicy
from openses.store import delivery_repo as drepo
from openses.store import repositories as repo
from openses.store import tracking_repo
from openses.store.store import Store

log = logging.getLogger("openses.delivery")


def config_sets_of(mails: dict[str, tuple[float, Any]]) -> dict[str, str | None]:
    """message id → the configuration set it was sent with (a tag of its Send event's mail)."""
    return {m: (mail.get("tags", {}).get("ses:configuration-set") or [None])[0] for m, (_, mail) in mails.items()}


class Transport(Protocol):
    needs_data: bool  # False: deliver() never reads parcel.data (no read, no signing)

    async def deliver(self, parcel: Parcel) -> Outcome: ...

    async def close(self) -> None: ...


class DeliveryWorker:
    def __init__(self, store: Store, transport: Transport, *, lease_seconds: float = 300,
                 poll_interval: float = 1.0, batch: int = 256, max_in_flight: int = 512, per_domain: int = 20,
                 retry: RetryPolicy | None = None, preparer: Preparer | None = None,
                 clock: Callable[[], float] = time.time, rand: Callable[[], float] = random.random) -> None:
        self._store = store
        self._transport = transport
        self._lease = lease_seconds
        self._poll = poll_interval
        self._batch = batch
        self._max_in_flight = max_in_flight
        self._limiter = DomainLimiter(per_domain)
        self._preparer = preparer or Preparer(bounce_domain="email.openses.local")
        self._clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._recorder = Recorder(self.owner, retry or RetryPolicy(), rand)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._not_started: dict[int, int] = {}  # entry id → 1 while it waits for its domain's slot
        self._to_record: list[tuple[Attempt, asyncio.Future[None]]] = []

    def wake(self) -> None:
        """Something was queued (callable from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            started = 0
            free = self._max_in_flight - len(self._tasks)
            if free > 0:
                try:
                    started = len(await self._start(min(free, self._batch)))
                except Exception:
                    log.exception("delivery pass failed")
            if started and len(self._tasks) < self._max_in_flight:
                continue  # more may be due right now
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            await asyncio.sleep(0.01)  # let concurrent sends pile up into one lease

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def shutdown(self, grace: float = 10.0) -> None:
        """Graceful stop: lease nothing more, let attempts under way finish (up to `grace`
        seconds), hand back entries not yet tried, close connections."""
        self.stop()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        waiting = list(self._not_started)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if waiting:
            await self._store.write(lambda c: drepo.release(c, waiting, self.owner))
        await self._transport.close()

    async def run_once(self) -> int:
        """Lease one batch and deliver it to the end; the number of entries handled."""
        tasks = await self._start(self._batch)
        if tasks:
            await asyncio.gather(*tasks)
        return len(tasks)

    async def _start(self, limit: int) -> list[asyncio.Task[None]]:
        now = self._clock()
        entries = await self._store.write(lambda c: repo.lease_due(c, self.owner, now, self._lease, limit))
        if not entries:
            return []
        ids = list({e["message_id"] for e in entries})
        mails = await self._store.read(lambda c: repo.send_mail_objects(c, ids))
        contents = await self._contents(entries, ids, config_sets_of(mails))
        tasks = []
        for entry in entries:
            self._not_started[entry["id"]] = 1
            task = asyncio.create_task(self._handle(entry, contents.get(entry["message_id"], b""),
                                                    mails.get(entry["message_id"])))
            self._tasks.add(task)
            task.add_done_callback(self._finished)
            tasks.append(task)
        return tasks

    def _finished(self, task: asyncio.Task[None]) -> None:
        saturated = len(self._tasks) >= self._max_in_flight
        self._tasks.discard(task)
        if saturated:
            self._wake.set()

    async def _contents(self, entries: list[dict[str, Any]], ids: list[str],
                        config_sets: dict[str, str | None]) -> dict[str, bytes]:
        accounts = {e["message_id"]: e["account_id"] for e in entries}
        if not self._transport.needs_data:
            try:
                await self._track_stored(accounts, config_sets)
            except Exception:  # the leased entries must still be delivered (untracked)
                log.exception("tracking captured messages failed")
            return {}
        rows = await self._store.read(lambda c: drepo.messages_to_deliver(c, ids))
        return await self._preparer.contents(rows, accounts, config_sets)

    async def _track_stored(self, accounts: dict[str, str], config_sets: dict[str, str | None]) -> None:
        """Capture mode delivers the stored copy itself: open and click tracking rewrites it there
        (rewriting is idempotent, so a message leased again is not tracked twice)."""
        ids = [m for m, cs in config_sets.items() if m in accounts and await self._preparer.tracks(accounts[m], cs)]
        if not ids:
            return
        rows = await self._store.read(lambda c: drepo.messages_to_deliver(c, ids))
        stored = {m: bytes(r["raw"]) for m, r in rows.items()}
        copies = {m: await self._preparer.tracked(raw, accounts[m], config_sets[m], m) for m, raw in stored.items()}
        changed = {m: data for m, data in copies.items() if data != stored[m]}
        if changed:
            await self._store.write(lambda c: tracking_repo.replace_raw(c, changed))

    async def _handle(self, entry: dict[str, Any], data: bytes, mail: tuple[float, Any] | None) -> None:
        async with self._limiter.slot(entry["domain"]):
            self._not_started.pop(entry["id"], None)
            outcome = await self._attempt(self._preparer.parcel(entry, data))
        await self._record(Attempt(entry, outcome, mail, self._clock()))

    async def _record(self, attempt: Attempt) -> None:
        """Attempts finishing in the same loop turn are recorded in one write (one commit, and
        batched statements for the delivered ones) rather than one write each."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._to_record.append((attempt, done))
        if len(self._to_record) == 1:
            loop.call_soon(lambda: asyncio.ensure_future(self._flush_records()))
        await done

    async def _flush_records(self) -> None:
        batch, self._to_record = self._to_record, []
        try:
            await self._store.write(lambda c: self._recorder.record_many(c, [a for a, _ in batch]))
        except Exception:  # the leases run out and other attempts follow: nothing is lost
            log.exception("recording %d delivery attempts failed", len(batch))
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def _attempt(self, parcel: Parcel) -> Outcome:
        try:
            return await self._transport.deliver(parcel)
        except Exception as e:  # a transport bug must not lose the message: retry it later
            log.exception("delivery of %s to %s failed", parcel.message_id, parcel.domain)
            return failed_outcome(f"451 4.3.0 Local delivery error: {type(e).__name__}", reporting_mta="localhost")
