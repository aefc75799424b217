"""The API's HTTP/1.1 server (protocol/http_server.py) over real sockets, with http.client and raw bytes."""

from __future__ import annotations

import asyncio
import http.client
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from openses.protocol.http_server import HttpServer

MAX_BODY = 1000


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echo: method, path, query and body length back; a few paths behave differently."""
    message = await receive()
    body = message["body"]
    path = scope["path"]
    if path == "/boom":
        raise RuntimeError("the app failed")
    if path == "/short":  # a buggy app: fewer bytes than its Content-Length
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"abc"})
        return
    if path == "/stream":  # no Content-Length: the server must chunk
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    out = f"{scope['method']} {path} {scope['query_string'].decode()} {len(body)}".encode()
    headers = dict(scope["headers"])
    if b"x-echo" in headers:
        out += b" " + headers[b"x-echo"]
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    srv = HttpServer(app, max_body=MAX_BODY, keep_alive=5)
    await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop(grace=1)


def _request(port: int, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data, resp


def _raw(port: int, data: bytes, *, until_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not until_close:
                break
        return b"".join(chunks)


async def test_keep_alive_serves_several_requests_on_one_connection(server: HttpServer) -> None:
    def run() -> list[tuple[int, bytes]]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        out = []
        for i in range(3):
            conn.request("POST", f"/v2/x?i={i}", body=b"a" * i, headers={"X-Echo": "hi"})
            resp = conn.getresponse()
            out.append((resp.status, resp.read()))
            assert resp.getheader("date")
        conn.close()
        return out

    results = await asyncio.to_thread(run)
    assert results == [(201, b"POST /v2/x i=0 0 hi"), (201, b"POST /v2/x i=1 1 hi"), (201, b"POST /v2/x i=2 2 hi")]


async def test_pipelined_requests_are_answered_in_order(server: HttpServer) -> None:
    reqs = b"".join(b"GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
    reqs += b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = await asyncio.to_thread(_raw, server.port, reqs)
    bodies = [b"GET /p%d  0" % i for i in range(5)] + [b"GET /last  0"]
    positions = [out.index(b) for b in bodies]
    assert positions == sorted(positions)
    assert out.count(b"HTTP/1.1 201 Created\r\n") == 6


async def test_chunked_request_body_arrives_whole(server: HttpServer) -> None:
    raw = (b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    out = await asyncio.to_thread(_raw, server.port, raw)
    assert out.endswith(b"POST /c  11")


async def test_body_over_the_limit_gets_413_and_the_connection_closes(server: HttpServer) -> None:
    status, data, _ = await asyncio.to_thread(_request, server.port, "POST", "/big", b"x" * (MAX_BODY + 1))
    assert status == 413 and b"too large" in data


async def test_malformed_request_gets_400(server: HttpServer) -> None:
    out = await asyncio.to_thread(_raw, server.port, b"NOT HTTP AT ALL\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


async def test_head_has_headers_and_no_body(server: HttpServer) -> None:
    out = await asyncio.to_thread(_raw, server.port, b"HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201 ") and b"content-length: " in head and body == b""


async def test_response_without_length_is_chunked(server: HttpServer) -> None:
    status, data, resp = await asyncio.to_thread(_request, server.port, "GET", "/stream")
    assert status == 200 and data == b"one,two,three"
    assert resp.getheader("transfer-encoding") == "chunked"


async def test_expect_100_continue_gets_the_interim_reply(server: HttpServer) -> None:
    def run() -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n"
                         b"Connection: close\r\n\r\n")
            interim = sock.recv(100)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(b"abc")
            return b"".join(iter(lambda: sock.recv(65536), b""))

    out = await asyncio.to_thread(run)
    assert out.endswith(b"POST /e  3")


async def test_app_error_is_a_500_and_the_server_goes_on(server: HttpServer) -> None:
    status, _, _ = await asyncio.to_thread(_request, server.port, "GET", "/boom")
    assert status == 500
    status, data, _ = await asyncio.to_thread(_request, server.port, "GET", "/after")
    assert (status, data) == (201, b"GET /after  0")


async def test_http_1_0_closes_after_the_reply(server: HttpServer) -> None:
    out = await asyncio.to_thread(_raw, server.port, b"GET /old HTTP/1.0\r\n\r\n")
    assert b"connection: close\r\n" in out and out.endswith(b"GET /old  0")


async def test_percent_encoded_path_is_decoded_and_raw_path_kept() -> None:
    seen: dict[str, Any] = {}

    async def capture(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    srv = HttpServer(capture, max_body=MAX_BODY)
    await srv.start("127.0.0.1", 0)
    try:
        status, _, _ = await asyncio.to_thread(_request, srv.port, "GET", "/v2/email/identities/a%40b.com?x=1")
    finally:
        await srv.stop(grace=1)
    assert status == 204
    assert seen["path"] == "/v2/email/identities/a@b.com"
    assert seen["raw_path"] == b"/v2/email/identities/a%40b.com"
    assert seen["query_string"] == b"x=1"


async def test_url_the_parser_cannot_split_gets_400(server: HttpServer) -> None:
    # the request line parses, the URL does not split (a port out of range)
    out = await asyncio.to_thread(_raw, server.port, b"GET http://h:99999/ HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ") and out.endswith(b"Malformed request URL.")


async def test_idle_keep_alive_connection_is_closed_after_the_timeout() -> None:
    srv = HttpServer(app, max_body=MAX_BODY, keep_alive=0.2)
    await srv.start("127.0.0.1", 0)
    try:
        def run() -> bytes:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
                sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
                return b"".join(iter(lambda: sock.recv(65536), b""))  # ends when the server closes

        out = await asyncio.to_thread(run)
    finally:
        await srv.stop(grace=1)
    assert out.endswith(b"GET /a  0")


async def test_endless_headers_get_431(server: HttpServer) -> None:
    head = b"GET /h HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(66))  # just over 64 KB: read in one go
    out = await asyncio.to_thread(_raw, server.port, head + b"\r\n")
    assert out.startswith(b"HTTP/1.1 431 ")


async def test_reply_shorter_than_its_length_closes_the_connection(server: HttpServer) -> None:
    def run() -> tuple[bytes, bool]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
            sock.sendall(b"GET /short HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            try:
                while chunk := sock.recv(65536):
                    data += chunk
            except TimeoutError:
                return data, False  # still open: the client would wait for 7 more bytes
            return data, True

    out, closed = await asyncio.to_thread(run)
    assert out.startswith(b"HTTP/1.1 200 ") and out.endswith(b"\r\n\r\nabc") and closed
