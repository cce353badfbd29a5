"""Nothing lost: a killed catalog process or a stopped broker loses no committed event.

The catalog runs as a real process (``kosi serve catalog``) against real PostgreSQL and
RabbitMQ (a vhost of its own per test); a durable spy queue bound to ``catalog.events``
stands in for a consumer.
"""
import os
import signal
import subprocess
import sys
import time
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcClient

from kernel import broker
from kernel.db import create_db_engine, unit_of_work_factory
from services.catalog import entries as catalog_entries
from services.catalog.models import metadata
from contracts.catalog.api import EntryCreateSchema
from kernel.schemas import load_input
from tests import wire
from tests.databases import fresh_catalog_database
from tests.identity import TRUSTED_SIGNERS, staff_rpc

EDITOR = {"sub": "resilience-test", "roles": ["editor"]}


def entry_payload(number: int) -> dict:
    return {
        "kind": "project",
        "title": f"Dorfladen Nummer {number}",
        "summary": "Ein genossenschaftlicher Dorfladen mit Café und Paketstation.",
        "themes": ["sozialer-zusammenhalt"],
        "location": {"lat": 51.79 + number * 0.0001, "lon": 11.14},
    }


@pytest.fixture
def database_url():
    url = fresh_catalog_database("kosi_test_resilience")
    return url


@pytest.fixture
def amqp_uri(rabbit_uri):
    yield rabbit_uri
    while CatalogProcess.started:  # no process outlives its test, whatever failed
        CatalogProcess.started.pop().kill()


@pytest.fixture
def spy_queue(amqp_uri):
    """A durable queue that receives every catalog event, surviving a broker restart."""
    name = f"resilience-spy-{uuid.uuid4().hex[:8]}"
    broker.declare_topology(amqp_uri, ["catalog"], [])
    connection = broker.connect(amqp_uri)
    channel = connection.channel()
    channel.queue_declare(name, durable=True)
    channel.queue_bind(name, "catalog.events", routing_key="#")
    connection.close()
    yield name
    connection = broker.connect(amqp_uri)
    connection.channel().queue_delete(name)
    connection.close()


class CatalogProcess:
    started: list["CatalogProcess"] = []  # every process a test started, killed at teardown

    def __init__(self, database_url, amqp_uri, relay=True):
        env = dict(os.environ, CATALOG_DATABASE_URL=database_url, LOAD_DEMO_DATA="false",
                   CATALOG_OUTBOX_RELAY="true" if relay else "false", CATALOG_AMQP_URI=amqp_uri,
                   KOSI_TRUSTED_SIGNERS=TRUSTED_SIGNERS)
        self.process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "catalog"], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        CatalogProcess.started.append(self)
        with ClusterRpcClient(timeout=2, uri=amqp_uri) as rpc:
            deadline = time.monotonic() + 60
            while True:
                try:
                    rpc.catalog.health()
                    return
                except Exception:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        self.kill()
                        raise RuntimeError("catalog process did not come up") from None
                    time.sleep(0.3)

    def kill(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def outbox(database_url) -> list:
    engine = create_db_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(metadata.tables["outbox"])).all()
    engine.dispose()
    return rows


def received_event_ids(amqp_uri, queue: str) -> list[str]:
    return [body["event_id"] for body in wire.drain(amqp_uri, queue)]


