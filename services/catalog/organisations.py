"""Organisations: associations, municipalities, companies … that entries involve or link to."""
import sqlalchemy as sa

from kernel.roles import require_staff
from kernel.errors import NotFound
from services.catalog import taxonomy
from services.catalog.common import aware, by_id_or_slug, new_id, paginate, unique_slug, utcnow
from services.catalog.models import organisations
from contracts.catalog.api import OrganisationSchema

SCHEMA = OrganisationSchema()


def list_organisations(uow, query: dict) -> dict:
    select = sa.select(organisations).order_by(organisations.c.name, organisations.c.id)
    for name in ("kind", "region"):
        if query.get(name):
            select = select.where(organisations.c[name] == query[name])
    return paginate(uow.session, select, query, lambda rows: [represent(row) for row in rows])


def get_organisation(uow, organisation_id) -> dict:
    row = find(uow.session, organisation_id)
    if row is None:
        raise NotFound("organisation not found")
    return represent(row)


def create_organisation(uow, data: dict, actor) -> dict:
    """Staff: a new organisation (``organisation.created``)."""
    require_staff(actor)
    session = uow.session
    location = data.get("location")
    now = utcnow()
    values = {
        "id": new_id(), "slug": unique_slug(session, organisations, data.get("slug") or data["name"]), "name": data["name"],
        "kind": data["kind"], "description": data.get("description"), "website": data.get("website"),
        "region": taxonomy.place(session, location, data.get("region")),
        "lat": location["lat"] if location else None, "lon": location["lon"] if location else None,
        "demo": bool(data.get("demo", False)), "created_at": now, "updated_at": now,
    }
    session.execute(sa.insert(organisations).values(**values))
    result = represent(session.execute(sa.select(organisations).where(organisations.c.id == values["id"])).first())
    uow.emit("organisation.created", result)
    uow.commit()
    return result


def find(session, organisation_id):
    """An organisation row by id (UUID) or slug, or None."""
    where = by_id_or_slug(organisations, organisation_id)
    return None if where is None else session.execute(sa.select(organisations).where(where)).first()


def represent(row) -> dict:
    record = {name: value for name, value in row._asdict().items() if name in SCHEMA.fields}
    record.update(
        location={"lat": row.lat, "lon": row.lon} if row.lat is not None and row.lon is not None else None,
        created_at=aware(row.created_at), updated_at=aware(row.updated_at))
    return SCHEMA.dump(record)
