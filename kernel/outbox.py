"""Outbox and inbox tables, and the relay that publishes the outbox.

The relay publishes each stored event to the producer's topic exchange
(``<producer>.events``, routing key = event type) with publisher confirms and
``mandatory``, and marks the row published only after the broker confirmed. A crash in
between means the event is published again later: consumers are idempotent (inbox or a
natural key). An event no queue is bound for goes to the exchange's alternate exchange
and waits in ``<producer>.events.unrouted`` (``kosi parked``), never dropped.

At most one relay per producer is active (a PostgreSQL advisory lock held on a
connection of its own; the others stand by and take over when the holder's connection
goes away), and it publishes in outbox order, stopping at the first failure. So the
events of one aggregate (one entry, whose writes are serialised by a row lock) arrive
in the order they were committed.

Published rows are deleted after ``retention``; unpublished ones stay until published.
"""
import logging
import time
import zlib
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher, UndeliverableMessage

from kernel import topology
from kernel.errors import describe_error

log = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=7)
DEFAULT_INBOX_RETENTION = timedelta(days=30)
PRUNE_EVERY_SECONDS = 3600.0


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("event_id", "version", name="uq_outbox_event_version"),
    )


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox", metadata,
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp(), index=True),
    )


def handled_calls_table(metadata: sa.MetaData) -> sa.Table:
    """RPC calls whose writes were committed (``kernel.rpc``): a redelivered call is
    recognised, and answered with the first run's result instead of writing twice."""
    return sa.Table(
        "handled_calls", metadata,
        sa.Column("call_key", sa.String(120), primary_key=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp(), index=True),
    )


def forget_call_results(session, calls: sa.Table, mentioning: str) -> int:
    """Clear the kept answers of handled calls that mention ``mentioning`` (an id whose personal
    data is being erased); the call keys stay, so a redelivery still writes nothing twice."""
    return session.execute(sa.update(calls).where(
        sa.cast(calls.c.result, sa.Text).contains(mentioning, autoescape=True)).values(result=None)).rowcount


def outbox_table_of(metadata: sa.MetaData) -> sa.Table:
    return metadata.tables["outbox"]


def inbox_table_of(metadata: sa.MetaData) -> sa.Table:
    return metadata.tables["inbox"]


def event_exchange(producer: str, declare: bool = True) -> Exchange:
    """The producer's topic exchange, with its alternate exchange (``kernel.topology``)."""
    return Exchange(topology.event_exchange_name(producer), type="topic", durable=True, auto_delete=False,
                    arguments=topology.event_exchange_arguments(producer), no_declare=not declare)


def changes_exchange(producer: str) -> Exchange:
    return Exchange(topology.changes_name(producer), type="fanout", durable=True, auto_delete=False)


def parked_queue(producer: str) -> Queue:
    """The alternate exchange of the producer's exchange and the durable queue behind it."""
    name = topology.unrouted_name(producer)
    return Queue(name, exchange=Exchange(name, type="fanout", durable=True), durable=True, auto_delete=False)


# ---------------------------------------------------------------------- status and retention

def outbox_status(engine: sa.Engine, metadata: sa.MetaData) -> dict:
    outbox = outbox_table_of(metadata)
    with engine.connect() as conn:
        pending, oldest, failing = conn.execute(sa.select(
            sa.func.count(), sa.func.min(outbox.c.created_at),
            sa.func.count().filter(outbox.c.last_error.is_not(None)))
            .where(outbox.c.published_at.is_(None))).one()
        published = conn.execute(sa.select(sa.func.count()).where(outbox.c.published_at.is_not(None))).scalar_one()
        last_error = conn.execute(sa.select(outbox.c.last_error).where(
            outbox.c.published_at.is_(None), outbox.c.last_error.is_not(None)).order_by(outbox.c.id).limit(1)
        ).scalar()
    return {"pending": pending, "oldest_pending": _iso(oldest), "pending_with_errors": failing,
            "last_error": last_error, "published_kept": published}


def prune_outbox(engine: sa.Engine, metadata: sa.MetaData, retention: timedelta = DEFAULT_RETENTION) -> int:
    """Delete published rows older than ``retention``; returns how many."""
    outbox = outbox_table_of(metadata)
    cutoff = datetime.now(timezone.utc) - retention
    with engine.begin() as conn:
        return conn.execute(sa.delete(outbox).where(outbox.c.published_at.is_not(None),
                                                     outbox.c.published_at < cutoff)).rowcount


