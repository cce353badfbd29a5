"""Search over HTTP: the real gateway, catalog and search service, RabbitMQ, PostgreSQL, tantivy.

Bad queries must give results or a 4xx problem, never a 5xx.
"""
import pytest

from gateway.service import GatewayService
from kernel import broker
from kernel.messaging import subscriptions_of
from services.catalog.service import CatalogService
from services.search.service import SearchService
from tests.databases import fresh_catalog_database
from tests.gateway.test_http import API, TEST_AUTH, assert_problem, bearer
from tests.identity import GATEWAY_SIGNING, SERVICE_TRUST
from tests.search.test_search_service import HALLE, MAGDEBURG, entry_data, wait_for


def config(database_url, index_path, ready=("catalog", "search")):
    return {"CATALOG_DATABASE_URL": database_url, "AUTH": TEST_AUTH, "RPC_TIMEOUT": 10, "READY_SERVICES": list(ready),
            **SERVICE_TRUST, **GATEWAY_SIGNING,
            "SEARCH_BACKEND": "tantivy", "SEARCH_INDEX_PATH": index_path, "serializer": "json"}


@pytest.fixture
def catalog_database():
    url = fresh_catalog_database("kosi_test_search_http")
    return url


@pytest.fixture
def platform(rabbit_config, rabbit_uri, web_config, runner_factory, catalog_database, tmp_path):
    broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService))
    runner = runner_factory(config(catalog_database, str(tmp_path / "index")),
                            CatalogService, SearchService, GatewayService)
    runner.start()
    yield runner


def publish(web_session, **overrides) -> dict:
    response = web_session.post(f"{API}/entries", json=entry_data(**overrides), headers=bearer())
    assert response.status_code == 201, response.text
    return response.json()


def search(web_session, **params):
    return web_session.get(f"{API}/search", params=params)


def searchable(web_session, entry_id, q):
    return any(item["id"] == entry_id for item in search(web_session, q=q).json()["items"])


def test_published_entry_is_found_with_facets_and_highlights(platform, web_session):
    shop = publish(web_session)
    cafe = publish(web_session, kind="idea", title="Dorfcafé Halle", summary="Ein Treffpunkt im Dorf.",
                   location=dict(HALLE), themes=["sozialer-zusammenhalt"])
    assert wait_for(lambda: searchable(web_session, cafe["id"], "Dorfcafé") and
                    searchable(web_session, shop["id"], "Dorfladen"))

    response = search(web_session, q="Dorfladen")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"total", "page", "per_page", "items", "facets", "relaxed"}
    assert (body["total"], body["page"], body["per_page"], body["relaxed"]) == (1, 1, 20, False)
    relaxed = search(web_session, q="Dorfladen Raumfahrt").json()  # no record has both words
    assert relaxed["relaxed"] is True and relaxed["items"][0]["id"] == shop["id"]
    [hit] = body["items"]
    assert hit["id"] == shop["id"] and "<mark>" in hit["highlight"]["title"]
    assert "contact" not in hit and "body" not in hit
    assert set(body["facets"]) == {"theme", "region", "kind"}

    both = search(web_session, kind="project,idea").json()  # comma-separated
    assert both["total"] == 2
    assert search(web_session, kind=["idea", "event"]).json()["total"] == 1  # repeated
    assert {facet["value"]: facet["count"] for facet in both["facets"]["kind"]} == {"project": 1, "idea": 1}
    near = search(web_session, near=f"{HALLE['lat']},{HALLE['lon']}", sort="distance").json()
    assert [item["id"] for item in near["items"]] == [cafe["id"], shop["id"]]
    assert near["items"][0]["distance_km"] < 1
    inside = search(web_session, bbox="11.5,52.0,11.8,52.2").json()  # around Magdeburg
    assert [item["id"] for item in inside["items"]] == [shop["id"]]

    suggestions = web_session.get(f"{API}/search/suggest", params={"q": "Dorfl"})
    assert suggestions.status_code == 200, suggestions.text
    assert [item["text"] for item in suggestions.json()["items"]] == ["Dorfladen Wippra"]
    assert suggestions.json()["corrections"] == []
    misspelt = web_session.get(f"{API}/search/suggest", params={"q": "Dorfladn Wipra"}).json()
    assert misspelt == {"items": [], "corrections": ["Dorfladen Wippra"]}


@pytest.mark.parametrize("q, status, field", [
    ('"Dorfladen', 200, None), ('Dorfladen"', 200, None), ("AND", 200, None), ("OR NOT", 200, None),
    ("+ - && || ! ( ) { } [ ] ^ ~ * ? : \\ /", 200, None), ("-", 200, None), ('"', 200, None),
    ("((((", 200, None), ("Dorf* ~2 title:x", 200, None), ("ä" * 300, 200, None), ("x" * 10_000, 200, None),
    ("\x00\x01", 422, "q"),                         # NUL: refused before anything reads it
    (" ".join(["Pflege"] * 1500), 422, "q"),          # 10,499 characters
])
def test_odd_queries_give_results_or_a_4xx_never_a_5xx(platform, web_session, q, status, field):
    existing = publish(web_session)
    assert wait_for(lambda: searchable(web_session, existing["id"], "Dorfladen"))
    response = search(web_session, q=q)
    if status == 200:
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"total", "page", "per_page", "items", "facets", "relaxed"}
        assert body["total"] == len(body["items"]) and body["total"] <= 1
        assert all(item["id"] == existing["id"] for item in body["items"])
    else:
        assert_problem(response, status, field)


