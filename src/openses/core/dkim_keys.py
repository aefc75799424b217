"""DKIM keys of domain identities: Easy DKIM key pairs openses generates, BYODKIM keys users
bring, the DNS records that publish them, and the keys the delivery side signs with.

Private keys are sealed with the SecretBox (AES-GCM, bound to account, domain and selector) and
never stored in clear. Easy DKIM makes three selectors, like SES's three tokens; the first signs,
the others are published so that a rotation can switch without the user touching DNS.

Rotation (`rotate`, then `switch_signing` once DNS serves the new key) is kept in the identity's
`dkim` attributes: `signing` is the slot (0–2) that signs, `next` the slot whose new key waits to
be seen in DNS, `retiring` (cname mode) the slot whose old key is still served until a time.
RFC 6376 §3.6.1: the key record is `v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from openses.core.secrets import SecretBox
from openses.errors import InvalidParameterValue
from openses.store import dkim_repo
from openses.store import identities_repo as irepo
from openses.store.store import Store

RSA_1024 = "RSA_1024_BIT"
RSA_2048 = "RSA_2048_BIT"
KEY_BITS = {RSA_1024: 1024, RSA_2048: 2048}
EASY_DKIM_SELECTORS = 3
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class DkimKey:
    """What a signer needs: d=, s=, a= and the private key (PEM, PKCS#8)."""

    domain: str
    selector: str
    algorithm: str  # 'rsa-sha256' | 'ed25519-sha256'
    private_key_pem: bytes


@dataclass(frozen=True)
class PublicKey:
    selector: str
    algorithm: str
    public_key: str  # base64 of the SubjectPublicKeyInfo (RSA) or raw 32 octets (Ed25519)

    def record(self) -> str:
        """The TXT record value (RFC 6376 §3.6.1; RFC 8463 §4 for k=ed25519)."""
        k = "ed25519" if self.algorithm == "ed25519-sha256" else "rsa"
        return f"v=DKIM1; k={k}; p={self.public_key}"


def key_context(account_id: str, domain: str, selector: str) -> str:
    return f"dkim:{account_id}:{domain}:{selector}"


def new_token() -> str:
    """An Easy DKIM token (the selector): 32 lower-case letters and digits, like SES's."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(32))


def _pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    pub = key.public_key()
    if isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        raw = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(raw).decode()


def generate_rsa(bits: int) -> tuple[bytes, str]:
    """(private PEM, public base64) of a new RSA key; 65537 as RFC 6376 §3.3.3 expects."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _pem(key), _public(key)


def parse_private_key(text: str) -> tuple[bytes, str, str, int | None]:
    """A BYODKIM key as SES takes it (base64 of the DER key, or PEM): (PEM, public, algorithm, bits).

    SES accepts RSA keys of 1024 to 2048 bits in PKCS#1 or PKCS#8; Ed25519 is accepted too.
    """
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(text, validate=False), password=None)
    except (ValueError, TypeError, binascii.Error) as e:
        raise InvalidParameterValue(f"Invalid DomainSigningPrivateKey: {e}") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if not 1024 <= key.key_size <= 2048:
            raise InvalidParameterValue("DomainSigningPrivateKey must be an RSA key of 1024 to 2048 bits.")
        return _pem(key), _public(key), "rsa-sha256", key.key_size
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _pem(key), _public(key), "ed25519-sha256", None
    raise InvalidParameterValue("DomainSigningPrivateKey must be an RSA or Ed25519 private key.")


def _row(box: SecretBox, account_id: str, domain: str, selector: str, pem: bytes, public: str,
         algorithm: str, bits: int | None, origin: str, position: int, now: float) -> dict[str, Any]:
    return {"account_id": account_id, "domain": domain, "selector": selector, "algorithm": algorithm,
            "key_bits": bits, "origin": origin,
            "private_key_sealed": box.seal(pem.decode(), key_context(account_id, domain, selector)),
            "public_key": public, "position": position, "created_at": now}


