"""Every operator command against a running openses server, through the CLI as a subprocess."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Ops
from tests.support.dns_server import DnsServer

pytestmark = pytest.mark.e2e


def eventually(fn: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if ok(got) or time.monotonic() > deadline:
            assert ok(got), got
            return got
        time.sleep(0.2)


def test_accounts_lists_profiles_without_printing_secrets(ops: Ops) -> None:
    rows = ops.json("accounts")
    assert rows[0]["name"] == "prod" and rows[0]["endpoint_url"].startswith("http://127.0.0.1:")
    out = ops.run("accounts").stdout
    secret = ops.accounts["prod"]["aws_secret_access_key"]
    assert "prod" in out and secret not in out and secret not in str(rows)
    assert ops.accounts["prod"]["aws_access_key_id"] not in out  # only its first characters


def test_send_test_names_the_simulator_scenario_it_addresses(ops: Ops) -> None:
    sent = ops.json("send-test", "prod", "sender@example.com", "success", "Hello", "Body")
    assert sent["To"] == "success@simulator.amazonses.com" and sent["MessageId"]
    assert "Delivery" in sent["Simulator"]
    assert "expect a hard Bounce" in ops.run("send-test", "prod", "sender@example.com", "bounce").stdout


def test_quota_and_stats_count_a_test_message(ops: Ops) -> None:
    # Mail to the simulator counts against neither quota nor statistics (as in SES): a real address.
    assert ops.json("quota", "prod")["SentLast24Hours"] == 0
    assert ops.json("send-test", "prod", "sender@example.com", "friend@example.org", "Hello", "Body")["MessageId"]
    quota = ops.json("quota")
    assert quota["SentLast24Hours"] == 1 and quota["Max24HourSend"] > 0 and quota["UsagePercent"] > 0
    stats = eventually(lambda: ops.json("stats"), lambda s: s["DeliveryAttempts"] == 1)
    assert stats["BounceRate"] == 0 and len(stats["SendDataPoints"]) == 1
    assert "delivery attempts" in ops.run("stats", "--points").stdout


def test_identity_commands_verify_list_and_print_the_dns_records(ops: Ops) -> None:
    ops.run("verify-email", "prod", "someone@example.org")
    emails = ops.json("verified-emails")
    assert {"Identity": "someone@example.org", "VerificationStatus": "Pending"} in emails
    domain = ops.json("verify-domain", "prod", "example.org")
    names = {(r["Name"], r["Type"]) for r in domain["Records"]}
    assert ("_amazonses.example.org", "TXT") in names and domain["VerificationToken"]
    assert sum(t == "CNAME" for _, t in names) == 3
    printed = ops.run("verify-domain", "prod", "example.org").stdout
    assert f'_amazonses.example.org. 3600 IN TXT "{domain["VerificationToken"]}"' in printed
    assert {r["Identity"]: r["VerificationStatus"] for r in ops.json("verified-domains")} == {
        "example.com": "Success", "example.org": "Pending"}
    assert ops.json("verify-identity", "prod", "example.com")["VerificationStatus"] == "Success"
    assert ops.json("dkim", "prod", "example.com")["DkimEnabled"] is False
    enabled = ops.json("enable-dkim", "prod", "example.com")
    assert enabled["DkimEnabled"] is True and len(enabled["Records"]) == 3
    assert ops.json("dkim", "prod", "example.com")["DkimTokens"] == [r["Name"].split(".")[0]
                                                                      for r in enabled["Records"]]


def test_reputation_shows_enforcement_sandbox_and_rates(ops: Ops) -> None:
    data = ops.json("reputation")
    assert data["EnforcementStatus"] == "HEALTHY" and data["ProductionAccessEnabled"] is True
    assert data["SendingEnabled"] is True and data["BounceRate"] == 0


def test_monitor_exits_zero_when_healthy_and_two_when_a_threshold_is_crossed(ops: Ops) -> None:
    healthy = ops.json("monitor")
    assert healthy["alert"] is False
    verdicts = {f["item"]: f["verdict"] for f in healthy["findings"]}
    assert verdicts["bounce rate"] == "ok" and verdicts["account health"] == "ok"
    ops.run("send-test", "prod", "sender@example.com", "friend@example.org")
    crossed = ops.run("monitor", "--quota-threshold", "0.001", check=False)
    assert crossed.returncode == 2, crossed.stderr
    assert "fail" in crossed.stdout and "quota use" in crossed.stdout


def test_suppression_commands_list_show_and_remove_an_address(ops: Ops) -> None:
    import boto3

    prod = ops.accounts["prod"]
    v2 = boto3.client("sesv2", endpoint_url=prod["endpoint_url"], region_name=prod["region"],
                      aws_access_key_id=prod["aws_access_key_id"],
                      aws_secret_access_key=prod["aws_secret_access_key"])
    v2.put_suppressed_destination(EmailAddress="gone@example.org", Reason="BOUNCE")
    assert [i["EmailAddress"] for i in ops.json("suppressed", "prod")] == ["gone@example.org"]
    assert ops.json("suppression-details", "prod", "gone@example.org")["Reason"] == "BOUNCE"
    ops.run("remove-suppression", "prod", "gone@example.org")
    assert ops.json("suppressed", "prod") == []
    missing = ops.run("suppression-details", "prod", "gone@example.org", check=False)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_send_bulk_sends_every_row_and_resumes_without_sending_twice(ops: Ops, tmp_path: Path) -> None:
    csv_path = tmp_path / "people.csv"
    csv_path.write_text("email,name\nann@example.org,Ann\nbob@example.org,Bob\n")
    args = ("send-bulk", "prod", str(csv_path), "--from", "sender@example.com", "--subject", "Hi {{name}}",
            "--text", "Hello {{name}}")
    first = ops.json(*args)
    assert (first["sent"], first["skipped"], first["failed"]) == (2, 0, 0) and first["rate"] == 14
    with csv_path.open("a") as f:
        f.write("cy@example.org,Cy\n")
    second = ops.json(*args)
    assert (second["sent"], second["skipped"]) == (1, 2)
    state = (tmp_path / "people.csv.state.jsonl").read_text().splitlines()
    assert len(state) == 3 and all('"message_id"' in line for line in state)
    assert ops.json("quota")["SentLast24Hours"] == 3


def test_send_bulk_records_a_rejected_row_and_exits_non_zero(ops: Ops, tmp_path: Path) -> None:
    csv_path = tmp_path / "list.csv"
    csv_path.write_text("to\nsuccess@simulator.amazonses.com\n")
    result = ops.run("send-bulk", "prod", str(csv_path), "--from", "nobody@unverified.example",
                     "--subject", "s", "--text", "t", check=False)
    assert result.returncode == 1 and "1 row(s) failed" in result.stderr and "Traceback" not in result.stderr
    assert "MessageRejected" in (tmp_path / "list.csv.state.jsonl").read_text()


def test_debug_shows_identity_dns_and_recent_events_with_the_remote_reply(ops: Ops, dns: DnsServer) -> None:
    dns.set_records("example.com", "TXT", ["v=spf1 include:amazonses.com ~all"])
    ops.run("send-test", "prod", "sender@example.com", "friend@example.org")
    report = eventually(lambda: ops.json("debug", "prod", "friend@example.org", "--sender",
                                         "sender@example.com"),
                        lambda r: any(e["type"] == "Delivery" for e in r["events"]))
    verdicts = {f["item"]: f["verdict"] for f in report["findings"]}
    assert verdicts["identity example.com"] == "ok" and verdicts["SPF example.com"] == "ok"
    assert verdicts["DMARC example.com"] == "warn"
    delivery = next(e for e in report["events"] if e["type"] == "Delivery")
    assert delivery["detail"].startswith("250")
    assert "recent events" in ops.run("debug", "prod", "friend@example.org").stdout


def test_audit_gives_a_verdict_per_item_and_a_fix_for_each_problem(ops: Ops, dns: DnsServer) -> None:
    dns.set_records("_dmarc.example.com", "TXT", ["v=DMARC1; p=reject"])
    result = ops.run("audit", "--json", check=False)
    import json

    report = json.loads(result.stdout)
    found = {f["item"]: f for f in report["findings"]}
    assert found["identity example.com"]["verdict"] == "ok"
    assert found["DMARC example.com"]["verdict"] == "ok" and "p=reject" in found["DMARC example.com"]["detail"]
    assert found["SPF example.com"]["verdict"] == "warn" and "v=spf1" in found["SPF example.com"]["fix"]
    assert found["DKIM signing example.com"]["verdict"] == "fail"
    assert found["DKIM signing example.com"]["fix"] == "openses enable-dkim prod example.com"
    assert all(f["fix"] for f in report["findings"] if f["verdict"] in ("fail", "warn"))
    assert result.returncode == 2 and report["problems"] >= 1
    if found.get("configuration sets", {}).get("verdict") == "unknown":
        assert "does not implement" in found["configuration sets"]["detail"]


def test_audit_fails_an_identity_the_profile_expects_but_the_account_lacks(ops: Ops) -> None:
    ops.write(prod=dict(ops.accounts["prod"], verified_emails=["ops@example.net"]))
    report = ops.json("audit", check=False)
    item = next(f for f in report["findings"] if f["item"] == "expected identity ops@example.net")
    assert item["verdict"] == "fail" and item["fix"] == "openses verify-email prod ops@example.net"


def test_a_missing_profile_bad_credentials_and_an_unreachable_endpoint_each_give_one_line(ops: Ops) -> None:
    from tests.support.ports import free_port

    good = ops.accounts["prod"]
    ops.write(badkey=dict(good, aws_secret_access_key="wrong"),
              down=dict(good, endpoint_url=f"http://127.0.0.1:{free_port()}"),
              placeholder=dict(good, aws_access_key_id="YOUR_PRODUCTION_AWS_ACCESS_KEY_ID_HERE"))
    cases = {"nosuch": "no profile named 'nosuch'", "badkey": "were rejected", "down": "cannot reach",
             "placeholder": "template placeholder"}
    for profile, text in cases.items():
        result = ops.run("quota", profile, check=False)
        assert result.returncode == 1, result
        assert text in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    missing = ops.run("quota", "--config", "/nonexistent/ses.json", check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
