"""The transactional outbox and its relay against real PostgreSQL and RabbitMQ."""
import uuid

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields

from kernel import broker
from kernel.db import create_db_engine, unit_of_work_factory
from kernel.events import register
from kernel.outbox import OutboxRelay, inbox_table, outbox_table
from tests.conftest import AMQP_URI
from tests import wire
from tests.databases import fresh_database


@register("note.written")
class NoteWrittenSchema(Schema):
    text = fields.String(required=True)


metadata = sa.MetaData()
notes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("text", sa.String(200)))
outbox_table(metadata)
inbox_table(metadata)


@pytest.fixture(scope="module")
def engine():
    engine = create_db_engine(fresh_database("kosi_test_kernel"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def producer(engine):
    """A producer name of its own, with a queue bound to all its events."""
    name = f"kt{uuid.uuid4().hex[:8]}"
    connection = broker.connect(AMQP_URI)
    channel = connection.channel()
    channel.exchange_declare(f"{name}.events", exchange_type="topic", durable=True)
    channel.queue_declare(f"{name}-spy", durable=False, auto_delete=False)
    channel.queue_bind(f"{name}-spy", f"{name}.events", routing_key="#")
    with engine.begin() as conn:
        conn.execute(sa.delete(metadata.tables["outbox"]))
    yield name
    channel.queue_delete(f"{name}-spy")
    channel.exchange_delete(f"{name}.events")
    connection.close()


def drain(queue: str) -> list[dict]:
    return wire.drain(AMQP_URI, queue)


def write_note(make_uow, text):
    with make_uow() as uow:
        uow.session.execute(sa.insert(notes).values(text=text))
        uow.emit("note.written", {"text": text})
        uow.commit()


def test_change_and_event_are_stored_together_and_relayed_once(engine, producer):
    make_uow = unit_of_work_factory(engine, producer, metadata)
    write_note(make_uow, "eins")
    write_note(make_uow, "zwei")

    relay = OutboxRelay(engine, metadata, producer, AMQP_URI)
    assert relay.pending_count() == 2
    assert relay.publish_pending() == 2
    assert relay.publish_pending() == 0

    bodies = drain(f"{producer}-spy")
    assert [body["data"]["text"] for body in bodies] == ["eins", "zwei"]
    assert {body["type"] for body in bodies} == {"note.written"}
    assert all(body["producer"] == producer for body in bodies)


def test_a_rolled_back_change_emits_nothing(engine, producer):
    make_uow = unit_of_work_factory(engine, producer, metadata)
    with make_uow() as uow:
        uow.session.execute(sa.insert(notes).values(text="nie"))
        uow.emit("note.written", {"text": "nie"})
        # leaves without commit: the change and its event are gone together
    relay = OutboxRelay(engine, metadata, producer, AMQP_URI)
    assert relay.pending_count() == 0


def test_broker_unreachable_keeps_events_until_it_returns(engine, producer):
    make_uow = unit_of_work_factory(engine, producer, metadata)
    write_note(make_uow, "wartet")
    unreachable = OutboxRelay(engine, metadata, producer, "pyamqp://guest:guest@127.0.0.1:1/")
    with pytest.raises(Exception):
        unreachable.publish_pending()
    assert unreachable.pending_count() == 1

    assert OutboxRelay(engine, metadata, producer, AMQP_URI).publish_pending() == 1
    assert [body["data"]["text"] for body in drain(f"{producer}-spy")] == ["wartet"]


def test_event_without_subscriber_is_marked_unroutable_not_stuck(engine):
    lonely = f"kt{uuid.uuid4().hex[:8]}"
    make_uow = unit_of_work_factory(engine, lonely, metadata)
    with engine.begin() as conn:
        conn.execute(sa.delete(metadata.tables["outbox"]))
    write_note(make_uow, "niemand hört zu")
    relay = OutboxRelay(engine, metadata, lonely, AMQP_URI)
    assert relay.publish_pending() == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(metadata.tables["outbox"])).one()
    assert row.unroutable and row.published_at is not None
    connection = broker.connect(AMQP_URI)
    connection.channel().exchange_delete(f"{lonely}.events")
    connection.close()


def test_invalid_event_data_is_refused_before_storage(engine, producer):
    from kernel.errors import ValidationFailed

    make_uow = unit_of_work_factory(engine, producer, metadata)
    with make_uow() as uow:
        with pytest.raises(ValidationFailed) as raised:
            uow.emit("note.written", {"text": 42})
    assert "text" in raised.value.fields
