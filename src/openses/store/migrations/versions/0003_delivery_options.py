"""queue entries carry their configuration set's DeliveryOptions (MaxDeliverySeconds, TlsPolicy)
and the sending identity's custom MAIL FROM domain

Revision ID: 0003_delivery_options
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_delivery_options"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("queue", sa.Column("deliver_by", sa.Float(), nullable=True))
    op.add_column("queue", sa.Column("require_tls", sa.Boolean(), nullable=True))
    op.add_column("queue", sa.Column("mail_from_domain", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue") as batch:
        batch.drop_column("mail_from_domain")
        batch.drop_column("require_tls")
        batch.drop_column("deliver_by")
