"""Broker tooling over pika: topology, service users, dead letters and parked events, health.

Used by ``kosi broker setup``, ``kosi dlq``, ``kosi parked``, readiness checks and tests
that look at raw messages on the wire. Inside services nameko/kombu declare and consume;
names and arguments come from ``kernel.topology`` for both.
"""
import json
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

import pika
import pika.exceptions

from kernel import topology
from kernel.management import Management

MAX_REPLAYS = 3  # replays of one message before ``kosi dlq replay`` refuses it (a loop)


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


def user_of(amqp_uri: str) -> tuple[str, str]:
    parsed = urlparse(amqp_uri)
    return unquote(parsed.username or "guest"), unquote(parsed.password or "guest")


def _passive(connection, declare):
    """The answer of a passive declare on a fresh channel, or None when the thing does not
    exist (a 404 closes the channel it ran on). Passive declares need no permissions."""
    channel = connection.channel()
    try:
        return declare(channel)
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code == 404:
            return None
        raise
    finally:
        if channel.is_open:
            channel.close()


def missing_exchanges(amqp_uri: str, names: list[str]) -> list[str]:
    """Those of ``names`` that do not exist."""
    connection = connect(amqp_uri)
    try:
        return [name for name in names
                if _passive(connection, lambda channel, name=name: channel.exchange_declare(name, passive=True)) is None]
    finally:
        connection.close()


def queue_length(amqp_uri: str, queue: str) -> int | None:
    """Messages ready in ``queue``, or None when it does not exist."""
    connection = connect(amqp_uri)
    try:
        declared = _passive(connection, lambda channel: channel.queue_declare(queue, passive=True))
        return None if declared is None else declared.method.message_count
    finally:
        connection.close()


# ---------------------------------------------------------------------- topology

class ExchangeMismatch(RuntimeError):
    """An exchange exists with other arguments (declared by an older release)."""


@dataclass
class TopologyReport:
    exchanges: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"exchanges": len(self.exchanges), "queues": len(self.queues), "recreated": self.recreated}


def declare_topology(amqp_uri: str, producers: list[str], subscriptions: list[dict],
                     retry_delays=topology.DEFAULT_RETRY_DELAYS, recreate: bool = False) -> TopologyReport:
    """Declare everything of ``kernel.topology``: dead letters, retry delays, each producer's
    exchange with its alternate exchange and parked queue, each consumer's parked queue and
    each subscription's queue with its bindings.

    Declaring consumer queues ahead of their services means events published before a
    consumer first starts wait in its queue instead of being parked. A producer exchange
    declared by an older release without its alternate exchange raises ``ExchangeMismatch``
    unless ``recreate``: then it is deleted and declared again, and the registered
    subscriptions are bound to it again (other bindings to it are lost: list them with
    ``unowned_bindings`` first).
    """
    report = TopologyReport()
    connection = connect(amqp_uri)
    try:
        channel = connection.channel()

        def exchange(name, kind, arguments=None):
            channel.exchange_declare(name, exchange_type=kind, durable=True, arguments=arguments)
            report.exchanges.append(name)

        def queue(name, arguments=None):
            channel.queue_declare(name, durable=True, arguments=arguments)
            report.queues.append(name)

        exchange(topology.DEAD_LETTER_EXCHANGE, "fanout")
        queue(topology.DEAD_LETTER_QUEUE)
        channel.queue_bind(topology.DEAD_LETTER_QUEUE, topology.DEAD_LETTER_EXCHANGE)
        exchange(topology.RETRY_EXCHANGE, "direct")
        exchange(topology.RETRY_RETURN_EXCHANGE, "headers")
        for delay in sorted(set(retry_delays)):
            name = topology.delay_queue_name(delay)
            queue(name, {"x-message-ttl": round(delay * 1000),
                         "x-dead-letter-exchange": topology.RETRY_RETURN_EXCHANGE})
            channel.queue_bind(name, topology.RETRY_EXCHANGE, routing_key=name)

        for producer in sorted(set(producers) | {s["source_service"] for s in subscriptions}):
            unrouted = topology.unrouted_name(producer)
            exchange(unrouted, "fanout")
            queue(unrouted)
            channel.queue_bind(unrouted, unrouted)
            channel = _declare_producer_exchange(connection, channel, producer, recreate, report)
            exchange(topology.changes_name(producer), "fanout")

        for consumer in sorted({s["consumer_service"] for s in subscriptions}):
            parked = topology.parked_name(consumer)
            exchange(parked, "fanout")
            queue(parked)
            channel.queue_bind(parked, parked)
        for sub in subscriptions:
            queue(sub["queue"], topology.consumer_queue_arguments())
            channel.queue_bind(sub["queue"], topology.event_exchange_name(sub["source_service"]),
                               routing_key=sub["event_type"])
            channel.queue_bind(sub["queue"], topology.RETRY_RETURN_EXCHANGE,
                               arguments={"x-match": "all", topology.RETRY_TO_HEADER: sub["queue"]})
        return report
    finally:
        connection.close()


