"""HTTP caching over the real gateway, catalog, search and survey services: every public GET
route of the OpenAPI document answers a strong ETag, 304 to If-None-Match with it, and may be
kept by caches; answers to a token are never stored; lists carry RFC 8288 Link headers."""
import gzip
import re

import pytest

from gateway.service import GatewayService
from kernel import broker
from kernel.messaging import subscriptions_of
from services.catalog.service import CatalogService
from services.search.service import SearchService
from services.survey.service import SurveyService
from tests.databases import fresh_catalog_database, fresh_service_database
from tests.gateway.test_http import API, TEST_AUTH, bearer
from tests.identity import GATEWAY_SIGNING, SERVICE_TRUST
from tests.search.test_search_service import entry_data, wait_for
from tests.survey.conftest import SETTINGS

# what a public GET route needs to answer 200: its path values and query (a new route: add it)
EXAMPLES = {
    "/entries": {}, "/entries/{entry_id}": {}, "/entries/{entry_id}/related": {},
    "/organisations": {}, "/organisations/{organisation_id}": {}, "/articles": {}, "/articles/{article_id}": {},
    "/themes": {}, "/regions": {}, "/regions.geojson": {}, "/map": {"bbox": "10.5,50.9,13.3,53.1"}, "/network": {},
    "/search": {"q": "Dorfladen"}, "/search/suggest": {"q": "Dorf"},
    "/surveys": {}, "/surveys/{survey_id}": {}, "/surveys/{survey_id}/results": {},
    "/openapi.json": {}, "/docs": {},
    "/entries.csv": {}, "/entries.geojson": {}, "/events.ics": {}, "/news.atom": {}, "/entries.atom": {},
    "/open-data": {},
}
VARY = {"/open-data": {"Accept", "Authorization"}}  # negotiated: Turtle or JSON-LD
NEVER_STORED = {"/health", "/ready", "/metrics"}  # live state
PERSONAL = {"/subscriptions/confirm", "/subscriptions/me", "/subscriptions/unsubscribe"}  # by a mailed token


@pytest.fixture
def platform(rabbit_config, rabbit_uri, web_config, runner_factory, tmp_path):
    broker.declare_topology(rabbit_uri, ["catalog", "survey"], subscriptions_of(SearchService))
    runner_factory({"CATALOG_DATABASE_URL": fresh_catalog_database("kosi_test_http_caching"),
                    "SURVEY_DATABASE_URL": fresh_service_database("survey", "kosi_test_http_caching_survey"),
                    "SURVEY_TOKEN_SECRET": SETTINGS.token_secret, "AUTH": TEST_AUTH, "RPC_TIMEOUT": 10,
                    "READY_SERVICES": ["catalog", "search", "survey"], **SERVICE_TRUST, **GATEWAY_SIGNING,
                    "SEARCH_BACKEND": "tantivy", "SEARCH_INDEX_PATH": str(tmp_path / "index"),
                    "PARTICIPATION_PER_CLIENT": 10_000, "PARTICIPATION_PER_SURVEY": 10_000, "serializer": "json"},
                   CatalogService, SearchService, SurveyService, GatewayService).start()


def created(web_session, path, body) -> dict:
    response = web_session.post(f"{API}{path}", json=body, headers=bearer())
    assert response.status_code == 201, response.text
    return response.json()


def path_values(web_session) -> dict:
    entry = created(web_session, "/entries", entry_data(title="Dorfladen Wippra"))
    organisation = created(web_session, "/organisations", {"name": "Landfrauen e.V.", "kind": "association"})
    article = created(web_session, "/articles", {"type": "news", "title": "Neu im Netz", "body": "Text"})
    poll = created(web_session, "/surveys", {"kind": "poll", "title": "Rufbus?", "options": ["Ja", "Nein"],
                                             "results_public": True})
    assert web_session.post(f"{API}/surveys/{poll['id']}/publish", headers=bearer()).status_code == 200
    assert web_session.post(f"{API}/surveys/{poll['id']}/close", headers=bearer()).status_code == 200
    assert wait_for(lambda: web_session.get(f"{API}/search", params={"q": "Dorfladen"}).json()["total"] == 1)
    return {"entry_id": entry["id"], "organisation_id": organisation["id"], "article_id": article["id"],
            "survey_id": poll["id"]}


