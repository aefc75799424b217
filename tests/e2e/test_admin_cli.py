"""The operator's admin CLI against a real database."""

from __future__ import annotations

import json

from openses.protocol.smtp_password import smtp_password


def test_account_create_list_show_and_modes(server):
    created = server.cli_json("admin", "account", "create", "acme")
    assert created["production"] is False and created["max_24h_send"] == 200.0
    assert len(created["id"]) == 12 and created["id"].isdigit()
    assert [a["name"] for a in server.cli_json("admin", "account", "list")] == ["acme"]
    shown = server.cli_json("admin", "account", "set-production", "acme")
    assert shown["production"] is True and shown["max_24h_send"] == 50000.0
    assert server.cli_json("admin", "account", "pause", created["id"])["paused_by_operator"] is True
    assert server.cli_json("admin", "account", "resume", "acme")["paused_by_operator"] is False
    assert server.cli_json("admin", "account", "show", "acme")["name"] == "acme"


def test_key_create_prints_secret_and_the_ses_smtp_password_once(server):
    server.cli("admin", "account", "create", "acme")
    key = server.cli_json("admin", "key", "create", "acme")
    assert set(key) >= {"AccessKeyId", "SecretAccessKey", "SmtpPassword"}
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert key["SmtpPassword"] == smtp_password(key["SecretAccessKey"], "us-east-1")
    listed = server.cli("admin", "key", "list", "acme", "--json").stdout
    assert key["AccessKeyId"] in listed and key["SecretAccessKey"] not in listed
    server.cli("admin", "key", "delete", key["AccessKeyId"])
    assert json.loads(server.cli("admin", "key", "list", "--json").stdout) == []


def test_bad_input_gives_one_readable_line_and_a_nonzero_exit(server, tmp_path):
    missing = server.cli("admin", "account", "show", "nobody", check=False)
    assert missing.returncode != 0 and "no account named" in missing.stderr and "Traceback" not in missing.stderr
    server.cli("admin", "account", "create", "acme")
    dup = server.cli("admin", "account", "create", "acme", check=False)
    assert dup.returncode != 0 and "exists already" in dup.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = server.cli("admin", "key", "create", "acme", "--policy", str(bad), check=False)
    assert out.returncode != 0 and "policy" in out.stderr and "Traceback" not in out.stderr
    ident = server.cli("admin", "identity", "verify", "acme", "not an address@", check=False)
    assert ident.returncode != 0 and "Traceback" not in ident.stderr


def test_identity_verify_and_list(server):
    server.cli("admin", "account", "create", "acme")
    server.cli("admin", "identity", "verify", "acme", "Example.COM")
    server.cli("admin", "identity", "verify", "acme", "Person@Example.org")
    listed = {i["identity"]: i for i in server.cli_json("admin", "identity", "list", "acme")}
    assert listed["example.com"]["kind"] == "DOMAIN" and listed["example.com"]["status"] == "SUCCESS"
    assert "Person@Example.org" in listed


def test_messages_commands_fail_clearly_for_an_unknown_id(server):
    out = server.cli("messages", "show", "nope", check=False)
    assert out.returncode != 0 and "no message" in out.stderr
