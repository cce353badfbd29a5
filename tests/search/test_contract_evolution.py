"""The catalog deployed one version ahead of search: search keeps indexing, nothing is
dead-lettered, and what it cannot read is parked with its reason.

The newer catalog is played by raw messages on the wire (pika), as a producer built from a
later release would publish them; the search service runs the code of this release.
"""
import copy

import pytest

from contracts.samples import sample
from kernel import broker, topology
from kernel.messaging import subscriptions_of
from services.search.service import SearchService
from tests import wire
from tests.identity import SERVICE_TRUST
from tests.wait import settled, wait_for

ENTRY_ID = "3f2c6a9e-8d1b-4c5e-9a7f-2b6d1e0c4a11"


@pytest.fixture
def search(rabbit_config, rabbit_uri, container_factory, tmp_path):
    import nameko
    from nameko.standalone.rpc import ClusterRpcClient

    broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService))
    with nameko.config.patch({"SEARCH_BACKEND": "tantivy", "SEARCH_INDEX_PATH": str(tmp_path / "index"),
                              "SEARCH_AUTO_REFILL": False, **SERVICE_TRUST}):
        container = container_factory(SearchService)
        container.start()
        with ClusterRpcClient(timeout=30) as client:
            yield client.search


def publish(amqp_uri, envelope: dict):
    wire.publish_event(amqp_uri, "catalog.events", envelope, f"{envelope['event_id']}.v{envelope['version']}")


def versions_found(search, q):
    return [(hit["id"], hit["version"], hit["title"]) for hit in search.search({"q": q})["items"]]


def as_version_2(envelope: dict) -> dict:
    """The same event as a later release might shape it: a renamed field, a nested one."""
    newer = copy.deepcopy(envelope)
    data = newer["data"]
    data["name"] = {"de": data.pop("title")}
    newer.update(version=2, versions=[2, 1])
    return newer


def test_search_keeps_indexing_events_of_a_catalog_one_version_ahead(search, rabbit_uri):
    # 1. an additive change: a field search does not know, in data and in the envelope
    first = sample("entry.published")
    first["data"]["accessibility"] = {"wheelchair": True}
    first["correlation"] = {"campaign": "herbst"}
    publish(rabbit_uri, first)
    assert wait_for(lambda: versions_found(search, "Wippra") == [(ENTRY_ID, 3, "Dorfladen Wippra")])

    # 2. a breaking change published side by side with the old version (deprecation window)
    update = sample("entry.updated")
    update["event_id"] = "0b9e3c1a-7d2f-4e8a-9c6b-1f0a2d3e4b99"
    update["versions"] = [2, 1]
    update["data"]["title"] = "Dorfladen Wippra eG"
    publish(rabbit_uri, as_version_2(update))
    publish(rabbit_uri, update)
    assert wait_for(lambda: versions_found(search, "Wippra") == [(ENTRY_ID, 4, "Dorfladen Wippra eG")])

    # 3. after the window only version 2 is published: search cannot read it, and parks it
    later = sample("entry.updated")
    later["event_id"] = "0b9e3c1a-7d2f-4e8a-9c6b-1f0a2d3e4b98"
    later["data"].update(version=6, title="Dorfladen und Café Wippra")
    only_new = {**as_version_2(later), "versions": [2]}
    publish(rabbit_uri, only_new)
    parked_queue = topology.parked_name("search")
    assert wait_for(lambda: len(broker.peek(rabbit_uri, parked_queue)) == 1)
    [parked] = broker.peek(rabbit_uri, parked_queue)
    assert parked["message_id"] == f"{later['event_id']}.v2"
    assert parked["queue"] == "search.entry-updated"
    assert parked["parked_reason"] == ("entry.updated v2 cannot be read here "
                                       "(this consumer reads versions: 1)")

    queues = [sub["queue"] for sub in subscriptions_of(SearchService)]
    assert settled(rabbit_uri, *queues)
    assert broker.dead_letters(rabbit_uri) == []
    assert versions_found(search, "Wippra") == [(ENTRY_ID, 4, "Dorfladen Wippra eG")]
    assert search.health()["documents"] == 1
