"""Shared fixtures: a real openses server on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer
from tests.support.server import OpensesServer

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    pg = PostgresServer()
    try:
        url = pg.start()
    except Exception as e:  # noqa: BLE001 - reported below
        url = None
        reason = str(e)
    else:
        reason = "no PostgreSQL binaries on this machine"
    if url is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        yield None
    else:
        yield pg
    pg.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresServer | None) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'openses.db'}"
    if postgres is None:
        pytest.skip("PostgreSQL is not available here")
    return postgres.new_database()


@pytest.fixture
def server_factory(tmp_path: Path, database_url: str) -> Iterator[type]:
    started: list[OpensesServer] = []

    def make(**env: str) -> OpensesServer:
        s = OpensesServer(tmp_path, database_url, extra_env=env)
        started.append(s)
        return s

    yield make  # type: ignore[misc]
    for s in started:
        s.stop()


@pytest.fixture
def server(server_factory) -> OpensesServer:  # type: ignore[no-untyped-def]
    return server_factory().start()
