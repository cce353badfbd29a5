"""Bulk import and export of entries (the file formats live in ``transfer.py``)."""
import sqlalchemy as sa

from kernel.errors import KosiError
from services.catalog import articles as article_domain
from services.catalog import entries as entry_domain
from services.catalog import organisations as organisation_domain
from services.catalog.models import articles, entries
from contracts.catalog.api import EntryCreateSchema
from kernel.schemas import load_input


def export_entries(uow) -> list[dict]:
    """Every published entry, public view (no personal data), oldest first."""
    ids = uow.session.execute(sa.select(entries.c.id).where(entries.c.status == "published")
                              .order_by(entries.c.created_at, entries.c.id)).scalars().all()
    found = entry_domain.public_entries(uow.session, ids)
    return [found[entry_id] for entry_id in ids]


def published_page(uow, query: dict) -> dict:
    """One page of published entries or articles in id order, for rebuilding a search index.

    Keyset paging (``after`` = last id of the previous page) stays fast and consistent
    however large the catalog, and while it changes. Public views only.
    """
    table = entries if query["type"] == "entry" else articles
    select = sa.select(table.c.id).order_by(table.c.id).limit(query["limit"])
    if table is entries:
        select = select.where(entries.c.status == "published")
    if query.get("after"):
        select = select.where(table.c.id > query["after"])
    ids = uow.session.execute(select).scalars().all()
    if table is entries:
        found = entry_domain.public_entries(uow.session, ids)
        items = [found[entry_id] for entry_id in ids]
    else:
        rows = uow.session.execute(sa.select(articles).where(articles.c.id.in_(ids)).order_by(articles.c.id))
        items = [article_domain.represent(row) for row in rows]
    return {"items": items, "next": ids[-1] if len(ids) == query["limit"] else None}


def import_records(make_uow, records: list, actor) -> list[dict]:
    """Create one entry per record, each in its own transaction: good rows are kept,
    bad rows answer with their field errors. A record whose ``slug`` exists is skipped,
    so importing the same file twice creates nothing twice."""
    return [_import_one(make_uow, record, actor) for record in records]


def _import_one(make_uow, record, actor) -> dict:
    if not isinstance(record, dict):
        return {"errors": {"_schema": ["a record must be an object"]}}
    record = dict(record)
    slug = record.pop("slug", None)
    try:
        with make_uow() as uow:
            if slug and entry_domain.find_entry(uow.session, slug) is not None:
                return {"slug": slug, "skipped": "an entry with this slug exists"}
            record["organisations"] = [_organisation_id(uow.session, ref) for ref in record.get("organisations", [])]
            data = load_input(EntryCreateSchema, record)
            if slug:
                data["slug"] = slug
            created = entry_domain.create_entry(uow, data, actor)
            return {"id": created["id"], "slug": created["slug"]}
    except KosiError as error:
        return {"slug": slug, "errors": error.fields or {"_schema": [error.detail]}}


def _organisation_id(session, reference):
    """Files may name organisations by slug (portable between databases) or id."""
    row = organisation_domain.find(session, reference) if isinstance(reference, str) else None
    return row.id if row is not None else reference
