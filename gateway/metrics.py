"""Prometheus metrics of the gateway: request counts and latency by route and status.

A registry of our own (not the process-global one) so that several gateway containers
in one process — as in the tests — share the metrics without registering twice.
"""
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry()

REQUESTS = Counter("kosi_gateway_requests_total", "HTTP requests answered by the gateway",
                   ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("kosi_gateway_request_duration_seconds", "Time to answer an HTTP request",
                    ["method", "route", "status"], registry=REGISTRY)

UNMATCHED_ROUTE = "<unmatched>"  # paths of no route share one label (no label explosion)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    labels = {"method": method, "route": route, "status": str(status)}
    REQUESTS.labels(**labels).inc()
    LATENCY.labels(**labels).observe(seconds)


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
