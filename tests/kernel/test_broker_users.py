"""Service identity on the broker: each service's own user may use its own queues and
exchanges, and nothing of another's (real RabbitMQ users and permissions)."""
import uuid
from urllib.parse import quote, urlparse

import pika
import pika.exceptions
import pytest

from kernel import broker, topology
from kernel.management import Management

SUBSCRIPTIONS = [{"consumer_service": "search", "source_service": "catalog", "event_type": "entry.published",
                  "queue": "search.entry-published"}]


@pytest.fixture
def users(rabbit_config, rabbit_uri):
    """Broker users of catalog and search in this test's vhost, as `kosi broker setup --users` makes them."""
    broker.declare_topology(rabbit_uri, ["catalog"], SUBSCRIPTIONS)
    management = Management.from_amqp_uri(rabbit_uri)
    vhost = quote(management.vhost, safe="")
    suffix = uuid.uuid4().hex[:8]
    uris = {name: f"pyamqp://{name}-{suffix}:pw-{suffix}@localhost:5672/{vhost}" for name in ("catalog", "search")}
    written = broker.ensure_service_users(management, {
        "catalog": {"amqp_uri": uris["catalog"], "sources": []},
        "search": {"amqp_uri": uris["search"], "sources": ["catalog"]},
    })
    assert written == [f"catalog-{suffix}", f"search-{suffix}"]
    yield uris
    for user in written:
        management.delete_user(user)


def publish(amqp_uri, exchange, routing_key):
    connection = broker.connect(amqp_uri)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, b"{}", pika.BasicProperties(delivery_mode=2))
    finally:
        if connection.is_open:
            connection.close()


def refused(action) -> bool:
    try:
        action()
    except pika.exceptions.ChannelClosedByBroker as error:
        return error.reply_code == 403
    return False


def test_a_service_cannot_publish_to_another_services_exchange(users):
    assert refused(lambda: publish(users["search"], "catalog.events", "entry.published"))
    publish(users["catalog"], "catalog.events", "entry.published")  # its own: allowed


def on_a_channel(amqp_uri, action):
    """Run ``action(channel)`` on a fresh connection (closed by the broker if refused)."""
    def run():
        connection = broker.connect(amqp_uri)
        try:
            action(connection.channel())
        finally:
            if connection.is_open:
                connection.close()
    return run


def test_a_service_cannot_read_configure_or_bind_what_is_not_its_own(users):
    assert refused(on_a_channel(users["catalog"], lambda channel: channel.basic_get("search.entry-published")))
    assert refused(on_a_channel(users["search"], lambda channel: channel.exchange_delete("catalog.events")))
    assert refused(on_a_channel(users["search"], lambda channel: channel.basic_get(topology.DEAD_LETTER_QUEUE)))
    assert refused(on_a_channel(users["search"], lambda channel: channel.queue_bind(
        "search.entry-published", "kosi.retry")))  # it may publish there, not take from it


def test_a_service_can_do_what_its_work_needs(users, rabbit_uri):
    connection = broker.connect(users["search"])
    try:
        channel = connection.channel()
        channel.basic_get("search.entry-published")                       # consume its own queue
        channel.queue_declare("search.parked", durable=True, passive=True)
        channel.basic_publish(topology.RETRY_EXCHANGE, topology.delay_queue_name(1.0), b"{}")  # retry
        channel.basic_publish(topology.DEAD_LETTER_EXCHANGE, "", b"{}")    # dead-letter
        channel.exchange_declare("nameko-rpc", exchange_type="topic", durable=True)  # RPC
        reply = channel.queue_declare(f"rpc.reply-search-{uuid.uuid4()}", auto_delete=True).method.queue
        channel.queue_bind(reply, "nameko-rpc", routing_key=reply)
    finally:
        connection.close()
    permissions = Management.from_amqp_uri(rabbit_uri).permissions_of(urlparse(users["search"]).username)
    assert "catalog\\.events" in permissions["read"] and "catalog\\.events" not in permissions["write"]
