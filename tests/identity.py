"""Signing keys for the tests: the gateway's and the operator's, and the services' trust.

A test that calls a staff RPC directly acts as the gateway or the CLI would: with a signed
actor assertion (``staff_rpc``). ``SERVICE_TRUST`` goes into every service's test config.
"""
from kernel.identity import ActorSigner, generate_keypair
from kernel.rpc import signed_rpc

GATEWAY_KEY, GATEWAY_PUBLIC = generate_keypair()
OPERATOR_KEY, OPERATOR_PUBLIC = generate_keypair()
NOTIFY_KEY, NOTIFY_PUBLIC = generate_keypair()  # the notify service acting as itself
TRUSTED_SIGNERS = f"gateway:{GATEWAY_PUBLIC},kosi-cli:{OPERATOR_PUBLIC},notify:{NOTIFY_PUBLIC}"
SERVICE_TRUST = {"TRUSTED_SIGNERS": TRUSTED_SIGNERS}
GATEWAY_SIGNING = {"ACTOR_ISSUER": "gateway", "ACTOR_SIGNING_KEY": GATEWAY_KEY}

EDITOR = {"sub": "editor-1", "roles": ["editor"]}
ADMIN = {"sub": "admin-1", "roles": ["admin"]}


def gateway_signer() -> ActorSigner:
    return ActorSigner("gateway", GATEWAY_KEY)


def staff_rpc(amqp_uri: str, actor: dict = EDITOR, timeout: float = 30):
    """A standalone RPC client whose calls act as ``actor`` (signed like the gateway signs)."""
    return signed_rpc(amqp_uri, gateway_signer(), actor, timeout)


def operator_environment() -> dict:
    """Environment variables of a `kosi` command acting as the operator against these keys."""
    return {"KOSI_OPERATOR_SIGNING_KEY": OPERATOR_KEY, "KOSI_TRUSTED_SIGNERS": TRUSTED_SIGNERS,
            "KOSI_GATEWAY_SIGNING_KEY": GATEWAY_KEY}
