"""Surveys and polls: definitions and their life cycle.

Life cycle::

    draft ──publish──> scheduled ──(opens_at, timer)──> published ──(closes_at, quota, staff)──> closed
         └──publish (no opens_at, or past)────────────> published

Editors create and change surveys; questions cannot change once a response was counted
(``Conflict``). ``survey.published`` is emitted when a survey opens for answers,
``survey.closed`` when it stops; the timer (``run_schedule``) opens and closes surveys at
their times, writing through the outbox like any other change. The public sees every
survey that is not a draft. Functions take a unit of work and validated input.
"""
import sqlalchemy as sa

from contracts.survey import events  # noqa: F401 (registers the event contracts the domain emits)
from contracts.survey.api import SurveySchema, SurveyStaffSchema
from kernel.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from kernel.roles import actor_name, is_staff, require_staff
from kernel.rows import aware, looks_like_uuid, new_id, paginate, utcnow
from services.survey.definitions import normalise_questions, survey_questions
from services.survey.models import surveys

PUBLIC = SurveySchema()
STAFF = SurveyStaffSchema()
VISIBLE = ("scheduled", "published", "closed")  # to the public
CHANGEABLE_WHEN_CLOSED = {"title", "description", "results_public"}


# ====================================================================== reads

def find_survey(session, survey_id, lock: bool = False):
    if not looks_like_uuid(survey_id):
        return None
    query = sa.select(surveys).where(surveys.c.id == str(survey_id))
    return session.execute(query.with_for_update() if lock else query).first()


def visible_survey(session, survey_id, actor=None):
    """The survey row the caller may see, else ``NotFound`` (drafts are staff-only)."""
    row = find_survey(session, survey_id)
    if row is None or (row.status not in VISIBLE and not is_staff(actor)):
        raise NotFound("survey not found")
    return row


def get_survey(uow, survey_id, actor=None) -> dict:
    return represent(visible_survey(uow.session, survey_id, actor), is_staff(actor))


def list_surveys(uow, query: dict, actor=None) -> dict:
    staff = is_staff(actor)
    select = sa.select(surveys)
    if query.get("status"):
        if not staff and query["status"] not in VISIBLE:
            return {"total": 0, "page": query.get("page", 1), "per_page": query.get("per_page", 20), "items": []}
        select = select.where(surveys.c.status == query["status"])
    elif not staff:
        select = select.where(surveys.c.status.in_(VISIBLE))
    if query.get("kind"):
        select = select.where(surveys.c.kind == query["kind"])
    select = select.order_by(sa.func.coalesce(surveys.c.published_at, surveys.c.created_at).desc(), surveys.c.id)
    return paginate(uow.session, select, query, lambda rows: [represent(row, staff) for row in rows])


def is_open(row, now=None) -> bool:
    now = now or utcnow()
    return (row.status == "published" and (row.closes_at is None or now < aware(row.closes_at))
            and (row.quota is None or row.response_count < row.quota))


def represent(row, staff: bool) -> dict:
    data = {column: getattr(row, column) for column in
            ("id", "kind", "status", "title", "description", "questions", "quota", "results_public", "access",
             "link", "response_count", "version", "close_reason", "demo")}
    data.update({column: aware(getattr(row, column)) for column in
                 ("opens_at", "closes_at", "created_at", "updated_at", "published_at", "closed_at")})
    data["open"] = is_open(row)
    if staff:
        data["created_by"] = row.created_by
        return STAFF.dump(data)
    return PUBLIC.dump(data)


# ====================================================================== writes

def create_survey(uow, data: dict, actor, check_link) -> dict:
    """A draft; ``check_link`` turns ``link`` into the stored reference (asks the catalog)."""
    require_staff(actor)
    questions = survey_questions(data)
    _check_times(data.get("opens_at"), data.get("closes_at"))
    now = utcnow()
    values = {
        "id": new_id(), "kind": data.get("kind", "survey"), "status": "draft", "title": data["title"],
        "description": data.get("description"), "questions": questions, "opens_at": data.get("opens_at"),
        "closes_at": data.get("closes_at"), "quota": data.get("quota"),
        "results_public": bool(data.get("results_public", False)), "access": data.get("access") or "open",
        "link": check_link(data.get("link")),
        "response_count": 0, "version": 1, "demo": bool(data.get("demo", False)), "created_by": actor_name(actor),
        "created_at": now, "updated_at": now,
    }
    uow.session.execute(sa.insert(surveys).values(**values))
    row = find_survey(uow.session, values["id"])
    uow.commit()
    return represent(row, staff=True)


