"""Event consumption that loses nothing and blocks nothing.

``reliable_event_handler(source, event_type, subscription=…)`` is the only way services
consume events. Unlike nameko's ``event_handler`` (which acks and drops an event whose
handler fails):

- its queue has an explicit, stable name, ``<service>.<subscription>``, that does not
  depend on the Python method's name;
- the envelope is read tolerantly before the handler runs (``kernel.events.read_event``);
  the handler gets the parsed envelope. A copy in a version this consumer reads in another
  copy is acknowledged and skipped; an event in a version it cannot read at all is parked
  (``<service>.parked``, with the reason) for replay after an upgrade; an envelope or data
  that breaks its contract goes straight to the dead-letter queue (retrying cannot help);
- a handler that raises is retried after the configured delays (``EVENT_RETRY_DELAYS``,
  through the delay queues of ``kernel.topology``) and only then dead-lettered, with the
  exception type, message and attempt count in the message's headers.

The original message is acknowledged only after its copy (retry, dead letter, parked) was
confirmed by the broker: a crash in between can duplicate a message, never lose one.
Inspect and replay with ``kosi dlq`` and ``kosi parked``.
"""
import logging
from datetime import datetime, timezone

import nameko
from kombu import Exchange, Queue, binding
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, decode_from_headers

from kernel import broker, metrics, topology
from kernel.errors import ValidationFailed, describe_error
from kernel.events import UnknownEventVersion, read_event
from kernel.outbox import event_exchange

log = logging.getLogger(__name__)

MAX_HEADER_TEXT = 1000


class BrokerNotSetUp(RuntimeError):
    """An exchange a consumer binds to is missing: ``kosi broker setup`` has not run."""


