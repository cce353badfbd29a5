"""``kosi newsletter send`` and ``list`` against a running notify service and a real SMTP server."""
import nameko
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cli.main import main as kosi
from kernel import broker
from kernel.messaging import subscriptions_of
from kernel.rows import new_id, utcnow
from services.notify.models import subscribers
from services.notify.service import NotifyService
from tests.databases import fresh_service_database
from tests.identity import NOTIFY_KEY, SERVICE_TRUST, operator_environment, staff_rpc
from tests.notify.conftest import SETTINGS


@pytest.fixture
def notify_rpc(container_factory, rabbit_config, rabbit_uri, monkeypatch, smtp_sink):
    broker.declare_topology(rabbit_uri, ["catalog", "survey"], subscriptions_of(NotifyService))
    url = fresh_service_database("notify", "kosi_test_cli_newsletter")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(subscribers), [
            {"id": new_id(), "email": f"leser{number}@example.org", "status": "confirmed", "language": "de",
             "preferences": {"newsletter": True, "alerts": None, "frequency": "immediately"}, "newsletter": True,
             "created_at": utcnow(), "confirmed_at": utcnow(), "version": 1} for number in range(3)])
    engine.dispose()
    monkeypatch.setenv("KOSI_OPERATOR_AMQP_URI", rabbit_uri)
    for name, value in operator_environment().items():
        monkeypatch.setenv(name, value)
    with nameko.config.patch({"NOTIFY_DATABASE_URL": url, "NOTIFY_TOKEN_SECRET": SETTINGS.token_secret,
                              "ACTOR_SIGNING_KEY": NOTIFY_KEY, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_sink.port,
                              "SEND_RATE_PER_SECOND": 0, **SERVICE_TRUST}):
        container_factory(NotifyService).start()
        smtp_sink.clear()
        with staff_rpc(rabbit_uri) as rpc:
            yield rpc.notify


def test_send_shows_progress_to_the_end_and_list_shows_the_result(notify_rpc, smtp_sink):
    letter = notify_rpc.create_newsletter({"subject": "Neues im Land", "intro": "Hallo", "items": []})
    tested = CliRunner().invoke(kosi, ["newsletter", "send", letter["id"], "--test-to", "redaktion@example.org"])
    assert tested.exit_code == 0 and "redaktion@example.org" in tested.output, tested.output

    sent = CliRunner().invoke(kosi, ["newsletter", "send", letter["id"]])
    assert sent.exit_code == 0, sent.output
    assert "Neues im Land: 3 of 3 sent, 0 failed" in sent.output
    assert sorted(mail["To"] for mail in smtp_sink.messages()) == [
        "leser0@example.org", "leser1@example.org", "leser2@example.org", "redaktion@example.org"]

    again = CliRunner().invoke(kosi, ["newsletter", "send", letter["id"]])  # follows, sends nothing more
    assert again.exit_code == 0 and "already" in again.output and len(smtp_sink.messages()) == 4

    listed = CliRunner().invoke(kosi, ["newsletter", "list"])
    assert listed.exit_code == 0 and letter["id"] in listed.output and "3/3" in listed.output, listed.output
    unknown = CliRunner().invoke(kosi, ["newsletter", "send", "00000000-0000-0000-0000-000000000000"])
    assert unknown.exit_code == 1 and "NotFound" in unknown.output
