"""Entries (projects, ideas, initiatives, events): moderation workflow and version history.

Workflow::

    create (anonymous) ─> submitted ──publish──> published ──archive──> archived
    create (staff)     ─> published                 │  └────withdraw──> withdrawn
                                 submitted ──reject─> rejected
                           published ──reject──> rejected

Every change bumps ``version`` and writes an ``entry_versions`` row with a full
snapshot, the action and the actor. Writes are optimistic: a change based on another
version than the stored one is a ``Conflict``. Public reads only ever see published
entries, and never ``contact`` (personal data), neither do events.

Functions take a unit of work (``uow.session``, ``uow.emit``, ``uow.commit``) and
already-validated input (see ``schemas.py``); writes commit the unit of work.
"""
import sqlalchemy as sa

from kernel.roles import actor_name, is_staff, require_admin, require_service, require_staff
from kernel.errors import Conflict, InvalidTransition, Moved, NotFound, ValidationFailed
from kernel.outbox import forget_call_results
from services.catalog import taxonomy
from services.catalog.common import (aware, by_id_or_slug, json_list_contains, looks_like_uuid, new_id, paginate,
                                     unique_slug, utcnow)
from services.catalog.models import (entries, entry_organisations, entry_slug_history, entry_themes, entry_versions,
                                     handled_calls, organisations)
from contracts.catalog.api import ERASABLE_FIELDS, EntrySchema, EntryStaffSchema, EntryVersionSchema

PUBLIC = EntrySchema()
STAFF = EntryStaffSchema()

# action -> (states it is allowed from, state it leads to)
TRANSITIONS = {
    "publish": ({"submitted", "rejected", "archived", "withdrawn"}, "published"),
    "reject": ({"submitted", "published"}, "rejected"),
    "archive": ({"published"}, "archived"),
    "withdraw": ({"submitted", "published", "archived"}, "withdrawn"),
}

# input fields stored 1:1 in a column of the same name
_PLAIN_FIELDS = ("kind", "title", "summary", "description", "tags", "address", "links", "starts_on",
                 "ends_on", "funding", "image_url", "licence", "language", "contact")


# ====================================================================== reads

def get_entry(uow, entry_id, actor=None) -> dict:
    """Public: a published entry without contact; staff: any entry with contact. By id or
    slug; by a slug it had before: ``Moved`` naming the current one."""
    row = find_entry(uow.session, entry_id)
    renamed = row is None and _renamed_entry(uow.session, entry_id)
    row = row or renamed or None
    if row is None or (row.status != "published" and not is_staff(actor)):
        raise NotFound("entry not found")
    if renamed:
        raise Moved("the entry has another slug now", {"slug": row.slug})
    return _represent(uow.session, [row], staff=is_staff(actor))[0]


def list_entries(uow, query: dict, actor=None) -> dict:
    """Filtered, sorted page of entries: ``{total, page, per_page, items}``."""
    staff = is_staff(actor)
    select = sa.select(entries)
    status = query.get("status") if staff else "published"
    if status:
        select = select.where(entries.c.status == status)
    select = filtered(select, query)
    column, descending = sort_order(query.get("sort") or "newest")
    select = select.order_by(column.desc() if descending else column, entries.c.id)
    return paginate(uow.session, select, query, lambda rows: _represent(uow.session, rows, staff=staff))


def sort_order(sort: str):
    """(column, descending) of a sort of ``GET /entries`` (the list and the export's keyset
    pages alike); ties are broken by id, ascending."""
    if sort == "title":
        return entries.c.title, False
    if sort == "updated":
        return entries.c.updated_at, True
    return sa.func.coalesce(entries.c.published_at, entries.c.created_at), sort != "oldest"


