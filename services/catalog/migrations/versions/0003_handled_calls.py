"""handled_calls: RPC calls whose writes were committed, so a redelivered call writes nothing twice

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handled_calls",
        sa.Column("call_key", sa.String(length=120), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(),
                  nullable=False),
        sa.PrimaryKeyConstraint("call_key"),
    )
    with op.batch_alter_table("handled_calls") as batch_op:
        batch_op.create_index("ix_handled_calls_handled_at", ["handled_at"], unique=False)


def downgrade() -> None:
    op.drop_table("handled_calls")
