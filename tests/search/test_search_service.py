"""The search service running beside the real catalog: the index follows catalog events.

RabbitMQ (own vhost per test), a fresh PostgreSQL database for the catalog, tantivy in a
temporary directory. Entries are written through the catalog's RPC; their events travel
catalog outbox → RabbitMQ → search, exactly as deployed.
"""
import json
import os

import pytest
import sqlalchemy as sa
import tantivy

from kernel import broker
from kernel.errors import NotFound, ValidationFailed
from kernel.messaging import subscriptions_of
from services.catalog.models import metadata as catalog_metadata
from services.catalog.service import CatalogService
from services.search.service import SearchService
from tests import wire
from tests.databases import fresh_catalog_database
from tests.identity import SERVICE_TRUST, staff_rpc
from tests.wait import settled, wait_for  # noqa: F401 (wait_for: other test modules import it from here)

STAFF = {"sub": "editor-1", "roles": ["editor"]}
MAGDEBURG = {"lat": 52.1205, "lon": 11.6276}
HALLE = {"lat": 51.4828, "lon": 11.9697}
CONTACT = {"name": "Erika Mustermann", "email": "erika.mustermann@example.org", "phone": "0391 555 123"}


def entry_data(**overrides) -> dict:
    data = {"kind": "project", "title": "Dorfladen Wippra", "summary": "Ein Dorfladen in Bürgerhand.",
            "description": "Die Genossenschaft betreibt den Laden und ein Café.",
            "themes": ["sozialer-zusammenhalt"], "location": dict(MAGDEBURG), "tags": ["Nahversorgung"],
            "contact": dict(CONTACT)}
    data.update(overrides)
    return data


def found_ids(search, **query) -> list[str]:
    return [item["id"] for item in search.search(query)["items"]]


def outbox_payloads(database_url, event_type) -> list[dict]:
    """Events the catalog stored for publishing (to replay one as a redelivery would)."""
    outbox = catalog_metadata.tables["outbox"]
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(outbox.c.payload).where(outbox.c.event_type == event_type)
                                     .order_by(outbox.c.id)).scalars())
    finally:
        engine.dispose()


def publish_raw(amqp_uri, body: dict):
    """Put an event on the catalog's exchange again, as a broker redelivery would."""
    wire.publish_event(amqp_uri, "catalog.events", body)


def stored_sources(index_path) -> list[str]:
    """Every document as stored on disk (read with tantivy directly, beside the service)."""
    with open(os.path.join(index_path, "current")) as handle:
        generation = os.path.join(index_path, handle.read().strip())
    index = tantivy.Index.open(generation)
    index.reload()
    searcher = index.searcher()
    hits = searcher.search(tantivy.Query.all_query(), max(searcher.num_docs, 1)).hits
    return [json.dumps(searcher.doc(address).to_dict(), ensure_ascii=False,
                       default=lambda value: value.decode() if isinstance(value, bytes) else str(value))
            for _, address in hits]


# ---------------------------------------------------------------------- fixtures (shared by the search tests)

@pytest.fixture
def catalog_database():
    url = fresh_catalog_database("kosi_test_search_catalog")
    return url


@pytest.fixture
def index_path(tmp_path):
    return str(tmp_path / "search-index")


def search_config(database_url, index_path, **extra) -> dict:
    return {"CATALOG_DATABASE_URL": database_url, "SEARCH_BACKEND": "tantivy", "SEARCH_INDEX_PATH": index_path,
            "serializer": "json", **SERVICE_TRUST, **extra}


@pytest.fixture
def platform(rabbit_config, rabbit_uri, runner_factory, catalog_database, index_path):
    """The catalog and the search service in this process, like two deployed services."""
    broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService))
    runner = runner_factory(search_config(catalog_database, index_path), CatalogService, SearchService)
    runner.start()
    yield runner


@pytest.fixture
def rpc(platform, rabbit_uri):
    """Calls acting as an editor (signed like the gateway signs them)."""
    with staff_rpc(rabbit_uri, STAFF) as client:
        yield client


@pytest.fixture
def themes(rpc):
    return [theme["slug"] for theme in rpc.catalog.list_themes()]


# ---------------------------------------------------------------------- the index follows the catalog

