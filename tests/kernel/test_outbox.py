"""The transactional outbox and its relay against real RabbitMQ, on PostgreSQL and on SQLite
(the embedded default of ``make run``): stored with the change, published in order once
confirmed, kept when the broker refuses or is away, parked when nobody listens, one active
relay per producer, pruned after its retention."""
import threading
import time
from datetime import date, datetime, timedelta, timezone

import kombu.exceptions
import pytest
import sqlalchemy as sa
from marshmallow import fields

from kernel import broker, topology
from kernel.db import create_db_engine, unit_of_work_factory
from kernel.errors import ValidationFailed
from kernel.events import EventContract, register
from kernel.outbox import OutboxRelay, RelayLease, inbox_table, outbox_status, outbox_table, prune_outbox
from tests import wire
from tests.databases import DIALECTS, fresh_database_of
from tests.wait import wait_for

PRODUCER = "notebook"


@register(PRODUCER, "note.written")
class NoteWritten(EventContract):
    text = fields.String(required=True)
    number = fields.Integer()


@register(PRODUCER, "note.filed")
class NoteFiledV1(EventContract):
    title = fields.String(required=True)


@register(PRODUCER, "note.filed", 2, introduced=date.today() - timedelta(days=10),
          downgrade=lambda data: {"title": data["heading"]})
class NoteFiledV2(EventContract):
    heading = fields.String(required=True)
    shelf = fields.String(required=True)


metadata = sa.MetaData()
notes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("text", sa.String(200)))
outbox_table(metadata)
inbox_table(metadata)
OUTBOX = metadata.tables["outbox"]


@pytest.fixture(scope="module", params=DIALECTS)
def engine(request, tmp_path_factory):
    engine = create_db_engine(fresh_database_of(request.param, "kosi_test_kernel", tmp_path_factory.mktemp("outbox")))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def spy(engine, rabbit_config, rabbit_uri):
    """A fresh outbox, and a queue bound to all of the producer's events (own vhost per test)."""
    with engine.begin() as conn:
        conn.execute(sa.delete(OUTBOX))
        conn.execute(sa.delete(notes))
    broker.declare_topology(rabbit_uri, [PRODUCER], [])
    connection = broker.connect(rabbit_uri)
    channel = connection.channel()
    channel.queue_declare("notebook-spy", durable=True)
    channel.queue_bind("notebook-spy", f"{PRODUCER}.events", routing_key="#")
    connection.close()
    return "notebook-spy"


def drain(amqp_uri, queue: str) -> list[dict]:
    return wire.drain(amqp_uri, queue)


def write_note(make_uow, text, number=None):
    with make_uow() as uow:
        uow.session.execute(sa.insert(notes).values(text=text))
        uow.emit("note.written", {"text": text} if number is None else {"text": text, "number": number})
        uow.commit()


def rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(OUTBOX).order_by(OUTBOX.c.id)).all()


def test_change_and_event_are_stored_together_and_relayed_once(engine, spy, rabbit_uri):
    make_uow = unit_of_work_factory(engine, PRODUCER, metadata)
    write_note(make_uow, "eins")
    write_note(make_uow, "zwei")

    relay = OutboxRelay(engine, metadata, PRODUCER, rabbit_uri)
    assert relay.pending_count() == 2
    assert relay.publish_pending() == 2
    assert relay.publish_pending() == 0

    bodies = drain(rabbit_uri, spy)
    assert [body["data"]["text"] for body in bodies] == ["eins", "zwei"]
    assert {body["type"] for body in bodies} == {"note.written"}
    assert all(body["producer"] == PRODUCER and body["versions"] == [1] for body in bodies)
    assert [(row.attempts, row.last_error) for row in rows(engine)] == [(1, None), (1, None)]


def test_a_rolled_back_change_emits_nothing(engine, spy, rabbit_uri):
    make_uow = unit_of_work_factory(engine, PRODUCER, metadata)
    with make_uow() as uow:
        uow.session.execute(sa.insert(notes).values(text="nie"))
        uow.emit("note.written", {"text": "nie"})
        # leaves without commit: the change and its event are gone together
    assert OutboxRelay(engine, metadata, PRODUCER, rabbit_uri).pending_count() == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notes)).scalar_one() == 0


