"""ElasticsearchBackend without an Elasticsearch server (none can run on this machine).

The official client is given a real HTTP server on 127.0.0.1 that records what arrives
(method, path, content type, body) and answers with stored responses. So the requests
compared below are exactly what ``elasticsearch==9.5.1`` puts on the wire:

1. golden request bodies (tests/search/es_fixtures/requests/*.json) for searches, the
   index definition, bulk writes and the alias swap;
2. response parsing: hand-written responses in Elasticsearch 9's documented format
   (tests/search/es_fixtures/responses/, checked against Elastic's published examples, see
   its README) become SearchResult etc.

What this cannot show — that Elasticsearch accepts these bodies and ranks as intended —
is the job of test_es_live.py (the shared behaviour suite, run when ELASTICSEARCH_URL is set).
Regenerate the golden files after an intended change with KOSI_ES_REGOLDEN=1 and review the diff.
"""
import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from kernel.errors import ValidationFailed
from services.search import es_mapping
from services.search.backend import SearchQuery
from services.search.indexer import make_backend
from services.search.querytext import parse
from services.search.es_backend import (ElasticsearchBackend, IndexingFailed, hit_item, search_body, text_query,
                                        to_source)

FIXTURES = Path(__file__).parent / "es_fixtures"
REGOLDEN = os.environ.get("KOSI_ES_REGOLDEN") == "1"
DOCUMENTS = json.loads((FIXTURES / "documents.json").read_text())


def response(name: str) -> dict:
    return json.loads((FIXTURES / "responses" / f"{name}.json").read_text())


