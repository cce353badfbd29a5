"""``kosi retention run`` against the running catalog, survey and notify services."""
from datetime import timedelta

import nameko
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cli.main import main as kosi
from kernel import broker
from kernel.errors import Forbidden
from kernel.messaging import subscriptions_of
from kernel.rows import utcnow
from services.catalog.models import entries
from services.catalog.service import CatalogService
from services.notify.service import NotifyService
from services.survey.service import SurveyService
from tests.databases import fresh_catalog_database, fresh_service_database
from tests.identity import ADMIN, NOTIFY_KEY, SERVICE_TRUST, operator_environment, staff_rpc
from tests.notify.conftest import SETTINGS as NOTIFY_SETTINGS
from tests.search.test_search_service import entry_data
from tests.survey.conftest import SETTINGS as SURVEY_SETTINGS


@pytest.fixture
def services(container_factory, rabbit_config, rabbit_uri, monkeypatch, smtp_sink):
    broker.declare_topology(rabbit_uri, ["catalog", "survey"], subscriptions_of(NotifyService))
    catalog_url = fresh_catalog_database("kosi_test_cli_retention")
    monkeypatch.setenv("KOSI_OPERATOR_AMQP_URI", rabbit_uri)
    for name, value in operator_environment().items():
        monkeypatch.setenv(name, value)
    with nameko.config.patch({
            "CATALOG_DATABASE_URL": catalog_url,
            "SURVEY_DATABASE_URL": fresh_service_database("survey", "kosi_test_cli_retention_survey"),
            "SURVEY_TOKEN_SECRET": SURVEY_SETTINGS.token_secret,
            "NOTIFY_DATABASE_URL": fresh_service_database("notify", "kosi_test_cli_retention_notify"),
            "NOTIFY_TOKEN_SECRET": NOTIFY_SETTINGS.token_secret, "ACTOR_SIGNING_KEY": NOTIFY_KEY,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_sink.port, "REJECTED_RETENTION_DAYS": 180,
            **SERVICE_TRUST}):
        for service in (CatalogService, SurveyService, NotifyService):
            container_factory(service).start()
        yield {"catalog_url": catalog_url, "rabbit_uri": rabbit_uri}


def test_retention_run_deletes_what_is_due_in_each_service_and_says_so(services):
    with staff_rpc(services["rabbit_uri"]) as rpc:
        entry = rpc.catalog.create_entry(entry_data(title="Abgelehnter Vorschlag"))
        rpc.catalog.review_entry(entry["id"], {"action": "reject", "reason": "außerhalb des Landes",
                                               "version": entry["version"]})
        with pytest.raises(Forbidden):   # an editor may not
            rpc.catalog.run_retention()
    engine = sa.create_engine(services["catalog_url"])
    with engine.begin() as conn:
        conn.execute(sa.update(entries).values(updated_at=utcnow() - timedelta(days=181)))

    result = CliRunner().invoke(kosi, ["retention", "run"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    lines = {" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()}
    assert "catalog rejected entries deleted 1" in lines
    assert {"survey used tokens 0", "notify deliveries forgotten 0"} <= lines
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar() == 0
    engine.dispose()
    with staff_rpc(services["rabbit_uri"], ADMIN) as rpc:   # applied again: nothing more is due
        assert rpc.catalog.run_retention()["rejected_entries_deleted"] == 0
