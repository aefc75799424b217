"""Helpers shared by the SMTP tests: test credentials, a fake clock and sleep, and a raw-socket
client for byte-exact dialogs. (A uniquely named module, not conftest, so imports stay unambiguous.)"""

from __future__ import annotations

import base64
import socket
import ssl

from openses.smtp.auth_throttle import ThrottlePolicy

ACCESS_KEY_ID = "AKIAOPENSESSMTPTEST1"
# A made-up secret in AWS's documented shape: never a real credential.
SECRET_ACCESS_KEY = "openses/SMTP+test/secret/key/EXAMPLE0000"
TEST_MAX_MESSAGE_SIZE = 100_000
# Small numbers so a test reaches each stage in a few attempts.
TEST_THROTTLE = ThrottlePolicy(
    free_failures=2, delay_step=1.0, max_delay=5.0, lockout_failures=4, window=600, lockout=900
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """Stands in for asyncio.sleep: records the delay instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class RawClient:
    """A byte-exact SMTP client over a blocking socket (run it with asyncio.to_thread)."""

    def __init__(self, port: int, context: ssl.SSLContext, *, implicit_tls: bool) -> None:
        self._context = context
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock: socket.socket = (
            context.wrap_socket(sock, server_hostname="127.0.0.1") if implicit_tls else sock
        )
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> str:
        """One reply line without its CRLF; "" when the server closed the connection."""
        while b"\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return ""
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line.decode("utf-8")

    def read_reply(self) -> list[str]:
        lines = [self.read_line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.read_line())
        return lines

    def command(self, line: str) -> list[str]:
        self.send(line.encode("utf-8") + b"\r\n")
        return self.read_reply()

    def starttls(self) -> None:
        assert self.command("STARTTLS")[0].startswith("220 ")
        self.sock = self._context.wrap_socket(self.sock, server_hostname="127.0.0.1")

    def close(self) -> None:
        self.sock.close()


def auth_plain_argument(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()

