"""nameko glue for the kernel: the database dependency that also runs the outbox relay."""
import threading

import nameko
import sqlalchemy as sa
from nameko.extensions import DependencyProvider

from kernel.db import create_db_engine, unit_of_work_factory
from kernel.outbox import OutboxRelay


class Database(DependencyProvider):
    """Injects a unit-of-work factory; runs the service's outbox relay beside the workers.

    Config: ``DATABASE_URL``; ``OUTBOX_RELAY`` (default true) turns the in-process relay
    off for deployments that run ``kosi outbox relay`` as its own process.
    """

    def __init__(self, metadata: sa.MetaData, producer: str):
        self.metadata = metadata
        self.producer = producer
        self.engine = None
        self.relay = None
        self._wake = threading.Event()
        self._stopping = False

    def setup(self):
        config = nameko.config
        self.engine = create_db_engine(config["DATABASE_URL"])
        self.make_uow = unit_of_work_factory(self.engine, self.producer, self.metadata,
                                             on_commit=self._wake.set)
        if config.get("OUTBOX_RELAY", True):
            self.relay = OutboxRelay(self.engine, self.metadata, self.producer, config["AMQP_URI"])

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

    def get_dependency(self, worker_ctx):
        return self.make_uow
