"""entry_slug_history: slugs an entry had before, so that links by an old slug keep working

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_slug_history",
        sa.Column("slug", sa.String(length=220), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("slug"),
    )
    with op.batch_alter_table("entry_slug_history") as batch_op:
        batch_op.create_index("ix_entry_slug_history_entry_id", ["entry_id"], unique=False)


def downgrade() -> None:
    op.drop_table("entry_slug_history")
