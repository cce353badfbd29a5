"""Names and arguments of everything the platform keeps on RabbitMQ, in one place.

Services (nameko/kombu) and the broker tooling (pika, ``kosi broker setup``) both declare
from these, so a queue or exchange is never declared twice with different arguments.

Events::

    <producer>.events              topic exchange, routing key = event type; its alternate
      └─ (no queue bound) ──>      <producer>.events.unrouted  fanout exchange → durable queue
                                   of the same name: parked, never dropped
    <consumer>.<subscription>      durable queue of one subscription (e.g. search.entry-published)

Retries and dead letters::

    consumer fails ──> kosi.retry (direct, routing key = delay) ──> kosi.retry.<ms>ms
                       (a queue per delay, x-message-ttl) ──expired──> kosi.retry.return
                       (headers exchange) ──kosi-retry-to = queue──> the consumer queue again
    out of attempts ──> kosi.dlx (fanout) ──> kosi.dead-letters, with the reason in headers
    unknown version ──> <consumer>.parked (direct, routing key = queue) ──> <consumer>.parked

Queue and exchange names start with the owning service's name, so per-service broker
permissions are simple prefixes (``kernel.broker.service_permissions``).
"""
DEAD_LETTER_EXCHANGE = "kosi.dlx"
DEAD_LETTER_QUEUE = "kosi.dead-letters"
RETRY_EXCHANGE = "kosi.retry"
RETRY_RETURN_EXCHANGE = "kosi.retry.return"
RETRY_TO_HEADER = "kosi-retry-to"  # no "x-" prefix: a headers exchange ignores those when matching

# message headers written by the kernel (read by ``kosi dlq`` and ``kosi parked``)
ATTEMPT_HEADER = "x-kosi-attempt"            # handler attempts made so far
ERROR_HEADER = "x-kosi-error"                # "ExceptionType: message" of the last failure
ERROR_TYPE_HEADER = "x-kosi-error-type"
ORIGIN_QUEUE_HEADER = "x-kosi-origin-queue"  # the consumer queue a dead or parked message came from
FAILED_AT_HEADER = "x-kosi-failed-at"
PARKED_REASON_HEADER = "x-kosi-parked-reason"
REPLAYED_HEADER = "x-kosi-replayed"          # how often an operator replayed it
REQUEST_ID_HEADER = "nameko.request_id"      # nameko turns it into the worker's context data

# seconds between a failure and the next attempt; attempts = 1 + len(delays)
DEFAULT_RETRY_DELAYS = (1.0, 4.0, 15.0, 60.0, 240.0)


def event_exchange_name(producer: str) -> str:
    return f"{producer}.events"


def changes_name(producer: str) -> str:
    """A producer's fanout exchange of change notices: one small message per batch of events
    the relay published, for readers that keep copies (the gateway's read cache). Separate
    from the events, so that a listener bound to everything does not make every event
    routable (events nobody subscribed to must still be parked)."""
    return f"{producer}.changes"


def unrouted_name(producer: str) -> str:
    """The alternate exchange of a producer's exchange, and its parked queue (same name)."""
    return f"{event_exchange_name(producer)}.unrouted"


def event_exchange_arguments(producer: str) -> dict:
    return {"alternate-exchange": unrouted_name(producer)}


def consumer_queue_name(consumer_service: str, subscription: str) -> str:
    return f"{consumer_service}.{subscription}"


def consumer_queue_arguments() -> dict:
    # a message the consumer rejects outright (it cannot even be decoded) still lands in
    # the dead-letter queue; handler failures are retried and dead-lettered by the kernel
    return {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}


def parked_name(consumer_service: str) -> str:
    """Exchange and queue where a consumer parks events it cannot read yet."""
    return f"{consumer_service}.parked"


def retry_delays(config: dict) -> tuple[float, ...]:
    delays = config.get("EVENT_RETRY_DELAYS")
    if delays is None:
        return DEFAULT_RETRY_DELAYS
    if isinstance(delays, str):
        delays = [part for part in delays.split(",") if part.strip()]
    return tuple(float(delay) for delay in delays)


def delay_queue_name(seconds: float) -> str:
    return f"{RETRY_EXCHANGE}.{round(seconds * 1000)}ms"
