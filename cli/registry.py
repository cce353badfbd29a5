"""Which services exist, where their code and config live, what they publish and consume."""
import importlib

from kernel.config import load_config, service_config_path
from kernel.dependencies import database_url_key

SERVICES = {
    "catalog": "services.catalog.service",
    "search": "services.search.service",
    "survey": "services.survey.service",
    "notify": "services.notify.service",
    "gateway": "gateway.service",
}
# services that publish events (each has the exchange <name>.events)
PRODUCERS = ["catalog", "survey"]
# services whose data lives in a database of their own, migrated by Alembic
DATABASE_SERVICES = ["catalog", "survey", "notify"]
# broker user tags: the gateway reads queue depths for /metrics from the management API
BROKER_TAGS = {"gateway": "management"}
# producers whose change notices a service listens to (the gateway's read cache)
CHANGE_LISTENERS = {"gateway": ["catalog"]}


def service_class(name: str, role: str | None = None):
    """A service's nameko class; a module with ``ROLES`` (search) has one per role, the
    first being the default, which declares every entrypoint."""
    module = importlib.import_module(SERVICES[name])
    roles = getattr(module, "ROLES", None)
    if roles:
        if role is None:
            return next(iter(roles.values()))
        if role not in roles:
            raise LookupError(f"{name} has no role {role!r}; one of: {', '.join(roles)}")
        return roles[role]
    if role is not None:
        raise LookupError(f"{name} has no roles")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == name and value.__module__ == module.__name__:
            return value
    raise LookupError(f"no nameko service named {name!r} in {module.__name__}")


def roles_of(name: str) -> list[str]:
    return list(getattr(importlib.import_module(SERVICES[name]), "ROLES", {}))


def config_of(name: str) -> dict:
    """A service's config (``catalog``, ``search``, ``gateway``) or the CLI's own (``cli``)."""
    return load_config(service_config_path(name))


def operator_config() -> dict:
    return config_of("cli")


def database_url(name: str) -> str:
    return config_of(name)[database_url_key(name)]


def subscriptions_of_service(name: str) -> list[dict]:
    from kernel.messaging import subscriptions_of

    return subscriptions_of(service_class(name))


def all_subscriptions() -> list[dict]:
    return [sub for name in SERVICES for sub in subscriptions_of_service(name)]


def consumers() -> list[str]:
    return sorted({sub["consumer_service"] for sub in all_subscriptions()})


def retry_delays() -> list[float]:
    """Every delay any consumer retries after (``kosi broker setup`` declares a queue for each)."""
    from kernel.topology import retry_delays as delays_of

    return sorted({delay for name in consumers() for delay in delays_of(config_of(name))})


def broker_users() -> dict[str, dict]:
    """What ``kosi broker setup --users`` needs of each service: its own broker credentials
    (from its config) and the producers it subscribes to."""
    return {name: {"amqp_uri": config_of(name)["AMQP_URI"],
                   "sources": sorted({sub["source_service"] for sub in subscriptions_of_service(name)} |
                                     set(CHANGE_LISTENERS.get(name, []))),
                   "tags": BROKER_TAGS.get(name, "")}
            for name in SERVICES}
