#!/usr/bin/env python3
"""Load generator for the SES SendEmail API (v2 rest-json and v1 query).

The generator shares CPU with the server under test, so it is built to be
cheap per request:

* SigV4 has no nonce, so one signed request stays valid while its X-Amz-Date
  is within the server's +/-15 min skew window.  We sign once (botocore) and
  replay the same bytes, re-signing every 60 s instead of per request.
* When ``wrk`` is installed it does the sending (C, epoll, multi-threaded) via
  a generated Lua script; wrk cannot re-sign mid-run, so a wrk run is capped at
  10 minutes.  Otherwise a built-in asyncio keep-alive client is used.
* With ``--server-pid`` the server's RSS (plus its descendants) is sampled
  every 0.5 s so a soak run can show whether memory stays flat, and its CPU
  time during the run is divided by the requests sent.

See bench/README.md for usage and how each figure is computed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

RESIGN_INTERVAL_S = 60.0
WRK_MAX_DURATION_S = 600
RSS_INTERVAL_S = 0.5
NO_CODE = "-"
LUA_MARKER = "@@LOAD_JSON@@"
PERCENTILES = (50, 90, 99)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the CLI; defaults match a local openses dev server."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", default="http://127.0.0.1:8005")
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--api", choices=("v2", "v1"), default="v2")
    p.add_argument("--concurrency", type=int, default=64, help="open connections")
    p.add_argument("--duration", type=int, default=60, help="seconds")
    p.add_argument("--size", type=int, default=2048, help="request body bytes")
    p.add_argument("--from", dest="sender", default="sender@example.com")
    p.add_argument("--to", dest="recipient", default="rcpt@example.com")
    p.add_argument("--subject", default="load test")
    p.add_argument("--server-pid", type=int, help="sample this pid's RSS (+children)")
    p.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto",
                   help="auto = wrk if on PATH, else the asyncio client")
    p.add_argument("--threads", type=int, default=0,
                   help="wrk threads (default: min(cpu count, concurrency))")
    p.add_argument("--timeout", type=int, default=10, help="per-request timeout, seconds")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if urlsplit(args.endpoint).scheme != "http":
        p.error("only http:// endpoints are supported (the asyncio client has no TLS)")
    if args.concurrency < 1 or args.duration < 1:
        p.error("--concurrency and --duration must be >= 1")
    return args


# --------------------------------------------------------------------------
# Request construction and signing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedRequest:
    """One fully signed request, replayable until its X-Amz-Date goes stale."""

    method: str
    url: str
    path: str
    headers: dict[str, str]  # includes Host; excludes Content-Length
    body: bytes
    signed_at: float

    def raw(self) -> bytes:
        """HTTP/1.1 wire bytes for the asyncio client."""
        lines = [f"{self.method} {self.path} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        lines += [f"Content-Length: {len(self.body)}", "Connection: keep-alive", "", ""]
        return "\r\n".join(lines).encode("latin-1") + self.body


def _pad(build: Any, size: int) -> bytes:
    """Build a body whose padding field makes the total exactly ``size`` bytes.

    Padding is ASCII 'x', which is identical after JSON- or URL-encoding, so
    the length arithmetic is exact.  A size below the minimum yields the
    minimal body.
    """
    minimal = build("")
    return build("x" * max(0, size - len(minimal)))


def build_body(args: argparse.Namespace) -> tuple[str, str, bytes]:
    """Return (path, content type, body) for the chosen API."""
    if args.api == "v2":
        def v2(text: str) -> bytes:
            doc = {
                "FromEmailAddress": args.sender,
                "Destination": {"ToAddresses": [args.recipient]},
                "Content": {"Simple": {
                    "Subject": {"Data": args.subject},
                    "Body": {"Text": {"Data": text}},
                }},
            }
            return json.dumps(doc, separators=(",", ":")).encode()
        return "/v2/email/outbound-emails", "application/json", _pad(v2, args.size)

    def v1(text: str) -> bytes:
        return urlencode({
            "Action": "SendEmail",
            "Version": "2010-12-01",
            "Source": args.sender,
            "Destination.ToAddresses.member.1": args.recipient,
            "Message.Subject.Data": args.subject,
            "Message.Body.Text.Data": text,
        }).encode()
    return "/", "application/x-www-form-urlencoded; charset=utf-8", _pad(v1, args.size)


def sign_request(args: argparse.Namespace) -> SignedRequest:
    """Sign the SendEmail request with botocore's SigV4 (service 'ses').

    Host is set explicitly so the signed value is exactly what goes on the
    wire (wrk would otherwise send the host without the port).
    """
    path, content_type, body = build_body(args)
    url = args.endpoint.rstrip("/") + path
    headers = {"Host": urlsplit(url).netloc, "Content-Type": content_type}
    req = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(Credentials(args.access_key, args.secret_key), "ses", args.region).add_auth(req)
    return SignedRequest("POST", url, path, dict(req.headers.items()), body, time.time())


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


@dataclass
class RunResult:
    """Engine-independent outcome of one load run."""

    engine: str
    duration_s: float
    requests: int  # completed responses, any status
    statuses: Counter[int] = field(default_factory=Counter)
    error_codes: Counter[tuple[int, str]] = field(default_factory=Counter)
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def normalize_code(raw: str) -> str:
    """Reduce 'ns#Code:uri' style error types (x-amzn-ErrorType / __type) to 'Code'."""
    code = raw.strip().split(":", 1)[0].rsplit("#", 1)[-1]
    return code or NO_CODE


_XML_CODE = re.compile(rb"<Code>\s*([^<]*?)\s*</Code>")
_JSON_TYPE = re.compile(rb'"(?:__type|code|Code)"\s*:\s*"([^"]*)"')


def code_from_body(body: bytes) -> str:
    """Error code from an XML (<Code>) or JSON (__type/code) error body."""
    m = _XML_CODE.search(body) or _JSON_TYPE.search(body)
    return normalize_code(m.group(1).decode("utf-8", "replace")) if m else NO_CODE


# --------------------------------------------------------------------------
# wrk engine
# --------------------------------------------------------------------------


def lua_string(value: str | bytes) -> str:
    """Quote arbitrary bytes as a Lua string literal (decimal escapes)."""
    data = value.encode() if isinstance(value, str) else value
    out = []
    for b in data:
        if 32 <= b < 127 and b not in (34, 92):  # printable, not " or \
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


# Per-thread tallies live in globals so done() can fetch them via thread:get.
# response() is on the hot path: 2xx costs one table increment; only non-2xx
# responses look for an error code (x-amzn-ErrorType header, then the body).
_LUA_BODY = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  codes = {}
end

local function error_code(headers, body)
  for name, value in pairs(headers) do
    if string.lower(name) == "x-amzn-errortype" then return value end
  end
  if body then
    local c = string.match(body, "<Code>%s*(.-)%s*</Code>")
      or string.match(body, '"__type"%s*:%s*"([^"]*)"')
      or string.match(body, '"[Cc]ode"%s*:%s*"([^"]*)"')
    if c then return c end
  end
  return "-"
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 200 or status > 299 then
    local key = status .. "|" .. error_code(headers, body)
    codes[key] = (codes[key] or 0) + 1
  end
end

local function encode(v)
  local t = type(v)
  if t == "table" then
    local parts = {}
    for k, x in pairs(v) do
      parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(x)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    return string.format("%.17g", v)
  elseif t == "string" then
    return '"' .. string.gsub(v, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
    end) .. '"'
  end
  return "null"
end

local function merge(into, from)
  for k, n in pairs(from or {}) do into[k] = (into[k] or 0) + n end
end

function done(summary, latency, requests)
  local all_statuses, all_codes = {}, {}
  for _, thread in ipairs(threads) do
    merge(all_statuses, thread:get("statuses"))
    merge(all_codes, thread:get("codes"))
  end
  local pct = {}
  for _, p in ipairs({__PERCENTILES__}) do pct[tostring(p)] = latency:percentile(p) end
  io.write("__MARKER__ " .. encode({
    duration_us = summary.duration,
    requests = summary.requests,
    errors = summary.errors,
    latency_us = {percentiles = pct, max = latency.max, mean = latency.mean},
    statuses = all_statuses,
    codes = all_codes,
  }) .. "\n")
end
"""