def prune_inbox(engine: sa.Engine, metadata: sa.MetaData, retention: timedelta = DEFAULT_INBOX_RETENTION) -> int:
    """Forget processed event ids and handled calls older than ``retention`` (longer than any
    redelivery takes)."""
    cutoff = datetime.now(timezone.utc) - retention
    forgotten = 0
    with engine.begin() as conn:
        forgotten += conn.execute(sa.delete(inbox_table_of(metadata)).where(
            inbox_table_of(metadata).c.processed_at < cutoff)).rowcount
        if "handled_calls" in metadata.tables:
            calls = metadata.tables["handled_calls"]
            forgotten += conn.execute(sa.delete(calls).where(calls.c.handled_at < cutoff)).rowcount
    return forgotten


def _iso(value):
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


# ---------------------------------------------------------------------- one active relay

class RelayLease:
    """Which relay of a producer may publish: the one holding its lease.

    PostgreSQL: an advisory lock held by a connection of the relay's own, for as long as
    that connection lives (a killed process loses it at once). SQLite: an exclusive lock on
    a file beside the database, held for as long as the process keeps it open.
    """

    CHECK_SECONDS = 1.0  # how often a held advisory lock's connection is checked

    def __init__(self, engine: sa.Engine, producer: str):
        self._engine = engine
        self._checked_at = 0.0
        self._key = zlib.crc32(f"kosi-outbox-relay:{producer}".encode())
        self._held = None  # the connection (PostgreSQL) or open lock file (SQLite)
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._lock_path = f"{database}.relay-{producer}.lock" if database and database != ":memory:" else None

    def acquire(self) -> bool:
        """True when this relay holds the lease (now or already)."""
        if self._engine.dialect.name == "postgresql":
            return self._acquire_advisory_lock()
        if self._lock_path is None:
            return True  # an in-memory database lives in this process only
        return self._acquire_file_lock()

    def _acquire_advisory_lock(self) -> bool:
        if self._held is not None:
            # checked once a second, not before every batch (a round trip and a commit each
            # time): a relay whose connection died publishes on for at most that long, and
            # an event published twice is what consumers are made for
            if time.monotonic() - self._checked_at < self.CHECK_SECONDS:
                return True
            try:
                self._held.execute(sa.text("SELECT 1"))
                self._held.commit()
                self._checked_at = time.monotonic()
                return True
            except Exception:  # the session (and with it the lock) is gone
                self.release()
        connection = self._engine.connect()
        try:
            got = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if got:
            self._held = connection
            self._checked_at = time.monotonic()
            return True
        connection.close()
        return False

    def _acquire_file_lock(self) -> bool:
        import fcntl

        if self._held is not None:
            return True
        handle = open(self._lock_path, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._held = handle
        return True

    def release(self) -> None:
        if self._held is not None:
            try:
                if isinstance(self._held, sa.Connection):
                    # closing would hand the session, lock and all, back to the pool: end it
                    self._held.invalidate()
                self._held.close()
            except Exception:
                pass
            self._held = None


class OutboxRelay:
    """Publishes pending outbox rows in order, while it holds the producer's lease."""

    def __init__(self, engine: sa.Engine, metadata: sa.MetaData, producer: str, amqp_uri: str,
                 batch_size: int = 200, retention: timedelta = DEFAULT_RETENTION,
                 inbox_retention: timedelta = DEFAULT_INBOX_RETENTION, announce: bool = True):
        self._engine = engine
        self._metadata = metadata
        self._outbox = outbox_table_of(metadata)
        self.producer = producer
        self.lease = RelayLease(engine, producer)
        self._batch_size = batch_size
        self._retention = retention
        self._inbox_retention = inbox_retention
        self._exchange = event_exchange(producer)
        self._changes = changes_exchange(producer)
        self._announce_changes = announce  # change notices for readers that keep copies
        self._publisher = Publisher(amqp_uri, exchange=self._exchange,
                                    declare=[parked_queue(producer), self._exchange, self._changes],
                                    use_confirms=True, mandatory=True,
                                    retry=True, retry_policy={"max_retries": 1, "interval_start": 0.2})
        self._pruned_at = 0.0
        self._mark_published = sa.update(self._outbox).where(
            self._outbox.c.id.in_(sa.bindparam("ids", expanding=True))).values(
            attempts=self._outbox.c.attempts + 1, published_at=sa.bindparam("now"), last_error=None)

    def pending_count(self) -> int:
        with self._engine.connect() as conn:
            query = sa.select(sa.func.count()).where(self._outbox.c.published_at.is_(None))
            return conn.execute(query).scalar_one()

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it published. Raises if none could be.

        The batch is read, published and marked in separate short transactions (on one
        connection: a checkout costs a pre-ping round trip): holding a transaction across the
        network calls would hold SQLite's database-wide write lock (its busy wait blocks the
        eventlet hub). Only one relay is active, so nobody else reads the rows meanwhile.
        """
        with self._engine.connect() as conn:
            rows = conn.execute(self._pending_query()).all()
            conn.commit()
            outcomes = self._publish(rows)
            if outcomes:
                self._mark(conn, outcomes)
                conn.commit()
        published = sum(1 for _row_id, error in outcomes if error is None)
        if outcomes and not published:
            raise outcomes[0][1]  # not even the first event went out: the broker is away
        if published and self._announce_changes:
            self._announce([row.event_type for row in rows[:published]])
        return published

    def _announce(self, event_types: list[str]) -> None:
        """One change notice for the batch (``kernel.topology.changes_name``). Best effort: the
        events are out; a reader that misses a notice lets its copies expire."""
        try:
            # no confirm to wait for: a producer nobody listens to pays a publish, not a round trip
            self._publisher.publish({"producer": self.producer, "types": sorted(set(event_types))},
                                    exchange=self._changes, routing_key="", mandatory=False, use_confirms=False,
                                    serializer="json")
        except Exception as exc:  # noqa: BLE001 (logged; the events themselves were published)
            log.warning("outbox: change notice of %s not published: %s", self.producer, describe_error(exc))

    def _pending_query(self):
        outbox = self._outbox
        return (sa.select(outbox.c.id, outbox.c.event_type, outbox.c.event_id, outbox.c.version,
                          outbox.c.payload, outbox.c.request_id)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id).limit(self._batch_size))

    def _publish(self, rows) -> list[tuple[int, Exception | None]]:
        """(row id, error) per row, stopping at the first failure to keep the order."""
        outcomes = []
        for row in rows:
            headers = {topology.REQUEST_ID_HEADER: row.request_id} if row.request_id else {}
            try:
                self._publisher.publish(row.payload, routing_key=row.event_type, headers=headers,
                                        message_id=f"{row.event_id}.v{row.version}", serializer="json")
                outcomes.append((row.id, None))
            except UndeliverableMessage:
                # with the alternate exchange in place this cannot happen; if it was deleted,
                # keep the event rather than lose it
                outcomes.append((row.id, RuntimeError(
                    f"{row.event_type} was returned unroutable: the alternate exchange "
                    f"{topology.unrouted_name(self.producer)} is missing (run `kosi broker setup`)")))
                break
            except Exception as exc:
                outcomes.append((row.id, exc))
                break
        return outcomes

    def _mark(self, conn, outcomes) -> None:
        outbox = self._outbox
        published = [row_id for row_id, error in outcomes if error is None]
        if published:  # one statement for the batch
            conn.execute(self._mark_published, {"ids": published, "now": datetime.now(timezone.utc)})
        for row_id, error in outcomes:
            if error is not None:
                conn.execute(sa.update(outbox).where(outbox.c.id == row_id).values(
                    attempts=outbox.c.attempts + 1, last_error=describe_error(error)))

    def prune_if_due(self) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        removed = prune_outbox(self._engine, self._metadata, self._retention)
        forgotten = prune_inbox(self._engine, self._metadata, self._inbox_retention)
        if removed or forgotten:
            log.info("outbox: %d published event(s) older than %s deleted; inbox: %d old id(s) forgotten",
                     removed, self._retention, forgotten)

    def run(self, should_stop, wait_for_wake, idle_seconds: float = 1.0, max_backoff: float = 5.0,
            standby_seconds: float = 2.0):
        """Loop until ``should_stop()``: while holding the lease, publish, then sleep until
        woken or ``idle_seconds`` pass; without it, stand by and ask again."""
        backoff = 0.1
        try:
            while not should_stop():
                try:
                    if not self.lease.acquire():
                        wait_for_wake(standby_seconds)
                        continue
                    # the lease is checked before every batch (at most once a second, see
                    # RelayLease.CHECK_SECONDS); a batch that was not full was all there was
                    # (a commit since wakes the loop)
                    while (self.publish_pending() >= self._batch_size and not should_stop()
                           and self.lease.acquire()):
                        pass
                    self.prune_if_due()
                    backoff = 0.1
                    wait_for_wake(idle_seconds)
                except Exception:  # broker or database away: retry with backoff, never give up
                    log.warning("outbox relay cannot publish yet; retrying in %.1fs", backoff, exc_info=True)
                    time.sleep(backoff)
                    backoff = min(backoff * 2, max_backoff)
        finally:
            self.lease.release()
