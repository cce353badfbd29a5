"""JWT bearer authentication for the gateway (PyJWT).

Config block ``AUTH``: ``JWT_SECRET`` for tokens the platform mints itself (``kosi token``,
HS256), at least 32 bytes and not the example's placeholder; or ``JWKS_URL`` to verify tokens
of an external identity provider by its published keys (RS256/ES256; PyJWT's client keeps
them and fetches them again for a key id it does not know, so the provider may rotate).
The algorithms follow the mode (``JWT_ALGORITHMS`` may narrow them, never cross over: a
secret never verifies an asymmetric token, nor a published key an HS256 one). ``ISSUER``
and ``AUDIENCE`` are checked when set. Claims: ``sub``, ``roles`` (a list) and ``exp`` are
required, and a token may live at most ``MAX_TOKEN_SECONDS`` (from ``iat``, or from now).

An actor is ``{"sub": str, "roles": [str]}``. The services never take it from the gateway's
word: for a staff actor the gateway signs an actor assertion (``kernel.identity``, key
``ACTOR_SIGNING_KEY``) into the worker's context data, which nameko sends along with every
RPC call the route makes. Anyone else calls the services anonymously.
"""
import json
import time

import jwt
from nameko import config as nameko_config
from nameko.extensions import DependencyProvider

from gateway.errors import MissingToken, ServiceUnavailable, Unauthenticated
from kernel.errors import Forbidden
from kernel.identity import ACTOR_CONTEXT_KEY, ActorSigner
from kernel.roles import is_staff
REQUIRED_CLAIMS = ["sub", "roles", "exp"]
SECRET_ALGORITHMS = ("HS256", "HS384", "HS512")
KEY_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
MIN_SECRET_BYTES = 32
EXAMPLE_SECRET_PREFIX = "CHANGE_ME"  # the placeholder of deploy/env/gateway.env.example
DEFAULT_MAX_TOKEN_SECONDS = 12 * 3600
CLOCK_LEEWAY_SECONDS = 30
JWKS_KEEP_SECONDS = 300
DEFAULT_JWKS_REFRESH_COOLDOWN = 30.0

_jwks_clients: dict[tuple, jwt.PyJWKClient] = {}  # one per URL (and cooldown): each caches its keys


def mint_token(secret: str, subject: str, roles, ttl_seconds: int, issuer: str | None = None,
               audience: str | None = None, algorithm: str = "HS256") -> str:
    """A signed token for ``subject`` with ``roles``, valid for ``ttl_seconds``."""
    now = int(time.time())
    claims = {"sub": subject, "roles": list(roles), "iat": now, "exp": now + int(ttl_seconds)}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm=algorithm)


class TokenVerifier:
    """Checks a token against one ``AUTH`` config block and returns the actor."""

    def __init__(self, auth_config: dict):
        self.secret = auth_config.get("JWT_SECRET") or None
        self.jwks_url = auth_config.get("JWKS_URL") or None
        self.issuer = auth_config.get("ISSUER") or None
        self.audience = auth_config.get("AUDIENCE") or None
        self.max_seconds = int(auth_config.get("MAX_TOKEN_SECONDS") or DEFAULT_MAX_TOKEN_SECONDS)
        cooldown = auth_config.get("JWKS_REFRESH_COOLDOWN_SECONDS")
        self.refresh_cooldown = float(DEFAULT_JWKS_REFRESH_COOLDOWN if cooldown in (None, "") else cooldown)
        if not self.jwks_url and not self.secret:
            raise ValueError("AUTH needs JWT_SECRET or JWKS_URL")
        if not self.jwks_url:
            _check_secret(self.secret)
        self.algorithms = _algorithms(auth_config.get("JWT_ALGORITHMS"),
                                      KEY_ALGORITHMS if self.jwks_url else SECRET_ALGORITHMS,
                                      ("RS256", "ES256") if self.jwks_url else ("HS256",))

    def _key_for(self, token: str):
        if not self.jwks_url:
            return self.secret
        client = _jwks_clients.get((self.jwks_url, self.refresh_cooldown))
        if client is None:
            # keys are kept 5 minutes; a key id not among them is asked for again at most once
            # per cooldown, so tokens with made-up key ids cannot make us flood the provider
            client = _jwks_clients[(self.jwks_url, self.refresh_cooldown)] = jwt.PyJWKClient(
                self.jwks_url, timeout=5, lifespan=JWKS_KEEP_SECONDS, cooldown_duration=self.refresh_cooldown)
        try:
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise ServiceUnavailable("the identity provider's keys cannot be fetched") from exc
        except (jwt.PyJWKClientError, jwt.DecodeError) as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc

    def verify(self, token: str) -> dict:
        try:
            claims = jwt.decode(
                token, self._key_for(token), algorithms=self.algorithms,
                issuer=self.issuer, audience=self.audience,
                options={"require": REQUIRED_CLAIMS, "verify_aud": self.audience is not None})
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:  # a key of the wrong kind too
            raise Unauthenticated(f"invalid token: {exc}") from exc
        issued = claims.get("iat") if isinstance(claims.get("iat"), (int, float)) else time.time()
        if claims["exp"] - issued > self.max_seconds + CLOCK_LEEWAY_SECONDS:
            raise Unauthenticated(f"invalid token: it may live at most {self.max_seconds} seconds")
        roles = claims.get("roles")
        if not isinstance(claims.get("sub"), str) or not isinstance(roles, list) \
                or not all(isinstance(role, str) for role in roles):
            raise Unauthenticated("invalid token: sub must be a string and roles a list of strings")
        return {"sub": claims["sub"], "roles": roles}


