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


def fresh_catalog_database(name: str) -> str:
    """A fresh database with the catalog's schema and reference data at head."""
    from kernel.migrations import upgrade

    url = fresh_database(name)
    upgrade("catalog", url)
    return url
