"""The ``kosi`` command against a running catalog service (real RabbitMQ and PostgreSQL)."""
import csv
import io
import json

import nameko
import pytest
from click.testing import CliRunner
from nameko.standalone.rpc import ClusterRpcClient

from cli.main import main as kosi
from services.catalog.service import CatalogService
from tests.databases import fresh_catalog_database
from tests.identity import SERVICE_TRUST, operator_environment

HEADER = "slug;kind;title;summary;themes;lat;lon;contact_email\n"
GOOD = [
    "dorfladen-wippra;project;Dorfladen Wippra;Genossenschaftlicher Dorfladen;sozialer-zusammenhalt;51,5712;11,2741;a@example.org\n",
    "pflege-harz;initiative;Pflegestammtisch Harz;Pflegende Angehörige treffen sich;alter|gesundheit;51.8358;10.7852;\n",
    "repair-cafe-zeitz;event;Repair-Café Zeitz;Reparieren statt wegwerfen;buergerschaftliches-engagement;51.0478;12.1383;\n",
]
BAD = [
    "kaputt-1;project;Koordinaten kaputt;Lat ist kein Wert;wohnen;abc;11.2;\n",        # not a number
    "berlin-1;project;Projekt in Berlin;Liegt nicht im Land;wohnen;52.52;13.405;\n",  # outside the state
    "thema-1;castle;Falsche Art;Unbekannte Art und Thema;unbekannt;51.5;11.9;\n",     # kind and theme
]


@pytest.fixture
def catalog(container_factory, rabbit_config, rabbit_uri, monkeypatch):
    url = fresh_catalog_database("kosi_test_cli")
    monkeypatch.setenv("KOSI_OPERATOR_AMQP_URI", rabbit_uri)
    for name, value in operator_environment().items():
        monkeypatch.setenv(name, value)
    with nameko.config.patch({"CATALOG_DATABASE_URL": url, **SERVICE_TRUST}):
        container = container_factory(CatalogService)
        container.start()
        with ClusterRpcClient(timeout=20) as client:
            yield client.catalog


def test_import_keeps_good_rows_rejects_bad_ones_with_reasons_and_is_idempotent(catalog, tmp_path):
    source = tmp_path / "entries.csv"
    source.write_text(HEADER + "".join(GOOD + BAD), encoding="utf-8-sig")
    report_path = tmp_path / "report.json"

    result = CliRunner().invoke(kosi, ["import", str(source), "--report", str(report_path)])
    assert result.exit_code == 1, result.output  # some rows were rejected
    report = json.loads(report_path.read_text())
    assert (report["rows"], report["imported"], report["rejected"]) == (6, 3, 3)
    errors = {rejection["row"]: rejection["errors"] for rejection in report["rejections"]}
    assert set(errors) == {5, 6, 7}  # spreadsheet rows (header is row 1)
    assert "lat" in errors[5]
    assert "location" in json.dumps(errors[6])
    assert {"kind"} <= set(errors[7])
    assert catalog.list_entries({})["total"] == 3

    again = CliRunner().invoke(kosi, ["import", str(source), "--report", str(report_path)])
    assert again.exit_code == 1
    assert catalog.list_entries({})["total"] == 3  # same slugs: nothing created twice


def test_export_has_published_entries_without_personal_data(catalog, tmp_path):
    source = tmp_path / "entries.csv"
    source.write_text(HEADER + "".join(GOOD), encoding="utf-8")
    assert CliRunner().invoke(kosi, ["import", str(source)]).exit_code == 0

    exported = CliRunner().invoke(kosi, ["export", "--format", "csv"])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert sorted(row["slug"] for row in rows) == ["dorfladen-wippra", "pflege-harz", "repair-cafe-zeitz"]
    assert "example.org" not in exported.stdout

    geojson_path = tmp_path / "entries.geojson"
    assert CliRunner().invoke(kosi, ["export", "--format", "geojson", "-o", str(geojson_path)]).exit_code == 0
    collection = json.loads(geojson_path.read_text())
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 3
    wippra = next(f for f in collection["features"] if f["properties"]["slug"] == "dorfladen-wippra")
    assert wippra["geometry"]["coordinates"] == [11.2741, 51.5712]  # longitude first
    assert "contact" not in wippra["properties"]


def test_broker_setup_and_dead_letter_listing(rabbit_config, rabbit_uri, monkeypatch):
    monkeypatch.setenv("KOSI_OPERATOR_AMQP_URI", rabbit_uri)
    setup = CliRunner().invoke(kosi, ["broker", "setup"])
    assert setup.exit_code == 0, setup.output
    listed = CliRunner().invoke(kosi, ["dlq", "list"])
    assert listed.exit_code == 0 and "0 dead letter(s)" in listed.output
    unsaid = CliRunner().invoke(kosi, ["dlq", "replay"])
    assert unsaid.exit_code == 2 and "say --id MESSAGE_ID or --all" in unsaid.output  # a usage error, not a crash
    replayed = CliRunner().invoke(kosi, ["dlq", "replay", "--all"])
    assert (replayed.exit_code, replayed.stdout.strip()) == (0, "replayed 0 message(s)")


