"""sns: topic attributes and tags, SNS message signing keys

Revision ID: 0002_sns
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_sns"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic_attributes",
        sa.Column("topic_arn", sa.String(length=256), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("deleted_subscriptions", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("topic_arn"),
    )
    op.create_table(
        "sns_signing_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("sns_signing_keys")
    op.drop_table("topic_attributes")
