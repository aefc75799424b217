"""Tables of the templates domain: the email templates an account stores (SES v1 and v2 share them)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Integer, String, Table, Text, UniqueConstraint

from openses.store.schema import metadata

email_templates = Table(
    "email_templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("name", String(64), nullable=False),
    Column("subject", Text, nullable=True),
    Column("text", Text, nullable=True),
    Column("html", Text, nullable=True),
    Column("tags", JSON, nullable=True),  # v2 [{"Key", "Value"}]
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_email_templates_account_name"),
)
