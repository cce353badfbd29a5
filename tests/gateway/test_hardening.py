"""What an attacker tried (issue 11): each of these failed before its fix."""
import logging
import socket

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

import pytest

from gateway import metrics
from gateway.errors import MissingToken
from kernel.errors import Forbidden
from tests.gateway.test_http import API, assert_problem, catalog_database, create_published, platform  # noqa: F401


def raw_request(port: int, request_line: bytes) -> bytes:
    """One request sent byte for byte (requests would normalise the method and the path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_invented_methods_share_one_metrics_label(platform, web_session, web_config_port):
    for number in range(30):
        answer = raw_request(web_config_port, f"FOO{number} {API}/entries HTTP/1.1".encode())
        assert answer.startswith(b"HTTP/1.1 405"), answer[:200]
    exposition = web_session.get(f"{API}/metrics").text
    assert "FOO" not in exposition
    assert 'method="other",route="<unmatched>",status="405"' in exposition


def test_a_double_slash_is_redirected_to_the_path_it_means_never_500(platform, web_session):
    entry = create_published(web_session, title="Doppelter Schrägstrich")
    answer = web_session.get(f"{API}//entries/{entry['id']}?x=1", allow_redirects=False)
    assert answer.status_code == 308, answer.text
    assert answer.headers["Location"] == f"{API}/entries/{entry['id']}?x=1"  # same host: a path only
    assert web_session.get(f"{API}//entries/{entry['id']}").json()["id"] == entry["id"]
    assert_problem(web_session.get(f"{API}//nothing//here"), 404)


def test_a_newline_in_the_path_cannot_forge_a_log_line(platform, web_config_port, caplog):
    caplog.set_level(logging.INFO)
    # the double slash made a 500, whose log line carried the decoded path
    raw_request(web_config_port, f"GET {API}//entries/x%0A2026-01-01%20forged%20line HTTP/1.1".encode())
    raw_request(web_config_port, f"GET {API}/entries/%0D%0Aforged HTTP/1.1".encode())
    raw_request(web_config_port, f"GET {API}/nothing/%0Aforged HTTP/1.1".encode())
    assert caplog.records, "the requests were logged"
    for record in caplog.records:
        assert "\n" not in record.getMessage() and "\r" not in record.getMessage(), record.getMessage()


def test_ready_checks_the_broker_once_however_often_it_is_asked(platform, web_session, monkeypatch):
    from kernel import broker

    calls = []
    real = broker.is_reachable
    monkeypatch.setattr(broker, "is_reachable", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    answers = [web_session.get(f"{API}/ready").status_code for _ in range(20)]
    assert set(answers) == {200}
    assert len(calls) <= 1


def _request(remote_addr: str, authorization: str | None = None) -> Request:
    headers = {"Authorization": authorization} if authorization else {}
    return Request(EnvironBuilder(path="/api/v1/metrics", headers=headers,
                                  environ_base={"REMOTE_ADDR": remote_addr}).get_environ())


@pytest.mark.parametrize("peer, allowed", [("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.7", True),
                                           ("::1", True), ("8.8.8.8", False), ("2a00:1450:4001::1", False)])
def test_metrics_are_for_the_internal_network_without_a_token(peer, allowed, monkeypatch):
    monkeypatch.setattr(metrics, "nameko_config", {})
    if allowed:
        metrics.check_access(_request(peer))
    else:
        with pytest.raises(Forbidden):
            metrics.check_access(_request(peer))


def test_metrics_need_the_token_when_one_is_configured(monkeypatch):
    monkeypatch.setattr(metrics, "nameko_config", {"METRICS_TOKEN": "metrics-token-0123456789"})
    metrics.check_access(_request("8.8.8.8", "Bearer metrics-token-0123456789"))
    with pytest.raises(MissingToken):
        metrics.check_access(_request("127.0.0.1"))          # the token rules, wherever from
    with pytest.raises(Forbidden):
        metrics.check_access(_request("8.8.8.8", "Bearer guessed"))


def test_the_access_log_keeps_no_search_terms_no_forwarded_for_and_a_truncated_address(platform, web_session,
                                                                                     caplog):
    caplog.set_level(logging.INFO, logger="nameko.web.server")
    web_session.get(f"{API}/entries", params={"q": "Erika Mustermann", "tag": "geheim"},
                    headers={"X-Forwarded-For": "6.6.6.6"})
    web_session.get(f"{API}/themes")
    lines = [record.getMessage() for record in caplog.records if record.name == "nameko.web.server"]
    entries_line = next(line for line in lines if "/api/v1/entries" in line)
    assert '"GET /api/v1/entries?… HTTP/1.1"' in entries_line
    assert entries_line.startswith("127.0.0.0 ")
    assert not any("Mustermann" in line or "geheim" in line or "6.6.6.6" in line for line in lines)
    assert any('"GET /api/v1/themes HTTP/1.1"' in line for line in lines)


@pytest.fixture
def impatient_gateway(rabbit_config, web_config, runner_factory, catalog_database):  # noqa: F811
    from gateway.service import GatewayService
    from services.catalog.service import CatalogService
    from tests.gateway.test_http import gateway_config

    runner = runner_factory({**gateway_config(catalog_database), "SOCKET_TIMEOUT_SECONDS": 1}, CatalogService,
                            GatewayService)
    runner.start()
    yield runner


def test_stalled_clients_are_dropped_and_do_not_keep_others_waiting(impatient_gateway, web_session,
                                                                   web_config_port):
    import time

    stalled = []
    for _ in range(15):                 # more than nameko's default of 10 workers
        sock = socket.create_connection(("127.0.0.1", web_config_port), timeout=10)
        sock.sendall(f"GET {API}/entries HTTP/1.1\r\nHost: 127.0".encode())   # and nothing more
        stalled.append(sock)
    began = time.monotonic()
    assert web_session.get(f"{API}/themes", timeout=5).status_code == 200
    assert time.monotonic() - began < 2
    for sock in stalled:                # each is closed by the gateway after its second
        sock.settimeout(5)
        assert sock.recv(1024) == b""
        sock.close()
    assert time.monotonic() - began < 5


def _browser(method="GET", origin="https://karte.example.org", **headers) -> Request:
    return Request(EnvironBuilder(path="/api/v1/entries", method=method,
                                  headers={"Origin": origin, **headers}).get_environ())


def test_cors_answers_the_preflight_of_an_allowed_origin_only(monkeypatch):
    from werkzeug.wrappers import Response

    from gateway import cors

    monkeypatch.setattr(cors, "nameko_config", {"CORS_ORIGINS": "https://karte.example.org, https://b.example.org/"})
    answer = cors.preflight(_browser("OPTIONS", **{"Access-Control-Request-Method": "PATCH"}))
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "https://karte.example.org"
    assert "PATCH" in answer.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in answer.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in answer.headers      # tokens, never cookies
    assert cors.preflight(_browser("OPTIONS", origin="https://evil.example",
                                   **{"Access-Control-Request-Method": "PATCH"})) is None
    allowed = cors.decorate(_browser(origin="https://b.example.org"), Response("{}", headers={"Vary": "Authorization"}))
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example.org"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert allowed.headers["Vary"] == "Authorization, Origin"
    other = cors.decorate(_browser(origin="https://evil.example"), Response("{}"))
    assert "Access-Control-Allow-Origin" not in other.headers and other.headers["Vary"] == "Origin"
    monkeypatch.setattr(cors, "nameko_config", {"CORS_ORIGINS": ""})
    assert "Vary" not in cors.decorate(_browser(), Response("{}")).headers


def test_an_unconfigured_gateway_refuses_a_preflight_like_any_unknown_method(platform, web_session):
    answer = web_session.options(f"{API}/entries", headers={"Origin": "https://karte.example.org",
                                                            "Access-Control-Request-Method": "GET"})
    assert_problem(answer, 405)
    assert "Access-Control-Allow-Origin" not in answer.headers


@pytest.fixture
def gateway_without_catalog(rabbit_config, rabbit_uri, web_config, runner_factory, catalog_database):  # noqa: F811
    """A gateway whose catalog does not answer (its queue is there, nobody consumes it): each
    entries request waits for its RPC timeout."""
    from kombu import Connection, Exchange, Queue

    from gateway.service import GatewayService
    from tests.gateway.test_http import gateway_config

    with Connection(rabbit_uri) as connection:
        Queue("rpc-catalog", Exchange("nameko-rpc", durable=True, type="topic"), routing_key="catalog.*",
              durable=True)(connection).declare()

    runner = runner_factory({**gateway_config(catalog_database), "RPC_TIMEOUT": 3, "CONCURRENT_REQUESTS_PER_CLIENT": 3,
                             "TRUSTED_PROXY_HOPS": 1}, GatewayService)
    runner.start()
    yield runner


def test_one_client_holds_at_most_its_share_of_the_workers(gateway_without_catalog, web_session):
    import time

    import eventlet

    def entries(client):
        return web_session.get(f"{API}/entries", headers={"X-Forwarded-For": client}, timeout=10)

    pool = eventlet.GreenPool()
    slow = [pool.spawn(entries, "203.0.113.5") for _ in range(3)]   # held until the RPC times out
    eventlet.sleep(0.5)
    began = time.monotonic()
    refused = entries("203.0.113.5")
    assert time.monotonic() - began < 1                               # turned away at once, not queued
    assert_problem(refused, 429)
    assert refused.headers["Retry-After"] == "1"
    assert web_session.get(f"{API}/health", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 200
    other = pool.spawn(entries, "198.51.100.9")                        # another client is let in
    assert [answer.wait().status_code for answer in slow] == [503] * 3
    assert other.wait().status_code == 503                             # served (the catalog is away)
    assert entries("203.0.113.5").status_code == 503                  # its requests ended: let in again
