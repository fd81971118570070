"""The first history: files, workspaces, items and conversation turns.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_files"),
    )
    op.create_table(
        "workspaces",
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("file_sha", sa.String(64), nullable=True),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("current", sa.Text(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("owner", name="pk_workspaces"),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("file_sha", sa.String(64), nullable=True),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("media_digest", sa.String(300), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_turns_item_id_items", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_turns"),
    )
    op.create_index("ix_turns_item_id", "turns", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_turns_item_id", table_name="turns")
    op.drop_table("turns")
    op.drop_table("items")
    op.drop_table("workspaces")
    op.drop_table("files")
