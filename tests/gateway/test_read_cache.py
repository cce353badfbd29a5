"""The gateway's read cache with the real catalog, RabbitMQ and PostgreSQL: anonymous reads
are answered from the gateway's copies, a change is visible within a second and never goes
back, a stopped catalog leaves cached reads answering (with Age) and others 503, staff reads
never touch the cache."""
import time

import pytest
from nameko.testing.utils import get_container

from gateway.read_cache import PublicReadCache
from gateway.service import GatewayService
from kernel import broker
from services.catalog.service import CatalogService
from tests.databases import fresh_catalog_database
from tests.gateway.test_http import API, assert_problem, bearer, entry_data, gateway_config
from tests.wait import wait_for


def read_cache_of(runner) -> PublicReadCache:
    return next(extension for extension in get_container(runner, GatewayService).extensions
                if isinstance(extension, PublicReadCache))


@pytest.fixture
def catalog_database():
    return fresh_catalog_database("kosi_test_read_cache")


@pytest.fixture
def platform(rabbit_config, rabbit_uri, web_config, runner_factory, catalog_database):
    broker.declare_topology(rabbit_uri, ["catalog"], [])
    runner = runner_factory({**gateway_config(catalog_database), "RPC_TIMEOUT": 1.5, "READ_CACHE_TTL_SECONDS": 60},
                            CatalogService, GatewayService)
    runner.start()
    reader = read_cache_of(runner)
    assert wait_for(lambda: reader.cache.live, seconds=10), "the read cache never listened"
    yield {"runner": runner, "cache": reader.cache}


def quiet(cache, seconds=0.5) -> None:
    """Until no change notice came for ``seconds`` (the creations' notices are in)."""
    while True:
        generation = cache.generation
        time.sleep(seconds)
        if cache.generation == generation:
            return


def create(web_session, **overrides) -> dict:
    response = web_session.post(f"{API}/entries", json=entry_data(**overrides), headers=bearer())
    assert response.status_code == 201, response.text
    return response.json()


def test_a_second_anonymous_read_is_the_gateway_s_copy_and_staff_never_get_one(platform, web_session):
    entry = create(web_session)
    quiet(platform["cache"])
    first = web_session.get(f"{API}/entries/{entry['id']}")
    assert first.status_code == 200 and "Age" not in first.headers
    second = web_session.get(f"{API}/entries/{entry['id']}")
    assert second.status_code == 200 and second.headers["Age"] == "0" and second.content == first.content
    assert second.headers["ETag"] == first.headers["ETag"]
    staff = web_session.get(f"{API}/entries/{entry['id']}", headers=bearer())
    assert "Age" not in staff.headers and "contact" in staff.json()


def test_a_change_is_read_within_a_second_and_never_goes_back(platform, web_session):
    entry = create(web_session, summary="Erste Fassung")
    url = f"{API}/entries/{entry['id']}"
    listed = f"{API}/entries"
    assert web_session.get(url).json()["summary"] == "Erste Fassung"
    web_session.get(listed)  # both cached now
    changed = web_session.patch(url, json={"summary": "Zweite Fassung", "version": entry["version"]},
                                headers=bearer())
    assert changed.status_code == 200
    committed = time.monotonic()
    seen_new, versions = None, []
    while time.monotonic() - committed < 3:
        version = web_session.get(url).json()["version"]
        versions.append(version)
        if version == entry["version"] + 1 and seen_new is None:
            seen_new = time.monotonic() - committed
        if seen_new is not None and time.monotonic() - committed > seen_new + 1:
            break
    assert seen_new is not None and seen_new <= 1.0, versions
    first_new = versions.index(entry["version"] + 1)
    assert set(versions[first_new:]) == {entry["version"] + 1}  # never the old one after the new
    assert [item["summary"] for item in web_session.get(listed).json()["items"]] == ["Zweite Fassung"]


def test_a_stopped_catalog_leaves_cached_reads_answering(platform, web_session, container_factory):
    kept = create(web_session, title="Dorfladen Wippra")
    other = create(web_session, title="Reparaturcafé Halle")
    quiet(platform["cache"])
    cached = web_session.get(f"{API}/entries/{kept['id']}")
    assert cached.status_code == 200
    get_container(platform["runner"], CatalogService).stop()

    served = web_session.get(f"{API}/entries/{kept['id']}")
    assert served.status_code == 200 and served.content == cached.content and "Age" in served.headers
    missing = assert_problem(web_session.get(f"{API}/entries/{other['id']}"), 503)
    assert "catalog" in missing["detail"]
    assert web_session.get(f"{API}/entries/{kept['id']}", headers=bearer()).status_code == 503  # staff: no copy

    container_factory(CatalogService).start()
    assert wait_for(lambda: web_session.get(f"{API}/entries/{other['id']}").status_code == 200, seconds=20)
    changed = web_session.patch(f"{API}/entries/{kept['id']}", json={"title": "Dorfladen Wippra eG", "version": 1},
                                headers=bearer())
    assert changed.status_code == 200
    assert wait_for(lambda: web_session.get(f"{API}/entries/{kept['id']}").json()["title"] == "Dorfladen Wippra eG",
                    seconds=2)


def test_without_the_change_exchange_the_cache_stays_off_and_reads_still_work(rabbit_config, rabbit_uri, web_config,
                                                                              runner_factory, catalog_database,
                                                                              web_session):
    """Before `kosi broker setup` declared catalog.changes (and before the catalog published),
    the gateway neither dies nor answers from copies it could not keep fresh."""
    runner = runner_factory(gateway_config(catalog_database), GatewayService)
    runner.start()
    reader = read_cache_of(runner)
    time.sleep(1)
    assert not reader.cache.live
    assert web_session.get(f"{API}/health").status_code == 200
    broker.declare_topology(rabbit_uri, ["catalog"], [])
    assert wait_for(lambda: reader.cache.live, seconds=10)
