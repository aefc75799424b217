#!/usr/bin/env python3
"""Delivery throughput: messages/s from acceptance by the send pipeline to a local SMTP sink,
DKIM-signed with RSA-2048.

One process runs the real pipeline (SendingService.send_simple: the code the SES API and SMTP
doors call, minus HTTP), the group-commit SQLite store (synchronous=FULL) and the delivery
worker in relay mode; a second process runs a minimal SMTP sink that counts messages. The clock
stops when the sink has every message and the store holds every Delivery event.
--processes N adds N-1 processes that run only a delivery worker on the same database, as
`openses serve --processes N` does.

    python bench/delivery.py --messages 5000 --size 2048 [--processes 2] [--postfix]

--postfix also measures Debian's Postfix on the same machine (accept over SMTP → its durable
queue → relay to the same sink), the issue's comparison point.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import smtplib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SINK_READY = "ready"


# --- the sink: a minimal SMTP server that swallows mail and counts it ---------------------------


class _Sink(asyncio.Protocol):
    count = None  # multiprocessing.Value, set in sink_main

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport
        self.buf = b""
        self.data = False
        self.t.write(b"220 sink ESMTP\r\n")  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.data:
                end = self.buf.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.buf = self.buf[end + 5:]
                self.data = False
                with _Sink.count.get_lock():  # type: ignore[union-attr]
                    _Sink.count.value += 1  # type: ignore[union-attr]
                self.t.write(b"250 2.0.0 Ok: queued\r\n")  # type: ignore[attr-defined]
                continue
            line, sep, rest = self.buf.partition(b"\r\n")
            if not sep:
                return
            self.buf = rest
            self.t.write(self._reply(line.upper()))  # type: ignore[attr-defined]

    def _reply(self, line: bytes) -> bytes:
        if line.startswith(b"EHLO"):
            return b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n"
        if line.startswith(b"DATA"):
            self.data = True
            return b"354 go ahead\r\n"
        if line.startswith(b"QUIT"):
            self.t.close()  # type: ignore[attr-defined]
            return b"221 bye\r\n"
        return b"250 2.0.0 Ok\r\n"


def sink_main(port: int, count, ready) -> None:  # noqa: ANN001
    _Sink.count = count

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_Sink, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


# --- openses ------------------------------------------------------------------------------------


def _rsa_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _settings(data: Path, sink_port: int, connections: int):  # noqa: ANN202
    from openses.config import Settings

    return Settings(data_dir=data, delivery_mode="relay", relay_host="127.0.0.1", relay_port=sink_port,
                    relay_tls="none", worker_poll_interval=0.05, delivery_per_domain=connections)


def _worker(settings, store, pem: bytes):  # noqa: ANN001, ANN202
    from openses.delivery.dkim import DkimKey
    from openses.delivery.modes import build_worker

    key = DkimKey("example.com", "bench", "rsa-sha256", pem)

    async def lookup(account_id: str, domain: str) -> list[DkimKey]:
        return [key] if domain == "example.com" else []

    return build_worker(settings, store, key_lookup=lookup, hostname="bench.openses.local")


def worker_main(data: Path, sink_port: int, connections: int, pem: bytes, go, stop) -> None:  # noqa: ANN001
    """An extra process with only a delivery worker (forked before any loop or thread)."""
    from openses.runtime import tune_gc
    from openses.store.store import Store

    go.wait()
    settings = _settings(data, sink_port, connections)

    async def run() -> None:
        store = Store.open(settings.effective_database_url)
        store.start()
        worker = _worker(settings, store, pem)
        tune_gc()  # as openses serve does
        runner = asyncio.create_task(worker.run())
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await worker.shutdown(grace=1)
        runner.cancel()
        store.close()

    asyncio.run(run())


async def run_openses(args: argparse.Namespace, sink_port: int, count, data: Path, pem: bytes,  # noqa: ANN001
                      go) -> float:  # noqa: ANN001
    from openses.core.mime import SimpleContent
    from openses.core.sending import SendOptions
    from openses.runtime import build_services, tune_gc
    from openses.store import repositories as repo
    from openses.store.store import Store

    settings = _settings(data, sink_port, args.connections)
    store = Store.open(settings.effective_database_url)
    store.start()
    go.set()  # the schema exists: the extra workers may open the database
    worker = _worker(settings, store, pem)
    services = build_services(settings, store, on_accepted=worker.wake)
    account = services.accounts.create_account("bench", production=True, quota=(-1, -1))
    services.identities.set_status_sync(account.id, "example.com", "SUCCESS")
    new = services.accounts.create_key(account.id)
    principal = await services.directory.principal(new.access_key_id)
    body = "x" * max(0, args.size - 600)
    options = SendOptions(action="ses:SendEmail", api_version="2")
    tune_gc()  # as openses serve does
    runner = asyncio.create_task(worker.run())
    start = time.perf_counter()
    sem = asyncio.Semaphore(args.concurrency)

    async def one(i: int) -> None:
        async with sem:
            await services.sending.send_simple(
                principal, from_address="news@example.com", to=[f"user{i}@example.org"], cc=[], bcc=[],
                reply_to=[], content=SimpleContent(subject=f"bench {i}", text=body), return_path=None,
                options=options)

    await asyncio.gather(*(one(i) for i in range(args.messages)))
    accepted = time.perf_counter() - start
    while count.value < args.messages or await store.read(repo.queue_depth):
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    print(f"openses: accepted {args.messages} in {accepted:.2f}s ({args.messages / accepted:,.0f}/s); "
          f"accepted → DKIM-signed (RSA-2048) → sink: {args.messages / elapsed:,.0f} msgs/s")
    await worker.shutdown(grace=1)
    runner.cancel()
    store.close()
    return args.messages / elapsed


# --- Postfix for comparison ---------------------------------------------------------------------


def run_postfix(args: argparse.Namespace, sink_port: int, count) -> float:  # noqa: ANN001
    from tests.support.postfix import PostfixServer

    mta = PostfixServer(domains=[])
    mta.relay_to = f"[127.0.0.1]:{sink_port}"  # type: ignore[attr-defined]
    mta.start()
    try:
        with open(mta.etc / "main.cf", "a") as f:
            f.write(f"relayhost = [127.0.0.1]:{sink_port}\ndefault_destination_concurrency_limit = "
                    f"{args.connections}\nsmtp_tls_security_level = none\n")
        mta._run("reload")
        before = count.value
        message = (f"From: news@example.com\r\nTo: user@example.org\r\nSubject: bench\r\n\r\n"
                   f"{'x' * max(0, args.size - 100)}\r\n").encode()
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", mta.port) as s:
            for i in range(args.messages):
                s.sendmail("news@example.com", [f"user{i}@example.org"], message)
        while count.value - before < args.messages:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
    finally:
        mta.stop()
    print(f"postfix: SMTP accept → queue → relay to sink: {args.messages / elapsed:,.0f} msgs/s")
    return args.messages / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--size", type=int, default=2048, help="approximate message size in bytes")
    p.add_argument("--concurrency", type=int, default=256, help="sends in flight at once")
    p.add_argument("--connections", type=int, default=8, help="SMTP connections to the sink")
    p.add_argument("--processes", type=int, default=1, help="processes running a delivery worker")
    p.add_argument("--postfix", action="store_true", help="also measure Postfix (needs root and postfix)")
    args = p.parse_args()
    from tests.support.ports import free_port, wait_for_port

    port = free_port()
    count = multiprocessing.Value("q", 0)
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=sink_main, args=(port, count, ready), daemon=True)
    sink.start()
    ready.wait(10)
    wait_for_port(port)
    data = Path(tempfile.mkdtemp(prefix="openses-bench-"))
    pem = _rsa_pem()
    fork = multiprocessing.get_context("fork")
    go, stop = fork.Event(), fork.Event()
    workers = [fork.Process(target=worker_main, args=(data, port, args.connections, pem, go, stop), daemon=True)
               for _ in range(args.processes - 1)]
    for w in workers:
        w.start()
    try:
        ours = asyncio.run(run_openses(args, port, count, data, pem, go))
        stop.set()
        for w in workers:
            w.join(10)
        if args.postfix and os.geteuid() == 0:
            theirs = run_postfix(args, port, count)
            print(f"ratio openses / postfix: {ours / theirs:.2f}")
    finally:
        stop.set()
        sink.terminate()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
