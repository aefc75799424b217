"""Tracking tokens: what an open pixel or a click link carries, signed so it cannot be forged.

A token is `base64url(claims JSON) . base64url(HMAC-SHA256 tag, 128 bits)`. The click token
carries its target URL inside the signed claims: the redirect goes only where we signed it to
go, so the tracking endpoint is never an open redirector (a changed byte → no redirect). The
kind (open or click) is part of what is signed, so one kind cannot stand in for the other.
The key is derived from the server's master key (core/secrets.py), so it needs no storage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

OPEN, CLICK = "open", "click"
_TAG_BYTES = 16


def tracking_key(master_key: bytes) -> bytes:
    """A key of its own for tracking tokens (never the encryption key itself)."""
    return hmac.new(master_key, b"openses tracking tokens v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, kind: str, claims: dict[str, Any]) -> str:
        body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        return f"{body}.{_b64(self._tag(kind, body))}"

    def read(self, kind: str, token: str) -> dict[str, Any] | None:
        """The claims of a token we signed for `kind`; None for anything else."""
        body, _, tag = token.partition(".")
        try:
            if not hmac.compare_digest(_unb64(tag), self._tag(kind, body)):
                return None
            claims = json.loads(_unb64(body))
        except (binascii.Error, ValueError, UnicodeError):
            return None
        return claims if isinstance(claims, dict) else None

    def _tag(self, kind: str, body: str) -> bytes:
        return hmac.new(self._key, f"{kind}\0{body}".encode("utf-8"), hashlib.sha256).digest()[:_TAG_BYTES]
