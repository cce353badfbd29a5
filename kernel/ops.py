"""A service's ops port: Prometheus metrics and health probes over plain HTTP.

Served from the service's own process on ``METRICS_ADDRESS`` (``host:port``; unset: not served),
which deployments bind to an address only the orchestrator and Prometheus reach:

- ``/metrics``: ``kernel.metrics.REGISTRY``.
- ``/health/live``: 200 while the process's event loop answers. It checks no dependency: a
  broker or database outage must not get a healthy process restarted (liveness).
- ``/health/ready``: 200 when the broker and what the service's dependencies report through
  ``check_ready()`` (its database, the search index) answer, else 503 naming what is down
  (readiness: take it out of rotation, don't restart it). Run at most once per
  ``READY_CACHE_SECONDS`` however often it is asked, the checks side by side within
  ``CHECK_TIMEOUT``.

``kosi health SERVICE`` asks these from inside a container (an exec probe, no curl needed).
"""
import json
import logging
import socket
import threading
import time

import eventlet
from eventlet import wsgi
from nameko import config as nameko_config
from nameko.extensions import DependencyProvider
from prometheus_client import make_wsgi_app

from kernel import broker
from kernel.metrics import REGISTRY

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 3.0
READY_CACHE_SECONDS = 2.0


class OpsEndpoint(DependencyProvider):
    """Serves ``/metrics``, ``/health/live`` and ``/health/ready`` on ``METRICS_ADDRESS``."""

    def __init__(self, check_broker: bool = True):
        # the gateway stays in rotation without the broker: it answers cached reads and its
        # own 503 problems, and a broker outage must not empty every gateway's Service
        self.check_broker = check_broker
        self._server = None
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._ready: tuple[bool, dict] = (False, {})

    def start(self):
        address = str(nameko_config.get("METRICS_ADDRESS") or "")
        if not address:
            return
        host, _, port = address.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"
        self._server = eventlet.listen((host, int(port)), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        metrics_app = make_wsgi_app(REGISTRY)
        routes = {"/health/live": self._live, "/health/ready": self._readiness}

        def app(environ, start_response):
            handler = routes.get(environ.get("PATH_INFO", ""))
            if handler is None:
                return metrics_app(environ, start_response)
            status, body = handler()
            start_response(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
            return [json.dumps(body).encode()]

        sock = self._server
        self.container.spawn_managed_thread(
            lambda: wsgi.server(sock, app, log_output=False, socket_timeout=10), identifier="ops-endpoint")
        log.info("metrics and health on http://%s/", address)

    def _live(self):
        return "200 OK", {"status": "alive", "service": self.container.service_name}

    def _readiness(self):
        ready, checks = self.ready()
        body = {"status": "ready" if ready else "not ready", "service": self.container.service_name,
                "checks": checks}
        return ("200 OK" if ready else "503 Service Unavailable"), body

    def ready(self) -> tuple[bool, dict]:
        """``(all ok, {check: {"status": "ok"|"down", "detail"?}})``, at most this old."""
        with self._lock:
            if time.monotonic() - self._checked_at >= READY_CACHE_SECONDS:
                self._ready = self._check()
                self._checked_at = time.monotonic()
            return self._ready

    def _check(self) -> tuple[bool, dict]:
        """Every check at once, so the answer comes within CHECK_TIMEOUT (inside a probe's
        timeout) however many dependencies are down."""
        checks = {"broker": lambda: _broker_answers(nameko_config["AMQP_URI"])} if self.check_broker else {}
        for dependency in sorted(self.container.dependencies, key=lambda dep: dep.attr_name):
            if dependency is not self and callable(getattr(dependency, "check_ready", None)):
                checks[dependency.attr_name] = dependency.check_ready
        pool = eventlet.GreenPool(max(len(checks), 1))
        results = dict(zip(checks, pool.imap(_run, checks.values())))
        return all(result["status"] == "ok" for result in results.values()), results

    def stop(self):
        if self._server is not None:
            self._server.close()
            self._server = None

    def kill(self):
        self.stop()


def _broker_answers(amqp_uri: str) -> None:
    if not broker.is_reachable(amqp_uri, timeout=CHECK_TIMEOUT):
        raise ConnectionError("RabbitMQ cannot be reached")


def _run(check) -> dict:
    try:
        with eventlet.Timeout(CHECK_TIMEOUT):
            check()
        return {"status": "ok"}
    except eventlet.Timeout:
        return {"status": "down", "detail": f"no answer within {CHECK_TIMEOUT:g}s"}
    except Exception as error:  # any failure means "not ready"; the detail says which
        first_line = (str(error).strip().splitlines() or [""])[0][:200]
        return {"status": "down", "detail": f"{type(error).__name__}: {first_line}".rstrip(": ")}