def test_published_entry_becomes_searchable_and_a_withdrawn_one_vanishes(rpc):
    entry = rpc.catalog.create_entry(entry_data())  # how fast: `make bench` (publication → searchable)
    assert wait_for(lambda: found_ids(rpc.search, q="Dorfladen") == [entry["id"]])
    hit = rpc.search.search({"q": "Genossenschaften"})["items"][0]  # German stemming
    assert hit["id"] == entry["id"] and hit["version"] == 1 and hit["regions"] == [entry["region"]]
    assert "<mark>" in json.dumps(hit["highlight"])

    rpc.catalog.withdraw_entry(entry["id"], "veraltet")
    assert wait_for(lambda: found_ids(rpc.search, q="Dorfladen") == [])
    assert rpc.search.health()["documents"] == 0


def test_an_update_replaces_the_document(rpc):
    entry = rpc.catalog.create_entry(entry_data())
    assert wait_for(lambda: found_ids(rpc.search, q="Dorfladen"))
    rpc.catalog.update_entry(entry["id"], {"title": "Bürgerladen Wippra", "summary": "Neu eröffnet."}, 1)
    # "Bürgerladen" is two typos from the old "Bürgerhand": wait for version 2 itself
    assert wait_for(lambda: [hit["version"] for hit in rpc.search.search({"q": "Bürgerladen"})["items"]] == [2])
    assert found_ids(rpc.search, q="Dorfladen") == []
    assert rpc.search.search({"q": "Bürgerladen"})["items"][0]["version"] == 2
    assert rpc.search.health()["documents"] == 1


def test_a_redelivered_old_event_changes_nothing(rpc, rabbit_uri, catalog_database):
    kept = rpc.catalog.create_entry(entry_data(title="Dorfladen Wippra"))
    gone = rpc.catalog.create_entry(entry_data(title="Kulturscheune Harzgerode"))
    rpc.catalog.update_entry(kept["id"], {"title": "Bürgerladen Wippra"}, 1)
    rpc.catalog.withdraw_entry(gone["id"])
    assert wait_for(lambda: found_ids(rpc.search, q="Bürgerladen") == [kept["id"]])
    assert wait_for(lambda: found_ids(rpc.search, q="Kulturscheune") == [])

    for old in outbox_payloads(catalog_database, "entry.published"):  # both at version 1
        publish_raw(rabbit_uri, old)
    # a later event on the same queue, to know the old ones have been handled
    marker = rpc.catalog.create_entry(entry_data(title="Mitfahrbank Quedlinburg"))
    assert wait_for(lambda: found_ids(rpc.search, q="Mitfahrbank") == [marker["id"]])
    assert settled(rabbit_uri, "search.entry-published")  # the redeliveries have all been handled

    assert found_ids(rpc.search, q="Kulturscheune") == []  # a withdrawn entry stays gone
    [hit] = rpc.search.search({"q": "Wippra"})["items"]     # the old title does not come back
    assert (hit["id"], hit["title"], hit["version"]) == (kept["id"], "Bürgerladen Wippra", 2)
    assert broker.dead_letters(rabbit_uri) == []


def test_contact_data_never_reaches_the_index(rpc, index_path):
    entry = rpc.catalog.create_entry(entry_data())
    assert rpc.catalog.get_entry(entry["id"])["contact"]["email"] == CONTACT["email"]
    assert wait_for(lambda: found_ids(rpc.search, q="Dorfladen"))
    for value in CONTACT.values():
        assert rpc.search.search({"q": value})["total"] == 0
        assert rpc.search.suggest({"q": value.split()[0]})["items"] == []
    result = json.dumps(rpc.search.search({"q": "Dorfladen"}), ensure_ascii=False)
    assert "contact" not in result
    sources = stored_sources(index_path)
    assert sources and any(entry["id"] in source for source in sources)
    for source in sources:
        assert "contact" not in source
        for value in CONTACT.values():
            assert value not in source


