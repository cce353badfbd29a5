"""A service's ops port: liveness answers whatever its dependencies do, readiness says which
one is down (kernel/ops.py); `kosi health` reads both from the service's config."""
import eventlet
import nameko
import pytest
import requests
import sqlalchemy as sa
from nameko.rpc import rpc

from cli import health as kosi_health
from kernel import ops
from kernel.dependencies import Database
from kernel.ops import OpsEndpoint
from kernel.outbox import handled_calls_table, inbox_table, outbox_table
from tests.databases import ADMIN_URL, fresh_database
from tests.mail import free_port

metadata = sa.MetaData()
outbox_table(metadata)
inbox_table(metadata)
handled_calls_table(metadata)


class Probed:
    name = "probed"
    db = Database(metadata, service="probed")
    ops = OpsEndpoint()

    @rpc
    def ping(self):
        return "pong"


@pytest.fixture
def probed(container_factory, rabbit_config, monkeypatch):
    monkeypatch.setattr(ops, "READY_CACHE_SECONDS", 0.0)
    database_url = fresh_database("kosi_test_ops")
    address = f"127.0.0.1:{free_port()}"
    with nameko.config.patch({"PROBED_DATABASE_URL": database_url, "PROBED_OUTBOX_RELAY": False,
                              "METRICS_ADDRESS": address}):
        container = container_factory(Probed)
        container.start()
        yield f"http://{address}"


def _drop_database(name: str) -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_liveness_and_readiness_while_everything_answers(probed):
    live = requests.get(f"{probed}/health/live", timeout=5)
    assert (live.status_code, live.json()) == (200, {"status": "alive", "service": "probed"})
    assert live.headers["Cache-Control"] == "no-store"
    ready = requests.get(f"{probed}/health/ready", timeout=5)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "service": "probed",
                            "checks": {"broker": {"status": "ok"}, "db": {"status": "ok"}}}
    assert "kosi_worker_duration_seconds" in requests.get(f"{probed}/metrics", timeout=5).text


def test_a_lost_database_makes_it_unready_but_not_dead(probed):
    _drop_database("kosi_test_ops")
    ready = requests.get(f"{probed}/health/ready", timeout=10)
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["broker"] == {"status": "ok"}
    assert body["checks"]["db"]["status"] == "down"
    assert "kosi_test_ops" in body["checks"]["db"]["detail"]  # says what is missing
    assert requests.get(f"{probed}/health/live", timeout=5).status_code == 200


def test_kosi_health_asks_the_port_of_the_services_config(probed, monkeypatch, capsys):
    address = probed.removeprefix("http://")
    monkeypatch.setattr(kosi_health.registry, "config_of", lambda service: {"METRICS_ADDRESS": address})
    assert kosi_health.report("catalog", ready=False, rpc=False, timeout=5) == kosi_health.OK
    assert '"alive"' in capsys.readouterr().out
    _drop_database("kosi_test_ops")
    assert kosi_health.report("catalog", ready=True, rpc=False, timeout=5) == kosi_health.UNHEALTHY
    assert '"not ready"' in capsys.readouterr().out


def test_kosi_health_without_an_ops_port_says_so(monkeypatch, capsys):
    monkeypatch.setattr(kosi_health.registry, "config_of", lambda service: {"METRICS_ADDRESS": ""})
    assert kosi_health.report("survey", ready=True, rpc=False, timeout=1) == kosi_health.NOT_CONFIGURED
    assert "SURVEY_METRICS_ADDRESS is not set" in capsys.readouterr().out


def test_kosi_health_of_a_wildcard_bind_asks_loopback(monkeypatch):
    monkeypatch.setattr(kosi_health.registry, "config_of", lambda service: {"METRICS_ADDRESS": "0.0.0.0:9100"})
    assert kosi_health.ops_url("notify", "live") == "http://127.0.0.1:9100/health/live"


def test_a_schema_older_than_the_code_is_not_ready_a_newer_one_is(tmp_path):
    from kernel.migrations import schema_behind, upgrade

    url = fresh_database("kosi_test_ops_schema")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            assert "revision none" in schema_behind("catalog", connection)   # never migrated
        upgrade("catalog", url, "0003")
        with engine.connect() as connection:
            behind = schema_behind("catalog", connection)
        assert "schema at revision 0003" in behind and "kosi db upgrade catalog" in behind
        upgrade("catalog", url)
        with engine.begin() as connection:
            assert schema_behind("catalog", connection) is None
            # a newer release migrated it (a revision this code does not know): expand/contract
            connection.execute(sa.text("UPDATE alembic_version SET version_num = 'from_a_newer_release'"))
        with engine.connect() as connection:
            assert schema_behind("catalog", connection) is None
            assert schema_behind("probed", connection) is None   # a service without migrations
    finally:
        engine.dispose()
        _drop_database("kosi_test_ops_schema")


class ProbedWithoutBroker:
    name = "probed_gateway"
    ops = OpsEndpoint(check_broker=False)

    @rpc
    def ping(self):
        return "pong"


def test_a_service_may_stay_ready_without_the_broker(container_factory, rabbit_config, monkeypatch):
    """The gateway's readiness: its cached reads and its 503 answers need no broker."""
    monkeypatch.setattr(ops, "READY_CACHE_SECONDS", 0.0)
    address = f"127.0.0.1:{free_port()}"
    with nameko.config.patch({"METRICS_ADDRESS": address}):
        container_factory(ProbedWithoutBroker).start()
        monkeypatch.setattr(ops, "_broker_answers", lambda uri: (_ for _ in ()).throw(ConnectionError("down")))
        ready = requests.get(f"http://{address}/health/ready", timeout=5)
    assert (ready.status_code, ready.json()["checks"]) == (200, {})


def test_the_checks_run_side_by_side_within_one_timeout(probed, monkeypatch):
    """Broker and database both hanging: one CHECK_TIMEOUT, inside a probe's 5 s, not one per check."""
    import time as clock

    monkeypatch.setattr(ops, "CHECK_TIMEOUT", 1.0)
    monkeypatch.setattr(ops, "_broker_answers", lambda uri: eventlet.sleep(10))
    monkeypatch.setattr(Database, "check_ready", lambda self: eventlet.sleep(10))
    started = clock.monotonic()
    ready = requests.get(f"{probed}/health/ready", timeout=10)
    assert clock.monotonic() - started < 1.9
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"broker": {"status": "down", "detail": "no answer within 1s"},
                                      "db": {"status": "down", "detail": "no answer within 1s"}}