def filtered(select, query: dict):
    """``select`` (of ``entries``) narrowed by the list filters of ``query``: ``kind``,
    ``region``, ``theme``, ``organisation``, ``tag``, ``published_since`` (not ``status``)."""
    for name in ("kind", "region"):
        if query.get(name):
            select = select.where(entries.c[name] == query[name])
    if query.get("theme"):
        select = select.where(entries.c.id.in_(
            sa.select(entry_themes.c.entry_id).where(entry_themes.c.theme_slug == query["theme"])))
    if query.get("organisation"):
        select = select.where(entries.c.id.in_(
            sa.select(entry_organisations.c.entry_id)
            .where(entry_organisations.c.organisation_id == query["organisation"])))
    if query.get("tag"):
        select = select.where(json_list_contains(entries.c.tags, _normal_tag(query["tag"])))
    if query.get("published_since"):
        select = select.where(entries.c.published_at >= query["published_since"])
    return select


def entry_history(uow, entry_id, actor) -> list[dict]:
    """Staff: every version of the entry, oldest first, each with its full snapshot."""
    require_staff(actor)
    row = find_entry(uow.session, entry_id)
    if row is None:
        raise NotFound("entry not found")
    versions = uow.session.execute(sa.select(entry_versions).where(entry_versions.c.entry_id == row.id)
                                   .order_by(entry_versions.c.version)).all()
    return EntryVersionSchema(many=True).dump(
        [{**version._asdict(), "created_at": aware(version.created_at)} for version in versions])


def public_entries(session, ids) -> dict[str, dict]:
    """Public representations of the published entries among ``ids`` (for related/network)."""
    if not ids:
        return {}
    rows = session.execute(sa.select(entries).where(entries.c.id.in_(list(ids)),
                                                    entries.c.status == "published")).all()
    return {item["id"]: item for item in _represent(session, rows, staff=False)}


def public_views(session, rows) -> list[dict]:
    """The public representations of entry rows the caller selected as published, in order."""
    return _represent(session, rows, staff=False)


# ====================================================================== writes

def create_entry(uow, data: dict, actor=None) -> dict:
    """Anonymous: ``submitted``; staff: ``published`` unless ``publish`` is false."""
    session = uow.session
    staff = is_staff(actor)
    data = dict(data)
    publish = data.pop("publish", None)
    if publish is not None and not staff:
        raise ValidationFailed("only staff can publish", {"publish": ["only staff can publish directly"]})
    themes = taxonomy.check_themes(session, data.pop("themes"))
    organisation_ids = _check_organisations(session, data.pop("organisations", []))
    location = data.pop("location", None)
    region = taxonomy.place(session, location, data.pop("region", None))
    now = utcnow()
    status = "published" if staff and publish is not False else "submitted"
    entry_id = new_id()
    values = {name: data.get(name) for name in _PLAIN_FIELDS}
    values.update(
        id=entry_id, slug=unique_slug(session, entries, data.get("slug") or data["title"]), status=status,
        tags=_normal_tags(data.get("tags") or []), links=data.get("links") or [],
        language=data.get("language") or "de", region=region,
        lat=location["lat"] if location else None, lon=location["lon"] if location else None,
        demo=bool(data.get("demo", False)), version=1, created_at=now, updated_at=now,
        published_at=now if status == "published" else None, created_by=actor_name(actor),
    )
    session.execute(sa.insert(entries).values(**values))
    _replace_themes(session, entry_id, themes)
    _replace_organisations(session, entry_id, organisation_ids)
    public, staff_view = _record_version(uow, entry_id, "create", actor)
    uow.emit("entry.published" if status == "published" else "entry.submitted", public)
    uow.commit()
    return staff_view if staff else public


