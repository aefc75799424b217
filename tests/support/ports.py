"""Ports for the servers the tests start, and waiting for them to listen."""

import os
import socket


def _band() -> range:
    """Ports below the kernel's ephemeral range (which outgoing connections take their local ports
    from, so a port picked there can be taken by any client socket before our server binds it),
    one slice per pytest-xdist worker so that workers never pick the same port."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    low = max(10000, ephemeral_low - 12000)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    size = max(100, (ephemeral_low - low) // 8)
    start = low + (index % 8) * size
    return range(start, start + size)


_PORTS = _band()
_next = 0


def free_port() -> int:
    """A port nothing listens on, never the same twice in one test process."""
    global _next
    for _ in range(len(_PORTS)):
        port = _PORTS[_next % len(_PORTS)]
        _next += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {_PORTS}")


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")
