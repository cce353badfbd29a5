"""An event published while no consumer is bound: parked, not dropped; visible in /metrics
and `kosi outbox status`; replayed to a consumer started later."""
import json
import re

from click.testing import CliRunner

from cli.main import main as kosi
from kernel import broker
from kernel.messaging import subscriptions_of
from services.catalog.service import CatalogService
from services.search.service import SearchService
from tests.gateway.test_http import API, bearer, entry_data, gateway_config
from tests.gateway.test_search_http import catalog_database  # noqa: F401 (fixture)
from tests.identity import operator_environment
from tests.wait import wait_for

PARKED = "catalog.events.unrouted"


def parked_gauge(web_session) -> float | None:
    text = web_session.get(f"{API}/metrics").text
    found = re.search(r'^kosi_broker_parked_messages\{queue="catalog\.events\.unrouted"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


def test_an_event_nobody_listens_to_is_parked_counted_and_replayed_later(
        rabbit_config, rabbit_uri, web_config, runner_factory, catalog_database, web_session, tmp_path,
        monkeypatch):
    from gateway.service import GatewayService

    config = {**gateway_config(catalog_database), "SEARCH_BACKEND": "tantivy",
              "SEARCH_INDEX_PATH": str(tmp_path / "index"), "SEARCH_AUTO_REFILL": False}
    runner_factory(config, CatalogService, GatewayService).start()  # search is not deployed yet
    created = web_session.post(f"{API}/entries", json=entry_data(title="Mitfahrbank Thale"), headers=bearer())
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]

    assert wait_for(lambda: broker.queue_length(rabbit_uri, PARKED) == 1)
    assert wait_for(lambda: parked_gauge(web_session) == 1.0)  # the management API's numbers lag a little

    monkeypatch.setenv("KOSI_OPERATOR_AMQP_URI", rabbit_uri)
    monkeypatch.setenv("CATALOG_DATABASE_URL", catalog_database)
    for name, value in operator_environment().items():
        monkeypatch.setenv(name, value)
    status = CliRunner().invoke(kosi, ["outbox", "status", "catalog"])
    assert status.exit_code == 0, status.output
    reported = json.loads(status.stdout)
    assert reported["pending"] == 0 and reported["parked"] == {PARKED: 1}
    listed = CliRunner().invoke(kosi, ["parked", "list"])
    assert listed.exit_code == 0, listed.output
    [line] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (line["parked_in"], line["routing_key"], line["body"]["data"]["id"]) == (PARKED, "entry.published",
                                                                                     entry_id)

    # search is deployed later, in the documented order: broker setup first, then the service
    broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService))
    search = runner_factory(config, SearchService)
    search.start()
    replayed = CliRunner().invoke(kosi, ["parked", "replay", PARKED])
    assert replayed.exit_code == 0 and "replayed 1 message(s)" in replayed.stdout, replayed.output
    assert wait_for(lambda: [item["id"] for item in web_session.get(
        f"{API}/search", params={"q": "Mitfahrbank"}).json()["items"]] == [entry_id])
    assert broker.queue_length(rabbit_uri, PARKED) == 0
    assert wait_for(lambda: parked_gauge(web_session) == 0.0)
