"""TLS material for the SMTP listeners: the configured certificate, or for development a
self-signed one created on first start and kept in `data_dir/tls/` so clients that pinned its
fingerprint keep working across restarts."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

CERT_NAME = "smtp-cert.pem"
KEY_NAME = "smtp-key.pem"
SELF_SIGNED_DAYS = 825  # the longest validity clients such as Apple's still accept


def load_or_create_certificate(
    data_dir: Path, hostname: str, cert_file: Path | None, key_file: Path | None
) -> tuple[ssl.SSLContext, str]:
    """A server SSLContext and the certificate's SHA-256 fingerprint ("AB:CD:…")."""
    if (cert_file is None) != (key_file is None):
        raise ValueError("give both a TLS certificate file and its key file, or neither")
    if cert_file is None or key_file is None:
        cert_file, key_file = data_dir / "tls" / CERT_NAME, data_dir / "tls" / KEY_NAME
        if not (cert_file.exists() and key_file.exists()):
            _create_self_signed(cert_file, key_file, hostname)
    return _server_context(cert_file, key_file), fingerprint(cert_file)


def fingerprint(cert_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # no client certificates
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 8996: TLS 1.0 and 1.1 are gone
    context.load_cert_chain(cert_file, key_file)
    return context


def _create_self_signed(cert_file: Path, key_file: Path, hostname: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())  # P-256: fast handshakes, accepted everywhere
    cert = _self_signed_certificate(key, hostname)
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomically(key_file, key_pem, mode=0o600)
    _write_atomically(cert_file, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    log.warning(
        "Created a self-signed SMTP TLS certificate for %s (SHA-256 %s), for development only",
        hostname,
        fingerprint(cert_file),
    )


def _self_signed_certificate(key: ec.EllipticCurvePrivateKey, hostname: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(_alt_names(hostname)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _alt_names(hostname: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for value in dict.fromkeys([hostname, "localhost", "127.0.0.1"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            names.append(x509.DNSName(value))
    return names


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
