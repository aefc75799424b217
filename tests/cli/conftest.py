"""Fixtures for the operator commands: a profile file, the CLI as a subprocess, a moto server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.dns_server import DnsServer
from tests.support.ports import free_port, wait_for_port


@dataclass
class Ops:
    """`python -m openses …` with a profile file, as an operator runs it."""

    config: Path
    env: dict[str, str]
    profile: str = "prod"
    accounts: dict[str, Any] = field(default_factory=dict)

    def write(self, **profiles: dict[str, Any]) -> None:
        self.accounts.update(profiles)
        self.config.write_text(json.dumps({"accounts": self.accounts}, indent=2))

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "openses", *args], env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"openses {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def json(self, *args: str, check: bool = True) -> Any:
        return json.loads(self.run(*args, "--json", check=check).stdout)


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    server = DnsServer()
    server.start(["example.com", "example.org"])
    yield server
    server.stop()


def ops_for(tmp_path: Path, env: dict[str, str], profile: dict[str, Any]) -> Ops:
    ops = Ops(tmp_path / "ses-config.json", dict(env, OPENSES_SES_CONFIG=str(tmp_path / "ses-config.json"),
                                                 COLUMNS="200"))
    ops.write(prod=profile)
    return ops


@pytest.fixture
def ops(server, tmp_path: Path, dns: DnsServer) -> Ops:  # type: ignore[no-untyped-def]
    """A profile `prod` for a fresh openses account with example.com verified."""
    creds = server.new_account("ops", verify=("example.com",))
    return ops_for(tmp_path, server.env, {
        "endpoint_url": server.endpoint, "region": server.region, "description": "openses under test",
        "aws_access_key_id": creds.access_key_id, "aws_secret_access_key": creds.secret_access_key,
        "dns_nameservers": [dns.address], "verified_domains": ["example.com"]})


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[str]:
    """A moto server on loopback (a stand-in for Amazon SES), with example.org verified."""
    port = free_port()
    with open(tmp_path / "moto.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        ses = boto3.client("ses", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        ses.verify_domain_identity(Domain="example.org")
        ses.verify_email_identity(EmailAddress="ops@example.org")
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)
