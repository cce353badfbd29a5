"""The send loop: deliveries due are claimed in small batches, composed and handed to SMTP,
each recorded as soon as the server accepted it.

Several notify processes may run: a batch is claimed with ``FOR UPDATE SKIP LOCKED`` and a
lease (``claimed_until``); the rows of a process that died are claimed again when their lease
ran out. A mail the server accepted right before a crash, whose record did not make it, is
sent again under the same ``Message-ID`` (the delivery's id), which receiving systems use to
recognise it; at most one mail per sending process can be in that state. Transient failures
are retried with exponential backoff up to ``max_attempts``; a permanent one fails the
delivery at once and counts a hard bounce against the subscriber, who gets no more mail after
``hard_bounce_limit`` of them. Final rows keep no address and no personal context.
"""
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from kernel import metrics
from kernel.db import create_db_engine
from kernel.rows import utcnow
from services.notify.compose import Composer
from services.notify.mail import envelope_sender
from services.notify.models import alert_keys, deliveries, subscribers
from services.notify.smtp import PermanentFailure, TransientFailure

log = logging.getLogger(__name__)

_SENT_STATEMENT = "kosi_notify_sent"
RECORD_PATIENCE_SECONDS = 600  # how long a sent mail's record is retried while the database is away


class DatabaseWasAway(RuntimeError):
    """A batch ended early: the database went away (and came back) during it."""
IDLE_CLOSE_SECONDS = 30  # the SMTP connection is closed after this long without a mail
SUBSCRIBER_COLUMNS = (subscribers.c.email, subscribers.c.status, subscribers.c.token_version,
                      subscribers.c.frequency)


@dataclass(frozen=True)
class SendSettings:
    rate_per_second: float = 50
    batch_size: int = 50
    lease_seconds: float = 60
    max_attempts: int = 8
    backoff_seconds: float = 30
    max_backoff_seconds: float = 6 * 3600
    hard_bounce_limit: int = 3


