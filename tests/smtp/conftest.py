"""Fixtures for the SMTP submission server: a FakeBackend, an injected clock and sleep, and the
server on port 0 in the test's own event loop."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from smtp_test_support import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    TEST_MAX_MESSAGE_SIZE,
    TEST_THROTTLE,
    FakeClock,
    RawClient,
    RecordingSleep,
)

from openses.smtp.backend import FakeBackend
from openses.smtp.server import SmtpServer
from openses.smtp.tls import CERT_NAME, load_or_create_certificate


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openses-data")


@pytest.fixture(scope="session")
def server_tls(tls_dir: Path) -> ssl.SSLContext:
    context, _ = load_or_create_certificate(tls_dir, "smtp.openses.test", None, None)
    return context


@pytest.fixture(scope="session")
def client_tls(tls_dir: Path, server_tls: ssl.SSLContext) -> ssl.SSLContext:
    """Trusts exactly the server's self-signed certificate, and checks its name."""
    return ssl.create_default_context(cafile=str(tls_dir / "tls" / CERT_NAME))


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend(keys={ACCESS_KEY_ID: SECRET_ACCESS_KEY})


@pytest.fixture
def smtp_password(backend: FakeBackend) -> str:
    return backend.password_for(ACCESS_KEY_ID)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorded_sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def smtp_server(
    backend: FakeBackend,
    server_tls: ssl.SSLContext,
    clock: FakeClock,
    recorded_sleep: RecordingSleep,
) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(
        backend,
        host="127.0.0.1",
        starttls_ports=[0],
        tls_ports=[0],
        ssl_context=server_tls,
        hostname="smtp.openses.test",
        max_message_size=TEST_MAX_MESSAGE_SIZE,
        clock=clock,
        sleep=recorded_sleep,
        throttle_policy=TEST_THROTTLE,
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def starttls_port(smtp_server: SmtpServer) -> int:
    return smtp_server.bound_ports["starttls"][0]


@pytest.fixture
def tls_port(smtp_server: SmtpServer) -> int:
    return smtp_server.bound_ports["tls"][0]


@pytest.fixture
def raw_client(
    smtp_server: SmtpServer, client_tls: ssl.SSLContext
) -> Iterator[Callable[..., RawClient]]:
    """connect(implicit_tls=False) -> RawClient; every client is closed after the test."""
    clients: list[RawClient] = []

    def connect(*, implicit_tls: bool = False) -> RawClient:
        port = smtp_server.bound_ports["tls" if implicit_tls else "starttls"][0]
        client = RawClient(port, client_tls, implicit_tls=implicit_tls)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
