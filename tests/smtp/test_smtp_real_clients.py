"""Real SMTP clients against the server: swaks (Debian package; `.ci/run` must install it) and
Django's SMTP email backend configured the way a Django project would."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from smtp_test_support import ACCESS_KEY_ID

from openses.smtp.backend import FakeBackend
from openses.smtp.tls import CERT_NAME


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (apt-get install swaks)")
async def test_swaks_sends_over_starttls_with_auth_login(
    starttls_port: int, backend: FakeBackend, smtp_password: str
) -> None:
    command = [
        "swaks", "--server", f"127.0.0.1:{starttls_port}", "--tls", "--auth", "LOGIN",
        "--auth-user", ACCESS_KEY_ID, "--auth-password", smtp_password,
        "--from", "sender@example.com", "--to", "rcpt@example.net",
        "--header", "Subject: from swaks", "--body", "hello from swaks",
    ]
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<~  250 Ok " in result.stdout  # "<~": a reply read over TLS
    [submission] = backend.submissions
    assert submission.rcpt_tos == ["rcpt@example.net"]
    assert b"Subject: from swaks\r\n" in submission.data
    assert b"hello from swaks" in submission.data


async def test_django_send_mail_through_the_smtp_backend_is_received(
    starttls_port: int,
    backend: FakeBackend,
    smtp_password: str,
    tls_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Django's EmailBackend verifies the server with ssl.create_default_context(): trust the
    # development certificate the way a developer would, through OpenSSL's SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_dir / "tls" / CERT_NAME))
    from django.conf import settings
    from django.core.mail import send_mail
    from django.test.utils import override_settings

    if not settings.configured:
        settings.configure()
    email_settings = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": starttls_port,
        "EMAIL_USE_TLS": True,
        "EMAIL_HOST_USER": ACCESS_KEY_ID,
        "EMAIL_HOST_PASSWORD": smtp_password,
        "EMAIL_TIMEOUT": 10,
    }

    def run() -> int:
        with override_settings(**email_settings):
            return send_mail(
                "Hello from Django", "The body.", "app@example.com", ["user@example.net"]
            )

    assert await asyncio.to_thread(run) == 1
    [submission] = backend.submissions
    assert (submission.mail_from, submission.rcpt_tos) == ("app@example.com", ["user@example.net"])
    assert b"Subject: Hello from Django" in submission.data
