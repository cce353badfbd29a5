"""Fresh PostgreSQL databases for tests (real server, trust auth)."""
import os

import sqlalchemy as sa

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@localhost:5432/postgres")


def fresh_database(name: str) -> str:
    """Drop and create database ``name``; return its URL."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def fresh_service_database(service: str, name: str) -> str:
    """A fresh PostgreSQL database with ``service``'s schema (and reference data) at head."""
    from kernel.migrations import upgrade

    url = fresh_database(name)
    upgrade(service, url)
    return url


def fresh_catalog_database(name: str) -> str:
    return fresh_service_database("catalog", name)


DIALECTS = ["postgresql", "sqlite"]  # production and tests; the embedded default of `make run`


def fresh_database_of(dialect: str, name: str, folder) -> str:
    """A fresh, empty database ``name``: on the PostgreSQL server, or a SQLite file in ``folder``."""
    if dialect == "postgresql":
        return fresh_database(name)
    return f"sqlite:///{folder / (name + '.db')}"


def fresh_service_database_of(service: str, dialect: str, name: str, folder) -> str:
    """The same with ``service``'s schema (and reference data) at head."""
    from kernel.migrations import upgrade

    url = fresh_database_of(dialect, name, folder)
    upgrade(service, url)
    return url


def fresh_catalog_database_of(dialect: str, name: str, folder) -> str:
    return fresh_service_database_of("catalog", dialect, name, folder)


def emptied_units_of_work(engine, producer: str, metadata, tables):
    """A unit-of-work factory on ``engine`` after deleting every row of ``tables`` (children first)."""
    from kernel.db import unit_of_work_factory

    with engine.begin() as conn:
        for name in tables:
            conn.execute(sa.delete(metadata.tables[name]))
    return unit_of_work_factory(engine, producer, metadata)
