#!/usr/bin/env python3
"""Load generator for an SES-style SMTP submission endpoint (openses's email-smtp door).

    python bench/smtp.py --host 127.0.0.1 --port 2587 --user AKID --password SMTPPASS \
        --from sender@example.com --to rcpt@example.org --size 2048 \
        --connections 16 --duration 20 --mode reuse|new \
        [--tls starttls|implicit] [--json] [--server-pid PID]

* ``--mode reuse``: each of ``--connections`` connections does EHLO, STARTTLS, EHLO and
  AUTH PLAIN once, then sends messages back to back (MAIL/RCPT/DATA per message; MAIL, RCPT
  and DATA go out in one write when the server advertises PIPELINING, RFC 2920).
* ``--mode new``: each worker opens a fresh connection per message: greeting, EHLO,
  STARTTLS, EHLO, AUTH PLAIN, MAIL/RCPT/DATA, QUIT.

One asyncio event loop with raw streams and ``StreamWriter.start_tls`` drives every
connection, so the client costs little CPU; the tool measures and prints its own CPU time
(``time.process_time``) so a reader can tell whether it was the bottleneck. Certificates
are not verified (openses uses a self-signed one by default).

Workers stop *starting* messages at the deadline but finish the ones in flight, so the
accepted count is exactly the number of messages the server said "250" to after DATA.

See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import ssl
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

RSS_INTERVAL_S = 0.5
PERCENTILES = (50, 90, 99)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2587)
    p.add_argument("--user", required=True, help="SMTP user name (the access key id)")
    p.add_argument("--password", required=True, help="SMTP password derived from the secret")
    p.add_argument("--from", dest="mail_from", default="sender@example.com")
    p.add_argument("--to", dest="rcpt_to", default="rcpt@example.org")
    p.add_argument("--size", type=int, default=2048,
                   help="message size in bytes (RFC 5322 text, CRLF, before dot-stuffing)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--duration", type=float, default=20.0, help="seconds")
    p.add_argument("--mode", choices=("reuse", "new"), default="reuse")
    p.add_argument("--tls", choices=("starttls", "implicit"), default="starttls")
    p.add_argument("--ehlo", default="bench.localhost", help="name sent with EHLO")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to wait for any one reply / connect / handshake")
    p.add_argument("--no-pipelining", action="store_true",
                   help="send MAIL, RCPT, DATA one at a time even if PIPELINING is offered")
    p.add_argument("--server-pid", type=int, help="sample RSS (and CPU) of this pid + children")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.connections < 1 or args.duration <= 0 or args.size < 1:
        p.error("--connections, --duration and --size must be positive")
    return args


# --------------------------------------------------------------------------------------------
# The message
# --------------------------------------------------------------------------------------------


def build_message(mail_from: str, rcpt_to: str, size: int) -> tuple[bytes, int]:
    """DATA payload (dot-stuffed, ending in CRLF.CRLF) and the unstuffed message length.

    The message is padded with 76-character lines of 'x' so that the unstuffed text is exactly
    ``size`` bytes (or the minimal header block if ``size`` is smaller). One body line starts
    with a dot, so dot-stuffing is exercised on every message."""
    head = (
        f"From: {mail_from}\r\n"
        f"To: {rcpt_to}\r\n"
        "Subject: openses smtp bench\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        ".leading dot, stuffed on the wire\r\n"
    ).encode()
    room = size - len(head)
    if room == 1:  # one byte can't be a CRLF-terminated line: lengthen the dot line instead
        head = head[:-2] + b"!\r\n"
        room = 0
    lines = [head]
    while room > 0:
        n = 78 if room >= 80 else (77 if room == 79 else room)  # never leave 1 byte over
        lines.append(b"x" * (n - 2) + b"\r\n")
        room -= n
    message = b"".join(lines)
    stuffed = b"\r\n".join(
        b"." + line if line.startswith(b".") else line for line in message.split(b"\r\n")
    )
    assert stuffed.endswith(b"\r\n")
    return stuffed + b".\r\n", len(message)


# --------------------------------------------------------------------------------------------
# Stats
# --------------------------------------------------------------------------------------------


@dataclass
class Stats:
    accepted: int = 0
    attempted: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    # (code, stage) -> count; stage is where the reply came: greeting, ehlo, starttls, auth,
    # mail, rcpt, data (the reply to DATA), message (the reply after the final dot), quit
    replies: Counter = field(default_factory=Counter)
    sample_text: dict[str, str] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)  # socket/timeout/protocol errors
    connections: int = 0
    per_second: Counter = field(default_factory=Counter)  # accepted, by second of the run
    message_ids: int = 0  # 250 replies that carried "250 Ok <MessageId>"

    def bad_reply(self, stage: str, code: str, text: str) -> None:
        self.replies[(code, stage)] += 1
        self.sample_text.setdefault(code, text[:200])


class ReplyError(Exception):
    """The server answered with an unexpected code; the connection may still be usable."""

    def __init__(self, stage: str, code: str, text: str) -> None:
        super().__init__(f"{stage}: {text}")
        self.stage, self.code, self.text = stage, code, text


async def read_reply(reader: asyncio.StreamReader) -> tuple[str, str]:
    """One (possibly multi-line) reply: its code and its lines joined by '\\n'.
    Callers bound the wait with asyncio.timeout() around a whole exchange (one timer per
    transaction rather than a wait_for task per line keeps the client cheap)."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("server closed the connection")
        lines.append(line.rstrip(b"\r\n").decode("utf-8", "replace"))
        if len(line) < 4 or line[3:4] != b"-":
            break
    return lines[-1][:3], "\n".join(lines)


