"""End to end over HTTP: the real gateway and the real catalog, RabbitMQ and PostgreSQL.

Each test gets its own RabbitMQ vhost (nameko's ``rabbit_config``) and a fresh catalog
database. Tokens are signed with the secret of TEST_AUTH below, never the repo's config.
"""
import json
import re

import eventlet
import pytest
from nameko.rpc import rpc

from gateway.auth import mint_token
from gateway.service import GatewayService
from tests.databases import fresh_catalog_database
from tests.identity import GATEWAY_SIGNING, SERVICE_TRUST

API = "/api/v1"
TEST_AUTH = {"JWT_SECRET": "e2e-test-secret-only-for-tests-5f0c9a1e7b", "JWT_ALGORITHMS": ["HS256"],
             "ISSUER": "kosi-test", "AUDIENCE": "kosi-test-api", "JWKS_URL": ""}
MAX_BODY_BYTES = 32 * 1024
PROBLEM = "application/problem+json"

MAGDEBURG = {"lat": 52.1205, "lon": 11.6276}
HALLE = {"lat": 51.4828, "lon": 11.9697}
BERLIN = {"lat": 52.52, "lon": 13.405}


def token(roles=("editor",), ttl=300, subject="eddie"):
    return mint_token(TEST_AUTH["JWT_SECRET"], subject, roles, ttl,
                      issuer=TEST_AUTH["ISSUER"], audience=TEST_AUTH["AUDIENCE"])


def bearer(roles=("editor",), **kwargs):
    return {"Authorization": f"Bearer {token(roles, **kwargs)}"}


def entry_data(**overrides):
    data = {"kind": "project", "title": "Dorfladen Wippra", "summary": "Ein Dorfladen in Bürgerhand.",
            "themes": ["sozialer-zusammenhalt"], "location": dict(MAGDEBURG),
            "contact": {"name": "Anna Beispiel", "email": "anna@example.org"}}
    data.update(overrides)
    return data


def gateway_config(database_url):
    return {"CATALOG_DATABASE_URL": database_url, "AUTH": TEST_AUTH, "RPC_TIMEOUT": 10, **SERVICE_TRUST, **GATEWAY_SIGNING,
            "MAX_BODY_BYTES": MAX_BODY_BYTES, "READY_SERVICES": ["catalog"], "serializer": "json"}


@pytest.fixture
def catalog_database():
    url = fresh_catalog_database("kosi_test_gateway_http")
    return url


@pytest.fixture
def platform(rabbit_config, web_config, runner_factory, catalog_database):
    """The catalog and the gateway running in this process, like two deployed services."""
    from services.catalog.service import CatalogService

    runner = runner_factory(gateway_config(catalog_database), CatalogService, GatewayService)
    runner.start()
    yield runner


@pytest.fixture
def gateway_alone(rabbit_config, web_config, runner_factory, catalog_database):
    """The gateway with no catalog running."""
    runner = runner_factory(gateway_config(catalog_database), GatewayService)
    runner.start()
    yield runner


