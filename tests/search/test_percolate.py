"""The ``percolate`` RPC: which of the notify service's saved query texts find a newly
published record. Backend behaviour (stemming, syntax, parity with search) is in
``behaviour.py``; here: the document is built as the event consumer builds it, the input
is validated, and only the notify service acting as itself is answered (RabbitMQ, tantivy)."""
import pytest
from nameko.standalone.rpc import ClusterRpcClient

from contracts.catalog import events as catalog_events  # noqa: F401  (registers the event contracts)
from contracts.samples import sample
from contracts.search.api import MAX_PERCOLATE_QUERIES, MAX_QUERY_CHARS, PercolateSchema
from kernel import broker
from kernel.errors import Forbidden, ValidationFailed
from kernel.events import read_event
from kernel.identity import ACTOR_CONTEXT_KEY, ActorSigner, generate_keypair
from kernel.messaging import subscriptions_of
from kernel.schemas import load_input
from services.search.documents import document_from_event
from services.search.percolate import matching_queries, search_document
from services.search.service import SearchService
from services.search.tantivy_backend import TantivyBackend
from tests.identity import EDITOR, GATEWAY_KEY, NOTIFY_KEY, SERVICE_TRUST

ENTRY = sample("entry.published")             # "Dorfladen Wippra", a Bürgergenossenschaft
ARTICLE = sample("article.published")         # "Was ist soziale Innovation?"


def published(envelope: dict) -> dict:
    return {"type": envelope["type"], "data": envelope["data"]}


def loaded(document: dict) -> dict:
    return load_input(PercolateSchema, {"document": document, "queries": []})["document"]


# ---------------------------------------------------------------------- the document, the input

@pytest.mark.parametrize("envelope", [ENTRY, ARTICLE], ids=lambda e: e["type"])
def test_the_document_is_built_as_the_event_consumer_builds_it(envelope):
    consumed = document_from_event(read_event(envelope))
    assert search_document(loaded(published(envelope))) == consumed
    # the event's data as notify holds it after reading the event (dates as objects, as the
    # RPC codec also delivers them) gives the same document
    assert search_document(loaded(published(read_event(envelope)))) == consumed


def test_data_that_breaks_the_event_contract_is_a_validation_error():
    data = {key: value for key, value in ENTRY["data"].items() if key != "title"}
    with pytest.raises(ValidationFailed) as raised:
        search_document(loaded({"type": "entry.published", "data": data}))
    assert "title" in raised.value.fields["document"]["data"]


@pytest.mark.parametrize("document, queries, field", [
    (published(ENTRY), ["Pflege"] * (MAX_PERCOLATE_QUERIES + 1), "queries"),
    (published(ENTRY), ["x" * (MAX_QUERY_CHARS + 1)], "queries"),
    (published(ENTRY), [None], "queries"),
    (published(ENTRY), "Dorfladen", "queries"),
    (published(ENTRY), None, "queries"),
    ({"type": "entry.updated", "data": ENTRY["data"]}, ["Dorfladen"], "document"),
    ({"type": "entry.published"}, ["Dorfladen"], "document"),
    ({**published(ENTRY), "event_id": ENTRY["event_id"]}, ["Dorfladen"], "document"),
    (None, ["Dorfladen"], "document"),
])
def test_bad_input_is_a_validation_error(document, queries, field):
    with pytest.raises(ValidationFailed) as raised:
        load_input(PercolateSchema, {"document": document, "queries": queries})
    assert field in raised.value.fields


def test_the_limits_themselves_are_accepted():
    queries = ["x" * MAX_QUERY_CHARS] * (MAX_PERCOLATE_QUERIES - 1) + [""]
    assert load_input(PercolateSchema, {"document": published(ENTRY), "queries": queries})["queries"] == queries


def test_matching_queries_of_an_event():
    backend = TantivyBackend(None)
    try:
        queries = ["Dorfläden", "Genossenschaft Wippra", "Schwimmbad", "Wippra -Café"]
        assert matching_queries(backend, loaded(published(ENTRY)), queries) == [0, 1]
        assert matching_queries(backend, loaded(published(ENTRY)), []) == []
        assert matching_queries(backend, loaded(published(ARTICLE)), ["soziale Innovationen", "Dorfladen"]) == [0]
        # an entry.published whose data is not (or no longer) published is a tombstone: no match
        withdrawn = {**ENTRY["data"], "status": "withdrawn"}
        assert matching_queries(backend, loaded({"type": "entry.published", "data": withdrawn}), ["Wippra"]) == []
    finally:
        backend.close()


# ---------------------------------------------------------------------- the RPC, over RabbitMQ

INTRUDER_KEY, _ = generate_keypair()


@pytest.fixture
def search(rabbit_config, rabbit_uri, container_factory, tmp_path):
    import nameko

    broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService))
    with nameko.config.patch({"SEARCH_BACKEND": "tantivy", "SEARCH_INDEX_PATH": str(tmp_path / "index"),
                              "SEARCH_AUTO_REFILL": False, **SERVICE_TRUST}):
        container_factory(SearchService).start()
        yield rabbit_uri


def call_as(amqp_uri, assertion, method, *args):
    with ClusterRpcClient(timeout=20, uri=amqp_uri,
                          context_data={ACTOR_CONTEXT_KEY: assertion} if assertion else None) as client:
        return getattr(client.search, method)(*args)


def as_notify() -> str:
    return ActorSigner("notify", NOTIFY_KEY).sign({"sub": "notify", "roles": []})


def test_the_notify_service_is_answered(search):
    queries = ["Dorfläden Wippra", "Schwimmbad", "", '"Dorfladen Wippra"', "Genosenschaft"]
    assert call_as(search, as_notify(), "percolate", published(ENTRY), queries) == {"matches": [0, 2, 3, 4]}
    # the data as notify holds it after reading the event: dates travel as objects
    assert call_as(search, as_notify(), "percolate", published(read_event(ENTRY)), ["Wippra"]) == {"matches": [0]}
    assert call_as(search, as_notify(), "percolate", published(ARTICLE), []) == {"matches": []}
    # asking indexes nothing
    assert call_as(search, None, "search", {"q": "Wippra"})["total"] == 0


def test_everyone_else_is_refused(search):
    impostor = ActorSigner("notify", INTRUDER_KEY).sign({"sub": "notify", "roles": []})
    gateway_as_notify = ActorSigner("gateway", GATEWAY_KEY).sign({"sub": "notify", "roles": ["notify"]})
    editor = ActorSigner("gateway", GATEWAY_KEY).sign(EDITOR)
    for assertion in (None, editor, gateway_as_notify, impostor):
        with pytest.raises(Forbidden):
            call_as(search, assertion, "percolate", published(ENTRY), ["Wippra"])
        with pytest.raises(Forbidden):      # refused before the input is even looked at
            call_as(search, assertion, "percolate", None, None)


def test_bad_input_from_notify_is_a_validation_error(search):
    with pytest.raises(ValidationFailed) as raised:
        call_as(search, as_notify(), "percolate", published(ENTRY), ["Wippra"] * (MAX_PERCOLATE_QUERIES + 1))
    assert "queries" in raised.value.fields
    with pytest.raises(ValidationFailed) as raised:
        call_as(search, as_notify(), "percolate", {"type": "entry.published", "data": {"title": "Wippra"}}, ["x"])
    assert "data" in raised.value.fields["document"]