def test_articles_and_news_are_searchable(rpc):
    article = rpc.catalog.create_article({"type": "news", "title": "Förderprogramm für Pflegeheime",
                                          "summary": "Neue Mittel", "body": "Das Land fördert Pflegekräfte.",
                                          "themes": []})
    assert wait_for(lambda: found_ids(rpc.search, q="Pflege") == [article["id"]])
    hit = rpc.search.search({"q": "Pflege", "type": "article"})["items"][0]
    assert (hit["doc_type"], hit["kind"]) == ("article", "news")
    assert found_ids(rpc.search, q="Pflege", type="entry") == []
    assert found_ids(rpc.search, q="Pflege", kind="news") == [article["id"]]


def test_an_event_breaking_its_contract_is_dead_lettered_an_extra_field_is_ignored(rpc, rabbit_uri,
                                                                                    catalog_database):
    entry = rpc.catalog.create_entry(entry_data())
    assert wait_for(lambda: found_ids(rpc.search, q="Dorfladen"))
    stored = outbox_payloads(catalog_database, "entry.published")[0]
    broken = json.loads(json.dumps(stored))
    broken["event_id"] = "6f1f8a52-58f6-4d6a-9a59-0d1f8f3f1a01"
    broken["data"]["version"] = "zwei"          # a type the contract does not allow
    broken["data"]["title"] = "Schmuggelware"
    publish_raw(rabbit_uri, broken)
    letters = wait_for(lambda: broker.dead_letters(rabbit_uri))
    assert [(letter["queue"], letter["error_type"], letter["attempts"]) for letter in letters] == [
        ("search.entry-published", "ValidationFailed", 1)]
    assert found_ids(rpc.search, q="Schmuggelware") == []

    newer = json.loads(json.dumps(stored))
    newer["event_id"] = "6f1f8a52-58f6-4d6a-9a59-0d1f8f3f1a02"
    newer["data"].update(version=5, title="Dorfladen Wippra eG", contact=dict(CONTACT), mood="heiter")
    publish_raw(rabbit_uri, newer)  # fields the contract does not know are ignored, not fatal
    assert wait_for(lambda: [hit["version"] for hit in rpc.search.search({"q": "Wippra"})["items"]] == [5])
    assert rpc.search.search({"q": CONTACT["email"]})["total"] == 0
    assert len(broker.dead_letters(rabbit_uri)) == 1 and entry["id"] == newer["data"]["id"]


def test_queries_are_validated_by_the_service(rpc):
    for bad in ({"sort": "distance"}, {"bbox": "12,52,11,51"}, {"per_page": 1000}, {"kind": "castle"},
                {"surprise": 1}, {"q": "x", "page": 101, "per_page": 100}, {"q": "x" * 10_001}):
        with pytest.raises(ValidationFailed):
            rpc.search.search(bad)
    with pytest.raises(ValidationFailed):
        rpc.search.suggest({"q": ""})
    assert rpc.search.search({"q": "Dorfladen " * 1000})["total"] == 0  # 10,000 characters
    assert rpc.search.search({}) == {"total": 0, "page": 1, "per_page": 20, "items": [],
                                     "facets": {"theme": [], "region": [], "kind": []}, "relaxed": False}


def test_related_lists_linked_entries_first_then_similar_ones(rpc, themes):
    shop = rpc.catalog.create_entry(entry_data(title="Dorfladen Wippra"))
    twin = rpc.catalog.create_entry(entry_data(title="Dorfladen Friedrichsbrunn",
                                               summary="Noch ein Dorfladen in Bürgerhand."))
    other = rpc.catalog.create_entry(entry_data(title="Kletterwald Thale", summary="Sport im Harz",
                                                description="Klettern.", themes=[themes[-1]],
                                                location=dict(HALLE), tags=[]))
    rpc.catalog.add_link(shop["id"], {"target_type": "entry", "target_id": other["id"], "type": "partner"})
    assert wait_for(lambda: rpc.search.health()["documents"] == 3)

    related = rpc.search.related(shop["id"])
    relations = [(item["relation"], item["entry"]["id"]) for item in related["entries"]]
    assert relations[0] == ("linked", other["id"])
    assert ("similar", twin["id"]) in relations
    assert len({entry_id for _, entry_id in relations}) == len(relations)
    assert shop["id"] not in {entry_id for _, entry_id in relations}
    with pytest.raises(NotFound):
        rpc.search.related("00000000-0000-0000-0000-000000000000")
    with pytest.raises(ValidationFailed):
        rpc.search.related(shop["id"], limit=0)
