"""Tables of the notify service (SQLAlchemy Core), with its outbox, inbox and handled calls.

Personal data lives in ``subscribers`` (the address) and, only until a mail reached a final
state, in ``deliveries.recipient``/``context``: the delivery log keeps who (a subscriber id) and
what, never an address. Erasure deletes the subscriber with its interests, consents and alerts.
"""
import sqlalchemy as sa

from kernel.outbox import handled_calls_table, inbox_table, outbox_table

metadata = sa.MetaData()

ID = sa.String(36)  # UUID as text
TIMESTAMP = sa.DateTime(timezone=True)

subscribers = sa.Table(
    "subscribers", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),  # normalised (lower case)
    sa.Column("status", sa.String(12), nullable=False, index=True),  # pending | confirmed | unsubscribed | bounced
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("preferences", sa.JSON, nullable=False),  # what they confirmed (see preferences.py)
    sa.Column("requested", sa.JSON, nullable=True),  # asked for, applied when the mail's link is followed
    # the alert criteria's bounding box, for the exact check after the grid cell matched
    sa.Column("min_lat", sa.Float, nullable=True),
    sa.Column("min_lon", sa.Float, nullable=True),
    sa.Column("max_lat", sa.Float, nullable=True),
    sa.Column("max_lon", sa.Float, nullable=True),
    sa.Column("newsletter", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
    sa.Column("frequency", sa.String(12), nullable=False, server_default="immediately"),
    sa.Column("token_version", sa.Integer, nullable=False, server_default="1"),  # bumped: old links die
    sa.Column("hard_bounces", sa.Integer, nullable=False, server_default="0"),
    sa.Column("confirmation_sent_at", TIMESTAMP, nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False, index=True),
    sa.Column("confirmed_at", TIMESTAMP, nullable=True),
    sa.Column("unsubscribed_at", TIMESTAMP, nullable=True, index=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# the alert criteria as an index: an item matches a subscriber when it matches one value of
# every facet the subscriber chose (theme, region, kind, cell of the bounding box; "all" alone)
interests = sa.Table(
    "interests", metadata,
    sa.Column("facet", sa.String(8), primary_key=True),
    sa.Column("value", sa.String(100), primary_key=True),
    sa.Column("subscriber_id", ID, sa.ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
)
sa.Index("ix_interests_subscriber", interests.c.subscriber_id)

# the alert criteria of confirmed subscribers as combination keys (see preferences.py): what an
# item is matched with. Each row repeats what the match needs of its subscriber (frequency, the
# exact box), so matching reads these rows alone
alert_keys = sa.Table(
    "alert_keys", metadata,
    sa.Column("key", sa.String(160), primary_key=True),  # theme|region|kind|cell, * where left open
    sa.Column("subscriber_id", ID, sa.ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("frequency", sa.String(12), nullable=False),
    sa.Column("min_lat", sa.Float, nullable=True),
    sa.Column("min_lon", sa.Float, nullable=True),
    sa.Column("max_lat", sa.Float, nullable=True),
    sa.Column("max_lon", sa.Float, nullable=True),
    sa.Column("query", sa.String(200), nullable=True),  # a saved search: the search service decides
)
sa.Index("ix_alert_keys_subscriber", alert_keys.c.subscriber_id)

# consent as GDPR asks: what was agreed to (which text version), when; and when it was withdrawn
consents = sa.Table(
    "consents", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscriber_id", ID, sa.ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("action", sa.String(12), nullable=False),  # requested | confirmed | withdrawn
    sa.Column("text_version", sa.String(40), nullable=True),
    sa.Column("at", TIMESTAMP, nullable=False),
)

# what was published (the public view an alert mail shows), one row per item ever
items = sa.Table(
    "items", metadata,
    sa.Column("key", sa.String(60), primary_key=True),  # entry:<id> | article:<id> | survey:<id>
    sa.Column("type", sa.String(10), nullable=False),
    sa.Column("kind", sa.String(20), nullable=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("summary", sa.Text, nullable=True),
    sa.Column("path", sa.String(300), nullable=False),  # where the public reads it, under the site
    sa.Column("themes", sa.JSON, nullable=False),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("published_at", TIMESTAMP, nullable=False, index=True),
)

# one row per (subscriber, item), ever: the unique key that makes an alert at most once
# no foreign key to subscribers: its check per inserted row was a third of matching an item
# (measured); erasure deletes a subscriber's alerts itself
alerts = sa.Table(
    "alerts", metadata,
    sa.Column("subscriber_id", ID, primary_key=True),
    sa.Column("item_key", sa.String(60), primary_key=True),
    sa.Column("due_at", TIMESTAMP, nullable=False),
    sa.Column("delivery_id", ID, nullable=True),  # set when a mail took it
    sa.Column("created_at", TIMESTAMP, nullable=False),
)
sa.Index("ix_alerts_pending", alerts.c.due_at, postgresql_where=alerts.c.delivery_id.is_(None),
         sqlite_where=alerts.c.delivery_id.is_(None))
# a mail's alerts; pending ones (most rows while alerts are matched) are not in it
sa.Index("ix_alerts_delivery", alerts.c.delivery_id, postgresql_where=alerts.c.delivery_id.isnot(None),
         sqlite_where=alerts.c.delivery_id.isnot(None))

newsletters = sa.Table(
    "newsletters", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),  # draft | sending | sent
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("intro", sa.Text, nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("items", sa.JSON, nullable=False),  # [{type, id, title, summary, path}]
    sa.Column("segment", sa.JSON, nullable=False),  # {themes: [], regions: []} (empty: all confirmed)
    sa.Column("recipients", sa.Integer, nullable=False, server_default="0"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("sent_at", TIMESTAMP, nullable=True),  # when sending started
)

# one row per mail: the send queue and the delivery log. recipient and context (what the mail
# says that is personal, such as a rejection reason) are cleared once the mail is final.
deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", ID, primary_key=True),  # also the Message-ID's local part: a resend is recognisable
    sa.Column("kind", sa.String(16), nullable=False),  # confirm | alert | newsletter | review | review_digest | test
    # what makes the mail unique: newsletter:<id>:<subscriber>, review:<entry>:<version>, …
    sa.Column("key", sa.String(120), nullable=False, unique=True),
    sa.Column("ref", sa.String(60), nullable=False),  # the newsletter, entry, … it is about
    sa.Column("subscriber_id", ID, nullable=True, index=True),
    sa.Column("recipient", sa.String(254), nullable=True),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("context", sa.JSON, nullable=True),
    sa.Column("state", sa.String(10), nullable=False),  # pending | sending | sent | failed | cancelled
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
    sa.Column("claimed_until", TIMESTAMP, nullable=True),
    sa.Column("error", sa.String(300), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False, index=True),
    sa.Column("sent_at", TIMESTAMP, nullable=True),
)
sa.Index("ix_deliveries_queue", deliveries.c.state, deliveries.c.next_attempt_at)
sa.Index("ix_deliveries_ref", deliveries.c.kind, deliveries.c.ref, deliveries.c.state)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
handled_calls = handled_calls_table(metadata)
