"""The database schema (SQLAlchemy Core). Migrations in `migrations/` must follow it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("production", Boolean, nullable=False, default=False),
    Column("sending_enabled", Boolean, nullable=False, default=True),
    Column("paused_by_operator", Boolean, nullable=False, default=False),
    Column("enforcement_status", String(16), nullable=False, default="HEALTHY"),
    Column("max_24h_send", Float, nullable=False),
    Column("max_send_rate", Float, nullable=False),
    Column("details", JSON, nullable=True),  # PutAccountDetails: the production access request
    Column("created_at", Float, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("id", String(32), primary_key=True),  # the access key id, AKIA…
    Column("account_id", String(12), nullable=False, index=True),
    Column("user_name", String(64), nullable=False),
    Column("secret_encrypted", LargeBinary, nullable=False),
    Column("policy", JSON, nullable=True),  # None: ses:* allowed
    Column("created_at", Float, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("identity", String(320), nullable=False),  # address as given, domain lower-case
    Column("identity_key", String(320), nullable=False),  # lookup form (domain part lower-cased)
    Column("kind", String(16), nullable=False),  # EMAIL_ADDRESS | DOMAIN
    Column("status", String(24), nullable=False),  # PENDING | SUCCESS | FAILED | …
    Column("verification_token", String(64), nullable=True),
    Column("attributes", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("account_id", "identity_key", name="uq_identities_account_identity"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(64), primary_key=True),  # the SES MessageId
    Column("account_id", String(12), nullable=False),
    Column("source", String(320), nullable=False),  # envelope sender
    Column("from_header", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("recipients", JSON, nullable=False),  # envelope recipients
    Column("raw", LargeBinary, nullable=False),  # exactly what recipients get
    Column("size", Integer, nullable=False),
    Column("channel", String(8), nullable=False),  # api | smtp
    Column("configuration_set", String(64), nullable=True),
    Column("tags", JSON, nullable=True),
    Column("status", String(16), nullable=False),  # queued | delivered | bounced | …
    Column("created_at", Float, nullable=False),
    Index("ix_messages_account_created", "account_id", "created_at"),
)

# One row per message and recipient domain: what a worker leases and delivers.
queue = Table(
    "queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, index=True),
    Column("account_id", String(12), nullable=False),
    Column("domain", String(255), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    # The configuration set's DeliveryOptions, frozen at send time (NULL: the server's defaults).
    Column("deliver_by", Float, nullable=True),  # created_at + MaxDeliverySeconds
    Column("require_tls", Boolean, nullable=True),  # TlsPolicy REQUIRE
    Column("mail_from_domain", String(255), nullable=True),  # custom MAIL FROM; NULL: the bounce domain
    Index("ix_queue_due", "next_attempt_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("message_id", String(64), nullable=True, index=True),
    Column("event_type", String(24), nullable=False),
    Column("recipients", Integer, nullable=False, default=0),  # how many recipients it concerns
    Column("created_at", Float, nullable=False),
    Column("payload", JSON, nullable=False),  # SES event JSON, frozen at event time
    Index("ix_events_account_created", "account_id", "created_at"),
)

# Recipients accepted per account per minute: the rolling 24-hour quota, shared by all nodes.
send_counts = Table(
    "send_counts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("minute", BigInteger, primary_key=True),
    Column("recipients", Integer, nullable=False),
)

from openses.store import tables_identities  # noqa: E402,F401  (registers its tables on metadata)
from openses.store import tables_contacts, tables_templates  # noqa: E402,F401  (templates and contacts)
from openses.store import tables_feedback  # noqa: E402,F401  (feedback loop: configuration sets, events, suppression)
from openses.store import tables_sns  # noqa: E402,F401  (SNS API: topic attributes, message signing keys)
from openses.store import tables_notifications  # noqa: E402,F401  (identity feedback notifications: forwarding queue)
from openses.store import tables_inbound  # noqa: E402,F401  (inbound feedback: reports received by the bounce MX)
from openses.store import tables_reputation  # noqa: E402,F401  (per configuration set reputation counters)
