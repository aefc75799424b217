"""Identifiers in SES's formats: message ids, access keys, account ids, request ids."""

from __future__ import annotations

import os
import secrets
import time
import uuid

_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def message_id(now: float | None = None) -> str:
    """SES's MessageId shape: 0100 + 12 hex digits of epoch milliseconds, a UUID, 000000."""
    ms = int((time.time() if now is None else now) * 1000)
    return f"0100{ms:012x}-{uuid.uuid4()}-000000"


def request_id() -> str:
    return str(uuid.UUID(bytes=os.urandom(16), version=4))


def access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def secret_access_key() -> str:
    return secrets.token_urlsafe(30)[:40]


def account_id() -> str:
    return f"{secrets.randbelow(10**12):012d}"


def verification_token() -> str:
    return secrets.token_urlsafe(32)
