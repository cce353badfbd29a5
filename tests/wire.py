"""Reading raw messages off RabbitMQ in tests, as a non-nameko consumer would."""
import json

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