def test_a_batch_refused_part_way_keeps_its_order_attempts_and_error(engine, spy, rabbit_uri):
    """The broker refuses the third message (a full queue that rejects publishes): the first
    two are marked published, the third keeps its error, nothing after it is sent ahead."""
    connection = broker.connect(rabbit_uri)
    channel = connection.channel()
    channel.queue_declare("notebook-full", durable=True,
                          arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    channel.queue_bind("notebook-full", f"{PRODUCER}.events", routing_key="#")
    connection.close()
    make_uow = unit_of_work_factory(engine, PRODUCER, metadata)
    for number in range(5):
        write_note(make_uow, f"Notiz {number}", number)

    relay = OutboxRelay(engine, metadata, PRODUCER, rabbit_uri)
    assert relay.publish_pending() == 2
    stored = rows(engine)
    assert [row.published_at is not None for row in stored] == [True, True, False, False, False]
    assert [row.attempts for row in stored] == [1, 1, 1, 0, 0]
    assert "nack" in stored[2].last_error.lower()
    assert outbox_status(engine, metadata)["pending"] == 3

    wire.drain(rabbit_uri, "notebook-full")  # room for two again
    assert relay.publish_pending() == 2      # two fit, the last is refused again: still in order
    wire.drain(rabbit_uri, "notebook-full")
    assert relay.publish_pending() == 1
    # the spy queue took each refused message too (a nack is for the whole publish): at least
    # once, never out of order
    numbers = [body["data"]["number"] for body in drain(rabbit_uri, spy)]
    assert list(dict.fromkeys(numbers)) == [0, 1, 2, 3, 4] and numbers == sorted(numbers)
    assert [row.last_error for row in rows(engine)] == [None] * 5


def test_broker_unreachable_keeps_events_until_it_returns(engine, spy, rabbit_uri):
    make_uow = unit_of_work_factory(engine, PRODUCER, metadata)
    write_note(make_uow, "wartet")
    unreachable = OutboxRelay(engine, metadata, PRODUCER, "pyamqp://guest:guest@127.0.0.1:1/")
    with pytest.raises(kombu.exceptions.OperationalError):
        unreachable.publish_pending()
    [row] = rows(engine)
    assert row.published_at is None and row.attempts == 1 and "ECONNREFUSED" in row.last_error

    assert OutboxRelay(engine, metadata, PRODUCER, rabbit_uri).publish_pending() == 1
    assert [body["data"]["text"] for body in drain(rabbit_uri, spy)] == ["wartet"]


def test_an_event_nobody_subscribes_to_is_parked_not_dropped(engine, spy, rabbit_uri):
    connection = broker.connect(rabbit_uri)
    connection.channel().queue_unbind(spy, f"{PRODUCER}.events", routing_key="#")
    connection.close()
    make_uow = unit_of_work_factory(engine, PRODUCER, metadata)
    write_note(make_uow, "niemand hört zu")
    assert OutboxRelay(engine, metadata, PRODUCER, rabbit_uri).publish_pending() == 1
    [row] = rows(engine)
    assert row.published_at is not None
    unrouted = topology.unrouted_name(PRODUCER)
    [parked] = broker.peek(rabbit_uri, unrouted)
    assert parked["body"]["data"]["text"] == "niemand hört zu" and parked["routing_key"] == "note.written"

    # a consumer deployed later gets it by a replay
    connection = broker.connect(rabbit_uri)
    connection.channel().queue_bind(spy, f"{PRODUCER}.events", routing_key="note.*")
    connection.close()
    assert broker.replay_parked(rabbit_uri, unrouted).replayed == 1
    assert [body["data"]["text"] for body in drain(rabbit_uri, spy)] == ["niemand hört zu"]
    assert broker.queue_length(rabbit_uri, unrouted) == 0


def test_invalid_event_data_is_refused_before_storage(engine, spy):
    make_uow = unit_of_work_factory(engine, PRODUCER, metadata)
    with make_uow() as uow:
        with pytest.raises(ValidationFailed) as raised:
            uow.emit("note.written", {"text": 42})
    assert raised.value.fields == {"text": ["Not a valid string."]}
    with make_uow() as uow:
        with pytest.raises(ValueError, match="published by notebook, not intruder"):
            unit_of_work_factory(engine, "intruder", metadata)().emit("note.written", {"text": "x"})


def test_an_event_is_published_in_both_versions_during_its_deprecation_window(engine, spy, rabbit_uri):
    within = unit_of_work_factory(engine, PRODUCER, metadata, deprecation_days=30)
    with within() as uow:
        uow.emit("note.filed", {"heading": "Protokoll", "shelf": "A3"})
        uow.commit()
    after = unit_of_work_factory(engine, PRODUCER, metadata, deprecation_days=5)
    with after() as uow:
        uow.emit("note.filed", {"heading": "Bericht", "shelf": "B1"})
        uow.commit()
    assert OutboxRelay(engine, metadata, PRODUCER, rabbit_uri).publish_pending() == 3
    copies = drain(rabbit_uri, spy)
    assert [(body["version"], body["data"], body["versions"]) for body in copies] == [
        (2, {"heading": "Protokoll", "shelf": "A3"}, [2, 1]),
        (1, {"title": "Protokoll"}, [2, 1]),
        (2, {"heading": "Bericht", "shelf": "B1"}, [2]),
    ]
    assert copies[0]["event_id"] == copies[1]["event_id"] != copies[2]["event_id"]


def test_published_events_are_pruned_after_their_retention_unpublished_ones_kept(engine, spy, rabbit_uri):
    make_uow = unit_of_work_factory(engine, PRODUCER, metadata)
    for text in ("alt", "neu", "offen"):
        write_note(make_uow, text)
    old, new, pending = rows(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id == old.id).values(
            published_at=datetime.now(timezone.utc) - timedelta(days=8)))
        conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id == new.id).values(
            published_at=datetime.now(timezone.utc) - timedelta(days=1)))
    assert prune_outbox(engine, metadata, timedelta(days=7)) == 1
    assert [row.id for row in rows(engine)] == [new.id, pending.id]


