"""Run one nameko service in this process, configured from its YAML file."""
import os
from pathlib import Path

import nameko
from nameko.cli.run import run

from cli import registry
from cli.secrets import local_environment
from kernel.dependencies import database_url_key
from kernel.logging import configure_logging
from kernel.migrations import upgrade


def _prepare_sqlite_folder(database_url: str) -> None:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _load_demo_data(name: str, config: dict) -> None:
    """Services with demo data have ``services/<name>/demo.py`` with ``load_demo(make_uow)``
    (notify has none: its data are people)."""
    import importlib
    import importlib.util

    from kernel.db import create_db_engine, unit_of_work_factory

    if importlib.util.find_spec(f"services.{name}.demo") is None:
        return
    module = importlib.import_module(f"services.{name}.demo")
    models = importlib.import_module(f"services.{name}.models")
    engine = create_db_engine(config[database_url_key(name)])
    module.load_demo(unit_of_work_factory(engine, name, models.metadata))
    engine.dispose()


def serve_service(name: str, role: str | None = None) -> None:
    # on a developer's machine, the secrets `kosi run` made (var/) fill what the environment
    # leaves unset; a production host has no var/ folder, and sets them all
    os.environ.update(local_environment(create=False))
    if role is not None:                  # the config reads <NAME>_ROLE (search: SEARCH_ROLE)
        os.environ[f"{name.upper()}_ROLE"] = role
    config = registry.config_of(name)
    configure_logging(name, config.get("LOG_LEVEL", "INFO"), config.get("LOG_JSON", True))
    url_key = database_url_key(name)
    if url_key in config and config.get(f"{name.upper()}_MIGRATE_ON_START", True):
        _prepare_sqlite_folder(config[url_key])
        upgrade(name, config[url_key])
    if config.get("LOAD_DEMO_DATA"):
        _load_demo_data(name, config)
    nameko.config.setup(config)
    cls = registry.service_class(name, config.get(f"{name.upper()}_ROLE") if registry.roles_of(name) else None)
    run([f"{cls.__module__}:{cls.__name__}"])
