"""Which services exist, where their code and config live, and what they publish."""
import importlib

from kernel.config import load_config, service_config_path

SERVICES = {
    "catalog": "services.catalog.service",
    "search": "services.search.service",
    "gateway": "gateway.service",
}
PRODUCERS = ["catalog", "survey", "notify"]
# services whose data lives in a database of their own, migrated by Alembic
DATABASE_SERVICES = ["catalog"]


def service_class(name: str):
    module = importlib.import_module(SERVICES[name])
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == name and value.__module__ == module.__name__:
            return value
    raise LookupError(f"no nameko service named {name!r} in {module.__name__}")


def config_of(name: str) -> dict:
    return load_config(service_config_path(name))


def all_subscriptions() -> list[dict]:
    from kernel.messaging import subscriptions_of

    return [sub for name in SERVICES for sub in subscriptions_of(service_class(name))]
