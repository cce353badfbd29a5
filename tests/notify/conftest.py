"""Fixtures of the notify tests: its database migrated to head (PostgreSQL and SQLite), and a
real SMTP server (``tests.mail``)."""
import pytest
import sqlalchemy as sa

from kernel.db import create_db_engine
from services.notify import models
from services.notify.models import deliveries
from services.notify.subscriptions import Settings
from tests.databases import DIALECTS, emptied_units_of_work, fresh_service_database_of
from tests.mail import html_part, text_part  # noqa: F401 (the notify tests' helpers)

SETTINGS = Settings(token_secret="notify-test-secret-0123456789abcdef-xyz")
_WRITTEN = ("alerts", "alert_keys", "interests", "consents", "deliveries", "items", "newsletters", "subscribers",
            "outbox", "inbox", "handled_calls")


@pytest.fixture(scope="session", params=DIALECTS)
def notify_engine(request, tmp_path_factory):
    url = fresh_service_database_of("notify", request.param, "kosi_test_notify_domain",
                                    tmp_path_factory.mktemp("notify"))
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_uow(notify_engine):
    return emptied_units_of_work(notify_engine, "notify", models.metadata, _WRITTEN)


def unsent(url: str) -> int:
    """Deliveries of the notify database at ``url`` not sent (or given up) yet."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(deliveries)
                                .where(deliveries.c.state.in_(("pending", "sending")))).scalar()
    finally:
        engine.dispose()
