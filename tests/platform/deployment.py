"""The services as deployed, for tests: each its own process (`kosi serve`), each with its own
broker user and only its own secrets and database, JSON logs; search split into one index
writer and two query processes. A process can be killed (SIGKILL) and started again."""
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import requests

from cli.local import stop_all
from kernel import broker
from kernel.management import Management
from tests.databases import fresh_catalog_database, fresh_database
from tests.identity import GATEWAY_KEY, NOTIFY_KEY, TRUSTED_SIGNERS
from tests.mail import free_port
from tests.wait import wait_for

SECRET = "deployed-test-secret-0123456789abcdef01234"
SURVEY_SECRET = "deployed-survey-secret-0123456789abcdef"
NOTIFY_SECRET = "deployed-notify-secret-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]
OWN_PREFIXES = ("KOSI_", "CATALOG_", "SEARCH_", "SURVEY_", "NOTIFY_", "GATEWAY_", "SMTP_")
# name → (service, arguments of `kosi serve`)
PROCESSES = {"catalog": ("catalog", ()), "search": ("search", ("--role", "index")),
             "search-query-1": ("search", ("--role", "query")), "search-query-2": ("search", ("--role", "query")),
             "survey": ("survey", ()), "notify": ("notify", ()), "gateway": ("gateway", ())}


class Deployment:
    """``start()`` them all, ``kill(name)`` one, ``start(name)`` it again, ``stop()`` all."""

    def __init__(self, rabbit_uri: str, folder: Path, smtp_port: int, name: str = "deployed", settings=None):
        from cli import registry

        self.rabbit_uri, self.folder = rabbit_uri, folder
        self.management = Management.from_amqp_uri(rabbit_uri)
        vhost = quote(self.management.vhost, safe="")
        suffix = uuid.uuid4().hex[:8]
        self.broker_users = {service: f"kosi-{service}-{suffix}" for service in registry.SERVICES}
        uris = {service: f"pyamqp://{user}:secret-{service}-{suffix}@localhost:5672/{vhost}"
                for service, user in self.broker_users.items()}
        specs = registry.broker_users()
        self._users = broker.ensure_service_users(self.management, {
            service: {**spec, "amqp_uri": uris[service]} for service, spec in specs.items()})
        broker.declare_topology(rabbit_uri, registry.PRODUCERS, registry.all_subscriptions(),
                                registry.retry_delays())
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.databases = {"catalog": fresh_catalog_database(f"kosi_test_{name}"),
                          "survey": fresh_database(f"kosi_test_{name}_survey"),
                          "notify": fresh_database(f"kosi_test_{name}_notify")}
        common = {key: value for key, value in os.environ.items() if not key.startswith(OWN_PREFIXES)}
        common.update(LOG_JSON="true", LOG_LEVEL="INFO", PYTHONPATH=str(REPO), **(settings or {}))
        trusted = {"KOSI_TRUSTED_SIGNERS": TRUSTED_SIGNERS}
        own = {
            "catalog": {"CATALOG_AMQP_URI": uris["catalog"], **trusted,
                        "CATALOG_DATABASE_URL": self.databases["catalog"]},
            "search": {"SEARCH_AMQP_URI": uris["search"], **trusted, "SEARCH_INDEX_PATH": str(folder / "index")},
            "survey": {"SURVEY_AMQP_URI": uris["survey"], **trusted, "SURVEY_DATABASE_URL": self.databases["survey"],
                       "KOSI_SURVEY_TOKEN_SECRET": SURVEY_SECRET},
            "notify": {"NOTIFY_AMQP_URI": uris["notify"], **trusted, "NOTIFY_DATABASE_URL": self.databases["notify"],
                       "KOSI_NOTIFY_TOKEN_SECRET": NOTIFY_SECRET, "KOSI_NOTIFY_SIGNING_KEY": NOTIFY_KEY,
                       "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)},
            "gateway": {"GATEWAY_AMQP_URI": uris["gateway"], "KOSI_GATEWAY_SIGNING_KEY": GATEWAY_KEY,
                        "KOSI_JWT_SECRET": SECRET, "GATEWAY_ADDRESS": f"127.0.0.1:{self.port}"},
        }
        # each service's own Prometheus metrics (the gateway's are at /api/v1/metrics)
        self.metrics = {name: f"127.0.0.1:{free_port()}" for name, (service, _) in PROCESSES.items()
                        if service != "gateway"}
        self.environments = {name: {**common, **own[service], **({f"{service.upper()}_METRICS_ADDRESS":
                                                                   self.metrics[name]} if name in self.metrics else {})}
                             for name, (service, _) in PROCESSES.items()}
        self.logs = {name: folder / f"{name}.log" for name in PROCESSES}
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, *names: str) -> None:
        """Start ``names`` (all when none is given) and wait until the gateway is ready."""
        for name in names or PROCESSES:
            service, arguments = PROCESSES[name]
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", service, *arguments], cwd=self.folder,
                env=self.environments[name], stdout=subprocess.DEVNULL, stderr=open(self.logs[name], "a"))
        assert wait_for(self.ready, seconds=90), self.tails()

    def ready(self) -> bool:
        exited = [name for name, process in self.processes.items() if process.poll() is not None]
        assert not exited, self.tails()
        try:
            return requests.get(f"{self.base}/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, no goodbye to the broker or the database."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def tails(self) -> dict:
        return {name: path.read_text()[-2000:] for name, path in self.logs.items() if path.exists()}

    def stop(self) -> None:
        stop_all(self.processes.values(), timeout=20)
        self.processes.clear()
        for user in self._users:
            self.management.delete_user(user)