def wait_until_outbox_drained(database_url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(row.published_at is not None for row in outbox(database_url)):
            return
        time.sleep(0.2)
    raise AssertionError("outbox not drained")


def test_killed_between_commit_and_publish_loses_nothing(database_url, amqp_uri, spy_queue):
    # relay off: every change is committed and its event stored, but nothing is published yet
    catalog = CatalogProcess(database_url, amqp_uri, relay=False)
    try:
        with staff_rpc(amqp_uri, EDITOR, timeout=10) as rpc:
            created = [rpc.catalog.create_entry(entry_payload(n))["id"] for n in range(20)]
    finally:
        catalog.kill()  # SIGKILL: no clean shutdown, no last flush
    assert len(outbox(database_url)) == 20
    assert all(row.published_at is None for row in outbox(database_url))
    assert received_event_ids(amqp_uri, spy_queue) == []

    catalog = CatalogProcess(database_url, amqp_uri, relay=True)
    try:
        wait_until_outbox_drained(database_url)
    finally:
        catalog.stop()
    stored = {row.event_id for row in outbox(database_url)}
    received = received_event_ids(amqp_uri, spy_queue)
    assert set(received) == stored
    assert {row.payload["data"]["id"] for row in outbox(database_url)} == set(created)


WRITERS = 6
WRITES_EACH = 12


def entries_in(database_url) -> dict[str, dict]:
    """Stored entries by title: their id and status."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            table = metadata.tables["entries"]
            return {row.title: {"id": row.id, "status": row.status}
                    for row in conn.execute(sa.select(table.c.id, table.c.title, table.c.status))}
    finally:
        engine.dispose()


def stored_rows(database_url) -> int:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(metadata.tables["entries"])).scalar_one()
    finally:
        engine.dispose()


def test_killed_while_writes_are_in_flight_keeps_every_answered_write_and_no_half_done_one(
        database_url, amqp_uri, spy_queue):
    """Several writers at once; the catalog is SIGKILLed in the middle of their calls and
    started again. Every write answered with success is stored with its event; a write that
    got an error is either wholly there (entry and event) or not at all."""
    catalog = CatalogProcess(database_url, amqp_uri, relay=True)
    answered, failed, spans = {}, set(), []
    started = eventlet.event.Event()

    def writer(number):
        with staff_rpc(amqp_uri, EDITOR, timeout=5) as rpc:
            for attempt in range(WRITES_EACH):
                title = f"Dorfladen {number}-{attempt}"
                began = time.monotonic()
                try:
                    answered[title] = rpc.catalog.create_entry({**entry_payload(number * 100 + attempt),
                                                                "title": title})["id"]
                except Exception:  # killed mid-call: a timeout or a lost reply, checked below
                    failed.add(title)
                spans.append((began, time.monotonic()))
                if len(answered) >= WRITERS * 2 and not started.ready():
                    started.send()

    writers = [eventlet.spawn(writer, number) for number in range(WRITERS)]
    started.wait()
    killed_at = time.monotonic()
    catalog.kill()  # SIGKILL while the writers' calls are in flight
    catalog = CatalogProcess(database_url, amqp_uri, relay=True)
    for thread in writers:
        thread.wait()
    try:
        wait_until_outbox_drained(database_url)
    finally:
        catalog.stop()

    # calls in flight at the kill: the broker delivered them again to the new process, or
    # they failed at the caller; either way the kill hit writes under way
    assert any(began < killed_at < ended for began, ended in spans) or failed
    assert len(answered) + len(failed) == WRITERS * WRITES_EACH
    stored = entries_in(database_url)
    assert stored_rows(database_url) == len(stored)  # no write doubled by its redelivery
    events = {row.payload["data"]["id"]: row.event_id for row in outbox(database_url)
              if row.event_type == "entry.published"}
    received = set(received_event_ids(amqp_uri, spy_queue))
    for title, entry_id in answered.items():
        assert stored[title]["id"] == entry_id and stored[title]["status"] == "published", title
        assert events[entry_id] in received, title  # its event reached the consumer side
    for title in failed:
        if title in stored:  # done after all: then wholly, with its event published
            assert events[stored[title]["id"]] in received, title
    assert set(events) == {entry["id"] for entry in stored.values()}  # no event without its entry


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", *args], check=True, stdout=subprocess.DEVNULL, timeout=120)


def test_broker_stopped_during_a_stream_of_writes_loses_nothing(database_url, amqp_uri, spy_queue):
    catalog = CatalogProcess(database_url, amqp_uri, relay=True)
    engine = create_db_engine(database_url)
    make_uow = unit_of_work_factory(engine, "catalog", metadata)

    def write(number):
        with make_uow() as uow:
            catalog_entries.create_entry(uow, load_input(EntryCreateSchema, entry_payload(number)), EDITOR)

    try:
        for number in range(10):
            write(number)
        rabbitmqctl("stop_app")
        try:
            for number in range(10, 25):  # committed while the broker is away
                write(number)
            assert any(row.published_at is None for row in outbox(database_url))
        finally:
            rabbitmqctl("start_app")
        for number in range(25, 30):
            write(number)
        wait_until_outbox_drained(database_url, seconds=90)
    finally:
        catalog.stop()
        engine.dispose()
    stored = {row.event_id for row in outbox(database_url)}
    assert len(stored) == 30
    assert stored <= set(received_event_ids(amqp_uri, spy_queue))
