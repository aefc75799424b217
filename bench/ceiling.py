"""What this machine serves without the SES pipeline: the ceiling the API's figures compare to.

A reference server built from openses' own HTTP server and SigV4 verifier: each request is read,
its signature verified, its JSON body decoded, and (id, body) committed to SQLite (WAL,
synchronous=FULL, one commit per batch of concurrent requests, the writers of several processes
taking turns on a lock file as openses' do) before a 200 with a MessageId. No identities, quota,
policy, MIME, queue or events. bench/load.py drives it, on the same cores, exactly as it drives
openses.

    python bench/ceiling.py --processes 2 --commit thread --duration 15

--commit says where the batch is committed:
  thread  a writer thread per process, as openses does (the event loop never blocks);
  loop    in the event loop itself, the lock tried without waiting: the loop is blocked during
          each commit, which openses does not allow itself; shown for what the hand-off costs;
  none    nothing is stored: the HTTP + SigV4 + JSON floor.

Its processes are pinned to a CPU each, as `openses serve --processes N` pins its own
(runtime.process_cpus); --no-pin leaves them to the scheduler.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from openses.protocol.http_server import HttpServer
from openses.protocol.sigv4 import SigV4Verifier, parse_signature
from openses.runtime import pin_to, process_cpus
from openses.store.database import exclusive, open_lock

from load import cpu_seconds  # bench/load.py, beside this script (its directory is on sys.path)

ACCESS_KEY, SECRET_KEY = "AKIACEILING000000000", "ceiling-secret-key"
_JSON = (b"content-type", b"application/json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--commit", choices=("thread", "loop", "none"), default="thread")
    p.add_argument("--port", type=int, default=18006)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--duration", type=int, default=15)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto",
                   help="bench/load.py's engine (auto: wrk when it is installed)")
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="leave the processes where the scheduler puts them (openses pins them, "
                        "OPENSES_PIN_PROCESSES, as the default does here)")
    return p.parse_args(argv)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


def _insert(db: sqlite3.Connection, rows: list[tuple[str, bytes]]) -> None:
    """One transaction, one fsync, for the whole batch."""
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO m(id, body) VALUES (?, ?)", rows)
    db.execute("COMMIT")


class ThreadCommits:
    """Requests queue (id, body); a writer thread commits what has queued and wakes the loop."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.db, self.lock, self.loop = _connect(path), open_lock(Path(f"{path}.lock")), loop
        self.queue: queue.SimpleQueue[tuple[tuple[str, bytes], asyncio.Future[None]]] = queue.SimpleQueue()
        threading.Thread(target=self._run, daemon=True).start()

    async def commit(self, row: tuple[str, bytes]) -> None:
        fut = self.loop.create_future()
        self.queue.put((row, fut))
        await fut

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while True:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            with exclusive(self.lock):
                _insert(self.db, [row for row, _ in batch])
            self.loop.call_soon_threadsafe(_resolve, [fut for _, fut in batch])


class LoopCommits:
    """Requests add their row; one callback per loop pass commits them all, in the loop."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.db, self.lock, self.loop = _connect(path), open_lock(Path(f"{path}.lock")), loop
        self.rows: list[tuple[str, bytes]] = []
        self.futures: list[asyncio.Future[None]] = []

    async def commit(self, row: tuple[str, bytes]) -> None:
        fut = self.loop.create_future()
        if not self.rows:
            self.loop.call_soon(self._flush)
        self.rows.append(row)
        self.futures.append(fut)
        await fut

    def _flush(self) -> None:
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process commits: try again on the next pass
            self.loop.call_soon(self._flush)
            return
        try:
            _insert(self.db, self.rows)
        finally:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
        futures, self.rows, self.futures = self.futures, [], []
        _resolve(futures)


class NoCommits:
    async def commit(self, row: tuple[str, bytes]) -> None:
        return None


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for fut in futures:
        if not fut.done():
            fut.set_result(None)


def _app(commits: Any) -> Any:
    verifier = SigV4Verifier()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = (await receive()).get("body", b"")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        signed = parse_signature(headers, query)
        verifier.verify(signed, secret_key=SECRET_KEY, method=scope["method"],
                        path=scope["raw_path"].decode("latin-1"), query=query, headers=headers,
                        body_sha256=None, body=body, expected_region=signed.credential.region,
                        expected_services=("ses",))
        orjson.loads(body)
        message_id = str(uuid.uuid4())
        await commits.commit((message_id, body))
        out = orjson.dumps({"MessageId": message_id})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [_JSON, (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})

    return app


async def _serve(sock: socket.socket, path: Path, mode: str) -> None:
    loop = asyncio.get_running_loop()
    commits = {"thread": ThreadCommits, "loop": LoopCommits}.get(mode)
    server = HttpServer(_app(commits(path, loop) if commits else NoCommits()), max_body=1 << 20)
    await server.start(sock=sock)
    await asyncio.Event().wait()


def _serve_process(sock: socket.socket, path: Path, mode: str) -> None:  # in each forked process
    try:
        import uvloop

        uvloop.run(_serve(sock, path, mode))
    finally:
        os._exit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="openses-ceiling-") as tmp:
        path = Path(tmp) / "ceiling.db"
        setup = _connect(path)
        setup.execute("CREATE TABLE m (id TEXT PRIMARY KEY, body BLOB NOT NULL)")
        setup.close()  # before the fork: each process opens its own
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", args.port))
        sock.listen(2048)
        pids = []
        cpus = process_cpus(sorted(os.sched_getaffinity(0)), args.processes) if args.pin else None
        for n in range(args.processes):
            pid = os.fork()
            if pid == 0:
                if cpus:
                    pin_to(cpus[n])
                _serve_process(sock, path, args.commit)
            pids.append(pid)
        sock.close()
        try:
            time.sleep(1.0)
            before = cpu_seconds(pids)
            load = [sys.executable, str(Path(__file__).with_name("load.py")),
                    "--endpoint", f"http://127.0.0.1:{args.port}", "--access-key", ACCESS_KEY,
                    "--secret-key", SECRET_KEY, "--api", "v2", "--concurrency", str(args.concurrency),
                    "--duration", str(args.duration), "--size", str(args.size), "--engine", args.engine]
            done = subprocess.run(load, capture_output=True, text=True, check=False)
            cpu = cpu_seconds(pids) - before
            print(f"ceiling: {args.processes} process(es), commit={args.commit}, "
                  + (f"on CPUs {', '.join(map(str, cpus))}" if cpus else "not pinned"))
            print(done.stdout.rstrip())
            if done.returncode != 0:
                print(done.stderr.rstrip(), file=sys.stderr)
                return done.returncode
            requests = next((int(line.split()[1]) for line in done.stdout.splitlines()
                             if line.startswith("requests")), 0)
            if requests:
                print(f"server CPU    {cpu:.1f} s, {1e6 * cpu / requests:.0f} µs a request")
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
