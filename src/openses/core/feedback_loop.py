"""The feedback loop's background work, built from the settings: the events processor (with
the reputation judge after each pass) and the outbox sender. runtime.py starts both."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlalchemy.engine import Connection

from openses.config import Settings
from openses.core import reputation
from openses.core.event_dispatch import FeedbackProcessor, Processed
from openses.core.outbox import OutboxSender, RetryPolicy, UrllibPoster, run_loop
from openses.core.sns_signing import signer_from
from openses.store.store import Store


def reputation_policy(settings: Settings) -> reputation.Policy:
    return reputation.Policy(settings.reputation_min_volume, settings.reputation_window_days * 86400.0)


class FeedbackLoop:
    def __init__(self, settings: Settings, store: Store, forget: Callable[[str | None], None],
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._forget = forget
        self._processor = FeedbackProcessor(public_url=settings.effective_public_url, clock=clock)
        self._policy = reputation_policy(settings)
        self._interval = settings.event_poll_interval
        retry = RetryPolicy(settings.webhook_retry_first_seconds, settings.webhook_retry_max_seconds,
                            settings.webhook_max_age_seconds)
        self.sender = OutboxSender(store, UrllibPoster(settings.webhook_timeout), retry,
                                   allow_private=settings.webhook_allow_private,
                                   signer=signer_from(settings, store))

    def _pass(self, conn: Connection) -> tuple[Processed, set[str]]:
        done = self._processor.process(conn)
        changed = reputation.evaluate(conn, done.accounts, self._clock(), self._policy) \
            if done.accounts else set()
        return done, changed

    async def process_once(self) -> bool:
        done, changed = await self._store.write(self._pass)
        for account_id in changed | (done.accounts if done.suppressed else set()):
            self._forget(account_id)  # new EnforcementStatus or suppression entries: re-read now
        return done.events > 0

    def start(self) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(run_loop(self.process_once, self._interval, "events"), name="events"),
                asyncio.create_task(run_loop(self.sender.send_due, self._interval, "outbox"), name="outbox")]
