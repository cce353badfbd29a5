"""JWT bearer auth: minting, verification (secret and JWKS), roles."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.auth import RequestAuth, TokenVerifier, mint_token
from gateway.errors import MissingToken, ServiceUnavailable, Unauthenticated
from gateway.problems import problem_kind
from kernel.errors import Forbidden
from kernel.identity import ACTOR_CONTEXT_KEY, ActorVerifier, parse_trusted_signers
from tests.identity import TRUSTED_SIGNERS, gateway_signer

SECRET = "unit-test-secret-0123456789abcdef0123"  # 37 bytes: fine for HS256
AUTH = {"JWT_SECRET": SECRET, "JWT_ALGORITHMS": ["HS256"], "ISSUER": "kosi-test", "AUDIENCE": "kosi-api-test"}


@pytest.fixture
def verifier():
    return TokenVerifier(AUTH)


def auth_for(verifier, context=None):
    """The authentication of one request, as a route gets it (its worker's context data)."""
    return RequestAuth(verifier, gateway_signer(), {} if context is None else context)


def require_role(request, *roles, verifier):
    return auth_for(verifier).require(request, *roles)


def optional_actor(request, verifier):
    return auth_for(verifier).optional(request)


def token(roles=("editor",), ttl=60, secret=SECRET, issuer="kosi-test", audience="kosi-api-test", subject="ada"):
    return mint_token(secret, subject, roles, ttl, issuer=issuer, audience=audience)


def request_with(authorization=None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return Request(EnvironBuilder(path="/api/v1/entries", headers=headers).get_environ())


def test_minted_token_verifies_to_actor(verifier):
    assert verifier.verify(token(roles=["editor", "admin"])) == {"sub": "ada", "roles": ["editor", "admin"]}


def test_minted_token_has_required_claims():
    claims = jwt.decode(token(ttl=120), SECRET, algorithms=["HS256"], audience="kosi-api-test")
    assert claims["sub"] == "ada" and claims["roles"] == ["editor"] and claims["iss"] == "kosi-test"
    assert 110 <= claims["exp"] - time.time() <= 121


@pytest.mark.parametrize("bad_token, reason", [
    (lambda: token(ttl=-10), "expired"),
    (lambda: token(secret="another-secret-0123456789abcdef0123"), "Signature"),
    (lambda: token(issuer="somebody-else"), "issuer"),
    (lambda: token(audience="another-api"), "audience"),
    (lambda: "not.a.jwt", "invalid token"),
    (lambda: jwt.encode({"sub": "ada", "exp": int(time.time()) + 60, "iss": "kosi-test",
                         "aud": "kosi-api-test"}, SECRET, algorithm="HS256"), "roles"),
    (lambda: jwt.encode({"sub": "ada", "roles": ["editor"], "iss": "kosi-test", "aud": "kosi-api-test"},
                        SECRET, algorithm="HS256"), "exp"),
    (lambda: jwt.encode({"sub": "ada", "roles": "editor", "exp": int(time.time()) + 60, "iss": "kosi-test",
                         "aud": "kosi-api-test"}, SECRET, algorithm="HS256"), "roles"),
    (lambda: jwt.encode({"sub": "ada", "roles": ["editor"], "exp": int(time.time()) + 60, "iss": "kosi-test",
                         "aud": "kosi-api-test"}, SECRET * 2, algorithm="HS512"), "alg value"),
])
def test_bad_tokens_are_unauthenticated(verifier, bad_token, reason):
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(bad_token())
    assert reason.lower() in str(caught.value).lower()


def test_require_role_returns_actor_for_the_role(verifier):
    actor = require_role(request_with(f"Bearer {token(roles=['editor'])}"), "editor", "admin", verifier=verifier)
    assert actor == {"sub": "ada", "roles": ["editor"]}


def test_require_role_without_token_is_missing_token(verifier):
    with pytest.raises(MissingToken):
        require_role(request_with(), "editor", verifier=verifier)


def test_require_role_with_wrong_role_is_forbidden(verifier):
    with pytest.raises(Forbidden):
        require_role(request_with(f"Bearer {token(roles=['reader'])}"), "editor", "admin", verifier=verifier)


@pytest.mark.parametrize("header", ["Basic YWRhOnNlY3JldA==", "Bearer", "Bearer   ", "token abc"])
def test_malformed_authorization_header_is_unauthenticated(verifier, header):
    with pytest.raises(Unauthenticated):
        require_role(request_with(header), "editor", verifier=verifier)


def test_optional_actor_is_none_without_token_but_refuses_a_bad_one(verifier):
    assert optional_actor(request_with(), verifier) is None
    assert optional_actor(request_with(f"Bearer {token()}"), verifier)["sub"] == "ada"
    with pytest.raises(Unauthenticated):
        optional_actor(request_with(f"Bearer {token(ttl=-5)}"), verifier)


def test_a_staff_actor_is_signed_for_the_services_anyone_else_calls_anonymously(verifier):
    services = ActorVerifier(parse_trusted_signers(TRUSTED_SIGNERS))
    context = {}
    actor = auth_for(verifier, context).require(request_with(f"Bearer {token(roles=['editor'])}"), "editor")
    assert actor == {"sub": "ada", "roles": ["editor"]}
    assert services.verify(context[ACTOR_CONTEXT_KEY]) == {**actor, "issuer": "gateway"}
    citizen = {}
    assert auth_for(verifier, citizen).optional(request_with(f"Bearer {token(roles=[])}"))["roles"] == []
    assert citizen == {}  # no staff role: nothing to vouch for
    anonymous = {}
    assert auth_for(verifier, anonymous).optional(request_with()) is None and anonymous == {}


def test_verifier_needs_a_secret_or_jwks_url():
    with pytest.raises(ValueError):
        TokenVerifier({"JWT_ALGORITHMS": ["HS256"]})


# ---------------------------------------------------------------- JWKS (external identity provider)

class JwksServer:
    """A real HTTP server publishing RSA public keys as a JWKS document; ``publish`` swaps
    them (an identity provider rotating its keys)."""

    def __init__(self):
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.document = b""
        self.fetches = 0
        self.publish(("test-key", self.private_key))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.document)))
                self.end_headers()
                self.wfile.write(server.document)

            def log_message(self, *args):
                pass

        self.http = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/jwks.json"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def publish(self, *keys) -> None:
        published = []
        for kid, private_key in keys:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
            jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
            published.append(jwk)
        self.document = json.dumps({"keys": published}).encode()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def jwks():
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def jwks_server(jwks):
    return jwks.url, jwks.private_key


