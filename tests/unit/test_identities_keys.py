"""DKIM keys, identity policies and email verification links over an in-memory SQLite store."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from openses.core import identity_policies
from openses.core.dkim_keys import RSA_1024, parse_private_key, signing_keys
from openses.core.dns_verifier import email_status
from openses.core.identities import Identity, IdentityService
from openses.core.secrets import SecretBox
from openses.errors import AccessDenied, InvalidParameterValue, InvalidPolicy, MessageRejected
from openses.store.store import Store
from openses.store.tables_identities import dkim_keys


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    s = Store.open(f"sqlite:///{tmp_path / 'unit.db'}")
    yield s
    s.close()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))


async def _dkim_domain(store: Store, box: SecretBox, status: str) -> IdentityService:
    service = IdentityService(store)
    await service.ensure("111111111111", "example.com")
    await service.start_easy_dkim(box, "111111111111", "example.com", RSA_1024)
    await service.update("111111111111", "example.com", lambda i: {
        "attributes": dict(i.attributes, dkim=dict(i.dkim, status=status))})
    return service


async def test_signing_keys_are_those_of_a_verified_dkim_domain_and_of_its_subdomains(store, box):
    await _dkim_domain(store, box, "SUCCESS")
    [key] = await signing_keys(store, box, "111111111111", "example.com")
    assert key.domain == "example.com" and key.algorithm == "rsa-sha256" and len(key.selector) == 32
    assert key.private_key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    [sub] = await signing_keys(store, box, "111111111111", "news.example.com")
    assert sub == key
    assert await signing_keys(store, box, "222222222222", "example.com") == []


async def test_no_signing_keys_while_dkim_is_pending(store, box):
    await _dkim_domain(store, box, "PENDING")
    assert await signing_keys(store, box, "111111111111", "example.com") == []


async def test_private_keys_are_sealed_at_rest(store, box):
    await _dkim_domain(store, box, "SUCCESS")
    rows = store.read_sync(lambda c: [dict(r) for r in c.execute(dkim_keys.select()).mappings()])
    assert len(rows) == 3
    assert all(b"PRIVATE KEY" not in r["private_key_sealed"] for r in rows)


def test_byodkim_accepts_base64_der_and_pem_and_ed25519():
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    der = base64.b64encode(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())).decode()
    assert parse_private_key(pem)[2] == parse_private_key(der)[2] == "ed25519-sha256"
    with pytest.raises(InvalidParameterValue):
        parse_private_key("bm90IGEga2V5")


def test_email_identity_fails_24_hours_after_its_request():
    pending = Identity("1", "a@example.com", "EMAIL_ADDRESS", "PENDING", 0.0, 0.0, None, {"check": {"since": 0.0}})
    assert email_status(pending, 23 * 3600) == "PENDING"
    assert email_status(pending, 24 * 3600) == "FAILED"


ARN = "arn:aws:ses:us-east-1:111111111111:identity/example.com"


def _policy(principal: object, effect: str = "Allow", resource: str = ARN) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Principal": principal, "Action": "ses:SendEmail", "Resource": resource}]})


def test_policy_resource_must_be_the_identity():
    identity_policies.validate(_policy({"AWS": "222222222222"}), ARN)
    with pytest.raises(InvalidPolicy):
        identity_policies.validate(_policy({"AWS": "222222222222"}, resource=ARN + "x"), ARN)
    with pytest.raises(InvalidPolicy):
        identity_policies.validate('{"Statement": [{"Effect": "Allow", "Action": "ses:*"}]}', ARN)


def test_policy_allows_only_the_named_principal_and_deny_wins():
    args = {"caller_arn": "arn:aws:iam::222222222222:user/app", "action": "ses:SendEmail",
            "resource": ARN, "context": {}}
    allow = _policy({"AWS": "arn:aws:iam::222222222222:root"})
    assert identity_policies.allows([allow], account_id="222222222222", **args)
    assert not identity_policies.allows([allow], account_id="333333333333", **args)
    deny = _policy({"AWS": "222222222222"}, effect="Deny")
    assert not identity_policies.allows([allow, deny], account_id="222222222222", **args)


async def test_cross_account_sending_needs_a_verified_identity_and_a_policy(store):
    service = IdentityService(store)
    send = {"caller_account_id": "222222222222", "caller_arn": "arn:aws:iam::222222222222:user/app",
            "arn": ARN, "action": "ses:SendEmail", "context": {}}
    await service.ensure("111111111111", "example.com")
    with pytest.raises(MessageRejected):
        await identity_policies.authorize_cross_account(store, **send)
    await service.set_status("111111111111", "example.com", "SUCCESS")
    with pytest.raises(AccessDenied):
        await identity_policies.authorize_cross_account(store, **send)
    await service.put_policy("111111111111", "example.com", "p", _policy({"AWS": "222222222222"}))
    target = await identity_policies.authorize_cross_account(store, **send)
    assert target.account_id == "111111111111"


async def test_unverified_mail_from_falls_back_or_rejects_as_its_behavior_says(store):
    from openses.core.identities import mail_from_domain
    from openses.errors import MailFromDomainNotVerifiedException

    service = IdentityService(store)
    await service.set_status("111111111111", "example.com", "SUCCESS")
    assert await mail_from_domain(store, "111111111111", "a@example.com") is None
    value = {"domain": "bounce.example.com", "behavior": "USE_DEFAULT_VALUE", "status": "PENDING"}
    await service.set_attribute("111111111111", "example.com", "mail_from", value)
    assert await mail_from_domain(store, "111111111111", "a@news.example.com") is None
    await service.set_attribute("111111111111", "example.com", "mail_from", dict(value, behavior="REJECT_MESSAGE"))
    with pytest.raises(MailFromDomainNotVerifiedException):
        await mail_from_domain(store, "111111111111", "a@example.com")
    await service.set_attribute("111111111111", "example.com", "mail_from", dict(value, status="SUCCESS"))
    assert await mail_from_domain(store, "111111111111", "a@example.com") == "bounce.example.com"