def render_lua(req: SignedRequest) -> str:
    """Lua script that makes wrk send ``req`` verbatim and report JSON in done().

    No request() function is defined, so wrk builds the request bytes once per
    thread rather than calling into Lua for every request.
    """
    lines = [
        "-- generated by bench/load.py; do not edit",
        f"wrk.method = {lua_string(req.method)}",
        f"wrk.path = {lua_string(req.path)}",
        f"wrk.body = {lua_string(req.body)}",
    ]
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in req.headers.items()]
    body = _LUA_BODY.replace("__PERCENTILES__", ", ".join(map(str, PERCENTILES)))
    return "\n".join(lines) + "\n" + body.replace("__MARKER__", LUA_MARKER)


def run_wrk(args: argparse.Namespace, wrk: str) -> RunResult:
    """Run one wrk pass (<= 10 min, the freshness budget of one signature)."""
    notes: list[str] = []
    duration = args.duration
    if duration > WRK_MAX_DURATION_S:
        duration = WRK_MAX_DURATION_S
        notes.append(f"duration capped at {WRK_MAX_DURATION_S}s: wrk cannot re-sign "
                     "mid-run; use --engine python for longer soaks")
    threads = args.threads or min(os.cpu_count() or 1, args.concurrency)
    threads = max(1, min(threads, args.concurrency))
    req = sign_request(args)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="load-", delete=False) as f:
        f.write(render_lua(req))
        script = f.name
    cmd = [wrk, "-t", str(threads), "-c", str(args.concurrency), "-d", f"{duration}s",
           "--timeout", f"{args.timeout}s", "-s", script, req.url]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    finally:
        os.unlink(script)
    return parse_wrk_output(proc.stdout, proc.stderr, proc.returncode, notes)


