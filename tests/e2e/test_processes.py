"""`openses serve --processes N`: several interpreters on one host share the ports (SO_REUSEPORT),
the database and the sending limits; the primary stops them all and stops when one dies."""

from __future__ import annotations

import os
import signal
import smtplib
import ssl
import subprocess
import sys
from pathlib import Path

from botocore.exceptions import ClientError

from tests.support.polling import wait_until

SIMPLE = {"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "body"}}}}


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _sockets(pid: int, port: int, state: str) -> int:
    """TCP sockets process `pid` holds on local port `port` in `state` (/proc/net/tcp: 01
    ESTABLISHED, 0A LISTEN)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state and fields[9] in inodes:
                count += 1
    return count


def _cpus(pid: int) -> set[str]:
    """The CPUs each thread of process `pid` may run on, one entry per distinct set."""
    out = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                out.add(line.split(":", 1)[1].strip())
    return out


def test_two_processes_serve_one_port_one_database_and_one_daily_quota(server_factory):
    server = server_factory(OPENSES_PROCESSES="2").start()
    creds = server.new_account("acme")
    server.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "10", "--max-send-rate", "-1")
    [child] = wait_until(lambda: _children(server.process.pid), timeout=10)

    # 16 keep-alive connections: the kernel spreads them over both processes.
    clients = [server.client("sesv2", creds) for _ in range(16)]
    outcomes = []
    for client in clients:
        try:
            client.send_email(FromEmailAddress="a@example.com", Destination={"ToAddresses": ["x@example.org"]},
                              Content=SIMPLE)
            outcomes.append("sent")
        except ClientError as e:
            outcomes.append(e.response["Error"]["Message"])
    assert _sockets(server.process.pid, server.http_port, "01") > 0
    assert _sockets(child, server.http_port, "01") > 0
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) >= 2:  # each process, every thread of it, on a CPU of its own (OPENSES_PIN_PROCESSES)
        assert _cpus(server.process.pid) == {str(allowed[0])}
        assert _cpus(child) == {str(allowed[1])}
    # One quota for the host: a limiter per process would have let up to 20 through.
    assert outcomes.count("sent") == 10
    assert outcomes.count("Daily message quota exceeded.") == 6
    assert len(server.cli_json("messages", "list")) == 10  # one database: every process's mail

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    server.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "-1", "--max-send-rate", "-1")
    for _ in range(4):  # new connections: both processes answer SMTP with the one certificate
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as smtp:
            smtp.starttls(context=context)
            smtp.login(creds.access_key_id, creds.smtp_password)
            smtp.sendmail("a@example.com", ["y@example.org"], b"Subject: s\r\n\r\nbody\r\n")

    server.stop()  # SIGTERM to the primary stops the other process too
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


def test_the_primary_stops_everything_when_another_process_dies(server_factory):
    server = server_factory(OPENSES_PROCESSES="2").start()
    [child] = wait_until(lambda: _children(server.process.pid), timeout=10)
    os.kill(child, signal.SIGKILL)
    assert server.process.wait(30) == 1  # a failure, for the supervisor that restarts the set
    assert f"openses process {child} stopped" in server.log()


def test_more_than_one_process_needs_fixed_ports(server_factory):
    server = server_factory(OPENSES_PROCESSES="2")
    server.http_port = 0
    result = server.cli("serve", check=False)
    assert result.returncode != 0
    assert "must be a fixed port" in result.stderr


def test_extra_processes_run_only_the_roles_asked_for(server_factory):
    server = server_factory(OPENSES_PROCESSES="3")
    with open(server.data_dir / "server.log", "ab") as log:
        server.process = subprocess.Popen([sys.executable, "-m", "openses", "serve", "--roles", "api"],
                                          env=server.env, stdout=log, stderr=subprocess.STDOUT)
    children = wait_until(lambda: len(_children(server.process.pid)) == 2 and _children(server.process.pid),
                          timeout=15)
    for pid in [server.process.pid, *children]:
        wait_until(lambda pid=pid: _sockets(pid, server.http_port, "0A"), timeout=15)
        assert not _sockets(pid, server.smtp_port, "0A")
        if len(os.sched_getaffinity(0)) < 3:  # more processes than CPUs: none is pinned
            assert _cpus(pid) == _cpus(os.getpid())
    server.stop()
