"""initial: catalog tables, outbox/inbox, and the reference data (themes, regions)

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Reference data is read from ``services/catalog/reference/{themes,regions}.json``.
"""
import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

CATALOG_DIR = Path(__file__).resolve().parents[2]


def _reference(name: str) -> list[dict]:
    """Seed rows from services/catalog/reference/<name>.json."""
    with open(CATALOG_DIR / "reference" / name, encoding="utf-8") as handle:
        return json.load(handle)


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('articles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('slug', sa.String(length=220), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('themes', sa.JSON(), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_articles_published_at'), ['published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_type'), ['type'], unique=False)

    op.create_table('inbox',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unroutable', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_published_at'), ['published_at'], unique=False)

    op.create_table('regions',
    sa.Column('ags', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('seat', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('rural', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('area_km2', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('ags')
    )
    op.create_table('themes',
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('parent', sa.String(length=60), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('slug')
    )
    op.create_table('entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('slug', sa.String(length=220), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('address', sa.JSON(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('region', sa.String(length=8), nullable=True),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('funding', sa.String(length=500), nullable=True),
    sa.Column('image_url', sa.String(length=500), nullable=True),
    sa.Column('licence', sa.String(length=50), nullable=True),
    sa.Column('language', sa.String(length=2), server_default='de', nullable=False),
    sa.Column('contact', sa.JSON(), nullable=True),
    sa.Column('rejection_reason', sa.String(length=2000), nullable=True),
    sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['region'], ['regions.ags'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_kind'), ['kind'], unique=False)
        batch_op.create_index('ix_entries_lat_lon', ['lat', 'lon'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_status'), ['status'], unique=False)
        batch_op.create_index('ix_entries_status_kind', ['status', 'kind'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('slug', sa.String(length=220), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('region', sa.String(length=8), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region'], ['regions.ags'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_region'), ['region'], unique=False)

    op.create_table('entry_organisations',
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'organisation_id')
    )
    with op.batch_alter_table('entry_organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_organisations_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('entry_themes',
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('theme_slug', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_slug'], ['themes.slug'], ),
    sa.PrimaryKeyConstraint('entry_id', 'theme_slug')
    )
    with op.batch_alter_table('entry_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_themes_theme_slug'), ['theme_slug'], unique=False)

    op.create_table('entry_versions',
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'version')
    )
    op.create_table('links',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('source_entry_id', sa.String(length=36), nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_entry_id'], ['entries.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_entry_id', 'target_type', 'target_id', 'type', name='uq_links_edge')
    )
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.create_index('ix_links_target', ['target_type', 'target_id'], unique=False)

    _insert_reference_data()


def _insert_reference_data() -> None:
    themes = sa.table("themes", sa.column("slug"), sa.column("label"), sa.column("kind"),
                      sa.column("parent"), sa.column("description"))
    regions = sa.table("regions", sa.column("ags"), sa.column("name"), sa.column("type"),
                       sa.column("seat"), sa.column("lat", sa.Float), sa.column("lon", sa.Float),
                       sa.column("rural", sa.Boolean), sa.column("population", sa.Integer),
                       sa.column("area_km2", sa.Float))
    theme_rows = [{key: row.get(key) for key in ("slug", "label", "kind", "parent", "description")}
                  for row in _reference("themes.json")]
    op.bulk_insert(themes, theme_rows)
    region_keys = ("ags", "name", "type", "seat", "lat", "lon", "rural", "population", "area_km2")
    region_rows = [{key: row.get(key) for key in region_keys} for row in _reference("regions.json")]
    for row in region_rows:
        row["rural"] = bool(row["rural"])
    op.bulk_insert(regions, region_rows)



def downgrade() -> None:
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_index('ix_links_target')

    op.drop_table('links')
    op.drop_table('entry_versions')
    with op.batch_alter_table('entry_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_themes_theme_slug'))

    op.drop_table('entry_themes')
    with op.batch_alter_table('entry_organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_organisations_organisation_id'))

    op.drop_table('entry_organisations')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_region'))

    op.drop_table('organisations')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_status_kind')
        batch_op.drop_index(batch_op.f('ix_entries_status'))
        batch_op.drop_index(batch_op.f('ix_entries_region'))
        batch_op.drop_index('ix_entries_lat_lon')
        batch_op.drop_index(batch_op.f('ix_entries_kind'))

    op.drop_table('entries')
    op.drop_table('themes')
    op.drop_table('regions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))

    op.drop_table('outbox')
    op.drop_table('inbox')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_articles_type'))
        batch_op.drop_index(batch_op.f('ix_articles_published_at'))

    op.drop_table('articles')