def test_token_is_accepted_by_the_gateways_verifier(monkeypatch):
    from gateway.auth import TokenVerifier
    from kernel.config import load_config, service_config_path

    monkeypatch.setenv("KOSI_JWT_SECRET", "cli-test-secret-0123456789abcdef0123456789")
    minted = CliRunner().invoke(kosi, ["token", "--role", "editor", "--sub", "redaktion@kosi"])
    assert minted.exit_code == 0, minted.output
    actor = TokenVerifier(load_config(service_config_path("gateway"))["AUTH"]).verify(minted.stdout.strip())
    assert actor == {"sub": "redaktion@kosi", "roles": ["editor"]}


def test_token_longer_than_the_gateway_accepts_is_refused(monkeypatch):
    monkeypatch.setenv("KOSI_JWT_SECRET", "cli-test-secret-0123456789abcdef0123456789")
    monkeypatch.setenv("KOSI_JWT_MAX_SECONDS", "3600")
    refused = CliRunner().invoke(kosi, ["token", "--role", "editor", "--ttl", "7200"])
    assert refused.exit_code == 1 and "at most 3600 seconds" in refused.output
    assert CliRunner().invoke(kosi, ["token", "--role", "editor", "--ttl", "3600"]).exit_code == 0


def test_token_without_any_secret_is_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("KOSI_JWT_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)  # no var/jwt-secret here
    refused = CliRunner().invoke(kosi, ["token", "--role", "admin"])
    assert refused.exit_code == 1 and "no signing secret: set KOSI_JWT_SECRET" in refused.output


def test_broker_setup_reports_a_queue_no_consumer_owns_and_unbind_stops_it_filling(rabbit_config, rabbit_uri,
                                                                                    monkeypatch):
    from kernel import broker

    monkeypatch.setenv("KOSI_OPERATOR_AMQP_URI", rabbit_uri)
    assert CliRunner().invoke(kosi, ["broker", "setup"]).exit_code == 0
    old = "evt-catalog-entry.published--search.on_entry_published"  # a renamed handler of an older release
    connection = broker.connect(rabbit_uri)
    channel = connection.channel()
    channel.queue_declare(old, durable=True)
    channel.queue_bind(old, "catalog.events", routing_key="entry.published")
    connection.close()

    again = CliRunner().invoke(kosi, ["broker", "setup"])
    assert again.exit_code == 0, again.output
    assert (f"unowned: queue {old} (0 messages) is bound to catalog.events for entry.published"
            in again.stderr)
    assert CliRunner().invoke(kosi, ["broker", "unbind", old, "catalog.events", "entry.published"]).exit_code == 0
    assert "unowned" not in CliRunner().invoke(kosi, ["broker", "setup"]).stderr


def test_outbox_prune_deletes_old_published_events_only(monkeypatch):
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa

    from kernel.db import create_db_engine, unit_of_work_factory
    from services.catalog.models import metadata, outbox

    url = fresh_catalog_database("kosi_test_cli_outbox")
    monkeypatch.setenv("CATALOG_DATABASE_URL", url)
    engine = create_db_engine(url)
    make_uow = unit_of_work_factory(engine, "catalog", metadata)
    for _ in range(3):
        with make_uow() as uow:
            uow.emit("organisation.created", {"id": "o", "slug": "o", "name": "O", "kind": "other", "demo": False,
                                              "created_at": "2026-01-01T00:00:00+00:00",
                                              "updated_at": "2026-01-01T00:00:00+00:00"})
            uow.commit()
    with engine.connect() as conn:
        ids = [row.id for row in conn.execute(sa.select(outbox.c.id).order_by(outbox.c.id))]
    with engine.begin() as conn:
        conn.execute(sa.update(outbox).where(outbox.c.id == ids[0]).values(
            published_at=datetime.now(timezone.utc) - timedelta(days=30)))
        conn.execute(sa.update(outbox).where(outbox.c.id == ids[1]).values(
            published_at=datetime.now(timezone.utc) - timedelta(days=2)))
    pruned = CliRunner().invoke(kosi, ["outbox", "prune", "catalog"])
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.strip() == "catalog: 1 published event(s) older than 7 days deleted"
    with engine.connect() as conn:
        assert [row.id for row in conn.execute(sa.select(outbox.c.id).order_by(outbox.c.id))] == ids[1:]
    engine.dispose()
