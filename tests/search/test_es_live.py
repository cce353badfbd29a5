"""The shared behaviour suite (tests/search/behaviour.py) on a real Elasticsearch 9.

No Elasticsearch can run on the machine this was written on, so this module runs only
when ``ELASTICSEARCH_URL`` points at a cluster (e.g. ``docker run -p 9200:9200 -e
discovery.type=single-node -e xpack.security.enabled=false
docker.elastic.co/elasticsearch/elasticsearch:9.1.0`` and
``ELASTICSEARCH_URL=http://localhost:9200``). Each test gets its own index prefix and
deletes its indices afterwards.
"""
import os
import uuid

import pytest

pytestmark = pytest.mark.skipif(
    not os.environ.get("ELASTICSEARCH_URL"),
    reason="needs a live Elasticsearch 9: set ELASTICSEARCH_URL (none can run on this machine)")

from tests.search.behaviour import *  # noqa: F401,F403,E402


@pytest.fixture
def backend():
    from elasticsearch import Elasticsearch

    from services.search.es_backend import ElasticsearchBackend

    client = Elasticsearch(os.environ["ELASTICSEARCH_URL"], request_timeout=30)
    prefix = f"kosi-test-{uuid.uuid4().hex[:12]}"
    # one node in a test cluster: no replicas, or the index stays yellow
    backend = ElasticsearchBackend(client, index_prefix=prefix, replicas=0)
    yield backend
    # by name: Elasticsearch 9 refuses wildcard deletes (action.destructive_requires_name)
    for name in client.indices.get_alias(index=f"{prefix}-v*"):
        client.indices.delete(index=name)
    client.options(ignore_status=404).indices.delete(index=backend.percolate_index)   # saved-search tests
    client.close()
