"""Raw messages on RabbitMQ in tests, as a non-nameko producer or consumer would see them."""
import json

import pika

from kernel import broker


def drain(amqp_uri: str, queue: str) -> list[dict]:
    """Take every message waiting in ``queue``; JSON bodies, oldest first."""
    connection = broker.connect(amqp_uri)
    try:
        channel = connection.channel()
        bodies = []
        while True:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(json.loads(body))
    finally:
        connection.close()


def publish_event(amqp_uri: str, exchange: str, envelope: dict, message_id: str | None = None) -> None:
    """An event envelope as JSON on ``exchange`` (routing key = its type), confirmed and
    ``mandatory``: a producer of another release, a redelivery, or a hand-made message."""
    connection = broker.connect(amqp_uri)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, envelope["type"], json.dumps(envelope).encode(),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                                   message_id=message_id or envelope.get("event_id")),
                              mandatory=True)
    finally:
        connection.close()
