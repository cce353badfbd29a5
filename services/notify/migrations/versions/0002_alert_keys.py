"""alert_keys: alert criteria as combination keys, so an item's lookup reads only the rows of
the subscribers it matches; subscribers.dimensions goes (the keys say it); the alerts of a mail
are indexed only once a mail took them, and alerts lose their foreign key (checked per row)

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
    op.create_table(
        "alert_keys",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("subscriber_id", sa.String(length=36), nullable=False),
        sa.Column("frequency", sa.String(length=12), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("query", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "subscriber_id"),
    )
    with op.batch_alter_table("alert_keys", schema=None) as batch_op:
        batch_op.create_index("ix_alert_keys_subscriber", ["subscriber_id"], unique=False)
    with op.batch_alter_table("alerts", schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_alerts_foreign_key(), type_="foreignkey")
        batch_op.drop_index("ix_alerts_delivery_id")
        batch_op.create_index("ix_alerts_delivery", ["delivery_id"], unique=False,
                              postgresql_where=sa.text("delivery_id IS NOT NULL"),
                              sqlite_where=sa.text("delivery_id IS NOT NULL"))
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("dimensions")
    _keys_of_confirmed_subscribers()


# SQLite's reflected foreign key has no name: batch mode names it by this convention
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _alerts_foreign_key() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "alerts_subscriber_id_fkey"
    return "fk_alerts_subscriber_id_subscribers"


def _keys_of_confirmed_subscribers() -> None:
    """The keys of the subscribers confirmed so far, from their stored preferences (computed by
    the preferences module as it was when this revision was written)."""
    from services.notify.preferences import alert_key_rows, index_rows

    connection = op.get_bind()
    subscribers = sa.table("subscribers", sa.column("id"), sa.column("status"), sa.column("preferences", sa.JSON))
    keys = sa.table("alert_keys", *(sa.column(name) for name in (
        "key", "subscriber_id", "frequency", "min_lat", "min_lon", "max_lat", "max_lon", "query")))
    for subscriber_id, preferences in connection.execute(
            sa.select(subscribers.c.id, subscribers.c.preferences).where(subscribers.c.status == "confirmed")):
        preferences = preferences or {}
        _, combinations, columns = index_rows(preferences)
        rows = alert_key_rows(subscriber_id, preferences, combinations, columns)
        if rows:
            connection.execute(sa.insert(keys), rows)


def downgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dimensions", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_delivery", postgresql_where=sa.text("delivery_id IS NOT NULL"),
                            sqlite_where=sa.text("delivery_id IS NOT NULL"))
        batch_op.create_index("ix_alerts_delivery_id", ["delivery_id"], unique=False)
        batch_op.create_foreign_key(_alerts_foreign_key(), "subscribers", ["subscriber_id"], ["id"],
                                    ondelete="CASCADE")
    with op.batch_alter_table("alert_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_keys_subscriber")
    op.drop_table("alert_keys")
