"""Each service starts by itself from its deploy configuration and answers its health checks.

As a container deployment does it: `kosi deploy secrets` makes the secrets, the dependencies'
init (postgres-init.sh) makes one database and user per service, the one-off jobs run
(`kosi broker setup --users`, `kosi db upgrade`) with the operator's files, then each service
runs alone, `kosi serve` choosing it by KOSI_SERVICE from its settings file
(deploy/kubernetes/base/config/<service>.env) with its own secrets file and nothing else: its
own broker user, its own database user. Its probes (`kosi health`, `kosi health --ready`) and
its health RPC (`kosi health --rpc`, as the operator) answer. Only what points at another host
is pointed at this machine: the dependencies' host names, the ports, the index folder.
"""
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from cli import registry
from cli.deploy_secrets import Hosts, read_env_file, write
from kernel.management import Management
from tests.databases import ADMIN_URL
from tests.mail import free_port
from tests.wait import wait_for

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "kubernetes" / "base" / "config"
POSTGRES_INIT = REPO / "deploy" / "kubernetes" / "components" / "dependencies" / "postgres-init.sh"
DEPENDENCY_HOSTS = re.compile(r"(?<=//)(rabbitmq|redis|elasticsearch)(?=:)|^mailpit$")


def _on_this_machine(settings: dict) -> dict:
    return {key: DEPENDENCY_HOSTS.sub("localhost", value) for key, value in settings.items()}


def _bare_environment() -> dict:
    """No setting of the test process leaks into a service: only what a container has."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {key: os.environ[key] for key in keep if key in os.environ} | {"PYTHONPATH": str(REPO)}


def _kosi(arguments, environment, folder, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *arguments], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=timeout)


class AloneDeployment:
    def __init__(self, rabbit_uri: str, folder: Path):
        self.folder = folder
        self.management = Management.from_amqp_uri(rabbit_uri)
        self.prefix = f"kosi-alone-{uuid.uuid4().hex[:6]}"
        hosts = Hosts(broker="localhost", vhost=quote(self.management.vhost, safe=""), database="localhost",
                      prefix=self.prefix)
        write(folder / "secrets", hosts)
        self.secrets = {path.stem: read_env_file(path) for path in (folder / "secrets").glob("*.env")}
        operator = {**_on_this_machine(read_env_file(CONFIG / "operator.env")), **self.secrets["operator"],
                    # the test broker's administrator stands in for the one rabbitmq.env would create
                    "KOSI_OPERATOR_AMQP_URI": rabbit_uri, "KOSI_BROKER_MANAGEMENT_URL": "http://localhost:15672"}
        self.operator = _bare_environment() | operator

    def prepare(self) -> None:
        """The dependencies' init and the one-off jobs, as before a first deploy."""
        init = subprocess.run(["bash", str(POSTGRES_INIT)], capture_output=True, text=True,
                              env=_bare_environment() | self.secrets["postgres"] | {"PGHOST": "localhost"})
        assert init.returncode == 0, init.stderr
        for job in (["broker", "setup", "--users"], ["db", "upgrade"]):
            done = _kosi(job, self.operator, self.folder)
            assert done.returncode == 0, done.stdout + done.stderr

    def environment(self, service: str) -> dict:
        """The service's settings file and secrets file; only addresses made local."""
        settings = _on_this_machine(read_env_file(CONFIG / f"{service}.env"))
        ports = {f"{service.upper()}_METRICS_ADDRESS": f"127.0.0.1:{free_port()}"}
        if service == "gateway":
            ports["GATEWAY_ADDRESS"] = f"127.0.0.1:{free_port()}"
        if service == "search":
            ports["SEARCH_INDEX_PATH"] = str(self.folder / "search-index")
        return _bare_environment() | settings | self.secrets[service] | ports

    def tear_down(self) -> None:
        for service in registry.SERVICES:
            self.management.delete_user(f"{self.prefix}-{service}")
        admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for service in registry.DATABASE_SERVICES:
                name = f"{self.prefix.replace('-', '_')}_{service}"
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(sa.text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def deployment(rabbit_uri, tmp_path):
    """A vhost, databases and users of its own for each service's test: really alone."""
    deployed = AloneDeployment(rabbit_uri, tmp_path)
    try:
        deployed.prepare()
        yield deployed
    finally:
        deployed.tear_down()


@pytest.mark.parametrize("service", list(registry.SERVICES))
def test_each_service_starts_alone_from_its_deploy_config_and_answers(deployment, service):
    environment = deployment.environment(service)
    assert environment["KOSI_SERVICE"] == service
    log = deployment.folder / f"{service}.log"
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve"], cwd=deployment.folder,
                               env=environment, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        def ready():
            assert process.poll() is None, log.read_text()[-3000:]
            return _kosi(["health", "--ready", "--timeout", "3"], environment, deployment.folder).returncode == 0

        assert wait_for(ready, seconds=60, interval=0.5), log.read_text()[-3000:]
        ready_answer = _kosi(["health", "--ready"], environment, deployment.folder)
        assert '"status": "ready"' in ready_answer.stdout
        if service != "gateway":   # the gateway stays ready without the broker (kernel/ops.py)
            assert '"broker": {"status": "ok"}' in ready_answer.stdout
        if service in registry.DATABASE_SERVICES:
            assert '"db": {"status": "ok"}' in ready_answer.stdout   # its own user, its own database
        live = _kosi(["health"], environment, deployment.folder)
        assert live.returncode == 0 and '"alive"' in live.stdout
        if service != "gateway":   # over the broker, as the operator: it consumes its RPC queue
            answer = _kosi(["health", "--rpc", service, "--timeout", "10"], deployment.operator, deployment.folder)
            assert answer.returncode == 0 and '"status": "ok"' in answer.stdout, answer.stdout + answer.stderr
        lines = log.read_text().splitlines()
        assert lines and all(line.startswith("{") for line in lines), lines[:5]   # JSON logs, as configured
        text = log.read_text()
        leaked = [key for key, value in deployment.secrets[service].items() if len(value) > 8 and value in text]
        assert leaked == [], f"{service} logged its secrets {leaked}"
    finally:
        process.terminate()
        assert process.wait(timeout=40) is not None
