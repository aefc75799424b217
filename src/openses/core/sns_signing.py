"""SNS message signatures: what lets a receiver check that a SubscriptionConfirmation or a
Notification really came from this openses.

As SNS does, each message carries `SignatureVersion` ("1": SHA1withRSA, "2": SHA256withRSA, chosen
per topic by its SignatureVersion attribute, "1" by default), `Signature` (base64 of the RSA
PKCS #1 v1.5 signature) and `SigningCertURL`. The signed text is SNS's canonical string: for each
field of the type's list that the message has, its name, a newline, its value, a newline
(Notification: Message, MessageId, Subject if present, Timestamp, TopicArn, Type; the two
confirmation types: Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type).

The key is RSA-2048 with a self-signed X.509 certificate, made on first use and kept in the
database with the private key sealed by the SecretBox, so every role and node signs alike.
The certificate is served at `<public URL>/sns/SimpleNotificationService-<id>.pem`. Real SNS
clients also insist that this URL's host is under amazonaws.com; receivers must be configured to
trust the openses host instead (docs/events.md).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from openses.config import Settings
from openses.core.secrets import SecretBox, load_master_key
from openses.store import sns_repo
from openses.store.store import Store

SIGNATURE_VERSIONS = ("1", "2")
DEFAULT_SIGNATURE_VERSION = "1"  # as SNS: topics sign with SHA1withRSA unless set to "2"
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _CONFIRMATION_FIELDS,
}
# The order SNS writes an envelope's fields in (receivers should not care; people reading do).
_ENVELOPE_ORDER = ("Type", "MessageId", "Token", "TopicArn", "Subject", "Message", "SubscribeURL", "Timestamp",
                   "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
KEY_BITS = 2048
CERT_DAYS = 3650  # the certificate only carries the public key; receivers pin it by URL


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """SNS's canonical string of a message (KeyError for a type SNS does not sign)."""
    fields = SIGNED_FIELDS[message["Type"]]
    return "".join(f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None).encode()


def signature(message: Mapping[str, Any], key: rsa.RSAPrivateKey, version: str) -> str:
    raw = key.sign(string_to_sign(message), padding.PKCS1v15(), _HASHES[version]())
    return base64.b64encode(raw).decode("ascii")


def signed(message: Mapping[str, Any], key: rsa.RSAPrivateKey, version: str, cert_url: str) -> dict[str, Any]:
    """The message with SignatureVersion, Signature and SigningCertURL, in SNS's field order."""
    out = {k: v for k, v in message.items() if k not in ("SignatureVersion", "Signature", "SigningCertURL")}
    out.update(SignatureVersion=version, Signature=signature(out, key, version), SigningCertURL=cert_url)
    rank = {name: i for i, name in enumerate(_ENVELOPE_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def cert_path(key_id: str) -> str:
    return f"/sns/SimpleNotificationService-{key_id}.pem"


def key_id_from_path_name(name: str) -> str | None:
    """`SimpleNotificationService-<id>.pem` → id (None for any other name)."""
    prefix, suffix = "SimpleNotificationService-", ".pem"
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    key_id = name[len(prefix):-len(suffix)]
    return key_id if key_id.isalnum() else None


# --- the key --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SigningKey:
    id: str
    private_key: rsa.RSAPrivateKey


def _context(key_id: str) -> str:
    return f"sns-signing:{key_id}"


def new_key_row(box: SecretBox, common_name: str, now: float) -> dict[str, Any]:
    """A fresh RSA-2048 key and its self-signed certificate, as a sns_signing_keys row."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    cert = _self_signed(key, common_name, now)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_id = cert.fingerprint(hashes.SHA256()).hex()  # the certificate's SHA-256 fingerprint
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return {"id": key_id, "certificate": cert_pem.decode(), "created_at": now,
            "private_key_sealed": box.seal(key_pem, _context(key_id))}


def _self_signed(key: rsa.RSAPrivateKey, common_name: str, now: float) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "openses"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "openses")])
    start = datetime.datetime.fromtimestamp(now, datetime.timezone.utc) - datetime.timedelta(minutes=5)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def open_key_row(box: SecretBox, row: Mapping[str, Any]) -> SigningKey:
    pem = box.open(row["private_key_sealed"], _context(row["id"])).encode()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return SigningKey(row["id"], key)


# --- signing what the outbox sends -----------------------------------------------------------------

class SnsSigner:
    """Signs SNS envelopes as the outbox sends them, with the topic's SignatureVersion."""

    def __init__(self, store: Store, box: SecretBox, public_url: str) -> None:
        self._store = store
        self._box = box
        self._public_url = public_url.rstrip("/")
        self._key: SigningKey | None = None
        self._lock = asyncio.Lock()

    async def signed_body(self, body: str, topic_arn: str) -> bytes:
        """`body` signed when it is an SNS envelope; anything else (raw delivery) as it is."""
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body.encode()
        if not isinstance(message, dict) or message.get("Type") not in SIGNED_FIELDS:
            return body.encode()
        key = await self.key()
        attributes = await self._store.read(lambda c: sns_repo.get_topic_attributes(c, topic_arn))
        version = str(((attributes or {}).get("attributes") or {}).get("SignatureVersion"))
        url = self._public_url + cert_path(key.id)
        if version not in SIGNATURE_VERSIONS:
            version = DEFAULT_SIGNATURE_VERSION
        return orjson.dumps(signed(message, key.private_key, version, url))

    async def key(self) -> SigningKey:
        async with self._lock:
            if self._key is None:
                self._key = await self._load_or_create()
            return self._key

    async def _load_or_create(self) -> SigningKey:
        row = await self._store.read(sns_repo.newest_signing_key)
        if row is None:
            host = urlsplit(self._public_url).hostname or "openses"
            fresh = await asyncio.to_thread(new_key_row, self._box, host, time.time())
            await self._store.write(lambda c: sns_repo.insert_signing_key(c, fresh))
            row = await self._store.read(sns_repo.newest_signing_key)
        assert row is not None
        return open_key_row(self._box, row)


def signer_from(settings: Settings, store: Store) -> SnsSigner:
    box = SecretBox(load_master_key(settings.master_key, settings.data_dir))
    return SnsSigner(store, box, settings.effective_public_url)
