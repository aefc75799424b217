"""A private PostgreSQL server for the test session (or the one OPENSES_TEST_POSTGRES_URL names).

CI (.ci/run) installs Debian's postgresql; this starts a throwaway cluster on a free loopback
port as the `postgres` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from tests.support.ports import free_port


def _bindir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


class PostgresServer:
    def __init__(self) -> None:
        self.url: str | None = None
        self._dir: Path | None = None
        self._bindir: Path | None = None
        self._as: list[str] = []

    def start(self) -> str | None:
        """The admin URL (postgresql+psycopg://…/postgres), or None when no PostgreSQL is here."""
        configured = os.environ.get("OPENSES_TEST_POSTGRES_URL")
        if configured:
            self.url = configured
            return configured
        bindir = _bindir()
        if bindir is None:
            return None
        self._bindir = bindir
        self._dir = Path(tempfile.mkdtemp(prefix="openses-pg-"))
        if os.geteuid() == 0:
            user = "postgres"
            try:
                pw = pwd.getpwnam(user)
            except KeyError:
                return None
            os.chown(self._dir, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", user, "--"]
        data = self._dir / "data"
        port = free_port()
        subprocess.run([*self._as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "--no-sync"], check=True, capture_output=True)
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {self._dir} -c fsync=on -c max_connections=200"
        subprocess.run([*self._as, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l",
                        str(self._dir / "log"), "start"], check=True, capture_output=True)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        return self.url

    def stop(self) -> None:
        if self._dir is not None and self._bindir is not None:
            subprocess.run([*self._as, str(self._bindir / "pg_ctl"), "-D", str(self._dir / "data"), "-m",
                            "immediate", "stop"], capture_output=True)
            shutil.rmtree(self._dir, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        assert self.url is not None
        name = "t_" + uuid.uuid4().hex[:12]
        plain = self.url.replace("postgresql+psycopg://", "postgresql://")
        for _ in range(50):
            try:
                with psycopg.connect(plain, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        return self.url.rsplit("/", 1)[0] + "/" + name