def easy_dkim_rows(box: SecretBox, account_id: str, domain: str, length: str) -> list[dict[str, Any]]:
    """Three fresh Easy DKIM keys for `domain`, sealed, ready to store."""
    bits = KEY_BITS.get(length)
    if bits is None:
        raise InvalidParameterValue(f"NextSigningKeyLength must be {RSA_1024} or {RSA_2048}.")
    now = time.time()
    rows = []
    for position in range(EASY_DKIM_SELECTORS):
        pem, public = generate_rsa(bits)
        rows.append(_row(box, account_id, domain, new_token(), pem, public, "rsa-sha256", bits,
                         "AWS_SES", position, now))
    return rows


def byodkim_rows(box: SecretBox, account_id: str, domain: str, selector: str,
                 private_key: str) -> list[dict[str, Any]]:
    pem, public, algorithm, bits = parse_private_key(private_key)
    return [_row(box, account_id, domain, selector, pem, public, algorithm, bits, "EXTERNAL", 0, time.time())]


def public_keys(rows: list[dict[str, Any]]) -> list[PublicKey]:
    return [PublicKey(r["selector"], r["algorithm"], r["public_key"]) for r in rows]


def _parents(domain: str) -> list[str]:
    labels = domain.lower().rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


async def signing_keys(store: Store, box: SecretBox, account_id: str, domain: str) -> list[DkimKey]:
    """The keys to sign mail from `domain` with: those of the nearest domain identity (the domain
    itself, else a parent) whose DKIM signing is enabled and whose DKIM status is SUCCESS.
    Empty when none applies. The first key is the one to sign with."""
    for candidate in _parents(domain):
        found = await store.read(lambda c: _signing_rows(c, account_id, candidate))  # read before the next
        if found is None:
            continue
        return [DkimKey(candidate, r["selector"], r["algorithm"],
                        box.open(r["private_key_sealed"], key_context(account_id, candidate, r["selector"])).encode())
                for r in found]
    return []


def _signing_rows(conn: Any, account_id: str, domain: str) -> list[dict[str, Any]] | None:
    """None: no domain identity here (look at the parent); []: one that must not sign."""
    identity = irepo.get_identity(conn, account_id, domain)
    if identity is None or identity["kind"] != "DOMAIN":
        return None
    dkim = (identity["attributes"] or {}).get("dkim") or {}
    if not dkim.get("enabled") or dkim.get("status") != "SUCCESS":
        return []
    rows = irepo.list_dkim_keys(conn, account_id, domain)
    slot = dkim.get("signing", 0)
    return [r for r in rows if r["position"] == slot] or rows[:1]


# --- Easy DKIM key rotation ---------------------------------------------------------------------


def rotation_slot(dkim: dict[str, Any]) -> int:
    """The slot a new key goes to: neither the signing one nor one still in its grace period.
    A rotation still waiting for DNS is replaced by the new one (same slot)."""
    if dkim.get("next"):
        return int(dkim["next"]["slot"])
    busy = {dkim.get("signing", 0), (dkim.get("retiring") or {}).get("slot")}
    return next(slot for slot in range(EASY_DKIM_SELECTORS) if slot not in busy)


def switch_signing(dkim: dict[str, Any], now: float, grace: float | None) -> dict[str, Any]:
    """The DKIM attributes once the next key is seen in DNS: it signs from now on. With a grace
    (cname mode) the old key stays published until now + grace; the user's DNS holds it
    otherwise."""
    dkim = dict(dkim)
    nxt = dkim.pop("next")
    old = dkim.get("signing", 0)
    dkim.update(signing=nxt["slot"], current_length=dkim.get("next_length", dkim.get("current_length")))
    dkim.pop("retiring", None)
    if grace is not None:
        dkim["retiring"] = {"slot": old, "until": now + grace}
    return dkim


