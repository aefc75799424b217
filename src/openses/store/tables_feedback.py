"""Tables of the feedback loop: configuration sets and their event destinations, openses's own
SNS-style topics and subscriptions, the webhook outbox and its attempt log, the account-level
suppression list, reputation counters and the event-processing cursor."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from openses.store.schema import metadata

configuration_sets = Table(
    "configuration_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("name", String(64), nullable=False),
    Column("options", JSON, nullable=False),  # {"DeliveryOptions": {...}, "SendingOptions": {...}, …}
    Column("tags", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_configuration_sets_account_name"),
)

event_destinations = Table(
    "event_destinations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("configuration_set", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("event_types", JSON, nullable=False),  # SES v2 names: SEND, BOUNCE, …
    Column("destination", JSON, nullable=False),  # {"SnsDestination": {"TopicArn": …}} or other kinds
    Column("created_at", Float, nullable=False),
    UniqueConstraint("account_id", "configuration_set", "name", name="uq_event_destinations_name"),
)

# Per-account (and per-identity) feedback settings that live outside the accounts table.
feedback_settings = Table(
    "feedback_settings",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("identity_key", String(320), primary_key=True),  # "" for the account itself
    Column("data", JSON, nullable=False),  # SuppressedReasons, DefaultConfigurationSet, …
    Column("updated_at", Float, nullable=False),
)

topics = Table(
    "topics",
    metadata,
    Column("arn", String(256), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("name", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),  # the subscription ARN's last part
    Column("topic_arn", String(256), nullable=False, index=True),
    Column("protocol", String(16), nullable=False),  # http | https | webhook
    Column("endpoint", Text, nullable=False),
    Column("raw", Boolean, nullable=False),  # RawMessageDelivery: the event JSON without the envelope
    Column("secret", String(128), nullable=False),  # HMAC key of the signature header
    Column("token", String(128), nullable=False),  # SubscriptionConfirmation token
    Column("status", String(24), nullable=False),  # PendingConfirmation | Confirmed
    Column("created_at", Float, nullable=False),
)

# One row per (event or confirmation, subscription): the payload frozen when it was made.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # Notification | SubscriptionConfirmation
    Column("event_id", BigInteger, nullable=True),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_expires_at", Float, nullable=True),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
)

suppressed_destinations = Table(
    "suppressed_destinations",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("email_key", String(320), primary_key=True),  # lower-cased address
    Column("email", String(320), nullable=False),
    Column("reason", String(16), nullable=False),  # BOUNCE | COMPLAINT
    Column("message_id", String(64), nullable=True),
    Column("feedback_id", String(128), nullable=True),
    Column("updated_at", Float, nullable=False),
)

# Recipients sent, hard-bounced and complained about, per account and minute: reputation and metrics.
feedback_counts = Table(
    "feedback_counts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("minute", BigInteger, primary_key=True),
    Column("event_type", String(24), primary_key=True),  # Send, Bounce, Complaint, … and HardBounce
    Column("recipients", Integer, nullable=False),
)

reputation_state = Table(
    "reputation_state",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("status", String(16), nullable=False),  # HEALTHY | PROBATION | SHUTDOWN
    Column("window_start", Float, nullable=False),  # judged since (a reinstatement resets it)
    Column("bounce_rate", Float, nullable=False),
    Column("complaint_rate", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# How far the feedback processor has read the events table.
feedback_cursor = Table(
    "feedback_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_event_id", BigInteger, nullable=False),
    Column("updated_at", Float, nullable=False),
)
