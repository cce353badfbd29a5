"""The inbox under concurrent redelivery: two workers apply the same event at the same
moment on PostgreSQL; exactly one applies it, the other recognises the duplicate (it does
not fail, so it is neither retried nor dead-lettered)."""
import eventlet
import pytest
import sqlalchemy as sa

from kernel.db import unit_of_work_factory
from kernel.inbox import apply_once
from tests.kernel.test_consumer import bell, counters, metadata, total
from tests.kernel.test_consumer import counter_db, database_url  # noqa: F401 (fixtures)


def slow_count(uow, envelope):
    uow.session.execute(sa.update(counters).values(value=counters.c.value + envelope["data"]["times"]))
    uow.session.execute(sa.text("SELECT pg_sleep(0.3)"))  # both transactions are open at once


def test_two_workers_applying_one_event_at_once_apply_it_once(counter_db):
    make_uow = unit_of_work_factory(counter_db, "bellcounter", metadata)
    event = bell(5)
    workers = [eventlet.spawn(apply_once, make_uow, "bellcounter.count", event, slow_count) for _ in range(2)]
    outcomes = sorted(worker.wait() for worker in workers)
    assert outcomes == [False, True]
    assert total(counter_db) == 5


def test_a_failed_effect_leaves_no_trace_in_the_inbox(counter_db):
    make_uow = unit_of_work_factory(counter_db, "bellcounter", metadata)
    event = bell(3)

    def failing(uow, envelope):
        slow_count(uow, envelope)
        raise ConnectionError("the store went away")

    with pytest.raises(ConnectionError):
        apply_once(make_uow, "bellcounter.count", event, failing)
    assert total(counter_db) == 0
    assert apply_once(make_uow, "bellcounter.count", event, slow_count) is True  # the retry applies it
    assert total(counter_db) == 3
