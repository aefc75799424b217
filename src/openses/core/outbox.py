"""The outbox sender: POSTs frozen event payloads to subscriptions, with retries and a log.

Each row is leased, POSTed, and its attempt recorded (status code or error). A 2xx retires it;
anything else retries with exponential back-off (±20 % jitter) until the row is older than
`max_age` — hours by default, so a receiver that is down for a while loses nothing. Delivery is
at least once: a receiver that answers after a time-out may see a message again (the SNS
MessageId, or X-Openses-Event-Id, tells duplicates apart).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from openses.core import topics
from openses.core.sns_signing import SnsSigner
from openses.store import feedback_repo as frepo
from openses.store.store import Store

log = logging.getLogger("openses.events")
SIGNATURE_HEADER = "X-Openses-Signature"
TIMESTAMP_HEADER = "X-Openses-Timestamp"


@dataclass(frozen=True)
class PostResult:
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult: ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead to an address check_target refused: treat it as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibPoster:
    """POST with the standard library, in a thread (webhook volume is small next to mail)."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        return await asyncio.to_thread(self._post, url, body, headers)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return PostResult(response.status)
        except urllib.error.HTTPError as e:
            return PostResult(e.code, f"HTTP {e.code}")
        except (OSError, ValueError) as e:
            return PostResult(None, str(e) or type(e).__name__)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>": receivers check it and refuse old timestamps."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def headers_for(row: dict[str, Any], sub: dict[str, Any], body: bytes, now: float) -> dict[str, str]:
    ts = int(now)
    arn = sub["topic_arn"]
    headers = {"Content-Type": "text/plain; charset=UTF-8", "User-Agent": "openses-notifications",
               "x-amz-sns-message-type": row["kind"], "x-amz-sns-topic-arn": arn,
               "x-amz-sns-subscription-arn": f"{arn}:{sub['id']}", "X-Openses-Delivery-Id": str(row["id"]),
               TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(sub["secret"], ts, body)}
    if row["event_id"] is not None:
        headers["X-Openses-Event-Id"] = str(row["event_id"])
    if sub["raw"]:
        headers["Content-Type"] = "application/json"
        headers["x-amz-sns-rawdelivery"] = "true"
    return headers


@dataclass
class RetryPolicy:
    first: float = 5.0
    ceiling: float = 900.0
    max_age: float = 3 * 24 * 3600.0

    def next_attempt(self, attempts: int, created_at: float, now: float, rand: float) -> float | None:
        """When to try again after `attempts` failures, or None: give up."""
        if now - created_at >= self.max_age:
            return None
        return now + min(self.ceiling, self.first * 2 ** max(0, attempts - 1)) * (0.8 + 0.4 * rand)


class OutboxSender:
    def __init__(self, store: Store, poster: Poster, retry: RetryPolicy, *, allow_private: bool,
                 lease_seconds: float = 120.0, batch: int = 100, clock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random, signer: SnsSigner | None = None) -> None:
        self._store = store
        self._poster = poster
        self._retry = retry
        self._allow_private = allow_private
        self._lease = lease_seconds
        self._batch = batch
        self._clock = clock
        self._rand = rand
        self._signer = signer  # signs SNS envelopes (raw deliveries are sent as they are)

    async def send_due(self) -> int:
        """Attempt every due row once; how many were attempted."""
        now = self._clock()
        rows = await self._store.write(lambda c: frepo.claim_outbox(c, now, self._lease, self._batch))
        if rows:
            await asyncio.gather(*(self._attempt(r) for r in rows))
        return len(rows)

    async def _attempt(self, row: dict[str, Any]) -> None:
        sub = await self._store.read(lambda c: frepo.get_subscription(c, row["subscription_id"]))
        if sub is None:
            await self._record(row, PostResult(None, "the subscription was deleted"), final=True)
            return
        try:
            await asyncio.to_thread(topics.check_target, sub["endpoint"], allow_private=self._allow_private)
        except topics.UnsafeTarget as e:
            await self._record(row, PostResult(None, str(e)), final=True)
            return
        body = row["body"].encode() if self._signer is None or sub["raw"] else \
            await self._signer.signed_body(row["body"], sub["topic_arn"])
        result = await self._poster.post(sub["endpoint"], body, headers_for(row, sub, body, self._clock()))
        await self._record(row, result)

    async def _record(self, row: dict[str, Any], result: PostResult, *, final: bool = False) -> None:
        now = self._clock()
        later = None if result.ok or final else self._retry.next_attempt(row["attempts"] + 1, row["created_at"],
                                                                         now, self._rand())
        outcome = "delivered" if result.ok else ("pending" if later is not None else "failed")
        if outcome != "delivered":
            log.info("outbox %s: attempt %s failed (%s)%s", row["id"], row["attempts"] + 1,
                     result.error or result.status, "" if later else "; giving up")
        await self._store.write(lambda c: frepo.record_attempt(
            c, row["id"], at=now, status_code=result.status, error=result.error, outcome=outcome,
            next_attempt_at=later))


async def run_loop(step: Callable[[], Awaitable[Any]], interval: float, name: str) -> None:
    """Call `step` every `interval` seconds (at once again when it found work) until cancelled."""
    while True:
        try:
            busy = await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s pass failed", name)
            busy = False
        if not busy:
            await asyncio.sleep(interval)