def _check_secret(secret) -> None:
    if not isinstance(secret, str):
        raise ValueError("JWT_SECRET must be a string (quote it, or set KOSI_JWT_SECRET)")
    if secret.startswith(EXAMPLE_SECRET_PREFIX):
        raise ValueError("JWT_SECRET is still the example's placeholder: set a random secret of its own")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"JWT_SECRET must have at least {MIN_SECRET_BYTES} bytes")


def _algorithms(configured, allowed: tuple, default: tuple) -> list[str]:
    """The algorithms of the mode, narrowed by ``JWT_ALGORITHMS`` (a list or "a,b")."""
    if isinstance(configured, str):
        configured = [name.strip() for name in configured.split(",") if name.strip()]
    chosen = list(configured or default)
    stray = [name for name in chosen if name not in allowed]
    if stray:
        raise ValueError(f"JWT_ALGORITHMS {stray} do not fit this mode; allowed: {', '.join(allowed)}")
    return chosen


def bearer_token(request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header; None when there is no header."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


_verifiers: dict[str, TokenVerifier] = {}


def configured_verifier() -> TokenVerifier:
    """The verifier of the current ``AUTH`` config, built once (it caches JWKS keys)."""
    auth_config = nameko_config.get("AUTH") or {}
    key = json.dumps(auth_config, sort_keys=True, default=str)
    if key not in _verifiers:
        _verifiers[key] = TokenVerifier(auth_config)
    return _verifiers[key]


class TokenAuth(DependencyProvider):
    """Checks the ``AUTH`` config and the actor signing key when the gateway starts: a
    gateway that could not verify any token, or not vouch for its users to the services,
    refuses to start instead of answering every staff request with an error."""

    def setup(self):
        configured_verifier()
        key = nameko_config.get("ACTOR_SIGNING_KEY")
        if not key:
            raise ValueError("the gateway needs ACTOR_SIGNING_KEY (KOSI_GATEWAY_SIGNING_KEY) to sign "
                             "actor assertions for the services")
        self.signer = ActorSigner(nameko_config.get("ACTOR_ISSUER") or "gateway", key)

    def get_dependency(self, worker_ctx):
        return RequestAuth(configured_verifier(), self.signer, worker_ctx.context_data)


class RequestAuth:
    """The authentication of one request: ``optional`` for public routes, ``require`` for
    staff routes. A verified staff actor is signed into the worker's context data, so the
    RPC calls that follow act as that person."""

    def __init__(self, verifier: TokenVerifier, signer: ActorSigner, context_data: dict):
        self._verifier = verifier
        self._signer = signer
        self._context_data = context_data

    def _acting(self, actor: dict | None) -> dict | None:
        if is_staff(actor):
            self._context_data[ACTOR_CONTEXT_KEY] = self._signer.sign(actor)
        return actor

    def optional(self, request) -> dict | None:
        """None without a token; a bad token is still refused (401)."""
        token = bearer_token(request)
        return None if token is None else self._acting(self._verifier.verify(token))

    def require(self, request, *roles: str) -> dict:
        """The actor of a valid token holding one of ``roles`` (any role when none given).
        No token or a bad one → ``Unauthenticated`` (401); a valid token without the role →
        ``Forbidden`` (403)."""
        token = bearer_token(request)
        if token is None:
            raise MissingToken("missing bearer token")
        actor = self._verifier.verify(token)
        if roles and not set(roles) & set(actor["roles"]):
            raise Forbidden(f"needs one of the roles: {', '.join(roles)}")
        return self._acting(actor)