def update_entry(uow, entry_id, changes: dict, expected_version: int, actor) -> dict:
    """Staff edit of the content; the status stays. Stale ``expected_version`` → ``Conflict``."""
    require_staff(actor)
    session = uow.session
    row = _locked(session, entry_id)
    _expect_version(row, expected_version)
    changes = dict(changes)
    changes.pop("version", None)
    values = {name: changes[name] for name in _PLAIN_FIELDS if name in changes}
    if "tags" in values:
        values["tags"] = _normal_tags(values["tags"] or [])
    if "links" in values:
        values["links"] = values["links"] or []
    if "language" in values and values["language"] is None:
        values.pop("language")
    for required in ("kind", "title", "summary"):
        if required in values and values[required] is None:
            raise ValidationFailed("field cannot be empty", {required: ["Field may not be null."]})
    starts_on, ends_on = values.get("starts_on", row.starts_on), values.get("ends_on", row.ends_on)
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationFailed("dates out of order", {"ends_on": ["must not be before starts_on"]})
    if "location" in changes or "region" in changes:
        location = changes["location"] if "location" in changes else (
            {"lat": row.lat, "lon": row.lon} if row.lat is not None else None)
        # a moved point re-derives its region unless a region is given with it
        region = changes.get("region") if "region" in changes else (None if "location" in changes else row.region)
        values["region"] = taxonomy.place(session, location, region)
        values["lat"], values["lon"] = (location["lat"], location["lon"]) if location else (None, None)
    if changes.get("themes") is not None:
        _replace_themes(session, row.id, taxonomy.check_themes(session, changes["themes"]))
    elif "themes" in changes:
        raise ValidationFailed("an entry needs themes", {"themes": ["Field may not be null."]})
    if "organisations" in changes:
        _replace_organisations(session, row.id, _check_organisations(session, changes["organisations"] or []))
    if changes.get("slug") not in (None, row.slug):
        values["slug"] = _rename(session, row, changes["slug"])
    elif "slug" in changes and changes["slug"] is None:
        raise ValidationFailed("an entry needs a slug", {"slug": ["Field may not be null."]})
    _bump(session, row, values)
    public, staff_view = _record_version(uow, row.id, "update", actor)
    if row.status == "published":
        uow.emit("entry.updated", public)
    uow.commit()
    return staff_view


def review_entry(uow, entry_id, decision: dict, actor) -> dict:
    """Staff decision ``{action: publish|reject|archive|withdraw, reason}``."""
    require_staff(actor)
    action, reason = decision["action"], decision.get("reason")
    if action == "reject" and not reason:
        raise ValidationFailed("a rejection needs a reason", {"reason": ["a rejection needs a reason"]})
    return _transition(uow, entry_id, action, actor, reason, decision.get("version"))


def withdraw_entry(uow, entry_id, actor, reason=None) -> dict:
    """Staff: take an entry out of the catalog (``DELETE /entries/{id}``); history stays."""
    require_staff(actor)
    return _transition(uow, entry_id, "withdraw", actor, reason)


def erase_personal_data(uow, entry_id, actor, fields=("contact",)) -> dict:
    """Admin, on an erasure request (GDPR Art. 17): erase ``fields`` (see ``ERASABLE``) from the
    entry, from every snapshot in its history and from the kept answers of staff writes.

    The erasure itself is recorded as a new version (without personal data).
    """
    require_admin(actor)
    row = _locked(uow.session, entry_id)
    staff_view = erase_fields(uow, row, fields, actor, "erase_personal_data")
    uow.commit()
    return staff_view


# what an erasure may cover: the contact, a private person's address (the street goes, the
# location is coarsened to about a kilometre: the village stays on the map, not the house) and
# the description they wrote
ERASABLE = ERASABLE_FIELDS
COARSE_DECIMALS = 2


def erase_fields(uow, row, fields, actor, action: str) -> dict:
    """Erase ``fields`` of the locked entry ``row`` (without committing); returns the staff view."""
    unknown = sorted(set(fields) - set(ERASABLE))
    if unknown or not fields:
        raise ValidationFailed("unknown field to erase", {"fields": [f"one or more of {', '.join(ERASABLE)}"]})
    session = uow.session
    versions = session.execute(sa.select(entry_versions.c.version, entry_versions.c.snapshot)
                               .where(entry_versions.c.entry_id == row.id)).all()
    for version in versions:
        session.execute(sa.update(entry_versions).where(
            entry_versions.c.entry_id == row.id, entry_versions.c.version == version.version
        ).values(snapshot=_erased_view(version.snapshot, fields)))
    _bump(session, row, _erased_columns(row, fields))
    forget_call_results(session, handled_calls, row.id)
    public, staff_view = _record_version(uow, row.id, action, actor)
    if row.status == "published" and {"address", "description"} & set(fields):
        uow.emit("entry.updated", public)
    return staff_view


