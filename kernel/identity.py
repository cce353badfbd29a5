"""Who is calling: signed actor assertions on RPC calls.

Broker access alone grants nothing. Every service can publish RPC requests (nameko's
``nameko-rpc`` exchange), so a staff RPC must not trust an ``actor`` argument. Instead the
gateway, after it verified a user's token, signs an *actor assertion* (a short-lived JWT,
EdDSA/Ed25519) and puts it into the worker's context data; nameko carries context data
as AMQP headers on every RPC call the worker makes, and the callee verifies it with the
signers' public keys. The ``kosi`` CLI signs as an operator with a key of its own.
A service holds only public keys, so a compromised service cannot act as an editor.

Keys are raw Ed25519 keys in unpadded base64url (43 characters): ``generate_keypair()``.
Config: signers ``ACTOR_SIGNING_KEY`` (private) with ``ACTOR_ISSUER``; verifiers
``TRUSTED_SIGNERS`` = ``issuer:publickey,issuer:publickey``.
"""
import base64
import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kernel.errors import Forbidden

ACTOR_CONTEXT_KEY = "actor_assertion"  # worker context data key (AMQP header nameko.actor_assertion)
AUDIENCE = "kosi-services"
ALGORITHM = "EdDSA"
DEFAULT_TTL_SECONDS = 60
LEEWAY_SECONDS = 30


class InvalidKey(ValueError):
    pass


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    text = (text or "").strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise InvalidKey("not base64url") from None
    if len(raw) != 32:
        raise InvalidKey(f"an Ed25519 key has 32 bytes, this one {len(raw)}")
    return raw


def generate_keypair() -> tuple[str, str]:
    """(private, public) as base64url text."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _b64(private.private_bytes_raw()), _b64(public)


def public_key_of(private_key: str) -> str:
    private = Ed25519PrivateKey.from_private_bytes(_unb64(private_key))
    return _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


class ActorSigner:
    """Signs assertions as ``issuer`` (the gateway, the CLI)."""

    def __init__(self, issuer: str, private_key: str, ttl_seconds: int = DEFAULT_TTL_SECONDS):
        if not issuer:
            raise InvalidKey("a signer needs an issuer name")
        self.issuer = issuer
        self._key = Ed25519PrivateKey.from_private_bytes(_unb64(private_key))
        self.ttl_seconds = ttl_seconds

    def sign(self, actor: dict) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": str(actor["sub"]),
                  "roles": [role for role in actor.get("roles", []) if isinstance(role, str)],
                  "iat": now, "exp": now + self.ttl_seconds}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)


def parse_trusted_signers(text: str | dict | None) -> dict[str, Ed25519PublicKey]:
    """``"gateway:KEY,kosi-cli:KEY"`` (or a mapping) → issuer → public key."""
    if not text:
        return {}
    pairs = text.items() if isinstance(text, dict) else (
        part.split(":", 1) for part in str(text).split(",") if part.strip())
    trusted = {}
    for pair in pairs:
        try:
            issuer, key = pair
        except ValueError:
            raise InvalidKey("TRUSTED_SIGNERS: write issuer:publickey pairs, comma-separated") from None
        trusted[issuer.strip()] = Ed25519PublicKey.from_public_bytes(_unb64(key))
    return trusted


class ActorVerifier:
    """Checks assertions against the trusted signers; an actor is ``{"sub", "roles", "issuer"}``
    (the issuer is the signer whose key checked out: ``gateway``, ``kosi-cli``, or a service
    acting as itself, such as ``notify``)."""

    def __init__(self, trusted: dict[str, Ed25519PublicKey]):
        self._trusted = trusted

    @classmethod
    def from_config(cls, config: dict) -> "ActorVerifier":
        return cls(parse_trusted_signers(config.get("TRUSTED_SIGNERS")))

    def verify(self, assertion: str) -> dict:
        if not isinstance(assertion, str) or len(assertion) > 4096:
            raise Forbidden("the actor assertion is malformed")
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.InvalidTokenError:
            raise Forbidden("the actor assertion is malformed") from None
        key = self._trusted.get(issuer) if isinstance(issuer, str) else None
        if key is None:
            raise Forbidden(f"the actor assertion's signer {str(issuer)[:40]!r} is not trusted here")
        try:
            claims = jwt.decode(assertion, key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=issuer,
                                leeway=LEEWAY_SECONDS, options={"require": ["sub", "roles", "exp", "iat"]})
        except jwt.ExpiredSignatureError:
            raise Forbidden("the actor assertion has expired") from None
        except jwt.InvalidTokenError as error:
            raise Forbidden(f"the actor assertion is invalid: {error}") from None
        roles = claims["roles"]
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise Forbidden("the actor assertion's roles must be a list of strings")
        return {"sub": str(claims["sub"]), "roles": roles, "issuer": issuer}


class Caller:
    """The verified actor of one worker: ``actor`` is None for an anonymous call; an
    assertion that fails verification is refused (``Forbidden``) when the actor is asked for."""

    def __init__(self, verifier: ActorVerifier, assertion: str | None):
        self._verifier = verifier
        self._assertion = assertion
        self._actor = None
        self._checked = False

    @property
    def actor(self) -> dict | None:
        if not self._checked:
            self._actor = self._verifier.verify(self._assertion) if self._assertion else None
            self._checked = True
        return self._actor
