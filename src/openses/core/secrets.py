"""Secrets at rest: AES-256-GCM under the master key from the configuration."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the master key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> bytes:
        """Encrypt `plaintext`; `context` (e.g. the key id) is bound so rows can't be swapped."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        if sealed[:1] != _VERSION:
            raise ValueError("unknown secret format")
        nonce, body = sealed[1:13], sealed[13:]
        return self._aead.decrypt(nonce, body, context.encode()).decode()


def load_master_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured key, or the one kept in data_dir/master.key (created on first start)."""
    if configured:
        return base64.b64decode(configured)
    path = data_dir / "master.key"
    if path.exists():
        return base64.b64decode(path.read_bytes().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64encode(key) + b"\n")
    return key