def _declare_producer_exchange(connection, channel, producer: str, recreate: bool, report: TopologyReport):
    """Declare ``<producer>.events`` with its alternate exchange; returns a usable channel."""
    name = topology.event_exchange_name(producer)
    arguments = topology.event_exchange_arguments(producer)
    try:
        channel.exchange_declare(name, exchange_type="topic", durable=True, arguments=arguments)
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code != 406:
            raise
        if not recreate:
            raise ExchangeMismatch(
                f"{name} exists without its alternate exchange (declared by an older release); "
                f"run `kosi broker setup --recreate-exchanges` (check `kosi broker setup` output for "
                f"bindings no registered consumer owns first: they are not restored)") from None
        channel = connection.channel()
        channel.exchange_delete(name)
        channel.exchange_declare(name, exchange_type="topic", durable=True, arguments=arguments)
        report.recreated.append(name)
    report.exchanges.append(name)
    return channel


def unowned_bindings(management: Management, producers: list[str], subscriptions: list[dict]) -> list[dict]:
    """Queues bound to a producer's exchange that no registered subscription owns, e.g. the
    queue of a renamed handler of an older release, still filling up."""
    owned = {(s["queue"], topology.event_exchange_name(s["source_service"]), s["event_type"]) for s in subscriptions}
    depth = {q["name"]: q.get("messages_ready", 0) for q in management.queues()}
    found = []
    for producer in sorted(set(producers) | {s["source_service"] for s in subscriptions}):
        exchange = topology.event_exchange_name(producer)
        try:
            bindings = management.bindings_from(exchange)
        except Exception:
            continue  # the exchange does not exist yet
        for bound in bindings:
            key = (bound["destination"], exchange, bound["routing_key"])
            if bound.get("destination_type") == "queue" and key not in owned:
                found.append({"queue": bound["destination"], "exchange": exchange, "routing_key": bound["routing_key"],
                              "messages": depth.get(bound["destination"], 0)})
    return found


def unbind(amqp_uri: str, queue: str, exchange: str, routing_key: str) -> None:
    """Stop a queue from filling (its messages stay; read or delete it separately)."""
    connection = connect(amqp_uri)
    try:
        connection.channel().queue_unbind(queue, exchange, routing_key=routing_key)
    finally:
        connection.close()


# ---------------------------------------------------------------------- service users

def _alternatives(names: list[str]) -> str:
    return "^(" + "|".join(names) + ")$"


def service_permissions(service: str, sources: list[str]) -> dict:
    """configure/write/read regular expressions of one service's broker user.

    A service may declare and consume its own queues (``<service>.*``, ``rpc-<service>``,
    its RPC reply queues), publish RPC requests and replies (``nameko-rpc``; staff RPCs
    need a signed actor, see ``kernel.identity``), publish to its own event exchange, to
    the retry and dead-letter exchanges, and bind to the exchanges of the producers it
    subscribes to. It can never publish to another service's event exchange.
    """
    own = [re.escape(service) + r"\..*", "rpc-" + re.escape(service), r"rpc\.reply-" + re.escape(service) + "-.*"]
    rpc = ["nameko-rpc"]
    write = own + rpc + [re.escape(topology.RETRY_EXCHANGE), re.escape(topology.DEAD_LETTER_EXCHANGE)]
    read = own + rpc + [re.escape(topology.RETRY_RETURN_EXCHANGE)] + \
        [re.escape(name(source)) for source in sorted(set(sources))
         for name in (topology.event_exchange_name, topology.changes_name)]
    return {"configure": _alternatives(own + rpc), "write": _alternatives(write), "read": _alternatives(read)}


def ensure_service_users(management: Management, services: dict[str, dict]) -> list[str]:
    """Create or update each service's broker user and its permissions.

    ``services``: name → ``{"amqp_uri", "sources", "tags"}`` (a producer's exchanges,
    ``<service>.events…``, are among its own names). A service still on
    the default ``guest`` user (``make run``) is left alone. Returns the users written.
    """
    written = []
    for name, spec in sorted(services.items()):
        user, password = user_of(spec["amqp_uri"])
        if user == "guest":
            continue
        management.put_user(user, password, spec.get("tags", ""))
        permissions = service_permissions(name, spec.get("sources", []))
        management.put_permissions(user, **permissions)
        written.append(user)
    return written


# ---------------------------------------------------------------------- dead letters, parked events

def _headers(properties) -> dict:
    return dict(properties.headers or {})


def _origin_queue(properties) -> str | None:
    headers = _headers(properties)
    if headers.get(topology.ORIGIN_QUEUE_HEADER):
        return headers[topology.ORIGIN_QUEUE_HEADER]
    deaths = headers.get("x-death") or [{}]  # dead-lettered by the broker itself (a rejected message)
    return deaths[0].get("queue")


