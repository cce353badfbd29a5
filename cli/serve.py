"""Run one nameko service in this process, configured from its YAML file."""
from pathlib import Path

import nameko
from nameko.cli.run import run

from cli import registry
from kernel.logging import configure_logging
from kernel.migrations import upgrade


def _prepare_sqlite_folder(database_url: str) -> None:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def serve_service(name: str) -> None:
    config = registry.config_of(name)
    logging_config = config.get("LOGGING_OPTIONS", {})
    configure_logging(name, logging_config.get("LEVEL", "INFO"), logging_config.get("JSON", False))
    if "DATABASE_URL" in config and config.get("MIGRATE_ON_START", True):
        _prepare_sqlite_folder(config["DATABASE_URL"])
        upgrade(name, config["DATABASE_URL"])
    nameko.config.setup(config)
    cls = registry.service_class(name)
    run([f"{cls.__module__}:{cls.__name__}"])
