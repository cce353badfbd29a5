"""Alembic per service: each service keeps its migrations in ``services/<name>/migrations``."""
from alembic import command
from alembic.config import Config

from kernel.config import REPO_ROOT


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)