def parse_wrk_output(stdout: str, stderr: str, rc: int, notes: list[str]) -> RunResult:
    """Turn the done() JSON line into a RunResult (wrk's own text is ignored)."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith(LUA_MARKER)), None)
    if rc != 0 or line is None:
        raise RuntimeError(f"wrk failed (rc={rc}):\n{stdout}\n{stderr}")
    data = json.loads(line[len(LUA_MARKER):])
    lat = data["latency_us"]
    latency = {f"p{p}": _us_to_ms(lat["percentiles"].get(str(p))) for p in PERCENTILES}
    latency |= {"max": _us_to_ms(lat["max"]), "mean": _us_to_ms(lat["mean"])}
    codes: Counter[tuple[int, str]] = Counter()
    for key, n in data["codes"].items():
        status, _, code = key.partition("|")
        codes[(int(status), normalize_code(code))] += int(n)
    requests = int(data["requests"])
    return RunResult(
        engine="wrk",
        duration_s=data["duration_us"] / 1e6,
        requests=requests,
        statuses=Counter({int(k): int(v) for k, v in data["statuses"].items()}),
        error_codes=codes,
        latency_ms=latency if requests else {k: None for k in latency},
        socket_errors={k: int(v) for k, v in data["errors"].items() if k != "status"},
        notes=notes,
    )


def _us_to_ms(value: float | None) -> float | None:
    return None if value is None else round(value / 1000.0, 3)


# --------------------------------------------------------------------------
# asyncio engine (fallback when wrk is absent)
# --------------------------------------------------------------------------


class ResignedPayload:
    """Current wire bytes, swapped for a freshly signed copy every 60 s."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self.request = sign_request(args)
        self.raw = self.request.raw()

    async def refresh_forever(self) -> None:
        """Re-sign periodically so X-Amz-Date never ages past the skew window."""
        while True:
            await asyncio.sleep(RESIGN_INTERVAL_S)
            self.request = sign_request(self._args)
            self.raw = self.request.raw()


@dataclass
class PyStats:
    """Mutable tallies shared by all asyncio workers (single thread, no locks)."""

    latencies_ns: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    error_codes: Counter[tuple[int, str]] = field(default_factory=Counter)
    socket_errors: Counter[str] = field(default_factory=Counter)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes, bool]:
    """Minimal HTTP/1.1 response read: (status, head, body, server_closes).

    Only Content-Length framing is handled (what the SES APIs send); without
    it the body runs to EOF and the connection is treated as closing.
    """
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    i = lower.find(b"\r\ncontent-length:")
    if i >= 0:
        length = int(head[i + 17:head.index(b"\r\n", i + 2)])
        body = await reader.readexactly(length) if length else b""
        closes = b"\r\nconnection: close" in lower
    else:
        body, closes = await reader.read(), True
    return status, head, body, closes


