"""Retention: submissions nobody reviewed and rejected entries are deleted with their history,
withdrawn entries lose their contact data, after the configured days since their last change."""
from datetime import timedelta

import sqlalchemy as sa

from kernel.rows import utcnow
from services.catalog import entries, retention
from services.catalog.models import entries as entries_table, entry_versions, handled_calls, links
from tests.catalog.conftest import ADMIN, STAFF, entry_data
from tests.catalog.test_domain_workflow import create, review

SETTINGS = retention.Settings(submitted_days=365, rejected_days=180, withdrawn_contact_days=30)


def age(engine, entry_id, days):
    with engine.begin() as conn:
        conn.execute(sa.update(entries_table).where(entries_table.c.id == entry_id)
                     .values(updated_at=utcnow() - timedelta(days=days)))


def test_what_is_due_goes_and_nothing_else(make_uow, theme_slugs, catalog_engine):
    forgotten = create(make_uow, entry_data(theme_slugs, title="Nie geprüft"))
    fresh = create(make_uow, entry_data(theme_slugs, title="Gerade eingereicht"))
    rejected = create(make_uow, entry_data(theme_slugs, title="Abgelehnt"))
    review(make_uow, rejected["id"], {"action": "reject", "reason": "kein Bezug zu Sachsen-Anhalt"})
    withdrawn = create(make_uow, entry_data(theme_slugs, title="Zurückgezogen"), STAFF)
    with make_uow() as uow:
        entries.withdraw_entry(uow, withdrawn["id"], STAFF)
    published = create(make_uow, entry_data(theme_slugs, title="Veröffentlicht"), STAFF)
    with make_uow() as uow:   # a published entry links to the rejected one; a kept answer names it
        entries_links = [{"id": "l1", "source_entry_id": published["id"], "target_type": "entry",
                          "target_id": rejected["id"], "type": "related", "created_at": utcnow()}]
        uow.session.execute(sa.insert(links), entries_links)
        uow.session.execute(sa.insert(handled_calls).values(call_key="c1", result={"id": rejected["id"]}))
        uow.commit()
    for entry, days in ((forgotten, 366), (fresh, 10), (rejected, 181), (withdrawn, 31), (published, 1000)):
        age(catalog_engine, entry["id"], days)

    assert retention.apply(make_uow, SETTINGS) == {"submitted_entries_deleted": 1, "rejected_entries_deleted": 1,
                                                   "withdrawn_contacts_erased": 1}
    with catalog_engine.connect() as conn:
        left = dict(conn.execute(sa.select(entries_table.c.title, entries_table.c.contact)).all())
        versions = {row.entry_id for row in conn.execute(sa.select(entry_versions.c.entry_id))}
        kept_answer = conn.execute(sa.select(handled_calls.c.result)).scalar()
        assert conn.execute(sa.select(sa.func.count()).select_from(links)).scalar() == 0
    assert set(left) == {"Gerade eingereicht", "Zurückgezogen", "Veröffentlicht"}
    assert left["Zurückgezogen"] is None and left["Gerade eingereicht"]["email"] == "erika@example.org"
    assert left["Veröffentlicht"]["email"] == "erika@example.org"
    assert versions == {fresh["id"], withdrawn["id"], published["id"]}
    assert kept_answer is None
    with make_uow() as uow:
        history = entries.entry_history(uow, withdrawn["id"], ADMIN)
    assert history[-1]["action"] == "retention" and all(not v["snapshot"]["contact"] for v in history)
    # applied again: nothing more is due
    assert set(retention.apply(make_uow, SETTINGS).values()) == {0}


def test_an_empty_setting_keeps_them():
    settings = retention.Settings.from_config({"SUBMITTED_RETENTION_DAYS": None, "REJECTED_RETENTION_DAYS": "90",
                                               "WITHDRAWN_CONTACT_RETENTION_DAYS": ""})
    assert settings == retention.Settings(submitted_days=None, rejected_days=90.0, withdrawn_contact_days=None)
