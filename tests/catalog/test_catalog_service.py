"""The catalog as a running nameko service: RPC over RabbitMQ, errors, events on the wire."""
import json
import time

import nameko
import pika
import pytest
from nameko.standalone.rpc import ClusterRpcClient

from kernel import broker
from kernel.errors import Forbidden, NotFound, ValidationFailed
from services.catalog.service import CatalogService
from tests.catalog.conftest import STAFF, entry_data
from tests.databases import DIALECTS, fresh_catalog_database_of
from tests.identity import SERVICE_TRUST, staff_rpc


@pytest.fixture(scope="module", params=DIALECTS)
def service_database_url(request, tmp_path_factory):
    return fresh_catalog_database_of(request.param, "kosi_test_catalog_service", tmp_path_factory.mktemp("catalog"))


@pytest.fixture
def catalog(container_factory, rabbit_config, rabbit_uri, service_database_url):
    with nameko.config.patch({"CATALOG_DATABASE_URL": service_database_url, **SERVICE_TRUST}):  # AMQP_URI: rabbit_config
        container = container_factory(CatalogService)
        container.start()
        with ClusterRpcClient(timeout=20) as client:
            yield client.catalog


@pytest.fixture
def staff_catalog(catalog, rabbit_uri):
    with staff_rpc(rabbit_uri, STAFF) as rpc:
        yield rpc.catalog


def test_rpc_errors_arrive_as_kernel_errors(catalog):
    with pytest.raises(ValidationFailed) as failure:
        catalog.create_entry({"kind": "castle", "title": 5, "surprise": True})
    assert {"kind", "title", "surprise", "summary", "themes"} <= set(failure.value.fields)
    with pytest.raises(NotFound):
        catalog.get_entry("00000000-0000-0000-0000-000000000000")
    with pytest.raises(ValidationFailed) as failure:
        catalog.list_entries({"per_page": 1000})
    assert "per_page" in failure.value.fields
    themes = [theme["slug"] for theme in catalog.list_themes()]
    entry = catalog.create_entry(entry_data(themes))
    with pytest.raises(Forbidden):  # anonymous: no actor assertion
        catalog.update_entry(entry["id"], {"title": "Gekapert"}, 1)
    assert catalog.health() == {"status": "ok"}


def test_published_entry_reaches_the_catalog_exchange(catalog, staff_catalog, rabbit_uri):
    broker.declare_topology(rabbit_uri, ["catalog"], [])
    connection = broker.connect(rabbit_uri)
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "catalog.events", routing_key="entry.published")
    try:
        themes = [theme["slug"] for theme in catalog.list_themes()]
        entry = staff_catalog.create_entry(entry_data(themes))
        assert entry["status"] == "published"
        body = None
        deadline = time.monotonic() + 15
        while body is None and time.monotonic() < deadline:
            method, _, raw = channel.basic_get(queue, auto_ack=True)
            if method is None:
                time.sleep(0.1)
            else:
                body = json.loads(raw)
        assert body is not None, "the outbox relay did not publish entry.published"
        assert body["type"] == "entry.published" and body["producer"] == "catalog"
        assert body["data"]["id"] == entry["id"] and body["data"]["region"] == "15003"
        assert "contact" not in body["data"]
        # the public read over RPC shows it, without personal data
        public = catalog.get_entry(entry["id"])
        assert public["id"] == entry["id"] and "contact" not in public
    finally:
        connection.close()


def test_a_redelivered_call_writes_once_and_answers_like_the_first(catalog, rabbit_uri, service_database_url):
    """The broker delivers a request again when the service died after the commit and before
    the acknowledgement (seen in tests/resilience): the same call, twice, must not create two."""
    themes = [theme["slug"] for theme in catalog.list_themes()]
    connection = broker.connect(rabbit_uri)
    channel = connection.channel()
    replies = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(replies, "nameko-rpc", routing_key=replies)
    request = json.dumps({"args": [entry_data(themes, title="Einmal Dorfladen")], "kwargs": {}}).encode()
    answers = []
    for _ in range(2):  # one call (one correlation id), delivered again after its first run
        channel.basic_publish("nameko-rpc", "catalog.create_entry", request, pika.BasicProperties(
            content_type="application/json", correlation_id="call-once-1", reply_to=replies))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            method, _, body = channel.basic_get(replies, auto_ack=True)
            if method is not None:
                answers.append(json.loads(body))
                break
            time.sleep(0.05)
    connection.close()
    assert [answer["error"] for answer in answers] == [None, None]
    assert answers[0]["result"] == answers[1]["result"] and answers[0]["result"]["status"] == "submitted"
    with staff_rpc(rabbit_uri, STAFF) as staff:
        queue = staff.catalog.list_entries({"status": "submitted"})
    assert [item["title"] for item in queue["items"]].count("Einmal Dorfladen") == 1
