"""Reliable consumption against real RabbitMQ and PostgreSQL: idempotent under redelivery,
failures retried with backoff and only then dead-lettered with their reason, poison messages
out of the way of the others, unknown versions parked, replays counted."""

import nameko
import pika
import pytest
import sqlalchemy as sa
from marshmallow import fields
from nameko.rpc import rpc

from kernel import broker, events, topology
from kernel.db import create_db_engine, unit_of_work_factory
from kernel.dependencies import Database, Tracing
from kernel.events import EventContract, make_event, register
from kernel.inbox import apply_once
from kernel.messaging import reliable_event_handler, subscriptions_of
from kernel.outbox import inbox_table, outbox_table
from tests import wire
from tests.databases import fresh_database
from tests.wait import settled, wait_for

RETRY_DELAYS = (0.1, 0.2, 0.4)
QUEUE = "bellcounter.bell-rung"


@register("belltower", "bell.rung")
class BellRung(EventContract):
    times = fields.Integer(required=True)


metadata = sa.MetaData()
counters = sa.Table("counters", metadata, sa.Column("name", sa.String(20), primary_key=True),
                    sa.Column("value", sa.Integer, nullable=False))
# how many more times a handler of a "times" value fails before it works (a flaky store)
flaky = sa.Table("flaky", metadata, sa.Column("times", sa.Integer, primary_key=True),
                 sa.Column("failures_left", sa.Integer, nullable=False))
outbox_table(metadata)
inbox_table(metadata)


def count_bells(uow, envelope):
    times = envelope["data"]["times"] if envelope["version"] == 1 else envelope["data"]["strokes"]
    if times < 0:
        raise ValueError("a bell cannot ring a negative number of times")
    with uow.session.get_bind().begin() as conn:  # a transaction of its own: the countdown survives
        left = conn.execute(sa.select(flaky.c.failures_left).where(flaky.c.times == times)).scalar()
        if left:
            conn.execute(sa.update(flaky).where(flaky.c.times == times).values(failures_left=left - 1))
    if left:
        raise ConnectionError(f"store unavailable ({left} more)")
    uow.session.execute(sa.update(counters).values(value=counters.c.value + times))


class BellCounter:
    name = "bellcounter"
    db = Database(metadata, service="bellcounter")
    tracing = Tracing()

    @reliable_event_handler("belltower", "bell.rung", subscription="bell-rung")
    def count(self, envelope):
        apply_once(self.db, "bellcounter.count", envelope, count_bells)

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
        for table in (counters, flaky, metadata.tables["inbox"]):
            conn.execute(sa.delete(table))
        conn.execute(sa.insert(counters).values(name="bells", value=0))
    yield engine
    engine.dispose()


def counter_config(database_url) -> dict:
    return {"BELLCOUNTER_DATABASE_URL": database_url, "BELLCOUNTER_OUTBOX_RELAY": False,
            "EVENT_RETRY_DELAYS": list(RETRY_DELAYS)}


@pytest.fixture
def topology_ready(rabbit_config, rabbit_uri):
    broker.declare_topology(rabbit_uri, ["belltower"], subscriptions_of(BellCounter), RETRY_DELAYS)


@pytest.fixture
def running_counter(container_factory, topology_ready, database_url, counter_db):
    with nameko.config.patch(counter_config(database_url)):
        container = container_factory(BellCounter)
        container.start()
        yield container


def publish_raw(amqp_uri, body: dict, message_id=None):
    """As a non-nameko producer would: plain JSON on the producer's topic exchange."""
    wire.publish_event(amqp_uri, "belltower.events", body, message_id)


def total(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(counters.c.value)).scalar_one()


def bell(times: int) -> dict:
    return make_event("belltower", "bell.rung", {"times": times})


def make_flaky(engine, times: int, failures: int):
    with engine.begin() as conn:
        conn.execute(sa.insert(flaky).values(times=times, failures_left=failures))


def all_queues():
    return [QUEUE, *(topology.delay_queue_name(delay) for delay in RETRY_DELAYS)]


# ---------------------------------------------------------------------- idempotence

def test_redelivered_event_changes_nothing_twice(running_counter, rabbit_uri, counter_db):
    event = bell(3)
    for _ in range(3):
        publish_raw(rabbit_uri, event)
    publish_raw(rabbit_uri, bell(1))
    assert wait_for(lambda: total(counter_db) == 4)
    assert settled(rabbit_uri, *all_queues())  # every delivery handled: no late double-apply to come
    assert total(counter_db) == 4
    assert broker.dead_letters(rabbit_uri) == []


