"""outbox: event versions side by side, request ids, no more "unroutable"; inbox pruning index

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

An event may be stored in two versions during a deprecation window (same event id), so
the outbox's unique key becomes (event_id, version). Events no queue takes now go to the
exchange's alternate exchange (``<producer>.events.unrouted``), so the relay no longer marks
rows unroutable. ``request_id`` carries the request's id into the published message's headers.
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# the unnamed unique constraint of 0001, as SQLite's batch mode reflects it
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique_name() -> str:
    return "outbox_event_id_key" if op.get_bind().dialect.name == "postgresql" else "uq_outbox_event_id"


def upgrade() -> None:
    with op.batch_alter_table("outbox", naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
        batch_op.drop_column("unroutable")
        batch_op.drop_constraint(_old_unique_name(), type_="unique")
        batch_op.create_unique_constraint("uq_outbox_event_version", ["event_id", "version"])
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.create_index("ix_inbox_processed_at", ["processed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch_op:
        batch_op.drop_index("ix_inbox_processed_at")
    with op.batch_alter_table("outbox", naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint("uq_outbox_event_version", type_="unique")
        batch_op.create_unique_constraint(_old_unique_name(), ["event_id"])
        batch_op.add_column(sa.Column("unroutable", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_column("request_id")
        batch_op.drop_column("version")
