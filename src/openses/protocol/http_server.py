"""A lean HTTP/1.1 server for ASGI apps: asyncio protocol + httptools' parser.

It serves what openses serves: whole request bodies and headers (up to limits), responses with or
without a Content-Length (chunked when an app streams without one), keep-alive, pipelined requests
answered in order, `Expect: 100-continue`, HEAD. No upgrades (WebSocket), no lifespan, no HTTP/2.

Why not uvicorn (chosen first, ARCHITECTURE.md): in py-spy profiles of the API (v2 SendEmail,
64 connections) uvicorn took ≈ 20 % of the CPU: two socket writes per reply (status and headers,
then the body), a regular expression per response header, a task and several objects per cycle.
Here a reply is one write; measured end to end, one process kept busy: +4 % requests a second
(the README's performance section).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

import httptools

log = logging.getLogger("openses.http")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

_REASONS = {100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
            301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
            307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required",
            413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
            429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
            501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_STATUS_LINES: dict[int, bytes] = {}
MAX_PENDING = 16  # pipelined requests read ahead before reading pauses
MAX_HEAD = 65_536  # bytes of request line and headers (SigV4 requests use ~1 KB)


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode()
        _STATUS_LINES[status] = line
    return line


_date: tuple[int, bytes] = (0, b"")


def _date_header() -> bytes:
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, b"date: " + email.utils.formatdate(now, usegmt=True).encode() + b"\r\n")
    return _date[1]


class HttpServer:
    """Serve `app` on a listening socket (`sock`) or host and port; `max_body` bytes a request."""

    def __init__(self, app: ASGIApp, *, max_body: int, keep_alive: float = 75.0) -> None:
        self.app = app
        self.max_body = max_body
        self.keep_alive = keep_alive
        self.connections: set[_Connection] = set()
        self._server: Any = None  # asyncio's Server, or uvloop's (not a subclass of it)

    async def start(self, host: str | None = None, port: int | None = None, *,
                    sock: Any = None) -> Any:  # asyncio's Server or uvloop's
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=2048)
        else:
            self._server = await loop.create_server(  # port None: asyncio's own error, as before
                lambda: _Connection(self), host, port, backlog=2048)  # type: ignore[arg-type]
        return self._server

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, let requests in progress finish (up to `grace` s), close the rest."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close_when_idle()
        deadline = time.monotonic() + grace
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.abort()


class _Request:
    __slots__ = ("method", "url", "headers", "head", "body", "size", "keep_alive", "version", "expect")

    def __init__(self) -> None:
        self.url = b""
        self.head = 0  # bytes of URL and headers so far
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.method = "GET"
        self.keep_alive = True
        self.version = "1.1"
        self.expect = False


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: Any = None  # asyncio's Transport, or uvloop's (not a subclass of it)
        self.parser = httptools.HttpRequestParser(self)
        self.request: _Request | None = None  # the one being parsed
        self.pending: deque[_Request] = deque()  # parsed, not yet answered
        self.task: asyncio.Task[None] | None = None
        self.closing = False  # close once idle
        self.lost = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()
        self.paused = False
        self.idle_timer: asyncio.TimerHandle | None = None
        self.client: tuple[str, int] | None = None
        self.local: tuple[str, int] | None = None

    # --- transport events -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.server.connections.add(self)
        peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        self.client = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        self.local = (local[0], local[1]) if isinstance(local, tuple) else None
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.lost.set()
        self.writable.set()
        if self.idle_timer is not None:
            self.idle_timer.cancel()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, b"Upgrades are not supported.")
        except httptools.HttpParserError as err:
            if isinstance(err.__context__, _TooLarge):  # raised in on_body, wrapped by the parser
                self._fail(413, b"Request body too large.")
            elif isinstance(err.__context__, _HeadTooLarge):
                self._fail(431, b"Request headers too large.")
            else:
                self._fail(400, b"Malformed HTTP request.")

    def eof_received(self) -> bool | None:
        return None  # close our side too once the reply is written (the transport does)

    # --- parser callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.request = _Request()

    def on_url(self, url: bytes) -> None:
        assert self.request is not None
        self.request.url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.request is not None
        self._count_head(len(name) + len(value))
        name = name.lower()
        self.request.headers.append((name, value))
        if name == b"expect" and value.lower() == b"100-continue":
            self.request.expect = True

    def _count_head(self, size: int) -> None:
        assert self.request is not None
        self.request.head += size
        if self.request.head > MAX_HEAD:
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        req = self.request
        assert req is not None and self.transport is not None
        req.method = self.parser.get_method().decode("ascii")
        req.version = self.parser.get_http_version()
        req.keep_alive = self.parser.should_keep_alive()
        if req.expect and not self.pending and self.task is None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        req = self.request
        assert req is not None
        req.size += len(body)
        if req.size > self.server.max_body:
            raise _TooLarge
        req.body.append(body)

    def on_message_complete(self) -> None:
        req, self.request = self.request, None
        assert req is not None and self.transport is not None
        if self.idle_timer is not None:  # stopped only now: a request that stalls half-way times out
            self.idle_timer.cancel()
            self.idle_timer = None
        self.pending.append(req)
        if len(self.pending) >= MAX_PENDING and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        if self.task is None:
            self.task = self.loop.create_task(self._answer())

    # --- answering --------------------------------------------------------------------------

    async def _answer(self) -> None:
        try:
            while self.pending and not self.lost.is_set():
                req = self.pending.popleft()
                if self.paused and len(self.pending) < MAX_PENDING // 2:
                    self.paused = False
                    assert self.transport is not None
                    self.transport.resume_reading()
                keep = await self._cycle(req)
                if not keep:
                    self._close()
                    return
        except Exception:  # a bug here must not leave the client waiting
            log.exception("HTTP connection failed")
            self._close()
            return
        finally:
            self.task = None
        if self.closing:
            self._close()
        else:
            self._arm_idle_timer()

    async def _cycle(self, req: _Request) -> bool:
        """Run the app for one request; whether the connection stays open."""
        try:
            parsed: Any = httptools.parse_url(req.url)  # its stub says bytes where None comes
        except httptools.HttpParserInvalidURLError:
            _Cycle(self, req, b"").write_whole(400, [(b"content-type", b"text/plain")], b"Malformed request URL.")
            return False
        raw_path: bytes = parsed.path or b"/"
        body = req.body[0] if len(req.body) == 1 else b"".join(req.body)
        scope: Scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": req.version, "server": self.local, "client": self.client, "scheme": "http",
            "method": req.method, "root_path": "", "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path, "query_string": parsed.query or b"", "headers": req.headers,
        }
        cycle = _Cycle(self, req, body)
        failed = False
        try:
            await self.server.app(scope, cycle.receive, cycle.send)
        except Exception:
            log.exception("HTTP request %s %s failed", req.method, raw_path[:200].decode("latin-1"))
            failed = True
        if not cycle.started:  # the app failed, or returned without a reply
            cycle.write_whole(500, [(b"content-type", b"text/plain")], b"Internal Server Error")
            return False
        if failed:
            return False
        if not cycle.complete:  # the app stopped before its last body: the client cannot tell where
            if cycle.head and self.transport is not None and not self.transport.is_closing():
                self.transport.write(cycle.head)  # the reply ends, so the connection closes after it
            return False
        return req.keep_alive and not cycle.close

    # --- helpers ----------------------------------------------------------------------------

    def _fail(self, status: int, message: bytes) -> None:
        """A request we cannot parse or take: answer it (unless a reply is under way) and close."""
        assert self.transport is not None
        if self.task is None and not self.pending:
            self.transport.write(_status_line(status) + b"content-type: text/plain\r\ncontent-length: " +
                                 str(len(message)).encode() + b"\r\nconnection: close\r\n\r\n" + message)
            self._close()
        else:
            self.pending.clear()
            self.closing = True
            self.transport.pause_reading()

    def _arm_idle_timer(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.idle_timer = self.loop.call_later(self.server.keep_alive, self._close)

    def close_when_idle(self) -> None:
        self.closing = True
        if self.task is None and self.request is None:
            self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class _TooLarge(Exception):
    pass


class _HeadTooLarge(Exception):
    pass


class _Cycle:
    """One request's ASGI receive and send."""

    __slots__ = ("conn", "req", "body", "read", "started", "complete", "close", "chunked", "head",
                 "length", "sent")

    def __init__(self, conn: _Connection, req: _Request, body: bytes) -> None:
        self.conn = conn
        self.req = req
        self.body = body
        self.read = False
        self.started = False
        self.complete = False
        self.close = False
        self.chunked = False
        self.head = b""
        self.length: int | None = None
        self.sent = 0

    async def receive(self) -> dict[str, Any]:
        if not self.read:
            self.read = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.conn.lost.wait()  # nothing more comes: only a disconnect
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        conn = self.conn
        if conn.lost.is_set():
            return
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("the response has already started")
            self.started = True
            self._start(message["status"], message.get("headers") or [])
            return
        if kind != "http.response.body" or not self.started or self.complete:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if self.req.method == "HEAD":
            body = b""
        if self.length is not None:
            self.sent += len(body)
            if self.sent > self.length:
                raise RuntimeError("the response is longer than its Content-Length")
        if self.chunked:
            data = (b"%x\r\n" % len(body) + body + b"\r\n" if body else b"") + (b"" if more else b"0\r\n\r\n")
        else:
            data = body
        if self.head:
            data, self.head = self.head + data, b""
        if not conn.writable.is_set():
            await conn.writable.wait()
        assert conn.transport is not None
        if data and not conn.transport.is_closing():
            conn.transport.write(data)
        if not more:
            self.complete = True
            if self.length is not None and self.sent < self.length and self.req.method != "HEAD":
                log.error("HTTP reply shorter than its Content-Length (%d of %d bytes)", self.sent, self.length)
                self.close = True  # the client learns where it ends only when the connection closes

    def _start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        parts = [_status_line(status), _date_header()]
        for name, value in headers:
            if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
                raise RuntimeError("a line break in a response header")
            lname = name.lower()
            if lname == b"content-length":
                self.length = int(value)
            elif lname == b"connection" and b"close" in value.lower():
                self.close = True
            parts += (name, b": ", value, b"\r\n")
        if self.length is None and self.req.method != "HEAD" and status not in (204, 304) and status >= 200:
            self.chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
        if not self.req.keep_alive and not self.close:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        self.head = b"".join(parts)  # written with the first body bytes: one write for most replies

    def write_whole(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.started = True
        self._start(status, [*headers, (b"content-length", str(len(body)).encode())])
        transport = self.conn.transport
        if transport is not None and not transport.is_closing():
            transport.write(self.head + (b"" if self.req.method == "HEAD" else body))
        self.head = b""
        self.complete = True