def test_jwks_verifies_rs256_tokens_of_the_identity_provider(jwks_server):
    url, private_key = jwks_server
    verifier = TokenVerifier({"JWKS_URL": url, "JWT_ALGORITHMS": ["RS256"], "AUDIENCE": "kosi-api-test"})
    claims = {"sub": "idp|42", "roles": ["admin"], "exp": int(time.time()) + 60, "aud": "kosi-api-test"}
    good = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "test-key"})
    assert verifier.verify(good) == {"sub": "idp|42", "roles": ["admin"]}

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "test-key"})
    with pytest.raises(Unauthenticated):
        verifier.verify(forged)
    unknown_kid = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "nope"})
    with pytest.raises(Unauthenticated):
        verifier.verify(unknown_kid)
    # a token signed with the shared secret must not pass where the IdP's keys rule
    with pytest.raises(Unauthenticated):
        verifier.verify(mint_token(SECRET, "x", ["admin"], 60, audience="kosi-api-test"))


def test_an_unreachable_identity_provider_is_503_not_401(jwks_server):
    _, private_key = jwks_server
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/jwks.json"
    verifier = TokenVerifier({"JWKS_URL": url, "JWT_ALGORITHMS": ["RS256"], "AUDIENCE": "kosi-api-test"})
    claims = {"sub": "idp|42", "roles": ["admin"], "exp": int(time.time()) + 60, "aud": "kosi-api-test"}
    token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "test-key"})
    with pytest.raises(ServiceUnavailable) as unavailable:
        verifier.verify(token)
    assert str(unavailable.value) == "the identity provider's keys cannot be fetched"
    assert problem_kind(unavailable.value).status == 503


# ---------------------------------------------------------------- hardening: secrets, modes, lifetimes

@pytest.mark.parametrize("secret, message", [
    ("too-short-secret", "at least 32 bytes"),
    ("CHANGE_ME_TO_64_RANDOM_BYTES", "placeholder"),               # deploy/env/gateway.env.example
    ("CHANGE_ME_TO_64_RANDOM_BYTES_0123456789abcdefghij", "placeholder"),
    (12345678901234567890123456789012345, "must be a string"),    # what YAML makes of a numeric secret
])
def test_the_gateway_refuses_a_weak_or_example_secret(secret, message):
    with pytest.raises(ValueError, match=message):
        TokenVerifier({"JWT_SECRET": secret})


@pytest.mark.parametrize("secret", ["a secret # with a hash and spaces 0123456789",
                                    "12345678901234567890123456789012345678", "'quoted' and: colon 0123456789abcdef"])
def test_a_secret_from_the_environment_is_taken_as_written(monkeypatch, secret):
    from kernel.config import load_config, service_config_path

    monkeypatch.setenv("KOSI_JWT_SECRET", secret)
    monkeypatch.delenv("KOSI_JWKS_URL", raising=False)
    auth = load_config(service_config_path("gateway"))["AUTH"]
    assert auth["JWT_SECRET"] == secret
    verifier = TokenVerifier(auth)
    assert verifier.algorithms == ["HS256"]
    minted = mint_token(secret, "ada", ["editor"], 60, issuer=auth["ISSUER"], audience=auth["AUDIENCE"])
    assert verifier.verify(minted) == {"sub": "ada", "roles": ["editor"]}


