"""JWT bearer auth: minting, verification (secret and JWKS), roles."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
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

@pytest.fixture
def jwks_server():
    """A real HTTP server publishing one RSA public key as a JWKS document."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": "test-key", "use": "sig", "alg": "RS256"})
    document = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", private_key
    server.shutdown()
    server.server_close()


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
