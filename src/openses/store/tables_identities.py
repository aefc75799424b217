"""Tables of the identities domain: DKIM keys, identity policies, verification links and
custom verification email templates. The identity rows themselves live in schema.identities."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Integer, LargeBinary, String, Table, Text, UniqueConstraint

from openses.store.schema import metadata

dkim_keys = Table(
    "dkim_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("domain", String(255), nullable=False),  # the identity key of the domain identity
    Column("selector", String(63), nullable=False),
    Column("algorithm", String(16), nullable=False),  # rsa-sha256 | ed25519-sha256
    Column("key_bits", Integer, nullable=True),  # 1024 | 2048 for RSA
    Column("origin", String(16), nullable=False),  # AWS_SES (Easy DKIM) | EXTERNAL (BYODKIM)
    Column("private_key_sealed", LargeBinary, nullable=False),  # SecretBox, context key_context()
    Column("public_key", Text, nullable=False),  # base64 SubjectPublicKeyInfo, the p= of the record
    Column("position", Integer, nullable=False),  # 0 signs; Easy DKIM publishes 3 selectors
    Column("created_at", Float, nullable=False),
    UniqueConstraint("account_id", "domain", "selector", name="uq_dkim_keys_domain_selector"),
)

identity_policies = Table(
    "identity_policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("identity_key", String(320), nullable=False),
    Column("name", String(64), nullable=False),
    Column("document", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("account_id", "identity_key", "name", name="uq_identity_policies_name"),
)

verification_links = Table(
    "verification_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the link's token
    Column("account_id", String(12), nullable=False),
    Column("identity_key", String(320), nullable=False),
    Column("template_name", String(64), nullable=True),  # custom verification template, if any
    Column("expires_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

verification_templates = Table(
    "verification_templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("name", String(64), nullable=False),
    Column("from_address", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("success_url", Text, nullable=False),
    Column("failure_url", Text, nullable=False),
    Column("tags", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_verification_templates_name"),
)

