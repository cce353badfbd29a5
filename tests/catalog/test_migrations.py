"""The catalog's migrations build exactly the tables its models describe, on PostgreSQL and
on SQLite, and go down again (so a hand-written migration cannot drift from the models)."""
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel.migrations import alembic_config, upgrade
from services.catalog.models import metadata
from tests.databases import DIALECTS, fresh_database_of


@pytest.fixture(params=DIALECTS)
def database_url(request, tmp_path):
    return fresh_database_of(request.param, "kosi_test_catalog_migrations", tmp_path)


def differences(url) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


def test_migrations_at_head_match_the_models(database_url):
    upgrade("catalog", database_url)
    assert differences(database_url) == []


def test_migrations_go_down_and_up_again(database_url):
    upgrade("catalog", database_url)
    command.downgrade(alembic_config("catalog", database_url), "0001")
    upgrade("catalog", database_url)
    assert differences(database_url) == []
