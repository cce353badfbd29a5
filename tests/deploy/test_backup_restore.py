"""Backup and restore of each service's PostgreSQL database with ``deploy/scripts/``, run as an
operator runs them: a database with real rows is dumped, restored into an empty database (as a
role that is neither superuser nor the source's owner) and compared table by table; ``--verify``
restores a scratch copy and compares counts; a damaged dump is refused; an old dump restores
and ``kernel.migrations.upgrade`` brings it to head."""
import hashlib
import os
import re
import stat
import subprocess

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from kernel.config import REPO_ROOT
from kernel.db import create_db_engine, unit_of_work_factory
from kernel.migrations import alembic_config, upgrade
from tests.databases import ADMIN_URL, fresh_database, fresh_service_database

SCRIPTS = REPO_ROOT / "deploy" / "scripts"
BACKUP, RESTORE = str(SCRIPTS / "backup-database.sh"), str(SCRIPTS / "restore-database.sh")
PREFIX = "kosi_test_backup_"
RESTORER = PREFIX + "restorer"  # a login role with no rights beyond its own databases
SERVER = ADMIN_URL.rsplit("/", 1)[0]
# the tables whose every row is compared (the counts are compared for all)
COMPARED = {"catalog": ["entries", "links"], "survey": ["surveys", "responses"],
            "notify": ["subscribers", "consents"]}
NOTIFY_SECRET = "backup-test-secret-0123456789abcdef-xyz"


# ---------------------------------------------------------------------------- helpers

def admin(*statements):
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()


def query(url, sql, **params):
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def database_exists(name) -> bool:
    return bool(query(ADMIN_URL, "select 1 from pg_database where datname = :name", name=name))


def run(script, *args, env=None):
    """Run a script as an operator would: the service's URL only in the environment."""
    base = {key: value for key, value in os.environ.items() if not key.endswith("_DATABASE_URL")}
    return subprocess.run([script, *args], env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=60)


def backup(service, url, folder):
    # SQLAlchemy's spelling, as an env file may have it: the script hands pg_dump postgresql://
    done = run(BACKUP, service, str(folder),
               env={f"{service.upper()}_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg2://")})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def tables_of(url) -> list[str]:
    engine = create_db_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def row_counts(url) -> dict[str, int]:
    return {table: query(url, f'select count(*) from "{table}"')[0][0] for table in tables_of(url)}


def all_rows(url, table) -> list[tuple]:
    engine = create_db_engine(url)
    try:
        rows = sa.Table(table, sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.select(rows).order_by(*rows.primary_key.columns))]
    finally:
        engine.dispose()


def sequences(url) -> list[tuple]:
    return query(url, "select sequencename, last_value from pg_sequences order by 1")


def head_of(service, url) -> str:
    return ScriptDirectory.from_config(alembic_config(service, url)).get_current_head()


def revision_of(url) -> str:
    return query(url, "select version_num from alembic_version")[0][0]


# ---------------------------------------------------------------------------- real rows

def fill_with_demo(service, url):
    """catalog and survey: their demo data, loaded as ``kosi run`` loads it."""
    import importlib

    demo = importlib.import_module(f"services.{service}.demo")
    models = importlib.import_module(f"services.{service}.models")
    engine = create_db_engine(url)
    demo.load_demo(unit_of_work_factory(engine, service, models.metadata))
    engine.dispose()


