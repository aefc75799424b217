"""Tables of identity feedback notifications: the queue of feedback mails to forward.

The per-identity settings (SNS topics per notification type, headers on/off, forwarding) live in
the identity row's `attributes`, so they go with the identity when it is deleted, as in SES. What
needs a table is the work that cannot happen inside the events processor's transaction: sending a
feedback mail through the send pipeline. The processor freezes one row per Bounce or Complaint
event here; the forwarder (core/feedback_forwarding.py) sends it and marks it done.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, String, Table, Text

from openses.store.schema import metadata

feedback_forwards = Table(
    "feedback_forwards",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", BigInteger, nullable=False, unique=True),  # one feedback mail per event
    Column("account_id", String(12), nullable=False),  # the account whose mail bounced
    Column("kind", String(16), nullable=False),  # Bounce | Complaint | AutoReply (simulator ooto@)
    Column("recipient", String(320), nullable=False),  # the original Return-Path, else Source
    Column("notification", JSON, nullable=False),  # the SES notification JSON, frozen at event time
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_expires_at", Float, nullable=True),
    Column("message_id", String(64), nullable=True),  # the feedback mail's MessageId once sent
    Column("error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Index("ix_feedback_forwards_due", "status", "next_attempt_at"),
)
