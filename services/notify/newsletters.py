"""Newsletters: composed by editors (items picked from what the catalog published since the
last one, editable), previewed as HTML and text, tried on one address, then sent to a segment.

Sending queues one ``deliveries`` row per recipient in one INSERT … SELECT (keyed by newsletter
and subscriber, so queuing twice mails nobody twice); the send loop (``sender``) works them off
at the configured rate, and ``progress`` counts them by state.
"""
import uuid
from datetime import datetime

import sqlalchemy as sa

from kernel.db import insert_or_ignore
from kernel.errors import Conflict, InvalidTransition, NotFound
from kernel.roles import actor_name, require_staff
from kernel.rows import aware, looks_like_uuid, new_id, paginate, utcnow
from services.notify.models import deliveries, interests, newsletters, subscribers

QUEUE_CHUNK = 2000


def last_sent_at(session) -> datetime | None:
    return session.execute(sa.select(sa.func.max(newsletters.c.sent_at))).scalar()


def create_newsletter(uow, data: dict, actor, pick_items) -> dict:
    """``pick_items(since, themes, regions)`` → items published since the last newsletter,
    called only when ``data`` brings no ``items``."""
    require_staff(actor)
    session, now = uow.session, utcnow()
    chosen = data.get("items")
    if chosen is None:
        chosen = pick_items(last_sent_at(session), data.get("themes") or [], data.get("regions") or [])
    row = {"id": new_id(), "status": "draft", "subject": data["subject"], "intro": data.get("intro", ""),
           "language": data.get("language", "de"), "items": chosen, "segment": data.get("segment") or {},
           "recipients": 0, "version": 1, "created_by": actor_name(actor), "created_at": now, "updated_at": now,
           "sent_at": None}
    session.execute(sa.insert(newsletters).values(**row))
    uow.commit()
    return _view(session, row)


def update_newsletter(uow, newsletter_id, changes: dict, actor) -> dict:
    require_staff(actor)
    session = uow.session
    row = _locked(session, newsletter_id)
    if row["status"] != "draft":
        raise InvalidTransition("a newsletter that is being sent or was sent cannot change")
    if changes["version"] != row["version"]:
        raise Conflict(f"the newsletter changed meanwhile (version {row['version']}); reload it",
                       {"version": [f"current version is {row['version']}"]})
    values = {key: changes[key] for key in ("subject", "intro", "segment", "items") if key in changes}
    values.update(version=row["version"] + 1, updated_at=utcnow())
    session.execute(sa.update(newsletters).where(newsletters.c.id == row["id"]).values(**values))
    uow.commit()
    return _view(session, {**row, **values})


def get_newsletter(uow, newsletter_id, actor) -> dict:
    require_staff(actor)
    return _view(uow.session, _row(uow.session, newsletter_id))


def list_newsletters(uow, query: dict, actor) -> dict:
    require_staff(actor)
    select = sa.select(newsletters).order_by(newsletters.c.created_at.desc(), newsletters.c.id)
    return paginate(uow.session, select, query, lambda rows: [_view(uow.session, dict(row._mapping)) for row in rows])


def queue_test(uow, newsletter_id, address: str, actor) -> dict:
    require_staff(actor)
    session, now = uow.session, utcnow()
    row = _row(session, newsletter_id)
    delivery_id = new_id()
    session.execute(sa.insert(deliveries).values(
        id=delivery_id, key=f"test:{row['id']}:{delivery_id}", kind="test", ref=row["id"], subscriber_id=None,
        recipient=address, language=row["language"], state="pending", next_attempt_at=now, created_at=now))
    uow.commit()
    return {"status": "queued", "message": f"a test copy goes to {address}"}


def preview(uow, newsletter_id, actor, composer) -> dict:
    """The newsletter as a recipient will see it (with placeholder links)."""
    require_staff(actor)
    mail = composer.newsletter_mail(_row(uow.session, newsletter_id), links={"manage": "#", "unsubscribe": "#"})
    return {"subject": mail.subject, "html": mail.html, "text": mail.text}


