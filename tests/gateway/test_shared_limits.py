"""Abuse limits shared by gateway processes through Redis (database 15 of the local server)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests

from cli.local import stop_all
from gateway.errors import TooManyRequests
from gateway.ratelimit import KEY_PREFIX, SharedLimiter
from tests.databases import fresh_catalog_database
from tests.identity import GATEWAY_KEY, TRUSTED_SIGNERS
from tests.mail import free_port
from tests.search.test_search_service import entry_data
from tests.wait import wait_for

REDIS_URL = "redis://127.0.0.1:6379/15"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def test_two_limiters_on_one_redis_count_together_and_keep_clients_apart(store):
    first, second = (SharedLimiter(store, "probe", 3, 60, "probes") for _ in range(2))   # two processes
    first.hit("198.51.100.1")
    second.hit("198.51.100.1")
    first.hit("198.51.100.1")
    with pytest.raises(TooManyRequests) as refused:
        second.hit("198.51.100.1")
    assert 1 <= refused.value.retry_after <= 60
    second.hit("198.51.100.2")                          # another client goes on
    assert 0 < store.pttl(f"{KEY_PREFIX}probe:198.51.100.1") <= 60_000   # forgotten with its window


def test_a_redis_that_does_not_answer_counts_in_the_process(caplog):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    limiter = SharedLimiter(redis.Redis(port=port, socket_timeout=0.2, socket_connect_timeout=0.2), "probe", 2, 60,
                            "probes")
    limiter.hit("a")
    limiter.hit("a")
    with pytest.raises(TooManyRequests):
        limiter.hit("a")
    assert "Redis does not answer" in caplog.text


@pytest.fixture
def two_gateways(rabbit_config, rabbit_uri, tmp_path, store):
    """The catalog and two gateway processes behind one (imagined) proxy, sharing Redis."""
    from cli import registry
    from kernel import broker

    broker.declare_topology(rabbit_uri, registry.PRODUCERS, registry.all_subscriptions(), registry.retry_delays())
    common = {key: value for key, value in os.environ.items() if not key.startswith(("KOSI_", "CATALOG_", "GATEWAY_"))}
    common.update(PYTHONPATH=str(REPO), KOSI_TRUSTED_SIGNERS=TRUSTED_SIGNERS)
    ports = [free_port(), free_port()]
    launched = [("catalog", {"CATALOG_AMQP_URI": rabbit_uri,
                             "CATALOG_DATABASE_URL": fresh_catalog_database("kosi_test_shared_limits")})]
    for number, port in enumerate(ports):
        launched.append((f"gateway-{number}", {
            "GATEWAY_AMQP_URI": rabbit_uri, "KOSI_GATEWAY_SIGNING_KEY": GATEWAY_KEY,
            "KOSI_JWT_SECRET": "shared-limits-test-secret-0123456789abcdef", "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
            "GATEWAY_REDIS_URL": REDIS_URL, "GATEWAY_TRUSTED_PROXY_HOPS": "1",
            "GATEWAY_PUBLIC_WRITES_PER_WINDOW": "6"}))
    processes = {}
    try:
        for name, env in launched:
            service = name.split("-")[0]
            processes[name] = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", service], cwd=tmp_path,
                                               env={**common, **env}, stdout=subprocess.DEVNULL,
                                               stderr=open(tmp_path / f"{name}.log", "w"))

        def ready():
            assert all(process.poll() is None for process in processes.values()), \
                {name: (tmp_path / f"{name}.log").read_text()[-2000:] for name in processes}
            try:
                return all(requests.get(f"http://127.0.0.1:{port}/api/v1/entries", timeout=2).status_code == 200
                           for port in ports)
            except requests.RequestException:
                return False

        assert wait_for(ready, seconds=60)
        yield [f"http://127.0.0.1:{port}/api/v1" for port in ports]
    finally:
        stop_all(processes.values(), timeout=20)


def test_a_flood_is_cut_off_across_both_gateways_while_another_client_is_served(two_gateways):
    def submit(base, forwarded_for, number):
        return requests.post(f"{base}/entries", json=entry_data(title=f"Flut Nummer {number}"), timeout=20,
                             headers={"X-Forwarded-For": forwarded_for})

    # the bot, as the proxy saw it, alternating between the gateways; half of its requests
    # claim another address in front (the proxy appends the real one): they count as its
    answers = [submit(two_gateways[number % 2], "6.6.6.6, 198.51.100.1" if number % 3 else "198.51.100.1",
                      number).status_code for number in range(10)]
    assert answers == [202] * 6 + [429] * 4, answers
    refused = submit(two_gateways[0], "198.51.100.1", 99)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # somebody else, on either gateway, is still served
    assert submit(two_gateways[0], "198.51.100.2", 100).status_code == 202
    assert submit(two_gateways[1], "198.51.100.3", 101).status_code == 202
