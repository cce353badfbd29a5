"""Alembic per service: each service keeps its migrations in ``services/<name>/migrations``,
whose ``env.py`` only names the service's tables: ``run_environment(metadata)``."""
import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from kernel.config import REPO_ROOT


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def run_environment(metadata: sa.MetaData) -> None:
    """The body of every service's ``migrations/env.py``: the URL comes from the alembic config
    (``alembic_config`` sets ``sqlalchemy.url``), the target is the service's tables.
    ``render_as_batch``: later ALTERs also work on SQLite (the make-run default)."""
    config = context.config
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                          literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


_SCRIPTS: dict = {}


def schema_behind(service: str, connection) -> str | None:
    """Why the database's schema is too old for this code, or None: at the code's head, or at a
    revision this code does not know, which a newer release's migration made (its expand step
    keeps the older code working: deploy/README.md). A service without migrations: None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    location = REPO_ROOT / "services" / service / "migrations"
    if not location.is_dir():
        return None
    if service not in _SCRIPTS:
        _SCRIPTS[service] = ScriptDirectory.from_config(alembic_config(service, "sqlite://"))
    scripts = _SCRIPTS[service]
    current = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(scripts.get_heads())
    known = {script.revision for script in scripts.walk_revisions()}
    if current >= heads or not current <= known:
        return None
    found = ", ".join(sorted(current)) or "none"
    return f"schema at revision {found}, this release needs {', '.join(sorted(heads))}: run kosi db upgrade {service}"