def segment_query(segment: dict):
    """Confirmed newsletter subscribers, of the segment's themes or regions when it names any."""
    query = sa.select(subscribers.c.id, subscribers.c.language).where(
        subscribers.c.status == "confirmed", subscribers.c.newsletter.is_(True))
    facets = [("theme", value) for value in segment.get("themes") or []] + \
        [("region", value) for value in segment.get("regions") or []]
    if facets:
        query = query.where(subscribers.c.id.in_(sa.select(interests.c.subscriber_id).where(sa.or_(
            *(sa.and_(interests.c.facet == facet, interests.c.value == value) for facet, value in facets)))))
    return query


def send_newsletter(uow, newsletter_id, actor) -> dict:
    require_staff(actor)
    session, now = uow.session, utcnow()
    row = _locked(session, newsletter_id)
    if row["status"] != "draft":
        raise InvalidTransition(f"the newsletter is {row['status']} already")
    if not row["items"] and not row["intro"].strip():
        raise InvalidTransition("the newsletter is empty: add an intro or items")
    queued = _queue(session, row, now)
    session.execute(sa.update(newsletters).where(newsletters.c.id == row["id"]).values(
        status="sending", recipients=queued, sent_at=now, updated_at=now, version=row["version"] + 1))
    uow.commit()
    return _view(session, {**row, "status": "sending", "recipients": queued, "sent_at": now,
                           "version": row["version"] + 1})


def _queue(session, row: dict, now) -> int:
    """A delivery per recipient, its id (and so its Message-ID) derived from newsletter and
    subscriber: the same mail, whoever queues or sends it, however often."""
    result = session.execute(segment_query(row["segment"]).execution_options(yield_per=QUEUE_CHUNK))
    for chunk in result.partitions(QUEUE_CHUNK):
        values = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"kosi:newsletter:{row['id']}:{subscriber_id}")),
                   "key": f"newsletter:{row['id']}:{subscriber_id}", "kind": "newsletter", "ref": row["id"],
                   "subscriber_id": subscriber_id, "language": language, "state": "pending", "attempts": 0,
                   "next_attempt_at": now, "created_at": now}
                  for subscriber_id, language in chunk]
        session.execute(insert_or_ignore(session, deliveries), values)
    return progress(session, row["id"])["recipients"]


def progress(session, newsletter_id: str) -> dict:
    counts = dict(session.execute(
        sa.select(deliveries.c.state, sa.func.count()).where(deliveries.c.kind == "newsletter",
                                                              deliveries.c.ref == newsletter_id)
        .group_by(deliveries.c.state)).all())
    sent, failed = counts.get("sent", 0), counts.get("failed", 0)
    pending = counts.get("pending", 0) + counts.get("sending", 0)
    return {"recipients": sent + failed + pending + counts.get("cancelled", 0), "sent": sent, "failed": failed,
            "pending": pending}


def finish_sent(session) -> int:
    """Newsletters whose every delivery is final are ``sent``."""
    sending = session.execute(sa.select(newsletters.c.id).where(newsletters.c.status == "sending")).scalars().all()
    done = [newsletter_id for newsletter_id in sending if progress(session, newsletter_id)["pending"] == 0]
    if done:
        session.execute(sa.update(newsletters).where(newsletters.c.id.in_(done)).values(status="sent"))
    return len(done)


def _row(session, newsletter_id, lock: bool = False) -> dict:
    row = None
    if looks_like_uuid(newsletter_id):
        query = sa.select(newsletters).where(newsletters.c.id == newsletter_id)
        row = session.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFound(f"no newsletter {str(newsletter_id)[:40]!r}")
    return dict(row)


def _locked(session, newsletter_id) -> dict:
    return _row(session, newsletter_id, lock=True)


def _view(session, row: dict) -> dict:
    view = {key: row[key] for key in ("id", "status", "subject", "intro", "language", "segment", "items", "version",
                                      "created_by")}
    times = {key: aware(row[key]).isoformat() if row[key] is not None else None
             for key in ("created_at", "updated_at", "sent_at")}
    return {**view, **times, "progress": progress(session, row["id"])}
