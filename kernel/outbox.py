"""Outbox and inbox tables, and the relay that publishes the outbox.

The relay publishes each stored event to the producer's topic exchange
(``{producer}.events``, routing key = event type) with publisher confirms and
``mandatory``; only after the broker confirmed does it mark the row published. A crash
in between means the event is published again later: consumers are idempotent (inbox).
An event no queue is bound for is marked ``unroutable`` instead of blocking the outbox;
``kosi broker setup`` binds every consumer's queue in advance so this means nobody
subscribes to that type.
"""
import logging
import time
from datetime import datetime, timezone

import sqlalchemy as sa
from kombu import Exchange
from nameko.amqp.publish import Publisher, UndeliverableMessage

log = logging.getLogger(__name__)


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("unroutable", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox", metadata,
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
    )


def outbox_table_of(metadata: sa.MetaData) -> sa.Table:
    return metadata.tables["outbox"]


def inbox_table_of(metadata: sa.MetaData) -> sa.Table:
    return metadata.tables["inbox"]


def event_exchange(producer: str) -> Exchange:
    """The topic exchange nameko's own event handlers listen on."""
    return Exchange(f"{producer}.events", type="topic", durable=True, auto_delete=False)


class OutboxRelay:
    """Publishes pending outbox rows in order; safe to run in several processes (SKIP LOCKED)."""

    def __init__(self, engine: sa.Engine, metadata: sa.MetaData, producer: str, amqp_uri: str,
                 batch_size: int = 200):
        self._engine = engine
        self._outbox = outbox_table_of(metadata)
        self._exchange = event_exchange(producer)
        self._batch_size = batch_size
        self._publisher = Publisher(amqp_uri, exchange=self._exchange, declare=[self._exchange],
                                    use_confirms=True, mandatory=True,
                                    retry=True, retry_policy={"max_retries": 1, "interval_start": 0.2})

    def pending_count(self) -> int:
        with self._engine.connect() as conn:
            query = sa.select(sa.func.count()).where(self._outbox.c.published_at.is_(None))
            return conn.execute(query).scalar_one()

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it settled. Raises if the broker is away.

        On PostgreSQL the batch stays row-locked (``FOR UPDATE SKIP LOCKED``) while it is
        published, so several relays share one outbox. SQLite has no row locks: holding its
        database-wide write lock across the network calls would stall every writer in the
        process (its busy wait blocks the eventlet hub), so there the batch is read, then
        published, then marked, in separate short transactions (one relay per file).
        """
        if self._engine.dialect.name == "sqlite":
            with self._engine.connect() as conn:
                rows = conn.execute(self._pending_query()).all()
            outcomes = self._publish(rows)
            with self._engine.begin() as conn:
                self._mark(conn, outcomes)
        else:
            with self._engine.begin() as conn:
                outcomes = self._publish(conn.execute(self._pending_query().with_for_update(skip_locked=True)).all())
                self._mark(conn, outcomes)
        if outcomes and outcomes[-1][2] is not None and len(outcomes) == 1:
            raise outcomes[-1][2]  # not even the first event went out: the broker is away
        return sum(1 for _row_id, _unroutable, error in outcomes if error is None)

    def _pending_query(self):
        outbox = self._outbox
        return (sa.select(outbox.c.id, outbox.c.event_type, outbox.c.event_id, outbox.c.payload)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id).limit(self._batch_size))

    def _publish(self, rows) -> list[tuple[int, bool, Exception | None]]:
        """(row id, unroutable, error) per row, stopping at the first failure to keep order."""
        outcomes = []
        for row in rows:
            try:
                self._publisher.publish(row.payload, routing_key=row.event_type,
                                        message_id=row.event_id, serializer="json")
                outcomes.append((row.id, False, None))
            except UndeliverableMessage:
                log.info("event %s (%s) has no subscriber queue", row.event_id, row.event_type)
                outcomes.append((row.id, True, None))
            except Exception as exc:
                outcomes.append((row.id, False, exc))
                break
        return outcomes

    def _mark(self, conn, outcomes) -> None:
        outbox = self._outbox
        now = datetime.now(timezone.utc)
        for row_id, unroutable, error in outcomes:
            if error is None:
                values = {"published_at": now, "unroutable": unroutable}
            else:
                values = {"last_error": repr(error)[:2000]}
            conn.execute(sa.update(outbox).where(outbox.c.id == row_id).values(
                attempts=outbox.c.attempts + 1, **values))

    def run(self, should_stop, wait_for_wake, idle_seconds: float = 1.0, max_backoff: float = 5.0):
        """Loop until ``should_stop()``: publish, then sleep until woken or ``idle_seconds`` pass."""
        backoff = 0.1
        while not should_stop():
            try:
                while self.publish_pending() and not should_stop():
                    pass
                backoff = 0.1
                wait_for_wake(idle_seconds)
            except Exception:  # broker or database away: retry with backoff, never give up
                log.warning("outbox relay cannot publish yet; retrying in %.1fs", backoff, exc_info=True)
                time.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)