def test_an_acknowledgement_the_broker_cannot_take_leaves_the_service_running(running_counter, rabbit_uri,
                                                                              counter_db, monkeypatch):
    """The broker restarting while a handler finished: its ack fails. Found by the fault suite,
    where that ended the worker's thread and nameko stopped the search service for good."""
    from nameko.amqp.consume import Consumer

    real_ack, broken = Consumer.ack_message, [True]

    def ack_message(self, message):
        if broken:
            broken.pop()
            raise ConnectionResetError(104, "Connection reset by peer")
        return real_ack(self, message)

    monkeypatch.setattr(Consumer, "ack_message", ack_message)
    publish_raw(rabbit_uri, bell(2))
    assert wait_for(lambda: total(counter_db) == 2) and not broken
    publish_raw(rabbit_uri, bell(3))
    assert wait_for(lambda: total(counter_db) == 5)
    assert running_counter.started and not running_counter._died.ready()


def test_apply_once_is_idempotent_without_a_broker(counter_db):
    make_uow = unit_of_work_factory(counter_db, "bellcounter", metadata)
    event = bell(2)
    assert apply_once(make_uow, "test", event, count_bells) is True
    assert apply_once(make_uow, "test", event, count_bells) is False
    assert apply_once(make_uow, "another consumer", event, count_bells) is True  # per consumer
    assert total(counter_db) == 4


# ---------------------------------------------------------------------- retries, dead letters

def test_a_failing_store_is_retried_with_backoff_and_nothing_is_dead_lettered(running_counter, rabbit_uri,
                                                                              counter_db):
    make_flaky(counter_db, 5, failures=len(RETRY_DELAYS))  # fails on every retry but the last
    publish_raw(rabbit_uri, bell(5))
    assert wait_for(lambda: total(counter_db) == 5)
    assert settled(rabbit_uri, *all_queues())
    assert total(counter_db) == 5
    assert broker.dead_letters(rabbit_uri) == []


def test_a_poison_message_is_dead_lettered_with_its_reason_while_others_flow(running_counter, rabbit_uri,
                                                                             counter_db):
    poison = bell(-1)
    publish_raw(rabbit_uri, poison)
    for times in (1, 2, 3):
        publish_raw(rabbit_uri, bell(times))
    assert wait_for(lambda: total(counter_db) == 6)  # the others did not wait for the poison's retries
    assert wait_for(lambda: len(broker.dead_letters(rabbit_uri)) == 1)
    [letter] = broker.dead_letters(rabbit_uri)
    assert letter["message_id"] == poison["event_id"]
    assert letter["queue"] == QUEUE
    assert letter["error_type"] == "ValueError"
    assert letter["error"] == "ValueError: a bell cannot ring a negative number of times"
    assert letter["attempts"] == len(RETRY_DELAYS) + 1
    assert letter["body"]["data"] == {"times": -1}
    assert total(counter_db) == 6


def test_a_replayed_dead_letter_is_applied_once_after_the_fix_and_a_loop_is_refused(
        running_counter, rabbit_uri, counter_db):
    make_flaky(counter_db, 4, failures=100)  # broken until an operator fixes the store
    publish_raw(rabbit_uri, bell(4))
    assert wait_for(lambda: len(broker.dead_letters(rabbit_uri)) == 1)

    # replayed while still broken: a fresh round of retries, then dead again, counted
    report = broker.replay_dead_letters(rabbit_uri, max_replays=1)
    assert (report.replayed, report.refused) == (1, [])
    assert wait_for(lambda: [letter["replayed"] for letter in broker.dead_letters(rabbit_uri)] == [1])
    refused = broker.replay_dead_letters(rabbit_uri, max_replays=1)
    assert refused.replayed == 0 and [r["replayed"] for r in refused.refused] == [1]
    assert len(broker.dead_letters(rabbit_uri)) == 1  # refused, not lost

    with counter_db.begin() as conn:  # the operator fixes the cause, then replays
        conn.execute(sa.update(flaky).values(failures_left=0))
    assert broker.replay_dead_letters(rabbit_uri).replayed == 1
    assert wait_for(lambda: total(counter_db) == 4)
    assert broker.replay_dead_letters(rabbit_uri).replayed == 0
    assert settled(rabbit_uri, *all_queues())
    assert total(counter_db) == 4 and broker.dead_letters(rabbit_uri) == []


