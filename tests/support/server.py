"""An openses server started for real (`python -m openses serve`) and its CLI, for one test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.support.ports import free_port, wait_for_port


@dataclass
class Credentials:
    access_key_id: str
    secret_access_key: str
    smtp_password: str
    account_id: str


@dataclass
class OpensesServer:
    data_dir: Path
    database_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    process: subprocess.Popen[bytes] | None = None
    http_port: int = 0
    smtp_port: int = 0
    smtps_port: int = 0
    inbound_port: int = 0  # the bounce domain's MX (role inbound)

    def __post_init__(self) -> None:
        self.http_port = free_port()
        self.smtp_port = free_port()
        self.smtps_port = free_port()
        self.inbound_port = free_port()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENSES_", "AWS_"))}
        env.update({
            "OPENSES_DATA_DIR": str(self.data_dir),
            "OPENSES_DATABASE_URL": self.database_url,
            "OPENSES_HTTP_PORT": str(self.http_port),
            "OPENSES_SMTP_PORT": str(self.smtp_port),
            "OPENSES_SMTPS_PORT": str(self.smtps_port),
            "OPENSES_INBOUND_PORT": str(self.inbound_port),
            "OPENSES_REGION": self.region,
            "OPENSES_CACHE_TTL": "0",
            "OPENSES_WORKER_POLL_INTERVAL": "0.2",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        })
        env.update(self.extra_env)
        return env

    def start(self) -> OpensesServer:
        with open(self.data_dir / "server.log", "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "openses", "serve"], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.http_port)
        except TimeoutError:
            self.stop()
            raise RuntimeError("server did not start:\n" + self.log())
        return self

    def log(self) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown code runs."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "openses", *args], env=self.env, capture_output=True,
                                text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"openses {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def new_account(self, name: str, *, production: bool = True, verify: tuple[str, ...] = ("example.com",),
                    policy: Path | None = None) -> Credentials:
        """An account with its identities verified and a key, in one CLI call."""
        args = ["admin", "account", "create", name, "--with-key"] + (["--production"] if production else [])
        for identity in verify:
            args += ["--verify", identity]
        if policy:
            args += ["--key-policy", str(policy)]
        out = self.cli_json(*args)
        key = out["Key"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"], key["SmtpPassword"], out["id"])

    def client(self, service: str, creds: Credentials | None = None, **kw: Any) -> Any:
        c = creds or Credentials("AKIDEXAMPLE", "secret", "", "")
        return boto3.client(service, endpoint_url=self.endpoint, region_name=kw.pop("region", self.region),
                            aws_access_key_id=c.access_key_id, aws_secret_access_key=c.secret_access_key,
                            config=kw.pop("config", Config(retries={"total_max_attempts": 1})), **kw)

    def aws(self, creds: Credentials, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, AWS_ACCESS_KEY_ID=creds.access_key_id,
                   AWS_SECRET_ACCESS_KEY=creds.secret_access_key, AWS_DEFAULT_REGION=self.region)
        result = subprocess.run([sys.executable, "-m", "awscli", *args, "--endpoint-url", self.endpoint,
                                 "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result
