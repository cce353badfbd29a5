"""How long the catalog keeps what was never published or was taken back (docs/privacy.md).

Counted from an entry's last change (``updated_at``):

- a submission nobody reviewed: deleted with its history after ``SUBMITTED_RETENTION_DAYS``;
- a rejected entry: deleted with its history after ``REJECTED_RETENTION_DAYS``;
- a withdrawn entry: its contact data erased (entry and history) after
  ``WITHDRAWN_CONTACT_RETENTION_DAYS``; the entry itself stays, as the record of what was public.

An empty value keeps them. Applied by the service's hourly timer and by ``kosi retention run``.
"""
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from services.catalog import entries as workflow
from kernel.rows import utcnow
from services.catalog.models import entries, handled_calls, links
from kernel.outbox import forget_call_results

BATCH = 200


@dataclass(frozen=True)
class Settings:
    submitted_days: float | None = 365
    rejected_days: float | None = 180
    withdrawn_contact_days: float | None = 30

    @classmethod
    def from_config(cls, config) -> "Settings":
        def days(key, default):
            value = config.get(key, default)
            return None if value in (None, "") else float(value)
        return cls(days("SUBMITTED_RETENTION_DAYS", cls.submitted_days),
                   days("REJECTED_RETENTION_DAYS", cls.rejected_days),
                   days("WITHDRAWN_CONTACT_RETENTION_DAYS", cls.withdrawn_contact_days))


def apply(make_uow, settings: Settings, now=None) -> dict:
    """Delete and erase what is due, in batches of ``BATCH`` per transaction; returns the counts."""
    now = now or utcnow()
    return {"submitted_entries_deleted": _delete_due(make_uow, "submitted", settings.submitted_days, now),
            "rejected_entries_deleted": _delete_due(make_uow, "rejected", settings.rejected_days, now),
            "withdrawn_contacts_erased": _erase_withdrawn_contacts(make_uow, settings.withdrawn_contact_days, now)}


def _due(status: str, days: float, now):
    return sa.select(entries.c.id).where(entries.c.status == status,
                                         entries.c.updated_at < now - timedelta(days=days))


def _delete_due(make_uow, status: str, days: float | None, now) -> int:
    if days is None:
        return 0
    deleted = 0
    while True:
        with make_uow() as uow:
            ids = uow.session.execute(_due(status, days, now).order_by(entries.c.id).limit(BATCH)).scalars().all()
            if not ids:
                return deleted
            # links from them go with them (foreign key); links to them name no row to check
            uow.session.execute(sa.delete(links).where(links.c.target_type == "entry", links.c.target_id.in_(ids)))
            for entry_id in ids:
                forget_call_results(uow.session, handled_calls, entry_id)
            deleted += uow.session.execute(sa.delete(entries).where(entries.c.id.in_(ids),
                                                                    entries.c.status == status)).rowcount
            uow.commit()


def _erase_withdrawn_contacts(make_uow, days: float | None, now) -> int:
    if days is None:
        return 0
    erased, after = 0, ""
    while True:
        with make_uow() as uow:
            # JSON null and SQL NULL both mean "no contact": filtered here, not in SQL
            rows = uow.session.execute(sa.select(entries).where(
                entries.c.id.in_(_due("withdrawn", days, now)), entries.c.id > after)
                .order_by(entries.c.id).limit(BATCH).with_for_update()).all()
            if not rows:
                return erased
            after = rows[-1].id
            for row in rows:
                if row.contact:
                    workflow.erase_fields(uow, row, ("contact",), None, "retention")
                    erased += 1
            uow.commit()
