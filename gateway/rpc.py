"""RPC to the services with a deadline.

nameko's RPC client waits forever for a reply; an HTTP request must not. ``TimedRpc``
is nameko's ``ServiceRpc`` whose calls give up after ``RPC_TIMEOUT`` seconds with
``ServiceUnavailable`` (503). A call to a service with no running instance fails at
once with nameko's ``UnknownService`` (also 503).
"""
from nameko import config as nameko_config
from nameko.amqp.publish import get_connection
from nameko.constants import AMQP_SSL_CONFIG_KEY
from nameko.rpc import ClusterRpc, ServiceRpc

from gateway.errors import ServiceUnavailable
from kernel.rpc import reply_within

DEFAULT_RPC_TIMEOUT = 10.0


def rpc_timeout() -> float:
    return float(nameko_config.get("RPC_TIMEOUT", DEFAULT_RPC_TIMEOUT))


def call_with_deadline(client, method: str, args=(), kwargs=None, timeout: float | None = None,
                       pending: dict | None = None):
    """Call ``client.<method>(*args, **kwargs)``; ServiceUnavailable when no reply in time."""
    timeout = rpc_timeout() if timeout is None else timeout
    call = getattr(client, method).call_async(*args, **(kwargs or {}))
    return reply_within(call, timeout, pending, getattr(client, "service_name", None) or "a service",
                        unavailable=ServiceUnavailable)


class TimedClient:
    def __init__(self, client, pending: dict, timeout: float | None = None):
        self._client = client
        self._pending = pending
        self._timeout = timeout

    def __getattr__(self, method):
        return lambda *args, **kwargs: call_with_deadline(
            self._client, method, args, kwargs, self._timeout, self._pending)


class TimedRpc(ServiceRpc):
    """``TimedRpc("catalog")`` — like ``ServiceRpc("catalog")`` with a deadline per call.

    Requests also expire in the broker after the deadline: a call the client gave up on
    (answered 503) must not run later, e.g. when a stopped service comes back.
    """

    def setup(self):
        self.publisher_options.setdefault("expiration", rpc_timeout())
        super().setup()
        # nameko declares the reply queue before every request: an auto-delete queue is never
        # in kombu's declaration cache, so that was a queue and an exchange declaration per
        # request (measured: 16% of the gateway's CPU on survey responses). The reply listener
        # declares it whenever it (re)connects, which is when it can have gone; and it is
        # declared once here, before anything starts: a request served while the listener
        # was still connecting made the listener find replies pending for a queue it had
        # not declared yet, and the container died (seen in `make bench` at start-up).
        self.publisher.declare = []
        self._declare_reply_queue()

    def _declare_reply_queue(self) -> None:
        listener = self.reply_listener     # shared by all the container's clients: declared once
        if getattr(listener, "declared_at_setup", False):
            return
        with get_connection(listener.amqp_uri, nameko_config.get(AMQP_SSL_CONFIG_KEY)) as connection:
            listener.queue.bind(connection).declare()
        listener.declared_at_setup = True

    def get_dependency(self, worker_ctx):
        return TimedClient(super().get_dependency(worker_ctx), self.reply_listener.pending)


class TimedClusterRpc(ClusterRpc):
    """Calls to any service by name: ``cluster.service("search", timeout=2).health()``."""

    def get_dependency(self, worker_ctx):
        client = super().get_dependency(worker_ctx)
        pending = self.reply_listener.pending

        class Cluster:
            @staticmethod
            def service(name: str, timeout: float | None = None) -> TimedClient:
                return TimedClient(getattr(client, name), pending, timeout)

        return Cluster()
