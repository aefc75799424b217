"""inbound feedback: the reports received by the bounce domain's MX

Revision ID: 0004_inbound
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_inbound"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=False),
        sa.Column("mail_from", sa.String(length=320), nullable=False),
        sa.Column("rcpt_to", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbound_reports_received", "inbound_reports", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_reports_received", table_name="inbound_reports")
    op.drop_table("inbound_reports")
