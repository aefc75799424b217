"""Sending limits per account: recipients per second and recipients per rolling 24 hours.

SES counts recipients, not messages, against both limits. The per-second rate is a token bucket
(burst = one second's worth); the daily quota is a per-minute histogram of the last 24 hours,
seeded from the database (send_counts) at start, then merged with the database's last minutes
every OPENSES_QUOTA_SYNC_INTERVAL seconds so that nodes sharing one database count each other's
sends (runtime.sync_send_counts). The processes of one host share both through
SharedSendLimiter. A limit of -1 (or 0 for the rate) means unlimited.
"""

from __future__ import annotations

import fcntl
import logging
import math
import mmap
import os
import struct
import tempfile
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from openses.errors import Throttling

log = logging.getLogger(__name__)
DAY_MINUTES = 24 * 60


@dataclass
class _AccountWindow:
    tokens: float = 0.0
    refilled_at: float = 0.0
    minutes: deque[list[int]] = field(default_factory=deque)  # [minute, recipients]
    total: int = 0


class SendLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._accounts: dict[str, _AccountWindow] = {}
        self._forgotten = 0

    def _window(self, account_id: str, rate: float, now: float) -> _AccountWindow:
        w = self._accounts.get(account_id)
        if w is None:
            w = self._accounts[account_id] = _AccountWindow(tokens=max(rate, 1.0), refilled_at=now)
        return w

    def _expire(self, w: _AccountWindow, now_minute: int) -> None:
        while w.minutes and w.minutes[0][0] <= now_minute - DAY_MINUTES:
            w.total -= w.minutes.popleft()[1]

    def take(self, account_id: str, recipients: int, *, max_per_day: float, max_rate: float) -> None:
        """Count `recipients` against the account's limits or raise Throttling, counting nothing."""
        now = self._clock()
        w = self._window(account_id, max_rate, now)
        minute = int(now // 60)
        self._expire(w, minute)
        if max_per_day >= 0 and w.total + recipients > max_per_day:
            raise Throttling("Daily message quota exceeded.")
        if max_rate > 0:
            burst = max(max_rate, 1.0)
            w.tokens = min(burst, w.tokens + max(0.0, now - w.refilled_at) * max_rate)
            w.refilled_at = now
            # A message with more recipients than one second's worth passes on a full bucket.
            need = min(float(recipients), burst)
            if w.tokens < need:
                raise Throttling("Maximum sending rate exceeded.")
            w.tokens -= recipients
        if w.minutes and w.minutes[-1][0] == minute:
            w.minutes[-1][1] += recipients
        else:
            w.minutes.append([minute, recipients])
        w.total += recipients

    def give_back(self, account_id: str, recipients: int) -> None:
        """Undo a take() whose send failed before it was committed."""
        w = self._accounts.get(account_id)
        if w is None or not w.minutes:
            return
        w.minutes[-1][1] -= recipients
        w.total -= recipients
        w.tokens += recipients

    def sent_last_24h(self, account_id: str) -> int:
        w = self._accounts.get(account_id)
        if w is None:
            return 0
        self._expire(w, int(self._clock() // 60))
        return w.total

    def load(self, account_id: str, counts: Iterable[tuple[int, int]]) -> None:
        """Replace what we know of the account's last 24 hours with the database's counts."""
        w = self._window(account_id, math.inf, self._clock())  # a bucket made here starts full
        w.minutes = deque([m, n] for m, n in sorted(counts))
        w.total = sum(n for _, n in w.minutes)
        self._expire(w, int(self._clock() // 60))

    def merge(self, account_id: str, counts: Iterable[tuple[int, int]]) -> None:
        """Raise each given minute's count to the database's where the database has more.

        Nodes sharing a database each count what they accept; the database (send_counts) has
        every node's committed sends. Taking the larger of the two per minute adds the other
        nodes' sends and keeps ours that are not committed yet."""
        now = self._clock()
        now_minute = int(now // 60)
        w = self._window(account_id, math.inf, now)
        self._expire(w, now_minute)
        known = {entry[0]: entry for entry in w.minutes}
        added = False
        for minute, n in counts:
            if not now_minute - DAY_MINUTES < minute <= now_minute:
                continue
            entry = known.get(minute)
            if entry is None:
                entry = known[minute] = [minute, 0]
                w.minutes.append(entry)
                added = True
            if n > entry[1]:
                w.total += n - entry[1]
                entry[1] = n
        if added:
            w.minutes = deque(sorted(w.minutes))

    def forget(self, account_id: str) -> None:
        self._accounts.pop(account_id, None)
        self._forgotten += 1

    def forgets(self) -> int:
        """How many forget() calls so far: a merge of counts read before one is stale (the
        database's rows were deleted with them) and is dropped (runtime.merge_send_counts)."""
        return self._forgotten


# --- one limiter for several processes on one host (openses serve --processes N) -----------------

_KEY_BYTES = 64
_SLOT = struct.Struct(f"<{_KEY_BYTES}sddqq")  # account id, tokens, refilled_at, total, last minute
_RING = struct.Struct(f"<{DAY_MINUTES}q")  # recipients per minute, at index minute % DAY_MINUTES
_SLOT_BYTES = _SLOT.size + _RING.size


class SharedSendLimiter(SendLimiter):
    """The same limits, kept in shared memory so that every process of one host counts against
    one bucket and one 24-hour window per account.

    Made before the processes are forked (an anonymous shared mapping and an unnamed lock file are
    inherited). The lock is a POSIX record lock (fcntl), which the kernel releases when its
    process dies, so a process killed inside take() cannot stop the others; a thread lock orders
    the threads of one process, which record locks do not. Each account has a slot (open
    addressing on the account id's CRC-32) holding its token bucket and a ring of 1,440
    per-minute counts with their running total. An account that finds the table full falls back
    to this process's own limiter (logged once).
    """

    def __init__(self, slots: int = 4096, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self._slots = slots
        self._memory = mmap.mmap(-1, slots * _SLOT_BYTES)  # MAP_SHARED | MAP_ANONYMOUS
        self._forgets = mmap.mmap(-1, _INT.size)  # forget() calls in every process
        lock_file, path = tempfile.mkstemp(prefix="openses-limits-")
        os.unlink(path)  # the descriptor is all the processes need
        self._lock = _HostLock(lock_file)
        self._index: dict[str, int] = {}
        self._overflow: set[str] = set()  # accounts that found the table full: not probed again

    # slot layout helpers (called with the lock held)

    def _find(self, account_id: str, create: bool) -> int | None:
        cached = self._index.get(account_id)
        if cached is not None:  # a slot, once taken, keeps its account for good (forget only zeroes it)
            return cached
        if account_id in self._overflow:
            return None
        key = account_id.encode()[:_KEY_BYTES]
        start = zlib.crc32(key) % self._slots
        for probe in range(self._slots):
            slot = (start + probe) % self._slots
            stored = self._key_at(slot)
            if stored == account_id:
                self._index[account_id] = slot
                return slot
            if stored == "":
                if not create:
                    return None
                _SLOT.pack_into(self._memory, slot * _SLOT_BYTES, key, 0.0, 0.0, 0, 0)
                _RING.pack_into(self._memory, slot * _SLOT_BYTES + _SLOT.size, *([0] * DAY_MINUTES))
                self._index[account_id] = slot
                return slot
        if create:
            if not self._overflow:
                log.warning("shared send limiter full (%d accounts): further accounts are limited per "
                            "process", self._slots)
            self._overflow.add(account_id)
        return None

    def _key_at(self, slot: int) -> str:
        raw = self._memory[slot * _SLOT_BYTES: slot * _SLOT_BYTES + _KEY_BYTES]
        return raw.rstrip(b"\0").decode()

    def _read(self, slot: int) -> list[Any]:
        return list(_SLOT.unpack_from(self._memory, slot * _SLOT_BYTES))

    def _write(self, slot: int, fields: list[Any]) -> None:
        _SLOT.pack_into(self._memory, slot * _SLOT_BYTES, *fields)

    def _ring_offset(self, slot: int, minute: int) -> int:
        return slot * _SLOT_BYTES + _SLOT.size + (minute % DAY_MINUTES) * 8

    def _advance(self, slot: int, fields: list[Any], now_minute: int) -> None:
        """Drop the minutes that left the 24-hour window since the slot's last minute."""
        last = fields[4]
        if now_minute <= last:
            return
        if now_minute - last >= DAY_MINUTES:
            _RING.pack_into(self._memory, slot * _SLOT_BYTES + _SLOT.size, *([0] * DAY_MINUTES))
            fields[3] = 0
        else:
            for minute in range(last + 1, now_minute + 1):
                offset = self._ring_offset(slot, minute)
                fields[3] -= _INT.unpack_from(self._memory, offset)[0]
                _INT.pack_into(self._memory, offset, 0)
        fields[4] = now_minute

    def _add(self, slot: int, fields: list[Any], minute: int, recipients: int) -> None:
        offset = self._ring_offset(slot, minute)
        _INT.pack_into(self._memory, offset, _INT.unpack_from(self._memory, offset)[0] + recipients)
        fields[3] += recipients

    # the SendLimiter interface

    def take(self, account_id: str, recipients: int, *, max_per_day: float, max_rate: float) -> None:
        with self._lock:
            slot = self._find(account_id, create=True)
            if slot is None:
                super().take(account_id, recipients, max_per_day=max_per_day, max_rate=max_rate)
                return
            now = self._clock()
            minute = int(now // 60)
            fields = self._read(slot)
            if fields[2] == 0 and fields[4] == 0 and fields[1] == 0.0:  # new: a full bucket
                fields[1], fields[2] = max(max_rate, 1.0), now
            self._advance(slot, fields, minute)
            if max_per_day >= 0 and fields[3] + recipients > max_per_day:
                self._write(slot, fields)
                raise Throttling("Daily message quota exceeded.")
            if max_rate > 0:
                burst = max(max_rate, 1.0)
                fields[1] = min(burst, fields[1] + max(0.0, now - fields[2]) * max_rate)
                fields[2] = now
                if fields[1] < min(float(recipients), burst):
                    self._write(slot, fields)
                    raise Throttling("Maximum sending rate exceeded.")
                fields[1] -= recipients
            self._add(slot, fields, minute, recipients)
            self._write(slot, fields)

    def give_back(self, account_id: str, recipients: int) -> None:
        with self._lock:
            slot = self._find(account_id, create=False)
            if slot is None:
                super().give_back(account_id, recipients)
                return
            fields = self._read(slot)
            self._add(slot, fields, fields[4], -recipients)
            fields[1] += recipients
            self._write(slot, fields)

    def sent_last_24h(self, account_id: str) -> int:
        with self._lock:
            slot = self._find(account_id, create=False)
            if slot is None:
                return super().sent_last_24h(account_id)
            fields = self._read(slot)
            self._advance(slot, fields, int(self._clock() // 60))
            self._write(slot, fields)
            return int(fields[3])

    def load(self, account_id: str, counts: Iterable[tuple[int, int]]) -> None:
        with self._lock:
            slot = self._find(account_id, create=True)
            if slot is None:
                super().load(account_id, counts)
                return
            now_minute = int(self._clock() // 60)
            ring = [0] * DAY_MINUTES
            for minute, n in counts:
                if now_minute - DAY_MINUTES < minute <= now_minute:
                    ring[minute % DAY_MINUTES] += n
            _RING.pack_into(self._memory, slot * _SLOT_BYTES + _SLOT.size, *ring)
            fields = self._read(slot)
            fields[3], fields[4] = sum(ring), now_minute
            self._write(slot, fields)

    def merge(self, account_id: str, counts: Iterable[tuple[int, int]]) -> None:
        with self._lock:
            slot = self._find(account_id, create=True)
            if slot is None:
                super().merge(account_id, counts)
                return
            now_minute = int(self._clock() // 60)
            fields = self._read(slot)
            self._advance(slot, fields, now_minute)
            for minute, n in counts:
                if now_minute - DAY_MINUTES < minute <= now_minute:
                    offset = self._ring_offset(slot, minute)
                    known = _INT.unpack_from(self._memory, offset)[0]
                    if n > known:
                        self._add(slot, fields, minute, n - known)
            self._write(slot, fields)

    def forget(self, account_id: str) -> None:
        with self._lock:
            slot = self._find(account_id, create=False)
            if slot is not None:  # a fresh slot: empty bucket state, empty window
                fields = self._read(slot)
                _RING.pack_into(self._memory, slot * _SLOT_BYTES + _SLOT.size, *([0] * DAY_MINUTES))
                self._write(slot, [fields[0], 0.0, 0.0, 0, 0])
            _INT.pack_into(self._forgets, 0, _INT.unpack_from(self._forgets, 0)[0] + 1)
        super().forget(account_id)

    def forgets(self) -> int:
        with self._lock:
            return int(_INT.unpack_from(self._forgets, 0)[0])


_INT = struct.Struct("<q")


class _HostLock:
    """The threads of this process (a thread lock), then the processes of the host (a record lock
    on `fd`). A class rather than a generator-based context manager: take() holds it for every
    send, and a generator's enter and exit cost ≈ 0.9 µs against ≈ 0.2."""

    __slots__ = ("_threads", "_fd")

    def __init__(self, fd: int) -> None:
        self._threads = threading.Lock()
        self._fd = fd

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()
