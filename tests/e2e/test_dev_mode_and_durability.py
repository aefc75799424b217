"""Development mode for application test suites, and what survives a crash."""

from __future__ import annotations

import json
import sqlite3
import urllib.request

import pytest

SIMPLE = {"Simple": {"Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "body"}}}}


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def _post(url: str) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10) as r:
        return json.loads(r.read())


def test_dev_mode_accepts_any_key_and_serves_captured_mail_then_resets(server_factory):
    server = server_factory(OPENSES_DEV_MODE="1", OPENSES_DEV_ACCOUNT_ID="123456789012").start()
    v1 = server.client("ses")  # an arbitrary key and secret
    v2 = server.client("sesv2")
    v1.verify_email_identity(EmailAddress="app@example.com")
    assert v1.get_identity_verification_attributes(Identities=["app@example.com"])[
        "VerificationAttributes"]["app@example.com"]["VerificationStatus"] == "Success"
    mid = v2.send_email(FromEmailAddress="app@example.com", Destination={"ToAddresses": ["x@anywhere.org"]},
                        Content=SIMPLE)["MessageId"]
    assert server.client("sts").get_caller_identity()["Account"] == "123456789012"
    messages = _get(f"{server.endpoint}/_openses/messages")["messages"]
    [m] = messages
    assert m["Id"] == mid and m["Destination"] == ["x@anywhere.org"] and "body" in m["Raw"]
    assert _get(f"{server.endpoint}/_openses/messages?email=nobody@example.org")["messages"] == []
    assert _post(f"{server.endpoint}/_openses/reset") == {"reset": True}
    assert _get(f"{server.endpoint}/_openses/messages")["messages"] == []
    assert v1.list_identities()["Identities"] == []
    with pytest.raises(v1.exceptions.MessageRejected):
        v1.send_email(Source="app@example.com", Destination={"ToAddresses": ["x@anywhere.org"]},
                      Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})


def test_development_endpoints_do_not_exist_outside_dev_mode(server):
    with pytest.raises(urllib.error.HTTPError) as e:
        _get(f"{server.endpoint}/_openses/messages")
    e.value.close()
    assert e.value.code == 404


def test_verification_requests_outside_dev_mode_do_not_pretend(server):
    creds = server.new_account("acme")
    v1 = server.client("ses", creds)
    try:
        v1.verify_email_identity(EmailAddress="new@other.example")
    except v1.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "NotImplemented"
    attrs = v1.get_identity_verification_attributes(Identities=["new@other.example"])["VerificationAttributes"]
    assert attrs.get("new@other.example", {}).get("VerificationStatus") != "Success"


def test_accepted_messages_survive_a_crash_right_after_the_reply(server_factory):
    # Entries the killed worker had leased wait for their lease to expire: keep it short here.
    server = server_factory(OPENSES_LEASE_SECONDS="2").start()
    creds = server.new_account("acme")
    v2 = server.client("sesv2", creds)
    server.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "-1", "--max-send-rate", "-1")
    ids = [v2.send_email(FromEmailAddress="a@example.com", Destination={"ToAddresses": [f"r{i}@example.org"]},
                         Content=SIMPLE)["MessageId"] for i in range(20)]
    server.kill()  # SIGKILL: no shutdown code runs
    listed = {m["MessageId"] for m in server.cli_json("messages", "list", "--limit", "100")}
    assert set(ids) <= listed
    server.start()
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = {server.cli_json("messages", "show", i)["Status"] for i in ids[-3:]}
        if statuses == {"delivered"}:
            break
        time.sleep(0.2)
    assert statuses == {"delivered"}
    events = server.cli_json("messages", "show", ids[-1])["Events"]
    assert [e["eventType"] for e in events].count("Delivery") == 1


def test_secret_access_keys_are_not_stored_in_clear(server, database_url):
    creds = server.new_account("acme")
    if not database_url.startswith("sqlite"):
        pytest.skip("checked on the SQLite file")
    path = database_url.split("///", 1)[1]
    conn = sqlite3.connect(path)
    blobs = [bytes(r[0]) for r in conn.execute("select secret_encrypted from access_keys")]
    conn.close()
    assert blobs and all(creds.secret_access_key.encode() not in b for b in blobs)
    from pathlib import Path

    for f in Path(path).parent.glob(Path(path).name + "*"):  # the database and its WAL
        assert creds.secret_access_key.encode() not in f.read_bytes()