def _easy_identity(conn: Any, account_id: str, domain: str, *, lock: bool = True) -> dict[str, Any]:
    """The domain's identity with Easy DKIM keys; `lock`: for a read-modify-write (lock_identity)."""
    from openses.errors import NotFound

    row = (irepo.lock_identity if lock else irepo.get_identity)(conn, account_id, domain)
    if row is None:
        raise NotFound(f"Email identity {domain} does not exist.")
    dkim = (row["attributes"] or {}).get("dkim") or {}
    if row["kind"] != "DOMAIN" or dkim.get("origin") != "AWS_SES" or not dkim.get("tokens"):
        raise InvalidParameterValue(f"{domain} does not use Easy DKIM; there is no key to rotate.")
    return row


async def rotate(store: Store, box: SecretBox, account_id: str, domain: str, length: str, *,
                 keep_tokens: bool, now: float) -> dict[str, Any]:
    """Generate the next Easy DKIM key of `length` and publish it in a free slot; the identity's
    new `dkim` attributes. keep_tokens (cname mode): the key goes under the slot's existing token,
    which the user's CNAME already names; otherwise under a new token the user must publish."""
    import asyncio

    bits = KEY_BITS.get(length)
    if bits is None:
        raise InvalidParameterValue(f"NextSigningKeyLength must be {RSA_1024} or {RSA_2048}.")
    pem, public = await asyncio.to_thread(generate_rsa, bits)

    def write(conn: Any) -> dict[str, Any]:
        row = _easy_identity(conn, account_id, domain)
        dkim = dict(row["attributes"]["dkim"])
        slot = rotation_slot(dkim)
        tokens = list(dkim["tokens"])
        tokens[slot] = tokens[slot] if keep_tokens else new_token()
        key = _row(box, account_id, domain, tokens[slot], pem, public, "rsa-sha256", bits, "AWS_SES", slot, now)
        dkim_repo.replace_slot(conn, account_id, domain, slot, key)
        dkim.update(tokens=tokens, next_length=length, generated_at=now, next={"slot": slot, "since": now})
        irepo.update_identity(conn, account_id, domain, attributes=dict(row["attributes"], dkim=dkim), updated_at=now)
        return dkim

    return await store.write(write)


async def retire(store: Store, box: SecretBox, account_id: str, domain: str, length: str, now: float) -> bool:
    """cname mode, after the grace period: the rotated-out key leaves the zone; a fresh spare key
    of `length` takes its slot (and token). Whether anything was retired."""
    import asyncio

    bits = KEY_BITS.get(length, 2048)
    pem, public = await asyncio.to_thread(generate_rsa, bits)

    def write(conn: Any) -> bool:
        row = _easy_identity(conn, account_id, domain)
        dkim = dict(row["attributes"]["dkim"])
        retiring = dkim.get("retiring")
        if not retiring or retiring["until"] > now:
            return False
        slot = retiring["slot"]
        key = _row(box, account_id, domain, dkim["tokens"][slot], pem, public, "rsa-sha256", bits, "AWS_SES",
                   slot, now)
        dkim_repo.replace_slot(conn, account_id, domain, slot, key)
        dkim.pop("retiring")
        irepo.update_identity(conn, account_id, domain, attributes=dict(row["attributes"], dkim=dkim))
        return True

    return await store.write(write)


async def start_rotation(store: Store, box: SecretBox, account_id: str, domain: str, length: str | None, *,
                         mode: str, grace: float, switch_now: bool = False) -> dict[str, Any]:
    """A rotation as the API and the operator start it: the next key (of `length`, else the
    identity's NextSigningKeyLength) published in cname mode under an existing token, in txt mode
    under a new one; `switch_now` (development mode, no DNS to wait for) signs with it at once."""
    now = time.time()
    if length is None:
        row = await store.read(lambda c: _easy_identity(c, account_id, domain, lock=False))
        length = row["attributes"]["dkim"].get("next_length") or RSA_2048
    dkim = await rotate(store, box, account_id, domain, length, keep_tokens=mode == "cname", now=now)
    if not switch_now:
        return dkim
    switched = switch_signing(dkim, now, grace if mode == "cname" else None)

    def write(conn: Any) -> None:
        row = irepo.lock_identity(conn, account_id, domain)
        irepo.update_identity(conn, account_id, domain, attributes=dict(row["attributes"], dkim=switched))  # type: ignore[index]

    await store.write(write)
    return switched
