"""RPC calls from the command line, signed as the operator (``kernel.identity``)."""
from contextlib import contextmanager

import click
from nameko.standalone.rpc import ClusterRpcClient

from cli import registry
from cli.secrets import local_environment
from kernel.identity import ActorSigner, InvalidKey
from kernel.rpc import signed_rpc

OPERATOR_ROLES = ["admin"]


def operator_signer() -> ActorSigner:
    config = registry.operator_config()
    key = config.get("ACTOR_SIGNING_KEY") or local_environment(create=False).get("KOSI_OPERATOR_SIGNING_KEY")
    if not key:
        raise click.ClickException("no operator signing key: set KOSI_OPERATOR_SIGNING_KEY (or start `kosi run` once)")
    try:
        return ActorSigner(config.get("ACTOR_ISSUER") or "kosi-cli", key)
    except InvalidKey as error:
        raise click.ClickException(f"KOSI_OPERATOR_SIGNING_KEY: {error}") from None


@contextmanager
def operator_rpc(timeout: float = 30):
    """``with operator_rpc() as rpc: rpc.catalog.import_records(…)`` — as the operator."""
    config = registry.operator_config()
    actor = {"sub": config.get("OPERATOR_NAME") or "kosi-cli", "roles": OPERATOR_ROLES}
    with signed_rpc(config["AMQP_URI"], operator_signer(), actor, timeout) as rpc:
        yield rpc


@contextmanager
def anonymous_rpc(timeout: float = 30):
    with ClusterRpcClient(timeout=timeout, uri=registry.operator_config()["AMQP_URI"]) as client:
        yield client