def test_a_body_that_is_not_json_is_dead_lettered_and_the_queue_keeps_flowing(running_counter, rabbit_uri,
                                                                               counter_db):
    connection = broker.connect(rabbit_uri)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish("belltower.events", "bell.rung", b"ding dong {",
                          pika.BasicProperties(content_type="application/json", message_id="garbage-1"))
    connection.close()
    publish_raw(rabbit_uri, bell(2))
    assert wait_for(lambda: total(counter_db) == 2)
    assert wait_for(lambda: len(broker.dead_letters(rabbit_uri)) == 1)
    [letter] = broker.dead_letters(rabbit_uri)
    assert (letter["message_id"], letter["queue"], letter["attempts"]) == ("garbage-1", QUEUE, 1)
    assert letter["body"] == "ding dong {" and letter["error_type"]


def test_an_event_breaking_its_contract_is_dead_lettered_at_once(running_counter, rabbit_uri, counter_db):
    event = bell(1)
    event["data"] = {"times": "many"}
    publish_raw(rabbit_uri, event)
    assert wait_for(lambda: len(broker.dead_letters(rabbit_uri)) == 1)
    [letter] = broker.dead_letters(rabbit_uri)
    assert (letter["error_type"], letter["attempts"]) == ("ValidationFailed", 1)
    assert total(counter_db) == 0


# ---------------------------------------------------------------------- reading tolerantly

def test_unknown_fields_are_ignored_and_an_unknown_version_is_parked(running_counter, rabbit_uri, counter_db,
                                                                     monkeypatch):
    newer = bell(2)
    newer["data"]["loudness"] = "fortissimo"   # a field a newer producer added
    newer["trace"] = {"hops": 1}               # and one in the envelope
    publish_raw(rabbit_uri, newer)
    # the same event in two versions side by side: this consumer reads v1, skips v2
    both = bell(7)
    both["versions"] = [2, 1]
    publish_raw(rabbit_uri, {**both, "version": 2, "data": {"strokes": 7}}, message_id=both["event_id"] + ".v2")
    publish_raw(rabbit_uri, both, message_id=both["event_id"] + ".v1")
    # a version it cannot read at all
    future = {**bell(9), "version": 3, "versions": [3], "data": {"strokes": 9}}
    publish_raw(rabbit_uri, future)
    assert wait_for(lambda: total(counter_db) == 9)
    assert wait_for(lambda: len(broker.parked(rabbit_uri, ["bellcounter.parked"])["bellcounter.parked"]) == 1)
    [message] = broker.parked(rabbit_uri, ["bellcounter.parked"])["bellcounter.parked"]
    assert message["message_id"] == future["event_id"] and message["queue"] == QUEUE
    assert message["parked_reason"] == "bell.rung v3 cannot be read here (this consumer reads versions: 1)"
    assert settled(rabbit_uri, *all_queues())
    assert total(counter_db) == 9 and broker.dead_letters(rabbit_uri) == []

    # the consumer is upgraded (it reads v3 now) and the parked event is replayed to it, once
    monkeypatch.setitem(events._CONTRACTS, ("bell.rung", 3),
                        events.Contract("belltower", "bell.rung", 3, BellRungV3()))
    assert broker.replay_parked(rabbit_uri, "bellcounter.parked").replayed == 1
    assert wait_for(lambda: total(counter_db) == 18)
    assert settled(rabbit_uri, *all_queues())
    assert total(counter_db) == 18 and broker.peek(rabbit_uri, "bellcounter.parked") == []


class BellRungV3(EventContract):
    strokes = fields.Integer(required=True)


def test_events_published_before_the_consumer_starts_wait_in_its_queue(
        container_factory, topology_ready, rabbit_uri, database_url, counter_db):
    publish_raw(rabbit_uri, bell(7))
    with nameko.config.patch(counter_config(database_url)):
        container = container_factory(BellCounter)
        container.start()
        assert wait_for(lambda: total(counter_db) == 7)


def test_a_consumer_refuses_to_start_before_broker_setup(container_factory, rabbit_config, database_url):
    with nameko.config.patch(counter_config(database_url)):
        container = container_factory(BellCounter)
        with pytest.raises(Exception) as refused:
            container.start()
    assert "kosi broker setup" in str(refused.value) and "belltower.events" in str(refused.value)
