"""bench/load.py against a real server: signed requests answered 200, and with --server-pid the
server's memory and CPU time per request in the report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

LOAD = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def test_load_reports_the_servers_memory_and_cpu_a_request(server_factory):
    server = server_factory().start()
    creds = server.new_account("bench")
    server.cli("admin", "account", "set-quota", "bench", "--max-24h-send", "-1", "--max-send-rate", "-1")
    done = subprocess.run(
        [sys.executable, str(LOAD), "--endpoint", server.endpoint, "--access-key", creds.access_key_id,
         "--secret-key", creds.secret_access_key, "--api", "v2", "--concurrency", "2", "--duration", "1",
         "--engine", "python", "--from", "a@example.com", "--to", "x@example.org",
         "--server-pid", str(server.process.pid)],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    requests = int(re.search(r"^requests\s+(\d+)", done.stdout, re.M).group(1))  # type: ignore[union-attr]
    ok = int(re.search(r"^2xx\s+(\d+)", done.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert requests > 0 and ok == requests, done.stdout
    assert re.search(r"^server RSS .* peak=[\d.]+ MB", done.stdout, re.M), done.stdout
    per_request = re.search(r"^server CPU\s+[\d.]+ s .*, (\d+) µs a request", done.stdout, re.M)
    assert per_request and int(per_request.group(1)) > 0, done.stdout  # a server that serves uses CPU