def test_a_query_over_10000_characters_is_refused(platform, web_session):
    response = search(web_session, q="x" * 10_001)  # the request line (10 KB) is within the gateway's limit
    assert_problem(response, 422, "q")
    assert response.json()["errors"]["q"] == ["Longer than maximum length 10000."]


@pytest.mark.parametrize("params, field", [
    ({"q": "eins zwei drei vier fünf sechs sieben acht neun"}, "q"),
    ({"bbox": "12,52,11,51"}, "bbox"),
    ({"bbox": "11,51,12"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "11,51,12,95"}, "bbox"),
    ({"sort": "distance"}, "sort"),
    ({"sort": "random"}, "sort"),
    ({"radius_km": "5"}, "radius_km"),
    ({"near": "52.1,11.6", "radius_km": "0"}, "radius_km"),
    ({"near": "52.1,11.6", "radius_km": "501"}, "radius_km"),
    ({"near": "Magdeburg"}, "near"),
    ({"near": "95,11"}, "near"),
    ({"kind": "castle"}, "kind"),
    ({"region": "1500"}, "region"),
    ({"type": "organisation"}, "type"),
    ({"date_from": "2024-02-01", "date_to": "2024-01-01"}, "date_to"),
    ({"date_from": "yesterday"}, "date_from"),
    ({"page": "0"}, "page"),
    ({"page": "101", "per_page": "100"}, "page"),
    ({"per_page": "101"}, "per_page"),
    ({"surprise": "1"}, "surprise"),
])
def test_invalid_queries_are_422_problems_naming_the_field(platform, web_session, params, field):
    assert_problem(search(web_session, **params), 422, field)


def test_suggest_validates_its_query(platform, web_session):
    assert_problem(web_session.get(f"{API}/search/suggest"), 422, "q")
    assert_problem(web_session.get(f"{API}/search/suggest", params={"q": "x" * 101}), 422, "q")
    assert_problem(web_session.get(f"{API}/search/suggest", params={"q": "Dorf", "limit": "21"}), 422, "limit")
    odd = web_session.get(f"{API}/search/suggest", params={"q": '"('})
    assert (odd.status_code, odd.json()) == (200, {"items": [], "corrections": []})  # nothing left to complete


def test_related_lists_links_then_similar_entries(platform, web_session):
    shop = publish(web_session)
    twin = publish(web_session, title="Dorfladen Friedrichsbrunn", summary="Noch ein Dorfladen in Bürgerhand.")
    partner = publish(web_session, title="Kletterwald Thale", summary="Sport im Harz", description="Klettern.",
                      themes=["bildung"], location=dict(MAGDEBURG), tags=[])
    link = web_session.post(f"{API}/entries/{shop['id']}/links", headers=bearer(),
                            json={"target_type": "entry", "target_id": partner["id"], "type": "partner"})
    assert link.status_code == 201, link.text
    assert wait_for(lambda: searchable(web_session, twin["id"], "Friedrichsbrunn")
                    and searchable(web_session, partner["id"], "Kletterwald")
                    and searchable(web_session, shop["id"], "Wippra"))

    related = web_session.get(f"{API}/entries/{shop['id']}/related")
    assert related.status_code == 200, related.text
    entries = related.json()["entries"]
    assert (entries[0]["relation"], entries[0]["link_type"], entries[0]["entry"]["id"]) == \
        ("linked", "partner", partner["id"])
    assert ("similar", twin["id"]) in [(item["relation"], item["entry"]["id"]) for item in entries]
    assert len({item["entry"]["id"] for item in entries}) == len(entries)
    assert related.json()["organisations"] == []
    assert_problem(web_session.get(f"{API}/entries/00000000-0000-0000-0000-000000000000/related"), 404)


def test_related_falls_back_to_links_while_search_is_down(rabbit_config, web_config, runner_factory,
                                                          catalog_database, tmp_path, web_session):
    runner = runner_factory(config(catalog_database, str(tmp_path / "index"), ready=("catalog",)),
                            CatalogService, GatewayService)
    runner.start()
    shop, partner = publish(web_session), publish(web_session, title="Kletterwald Thale")
    web_session.post(f"{API}/entries/{shop['id']}/links", headers=bearer(),
                     json={"target_type": "entry", "target_id": partner["id"], "type": "partner"})
    related = web_session.get(f"{API}/entries/{shop['id']}/related")
    assert related.status_code == 200, related.text
    assert [(item["relation"], item["entry"]["id"]) for item in related.json()["entries"]] == \
        [("linked", partner["id"])]
    assert_problem(search(web_session, q="Dorfladen"), 503)


def test_ready_checks_search_and_openapi_documents_the_routes(platform, web_session):
    ready = web_session.get(f"{API}/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["search"] == {"status": "ok"}
    document = web_session.get(f"{API}/openapi.json").json()
    operation = document["paths"][f"{API}/search"]["get"]
    assert {"q", "kind", "theme", "region", "type", "date_from", "date_to", "bbox", "near", "radius_km", "sort",
            "page", "per_page"} == {parameter["name"] for parameter in operation["parameters"]}
    assert "422" in operation["responses"]
    assert f"{API}/search/suggest" in document["paths"]
