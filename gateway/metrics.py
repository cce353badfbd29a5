"""Prometheus metrics of the gateway: requests and latency by route and status, and the
broker's queues (backlogs, parked events, dead letters) read from RabbitMQ's management API.

A registry of our own (not the process-global one) so that several gateway containers
in one process — as in the tests — share the metrics without registering twice.
"""
import hmac
import ipaddress
import logging
import threading
import time

from nameko import config as nameko_config
from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.auth import bearer_token
from gateway.errors import MissingToken
from kernel import metrics as service_metrics, topology
from kernel.errors import Forbidden
from kernel.management import Management

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

REQUESTS = Counter("kosi_gateway_requests_total", "HTTP requests answered by the gateway",
                   ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("kosi_gateway_request_duration_seconds", "Time to answer an HTTP request",
                    ["method", "route", "status"], registry=REGISTRY)

UNMATCHED_ROUTE = "<unmatched>"  # paths of no route share one label (no label explosion)
# methods of HTTP have their own label; any other a client makes up shares one, or each
# invented method would be a new series (10,000 of them made /metrics 210 MB)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
BROKER_CACHE_SECONDS = 5.0


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else OTHER_METHOD


def observe(method: str, route: str, status: int, seconds: float) -> None:
    labels = {"method": method_label(method), "route": route, "status": str(status)}
    REQUESTS.labels(**labels).inc()
    LATENCY.labels(**labels).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The gateway's HTTP and broker metrics, and those every service keeps (its own workers')."""
    return generate_latest(REGISTRY) + generate_latest(service_metrics.REGISTRY), CONTENT_TYPE_LATEST


def check_access(request) -> None:
    """``/metrics`` tells how the platform runs and what it holds: with ``METRICS_TOKEN``
    configured, only for ``Authorization: Bearer <it>``; without, only for a peer on a
    loopback or private network (Prometheus beside the gateway), never for the internet.
    The peer is the socket's, not ``X-Forwarded-For`` (which the client writes)."""
    token = nameko_config.get("METRICS_TOKEN") or None
    if token is not None:
        sent = bearer_token(request)
        if sent is None:
            raise MissingToken("/metrics needs the metrics token")
        if not hmac.compare_digest(sent.encode(), str(token).encode()):
            raise Forbidden("not the metrics token")
        return
    try:
        peer = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        peer = None
    if peer is None or not (peer.is_loopback or peer.is_private):
        raise Forbidden("/metrics is for the internal network (or set METRICS_TOKEN)")


def is_parked_queue(name: str) -> bool:
    return name.endswith(".events.unrouted") or name.endswith(".parked")


class BrokerQueues:
    """Collector of queue depths; asks the management API at most every few seconds."""

    def __init__(self):
        self.source: Management | None = None
        self._lock = threading.Lock()
        self._cached_at = 0.0
        self._queues: list[dict] | None = None

    def _read(self) -> list[dict] | None:
        with self._lock:
            if self.source is None:
                return None
            if time.monotonic() - self._cached_at > BROKER_CACHE_SECONDS:
                try:
                    self._queues = self.source.queues()
                except Exception as error:  # the broker's state is unknown, not zero
                    log.warning("broker queue metrics unavailable: %s", error)
                    self._queues = None
                self._cached_at = time.monotonic()
            return self._queues

    def collect(self):
        queues = self._read()
        up = GaugeMetricFamily("kosi_broker_metrics_up", "1 when the broker's queue depths could be read")
        up.add_metric([], 0 if queues is None else 1)
        yield up
        if queues is None:
            return
        depth = GaugeMetricFamily("kosi_broker_queue_messages", "Messages in a queue (ready or unacknowledged)",
                                  labels=["queue", "state"])
        parked = GaugeMetricFamily("kosi_broker_parked_messages",
                                   "Events parked: no queue took them, or their consumer cannot read their version",
                                   labels=["queue"])
        dead = GaugeMetricFamily("kosi_broker_dead_letters", "Messages in the dead-letter queue")
        for queue in sorted(queues, key=lambda q: q["name"]):
            name = queue["name"]
            if name.startswith("rpc.reply-"):
                continue  # one per client process: a label per process would grow without bound
            depth.add_metric([name, "ready"], queue.get("messages_ready", 0))
            depth.add_metric([name, "unacked"], queue.get("messages_unacknowledged", 0))
            if is_parked_queue(name):
                parked.add_metric([name], queue.get("messages_ready", 0))
            if name == topology.DEAD_LETTER_QUEUE:
                dead.add_metric([], queue.get("messages_ready", 0))
        yield depth
        yield parked
        yield dead


BROKER_QUEUES = BrokerQueues()
REGISTRY.register(BROKER_QUEUES)


class BrokerMetrics(DependencyProvider):
    """Points the broker collector at this gateway's broker (``BROKER_MANAGEMENT_URL``)."""

    def setup(self):
        BROKER_QUEUES.source = Management.from_amqp_uri(nameko_config["AMQP_URI"],
                                                        nameko_config.get("BROKER_MANAGEMENT_URL"), timeout=2.0)
