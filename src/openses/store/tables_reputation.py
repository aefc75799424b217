"""Per configuration set counters for reputation (SES's ReputationMetricsEnabled)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from openses.store.schema import metadata

# Like feedback_counts, per configuration set: recipients sent, hard-bounced, complained about.
config_set_counts = Table(
    "config_set_counts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("configuration_set", String(64), primary_key=True),
    Column("minute", BigInteger, primary_key=True),
    Column("event_type", String(24), primary_key=True),
    Column("recipients", Integer, nullable=False),
)