def assert_problem(response, status, field=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"] and body["title"] and "instance" in body
    if field is not None:
        assert any(key == field or key.startswith(field + ".") for key in body["errors"]), body
    return body


def create_published(web_session, **overrides):
    response = web_session.post(f"{API}/entries", json=entry_data(**overrides), headers=bearer())
    assert response.status_code == 201, response.text
    return response.json()


# ---------------------------------------------------------------- moderation workflow

def test_public_submission_is_invisible_until_an_editor_publishes_it(platform, web_session):
    submitted = web_session.post(f"{API}/entries", json=entry_data())
    assert submitted.status_code == 202, submitted.text
    receipt = submitted.json()
    assert receipt["status"] == "submitted"
    entry_id = receipt["id"]

    assert_problem(web_session.get(f"{API}/entries/{entry_id}"), 404)
    assert web_session.get(f"{API}/entries").json()["total"] == 0

    staff_view = web_session.get(f"{API}/entries/{entry_id}", headers=bearer())
    assert staff_view.status_code == 200
    assert staff_view.json()["status"] == "submitted"
    assert staff_view.json()["contact"]["email"] == "anna@example.org"
    queue = web_session.get(f"{API}/entries", params={"status": "submitted"}, headers=bearer()).json()
    assert [item["id"] for item in queue["items"]] == [entry_id]

    review = web_session.post(f"{API}/entries/{entry_id}/review", json={"action": "publish", "version": 1},
                              headers=bearer())
    assert review.status_code == 200, review.text
    assert review.json()["status"] == "published"

    public = web_session.get(f"{API}/entries/{entry_id}")
    assert public.status_code == 200
    assert public.json()["status"] == "published"
    assert "contact" not in public.json()
    listing = web_session.get(f"{API}/entries").json()
    assert listing["total"] == 1 and listing["page"] == 1 and listing["per_page"] == 20
    assert listing["items"][0]["id"] == entry_id


def test_staff_creation_answers_201_with_location_and_etag(platform, web_session):
    response = web_session.post(f"{API}/entries", json=entry_data(), headers=bearer())

    assert response.status_code == 201
    entry = response.json()
    assert entry["status"] == "published"
    assert response.headers["Location"] == f"{API}/entries/{entry['id']}"
    assert response.headers["ETag"] == '"1"'
    located = web_session.get(response.headers["Location"])
    assert (located.status_code, located.json()["id"]) == (200, entry["id"])


def test_reject_without_reason_is_422_and_invalid_transition_is_409(platform, web_session):
    entry = create_published(web_session)
    assert_problem(web_session.post(f"{API}/entries/{entry['id']}/review", json={"action": "reject", "version": 1},
                                    headers=bearer()), 422, "reason")
    withdrawn = web_session.delete(f"{API}/entries/{entry['id']}", headers=bearer())
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert_problem(web_session.get(f"{API}/entries/{entry['id']}"), 404)
    assert_problem(web_session.post(f"{API}/entries/{entry['id']}/review", json={"action": "archive"},
                                    headers={**bearer(), "If-Match": withdrawn.headers["ETag"]}), 409)


def test_a_stale_review_is_409_so_two_editors_cannot_decide_at_once(platform, web_session):
    submitted = web_session.post(f"{API}/entries", json=entry_data()).json()
    url = f"{API}/entries/{submitted['id']}/review"
    assert_problem(web_session.post(url, json={"action": "publish"}, headers=bearer()), 422, "version")
    first = web_session.post(url, json={"action": "publish"}, headers={**bearer(), "If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    second = web_session.post(url, json={"action": "reject", "reason": "Dublette", "version": 1}, headers=bearer())
    assert_problem(second, 409, "version")
    assert second.json()["errors"] == {"version": ["current version is 2"]}
    assert web_session.get(f"{API}/entries/{submitted['id']}").json()["status"] == "published"


# ---------------------------------------------------------------- optimistic concurrency, history

def test_stale_patch_is_409_and_history_shows_every_version(platform, web_session):
    entry = create_published(web_session)
    url = f"{API}/entries/{entry['id']}"

    first = web_session.patch(url, json={"version": 1, "title": "Dorfladen Wippra eG"}, headers=bearer())
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2 and first.headers["ETag"] == '"2"'

    stale = web_session.patch(url, json={"summary": "Alte Fassung"}, headers={**bearer(), "If-Match": '"1"'})
    assert_problem(stale, 409)

    second = web_session.patch(url, json={"summary": "Neue Fassung"},
                               headers={**bearer(), "If-Match": first.headers["ETag"]})
    assert second.status_code == 200, second.text
    assert second.json()["summary"] == "Neue Fassung" and second.headers["ETag"] == '"3"'

    assert_problem(web_session.patch(url, json={"title": "Ohne Version"}, headers=bearer()), 422, "version")

    history = web_session.get(f"{url}/history", headers=bearer())
    assert history.status_code == 200
    versions = history.json()["items"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[1]["snapshot"]["title"] == "Dorfladen Wippra eG"
    assert versions[2]["snapshot"]["summary"] == "Neue Fassung"


# ---------------------------------------------------------------- map, regions, themes, network

def test_map_is_geojson_with_lon_lat_positions(platform, web_session):
    create_published(web_session, title="Magdeburg", location=dict(MAGDEBURG))
    create_published(web_session, title="Halle", location=dict(HALLE))

    response = web_session.get(f"{API}/map", params={"bbox": "10.5,50.9,13.2,53.1", "zoom": 16})

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    positions = sorted(tuple(f["geometry"]["coordinates"]) for f in collection["features"])
    assert all(f["type"] == "Feature" and f["geometry"]["type"] == "Point" for f in collection["features"])
    expected = sorted((place["lon"], place["lat"]) for place in (MAGDEBURG, HALLE))  # [lon, lat]
    assert positions == [pytest.approx(position) for position in expected]

    only_halle = web_session.get(f"{API}/map", params={"bbox": "11.8,51.3,12.1,51.6", "zoom": 16}).json()
    assert len(only_halle["features"]) == 1


def test_regions_lists_the_14_districts_and_cities_with_counts(platform, web_session):
    create_published(web_session, location=dict(MAGDEBURG))

    response = web_session.get(f"{API}/regions")

    assert response.status_code == 200
    regions = response.json()["items"]
    assert len(regions) == 14
    by_name = {region["name"]: region for region in regions}
    assert by_name["Magdeburg"]["entry_count"] == 1
    assert sum(region["entry_count"] for region in regions) == 1
    assert {"Halle (Saale)", "Dessau-Roßlau", "Harz"} <= set(by_name)


def test_themes_and_network_and_related(platform, web_session):
    themes = web_session.get(f"{API}/themes").json()["items"]
    assert {"arbeit", "wohnen"} <= {theme["slug"] for theme in themes}

    source = create_published(web_session, title="Wohnprojekt Alte Mühle")
    target = create_published(web_session, title="Genossenschaft Mühlenhof", location=dict(HALLE))
    link = web_session.post(f"{API}/entries/{source['id']}/links", headers=bearer(),
                            json={"target_type": "entry", "target_id": target["id"], "type": "partner"})
    assert link.status_code == 201, link.text
    assert link.headers["Location"] == f"{API}/entries/{source['id']}/related"

    related = web_session.get(link.headers["Location"]).json()
    assert [item["entry"]["id"] for item in related["entries"]] == [target["id"]]

    network = web_session.get(f"{API}/network")
    assert network.status_code == 200, network.text
    graph = network.json()
    node_ids = {node["id"] for node in graph["nodes"]}
    assert {source["id"], target["id"]} <= node_ids
    assert len(graph["edges"]) == 1


def test_the_network_is_bounded_by_a_limit_and_a_bounding_box(platform, web_session):
    older = create_published(web_session, title="Genossenschaft Mühlenhof", location=dict(HALLE))
    newer = create_published(web_session, title="Wohnprojekt Alte Mühle")  # Magdeburg
    linked = web_session.post(f"{API}/entries/{newer['id']}/links", headers=bearer(),
                              json={"target_type": "entry", "target_id": older["id"], "type": "partner"})
    assert linked.status_code == 201, linked.text

    whole = web_session.get(f"{API}/network").json()
    assert whole["truncated"] is False and len(whole["edges"]) == 1
    newest = web_session.get(f"{API}/network", params={"limit": 1}).json()
    assert [node["id"] for node in newest["nodes"]] == [newer["id"]] and newest["truncated"] is True
    assert newest["edges"] == []  # the other end is not in the answer
    around_halle = web_session.get(f"{API}/network", params={"bbox": "11.8,51.4,12.1,51.6"}).json()
    assert [node["id"] for node in around_halle["nodes"]] == [older["id"]]
    assert_problem(web_session.get(f"{API}/network", params={"bbox": "1,2,3"}), 422, "bbox")
    assert_problem(web_session.get(f"{API}/network", params={"limit": 100_000}), 422, "limit")


def test_organisations_and_articles(platform, web_session):
    created = web_session.post(f"{API}/organisations", headers=bearer(),
                               json={"name": "Bürgerstiftung Halle", "kind": "foundation", "region": "15002"})
    assert created.status_code == 201, created.text
    assert web_session.get(created.headers["Location"]).json()["name"] == "Bürgerstiftung Halle"
    assert web_session.get(f"{API}/organisations").json()["total"] == 1

    for kind, title in (("article", "Was ist soziale Innovation?"), ("news", "Neue Förderrunde")):
        response = web_session.post(f"{API}/articles", headers=bearer(),
                                    json={"type": kind, "title": title, "body": "Text."})
        assert response.status_code == 201, response.text
    news = web_session.get(f"{API}/articles", params={"type": "news"}).json()
    assert [item["title"] for item in news["items"]] == ["Neue Förderrunde"]
    assert web_session.get(f"{API}/articles").json()["total"] == 2
    assert_problem(web_session.get(f"{API}/articles", params={"type": "blog"}), 422, "type")


def test_entries_organisations_and_articles_are_read_by_slug_and_an_old_slug_redirects(platform, web_session):
    entry = create_published(web_session, title="Rufbus Oberharz")
    assert web_session.get(f"{API}/entries/rufbus-oberharz").json()["id"] == entry["id"]
    renamed = web_session.patch(f"{API}/entries/{entry['id']}", headers=bearer(),
                                json={"slug": "rufbus-im-oberharz", "version": 1})
    assert renamed.status_code == 200 and renamed.json()["slug"] == "rufbus-im-oberharz", renamed.text
    old = web_session.get(f"{API}/entries/rufbus-oberharz?fields=x", allow_redirects=False)
    assert old.status_code == 301
    assert old.headers["Location"] == f"{API}/entries/rufbus-im-oberharz?fields=x"
    assert old.headers["Cache-Control"] == "public, max-age=60"
    followed = web_session.get(f"{API}/entries/rufbus-oberharz")
    assert followed.status_code == 200 and followed.json()["id"] == entry["id"]
    taken = create_published(web_session, title="Rufbus Unterharz")
    assert_problem(web_session.patch(f"{API}/entries/{taken['id']}", headers=bearer(),
                                     json={"slug": "rufbus-im-oberharz", "version": 1}), 409, "slug")
    assert_problem(web_session.patch(f"{API}/entries/{taken['id']}", headers=bearer(),
                                     json={"slug": "Rufbus Unterharz", "version": 1}), 422, "slug")

    organisation = web_session.post(f"{API}/organisations", headers=bearer(),
                                    json={"name": "Harzer Mobilitätsverein", "kind": "association"}).json()
    assert web_session.get(f"{API}/organisations/{organisation['slug']}").json()["id"] == organisation["id"]
    article = web_session.post(f"{API}/articles", headers=bearer(),
                               json={"type": "article", "title": "Mobil auf dem Land", "body": "Text."}).json()
    assert web_session.get(f"{API}/articles/{article['slug']}").json()["id"] == article["id"]


# ---------------------------------------------------------------- bad input never gives 5xx

BAD_REQUESTS = [
    # (name, method, path, request kwargs, status, field)
    ("malformed JSON", "post", "/entries",
     {"data": b'{"title": "x",', "headers": {"Content-Type": "application/json"}}, 400, None),
    ("body is an array", "post", "/entries", {"json": [entry_data()]}, 400, None),
    ("body is not UTF-8", "post", "/entries",
     {"data": b'{"title": "\xff\xfe"}', "headers": {"Content-Type": "application/json"}}, 400, None),
    ("empty body", "post", "/entries", {"headers": {"Content-Type": "application/json"}}, 400, None),
    # found by fuzzing: each of these used to reach the database or the JSON decoder's limits
    ("deeply nested JSON", "post", "/entries",
     {"data": b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b"}",
      "headers": {"Content-Type": "application/json"}}, 400, None),
    ("unpaired surrogate", "post", "/entries",
     {"data": json.dumps(entry_data(title="Surrogat X Projekt")).replace("X", "\\ud800").encode(),
      "headers": {"Content-Type": "application/json"}}, 400, None),
    ("NUL in a string", "post", "/entries", {"json": entry_data(title="Dorf\u0000laden")}, 400, None),
    ("NUL in a query parameter", "get", "/entries?theme=%00", {}, 422, "theme"),
    ("wrong content type", "post", "/entries",
     {"data": json.dumps(entry_data()), "headers": {"Content-Type": "text/plain"}}, 415, None),
    ("form post", "post", "/entries", {"data": {"title": "x"}}, 415, None),
    ("unknown field", "post", "/entries", {"json": entry_data(colour="red")}, 422, "colour"),
    ("wrong type", "post", "/entries", {"json": entry_data(title=12345)}, 422, "title"),
    ("list of wrong types", "post", "/entries", {"json": entry_data(themes="wohnen")}, 422, "themes"),
    ("over-long string", "post", "/entries", {"json": entry_data(title="x" * 201)}, 422, "title"),
    ("missing required field", "post", "/entries",
     {"json": {k: v for k, v in entry_data().items() if k != "summary"}}, 422, "summary"),
    ("unknown theme", "post", "/entries", {"json": entry_data(themes=["astrologie"])}, 422, "themes"),
    ("latitude out of range", "post", "/entries",
     {"json": entry_data(location={"lat": 152.0, "lon": 11.6})}, 422, "location"),
    ("coordinates outside the state", "post", "/entries",
     {"json": entry_data(location=dict(BERLIN))}, 422, "location"),
    ("body too large", "post", "/entries",
     {"json": entry_data(description="x" * (MAX_BODY_BYTES + 10))}, 413, None),
    ("body too large, sent chunked", "post", "/entries",
     {"data": (b"x" * 1024 for _ in range(64)), "headers": {"Content-Type": "application/json"}}, 413, None),
    ("neither id nor slug", "get", "/entries/Not_A_Slug!", {}, 404, "id"),
    ("unknown slug", "get", "/entries/kein-solcher-eintrag", {}, 404, None),
    ("bad id in sub-resource", "get", "/entries/123/related", {}, 404, "id"),
    ("unknown id", "get", "/entries/6f1c1f8e-0000-4000-8000-000000000000", {}, 404, None),
    ("unknown organisation", "get", "/organisations/6f1c1f8e-0000-4000-8000-000000000000", {}, 404, None),
    ("unknown query parameter", "get", "/entries?colour=red", {}, 422, "colour"),
    ("page size too large", "get", "/entries?per_page=1000", {}, 422, "per_page"),
    ("page not a number", "get", "/entries?page=two", {}, 422, "page"),
    ("bbox out of range", "get", "/map?bbox=0,0,200,10", {}, 422, "bbox"),
    ("bbox not numbers", "get", "/map?bbox=a,b,c,d", {}, 422, "bbox"),
    ("bbox too few numbers", "get", "/map?bbox=1,2,3", {}, 422, "bbox"),
    ("zoom out of range", "get", "/map?zoom=99", {}, 422, "zoom"),
    ("unknown route", "get", "/nothing-here", {}, 404, None),
    ("wrong method", "put", "/entries", {"json": {}}, 405, None),
]


@pytest.mark.parametrize("name, method, path, kwargs, status, field", BAD_REQUESTS,
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_input_is_a_4xx_problem_never_5xx(platform, web_session, name, method, path, kwargs, status, field):
    response = getattr(web_session, method)(API + path, **kwargs)
    body = assert_problem(response, status, field)
    assert body["instance"] == (API + path).split("?")[0]


def test_bad_input_on_staff_endpoints_is_4xx(platform, web_session):
    entry = create_published(web_session)
    url = f"{API}/entries/{entry['id']}"
    assert_problem(web_session.patch(url, json={"version": "one"}, headers=bearer()), 422, "version")
    assert_problem(web_session.patch(url, json={"version": 1}, headers={**bearer(), "If-Match": '"7"'}),
                   422, "version")
    assert_problem(web_session.patch(url, json={"title": "ok title"}, headers={**bearer(), "If-Match": "yes"}),
                   422, "If-Match")
    assert_problem(web_session.patch(url, json={"title": "ok title"},
                                     headers={**bearer(), "If-Match": '"' + "9" * 5000 + '"'}), 422, "If-Match")
    assert_problem(web_session.patch(url, json={"version": 1, "status": "published"}, headers=bearer()),
                   422, "status")
    assert_problem(web_session.post(f"{url}/review", json={"action": "promote", "version": 1}, headers=bearer()),
                   422, "action")
    assert_problem(web_session.post(f"{url}/links", json={"target_type": "entry", "target_id": "nope"},
                                    headers=bearer()), 422, "target_id")
    assert_problem(web_session.post(f"{API}/organisations", json={"name": "X", "kind": "club"},
                                    headers=bearer()), 422, "kind")


# ---------------------------------------------------------------- authentication and roles

@pytest.mark.parametrize("method, path, body", [
    ("patch", "/entries/{id}", {"version": 1, "title": "Neuer Titel"}),
    ("delete", "/entries/{id}", None),
    ("post", "/entries/{id}/review", {"action": "archive"}),
    ("get", "/entries/{id}/history", None),
    ("post", "/entries/{id}/links", {"target_type": "entry", "target_id": "{id}"}),
    ("post", "/organisations", {"name": "Verein", "kind": "association"}),
    ("post", "/articles", {"type": "news", "title": "Nachricht", "body": "Text"}),
])
def test_staff_endpoints_need_a_staff_token(platform, web_session, method, path, body):
    entry = create_published(web_session)
    url = API + path.format(id=entry["id"])
    if body:
        body = {key: value.format(id=entry["id"]) if isinstance(value, str) else value
                for key, value in body.items()}
    send = getattr(web_session, method)

    missing = send(url, json=body)
    assert_problem(missing, 401)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    expired = send(url, json=body, headers=bearer(ttl=-30))
    assert_problem(expired, 401)
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    forged = mint_token("not-the-secret-0123456789abcdef0123", "mallory", ["admin"], 300,
                        issuer=TEST_AUTH["ISSUER"], audience=TEST_AUTH["AUDIENCE"])
    assert_problem(send(url, json=body, headers={"Authorization": f"Bearer {forged}"}), 401)
    assert_problem(send(url, json=body, headers=bearer(roles=["subscriber"])), 403)
    # the entry is unchanged by all of that
    assert web_session.get(f"{API}/entries/{entry['id']}").json()["version"] == 1


def test_public_reads_refuse_a_bad_token_but_accept_none(platform, web_session):
    anonymous = web_session.get(f"{API}/entries")
    assert (anonymous.status_code, anonymous.json()["total"]) == (200, 0)
    assert_problem(web_session.get(f"{API}/entries", headers=bearer(ttl=-30)), 401)


# ---------------------------------------------------------------- ops

def test_health_ready_and_metrics(platform, web_session):
    assert web_session.get(f"{API}/health").json() == {"status": "ok"}

    ready = web_session.get(f"{API}/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"broker": {"status": "ok"}, "catalog": {"status": "ok"}}

    web_session.get(f"{API}/entries/not-a-uuid")
    metrics = web_session.get(f"{API}/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["Content-Type"].startswith("text/plain")
    text = metrics.text
    assert 'kosi_gateway_requests_total{method="GET",route="/api/v1/entries/<entry_id>",status="404"}' in text
    assert 'kosi_gateway_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/ready"' \
           ',status="200"}' in text


def test_ready_is_503_and_reads_are_503_when_the_catalog_is_down(gateway_alone, web_session):
    assert web_session.get(f"{API}/health").json() == {"status": "ok"}

    ready = web_session.get(f"{API}/ready")
    body = assert_problem(ready, 503, "catalog")
    assert list(body["errors"]) == ["catalog"] and body["detail"] == "not ready: catalog down"

    assert_problem(web_session.get(f"{API}/entries"), 503)


class HungCatalog:
    """Stands in for a catalog that has hung: it takes RPC calls but never answers in time."""

    name = "catalog"

    @rpc
    def list_entries(self, query=None):
        eventlet.sleep(3)
        return {"total": 0, "page": 1, "per_page": 20, "items": []}


def test_a_service_that_does_not_answer_in_time_is_503(rabbit_config, web_config, runner_factory,
                                                        catalog_database, web_session):
    runner = runner_factory({**gateway_config(catalog_database), "RPC_TIMEOUT": 0.5}, HungCatalog, GatewayService)
    runner.start()

    body = assert_problem(web_session.get(f"{API}/entries"), 503)
    assert body["detail"] == "catalog did not answer within 0.5s"  # the gateway's deadline, not the catalog's 3 s
    # the gateway keeps serving after giving up on the call
    assert web_session.get(f"{API}/health").json() == {"status": "ok"}


def test_openapi_document_has_every_route_and_docs_render_it(platform, web_session):
    document = web_session.get(f"{API}/openapi.json").json()

    assert document["openapi"].startswith("3.")
    expected = {"/entries", "/entries/{entry_id}", "/entries/{entry_id}/review", "/entries/{entry_id}/history",
                "/entries/{entry_id}/related", "/entries/{entry_id}/contact", "/entries/{entry_id}/erasure",
                "/entries/{entry_id}/links", "/organisations",
                "/organisations/{organisation_id}", "/articles", "/articles/{article_id}", "/themes",
                "/regions", "/regions.geojson", "/map", "/network", "/search", "/search/suggest", "/health", "/ready", "/metrics", "/openapi.json", "/docs",
                "/surveys", "/surveys/{survey_id}", "/surveys/{survey_id}/publish", "/surveys/{survey_id}/close",
                "/surveys/{survey_id}/participation", "/surveys/{survey_id}/invitations",
                "/surveys/{survey_id}/responses", "/surveys/{survey_id}/results",
                "/surveys/{survey_id}/responses.csv", "/surveys/{survey_id}/responses.json",
                "/subscriptions", "/subscriptions/confirm", "/subscriptions/me", "/subscriptions/unsubscribe",
                "/newsletters", "/newsletters/{newsletter_id}", "/newsletters/{newsletter_id}/preview",
                "/newsletters/{newsletter_id}/test", "/newsletters/{newsletter_id}/send",
                "/entries.csv", "/entries.geojson", "/events.ics", "/news.atom", "/entries.atom", "/open-data"}
    assert {API + path for path in expected} == set(document["paths"])
    entries = document["paths"][f"{API}/entries/{{entry_id}}"]
    assert set(entries) == {"get", "patch", "delete"}
    assert entries["patch"]["security"] == [{"bearerAuth": []}]
    assert entries["patch"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EntryUpdate"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "errors" in document["components"]["schemas"]["Problem"]["properties"]
    query = {p["name"] for p in document["paths"][f"{API}/entries"]["get"]["parameters"]}
    assert {"page", "per_page", "kind", "theme", "region", "sort"} <= query

    docs = web_session.get(f"{API}/docs")
    assert docs.status_code == 200
    assert docs.headers["Content-Type"].startswith("text/html")
    # Swagger UI from the registry package, served by the gateway itself (no CDN, no inline script)
    html = docs.text
    assert "script-src 'self'" in docs.headers["Content-Security-Policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"/api-docs/swagger-ui.css", "/api-docs/swagger-ui-bundle.js", "/api-docs/init.js",
            "/api/v1/openapi.json"} <= set(sources)
    assert all(source.startswith("/") for source in sources), sources
    assert not re.search(r"<script>(?!</script>)", html)
    for source in sources:
        if source.startswith("/api-docs/"):
            assert web_session.get(source).status_code == 200, source
    init = web_session.get("/api-docs/init.js").text
    assert "/api/v1/openapi.json" in init and "tryItOutEnabled: true" in init


# ---------------------------------------------------------------- participation limits, erasure

def test_anonymous_submissions_are_limited_per_client(rabbit_config, web_config, runner_factory,
                                                       catalog_database, web_session):
    from services.catalog.service import CatalogService

    config = {**gateway_config(catalog_database), "PUBLIC_WRITES_PER_WINDOW": 3,
              "PUBLIC_WRITE_WINDOW_SECONDS": 600}
    runner_factory(config, CatalogService, GatewayService).start()
    answers = [web_session.post(f"{API}/entries", json=entry_data(title=f"Idee {n}")) for n in range(3)]
    assert [answer.status_code for answer in answers] == [202, 202, 202]
    refused = web_session.post(f"{API}/entries", json=entry_data(title="Idee 4"))
    assert_problem(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    # staff are not limited
    assert web_session.post(f"{API}/entries", json=entry_data(title="Redaktion"), headers=bearer()).status_code == 201


@pytest.mark.parametrize("missing, reason", [
    ({"AUTH": {**TEST_AUTH, "JWT_SECRET": ""}}, "AUTH needs JWT_SECRET or JWKS_URL"),
    ({"ACTOR_SIGNING_KEY": ""}, "the gateway needs ACTOR_SIGNING_KEY"),
    ({"AUTH": {**TEST_AUTH, "JWT_SECRET": "CHANGE_ME_TO_64_RANDOM_BYTES"}}, "placeholder"),
    ({"AUTH": {**TEST_AUTH, "JWT_SECRET": "short-secret"}}, "at least 32 bytes"),
])
def test_the_gateway_refuses_to_start_without_its_secrets(rabbit_config, web_config, runner_factory,
                                                          catalog_database, missing, reason):
    runner = runner_factory({**gateway_config(catalog_database), **missing}, GatewayService)
    with pytest.raises(ValueError) as refused:
        runner.start()
    assert reason in str(refused.value)


def test_admin_erases_contact_data_from_entry_and_history(platform, web_session):
    entry = create_published(web_session)
    assert_problem(web_session.delete(f"{API}/entries/{entry['id']}/contact", headers=bearer()), 403)
    erased = web_session.delete(f"{API}/entries/{entry['id']}/contact", headers=bearer(("admin",)))
    assert erased.status_code == 200, erased.text
    assert not erased.json().get("contact")
    history = web_session.get(f"{API}/entries/{entry['id']}/history", headers=bearer()).json()
    assert "anna@example.org" not in json.dumps(history)


def test_admin_erases_a_private_address_and_the_description_everywhere_shown(platform, web_session):
    entry = create_published(web_session, description="Wir treffen uns bei mir, Lindenweg 7.",
                             address={"street": "Lindenweg 7", "postal_code": "39104", "locality": "Magdeburg"})
    erasure = f"{API}/entries/{entry['id']}/erasure"
    assert_problem(web_session.post(erasure, json={"fields": ["address"]}, headers=bearer()), 403)
    refused = web_session.post(erasure, json={"fields": ["title"]}, headers=bearer(("admin",)))
    assert_problem(refused, 422)
    assert "fields" in json.dumps(refused.json()["errors"])
    erased = web_session.post(erasure, json={"fields": ["address", "description"]}, headers=bearer(("admin",)))
    assert erased.status_code == 200, erased.text
    public = web_session.get(f"{API}/entries/{entry['id']}").json()
    assert public["address"]["street"] is None and public["description"] is None
    assert "Lindenweg" not in json.dumps(web_session.get(f"{API}/entries/{entry['id']}/history",
                                                         headers=bearer()).json())
