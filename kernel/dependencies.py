"""nameko glue for the kernel: the database (with the outbox relay), the caller's identity,
and request tracing. Every service declares the three it needs::

    db = Database(metadata, service="catalog")   # reads CATALOG_DATABASE_URL, CATALOG_OUTBOX_RELAY
    caller = CallerIdentity()                     # self.caller.actor: verified actor or None
    tracing = Tracing()                           # request id in every log line, one line per call
"""
import logging
import threading
import time
from datetime import timedelta

import nameko
import sqlalchemy as sa
import structlog
from nameko.extensions import DependencyProvider

from kernel.db import HandledCall, create_db_engine, record_call_result, unit_of_work_factory
from kernel.events import DEFAULT_DEPRECATION_DAYS
from kernel.identity import ACTOR_CONTEXT_KEY, ActorVerifier, Caller
from kernel import metrics
from kernel.migrations import schema_behind
from kernel.outbox import DEFAULT_INBOX_RETENTION, DEFAULT_RETENTION, OutboxRelay, outbox_table_of
from kernel.rpc import CALL_KEY
from kernel.tracing import REQUEST_ID_KEY, new_request_id

log = logging.getLogger("kosi.calls")


def database_url_key(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


class Database(DependencyProvider):
    """Injects ``make_uow()`` (units of work carrying the caller's request id into the
    outbox); runs the service's outbox relay beside the workers.

    Config (keys of the service's own): ``<SERVICE>_DATABASE_URL``; ``<SERVICE>_OUTBOX_RELAY``
    (default true) runs the relay in this process; ``OUTBOX_RETENTION_DAYS`` (7),
    ``INBOX_RETENTION_DAYS`` (30), ``EVENT_DEPRECATION_DAYS`` (90).
    """

    def __init__(self, metadata: sa.MetaData, service: str):
        self.metadata = metadata
        self.service = service
        self.engine = None
        self.relay = None
        self._wake = threading.Event()
        self._stopping = False

    def setup(self):
        config = nameko.config
        prefix = self.service.upper()
        self.engine = create_db_engine(config[database_url_key(self.service)])
        self.make_uow = unit_of_work_factory(
            self.engine, self.service, self.metadata, on_commit=self._wake.set,
            deprecation_days=int(config.get("EVENT_DEPRECATION_DAYS", DEFAULT_DEPRECATION_DAYS)))
        metrics.OUTBOX_BACKLOGS.register(self.service, self.engine, outbox_table_of(self.metadata))
        if config.get(f"{prefix}_OUTBOX_RELAY", True):
            self.relay = OutboxRelay(
                self.engine, self.metadata, self.service, config["AMQP_URI"],
                retention=_days(config.get("OUTBOX_RETENTION_DAYS"), DEFAULT_RETENTION),
                inbox_retention=_days(config.get("INBOX_RETENTION_DAYS"), DEFAULT_INBOX_RETENTION),
                announce=bool(config.get("CHANGE_NOTICES", True)))

    def start(self):
        if self.relay:
            self.container.spawn_managed_thread(self._run_relay, identifier="outbox-relay")

    def _run_relay(self):
        self.relay.run(should_stop=lambda: self._stopping, wait_for_wake=self._wait_for_wake)

    def _wait_for_wake(self, timeout):
        self._wake.wait(timeout)
        self._wake.clear()

    def stop(self):
        self._stopping = True
        self._wake.set()

    def kill(self):
        self.stop()

    def check_ready(self) -> None:
        """For the readiness probe (``kernel.ops``): the database answers, and its schema is not
        older than this code's (a replica started before the migration job ran waits unready)."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            behind = schema_behind(self.service, connection)
        if behind:
            raise LookupError(behind)

    def get_dependency(self, worker_ctx):
        call_id = worker_ctx.context_data.get(CALL_KEY)
        call = worker_ctx.kosi_call = HandledCall(call_id) if call_id else None
        # the request id is read when a unit of work starts: Tracing sets it after injection
        return lambda: self.make_uow(worker_ctx.context_data.get(REQUEST_ID_KEY), call)

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        call = getattr(worker_ctx, "kosi_call", None)
        if call is not None and exc_info is None:
            try:
                record_call_result(self.engine, self.metadata, call, result)
            except Exception:  # the write stands; a redelivery would then answer Conflict
                log.warning("could not keep the result of call %s", call.call_id, exc_info=True)


def _days(value, default: timedelta) -> timedelta:
    return default if value in (None, "") else timedelta(days=float(value))


class FromConfig(DependencyProvider):
    """Injects ``build(config)`` (a service's settings), built once as the container starts, so
    a bad value stops the start instead of a call."""

    def __init__(self, build):
        self.build = build
        self.value = None

    def setup(self):
        self.value = self.build(nameko.config)

    def get_dependency(self, worker_ctx):
        return self.value


class CallerIdentity(DependencyProvider):
    """``self.caller.actor``: the actor whose signed assertion the call carries, or None.

    Config ``TRUSTED_SIGNERS`` (``issuer:publickey,…``). A call without an assertion is
    anonymous; a forged, expired or untrusted one is refused (``Forbidden``).
    """

    def setup(self):
        self.verifier = ActorVerifier.from_config(nameko.config)

    def get_dependency(self, worker_ctx):
        return Caller(self.verifier, worker_ctx.context_data.get(ACTOR_CONTEXT_KEY))


class Tracing(DependencyProvider):
    """Binds the request id (from the caller's context data, or new) and the entrypoint to
    every log line a worker writes, passes the id on to the RPC calls it makes, and logs
    one line per handled call with its duration and outcome (no arguments: they may hold
    personal data)."""

    def worker_setup(self, worker_ctx):
        request_id = worker_ctx.context_data.get(REQUEST_ID_KEY) or new_request_id()
        worker_ctx.context_data[REQUEST_ID_KEY] = request_id
        worker_ctx.kosi_started = time.perf_counter()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, entrypoint=f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}")

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        milliseconds = round((time.perf_counter() - getattr(worker_ctx, "kosi_started", time.perf_counter())) * 1000, 1)
        outcome = "ok" if exc_info is None else type(exc_info[1]).__name__
        log.info("handled", extra={"duration_ms": milliseconds, "outcome": outcome})
        metrics.observe_worker(worker_ctx.service_name, worker_ctx.entrypoint.method_name, outcome,
                               milliseconds / 1000)

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.unbind_contextvars("request_id", "entrypoint")
