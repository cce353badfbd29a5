"""``/ready``'s checks, run at most once per ``READY_CACHE_SECONDS`` however often it is asked.

Each check opens a connection to the broker and calls every service's ``health``: answered
per request, a client polling ``/ready`` in a loop made the gateway open a broker connection
per call. Concurrent askers share one run (and its answer).
"""
import math
import threading
import time

from nameko import config as nameko_config
from nameko.extensions import DependencyProvider

from kernel import broker

READY_RPC_TIMEOUT = 2.0
READY_CACHE_SECONDS = 2.0


class Readiness(DependencyProvider):
    def setup(self):
        self._lock = threading.Lock()
        self._checked_at = -math.inf
        self._checks: dict | None = None

    def get_dependency(self, worker_ctx):
        return self

    def checks(self, services) -> dict:
        """``{"broker" | service: {"status": "ok"|"down", "detail"?}}``, at most this old."""
        with self._lock:
            if time.monotonic() - self._checked_at >= READY_CACHE_SECONDS:
                self._checks = _check(services)
                self._checked_at = time.monotonic()
            return self._checks


def _check(services) -> dict:
    checks = {"broker": {"status": "ok"}}
    if not broker.is_reachable(nameko_config["AMQP_URI"], timeout=READY_RPC_TIMEOUT):
        checks["broker"] = {"status": "down", "detail": "RabbitMQ cannot be reached"}
    for service in nameko_config.get("READY_SERVICES", []):
        try:
            services.service(service, timeout=READY_RPC_TIMEOUT).health()
            checks[service] = {"status": "ok"}
        except Exception as exc:  # any failure means "not ready"; the detail says which
            checks[service] = {"status": "down", "detail": str(exc) or type(exc).__name__}
    return checks
