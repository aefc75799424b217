"""Tables of the SNS API: per-topic attributes and tags (the topics and subscriptions tables
themselves are the feedback loop's, in tables_feedback.py) and the key SNS messages are signed
with."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Integer, LargeBinary, String, Table, Text

from openses.store.schema import metadata

# Attributes SetTopicAttributes sets (DisplayName, SignatureVersion, Policy), the topic's tags and
# how many of its subscriptions were deleted (GetTopicAttributes' SubscriptionsDeleted).
topic_attributes = Table(
    "topic_attributes",
    metadata,
    Column("topic_arn", String(256), primary_key=True),
    Column("attributes", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("deleted_subscriptions", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# The RSA key and self-signed certificate of SNS message signatures (the newest row signs; older
# ones stay so that the SigningCertURL of messages already sent keeps working).
sns_signing_keys = Table(
    "sns_signing_keys",
    metadata,
    Column("id", String(64), primary_key=True),  # the certificate's SHA-256, hex (the cert URL's name)
    Column("certificate", Text, nullable=False),  # PEM
    Column("private_key_sealed", LargeBinary, nullable=False),  # SecretBox, context "sns-signing:<id>"
    Column("created_at", Float, nullable=False),
)