def fill_notify(url):
    """notify has no demo data (its data are people): subscribers through its domain, two of them
    confirmed with alert criteria, one left pending; and a published item."""
    from contracts.notify.api import SubscribeSchema
    from kernel.schemas import load_input
    from services.notify import models, subscriptions
    from services.notify.models import items, subscribers

    settings = subscriptions.Settings(token_secret=NOTIFY_SECRET)
    engine = create_db_engine(url)
    make_uow = unit_of_work_factory(engine, "notify", models.metadata)
    wishes = {"ada@example.org": {"alerts": {"themes": ["wohnen"], "regions": ["15085"]}, "newsletter": True},
              "grace@example.org": {"alerts": {"themes": ["mobilitaet", "wohnen"],
                                               "bbox": [11.0, 51.5, 11.6, 51.9]}},
              "linus@example.org": {"newsletter": True}}
    for email, preferences in wishes.items():
        with make_uow() as uow:
            subscriptions.subscribe(uow, load_input(SubscribeSchema, {"email": email, "consent": "2026-11",
                                                                      **preferences}), settings)
    for email in ("ada@example.org", "grace@example.org"):
        with make_uow() as uow:
            row = uow.session.execute(sa.select(subscribers).where(subscribers.c.email == email)).mappings().one()
            subscriptions.confirm(uow, subscriptions.confirm_token(settings, dict(row)), settings)
    with engine.begin() as conn:
        conn.execute(sa.insert(items).values(
            key="entry:e1", type="entry", kind="project", title="Dorfladen Harzgerode", summary="Ein Laden",
            path="/api/v1/entries/e1", themes=["wohnen"], regions=["15085"], published_at=sa.func.now()))
    engine.dispose()


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def new_database():
    """``new_database(name, owner=None)``: an empty database; every one made (and any scratch
    copy ``--verify`` left) is dropped at the end, then the restoring role."""
    made = []
    admin(f'DROP ROLE IF EXISTS "{RESTORER}"', f'CREATE ROLE "{RESTORER}" LOGIN')

    def make(name, owner=None):
        made.append(name)
        url = fresh_database(name)
        if owner:
            admin(f'ALTER DATABASE "{name}" OWNER TO "{owner}"')
            url = f"postgresql://{owner}@{url.split('@', 1)[1]}"
        return url

    make.made = made  # for databases made otherwise (fresh_service_database)
    yield make
    for name in made:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
              f'DROP DATABASE IF EXISTS "{name}_restore_check" WITH (FORCE)')
    admin(f'DROP ROLE IF EXISTS "{RESTORER}"')


@pytest.fixture(scope="module", params=["catalog", "survey", "notify"])
def source(request, new_database):
    """(service, URL): the service's database at head, with real rows."""
    service = request.param
    new_database.made.append(PREFIX + service)
    url = fresh_service_database(service, PREFIX + service)
    if service == "notify":
        fill_notify(url)
    else:
        fill_with_demo(service, url)
    return service, url


@pytest.fixture(scope="module")
def dump(source, tmp_path_factory):
    service, url = source
    return backup(service, url, tmp_path_factory.mktemp(f"backups-{service}"))


# ---------------------------------------------------------------------------- tests

def test_a_backup_is_a_custom_format_dump_with_its_checksum(source, dump):
    service, _ = source
    path = dump
    assert re.fullmatch(rf".*/{service}-\d{{8}}T\d{{6}}Z\.dump", path)
    with open(path, "rb") as file:
        content = file.read()
    assert content.startswith(b"PGDMP")  # pg_dump's custom format
    with open(path + ".sha256") as file:
        assert file.read() == f"{hashlib.sha256(content).hexdigest()}  {os.path.basename(path)}\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # personal data: the owner's alone


def test_restore_into_an_empty_database_gives_back_every_row(source, dump, new_database):
    service, url = source
    target = new_database(f"{PREFIX}{service}_copy", owner=RESTORER)
    done = run(RESTORE, service, dump, target)
    assert done.returncode == 0, done.stderr
    assert f"schema at Alembic revision {head_of(service, url)}" in done.stdout
    assert f"kosi db upgrade {service}" in done.stdout

    counts = row_counts(url)
    assert row_counts(target) == counts
    assert sum(counts.values()) > 20 and all(counts[table] for table in COMPARED[service])
    for table in COMPARED[service]:
        assert all_rows(target, table) == all_rows(url, table)
    assert sequences(target) == sequences(url)  # the outbox's (and notify's consents') ids go on
    # --no-owner: everything belongs to the role that restored, not the source's owner
    owners = query(target, "select distinct tableowner from pg_tables where schemaname = 'public'")
    assert owners == [(RESTORER,)]


def test_verify_restores_a_scratch_copy_and_compares_every_count(source, dump):
    service, url = source
    done = run(RESTORE, "--verify", service, dump, env={f"{service.upper()}_DATABASE_URL": url})
    assert done.returncode == 0, done.stdout + done.stderr
    listed = dict(re.findall(r"^public\.(\w+)\s+(\d+)\s+\d+$", done.stdout, re.M))
    assert {table: int(count) for table, count in listed.items()} == row_counts(url)
    assert "DIFFERENT" not in done.stdout
    assert not database_exists(f"{PREFIX}{service}_restore_check")


