"""Prometheus metrics of the services (catalog, search, survey, notify; the gateway adds its own
HTTP metrics in ``gateway.metrics`` and shows these too).

- ``kosi_worker_duration_seconds{service, entrypoint, outcome}``: every RPC, event handler and
  timer (observed by ``kernel.dependencies.Tracing``); ``outcome`` is ``ok`` or the error's class.
- ``kosi_events_total{service, queue, outcome}``: how a consumer settled an event: ``applied``,
  ``retried``, ``dead_lettered``, ``parked`` (``kernel.messaging``).
- ``kosi_outbox_unpublished{service}`` and ``kosi_outbox_oldest_unpublished_seconds{service}``:
  the outbox backlog, read from the service's database when scraped (at most every few seconds).
- ``kosi_survey_responses_total{outcome}``, ``kosi_mails_total{kind, outcome}``: the domain's.

Queue depths (consumer lag), parked events and dead letters are the broker's: the gateway's
``/metrics`` reads them from RabbitMQ's management API (``kosi_broker_*``).

Each service serves these on its ops port (``METRICS_ADDRESS``, ``kernel.ops``) at ``/metrics``.
One registry per process, labelled by service, so that several services in one process (as in
the tests) register nothing twice.
"""
import logging
import threading
import time
from datetime import datetime, timezone

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

WORKER_DURATION = Histogram("kosi_worker_duration_seconds", "Time a service's entrypoint took (RPC, event, timer)",
                            ["service", "entrypoint", "outcome"], registry=REGISTRY,
                            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
EVENTS = Counter("kosi_events_total", "Events a consumer settled, by how", ["service", "queue", "outcome"],
                 registry=REGISTRY)
SURVEY_RESPONSES = Counter("kosi_survey_responses_total", "Survey responses handled, by outcome "
                           "(accepted; repeated: an idempotent retry; refused: the error's class)", ["outcome"],
                           registry=REGISTRY)
MAILS = Counter("kosi_mails_total", "Mails the notify service finished or retried, by kind and outcome "
                "(sent, failed, cancelled, retried)", ["kind", "outcome"], registry=REGISTRY)

BACKLOG_CACHE_SECONDS = 5.0


def observe_worker(service: str, entrypoint: str, outcome: str, seconds: float) -> None:
    WORKER_DURATION.labels(service, entrypoint, outcome).observe(seconds)


class OutboxBacklogs:
    """Collector of each registered service's outbox backlog, read when scraped (cached)."""

    def __init__(self):
        self._sources: dict[str, tuple] = {}
        self._lock = threading.Lock()
        self._cached: dict[str, tuple] = {}

    def register(self, service: str, engine: sa.Engine, outbox: sa.Table) -> None:
        self._sources[service] = (engine, outbox)

    def _read(self, service: str, engine, outbox) -> tuple | None:
        cached = self._cached.get(service)
        if cached and time.monotonic() - cached[0] < BACKLOG_CACHE_SECONDS:
            return cached[1]
        try:
            with engine.connect() as connection:
                count, oldest = connection.execute(sa.select(sa.func.count(), sa.func.min(outbox.c.created_at))
                                                   .where(outbox.c.published_at.is_(None))).one()
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=timezone.utc)
            value = (count, (datetime.now(timezone.utc) - oldest).total_seconds() if oldest else 0.0)
        except Exception as error:  # the backlog is unknown, not zero
            log.warning("outbox backlog of %s unavailable: %s", service, type(error).__name__)
            value = None
        self._cached[service] = (time.monotonic(), value)
        return value

    def collect(self):
        unpublished = GaugeMetricFamily("kosi_outbox_unpublished", "Events in the outbox not yet published",
                                        labels=["service"])
        oldest = GaugeMetricFamily("kosi_outbox_oldest_unpublished_seconds",
                                   "Age of the oldest event not yet published (0: none waits)", labels=["service"])
        with self._lock:
            for service, (engine, outbox) in sorted(self._sources.items()):
                value = self._read(service, engine, outbox)
                if value is not None:
                    unpublished.add_metric([service], value[0])
                    oldest.add_metric([service], value[1])
        yield unpublished
        yield oldest


OUTBOX_BACKLOGS = OutboxBacklogs()
REGISTRY.register(OUTBOX_BACKLOGS)