class ReliableEventHandler(Consumer):
    def __init__(self, source_service: str, event_type: str, subscription: str, **kwargs):
        if not subscription or not all(part.isalnum() for part in subscription.split("-")):
            raise ValueError(f"subscription {subscription!r}: letters, digits and dashes only")
        self.source_service = source_service
        self.event_type = event_type
        self.subscription = subscription
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    # ------------------------------------------------------------------ setup

    def setup(self):
        service = self.container.service_name
        self.queue_name = topology.consumer_queue_name(service, self.subscription)
        self.delays = topology.retry_delays(nameko.config)
        self.parked_exchange = topology.parked_name(service)
        source = event_exchange(self.source_service, declare=False)  # the producer's; setup declares it
        retry_return = Exchange(topology.RETRY_RETURN_EXCHANGE, type="headers", no_declare=True)
        self.queue = Queue(
            self.queue_name, durable=True, auto_delete=False,
            queue_arguments=topology.consumer_queue_arguments(),
            bindings=[binding(source, routing_key=self.event_type),
                      binding(retry_return, arguments={"x-match": "all", topology.RETRY_TO_HEADER: self.queue_name})])
        # a body kombu cannot decode (not JSON, an unaccepted content type) would otherwise
        # be raised inside the consumer loop, which reconnects and gets it again, forever
        self.consumer_options["on_decode_error"] = self._undecodable
        super().setup()
        self.publisher = Publisher(self.amqp_uri, use_confirms=True, mandatory=True, retry=True,
                                   retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5})

    def start(self):
        self._require_topology()
        super().start()

    def _require_topology(self):
        """Fail with a clear reason instead of retrying a binding to a missing exchange forever."""
        missing = broker.missing_exchanges(self.amqp_uri, [
            topology.event_exchange_name(self.source_service), topology.RETRY_RETURN_EXCHANGE,
            topology.RETRY_EXCHANGE, topology.DEAD_LETTER_EXCHANGE, self.parked_exchange])
        if missing:
            raise BrokerNotSetUp(f"{self.queue_name}: exchange(s) {', '.join(missing)} missing on the broker; "
                                 "run `kosi broker setup` before starting the service")

    # ------------------------------------------------------------------ receiving

    def _ack(self, message):
        settle_quietly(self.consumer.ack_message, message, self.queue_name)

    def handle_message(self, body, message):
        # settled in a thread of its own: publishing a copy waits for the broker's confirm,
        # and waiting for a free worker must not block the connection's heartbeats
        self.container.spawn_managed_thread(lambda: self._receive(body, message),
                                            identifier=f"receive[{self.queue_name}]")

    def _receive(self, body, message):
        try:
            envelope = read_event(body)
        except UnknownEventVersion as error:
            self._settle(message, self._park, error)
            return
        except ValidationFailed as error:
            log.warning("%s: event %s breaks its contract: %s %s", self.queue_name, message.properties.get(
                "message_id"), error.detail, error.fields)
            self._settle(message, self._dead_letter, error, attempts=1)
            return
        if envelope is None:  # a copy in another version, read by this consumer in the version it prefers
            self._ack(message)
            return
        try:
            self.container.spawn_worker(
                self, (envelope,), {}, context_data=decode_from_headers(message.headers),
                handle_result=lambda worker_ctx, result=None, exc_info=None: self._after_worker(
                    message, result, exc_info))
        except ContainerBeingKilled:
            settle_quietly(self.consumer.requeue_message, message, self.queue_name)

    def _undecodable(self, message, error):
        self.container.spawn_managed_thread(lambda: self._settle(message, self._dead_letter, error, attempts=1),
                                            identifier=f"undecodable[{self.queue_name}]")

    def _after_worker(self, message, result, exc_info):
        if exc_info is None:
            self._ack(message)
            self._count("applied")
        else:
            attempt = int((message.headers or {}).get(topology.ATTEMPT_HEADER, 0)) + 1
            if attempt <= len(self.delays):
                self._settle(message, self._retry, exc_info[1], attempt=attempt)
            else:
                self._settle(message, self._dead_letter, exc_info[1], attempts=attempt)
        return result, exc_info

    # ------------------------------------------------------------------ settling

    def _settle(self, message, copy_to, error, **details):
        """Publish the message's copy (retry, dead letter, parked), then acknowledge it."""
        try:
            copy_to(message, error, **details)
        except Exception as publish_error:
            log.error("%s: cannot hand message %s on (%s); rejecting it into the dead-letter queue",
                      self.queue_name, message.properties.get("message_id"), describe_error(publish_error, MAX_HEADER_TEXT))
            if message.channel.connection:
                settle_quietly(lambda rejected: rejected.reject(requeue=False), message, self.queue_name)
            return
        self._ack(message)

    def _copy(self, message, exchange: str, routing_key: str, headers: dict):
        carried = {key: value for key, value in (message.headers or {}).items() if key != "x-death"}
        carried.update(headers)
        properties = message.properties
        self.publisher.publish(
            message.body, exchange=Exchange(exchange, no_declare=True), routing_key=routing_key,
            headers=carried, message_id=properties.get("message_id"), delivery_mode=2,
            content_type=message.content_type or "application/json",
            content_encoding=message.content_encoding or "utf-8")

    def _failure_headers(self, error) -> dict:
        return {topology.ERROR_TYPE_HEADER: type(error).__name__, topology.ERROR_HEADER: describe_error(error, MAX_HEADER_TEXT),
                topology.ORIGIN_QUEUE_HEADER: self.queue_name,
                topology.FAILED_AT_HEADER: datetime.now(timezone.utc).isoformat()}

    def _count(self, outcome: str) -> None:
        metrics.EVENTS.labels(self.container.service_name, self.queue_name, outcome).inc()

    def _retry(self, message, error, attempt: int):
        self._count("retried")
        delay = self.delays[attempt - 1]
        log.warning("%s: attempt %d of %d failed (%s); next attempt in %gs", self.queue_name, attempt,
                    len(self.delays) + 1, describe_error(error, MAX_HEADER_TEXT), delay)
        headers = {**self._failure_headers(error), topology.ATTEMPT_HEADER: attempt,
                   topology.RETRY_TO_HEADER: self.queue_name}
        try:
            self._copy(message, topology.RETRY_EXCHANGE, topology.delay_queue_name(delay), headers)
        except UndeliverableMessage:
            raise BrokerNotSetUp(f"no delay queue for {delay:g}s: run `kosi broker setup`") from None

    def _dead_letter(self, message, error, attempts: int):
        self._count("dead_lettered")
        log.error("%s: message %s dead-lettered after %d attempt(s): %s", self.queue_name,
                  message.properties.get("message_id"), attempts, describe_error(error, MAX_HEADER_TEXT))
        self._copy(message, topology.DEAD_LETTER_EXCHANGE, self.queue_name,
                   {**self._failure_headers(error), topology.ATTEMPT_HEADER: attempts})

    def _park(self, message, error):
        self._count("parked")
        log.warning("%s: message %s parked: %s", self.queue_name, message.properties.get("message_id"), error)
        self._copy(message, self.parked_exchange, self.queue_name,
                   {topology.PARKED_REASON_HEADER: str(error)[:MAX_HEADER_TEXT],
                    topology.ORIGIN_QUEUE_HEADER: self.queue_name})


reliable_event_handler = ReliableEventHandler.decorator


def settle_quietly(settle, message, queue: str) -> None:
    """``settle(message)`` (ack, requeue, reject): on a connection the broker dropped, that is
    moot, since the broker puts an unacknowledged message back when its connection goes and
    the inbox (or handled calls) make the redelivery harmless; so it is logged, not raised.
    Raised, it ended the worker's thread and nameko stopped the whole service (found by the
    fault suite: a RabbitMQ restart took the search index writer down for good)."""
    try:
        settle(message)
    except Exception as error:
        log.warning("%s: message %s not settled, the broker is away (it comes again): %s", queue,
                    message.properties.get("message_id"), describe_error(error))


def subscriptions_of(service_cls) -> list[dict]:
    """The reliable event handlers a nameko service class declares (for broker topology)."""
    found = []
    for name in dir(service_cls):
        for entrypoint in getattr(getattr(service_cls, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.append({
                    "consumer_service": service_cls.name,
                    "source_service": entrypoint.source_service,
                    "event_type": entrypoint.event_type,
                    "queue": topology.consumer_queue_name(service_cls.name, entrypoint.subscription),
                })
    return found