def test_verify_fails_when_a_count_differs(source, dump, new_database):
    service, _ = source
    target = new_database(f"{PREFIX}{service}_changed")
    assert run(RESTORE, service, dump, target).returncode == 0
    table = COMPARED[service][1]
    query(target, f'delete from "{table}" where ctid = (select min(ctid) from "{table}")')
    done = run(RESTORE, "--verify", service, dump, target)
    assert done.returncode == 4, done.stdout + done.stderr
    assert re.search(rf"^public\.{table}\s+\d+\s+\d+\s+DIFFERENT$", done.stdout, re.M)
    assert not database_exists(f"{PREFIX}{service}_changed_restore_check")


def test_a_damaged_or_unchecked_dump_is_not_restored(source, dump, new_database, tmp_path):
    service, _ = source
    target = new_database(f"{PREFIX}{service}_damaged")
    damaged = tmp_path / os.path.basename(dump)
    content = bytearray(open(dump, "rb").read())
    content[len(content) // 2] ^= 0x01  # one bit
    damaged.write_bytes(content)
    (tmp_path / (damaged.name + ".sha256")).write_text(open(dump + ".sha256").read())

    done = run(RESTORE, service, str(damaged), target)
    assert done.returncode == 3 and "does not match its checksum" in done.stderr
    (tmp_path / (damaged.name + ".sha256")).unlink()
    done = run(RESTORE, service, str(damaged), target)
    assert done.returncode == 3 and ".sha256 is missing" in done.stderr
    assert tables_of(target) == []  # untouched


@pytest.mark.parametrize("service, old", [("catalog", "0003"), ("notify", "0001")])
def test_an_old_dump_restores_and_upgrades_to_head(service, old, new_database, tmp_path):
    source_url = new_database(f"{PREFIX}{service}_old")
    upgrade(service, source_url, old)
    if service == "notify":  # a subscriber confirmed before alert_keys existed
        query(source_url, """
            insert into subscribers (id, email, status, language, preferences, created_at, version)
            values ('s1', 'ada@example.org', 'confirmed', 'de',
                    '{"newsletter": false, "frequency": "daily", "alerts": {"themes": ["wohnen"],
                      "regions": ["15085"], "kinds": [], "bbox": null, "q": null}}', now(), 2)
            """)
    old_dump = backup(service, source_url, tmp_path)

    target = new_database(f"{PREFIX}{service}_old_copy")
    done = run(RESTORE, service, old_dump, target)
    assert done.returncode == 0, done.stderr
    assert f"schema at Alembic revision {old}" in done.stdout
    upgrade(service, target)
    assert revision_of(target) == head_of(service, target) != old
    if service == "notify":  # the upgrade's data migration ran on the restored subscriber
        assert query(target, "select key, subscriber_id, frequency from alert_keys") == [
            ("wohnen|15085|*|*", "s1", "daily")]
    else:
        assert "entry_slug_history" in tables_of(target)
        assert row_counts(target)["themes"] == row_counts(source_url)["themes"] > 0


def test_wrong_use_is_refused_with_a_reason(tmp_path):
    done = run(BACKUP)
    assert done.returncode == 2 and done.stderr.startswith("usage:")
    done = run(BACKUP, "search", str(tmp_path))
    assert done.returncode == 2 and "unknown service 'search'" in done.stderr
    done = run(BACKUP, "catalog", str(tmp_path))
    assert done.returncode == 2 and "CATALOG_DATABASE_URL is not set" in done.stderr
    done = run(BACKUP, "survey", str(tmp_path), env={"SURVEY_DATABASE_URL": f"sqlite:///{tmp_path}/survey.db"})
    assert done.returncode == 2 and "SQLite" in done.stderr and "copying the file" in done.stderr
    done = run(BACKUP, "notify", str(tmp_path), env={"NOTIFY_DATABASE_URL": f"{SERVER}/{PREFIX}absent"})
    assert done.returncode == 1 and "pg_dump failed" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half written
    done = run(RESTORE, "--verify", "catalog")
    assert done.returncode == 2 and done.stderr.startswith("usage:")
    done = run(RESTORE, "catalog", str(tmp_path / "absent.dump"), f"{SERVER}/{PREFIX}absent")
    assert done.returncode == 2 and "no dump file" in done.stderr