def error_code_from(head: bytes, body: bytes) -> str:
    """Error code: x-amzn-ErrorType header first (v2), then the body (v1 <Code>)."""
    m = re.search(rb"\r\nx-amzn-errortype:\s*([^\r]*)", head, re.IGNORECASE)
    return normalize_code(m.group(1).decode("latin-1")) if m else code_from_body(body)


async def py_worker(host: str, port: int, payload: ResignedPayload, stats: PyStats,
                    timeout: float) -> None:
    """One keep-alive connection sending back-to-back requests until cancelled."""
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while True:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            start = time.perf_counter_ns()
            writer.write(payload.raw)
            async with asyncio.timeout(timeout):
                status, head, body, closes = await read_response(reader)
            stats.latencies_ns.append(time.perf_counter_ns() - start)
            stats.statuses[status] += 1
            if not 200 <= status <= 299:
                stats.error_codes[(status, error_code_from(head, body))] += 1
            if closes:
                writer.close()
                writer = None
        except TimeoutError:
            stats.socket_errors["timeout"] += 1
            writer = _drop(writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, OSError) as exc:
            stats.socket_errors["connect" if writer is None else "read"] += 1
            writer = _drop(writer)
            if isinstance(exc, ConnectionRefusedError):
                await asyncio.sleep(0.05)  # don't spin on a dead server


def _drop(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()
    return None


async def _run_python_async(args: argparse.Namespace) -> tuple[PyStats, float]:
    parts = urlsplit(args.endpoint)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payload, stats = ResignedPayload(args), PyStats()
    refresher = asyncio.create_task(payload.refresh_forever())
    start = time.perf_counter()
    workers = [asyncio.create_task(py_worker(host, port, payload, stats, args.timeout))
               for _ in range(args.concurrency)]
    await asyncio.sleep(args.duration)
    elapsed = time.perf_counter() - start
    for task in [*workers, refresher]:
        task.cancel()
    await asyncio.gather(*workers, refresher, return_exceptions=True)
    return stats, elapsed


def run_python(args: argparse.Namespace) -> RunResult:
    """Run the asyncio client; in-flight requests at the deadline are not counted."""
    stats, elapsed = asyncio.run(_run_python_async(args))
    lat = sorted(stats.latencies_ns)
    latency: dict[str, float | None] = {f"p{p}": _percentile_ms(lat, p) for p in PERCENTILES}
    latency["max"] = round(lat[-1] / 1e6, 3) if lat else None
    latency["mean"] = round(sum(lat) / len(lat) / 1e6, 3) if lat else None
    errors = {k: stats.socket_errors.get(k, 0) for k in ("connect", "read", "write", "timeout")}
    return RunResult("python", elapsed, len(lat), stats.statuses, stats.error_codes,
                     latency, errors,
                     ["asyncio client: may itself be the bottleneck above a few k req/s"])


def _percentile_ms(sorted_ns: list[int], p: float) -> float | None:
    """Nearest-rank percentile (same definition as wrk's histogram)."""
    if not sorted_ns:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(sorted_ns)))
    return round(sorted_ns[rank - 1] / 1e6, 3)


# --------------------------------------------------------------------------
# Server memory sampling
# --------------------------------------------------------------------------


