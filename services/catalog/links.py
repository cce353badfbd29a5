"""Links between an entry and another entry or an organisation (the network)."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kernel.roles import is_staff, require_staff
from kernel.errors import Conflict, NotFound, ValidationFailed
from services.catalog import entries as entry_domain
from services.catalog import organisations as organisation_domain
from services.catalog.common import aware, new_id, utcnow
from services.catalog.models import entries, links, organisations
from contracts.catalog.api import LinkSchema

SCHEMA = LinkSchema()


def add_link(uow, entry_id, data: dict, actor) -> dict:
    """Staff: link an entry to an entry or organisation (``entry.linked``).

    The target must exist, an entry cannot link to itself, and the same link (source,
    target, type) twice is a ``Conflict``.
    """
    require_staff(actor)
    session = uow.session
    source = entry_domain.find_entry(session, entry_id)
    if source is None:
        raise NotFound("entry not found")
    target_type = data["target_type"]
    if target_type == "entry":
        target = entry_domain.find_entry(session, data["target_id"])
    else:
        target = organisation_domain.find(session, data["target_id"])
    if target is None:
        raise ValidationFailed(f"the {target_type} to link to does not exist",
                               {"target_id": [f"unknown {target_type}"]})
    if target_type == "entry" and target.id == source.id:
        raise ValidationFailed("an entry cannot link to itself", {"target_id": ["an entry cannot link to itself"]})
    link_type = data.get("type") or "related"
    duplicate = session.execute(sa.select(links.c.id).where(
        links.c.source_entry_id == source.id, links.c.target_type == target_type,
        links.c.target_id == target.id, links.c.type == link_type)).first()
    if duplicate:
        raise Conflict("this link exists already", {"target_id": ["already linked with this type"]})
    values = {"id": new_id(), "source_entry_id": source.id, "target_type": target_type,
              "target_id": target.id, "type": link_type, "note": data.get("note"), "created_at": utcnow()}
    session.execute(sa.insert(links).values(**values))
    result = SCHEMA.dump(values)
    uow.emit("entry.linked", result)
    try:
        uow.commit()
    except IntegrityError:  # a concurrent request added the same link first
        raise Conflict("this link exists already", {"target_id": ["already linked with this type"]}) from None
    return result


def related_entries(uow, entry_id, actor=None) -> dict:
    """Published entries linked with this one (either direction) and linked organisations."""
    session = uow.session
    entry = entry_domain.find_entry(session, entry_id)
    if entry is None or (entry.status != "published" and not is_staff(actor)):
        raise NotFound("entry not found")
    outgoing = session.execute(sa.select(links).where(links.c.source_entry_id == entry.id)
                               .order_by(links.c.created_at)).all()
    incoming = session.execute(sa.select(links).where(links.c.target_type == "entry",
                                                      links.c.target_id == entry.id)
                               .order_by(links.c.created_at)).all()
    entry_edges = [(link, "outgoing", link.target_id) for link in outgoing if link.target_type == "entry"]
    entry_edges += [(link, "incoming", link.source_entry_id) for link in incoming]
    visible = entry_domain.public_entries(session, {other for _, _, other in entry_edges})
    related = [{"link_type": link.type, "direction": direction, "note": link.note, "entry": visible[other]}
               for link, direction, other in entry_edges if other in visible]
    organisation_edges = [link for link in outgoing if link.target_type == "organisation"]
    found = {}
    if organisation_edges:
        rows = session.execute(sa.select(organisations).where(
            organisations.c.id.in_([link.target_id for link in organisation_edges]))).all()
        found = {row.id: organisation_domain.represent(row) for row in rows}
    related_organisations = [{"link_type": link.type, "note": link.note, "organisation": found[link.target_id]}
                             for link in organisation_edges if link.target_id in found]
    return {"entries": related, "organisations": related_organisations}


def links_of_published(session, source_ids: list[str] | None = None) -> list[dict]:
    """Every link whose source is published (for the network view), of ``source_ids`` only
    when given."""
    select = (sa.select(links).join(entries, entries.c.id == links.c.source_entry_id)
              .where(entries.c.status == "published").order_by(links.c.created_at))
    if source_ids is not None:
        select = select.where(links.c.source_entry_id.in_(source_ids))
    rows = session.execute(select).all()
    return [SCHEMA.dump({**row._asdict(), "created_at": aware(row.created_at)}) for row in rows]