def update_survey(uow, survey_id, changes: dict, expected_version: int, actor, check_link) -> dict:
    require_staff(actor)
    session = uow.session
    # asked before the row is locked: the catalog may take seconds, responses must not wait
    link = check_link(changes["link"]) if "link" in changes else None
    row = _locked(session, survey_id)
    if row.version != expected_version:
        raise Conflict(f"the survey is at version {row.version}, not {expected_version}; reload it and try again",
                       {"version": [f"current version is {row.version}"]})
    changes = {key: value for key, value in changes.items() if key != "version"}
    frozen = set(changes) - CHANGEABLE_WHEN_CLOSED
    if row.status == "closed" and frozen:
        raise InvalidTransition("the survey is closed: only title, description and results_public can change",
                                {name: ["cannot change after closing"] for name in frozen})
    values = dict(changes)
    if "questions" in changes:
        if row.response_count:
            raise Conflict(f"the survey has {row.response_count} responses: its questions cannot change",
                           {"questions": ["cannot change once answers were counted"]})
        if changes["questions"] is None:
            raise ValidationFailed("questions cannot be removed", {"questions": ["must be a list of questions"]})
        values["questions"] = normalise_questions(changes["questions"], "questions")
    if "access" in changes and row.status != "draft":
        raise InvalidTransition("who may take part is decided before publishing", {"access": ["only in a draft"]})
    if "title" in changes and changes["title"] is None:
        raise ValidationFailed("a survey needs a title", {"title": ["cannot be removed"]})
    if "link" in changes:
        values["link"] = link
    if "opens_at" in changes and row.status not in ("draft", "scheduled"):
        raise InvalidTransition("the survey has opened; its opening time cannot change",
                                {"opens_at": ["only before the survey opens"]})
    if changes.get("quota") is not None and changes["quota"] <= row.response_count and row.status != "closed":
        raise ValidationFailed("the quota must be above the responses counted so far",
                               {"quota": [f"{row.response_count} responses are counted already"]})
    opens_at = changes["opens_at"] if "opens_at" in changes else aware(row.opens_at)
    closes_at = changes["closes_at"] if "closes_at" in changes else aware(row.closes_at)
    if {"opens_at", "closes_at"} & set(changes):
        _check_times(opens_at, closes_at, future_close=row.status != "draft")
    values.update(version=row.version + 1, updated_at=utcnow())
    session.execute(sa.update(surveys).where(surveys.c.id == row.id).values(**values))
    updated = find_survey(session, row.id)
    uow.commit()
    return represent(updated, staff=True)


def publish_survey(uow, survey_id, actor) -> dict:
    """draft → published (or scheduled, when it opens later)."""
    require_staff(actor)
    session = uow.session
    row = _locked(session, survey_id)
    if row.status != "draft":
        raise InvalidTransition(f"the survey is {row.status}; only a draft can be published")
    now = utcnow()
    _check_times(aware(row.opens_at), aware(row.closes_at), future_close=True)
    if row.opens_at is not None and aware(row.opens_at) > now:
        values = {"status": "scheduled"}
    else:
        values = {"status": "published", "published_at": now}
    session.execute(sa.update(surveys).where(surveys.c.id == row.id)
                    .values(**values, version=row.version + 1, updated_at=now))
    updated = find_survey(session, row.id)
    if updated.status == "published":
        uow.emit("survey.published", published_event(updated))
    uow.commit()
    return represent(updated, staff=True)


def close_survey(uow, survey_id, actor) -> dict:
    require_staff(actor)
    row = _locked(uow.session, survey_id)
    if row.status not in ("scheduled", "published"):
        raise InvalidTransition(f"the survey is {row.status}; only a scheduled or published survey can be closed")
    closed = close(uow, row, "staff")
    uow.commit()
    return represent(closed, staff=True)


def close(uow, row, reason: str):
    """Close ``row`` (locked by the caller) in the unit of work; emits ``survey.closed``."""
    now = utcnow()
    uow.session.execute(sa.update(surveys).where(surveys.c.id == row.id).values(
        status="closed", closed_at=now, close_reason=reason, version=surveys.c.version + 1, updated_at=now))
    closed = find_survey(uow.session, row.id)
    uow.emit("survey.closed", {"id": closed.id, "kind": closed.kind, "title": closed.title, "reason": reason,
                               "response_count": closed.response_count, "results_public": closed.results_public,
                               "closed_at": now.isoformat()})
    return closed


def run_schedule(make_uow, now=None) -> dict:
    """Open the scheduled surveys whose time has come and close the published ones past
    ``closes_at``; each in its own transaction, so replicas running the timer at once
    change each survey once (the row is locked and its state checked again)."""
    now = now or utcnow()
    done = {"opened": 0, "closed": 0}
    with make_uow() as uow:
        due_open = list(uow.session.execute(sa.select(surveys.c.id).where(
            surveys.c.status == "scheduled", sa.or_(surveys.c.opens_at.is_(None), surveys.c.opens_at <= now)))
            .scalars())
        due_close = list(uow.session.execute(sa.select(surveys.c.id).where(
            surveys.c.status == "published", surveys.c.closes_at.is_not(None), surveys.c.closes_at <= now)).scalars())
    for survey_id in due_open:
        with make_uow() as uow:
            row = find_survey(uow.session, survey_id, lock=True)
            if row.status == "scheduled" and (row.opens_at is None or aware(row.opens_at) <= now):
                uow.session.execute(sa.update(surveys).where(surveys.c.id == row.id).values(
                    status="published", published_at=now, version=row.version + 1, updated_at=now))
                uow.emit("survey.published", published_event(find_survey(uow.session, row.id)))
                uow.commit()
                done["opened"] += 1
    for survey_id in due_close:
        with make_uow() as uow:
            row = find_survey(uow.session, survey_id, lock=True)
            if row.status == "published" and row.closes_at is not None and aware(row.closes_at) <= now:
                close(uow, row, "time")
                uow.commit()
                done["closed"] += 1
    return done


def published_event(row) -> dict:
    return {"id": row.id, "kind": row.kind, "title": row.title, "description": row.description,
            "question_count": len(row.questions), "opens_at": _iso(row.opens_at), "closes_at": _iso(row.closes_at),
            "results_public": row.results_public,
            "link": {"type": row.link["type"], "ref": row.link["ref"]} if row.link else None,
            "published_at": _iso(row.published_at), "demo": row.demo}


def _iso(value) -> str | None:
    return aware(value).isoformat() if value is not None else None


def _locked(session, survey_id):
    row = find_survey(session, survey_id, lock=True)
    if row is None:
        raise NotFound("survey not found")
    return row


def _check_times(opens_at, closes_at, future_close: bool = False) -> None:
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ValidationFailed("the survey must close after it opens", {"closes_at": ["must be after opens_at"]})
    if future_close and closes_at is not None and closes_at <= utcnow():
        raise ValidationFailed("the closing time has passed", {"closes_at": ["must be in the future"]})
