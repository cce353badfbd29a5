"""Reliable consumption: idempotent under redelivery, failures dead-lettered and replayable."""
import json
import time

import nameko
import pika
import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields
from nameko.rpc import rpc

from kernel import broker
from kernel.db import create_db_engine, unit_of_work_factory
from kernel.dependencies import Database
from kernel.events import make_event, register
from kernel.inbox import apply_once
from kernel.messaging import reliable_event_handler, subscriptions_of
from kernel.outbox import inbox_table, outbox_table
from tests.databases import fresh_database


@register("bell.rung")
class BellRungSchema(Schema):
    times = fields.Integer(required=True)


metadata = sa.MetaData()
counters = sa.Table("counters", metadata, sa.Column("name", sa.String(20), primary_key=True),
                    sa.Column("value", sa.Integer, nullable=False))
outbox_table(metadata)
inbox_table(metadata)


class BellCounter:
    name = "bellcounter"
    db = Database(metadata, producer="bellcounter")

    @reliable_event_handler("belltower", "bell.rung")
    def count(self, body):
        def effect(uow, envelope):
            if envelope["data"]["times"] < 0:
                raise ValueError("a bell cannot ring a negative number of times")
            uow.session.execute(sa.update(counters).values(value=counters.c.value + envelope["data"]["times"]))

        apply_once(self.db, "bellcounter.count", body, effect)

    @rpc
    def total(self):
        with self.db() as uow:
            return uow.session.execute(sa.select(counters.c.value)).scalar_one()


@pytest.fixture(scope="module")
def database_url():
    url = fresh_database("kosi_test_consumer")
    engine = create_db_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def counter_db(database_url):
    engine = create_db_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.delete(counters))
        conn.execute(sa.delete(metadata.tables["inbox"]))
        conn.execute(sa.insert(counters).values(name="bells", value=0))
    yield engine
    engine.dispose()


@pytest.fixture
def running_counter(container_factory, rabbit_config, rabbit_uri, database_url, counter_db):
    broker.declare_topology(rabbit_uri, ["belltower"], subscriptions_of(BellCounter))
    with nameko.config.patch({"DATABASE_URL": database_url}):
        container = container_factory(BellCounter)
        container.start()
        yield container


def publish_raw(amqp_uri, body: dict, message_id=None):
    """As a non-nameko producer would: plain JSON on the producer's topic exchange."""
    connection = broker.connect(amqp_uri)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish("belltower.events", body["type"], json.dumps(body).encode(),
                          pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                               message_id=message_id or body["event_id"]),
                          mandatory=True)
    connection.close()


def wait_for(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def total(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(counters.c.value)).scalar_one()


def test_redelivered_event_changes_nothing_twice(running_counter, rabbit_uri, counter_db):
    event = make_event("belltower", "bell.rung", {"times": 3})
    for _ in range(3):
        publish_raw(rabbit_uri, event)
    publish_raw(rabbit_uri, make_event("belltower", "bell.rung", {"times": 1}))
    assert wait_for(lambda: total(counter_db) == 4)
    time.sleep(0.5)  # give any wrong double-apply time to show
    assert total(counter_db) == 4


def test_apply_once_is_idempotent_without_a_broker(counter_db):
    make_uow = unit_of_work_factory(counter_db, "bellcounter", metadata)
    event = make_event("belltower", "bell.rung", {"times": 2})
    effect = lambda uow, envelope: uow.session.execute(  # noqa: E731
        sa.update(counters).values(value=counters.c.value + envelope["data"]["times"]))
    assert apply_once(make_uow, "test", event, effect) is True
    assert apply_once(make_uow, "test", event, effect) is False
    assert total(counter_db) == 2


def test_failing_event_goes_to_dead_letters_and_replays(running_counter, rabbit_uri, counter_db):
    bad = make_event("belltower", "bell.rung", {"times": -1})
    publish_raw(rabbit_uri, bad)
    assert wait_for(lambda: len(broker.dead_letters(rabbit_uri)) == 1)
    letter = broker.dead_letters(rabbit_uri)[0]
    assert letter["message_id"] == bad["event_id"]
    assert letter["origin"]["queue"] == "evt-belltower-bell.rung--bellcounter.count"
    assert letter["body"]["data"] == {"times": -1}
    assert total(counter_db) == 0

    # an operator fixes the cause (here: the data) and replays; the handler now succeeds
    with counter_db.begin() as conn:
        conn.execute(sa.update(counters).values(value=5))
    connection = broker.connect(rabbit_uri)
    channel = connection.channel()
    method, props, body = channel.basic_get("kosi.dead-letters")
    fixed = json.loads(body)
    fixed["data"]["times"] = 1
    channel.basic_nack(method.delivery_tag, requeue=False)
    channel.basic_publish("", "kosi.dead-letters", json.dumps(fixed).encode(), props)
    connection.close()
    assert broker.replay_dead_letters(rabbit_uri) == 1
    assert wait_for(lambda: total(counter_db) == 6)
    assert broker.dead_letters(rabbit_uri) == []


def test_event_breaking_its_contract_is_dead_lettered(running_counter, rabbit_uri, counter_db):
    event = make_event("belltower", "bell.rung", {"times": 1})
    event["data"] = {"times": "many"}
    publish_raw(rabbit_uri, event)
    assert wait_for(lambda: len(broker.dead_letters(rabbit_uri)) == 1)
    assert total(counter_db) == 0


def test_events_published_before_the_consumer_starts_wait_in_its_queue(
        container_factory, rabbit_config, rabbit_uri, database_url, counter_db):
    broker.declare_topology(rabbit_uri, ["belltower"], subscriptions_of(BellCounter))
    publish_raw(rabbit_uri, make_event("belltower", "bell.rung", {"times": 7}))
    with nameko.config.patch({"DATABASE_URL": database_url}):
        container = container_factory(BellCounter)
        container.start()
        assert wait_for(lambda: total(counter_db) == 7)
