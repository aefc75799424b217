"""The read-only commands against moto_server, a non-openses SES endpoint standing in for AWS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.conftest import Ops, ops_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def aws(moto: str, tmp_path: Path) -> Ops:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENSES_", "AWS_"))}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return ops_for(tmp_path, env, {"endpoint_url": moto, "region": "us-east-1", "aws_access_key_id": "testing",
                                   "aws_secret_access_key": "testing", "dns_nameservers": ["127.0.0.1:9"]})


def test_quota_and_stats_read_a_non_openses_endpoint(aws: Ops) -> None:
    quota = aws.json("quota")
    assert quota["Max24HourSend"] > 0 and "MaxSendRate" in quota
    assert aws.json("stats")["DeliveryAttempts"] >= 0


def test_identity_listings_and_status_read_a_non_openses_endpoint(aws: Ops) -> None:
    assert [e["Identity"] for e in aws.json("verified-emails")] == ["ops@example.org"]
    assert [d["Identity"] for d in aws.json("verified-domains")] == ["example.org"]
    assert aws.json("verify-identity", "prod", "example.org")["VerificationStatus"] in ("Success", "Pending")
    assert aws.json("dkim", "prod", "example.org")["Identity"] == "example.org"


def test_monitor_reputation_and_audit_turn_missing_operations_into_unknown_verdicts(aws: Ops) -> None:
    monitor = aws.run("monitor", "--json", check=False)
    assert monitor.returncode in (0, 2) and "Traceback" not in monitor.stderr
    reputation = aws.run("reputation", "--json", check=False)
    assert reputation.returncode == 0, reputation.stderr
    audit = aws.run("audit", "--json", check=False)
    assert audit.returncode in (0, 2) and "Traceback" not in audit.stderr, audit.stderr
    items = {f["item"]: f["verdict"] for f in json.loads(audit.stdout)["findings"]}
    assert "identity example.org" in items and items["configuration sets"] in ("warn", "ok", "unknown")


def test_suppressed_against_an_endpoint_without_it_gives_one_clear_line(aws: Ops) -> None:
    result = aws.run("suppressed", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {aws.accounts['prod']['endpoint_url']} does not implement ListSuppressedDestinations yet"]
