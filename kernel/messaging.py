"""Event consumption that loses nothing.

``reliable_event_handler`` is nameko's ``event_handler`` with two changes: its queue
dead-letters into ``kosi.dlx`` (so ``kosi broker setup`` can declare it ahead of the
consumer with the same arguments), and a handler that raises *rejects* the message,
which the broker moves to the dead-letter queue instead of nameko's ack-and-drop.
Inspect and replay with ``kosi dlq list|replay``.
"""
from kombu import Queue
from nameko.events import EventHandler

from kernel.outbox import event_exchange

DEAD_LETTER_EXCHANGE = "kosi.dlx"
DEAD_LETTER_QUEUE = "kosi.dead-letters"


def consumer_queue_name(source_service: str, event_type: str, consumer_service: str, method: str) -> str:
    """nameko's SERVICE_POOL queue name."""
    return f"evt-{source_service}-{event_type}--{consumer_service}.{method}"


def consumer_queue_arguments() -> dict:
    return {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}


class ReliableEventHandler(EventHandler):
    def setup(self):
        name = consumer_queue_name(self.source_service, self.event_type,
                                   self.container.service_name, self.method_name)
        self.queue = Queue(name, exchange=event_exchange(self.source_service),
                           routing_key=self.event_type, durable=True, auto_delete=False,
                           queue_arguments=consumer_queue_arguments())
        # skip EventHandler.setup (it would build its own queue without the arguments)
        super(EventHandler, self).setup()

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.consumer.ack_message(message)
        elif message.channel.connection:
            message.reject(requeue=False)


reliable_event_handler = ReliableEventHandler.decorator


def subscriptions_of(service_cls) -> list[dict]:
    """The reliable event handlers a nameko service class declares (for broker topology)."""
    found = []
    for name in dir(service_cls):
        for entrypoint in getattr(getattr(service_cls, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.append({
                    "source_service": entrypoint.source_service,
                    "event_type": entrypoint.event_type,
                    "queue": consumer_queue_name(entrypoint.source_service, entrypoint.event_type,
                                                 service_cls.name, name),
                })
    return found
