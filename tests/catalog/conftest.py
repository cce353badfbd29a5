"""Fixtures of the catalog tests: a real database migrated to head, PostgreSQL and SQLite."""
import pytest
import sqlalchemy as sa

import contracts.catalog.events  # noqa: F401  (registers the event contracts)
from kernel.db import create_db_engine
from services.catalog import models
from tests.databases import DIALECTS, emptied_units_of_work, fresh_catalog_database_of

STAFF = {"sub": "editor-1", "roles": ["editor"]}
ADMIN = {"sub": "admin-1", "roles": ["admin"]}
CITIZEN = {"sub": "someone", "roles": []}

MAGDEBURG = {"lat": 52.1205, "lon": 11.6276}
HALLE = {"lat": 51.4825, "lon": 11.9697}
BERLIN = {"lat": 52.52, "lon": 13.405}

# tables with rows the tests write, children first
_WRITTEN = ("handled_calls", "links", "entry_versions", "entry_themes", "entry_organisations", "entries",
            "organisations", "articles", "outbox", "inbox")


@pytest.fixture(scope="session", params=DIALECTS)
def catalog_engine(request, tmp_path_factory):
    """The catalog's database at head: PostgreSQL (production) and SQLite (`make run`)."""
    url = fresh_catalog_database_of(request.param, "kosi_test_catalog_domain", tmp_path_factory.mktemp("catalog"))
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_uow(catalog_engine):
    return emptied_units_of_work(catalog_engine, "catalog", models.metadata, _WRITTEN)


@pytest.fixture(scope="session")
def theme_slugs(catalog_engine):
    with catalog_engine.connect() as conn:
        return list(conn.execute(sa.select(models.themes.c.slug).order_by(models.themes.c.slug)).scalars())


def outbox_events(engine, event_type=None) -> list[dict]:
    """Event envelopes stored in the outbox, oldest first."""
    query = sa.select(models.outbox.c.payload).order_by(models.outbox.c.id)
    if event_type:
        query = query.where(models.outbox.c.event_type == event_type)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def entry_data(known_themes, /, **overrides) -> dict:
    data = {"kind": "project", "title": "Dorfladen Genossenschaft", "summary": "Ein Laden im Dorf",
            "themes": known_themes[:1], "location": dict(MAGDEBURG), "tags": ["Nahversorgung"],
            "contact": {"name": "Erika Muster", "email": "erika@example.org", "phone": "0391 123"}}
    data.update(overrides)
    return data
