"""Tables of the contacts domain: contact lists with their topics, contacts with their topic
preferences, and the one-click unsubscribe links put on list mail (RFC 8058)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Integer, String, Table, Text, UniqueConstraint

from openses.store.schema import metadata

contact_lists = Table(
    "contact_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("topics", JSON, nullable=False),  # [{"TopicName", "DisplayName", "Description", "DefaultSubscriptionStatus"}]
    Column("tags", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_contact_lists_account_name"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("list_name", String(64), nullable=False),
    Column("email", String(320), nullable=False),  # as given; email_key is the lookup form
    Column("email_key", String(320), nullable=False),  # lower-cased
    Column("topic_preferences", JSON, nullable=False),  # {"topic": "OPT_IN" | "OPT_OUT"}
    Column("unsubscribe_all", Boolean, nullable=False, default=False),
    Column("attributes", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("account_id", "list_name", "email_key", name="uq_contacts_list_email"),
)

# One row per message sent with ListManagementOptions: what its unsubscribe link stands for.
unsubscribe_links = Table(
    "unsubscribe_links",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("list_name", String(64), nullable=False),
    Column("topic", String(64), nullable=True),
    Column("recipients", JSON, nullable=False),
    Column("message_id", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
)
