"""Replays the golden SMTP dialogs in dialogs/*.txt, one edge case per file, over a raw socket.

File format, one item per line:
  # tls: implicit    connect to the implicit-TLS port (default: the STARTTLS port, in clear)
  # anything else    a comment
  C: text            the client sends text + CRLF ({NAME} placeholders filled in, see _values)
  C~ text            the client sends text with \\r, \\n, \\xNN escapes decoded and no CRLF added
  S: text            the next reply line must be exactly text
  S~ regex           the next reply line must match regex entirely
  ! starttls         wrap the connection in TLS now (after the 220 reply to STARTTLS)
  ! closed           the server must have closed the connection
Consecutive C lines go out in one write, so a dialog shows pipelining as it happens on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from smtp_test_support import ACCESS_KEY_ID, RawClient, auth_plain_argument

from openses.smtp.backend import FakeBackend

DIALOGS = sorted((Path(__file__).parent / "dialogs").glob("*.txt"))


def _values(password: str) -> dict[str, str]:
    b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    return {
        "AUTH_PLAIN": auth_plain_argument(ACCESS_KEY_ID, password),
        "AUTH_PLAIN_BAD": auth_plain_argument(ACCESS_KEY_ID, "wrong-password"),
        "USER_B64": b64(ACCESS_KEY_ID),
        "PASSWORD_B64": b64(password),
        "LONG_LINE": "y" * 1200,
    }


def replay(path: Path, connect: Callable[..., RawClient], values: dict[str, str]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    client = connect(implicit_tls="# tls: implicit" in lines)
    pending = b""
    for number, line in enumerate(lines, start=1):
        kind, text = line[:2], line[3:]
        if kind in ("C:", "C~"):
            pending += _client_bytes(kind, text, values)
            continue
        if pending:
            client.send(pending)
            pending = b""
        where = f"{path.name}:{number}"
        if kind == "S:":
            assert client.read_line() == text, where
        elif kind == "S~":
            got = client.read_line()
            assert re.fullmatch(text, got), f"{where}: {got!r} !~ {text!r}"
        elif line == "! starttls":
            client.sock = client._context.wrap_socket(client.sock, server_hostname="127.0.0.1")
        elif line == "! closed":
            assert client.read_line() == "", where
    assert not pending, f"{path.name}: client lines after the last expectation"


def _client_bytes(kind: str, text: str, values: dict[str, str]) -> bytes:
    if kind == "C:":
        return text.format(**values).encode("utf-8") + b"\r\n"
    return codecs.escape_decode(text.encode("utf-8"))[0]


@pytest.mark.parametrize("path", DIALOGS, ids=[p.stem for p in DIALOGS])
async def test_golden_dialog_replays_exactly(
    path: Path, raw_client: Callable[..., RawClient], backend: FakeBackend, smtp_password: str
) -> None:
    await asyncio.to_thread(replay, path, raw_client, _values(smtp_password))


def test_every_required_edge_case_has_a_dialog() -> None:
    required = {
        "no-auth-relay", "auth-before-starttls", "bad-auth", "smuggling-lf-dot-lf",
        "bare-cr-dot-cr", "line-too-long", "pipelining", "size-exceeded", "rset-after-mail", "quit",
    }
    assert required <= {p.stem for p in DIALOGS}