class RecordingElasticsearch:
    """An HTTP server that records each request and answers with the next queued reply."""

    def __init__(self):
        self.requests: list[dict] = []
        self.headers: list[dict] = []  # of each request, beside it
        self.replies: list[tuple[int, dict | None]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type")
                recorder.headers.append({name.lower(): value for name, value in self.headers.items()})
                recorder.requests.append({"method": self.command, "path": self.path,
                                          "content_type": content_type,
                                          "body": _decode(raw, content_type)})
                if recorder.replies:
                    status, body = recorder.replies.pop(0)
                else:
                    status, body = 599, {"error": "the test queued no reply for this request"}
                payload = b"" if body is None or self.command == "HEAD" else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=9")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reply(self, *replies):
        """Queue replies: a fixture name (200), or (status, fixture name or None)."""
        for reply in replies:
            status, name = (200, reply) if isinstance(reply, str) else reply
            self.replies.append((status, response(name) if name else None))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _decode(raw: bytes, content_type: str | None):
    if not raw:
        return None
    text = raw.decode("utf-8")
    if content_type and "ndjson" in content_type:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


@pytest.fixture
def es():
    server = RecordingElasticsearch()
    yield server
    server.close()


@pytest.fixture
def client(es):
    client = Elasticsearch(es.url, max_retries=0, retry_on_timeout=False, request_timeout=5)
    yield client
    client.close()


@pytest.fixture
def backend(es, client):
    """A backend whose alias exists (one HEAD answered 200); recording starts after it."""
    backend = ElasticsearchBackend(client)
    es.reply((200, None))
    backend.ensure_index()
    assert es.requests == [{"method": "HEAD", "path": "/_alias/kosi-search", "content_type": None, "body": None}]
    es.requests.clear()
    return backend


def assert_golden(name: str, recorded: list[dict]):
    path = FIXTURES / "requests" / f"{name}.json"
    if REGOLDEN:
        path.write_text(json.dumps(recorded, indent=2, ensure_ascii=False) + "\n")
    assert path.exists(), f"no golden file {path.name}; run with KOSI_ES_REGOLDEN=1 and review it"
    assert recorded == json.loads(path.read_text())


# ---------------------------------------------------------------------- golden: searches

SEARCH_CASES = {
    "words": SearchQuery(q="Pflege Genossenschaften"),
    "phrase_and_excluded": SearchQuery(q='"Pflege im Quartier" Aerzte -Heim'),
    "filters_without_text": SearchQuery(kind=["project"], theme=["wohnen"], region=["15085"]),
    "all_filters": SearchQuery(q="Wohnen", kind=["project", "idea"], theme=["wohnen", "alter"],
                               region=["15085", "15003"], doc_type="entry",
                               date_from="2025-01-01", date_to="2025-12-31"),
    "date_from_only": SearchQuery(q="Fest", date_from="2025-06-01"),
    "bbox": SearchQuery(q="Pflege", bbox=(11.0, 51.0, 12.5, 52.5)),
    "near_radius_distance": SearchQuery(q="Pflege", near=(51.4825, 11.9695), radius_km=50.0,
                                        sort="distance"),
    "newest_page_3": SearchQuery(q="Initiative", sort="newest", page=3, per_page=10),
    "bad_text": SearchQuery(q='AND ("Pflege OR -- title:x* ) \\ NOT'),
    "ten_thousand_chars": SearchQuery(q="Pflegekräfte " * 770),
    "only_excluded": SearchQuery(q="-Heim", theme=["alter"]),
    "last_page_of_window": SearchQuery(q="Pflege", page=100, per_page=100),
    "near_relevance": SearchQuery(q="Wohnen", near=(52.1205, 11.6276)),
    "derivations": SearchQuery(q="Nachhaltigkeit Digitalisierung"),
}


@pytest.mark.parametrize("case", sorted(SEARCH_CASES))
def test_search_request_body_is_the_golden_one(case, es, backend):
    es.reply("search_empty", "search_empty")  # a second, relaxed search when several words found nothing
    result = backend.search(SEARCH_CASES[case])
    assert result.total == 0 and result.items == []
    assert result.relaxed == (len(es.requests) == 2)
    assert_golden(f"search_{case}", es.requests)


def test_a_relaxed_search_wants_any_word_and_keeps_phrases_and_exclusions():
    query = parse('Dorfladen Treffpunkt "im Harz" -Kette')
    strict, relaxed = text_query(query), text_query(query, relaxed=True)
    assert len(strict["must"]) == 3 and "should" not in strict
    assert relaxed["should"] == strict["must"][:2] and relaxed["must"] == strict["must"][2:]
    assert relaxed["must_not"] == strict["must_not"] and "minimum_should_match" not in relaxed
    assert text_query(parse("Dorfladen Treffpunkt"), relaxed=True)["minimum_should_match"] == 1


def test_every_search_goes_through_the_alias_as_one_request(es, backend):
    es.reply("search_empty")
    backend.search(SearchQuery(q="Pflege"))
    [request] = es.requests
    assert (request["method"], request["path"]) == ("POST", "/kosi-search/_search")
    # the client speaks Elasticsearch 9's compatibility media type
    assert request["content_type"] == "application/vnd.elasticsearch+json; compatible-with=9"


def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


NASTY = ['"', '"""', "-", "--", "-\"", "((", "title:", "*", "?", "\\", "AND OR NOT", "a" * 10_000,
         "Pflege\x00\x1f\u200b", "\u202eWohnen", "{\"query\": 1}", "/regex/", "Pflege~2^10", "x" * 600 + '"']


@pytest.mark.parametrize("text", NASTY)
def test_user_text_only_reaches_match_queries(text):
    body = search_body(SearchQuery(q=text))
    keys = {key for node in _walk(body) if isinstance(node, dict) for key in node}
    assert not keys & {"query_string", "simple_query_string", "regexp", "wildcard", "script"}
    # every piece of user text sits in the "query" of a multi_match
    for node in _walk(body):
        if isinstance(node, dict) and "multi_match" in node:
            assert isinstance(node["multi_match"]["query"], str)
            assert 0 < len(node["multi_match"]["query"]) <= 500
    json.dumps(body)  # serialisable


def test_a_ten_thousand_character_query_is_capped():
    body = search_body(SEARCH_CASES["ten_thousand_chars"])
    assert len(body["query"]["bool"]["must"]) <= 24


@pytest.mark.parametrize("bbox", [(12.5, 51.0, 11.0, 52.5), (11.0, 52.5, 12.5, 51.0), (11.0, 51.0, 12.5, 95.0),
                                  (float("nan"), 51.0, 12.5, 52.5)])
def test_an_impossible_bbox_is_a_validation_error(bbox):
    with pytest.raises(ValidationFailed) as raised:
        search_body(SearchQuery(bbox=bbox))
    assert "bbox" in raised.value.fields


@pytest.mark.parametrize("query, field", [
    (SearchQuery(near=(91.0, 11.0)), "near"),
    (SearchQuery(near=(51.0, float("inf"))), "near"),
    (SearchQuery(sort="distance"), "sort"),
    (SearchQuery(sort="random"), "sort"),
    (SearchQuery(page=0), "page"),
    (SearchQuery(page=101, per_page=100), "page"),
    (SearchQuery(per_page=0), "per_page"),
    (SearchQuery(per_page=101), "per_page"),
    (SearchQuery(radius_km=5.0), "radius_km"),
    (SearchQuery(near=(51.0, 11.0), radius_km=-1.0), "radius_km"),
    (SearchQuery(date_from="gestern"), "date_from"),
    (SearchQuery(date_to="2025-02-30"), "date_to"),
    (SearchQuery(date_from="2025-05-01", date_to="2025-04-01"), "date_to"),
    (SearchQuery(doc_type="person"), "doc_type"),
    (SearchQuery(kind="project"), "kind"),
])
def test_invalid_queries_are_validation_errors_before_any_request(es, backend, query, field):
    with pytest.raises(ValidationFailed) as raised:
        backend.search(query)
    assert field in raised.value.fields
    assert es.requests == []


def test_facet_aggregations_apply_all_other_facet_filters_only():
    body = search_body(SEARCH_CASES["all_filters"])
    kind = {"terms": {"kind": ["project", "idea"]}}
    theme = {"terms": {"themes": ["wohnen", "alter"]}}
    region = {"terms": {"regions": ["15085", "15003"]}}
    assert body["post_filter"] == {"bool": {"filter": [theme, region, kind]}}
    assert body["aggs"]["theme"]["filter"] == {"bool": {"filter": [region, kind]}}
    assert body["aggs"]["region"]["filter"] == {"bool": {"filter": [theme, kind]}}
    assert body["aggs"]["kind"]["filter"] == {"bool": {"filter": [theme, region]}}
    # non-facet filters (doc type, dates, tombstones) narrow hits and facets alike
    assert {"term": {"deleted": False}} in body["query"]["bool"]["filter"]
    assert {"term": {"doc_type": "entry"}} in body["query"]["bool"]["filter"]


# ---------------------------------------------------------------------- golden: index, bulk, aliases


@pytest.mark.parametrize("settings, authorization", [
    ({"ELASTICSEARCH_USERNAME": "kosi-search", "ELASTICSEARCH_PASSWORD": "pa:ss w#rd"},
     "Basic " + base64.b64encode("kosi-search:pa:ss w#rd".encode()).decode()),
    ({"ELASTICSEARCH_API_KEY": "a2V5LWlkOmtleQ==", "ELASTICSEARCH_USERNAME": "ignored"}, "ApiKey a2V5LWlkOmtleQ=="),
    ({}, None),
])
def test_the_configured_credentials_reach_a_cluster_with_security_on(es, settings, authorization):
    backend = make_backend({"SEARCH_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": es.url, **settings})
    es.reply((200, None))
    backend.ensure_index()
    assert es.headers[-1].get("authorization") == authorization


def test_first_use_creates_v1_with_the_mapping_behind_the_alias(es, client):
    es.reply((404, "alias_missing"), "no_indices", "index_created_v1")
    ElasticsearchBackend(client).ensure_index()
    assert_golden("create_first_index", es.requests)
    create = es.requests[-1]
    assert (create["method"], create["path"]) == ("PUT", "/kosi-search-v1")
    assert create["body"]["aliases"] == {"kosi-search": {}}
    assert create["body"]["mappings"] == es_mapping.MAPPINGS


def test_mapping_is_explicit_german_and_strict():
    mappings, analysis = es_mapping.MAPPINGS, es_mapping.ANALYSIS
    assert mappings["dynamic"] == "strict"
    assert mappings["_meta"] == {"mapping_version": es_mapping.MAPPING_VERSION}
    assert "contact" not in mappings["properties"]
    assert set(mappings["properties"]) == set(es_mapping.DOCUMENT_FIELDS) | {"suggest"}
    for facet in ("kind", "themes", "regions", "doc_type", "tags"):
        assert mappings["properties"][facet]["type"] == "keyword"
    assert mappings["properties"]["location"]["type"] == "geo_point"
    assert mappings["properties"]["suggest"]["type"] == "search_as_you_type"
    text_filters = analysis["analyzer"]["german_text"]["filter"]
    assert {"lowercase", "german_normalization", "asciifolding", "german_light_stem"} <= set(text_filters)
    assert analysis["filter"]["german_light_stem"] == {"type": "stemmer", "language": "light_german"}
    for field in es_mapping.TEXT_FIELDS:
        compound = mappings["properties"][field]["fields"]["compound"]
        assert compound["analyzer"] == "german_compound_index"
        assert compound["search_analyzer"] == "german_text"


def test_a_concurrently_created_first_index_is_accepted(es, client):
    es.reply((404, "alias_missing"), "no_indices", (400, "index_exists"), (200, None))
    ElasticsearchBackend(client).ensure_index()
    assert [r["method"] for r in es.requests] == ["HEAD", "GET", "PUT", "HEAD"]


def test_upsert_is_one_bulk_with_external_versions_and_without_unknown_fields(es, backend):
    es.reply("bulk_mixed")
    changed = backend.upsert(DOCUMENTS)
    assert_golden("bulk_upsert", es.requests)
    [request] = es.requests
    assert (request["method"], request["path"]) == ("PUT", "/kosi-search/_bulk")
    assert request["content_type"] == "application/vnd.elasticsearch+x-ndjson; compatible-with=9"
    actions, sources = request["body"][0::2], request["body"][1::2]
    assert [a["index"]["version"] for a in actions] == [4, 1, 7]
    assert {a["index"]["version_type"] for a in actions} == {"external"}
    assert all("contact" not in s and "staff_note" not in s for s in sources)
    assert sources[2] == {"id": "3f1c2a9e-0003-4a6b-9c1d-000000000003", "version": 7, "deleted": True}
    # created + updated count; the 409 (same or older version) is "no change", not an error
    assert changed == 2


def test_replayed_documents_change_nothing(es, backend):
    es.reply("bulk_all_conflicts")
    assert backend.upsert(DOCUMENTS) == 0


def test_other_bulk_item_errors_raise(es, backend):
    es.reply("bulk_mapping_error")
    with pytest.raises(IndexingFailed) as raised:
        backend.upsert(DOCUMENTS)
    assert [e["id"] for e in raised.value.errors] == ["3f1c2a9e-0002-4a6b-9c1d-000000000002"]
    assert raised.value.errors[0]["status"] == 400


def test_upsert_of_nothing_sends_nothing(es, backend):
    assert backend.upsert([]) == 0
    assert es.requests == []


def test_bulk_is_chunked(es, backend, monkeypatch):
    from services.search import es_backend
    monkeypatch.setattr(es_backend, "BULK_CHUNK", 2)
    es.reply("bulk_all_conflicts", "bulk_all_conflicts")
    backend.upsert(DOCUMENTS)
    assert [len(r["body"]) for r in es.requests] == [4, 2]


def test_rebuild_fills_the_next_index_and_swaps_the_alias_atomically(es, backend):
    es.reply("serving_v1", "index_created_v2")
    rebuild = backend.start_rebuild()
    es.reply("bulk_mixed")
    assert rebuild.upsert(DOCUMENTS) == 2
    es.reply("acknowledged", "refreshed", "serving_v1", "aliases_updated", "acknowledged")
    rebuild.finish()
    assert_golden("rebuild_and_swap", es.requests)
    calls = [(r["method"], r["path"]) for r in es.requests]
    assert calls == [
        ("GET", "/kosi-search-v*/_alias"),
        ("PUT", "/kosi-search-v2"),               # no alias yet, refresh off
        ("PUT", "/kosi-search-v2/_bulk"),
        ("PUT", "/kosi-search-v2/_settings"),     # refresh back on
        ("POST", "/kosi-search-v2/_refresh"),
        ("GET", "/_alias/kosi-search"),
        ("POST", "/_aliases"),
        ("DELETE", "/kosi-search-v1"),
    ]
    assert es.requests[1]["body"]["settings"]["index"]["refresh_interval"] == "-1"
    assert "aliases" not in es.requests[1]["body"]
    assert es.requests[6]["body"] == {"actions": [
        {"remove": {"index": "kosi-search-v1", "alias": "kosi-search"}},
        {"add": {"index": "kosi-search-v2", "alias": "kosi-search"}},
    ]}


def test_marks_of_a_field_and_its_compound_subfield_are_merged():
    from services.search.es_backend import merge_marks

    assert merge_marks("<mark>Pflege</mark> und Pflegeheim", "Pflege und <mark>Pflegeheim</mark>") == \
        "<mark>Pflege</mark> und <mark>Pflegeheim</mark>"
    assert merge_marks("<mark>a</mark>b", "a<mark>b</mark>") == "<mark>ab</mark>"      # adjacent marks join
    assert merge_marks("&lt;<mark>x</mark>&gt;") == "&lt;<mark>x</mark>&gt;"
    # different passages: the one with more marks
    assert merge_marks("<mark>Pflege</mark> hier", "<mark>Pflege</mark>, dort <mark>Pflegekraft</mark>") == \
        "<mark>Pflege</mark>, dort <mark>Pflegekraft</mark>"


def test_a_failed_alias_action_keeps_the_old_index_and_fails_the_rebuild(es, backend):
    es.reply("serving_v1", "index_created_v2")
    rebuild = backend.start_rebuild()
    es.reply("acknowledged", "refreshed", "serving_v1", "aliases_failed")
    with pytest.raises(RuntimeError, match="was not moved"):
        rebuild.finish()
    assert ("DELETE", "/kosi-search-v1") not in [(r["method"], r["path"]) for r in es.requests]
    es.reply("acknowledged")
    rebuild.abort()                                  # the service's indexer aborts a failed rebuild
    assert (es.requests[-1]["method"], es.requests[-1]["path"]) == ("DELETE", "/kosi-search-v2")


def test_writes_during_a_rebuild_reach_both_indices(es, backend):
    es.reply("serving_v1", "index_created_v2")
    rebuild = backend.start_rebuild()
    es.reply("bulk_mixed", "bulk_mixed")
    assert backend.upsert(DOCUMENTS) == 2          # counted on the serving index
    assert [r["path"] for r in es.requests[2:]] == ["/kosi-search/_bulk", "/kosi-search-v2/_bulk"]
    assert es.requests[2]["body"] == es.requests[3]["body"]
    es.reply("acknowledged", "refreshed", "serving_v1", "aliases_updated", "acknowledged")
    rebuild.finish()
    es.requests.clear()
    es.reply("bulk_mixed")
    backend.upsert(DOCUMENTS)                       # after the switch: the alias only
    assert [r["path"] for r in es.requests] == ["/kosi-search/_bulk"]


def test_abort_deletes_the_new_index(es, backend):
    es.reply("serving_v1", "index_created_v2")
    rebuild = backend.start_rebuild()
    es.reply("acknowledged")
    rebuild.abort()
    assert [(r["method"], r["path"]) for r in es.requests][-1] == ("DELETE", "/kosi-search-v2")
    es.requests.clear()
    es.reply("bulk_mixed")
    backend.upsert(DOCUMENTS)
    assert [r["path"] for r in es.requests] == ["/kosi-search/_bulk"]


def test_refresh_get_and_count(es, backend):
    es.reply("refreshed", "get_found", (404, "get_missing"), "count")
    backend.refresh()
    document = backend.get("3f1c2a9e-0001-4a6b-9c1d-000000000001")
    assert backend.get("nope") is None
    assert backend.count() == 2
    assert_golden("refresh_get_count", es.requests)
    assert document["title"] == "Pflegeheim im Quartier" and document["deleted"] is False
    assert es.requests[-1]["body"] == {"query": {"term": {"deleted": False}}}


# ---------------------------------------------------------------------- response parsing


def test_search_response_becomes_a_search_result(es, backend):
    es.reply("search_pflege")
    result = backend.search(SearchQuery(q="Pflege"))
    assert result.total == 2
    first, second = result.items
    assert first["id"] == "3f1c2a9e-0001-4a6b-9c1d-000000000001"
    assert first["score"] == 7.25 and isinstance(second["score"], float)
    assert "body" not in first and "deleted" not in first and "contact" not in first
    assert first["themes"] == ["alter", "wohnen"] and first["location"] == {"lat": 51.79, "lon": 11.14}
    # missing fields come back as empty values, not as missing keys
    assert second["summary"] is None and second["location"] is None and second["starts_on"] is None
    assert first["highlight"] == {
        "title": "<mark>Pflegeheim</mark> im Quartier",      # only the compound subfield had it
        # the marks of the plain field and of its compound subfield together (HTML-escaped: "&amp;")
        "summary": "Ärzte &amp; Co: <mark>Pflege</mark> und <mark>Pflegekräfte</mark> arbeiten mit der "
                   "Genossenschaft zusammen.",
        # number_of_fragments 1: at most one fragment per field
        "body": "Eine Genossenschaft betreibt das <mark>Pflegeheim</mark> mitten im Dorf.",
    }
    assert second["highlight"] == {"body": "Das Land fördert <mark>Pflege</mark>-Initiativen."}
    assert "distance_km" not in first
    assert result.facets == {
        "theme": [{"value": "wohnen", "count": 2}, {"value": "alter", "count": 1},
                  {"value": "genossenschaftliche-initiativen", "count": 1}],
        "region": [{"value": "15085", "count": 2}, {"value": "15003", "count": 1}],
        "kind": [{"value": "news", "count": 1}, {"value": "project", "count": 1}],
    }
    assert result.as_dict()["total"] == 2


def test_distance_is_reported_in_km_when_near_is_given(es, backend):
    es.reply("search_near")
    result = backend.search(SearchQuery(near=(51.4825, 11.9695), sort="distance"))
    assert [round(item["distance_km"]) for item in result.items] == [67, 75]   # Halle -> Quedlinburg, Halle -> Magdeburg


def test_a_hit_without_location_has_no_distance():
    item = hit_item({"_score": None, "_source": {"id": "x", "title": "T"}}, near=(51.0, 11.0))
    assert item["distance_km"] is None and item["score"] == 0.0 and item["highlight"] == {}


def test_several_fragments_of_a_field_are_joined():
    # the backend asks for one body fragment, but a field with more is still shown whole
    item = hit_item({"_score": 1.0, "_source": {"id": "x"},
                     "highlight": {"body.compound": ["<mark>Pflege</mark> im Dorf.", "Die <mark>Pflegekräfte</mark>."]}})
    assert item["highlight"] == {"body": "<mark>Pflege</mark> im Dorf. … Die <mark>Pflegekräfte</mark>."}


def test_suggest_returns_titles_once(es, backend):
    es.reply("suggest_pfl")
    suggestions = backend.suggest("Pfl", limit=5)
    assert_golden("suggest", es.requests)
    assert suggestions == [
        {"text": "Pflegeheim im Quartier", "id": "3f1c2a9e-0001-4a6b-9c1d-000000000001",
         "doc_type": "entry", "kind": "project"},
        {"text": "Pflegekräfte gewinnen", "id": "3f1c2a9e-0005-4a6b-9c1d-000000000005",
         "doc_type": "article", "kind": "article"},
    ]


def test_suggest_names_the_tag_that_was_typed(es, backend):
    reply = response("suggest_pfl")
    reply["hits"]["hits"] = reply["hits"]["hits"][:1]
    reply["hits"]["hits"][0]["_source"]["tags"] = ["Pflege", "Genossenschaft"]
    es.replies.append((200, reply))
    assert [s["text"] for s in backend.suggest("Genoss")] == ["Genossenschaft"]
    es.replies.append((200, reply))
    assert [s["text"] for s in backend.suggest("Pflegeh")] == ["Pflegeheim im Quartier"]


def test_corrections_spell_the_closest_words_as_the_titles_and_tags_do(es, backend):
    """"Meinten Sie": a term suggester over titles and tags, options within the word's typo
    distance (genossenschaften and gesellschaft are 3 away), then how a live document writes each."""
    es.reply("corrections_genosenschaft", "msearch_spelling")
    assert backend.corrections("Genosenschaft wohnen") == ["Genossenschaft wohnen", "Genossenschafts wohnen"]
    assert_golden("corrections", es.requests)
    assert [(r["method"], r["path"]) for r in es.requests] == [("POST", "/kosi-search/_search"),
                                                               ("POST", "/kosi-search/_msearch")]


def test_corrections_leave_an_unfinished_last_word_that_begins_a_known_one(es, backend):
    reply = response("corrections_genosenschaft")
    reply["suggest"]["words"] = [{"text": "genosenschaft", "offset": 0, "length": 13,
                                  "options": [{"text": "genossenschaft", "score": 0.9, "freq": 4}]}]
    es.replies.append((200, reply))                 # hits.total 1: some title word begins with it
    assert backend.corrections("Genosenschaft") == []
    assert es.requests[0]["body"]["query"]["bool"]["filter"][1] == {"prefix": {"suggest": "genosenschaft"}}
    reply["hits"]["total"]["value"] = 0
    es.replies.extend([(200, reply), (200, response("msearch_spelling"))])
    assert backend.corrections("Genosenschaft") == ["Genossenschaft"]


@pytest.mark.parametrize("text", ["", "   ", "!!!"])
def test_corrections_of_nothing_ask_nothing(es, backend, text):
    assert backend.corrections(text) == []
    assert es.requests == []


@pytest.mark.parametrize("prefix", ["", "   ", '"', "-", "!!!"])
def test_suggest_for_nothing_typed_asks_nothing(es, backend, prefix):
    assert backend.suggest(prefix) == []
    assert es.requests == []


def test_related_uses_more_like_this_without_itself(es, backend):
    es.reply("get_found", "related")
    related = backend.related("3f1c2a9e-0001-4a6b-9c1d-000000000001", limit=3)
    assert_golden("related", es.requests)
    assert [item["id"] for item in related] == ["3f1c2a9e-0006-4a6b-9c1d-000000000006"]
    assert "body" not in related[0] and related[0]["score"] == 1.9


def test_related_of_a_tombstone_or_unknown_id_is_empty(es, backend):
    es.reply("get_tombstone", (404, "get_missing"))
    assert backend.related("3f1c2a9e-0003-4a6b-9c1d-000000000003") == []
    assert backend.related("nope") == []
    assert [r["method"] for r in es.requests] == ["GET", "GET"]


def test_stored_form_drops_unknown_fields_and_builds_suggestions():
    source = to_source(DOCUMENTS[0])
    assert "contact" not in source
    assert source["suggest"] == ["Pflegeheim im Quartier", "Pflege", "Genossenschaft"]
    assert "starts_on" not in source   # None values are left out
    with pytest.raises(ValidationFailed):
        to_source({"title": "no id", "version": 1})
    with pytest.raises(ValidationFailed):
        to_source({"id": "x", "version": "3"})


# ---------------------------------------------------------------------- saved searches (matching_queries)

PERCOLATE_QUERIES = ["Pflegeheime Quartier", '"Pflege im Quartier" -Heim', "Schwimmbad", "", "Genosenschaft"]


@pytest.fixture
def scratch_id(monkeypatch):
    from services.search import es_backend

    monkeypatch.setattr(es_backend, "_scratch_id", lambda: "percolate-0001")
    return "percolate-0001"


def test_matching_queries_write_the_document_aside_and_search_it_as_search_does(es, backend, scratch_id):
    es.reply((404, None), "percolate_index_created", "scratch_indexed", "msearch_percolate", "scratch_deleted")
    assert backend.matching_queries(DOCUMENTS[0], PERCOLATE_QUERIES) == [0, 3, 4]
    assert_golden("percolate", es.requests)
    calls = [(r["method"], r["path"]) for r in es.requests]
    assert calls == [
        ("HEAD", "/kosi-search-percolate-m1"),
        ("PUT", "/kosi-search-percolate-m1"),                                  # the serving mapping, no alias
        ("PUT", "/kosi-search-percolate-m1/_doc/percolate-0001?refresh=true"),
        ("POST", "/kosi-search-percolate-m1/_msearch"),
        ("DELETE", "/kosi-search-percolate-m1/_doc/percolate-0001"),
    ]
    create, write, msearch = es.requests[1]["body"], es.requests[2]["body"], es.requests[3]
    assert create == es_mapping.index_body(1) and "aliases" not in create
    assert write == to_source(DOCUMENTS[0]) and "contact" not in write
    assert msearch["content_type"] == "application/vnd.elasticsearch+x-ndjson; compatible-with=9"
    headers, bodies = msearch["body"][0::2], msearch["body"][1::2]
    assert headers == [{}] * len(PERCOLATE_QUERIES)
    # each is the bool of the search path's query, its filters replaced by the scratch id
    for text, body in zip(PERCOLATE_QUERIES, bodies):
        searched = search_body(SearchQuery(q=text))["query"]["bool"]
        assert body == {"query": {"bool": {**searched, "filter": [{"ids": {"values": [scratch_id]}}]}},
                        "size": 0, "track_total_hits": True}


def test_the_scratch_index_is_made_once_per_process(es, backend, scratch_id):
    es.reply((200, None), "scratch_indexed", "msearch_percolate", "scratch_deleted")
    backend.matching_queries(DOCUMENTS[0], PERCOLATE_QUERIES)
    es.reply("scratch_indexed", "msearch_percolate", "scratch_deleted")
    backend.matching_queries(DOCUMENTS[1], PERCOLATE_QUERIES)
    assert [r["method"] for r in es.requests] == ["HEAD", "PUT", "POST", "DELETE", "PUT", "POST", "DELETE"]


def test_a_scratch_index_created_meanwhile_by_another_process_is_used(es, backend, scratch_id):
    es.reply((404, None), (400, "percolate_index_exists"), "scratch_indexed", "msearch_percolate", "scratch_deleted")
    assert backend.matching_queries(DOCUMENTS[0], PERCOLATE_QUERIES) == [0, 3, 4]


def test_no_queries_or_a_tombstone_ask_nothing(es, backend):
    assert backend.matching_queries(DOCUMENTS[0], []) == []
    assert backend.matching_queries(DOCUMENTS[2], PERCOLATE_QUERIES) == []     # the tombstone
    assert es.requests == []


def test_a_failed_query_fails_the_call_and_the_scratch_document_is_still_deleted(es, backend, scratch_id):
    from services.search.es_backend import PercolateFailed

    es.reply((200, None), "scratch_indexed", "msearch_percolate_error", "scratch_deleted")
    with pytest.raises(PercolateFailed, match="query 1 failed"):
        backend.matching_queries(DOCUMENTS[0], PERCOLATE_QUERIES[:2])
    assert (es.requests[-1]["method"], es.requests[-1]["path"]) == \
        ("DELETE", "/kosi-search-percolate-m1/_doc/percolate-0001")


def test_an_answer_short_of_searches_fails_the_call(es, backend, scratch_id):
    from services.search.es_backend import PercolateFailed

    es.reply((200, None), "scratch_indexed", "msearch_percolate", "scratch_deleted")
    with pytest.raises(PercolateFailed, match="6 searches sent, 5 answered"):
        backend.matching_queries(DOCUMENTS[0], PERCOLATE_QUERIES + ["Pflege"])


def test_a_failed_delete_of_the_scratch_document_does_not_fail_the_call(es, backend, scratch_id, caplog):
    es.reply((200, None), "scratch_indexed", "msearch_percolate", (404, "scratch_delete_missing"))
    assert backend.matching_queries(DOCUMENTS[0], PERCOLATE_QUERIES) == [0, 3, 4]
    assert "scratch document percolate-0001 stays" in caplog.text


def test_calls_side_by_side_use_their_own_scratch_ids():
    from services.search.es_backend import _scratch_id

    assert len({_scratch_id() for _ in range(100)}) == 100