def _coarse(degrees):
    return None if degrees is None else round(degrees, COARSE_DECIMALS)


def _erased_columns(row, fields) -> dict:
    values = {}
    if "contact" in fields:
        values["contact"] = None
    if "description" in fields:
        values["description"] = None
    if "address" in fields:
        values.update(address={**row.address, "street": None} if row.address else None,
                      lat=_coarse(row.lat), lon=_coarse(row.lon))
    return values


def _erased_view(view: dict, fields) -> dict:
    view = dict(view)
    for name in ("contact", "description"):
        if name in fields:
            view[name] = None
    if "address" in fields:
        if view.get("address"):
            view["address"] = {**view["address"], "street": None}
        if view.get("location"):
            view["location"] = {axis: _coarse(value) for axis, value in view["location"].items()}
    return view


def submitter_contact(uow, entry_id, actor) -> dict | None:
    """The notify service only: where to tell the submitter of a public submission what became of
    it (``{email, name, language}``), or None when the entry was created by staff or carries no
    address. Events never carry contact data; this is the one way it leaves the catalog."""
    require_service(actor, "notify")
    row = find_entry(uow.session, entry_id)
    if row is None:
        raise NotFound(f"no entry {str(entry_id)[:40]!r}")
    contact = row.contact or {}
    if row.created_by is not None or not contact.get("email"):
        return None
    return {"email": contact["email"], "name": contact.get("name"), "language": row.language}


# ====================================================================== internals

def find_entry(session, entry_id):
    """An entry row by id (UUID) or slug, or None."""
    where = by_id_or_slug(entries, entry_id)
    return None if where is None else session.execute(sa.select(entries).where(where)).first()


def _renamed_entry(session, slug):
    """The entry that had ``slug`` before, or None."""
    if not isinstance(slug, str) or looks_like_uuid(slug) or len(slug) > 220:
        return None
    return session.execute(sa.select(entries).join(entry_slug_history, entry_slug_history.c.entry_id == entries.c.id)
                           .where(entry_slug_history.c.slug == slug)).first()


def _rename(session, row, slug: str) -> str:
    """Give the entry ``slug``, keeping its current one as a name it had before. A slug
    another entry has now is refused; one another entry had before is taken over (the
    current names win)."""
    if session.execute(sa.select(entries.c.id).where(entries.c.slug == slug)).first() is not None:
        raise Conflict("another entry has this slug", {"slug": ["is taken by another entry"]})
    session.execute(sa.delete(entry_slug_history).where(entry_slug_history.c.slug == slug))
    session.execute(sa.insert(entry_slug_history).values(slug=row.slug, entry_id=row.id, replaced_at=utcnow()))
    return slug


def _locked(session, entry_id):
    row = find_entry(session, entry_id)
    if row is None:
        raise NotFound("entry not found")
    # lock the row for the rest of the transaction (ignored on SQLite, which locks the file)
    return session.execute(sa.select(entries).where(entries.c.id == row.id).with_for_update()).first()


def _expect_version(row, expected_version):
    if expected_version is not None and expected_version != row.version:
        raise Conflict(f"the entry was changed meanwhile: it is at version {row.version}, "
                       f"the change was based on version {expected_version}",
                       {"version": [f"current version is {row.version}"]})


def _bump(session, row, values: dict) -> None:
    """Write ``values`` and the next version, guarded by the version we read."""
    result = session.execute(sa.update(entries).where(
        entries.c.id == row.id, entries.c.version == row.version
    ).values(**values, version=row.version + 1, updated_at=utcnow()))
    if result.rowcount != 1:
        raise Conflict("the entry was changed meanwhile", {"version": ["stale version"]})


