"""TLS material: a configured certificate, or a self-signed one created once and kept."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509

from openses.smtp.tls import CERT_NAME, KEY_NAME, load_or_create_certificate


def test_a_self_signed_certificate_is_created_once_and_kept(tmp_path: Path) -> None:
    _, first = load_or_create_certificate(tmp_path, "mail.example.org", None, None)
    _, second = load_or_create_certificate(tmp_path, "mail.example.org", None, None)
    assert first == second and len(first.split(":")) == 32
    key_mode = stat.S_IMODE((tmp_path / "tls" / KEY_NAME).stat().st_mode)
    assert key_mode == 0o600


def test_the_self_signed_certificate_names_the_host_localhost_and_loopback(tmp_path: Path) -> None:
    load_or_create_certificate(tmp_path, "mail.example.org", None, None)
    cert = x509.load_pem_x509_certificate((tmp_path / "tls" / CERT_NAME).read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.example.org", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_a_configured_certificate_is_used_as_given(tmp_path: Path) -> None:
    _, made = load_or_create_certificate(tmp_path / "a", "mail.example.org", None, None)
    tls = tmp_path / "a" / "tls"
    _, used = load_or_create_certificate(tmp_path / "b", "x", tls / CERT_NAME, tls / KEY_NAME)
    assert used == made
    assert not (tmp_path / "b").exists()


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_or_create_certificate(tmp_path, "h", tmp_path / "cert.pem", None)