class Sender:
    def __init__(self, engine: sa.Engine, transport, composer: Composer, settings: SendSettings,
                 sleep=time.sleep, clock=time.monotonic):
        self.engine = engine
        self.transport = transport
        self.composer = composer
        self.settings = settings
        self.sleep, self.clock = sleep, clock
        self._next_send = 0.0
        self._last_sent = clock()
        self._postgres = engine.dialect.name == "postgresql"  # SKIP LOCKED
        self._unfinished: list[str] = []  # claimed in this batch and not yet finished

    # ------------------------------------------------------------------ the loop

    def run(self, should_stop, wait) -> None:
        while not should_stop():
            try:
                sent = self.send_batch()
            except DatabaseWasAway:
                log.warning("notify: the database was away during a batch; going on")
                sent = 0
            except Exception:
                log.exception("notify: the send loop failed; trying again")
                self.transport.close()
                sent = 0
                wait(2.0)
            if not sent:
                if self._idle_long():  # no connection held open while nothing is sent
                    self.transport.close()
                wait(0.5)
        self.transport.close()

    def _idle_long(self) -> bool:
        return self.clock() - self._last_sent > IDLE_CLOSE_SECONDS

    def send_batch(self) -> int:
        """Claim and send one batch; returns how many deliveries it handled (0: nothing due)."""
        self._release_unfinished()
        batch = self.claim()
        if batch:
            self._unfinished = [delivery["id"] for delivery in batch]
            with self.engine.connect() as connection:  # one connection composes the whole batch
                for delivery in batch:
                    self._pace()
                    self.send_one(connection, delivery)
                    self._unfinished.remove(delivery["id"])
        return len(batch)

    def _release_unfinished(self) -> None:
        """The claims of a batch that ended early (the database went away) go back to the queue
        as soon as the database answers again, not when their lease runs out."""
        if not self._unfinished:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.update(deliveries).where(
                    deliveries.c.id.in_(self._unfinished), deliveries.c.state == "sending")
                    .values(state="pending", claimed_until=None, attempts=deliveries.c.attempts - 1))
            self._unfinished = []
        except sa.exc.DBAPIError:
            pass   # still away: tried again before the next batch (or the lease brings them back)

    def claim(self) -> list[dict]:
        now = utcnow()
        due = sa.or_(sa.and_(deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now),
                     sa.and_(deliveries.c.state == "sending", deliveries.c.claimed_until < now))
        with self.engine.begin() as connection:
            query = (sa.select(deliveries.c.id).where(due).order_by(deliveries.c.next_attempt_at)
                     .limit(self.settings.batch_size))
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            ids = connection.execute(query).scalars().all()
            if not ids:
                return []
            connection.execute(sa.update(deliveries).where(deliveries.c.id.in_(ids)).values(
                state="sending", claimed_until=now + timedelta(seconds=self.settings.lease_seconds),
                attempts=deliveries.c.attempts + 1))
            rows = connection.execute(
                sa.select(deliveries, *SUBSCRIBER_COLUMNS)
                .select_from(deliveries.outerjoin(subscribers, subscribers.c.id == deliveries.c.subscriber_id))
                .where(deliveries.c.id.in_(ids)).order_by(deliveries.c.next_attempt_at)).mappings().all()
        return [dict(row) for row in rows]

    def _pace(self) -> None:
        rate = self.settings.rate_per_second
        if rate <= 0:
            return
        now = self.clock()
        if self._next_send > now:
            self.sleep(self._next_send - now)
        self._next_send = max(now, self._next_send) + 1.0 / rate

    def send_one(self, connection, delivery: dict) -> None:
        """Compose, send and record one delivery; ``connection`` reads what the mail needs and
        writes its record (each record is its own transaction, committed at once)."""
        try:
            outgoing = self.composer.compose(connection, delivery)
        except sa.exc.DBAPIError:   # the database is away, not the mail broken: released when it is back
            raise
        except Exception as error:  # a mail that cannot be made will not be made by trying again
            log.exception("notify: delivery %s could not be composed", delivery["id"])
            connection.rollback()
            self._finish(connection, delivery, "failed", f"could not be composed: {type(error).__name__}")
            return
        if outgoing is None:
            self._finish(connection, delivery, "cancelled", None)
            return
        self._last_sent = self.clock()
        try:
            self.transport.send(envelope_sender(self.composer.mail_settings), outgoing.recipient, outgoing.message)
        except TransientFailure as error:
            self._retry(connection, delivery, str(error))
        except PermanentFailure as error:
            self._finish(connection, delivery, "failed", str(error), bounced=True)
        else:
            self._record_sent_surely(connection, delivery)

    # ------------------------------------------------------------------ records

    def _record_sent_surely(self, connection, delivery: dict) -> None:
        """The mail went out: its record must follow, or its lease would run out and send it again
        (found by the fault suite: PostgreSQL restarted while a newsletter went out). Retried on
        a fresh connection until the database answers; then the batch ends, since its connection
        is gone (the rest of it is claimed again)."""
        try:
            self._finish(connection, delivery, "sent", None)
            return
        except sa.exc.DBAPIError as error:
            log.warning("notify: delivery %s sent, its record waits for the database: %s", delivery["id"],
                        type(error).__name__)
        waited, delay = 0.0, 0.5
        while True:
            self.sleep(delay)
            waited += delay
            try:
                with self.engine.connect() as fresh:
                    self._finish(fresh, delivery, "sent", None)
                break
            except sa.exc.DBAPIError:
                if waited > RECORD_PATIENCE_SECONDS:
                    log.error("notify: delivery %s sent but not recorded: it may go out twice", delivery["id"])
                    raise
                delay = min(delay * 2, 10.0)
        raise DatabaseWasAway("the batch's connection was lost")

    def _finish(self, connection, delivery: dict, state: str, error: str | None, bounced: bool = False) -> None:
        metrics.MAILS.labels(delivery["kind"], state).inc()
        now = utcnow()
        if state == "sent" and self._postgres:
            self._record_sent(connection, delivery["id"], now)
            return
        connection.execute(sa.update(deliveries).where(deliveries.c.id == delivery["id"]).values(
            state=state, error=error, recipient=None, context=None, claimed_until=None,
            sent_at=now if state == "sent" else None))
        if bounced and delivery["subscriber_id"] is not None:
            connection.execute(sa.update(subscribers).where(subscribers.c.id == delivery["subscriber_id"]).values(
                hard_bounces=subscribers.c.hard_bounces + 1,
                status=sa.case((subscribers.c.hard_bounces + 1 >= self.settings.hard_bounce_limit,
                                sa.literal("bounced")), else_=subscribers.c.status)))
            # a bounced address is matched no more (confirming it again writes its keys anew)
            connection.execute(sa.delete(alert_keys).where(
                alert_keys.c.subscriber_id == delivery["subscriber_id"],
                sa.exists().where(subscribers.c.id == delivery["subscriber_id"],
                                  subscribers.c.status == "bounced")))
        connection.commit()

    def _record_sent(self, connection, delivery_id: str, now) -> None:
        """The record of each mail sent, the one write per mail: a statement prepared once per
        database connection, without SQLAlchemy's compilation (together a third of what a
        newsletter mail cost beyond its SMTP exchange, measured)."""
        if not connection.info.get(_SENT_STATEMENT):
            connection.exec_driver_sql(
                f"PREPARE {_SENT_STATEMENT} (text, timestamptz) AS UPDATE deliveries SET state = 'sent', "
                "error = NULL, recipient = NULL, context = NULL, claimed_until = NULL, sent_at = $2 WHERE id = $1")
            connection.info[_SENT_STATEMENT] = True
        connection.exec_driver_sql(f"EXECUTE {_SENT_STATEMENT} (%s, %s)", (delivery_id, now))
        connection.commit()

    def _retry(self, connection, delivery: dict, error: str) -> None:
        attempts = delivery["attempts"]  # counted when it was claimed
        if attempts >= self.settings.max_attempts:
            self._finish(connection, delivery, "failed", f"gave up after {attempts} attempts: {error}")
            return
        metrics.MAILS.labels(delivery["kind"], "retried").inc()
        delay = min(self.settings.backoff_seconds * 2 ** (attempts - 1), self.settings.max_backoff_seconds)
        connection.execute(sa.update(deliveries).where(deliveries.c.id == delivery["id"]).values(
            state="pending", error=error[:300], claimed_until=None,
            next_attempt_at=utcnow() + timedelta(seconds=delay)))
        connection.commit()


def sender_engine(url: str) -> sa.Engine:
    """The send loop's own engine. On PostgreSQL its commits do not wait for the disk: a record
    lost to a database crash only means the mail goes again under the same Message-ID, and
    waiting for each record's flush halved the rate (measured)."""
    if url.startswith("postgresql"):
        return create_db_engine(url, connect_args={"options": "-c synchronous_commit=off"})
    return create_db_engine(url)
