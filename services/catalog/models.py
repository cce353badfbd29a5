"""Tables of the catalog service (SQLAlchemy Core), one MetaData with outbox, inbox and
the record of handled RPC calls.

Portable types only (String ids, JSON, Date, DateTime with timezone) so the same
tables run on PostgreSQL (production, tests) and SQLite (``make run``).
"""
import sqlalchemy as sa

from kernel.outbox import handled_calls_table, inbox_table, outbox_table

metadata = sa.MetaData()

ID = sa.String(36)  # UUID as text
SLUG = sa.String(220)
TIMESTAMP = sa.DateTime(timezone=True)

themes = sa.Table(
    "themes", metadata,
    sa.Column("slug", sa.String(60), primary_key=True),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # field | pioneering
    sa.Column("parent", sa.String(60), nullable=True),
    sa.Column("description", sa.Text, nullable=True),
)

regions = sa.Table(
    "regions", metadata,
    sa.Column("ags", sa.String(8), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),  # district | city
    sa.Column("seat", sa.String(200), nullable=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("rural", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("population", sa.Integer, nullable=True),
    sa.Column("area_km2", sa.Float, nullable=True),
)

organisations = sa.Table(
    "organisations", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slug", SLUG, nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("website", sa.String(500), nullable=True),
    sa.Column("region", sa.String(8), sa.ForeignKey("regions.ags"), nullable=True, index=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

entries = sa.Table(
    "entries", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slug", SLUG, nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("address", sa.JSON, nullable=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("region", sa.String(8), sa.ForeignKey("regions.ags"), nullable=True, index=True),
    sa.Column("links", sa.JSON, nullable=False),  # web links [{label, url}]
    sa.Column("starts_on", sa.Date, nullable=True),
    sa.Column("ends_on", sa.Date, nullable=True),
    sa.Column("funding", sa.String(500), nullable=True),
    sa.Column("image_url", sa.String(500), nullable=True),
    sa.Column("licence", sa.String(50), nullable=True),
    sa.Column("language", sa.String(2), nullable=False, server_default="de"),
    sa.Column("contact", sa.JSON, nullable=True),  # personal data: staff only, never in events
    sa.Column("rejection_reason", sa.String(2000), nullable=True),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("published_at", TIMESTAMP, nullable=True),
    sa.Column("created_by", sa.String(200), nullable=True),
    sa.Index("ix_entries_lat_lon", "lat", "lon"),
    sa.Index("ix_entries_status_kind", "status", "kind"),
)

entry_themes = sa.Table(
    "entry_themes", metadata,
    sa.Column("entry_id", ID, sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("theme_slug", sa.String(60), sa.ForeignKey("themes.slug"), primary_key=True, index=True),
)

# slugs an entry had before: a link by an old slug still finds it (the gateway answers 301)
entry_slug_history = sa.Table(
    "entry_slug_history", metadata,
    sa.Column("slug", SLUG, primary_key=True),
    sa.Column("entry_id", ID, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("replaced_at", TIMESTAMP, nullable=False),
)

entry_organisations = sa.Table(
    "entry_organisations", metadata,
    sa.Column("entry_id", ID, sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("organisation_id", ID, sa.ForeignKey("organisations.id", ondelete="CASCADE"),
              primary_key=True, index=True),
)

entry_versions = sa.Table(
    "entry_versions", metadata,
    sa.Column("entry_id", ID, sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(200), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
)

links = sa.Table(
    "links", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("source_entry_id", ID, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("target_type", sa.String(20), nullable=False),  # entry | organisation
    sa.Column("target_id", ID, nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.UniqueConstraint("source_entry_id", "target_type", "target_id", "type", name="uq_links_edge"),
    sa.Index("ix_links_target", "target_type", "target_id"),
)

articles = sa.Table(
    "articles", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slug", SLUG, nullable=False, unique=True),
    sa.Column("type", sa.String(20), nullable=False, index=True),  # article | news
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("summary", sa.String(500), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("themes", sa.JSON, nullable=False),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("published_at", TIMESTAMP, nullable=True, index=True),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
handled_calls = handled_calls_table(metadata)
