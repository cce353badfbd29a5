"""Broker tooling over pika: topology, dead letters, health.

Used by ``kosi broker setup`` and ``kosi dlq list|replay``, by readiness checks and by
tests that look at raw messages on the wire. Not used inside services (nameko/kombu are).
"""
import json
from urllib.parse import urlparse

import pika

from kernel.messaging import DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, consumer_queue_arguments


def connection_parameters(amqp_uri: str, timeout: float = 5.0) -> pika.URLParameters:
    """pika parameters from a kombu-style URI (``pyamqp://`` or ``amqp://``)."""
    parsed = urlparse(amqp_uri)
    url = parsed._replace(scheme="amqp").geturl()
    if parsed.path in ("", "/"):
        url = url.rstrip("/") + "/%2F"
    params = pika.URLParameters(url)
    params.socket_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    return params


def connect(amqp_uri: str, timeout: float = 5.0) -> pika.BlockingConnection:
    return pika.BlockingConnection(connection_parameters(amqp_uri, timeout))


def is_reachable(amqp_uri: str, timeout: float = 2.0) -> bool:
    try:
        connect(amqp_uri, timeout).close()
        return True
    except Exception:
        return False


def declare_topology(amqp_uri: str, producers: list[str], subscriptions: list[dict]) -> dict:
    """Declare event exchanges, the dead-letter exchange and queue, and every consumer queue.

    Declaring consumer queues ahead of their services means events published before a
    consumer first starts wait in its queue instead of being lost.
    """
    connection = connect(amqp_uri)
    try:
        channel = connection.channel()
        channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
        channel.queue_declare(DEAD_LETTER_QUEUE, durable=True)
        channel.queue_bind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE)
        for producer in sorted(set(producers) | {s["source_service"] for s in subscriptions}):
            channel.exchange_declare(f"{producer}.events", exchange_type="topic", durable=True)
        for sub in subscriptions:
            channel.queue_declare(sub["queue"], durable=True, arguments=consumer_queue_arguments())
            channel.queue_bind(sub["queue"], f"{sub['source_service']}.events", routing_key=sub["event_type"])
        return {"exchanges": len(producers) + 1, "queues": len(subscriptions) + 1}
    finally:
        connection.close()


def _origin(properties: pika.BasicProperties) -> dict:
    deaths = (properties.headers or {}).get("x-death") or [{}]
    first = deaths[0]
    return {
        "queue": first.get("queue"),
        "exchange": first.get("exchange"),
        "routing_keys": first.get("routing-keys", []),
        "reason": first.get("reason"),
        "count": first.get("count"),
    }


def _describe(properties, body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = body.decode("utf-8", "replace")
    return {"message_id": properties.message_id, "origin": _origin(properties), "body": payload}


def dead_letters(amqp_uri: str, limit: int = 100) -> list[dict]:
    """Read dead letters without removing them (they are requeued when the channel closes)."""
    connection = connect(amqp_uri)
    try:
        channel = connection.channel()
        found = []
        while len(found) < limit:
            method, properties, body = channel.basic_get(DEAD_LETTER_QUEUE, auto_ack=False)
            if method is None:
                break
            found.append(_describe(properties, body))
        return found
    finally:
        connection.close()


def replay_dead_letters(amqp_uri: str, message_id: str | None = None, limit: int = 1000) -> int:
    """Send dead letters back to the queue they died in (all, or the one with ``message_id``).

    Each is republished with confirms before it is acked, so a crash can duplicate a
    replay (consumers are idempotent) but never lose one.
    """
    connection = connect(amqp_uri)
    replayed = 0
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        seen = 0
        while seen < limit:
            method, properties, body = channel.basic_get(DEAD_LETTER_QUEUE, auto_ack=False)
            if method is None:
                break
            seen += 1
            origin = _origin(properties)
            if (message_id and properties.message_id != message_id) or not origin["queue"]:
                continue  # left unacked: back in the dead-letter queue when the channel closes
            headers = dict(properties.headers or {})
            headers.pop("x-death", None)
            headers["x-kosi-replayed"] = int(headers.get("x-kosi-replayed", 0)) + 1
            replay_properties = pika.BasicProperties(
                content_type=properties.content_type, content_encoding=properties.content_encoding,
                message_id=properties.message_id, headers=headers, delivery_mode=2)
            channel.basic_publish("", origin["queue"], body, replay_properties, mandatory=True)
            channel.basic_ack(method.delivery_tag)
            replayed += 1
        return replayed
    finally:
        connection.close()
