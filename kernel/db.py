"""Database engines and the unit of work.

A unit of work is one database transaction plus the events the domain emitted in it;
on commit the events are written to the service's outbox table in the same
transaction (transactional outbox), so a change and its events are stored together
or not at all. Plain Python: no nameko here.
"""
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kernel.events import make_event
from kernel.outbox import inbox_table_of, outbox_table_of


def create_db_engine(url: str, **options) -> sa.Engine:
    """An engine that is safe under eventlet (psycopg2 gets psycogreen's wait callback)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

        @sa_event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith("postgresql"):
        _make_psycopg_green()
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 20)
    return sa.create_engine(url, **options)


def _make_psycopg_green():
    try:
        import eventlet.patcher
    except ImportError:  # pragma: no cover - eventlet is always installed here
        return
    if eventlet.patcher.is_monkey_patched("socket"):
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()


class UnitOfWork:
    """``with uow: …; uow.emit(…); uow.commit()`` — changes and events in one transaction."""

    def __init__(self, session_factory: Callable[[], Session], producer: str, metadata: sa.MetaData,
                 on_commit: Callable[[], None] | None = None):
        self._session_factory = session_factory
        self.producer = producer
        self._outbox = outbox_table_of(metadata)
        self._inbox = inbox_table_of(metadata)
        self._on_commit = on_commit
        self.session: Session | None = None
        self._events: list[dict] = []

    def __enter__(self):
        self.session = self._session_factory()
        self._events = []
        return self

    def __exit__(self, *exc_info):
        self.session.rollback()  # no-op after commit; discards anything uncommitted
        self.session.close()
        self._events = []

    def emit(self, event_type: str, data: dict, version: int = 1) -> dict:
        """Record an event; it is stored with the transaction and published after commit."""
        envelope = make_event(self.producer, event_type, data, version)
        self._events.append(envelope)
        return envelope

    def already_processed(self, consumer: str, event_id: str) -> bool:
        """Inbox check: has ``consumer`` already applied the event ``event_id``?"""
        query = sa.select(self._inbox.c.event_id).where(
            self._inbox.c.consumer == consumer, self._inbox.c.event_id == event_id)
        return self.session.execute(query).first() is not None

    def mark_processed(self, consumer: str, event_id: str) -> None:
        """Inbox write, in the same transaction as the effect of the event."""
        self.session.execute(sa.insert(self._inbox).values(consumer=consumer, event_id=event_id))

    def commit(self) -> None:
        if self._events:
            self.session.execute(sa.insert(self._outbox), [
                {"event_id": envelope["event_id"], "event_type": envelope["type"], "payload": envelope}
                for envelope in self._events
            ])
        had_events = bool(self._events)
        self.session.commit()
        self._events = []
        if had_events and self._on_commit:
            self._on_commit()


def unit_of_work_factory(engine: sa.Engine, producer: str, metadata: sa.MetaData,
                         on_commit: Callable[[], None] | None = None) -> Callable[[], UnitOfWork]:
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    return lambda: UnitOfWork(sessions, producer, metadata, on_commit)


def is_duplicate_delivery(error: IntegrityError) -> bool:
    """True when an IntegrityError came from the inbox's primary key (a concurrent redelivery)."""
    return "inbox" in str(error.orig).lower()