def _transition(uow, entry_id, action, actor, reason=None, expected_version=None) -> dict:
    session = uow.session
    row = _locked(session, entry_id)
    _expect_version(row, expected_version)
    allowed_from, target = TRANSITIONS[action]
    if row.status not in allowed_from:
        raise InvalidTransition(f"cannot {action} an entry that is {row.status}",
                                {"action": [f"not allowed from status {row.status}"]})
    values = {"status": target}
    if action == "publish":
        values.update(published_at=utcnow(), rejection_reason=None)
    if action == "reject":
        values["rejection_reason"] = reason
    was_public = row.status == "published"
    _bump(session, row, values)
    public, staff_view = _record_version(uow, row.id, action, actor)
    if action == "publish":
        uow.emit("entry.published", public)
    if action == "reject":
        uow.emit("entry.rejected", {**public, "rejection_reason": reason})
    if was_public:
        uow.emit("entry.withdrawn", {**public, "reason": reason})
    uow.commit()
    return staff_view


def _record_version(uow, entry_id, action, actor) -> tuple[dict, dict]:
    """Snapshot the entry as it is now into its history; returns (public, staff) views."""
    session = uow.session
    row = session.execute(sa.select(entries).where(entries.c.id == entry_id)).first()
    staff_view = _represent(session, [row], staff=True)[0]
    session.execute(sa.insert(entry_versions).values(
        entry_id=entry_id, version=row.version, action=action, status=row.status,
        snapshot=staff_view, actor=actor_name(actor), created_at=utcnow()))
    public = {key: value for key, value in staff_view.items() if key in PUBLIC.fields}
    return public, staff_view


def _represent(session, rows, staff: bool) -> list[dict]:
    """JSON-ready dicts of entry rows (public or staff view), with themes and organisations."""
    ids = [row.id for row in rows]
    themes_of: dict[str, list] = {entry_id: [] for entry_id in ids}
    organisations_of: dict[str, list] = {entry_id: [] for entry_id in ids}
    if ids:
        for entry_id, slug in session.execute(
                sa.select(entry_themes.c.entry_id, entry_themes.c.theme_slug)
                .where(entry_themes.c.entry_id.in_(ids)).order_by(entry_themes.c.theme_slug)):
            themes_of[entry_id].append(slug)
        for entry_id, org_id, org_slug, org_name in session.execute(
                sa.select(entry_organisations.c.entry_id, organisations.c.id, organisations.c.slug,
                          organisations.c.name)
                .join(organisations, organisations.c.id == entry_organisations.c.organisation_id)
                .where(entry_organisations.c.entry_id.in_(ids)).order_by(organisations.c.name)):
            organisations_of[entry_id].append({"id": org_id, "slug": org_slug, "name": org_name})
    schema = STAFF if staff else PUBLIC
    items = []
    for row in rows:
        record = row._asdict()
        record.update(
            themes=themes_of[row.id], organisations=organisations_of[row.id],
            location={"lat": row.lat, "lon": row.lon} if row.lat is not None and row.lon is not None else None,
            created_at=aware(row.created_at), updated_at=aware(row.updated_at),
            published_at=aware(row.published_at), tags=row.tags or [], links=row.links or [],
        )
        record = {key: value for key, value in record.items() if key in schema.fields}
        items.append(schema.dump(record))
    return items


def _check_organisations(session, ids) -> list[str]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    known = set(session.execute(sa.select(organisations.c.id).where(organisations.c.id.in_(wanted))).scalars())
    unknown = [org_id for org_id in wanted if org_id not in known]
    if unknown:
        raise ValidationFailed("unknown organisation",
                               {"organisations": [f"unknown organisation: {org_id}" for org_id in unknown]})
    return wanted


def _replace_themes(session, entry_id, slugs) -> None:
    session.execute(sa.delete(entry_themes).where(entry_themes.c.entry_id == entry_id))
    if slugs:
        session.execute(sa.insert(entry_themes), [{"entry_id": entry_id, "theme_slug": s} for s in slugs])


def _replace_organisations(session, entry_id, ids) -> None:
    session.execute(sa.delete(entry_organisations).where(entry_organisations.c.entry_id == entry_id))
    if ids:
        session.execute(sa.insert(entry_organisations),
                        [{"entry_id": entry_id, "organisation_id": org_id} for org_id in ids])


def _normal_tag(tag: str) -> str:
    return " ".join(tag.split()).lower()


def _normal_tags(tags) -> list[str]:
    return list(dict.fromkeys(_normal_tag(tag) for tag in tags if tag.strip()))
