"""Every staff and admin route, taken from the routes' own documentation (``@documented``), so
a new one is covered without touching this test: no token, an expired one, a wrong role, a
wrong audience, another key, ``alg: none`` and a modified payload are always 401 or 403, and
nothing changes."""
import base64
import json
import time
import uuid

import jwt
import pytest

from gateway.openapi import AUTH_ADMIN, AUTH_STAFF, openapi_path, routes_of
from gateway.service import GatewayService
from tests.gateway.test_http import API, TEST_AUTH, bearer, catalog_database, create_published, platform  # noqa: F401

PROTECTED = sorted((entrypoint.method, entrypoint.url, op.auth) for entrypoint, op in routes_of(GatewayService)
                   if op is not None and op.auth in (AUTH_STAFF, AUTH_ADMIN))


def test_the_matrix_covers_the_staff_routes_of_every_service():
    paths = {openapi_path(url) for _, url, _ in PROTECTED}
    assert len(PROTECTED) >= 20
    assert {"/api/v1/entries/{entry_id}", "/api/v1/surveys", "/api/v1/newsletters"} <= paths
    assert any(auth == AUTH_ADMIN for _, _, auth in PROTECTED)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides) -> dict:
    now = int(time.time())
    return {"sub": "mallory", "roles": ["admin"], "iat": now, "exp": now + 300, "iss": TEST_AUTH["ISSUER"],
            "aud": TEST_AUTH["AUDIENCE"], **overrides}


def bad_credentials(auth: str) -> dict:
    """name → (headers, the status it must get)."""
    secret = TEST_AUTH["JWT_SECRET"]
    good = jwt.encode(_claims(roles=["editor"]), secret, algorithm="HS256")
    header, payload, signature = good.split(".")
    promoted = _b64(json.dumps(_claims(roles=["admin"])).encode())
    wrong_role = ["subscriber"] if auth == AUTH_STAFF else ["editor"]

    def sent(token):
        return {"Authorization": f"Bearer {token}"}

    return {
        "no token": ({}, 401),
        "expired": (sent(jwt.encode(_claims(iat=int(time.time()) - 600, exp=int(time.time()) - 60), secret,
                                    algorithm="HS256")), 401),
        "wrong role": (sent(jwt.encode(_claims(roles=wrong_role), secret, algorithm="HS256")), 403),
        "wrong audience": (sent(jwt.encode(_claims(aud="another-api"), secret, algorithm="HS256")), 401),
        "another key": (sent(jwt.encode(_claims(), "another-secret-0123456789abcdef0123", algorithm="HS256")), 401),
        "alg none": (sent(f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(_claims()).encode())}."), 401),
        "modified payload": (sent(f"{header}.{promoted}.{signature}"), 401),
        "too long a life": (sent(jwt.encode(_claims(exp=int(time.time()) + 400 * 86400), secret, algorithm="HS256")),
                            401),
        "not a JWT": (sent("not.a.jwt"), 401),
    }


def state(web_session) -> dict:
    """What a staff route could change, as staff see it."""
    staff = bearer(roles=["admin"])
    return {path: web_session.get(f"{API}{path}", headers=staff).json()
            for path in ("/entries?per_page=100", "/organisations", "/articles")}


@pytest.mark.parametrize("method, url, auth", PROTECTED, ids=[f"{m} {openapi_path(u)}" for m, u, _ in PROTECTED])
def test_a_protected_route_refuses_every_bad_credential_and_changes_nothing(platform, web_session,
                                                                            method, url, auth):
    entry = create_published(web_session, title=f"Matrix {uuid.uuid4().hex[:8]}")
    path = url
    for name in ("entry_id", "survey_id", "newsletter_id", "organisation_id", "article_id", "id"):
        path = path.replace(f"<{name}>", entry["id"] if name == "entry_id" else str(uuid.uuid4()))
    body = None if method in ("GET", "DELETE") else json.dumps({"version": 1}).encode()
    before = state(web_session)
    for name, (headers, status) in bad_credentials(auth).items():
        answer = web_session.request(method, path, data=body,
                                     headers={**headers, **({"Content-Type": "application/json"} if body else {})})
        assert answer.status_code == status, (name, answer.status_code, answer.text[:300])
        assert answer.headers["Content-Type"] == "application/problem+json", name
    assert state(web_session) == before