def test_every_public_get_route_revalidates_with_a_strong_etag(platform, web_session):
    values = path_values(web_session)
    document = web_session.get(f"{API}/openapi.json").json()
    public = {path.removeprefix(API) for path, operations in document["paths"].items()
              if "get" in operations and (operations["get"]["security"] == [] or {} in operations["get"]["security"])}
    assert public - NEVER_STORED - PERSONAL == set(EXAMPLES), "give each public GET route an example"
    for template, query in EXAMPLES.items():
        url = API + re.sub(r"{(\w+)}", lambda match: values[match.group(1)], template)
        first = web_session.get(url, params=query)
        assert first.status_code == 200, (template, first.text)
        tag = first.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', tag), (template, tag)  # strong: the body's hash
        assert first.headers["Cache-Control"].startswith("public, max-age=") and "stale-while-revalidate" in \
            first.headers["Cache-Control"], template
        vary = {name.strip() for name in first.headers["Vary"].split(",")}
        assert vary - {"Accept-Encoding"} == VARY.get(template, {"Authorization"}), (template, vary)
        if first.headers.get("Content-Encoding") == "gzip":   # requests asks for gzip (and unpacks it)
            assert "Accept-Encoding" in vary, template
        again = web_session.get(url, params=query, headers={"If-None-Match": f'"other", {tag}'})
        assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", tag), template
        assert web_session.get(url, params=query, headers={"If-None-Match": '"other"'}).status_code == 200
    for path in NEVER_STORED:
        assert web_session.get(f"{API}{path}").headers["Cache-Control"] == "no-store", path


def test_a_change_changes_the_etag_and_staff_answers_are_never_stored(platform, web_session):
    entry = created(web_session, "/entries", entry_data(title="Dorfladen Wippra"))
    url = f"{API}/entries/{entry['id']}"
    before = web_session.get(url).headers["ETag"]
    changed = web_session.patch(url, json={"summary": "Neu", "version": entry["version"]}, headers=bearer())
    assert changed.status_code == 200
    after = web_session.get(url, headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["ETag"] != before and after.json()["summary"] == "Neu"
    staff = web_session.get(url, headers=bearer())
    assert staff.headers["Cache-Control"] == "no-store" and staff.headers["ETag"] == '"2"'  # the version, for If-Match


def test_lists_link_to_their_first_previous_next_and_last_pages(platform, web_session):
    for number in range(5):
        created(web_session, "/entries", entry_data(title=f"Eintrag {number}"))
    first = web_session.get(f"{API}/entries", params={"per_page": 2, "kind": "project"})
    assert first.headers["Link"] == (f'<{API}/entries?per_page=2&kind=project&page=1>; rel="first", '
                                     f'<{API}/entries?per_page=2&kind=project&page=2>; rel="next", '
                                     f'<{API}/entries?per_page=2&kind=project&page=3>; rel="last"')
    last = web_session.get(f"{API}/entries", params={"per_page": 2, "kind": "project", "page": 3})
    assert 'page=2>; rel="prev"' in last.headers["Link"] and 'rel="next"' not in last.headers["Link"]


def test_large_answers_are_gzip_compressed_for_clients_that_take_it(platform, web_session):
    for title in ("Dorfladen Wippra", "Dorfladen Harzgerode", "Dorfladen Stolberg"):
        created(web_session, "/entries", entry_data(title=title))
    url = f"{API}/openapi.json"
    plain = web_session.get(url, headers={"Accept-Encoding": "identity"})
    packed = web_session.get(url, headers={"Accept-Encoding": "gzip, br"}, stream=True)
    raw = packed.raw.read(decode_content=False)
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == plain.content and len(raw) * 4 < len(plain.content)
    assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in packed.headers["Vary"]
    # a tag per coding: each client revalidates its own copy
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert web_session.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
                           ).status_code == 304
    assert web_session.get(url, headers={"Accept-Encoding": "identity", "If-None-Match": packed.headers["ETag"]}
                           ).status_code == 200
    assert web_session.get(url, headers={"Accept-Encoding": "gzip"}).headers["ETag"] == packed.headers["ETag"]
    for refused in ("gzip;q=0", "identity, *;q=0", "br"):
        assert "Content-Encoding" not in web_session.get(url, headers={"Accept-Encoding": refused}).headers, refused
    # small answers, and a token holder's (their ETag is the version If-Match needs), go as they are
    staff = web_session.get(f"{API}/entries", headers={"Accept-Encoding": "gzip", **bearer()})
    assert "Content-Encoding" not in web_session.get(f"{API}/health", headers={"Accept-Encoding": "gzip"}).headers
    assert "Content-Encoding" not in staff.headers and len(staff.content) > 1024