def test_the_algorithms_follow_the_mode_and_never_cross_over(jwks):
    assert TokenVerifier({"JWT_SECRET": SECRET}).algorithms == ["HS256"]
    assert TokenVerifier({"JWKS_URL": jwks.url}).algorithms == ["RS256", "ES256"]
    assert TokenVerifier({"JWKS_URL": jwks.url, "JWT_ALGORITHMS": "RS256"}).algorithms == ["RS256"]
    with pytest.raises(ValueError, match="do not fit"):
        TokenVerifier({"JWT_SECRET": SECRET, "JWT_ALGORITHMS": "RS256"})
    with pytest.raises(ValueError, match="do not fit"):
        TokenVerifier({"JWKS_URL": jwks.url, "JWT_ALGORITHMS": ["HS256"]})


def test_jwks_mode_with_the_gateway_config_takes_rs256_and_refuses_an_hs256_token_naming_its_key(
        jwks, monkeypatch):
    """As deployed: only KOSI_JWKS_URL set. An HS256 token naming the provider's key id (its
    public key taken as an HMAC secret) is 401, not 500."""
    from kernel.config import load_config, service_config_path

    monkeypatch.setenv("KOSI_JWKS_URL", jwks.url)
    monkeypatch.delenv("KOSI_JWT_SECRET", raising=False)
    auth = load_config(service_config_path("gateway"))["AUTH"]
    verifier = TokenVerifier(auth)
    claims = {"sub": "idp|7", "roles": ["editor"], "iat": int(time.time()), "exp": int(time.time()) + 60,
              "iss": auth["ISSUER"], "aud": auth["AUDIENCE"]}
    good = jwt.encode(claims, jwks.private_key, algorithm="RS256", headers={"kid": "test-key"})
    assert verifier.verify(good) == {"sub": "idp|7", "roles": ["editor"]}
    public_pem = jwks.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    confused = _hs256_by_hand(claims, public_pem, kid="test-key")
    with pytest.raises(Unauthenticated):
        verifier.verify(confused)
    none = _unsigned(claims, kid="test-key")
    with pytest.raises(Unauthenticated):
        verifier.verify(none)


def test_unknown_key_ids_do_not_make_the_gateway_hammer_the_identity_provider(jwks):
    verifier = TokenVerifier({"JWKS_URL": jwks.url, "AUDIENCE": "kosi-api-test"})   # cooldown 30 s
    claims = {"sub": "idp|9", "roles": ["admin"], "exp": int(time.time()) + 60, "aud": "kosi-api-test"}
    assert verifier.verify(jwt.encode(claims, jwks.private_key, algorithm="RS256", headers={"kid": "test-key"}))
    fetched = jwks.fetches
    for number in range(5):
        with pytest.raises(Unauthenticated):
            verifier.verify(jwt.encode(claims, jwks.private_key, algorithm="RS256", headers={"kid": f"made-up-{number}"}))
    assert jwks.fetches <= fetched + 1


def test_a_rotated_key_of_the_identity_provider_is_fetched_when_a_token_names_it(jwks):
    verifier = TokenVerifier({"JWKS_URL": jwks.url, "AUDIENCE": "kosi-api-test", "JWKS_REFRESH_COOLDOWN_SECONDS": 0})
    claims = {"sub": "idp|9", "roles": ["admin"], "exp": int(time.time()) + 60, "aud": "kosi-api-test"}
    assert verifier.verify(jwt.encode(claims, jwks.private_key, algorithm="RS256", headers={"kid": "test-key"}))
    assert verifier.verify(jwt.encode(claims, jwks.private_key, algorithm="RS256", headers={"kid": "test-key"}))
    fetched = jwks.fetches
    assert fetched >= 1
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.publish(("key-2", new_key))                    # the provider rotated: the old key is gone
    rotated = jwt.encode(claims, new_key, algorithm="RS256", headers={"kid": "key-2"})
    assert verifier.verify(rotated) == {"sub": "idp|9", "roles": ["admin"]}
    assert jwks.fetches == fetched + 1                  # asked again for the unknown key id only


@pytest.mark.parametrize("issued_ago, lives, accepted", [
    (0, 8 * 3600, True), (0, 12 * 3600, True), (0, 13 * 3600, False), (None, 13 * 3600, False),
    (11 * 3600, 13 * 3600, False),  # issued 11 h ago and valid for 2 h more: 13 h in all
])
def test_a_token_may_live_at_most_the_configured_time(issued_ago, lives, accepted):
    verifier = TokenVerifier({**AUTH, "MAX_TOKEN_SECONDS": 12 * 3600})
    now = int(time.time())
    claims = {"sub": "ada", "roles": ["editor"], "exp": now + lives, "iss": "kosi-test", "aud": "kosi-api-test"}
    if issued_ago is not None:
        claims["iat"] = now - issued_ago
        claims["exp"] = now - issued_ago + lives
    minted = jwt.encode(claims, SECRET, algorithm="HS256")
    if accepted:
        assert verifier.verify(minted)["sub"] == "ada"
    else:
        with pytest.raises(Unauthenticated, match="at most"):
            verifier.verify(minted)


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_by_hand(claims: dict, secret: bytes, kid: str) -> str:
    """An HS256 token keyed with ``secret`` (PyJWT refuses to sign with a PEM key, on purpose)."""
    import hashlib
    import hmac

    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': kid}).encode())}." \
                    f"{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _unsigned(claims: dict, kid: str) -> str:
    return f"{_b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{_b64(json.dumps(claims).encode())}."
