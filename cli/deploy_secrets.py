"""``kosi deploy secrets DIR``: every secret of one deployment, made here, one env file each.

The files a container deployment reads beside its settings (``deploy/kubernetes/base/config``):
``<service>.env`` for each service (its broker user and database user with their passwords in
the URLs, its token secrets and signing key, the signers it trusts), ``operator.env`` for the
one-off jobs (the broker's administrator, the operator's signing key, and each service's broker
and database URL, which ``kosi broker setup --users`` and ``kosi db upgrade`` need), and the
dependencies' own: ``rabbitmq.env``, ``postgres.env`` (read by
deploy/kubernetes/components/dependencies/postgres-init.sh), ``elasticsearch.env``. Docker Compose reads them from ``deploy/compose/secrets/``; Kubernetes
takes them as Secrets (``kubectl create secret generic kosi-<name> --from-env-file=…``).
Nothing here is ever committed (``.gitignore``); an existing file is kept unless ``force``.
"""
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cli import registry
from cli.secrets import SIGNERS
from kernel.identity import generate_keypair

SIGNER_KEYS = {"gateway": "KOSI_GATEWAY_SIGNING_KEY", "kosi-cli": "KOSI_OPERATOR_SIGNING_KEY",
               "notify": "KOSI_NOTIFY_SIGNING_KEY"}
TOKEN_SECRETS = {"gateway": {"KOSI_JWT_SECRET": 64, "GATEWAY_METRICS_TOKEN": 32},
                 "survey": {"KOSI_SURVEY_TOKEN_SECRET": 48}, "notify": {"KOSI_NOTIFY_TOKEN_SECRET": 48}}
ADMIN_USER = "kosi-admin"


@dataclass(frozen=True)
class Hosts:
    """Where the services find their dependencies (the Compose and Kubernetes service names)."""
    broker: str = "rabbitmq"
    broker_port: int = 5672
    vhost: str = "kosi"
    database: str = "postgres"
    database_port: int = 5432
    prefix: str = "kosi"  # broker users <prefix>-<service>, databases and their users <prefix>_<service>


def _password() -> str:
    return secrets.token_urlsafe(24)  # URL-safe: goes into URLs as it is


def generate(hosts: Hosts = Hosts()) -> dict[str, dict[str, str]]:
    """``{file name: {variable: value}}`` of a new deployment."""
    keys = {signer: generate_keypair() for signer in SIGNERS}
    trusted = ",".join(f"{signer}:{public}" for signer, (_, public) in keys.items())
    database_prefix = hosts.prefix.replace("-", "_")
    admin_password = _password()
    files: dict[str, dict[str, str]] = {}
    operator = {
        "KOSI_OPERATOR_AMQP_URI": f"pyamqp://{ADMIN_USER}:{admin_password}@{hosts.broker}:{hosts.broker_port}/"
                                  f"{hosts.vhost}",
        SIGNER_KEYS["kosi-cli"]: keys["kosi-cli"][0],
    }
    postgres = {"POSTGRES_PASSWORD": _password(), "KOSI_DATABASE_PREFIX": database_prefix}
    for service in registry.SERVICES:
        prefix = service.upper()
        own = {f"{prefix}_AMQP_URI": f"pyamqp://{hosts.prefix}-{service}:{_password()}@{hosts.broker}:"
                                     f"{hosts.broker_port}/{hosts.vhost}"}
        if service in registry.DATABASE_SERVICES:
            password = _password()
            postgres[f"KOSI_{prefix}_DB_PASSWORD"] = password
            name = f"{database_prefix}_{service}"
            own[f"{prefix}_DATABASE_URL"] = (f"postgresql://{name}:{password}@{hosts.database}:"
                                             f"{hosts.database_port}/{name}")
        for variable, size in TOKEN_SECRETS.get(service, {}).items():
            own[variable] = secrets.token_urlsafe(size)
        if service in SIGNER_KEYS:
            own[SIGNER_KEYS[service]] = keys[service][0]
        if service != "gateway":  # the gateway signs; the services check
            own["KOSI_TRUSTED_SIGNERS"] = trusted
        files[f"{service}.env"] = own
        operator.update({key: value for key, value in own.items() if key.endswith(("_AMQP_URI", "_DATABASE_URL"))})
    files["search.env"]["ELASTICSEARCH_PASSWORD"] = elastic = _password()
    files["notify.env"]["SMTP_PASSWORD"] = ""  # the mail relay's, filled in by the operator
    files["operator.env"] = operator
    files["rabbitmq.env"] = {"RABBITMQ_DEFAULT_USER": ADMIN_USER, "RABBITMQ_DEFAULT_PASS": admin_password,
                             "RABBITMQ_DEFAULT_VHOST": hosts.vhost}
    files["postgres.env"] = postgres
    files["elasticsearch.env"] = {"ELASTIC_PASSWORD": elastic}
    return files


def write(folder: Path, hosts: Hosts = Hosts(), force: bool = False) -> list[Path]:
    """Write a new deployment's secrets into ``folder`` (mode 600); refuses to replace files
    (they must agree with each other and with what the broker and databases already have)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = generate(hosts)
    existing = [name for name in files if (folder / name).exists()]
    if existing and not force:
        raise FileExistsError(f"{folder} already has {', '.join(existing)}: secrets of a running deployment are "
                              "changed one at a time (deploy/README.md, rotating secrets), or all with --force")
    written = []
    for name, values in files.items():
        path = folder / name
        path.touch(mode=0o600)
        os.chmod(path, 0o600)
        path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
        written.append(path)
    return written


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (no quoting, ``#`` comments), as Compose's env_file and kubectl's
    --from-env-file read them."""
    values = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values