def descendants(root: int) -> list[int]:
    """All live descendants of ``root`` (workers forked by the server)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])  # field 4 after "comm"
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (those that exited are missed)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int | None:
    """VmRSS in kB, or None if the process is gone (or a kernel thread)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    """Samples summed RSS of a pid and its descendants every 0.5 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []  # (seconds since start, kB)
        self._stop_event = threading.Event()
        self._t0 = time.monotonic()
        self._cpu0 = cpu_seconds([pid, *descendants(pid)])

    def sample(self) -> None:
        main = rss_kb(self.pid)
        if main is None:
            return
        total = main + sum(rss_kb(c) or 0 for c in descendants(self.pid))
        self.samples.append((round(time.monotonic() - self._t0, 2), total))

    def run(self) -> None:
        while True:
            self.sample()
            if self._stop_event.wait(RSS_INTERVAL_S):
                return

    def finish(self) -> dict[str, Any]:
        """Stop, take a closing sample, and summarise."""
        self._stop_event.set()
        self.join()
        self.sample()
        cpu = cpu_seconds([self.pid, *descendants(self.pid)]) - self._cpu0
        kb = [s[1] for s in self.samples]
        if not kb:
            return {"pid": self.pid, "samples": 0, "error": "process not found"}
        return {
            "pid": self.pid,
            "cpu_s": round(cpu, 2),
            "include_children": True,
            "interval_s": RSS_INTERVAL_S,
            "samples": len(kb),
            "first_mb": _mb(kb[0]),
            "last_mb": _mb(kb[-1]),
            "peak_mb": _mb(max(kb)),
            "growth_mb": _mb(kb[-1] - kb[0]),
            "series_kb": kb,
        }


def _mb(kb: int) -> float:
    return round(kb / 1024.0, 1)


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def summarize(args: argparse.Namespace, result: RunResult,
              rss: dict[str, Any] | None) -> dict[str, Any]:
    """All figures as one JSON-able dict (also the source for the text report)."""
    ok = sum(n for s, n in result.statuses.items() if 200 <= s <= 299)
    non_2xx: dict[str, dict[str, int]] = {}
    for (status, code), n in sorted(result.error_codes.items()):
        non_2xx.setdefault(str(status), {})[code] = n
    dur = result.duration_s or float("nan")
    return {
        "engine": result.engine,
        "api": args.api,
        "endpoint": args.endpoint,
        "concurrency": args.concurrency,
        "duration_s": round(result.duration_s, 3),
        "body_bytes": len(build_body(args)[2]),
        "requests": result.requests,
        "requests_per_s": round(result.requests / dur, 1) if result.duration_s else 0.0,
        "ok_2xx": ok,
        "ok_per_s": round(ok / dur, 1) if result.duration_s else 0.0,
        "latency_ms": result.latency_ms,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "non_2xx": non_2xx,
        "socket_errors": result.socket_errors,
        "server_rss": rss,
        "notes": result.notes,
    }


def print_text(s: dict[str, Any]) -> None:
    """Human-readable report."""
    lat = s["latency_ms"]
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"engine={s['engine']} api={s['api']} endpoint={s['endpoint']} "
          f"concurrency={s['concurrency']} body={s['body_bytes']}B")
    print(f"duration      {s['duration_s']:.2f} s")
    print(f"requests      {s['requests']}  ({s['requests_per_s']:.1f} req/s)")
    print(f"2xx           {s['ok_2xx']}  ({s['ok_per_s']:.1f} req/s)")
    print("latency ms    " + "  ".join(f"{k}={fmt(lat.get(k))}"
                                       for k in ("p50", "p90", "p99", "max")))
    if s["non_2xx"]:
        print("non-2xx:")
        for status, codes in s["non_2xx"].items():
            for code, n in codes.items():
                print(f"  {status} {code}: {n}")
    else:
        print("non-2xx       none")
    errs = {k: v for k, v in s["socket_errors"].items() if v}
    print(f"socket errors {errs or 'none'}")
    rss = s["server_rss"]
    if rss:
        if rss.get("samples"):
            print(f"server RSS    pid {rss['pid']}+children, {rss['samples']} samples: "
                  f"first={rss['first_mb']} MB last={rss['last_mb']} MB "
                  f"peak={rss['peak_mb']} MB growth={rss['growth_mb']:+} MB")
            if s["requests"]:
                print(f"server CPU    {rss['cpu_s']:.1f} s (user + system, pid+children), "
                      f"{1e6 * rss['cpu_s'] / s['requests']:.0f} µs a request")
        else:
            print(f"server RSS    pid {rss['pid']}: {rss.get('error')}")
    for note in s["notes"]:
        print(f"note: {note}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk") if args.engine in ("auto", "wrk") else None
    if args.engine == "wrk" and wrk is None:
        sys.exit("wrk not found on PATH (apt-get install -y wrk)")
    sampler = RssSampler(args.server_pid) if args.server_pid else None
    if sampler:
        sampler.start()
    try:
        result = run_wrk(args, wrk) if wrk else run_python(args)
    finally:
        rss = sampler.finish() if sampler else None
    summary = summarize(args, result, rss)
    if args.json:
        print(json.dumps(summary))
    else:
        print_text(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