# ---------------------------------------------------------------------- one active relay

def test_two_relays_publish_each_aggregate_in_version_order(engine, spy, rabbit_uri):
    """Writers and two relays at once: only the one holding the lease publishes, so the
    updates of each note arrive in the order they were committed."""
    make_uow = unit_of_work_factory(engine, PRODUCER, metadata)
    relays = [OutboxRelay(engine, metadata, PRODUCER, rabbit_uri, batch_size=3) for _ in range(2)]
    stopping = threading.Event()
    threads = [threading.Thread(target=relay.run, kwargs={
        "should_stop": stopping.is_set, "wait_for_wake": lambda timeout: time.sleep(0.01),
        "standby_seconds": 0.05}) for relay in relays]
    for thread in threads:
        thread.start()
    try:
        for version in range(1, 31):
            for note in ("a", "b", "c"):
                write_note(make_uow, note, version)
        assert wait_for(lambda: relays[0].pending_count() == 0)
    finally:
        stopping.set()
        for thread in threads:
            thread.join(10)
    received = drain(rabbit_uri, spy)
    assert len(received) == 90  # none twice here: the lease keeps the second relay waiting
    for note in ("a", "b", "c"):
        assert [body["data"]["number"] for body in received if body["data"]["text"] == note] == list(range(1, 31))


def test_a_standby_relay_takes_over_when_the_active_one_dies(engine):
    first, second = RelayLease(engine, PRODUCER), RelayLease(engine, PRODUCER)
    assert first.acquire() is True
    assert second.acquire() is False
    first.release()  # the holder's connection goes away, as when its process is killed
    assert second.acquire() is True
    assert first.acquire() is False
    second.release()
