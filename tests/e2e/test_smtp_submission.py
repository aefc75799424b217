"""SMTP submission into a real server: SES SMTP credentials, the shared pipeline, capture."""

from __future__ import annotations

import email.policy
import json
import shutil
import smtplib
import ssl
import subprocess
from email.message import EmailMessage

import pytest


def _context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _message(sender: str = "app@example.com", to: str = "user@example.org", **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = "via smtp"
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content("hello over SMTP")
    return m


def _starttls(server, creds) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10)
    client.starttls(context=_context())
    client.login(creds.access_key_id, creds.smtp_password)
    return client


def test_smtp_starttls_send_is_captured_and_the_250_names_the_message_id(server):
    creds = server.new_account("acme")
    with _starttls(server, creds) as client:
        client.send_message(_message(X_SES_MESSAGE_TAGS="campaign=welcome"))
        code, reply = client.noop()
        assert code == 250
    [listed] = server.cli_json("messages", "list")
    assert listed["Channel"] == "smtp" and listed["Recipients"] == ["user@example.org"]
    raw = server.cli("messages", "raw", listed["MessageId"]).stdout
    assert "X-SES-MESSAGE-TAGS" not in raw and "hello over SMTP" in raw
    shown = server.cli_json("messages", "show", listed["MessageId"])
    assert shown["Events"][0]["mail"]["tags"]["campaign"] == ["welcome"]


def test_smtp_reply_carries_the_ses_message_id(server):
    creds = server.new_account("acme")
    with _starttls(server, creds) as client:
        client.mail("app@example.com")
        client.rcpt("user@example.org")
        code, reply = client.data(_message().as_bytes(policy=email.policy.SMTP))
    assert code == 250
    message_id = reply.decode().split()[-1]
    assert server.cli_json("messages", "show", message_id)["MessageId"] == message_id


def test_smtp_implicit_tls_send_is_captured(server):
    creds = server.new_account("acme")
    with smtplib.SMTP_SSL("127.0.0.1", server.smtps_port, context=_context(), timeout=10) as client:
        client.login(creds.access_key_id, creds.smtp_password)
        client.send_message(_message())
    assert len(server.cli_json("messages", "list")) == 1


def test_smtp_wrong_password_is_refused_with_535(server):
    creds = server.new_account("acme")
    client = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10)
    client.starttls(context=_context())
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        client.login(creds.access_key_id, "not-the-password")
    assert e.value.smtp_code == 535
    client.close()


def test_smtp_unverified_sender_is_rejected_with_ses_554(server):
    creds = server.new_account("acme")
    with _starttls(server, creds) as client:
        with pytest.raises(smtplib.SMTPDataError) as e:
            client.send_message(_message(sender="who@unverified.example"))
    assert e.value.smtp_code == 554
    assert b"Email address is not verified" in e.value.smtp_error
    assert server.cli_json("messages", "list") == []


def test_smtp_unknown_configuration_set_header_is_refused(server):
    creds = server.new_account("acme")
    with _starttls(server, creds) as client:
        with pytest.raises(smtplib.SMTPDataError) as e:
            client.send_message(_message(X_SES_CONFIGURATION_SET="nope"))
    assert e.value.smtp_code == 554 and b"does not exist" in e.value.smtp_error


def test_smtp_key_without_send_raw_email_permission_is_denied(server, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ses:SendEmail"], "Resource": "*"}]}))
    creds = server.new_account("acme", policy=policy)
    with _starttls(server, creds) as client:
        with pytest.raises(smtplib.SMTPDataError) as e:
            client.send_message(_message())
    assert e.value.smtp_code == 554 and b"not authorized to perform: ses:SendRawEmail" in e.value.smtp_error


def test_smtp_without_auth_is_no_open_relay(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as client:
        client.starttls(context=_context())
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            client.send_message(_message())
    assert e.value.smtp_code == 530


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks (Debian package) is not installed")
def test_swaks_delivers_into_capture(server):
    creds = server.new_account("acme")
    out = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.smtp_port}", "--tls", "--auth", "LOGIN",
                          "--auth-user", creds.access_key_id, "--auth-password", creds.smtp_password,
                          "--from", "app@example.com", "--to", "user@example.org",
                          "--header", "Subject: from swaks"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert server.cli_json("messages", "list")[0]["Subject"] == "from swaks"
