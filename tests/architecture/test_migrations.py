"""Each service's migrations build exactly the tables its models describe, on PostgreSQL and
on SQLite, and go down again (so a hand-written migration cannot drift from the models)."""
import importlib

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cli.registry import DATABASE_SERVICES
from kernel.migrations import alembic_config, upgrade
from tests.databases import DIALECTS, fresh_database_of


@pytest.fixture(params=DIALECTS)
def database_url(request, tmp_path):
    return fresh_database_of(request.param, "kosi_test_migrations", tmp_path)


def differences(service, url) -> list:
    metadata = importlib.import_module(f"services.{service}.models").metadata
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", DATABASE_SERVICES)
def test_migrations_at_head_match_the_models(service, database_url):
    upgrade(service, database_url)
    assert differences(service, database_url) == []


@pytest.mark.parametrize("service", DATABASE_SERVICES)
def test_migrations_go_down_and_up_again(service, database_url):
    upgrade(service, database_url)
    command.downgrade(alembic_config(service, database_url), "base")
    upgrade(service, database_url)
    assert differences(service, database_url) == []