async def expect(reader: asyncio.StreamReader, stage: str, want: str) -> str:
    code, text = await read_reply(reader)
    if code != want:
        raise ReplyError(stage, code, text)
    return text


# --------------------------------------------------------------------------------------------
# SMTP client
# --------------------------------------------------------------------------------------------


def client_tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed server certificate
    return ctx


class Client:
    """Shared, precomputed request bytes and settings for every worker."""

    def __init__(self, args: argparse.Namespace, stats: Stats) -> None:
        self.args = args
        self.stats = stats
        self.tls = client_tls_context()
        self.timeout = args.timeout
        self.ehlo = f"EHLO {args.ehlo}\r\n".encode()
        token = base64.b64encode(f"\0{args.user}\0{args.password}".encode()).decode()
        self.auth = f"AUTH PLAIN {token}\r\n".encode()
        self.mail = f"MAIL FROM:<{args.mail_from}>\r\n".encode()
        self.rcpt = f"RCPT TO:<{args.rcpt_to}>\r\n".encode()
        self.data = b"DATA\r\n"
        self.payload, self.message_size = build_message(args.mail_from, args.rcpt_to, args.size)
        self.pipelined_envelope = self.mail + self.rcpt + self.data
        self.deadline = 0.0
        self.t0 = 0.0

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """Connect, secure, authenticate. Returns the streams and whether PIPELINING is on.
        Each step (connect, every reply, the TLS handshake) gets the full --timeout."""
        a, t = self.args, self.timeout
        implicit = a.tls == "implicit"
        async with asyncio.timeout(t):
            reader, writer = await asyncio.open_connection(
                a.host, a.port, ssl=self.tls if implicit else None,
                server_hostname=a.host if implicit else None)
        self.stats.connections += 1
        try:
            async with asyncio.timeout(t):
                await expect(reader, "greeting", "220")
                writer.write(self.ehlo)
                ehlo = await expect(reader, "ehlo", "250")
            if not implicit:
                if "STARTTLS" not in ehlo.upper():
                    raise ReplyError("ehlo", "250", "server does not offer STARTTLS")
                async with asyncio.timeout(t):
                    writer.write(b"STARTTLS\r\n")
                    await expect(reader, "starttls", "220")
                async with asyncio.timeout(t):
                    await writer.start_tls(self.tls, server_hostname=a.host)
                async with asyncio.timeout(t):
                    writer.write(self.ehlo)
                    ehlo = await expect(reader, "ehlo", "250")
            async with asyncio.timeout(t):
                writer.write(self.auth)
                await expect(reader, "auth", "235")
        except BaseException:
            writer.transport.abort()
            raise
        keywords = {line[4:].split(" ", 1)[0].upper() for line in ehlo.split("\n")}
        pipelining = "PIPELINING" in keywords and not a.no_pipelining
        return reader, writer, pipelining

    async def send_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       pipelining: bool) -> None:
        """One transaction, bounded by --timeout as a whole. Raises ReplyError (after RSET)
        if any reply is unexpected."""
        stats = self.stats
        stats.attempted += 1
        start = time.perf_counter_ns()
        async with asyncio.timeout(self.timeout):
            if pipelining:  # RFC 2920: MAIL, RCPT, DATA in one packet, then the replies
                writer.write(self.pipelined_envelope)
                got = [await read_reply(reader) for _ in range(3)]
                for (code, text), (stage, want) in zip(got, (("mail", "250"), ("rcpt", "250"),
                                                             ("data", "354"))):
                    if code != want:
                        await self._reset(reader, writer, data_open=got[2][0] == "354")
                        raise ReplyError(stage, code, text)
            else:
                for cmd, stage, want in ((self.mail, "mail", "250"), (self.rcpt, "rcpt", "250"),
                                         (self.data, "data", "354")):
                    writer.write(cmd)
                    code, text = await read_reply(reader)
                    if code != want:
                        await self._reset(reader, writer, data_open=False)
                        raise ReplyError(stage, code, text)
            writer.write(self.payload)
            code, text = await read_reply(reader)
        end = time.perf_counter_ns()
        if code != "250":
            raise ReplyError("message", code, text)
        stats.accepted += 1
        stats.latencies_ns.append(end - start)
        stats.per_second[int(end / 1e9 - self.t0)] += 1
        if text.startswith("250 Ok "):
            stats.message_ids += 1

    async def _reset(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     data_open: bool) -> None:
        # If DATA got 354 although MAIL or RCPT failed (can't happen with a conforming
        # server) end the data phase with an empty message before RSET.
        if data_open:
            writer.write(b".\r\n")
            await read_reply(reader)
        writer.write(b"RSET\r\n")
        await read_reply(reader)

    async def quit(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                writer.write(b"QUIT\r\n")
                code, text = await read_reply(reader)
            if code != "221":
                self.stats.bad_reply("quit", code, text)
        except (OSError, TimeoutError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()  # no TLS close_notify wait: the server closes after 221

    def record(self, exc: BaseException) -> None:
        if isinstance(exc, ReplyError):
            self.stats.bad_reply(exc.stage, exc.code, exc.text)
        elif isinstance(exc, TimeoutError):
            self.stats.errors["timeout"] += 1
        elif isinstance(exc, ssl.SSLError):
            self.stats.errors[f"ssl:{exc.reason or type(exc).__name__}"] += 1
        else:
            self.stats.errors[type(exc).__name__] += 1

    # ---- workers ----------------------------------------------------------------------------

    async def reuse_worker(self) -> None:
        conn = None
        while time.perf_counter() < self.deadline:
            try:
                if conn is None:
                    conn = await self.open()
                await self.send_one(*conn)
            except ReplyError as exc:
                self.record(exc)
                if conn is not None and exc.code != "421" and exc.stage in (
                        "mail", "rcpt", "data", "message"):
                    continue  # the transaction failed (and was RSET); the session is fine
                if conn is not None:  # 421 or a setup failure (open() already closed it)
                    conn[1].transport.abort()
                conn = None
                await asyncio.sleep(0.1)  # don't spin on a server that refuses us
            except (OSError, TimeoutError, ConnectionError, ssl.SSLError) as exc:
                self.record(exc)
                if conn is not None:
                    conn[1].transport.abort()
                conn = None
                await asyncio.sleep(0.1)
        if conn is not None:
            await self.quit(conn[0], conn[1])

    async def new_worker(self) -> None:
        while time.perf_counter() < self.deadline:
            conn = None
            start = time.perf_counter_ns()
            try:
                conn = await self.open()
                before = self.stats.accepted
                await self.send_one(*conn)
                if self.stats.accepted > before:  # latency = connect → 250 after the dot
                    self.stats.latencies_ns[-1] = time.perf_counter_ns() - start
            except (ReplyError, OSError, TimeoutError, ConnectionError,
                    ssl.SSLError) as exc:
                self.record(exc)
                if conn is not None:
                    conn[1].transport.abort()
                    conn = None
                await asyncio.sleep(0.05)
            if conn is not None:
                await self.quit(conn[0], conn[1])


async def run_load(client: Client) -> float:
    args = client.args
    worker = client.reuse_worker if args.mode == "reuse" else client.new_worker
    client.t0 = time.perf_counter()
    client.deadline = client.t0 + args.duration
    await asyncio.gather(*(worker() for _ in range(args.connections)))
    return time.perf_counter() - client.t0


# --------------------------------------------------------------------------------------------
# Server process sampling (RSS every 0.5 s, CPU at start/end)
# --------------------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants (parent links read from /proc/*/stat)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def vm_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (children that already exited are not included)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class ServerSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.rss_kb: list[int] = []
        self.stop_event = threading.Event()
        self.cpu_start = self.tree_cpu()

    def tree_cpu(self) -> float:
        return sum(cpu_seconds(p) for p in process_tree(self.pid))

    def sample(self) -> None:
        if os.path.exists(f"/proc/{self.pid}"):
            self.rss_kb.append(sum(vm_rss_kb(p) for p in process_tree(self.pid)))

    def run(self) -> None:
        while True:
            self.sample()
            if self.stop_event.wait(RSS_INTERVAL_S):
                return

    def finish(self, wall_s: float) -> dict[str, Any]:
        self.stop_event.set()
        self.join()
        self.sample()
        cpu = self.tree_cpu() - self.cpu_start
        if not self.rss_kb:
            return {"pid": self.pid, "error": "process not found"}
        mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
        return {
            "pid": self.pid,
            "samples": len(self.rss_kb),
            "rss_first_mb": mb(self.rss_kb[0]),
            "rss_last_mb": mb(self.rss_kb[-1]),
            "rss_peak_mb": mb(max(self.rss_kb)),
            "cpu_s": round(cpu, 2),
            "cpu_cores": round(cpu / wall_s, 2) if wall_s else None,
            "rss_series_kb": self.rss_kb,
        }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def percentile_ms(sorted_ns: list[int], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_ns:
        return None
    rank = max(1, -(-len(sorted_ns) * p // 100))
    return round(sorted_ns[int(rank) - 1] / 1e6, 2)


def summarize(client: Client, wall_s: float, cpu_s: float,
              server: dict[str, Any] | None) -> dict[str, Any]:
    a, s = client.args, client.stats
    lat = sorted(s.latencies_ns)
    latency = {f"p{p}": percentile_ms(lat, p) for p in PERCENTILES}
    latency["max"] = round(lat[-1] / 1e6, 2) if lat else None
    latency["mean"] = round(sum(lat) / len(lat) / 1e6, 2) if lat else None
    non_250: dict[str, dict[str, Any]] = {}
    for (code, stage), n in sorted(s.replies.items()):
        entry = non_250.setdefault(code, {"count": 0, "by_stage": {}, "text": s.sample_text[code]})
        entry["count"] += n
        entry["by_stage"][stage] = n
    full = [s.per_second.get(i, 0) for i in range(int(a.duration))]  # whole seconds only
    return {
        "mode": a.mode,
        "tls": a.tls,
        "target": f"{a.host}:{a.port}",
        "connections": a.connections,
        "duration_s": round(wall_s, 3),
        "message_bytes": client.message_size,
        "accepted": s.accepted,
        "attempted": s.attempted,
        "accepted_per_s": round(s.accepted / wall_s, 1) if wall_s else 0.0,
        "latency_ms": latency,
        "non_250": non_250,
        "socket_errors": dict(s.errors),
        "connections_opened": s.connections,
        "replies_with_message_id": s.message_ids,
        "per_second": {"min": min(full, default=0), "max": max(full, default=0),
                       "zero_seconds": sum(1 for n in full if n == 0), "series": full},
        "client_cpu_s": round(cpu_s, 2),
        "client_cpu_cores": round(cpu_s / wall_s, 2) if wall_s else None,
        "client_cpu_us_per_msg": round(cpu_s / s.accepted * 1e6, 1) if s.accepted else None,
        "server": server,
    }


def print_text(r: dict[str, Any]) -> None:
    lat = r["latency_ms"]
    f = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"mode={r['mode']} tls={r['tls']} target={r['target']} "
          f"connections={r['connections']} message={r['message_bytes']}B")
    print(f"duration        {r['duration_s']:.2f} s")
    print(f"accepted        {r['accepted']} of {r['attempted']} attempted  "
          f"({r['accepted_per_s']:.1f} msg/s)")
    print("latency ms      " + "  ".join(f"{k}={f(lat[k])}" for k in
                                          ("p50", "p90", "p99", "max")))
    ps = r["per_second"]
    print(f"per second      min={ps['min']} max={ps['max']} seconds_with_0={ps['zero_seconds']}")
    if r["non_250"]:
        print("non-250 replies:")
        for code, e in r["non_250"].items():
            stages = ", ".join(f"{k}={v}" for k, v in e["by_stage"].items())
            print(f"  {code}: {e['count']}  ({stages})  e.g. {e['text']!r}")
    else:
        print("non-250 replies none")
    print(f"socket errors   {r['socket_errors'] or 'none'}")
    print(f"connections     {r['connections_opened']} opened")
    us = r["client_cpu_us_per_msg"]
    print(f"client CPU      {r['client_cpu_s']:.2f} s = {r['client_cpu_cores']:.2f} cores"
          + (f", {us:.0f} us/msg" if us is not None else ""))
    srv = r["server"]
    if srv:
        if "error" in srv:
            print(f"server          pid {srv['pid']}: {srv['error']}")
        else:
            print(f"server          pid {srv['pid']}+children: RSS peak={srv['rss_peak_mb']} MB "
                  f"(first={srv['rss_first_mb']} last={srv['rss_last_mb']}, "
                  f"{srv['samples']} samples), CPU {srv['cpu_s']} s = "
                  f"{srv['cpu_cores']} cores")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stats = Stats()
    client = Client(args, stats)
    sampler = ServerSampler(args.server_pid) if args.server_pid else None
    if sampler:
        sampler.start()
    cpu0 = time.process_time()
    try:
        wall = asyncio.run(run_load(client))
    finally:
        cpu = time.process_time() - cpu0
    server = sampler.finish(wall) if sampler else None
    report = summarize(client, wall, cpu, server)
    if args.json:
        print(json.dumps(report))
    else:
        print_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
