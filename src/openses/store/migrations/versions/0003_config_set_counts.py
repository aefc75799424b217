"""per configuration set reputation counters

Revision ID: 0003_config_set_counts
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_config_set_counts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_set_counts",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("configuration_set", sa.String(length=64), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=24), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "configuration_set", "minute", "event_type"),
    )


def downgrade() -> None:
    op.drop_table("config_set_counts")