def _describe(method, properties, body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = body.decode("utf-8", "replace")
    headers = _headers(properties)
    deaths = headers.get("x-death") or [{}]
    return {
        "message_id": properties.message_id,
        "queue": _origin_queue(properties),
        "routing_key": method.routing_key,
        "error_type": headers.get(topology.ERROR_TYPE_HEADER) or deaths[0].get("reason"),
        "error": headers.get(topology.ERROR_HEADER),
        "attempts": headers.get(topology.ATTEMPT_HEADER),
        "failed_at": headers.get(topology.FAILED_AT_HEADER),
        "parked_reason": headers.get(topology.PARKED_REASON_HEADER),
        "replayed": int(headers.get(topology.REPLAYED_HEADER, 0)),
        "body": payload,
    }


def peek(amqp_uri: str, queue: str, limit: int = 100) -> list[dict]:
    """Read messages of ``queue`` without removing them (they return when the channel closes)."""
    connection = connect(amqp_uri)
    try:
        channel = connection.channel()
        found = []
        while len(found) < limit:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            found.append(_describe(method, properties, body))
        return found
    finally:
        connection.close()


def dead_letters(amqp_uri: str, limit: int = 100) -> list[dict]:
    return peek(amqp_uri, topology.DEAD_LETTER_QUEUE, limit)


@dataclass
class ReplayReport:
    replayed: int = 0
    refused: list[dict] = field(default_factory=list)  # replayed too often already: a loop
    skipped: int = 0                                   # not asked for, or without an origin

    def as_dict(self) -> dict:
        return {"replayed": self.replayed, "refused": self.refused, "skipped": self.skipped}


def _republish(channel, method, properties, body, exchange: str, routing_key: str, headers: dict) -> None:
    replay_properties = pika.BasicProperties(
        content_type=properties.content_type, content_encoding=properties.content_encoding,
        message_id=properties.message_id, headers=headers, delivery_mode=2)
    channel.basic_publish(exchange, routing_key, body, replay_properties, mandatory=True)
    channel.basic_ack(method.delivery_tag)


def _replay_queue(amqp_uri: str, queue: str, target, message_id: str | None, limit: int,
                  max_replays: int) -> ReplayReport:
    """Move messages of ``queue`` to where ``target(properties, method)`` says — ``(exchange,
    routing_key, extra headers)`` or None to leave one — counting each replay in its headers. Only the
    messages waiting when it starts are looked at, so a replay that fails again cannot loop.

    Each is republished with confirms before it is acked: a crash can duplicate a replay
    (consumers are idempotent) but never lose one.
    """
    connection = connect(amqp_uri)
    report = ReplayReport()
    try:
        channel = connection.channel()
        waiting = channel.queue_declare(queue, passive=True).method.message_count
        channel.confirm_delivery()
        for _ in range(min(waiting, limit)):
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            headers = _headers(properties)
            destination = target(properties, method)
            if (message_id and properties.message_id != message_id) or destination is None:
                report.skipped += 1
                continue  # left unacked: back in its queue when the channel closes
            replays = int(headers.get(topology.REPLAYED_HEADER, 0))
            if replays >= max_replays:
                report.refused.append({"message_id": properties.message_id, "replayed": replays})
                continue
            headers.pop("x-death", None)
            headers.pop(topology.ATTEMPT_HEADER, None)  # a replay gets a fresh round of retries
            headers[topology.REPLAYED_HEADER] = replays + 1
            exchange, routing_key, extra_headers = destination
            headers.update(extra_headers)
            _republish(channel, method, properties, body, exchange, routing_key, headers)
            report.replayed += 1
        return report
    finally:
        connection.close()


def _back_to_origin(properties, _method):
    """A message goes back into the consumer queue it came from (via the retry-return exchange)."""
    origin = _origin_queue(properties)
    return (topology.RETRY_RETURN_EXCHANGE, "", {topology.RETRY_TO_HEADER: origin}) if origin else None


def replay_dead_letters(amqp_uri: str, message_id: str | None = None, limit: int = 1000,
                        max_replays: int = MAX_REPLAYS) -> ReplayReport:
    """Send dead letters back to the queue they died in (all, or the one with ``message_id``)."""
    return _replay_queue(amqp_uri, topology.DEAD_LETTER_QUEUE, _back_to_origin, message_id, limit, max_replays)


def parked_queues(producers: list[str], consumers: list[str]) -> list[str]:
    return [topology.unrouted_name(p) for p in sorted(set(producers))] + \
        [topology.parked_name(c) for c in sorted(set(consumers))]


def parked(amqp_uri: str, queues: list[str], limit: int = 100) -> dict[str, list[dict]]:
    """Parked messages per parked queue (that exists)."""
    return {queue: peek(amqp_uri, queue, limit) for queue in queues if queue_length(amqp_uri, queue) is not None}


def replay_parked(amqp_uri: str, queue: str, message_id: str | None = None, limit: int = 1000,
                  max_replays: int = MAX_REPLAYS) -> ReplayReport:
    """Replay a parked queue: events no queue took (``<producer>.events.unrouted``) go to
    their producer's exchange again, with their routing key (whoever subscribes now gets
    them; if still nobody does, they are parked again); events a consumer could not read
    (``<consumer>.parked``) go back into the queue they came from."""
    if queue.endswith(".events.unrouted"):
        exchange = queue[: -len(".unrouted")]
        target = (lambda _properties, method: (exchange, method.routing_key, {}))
    else:
        target = _back_to_origin
    return _replay_queue(amqp_uri, queue, target, message_id, limit, max_replays)
