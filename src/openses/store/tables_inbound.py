"""Tables of inbound feedback: every report that reached the bounce domain's MX, kept with
what became of it (its events are in `events`), so that unmatched mail is counted and can be
looked at later."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Index, Integer, LargeBinary, String, Table

from openses.store.schema import metadata

inbound_reports = Table(
    "inbound_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", Float, nullable=False),
    Column("peer", String(64), nullable=False),  # the sending MTA's address
    Column("mail_from", String(320), nullable=False),  # "<>" for a DSN (RFC 3464 §2)
    Column("rcpt_to", JSON, nullable=False),  # list of envelope recipients at the bounce domain
    Column("kind", String(16), nullable=False),  # bounce | complaint | none (unparsable)
    Column("outcome", String(16), nullable=False),  # recorded | unmatched | ignored | unparsable
    Column("account_id", String(12), nullable=True),  # the matched message's, when matched
    Column("message_id", String(64), nullable=True),
    Column("events", Integer, nullable=False),  # how many SES events it became
    Column("raw", LargeBinary, nullable=False),  # the report as received
    Index("ix_inbound_reports_received", "received_at"),
)
