"""Which process writes an answer (one that died leaves it "interrupted"), and an index for the History list.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        # rows written before this version had no writer: they read as interrupted, which they were
        batch.add_column(sa.Column("writer", sa.String(32), nullable=False, server_default=""))
    op.create_index("ix_items_owner_updated", "items", ["owner", "updated"])


def downgrade() -> None:
    op.drop_index("ix_items_owner_updated", table_name="items")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("writer")
