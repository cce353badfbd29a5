"""Mails about submissions: the submitter hears what became of a public submission, editors
get a digest of what waits for review.

The submitter's address is not in any event: notify asks the catalog for it
(``submitter_contact``, a call only notify's own identity may make) and keeps it, with the
rejection reason, only in the delivery row until the mail is final.
"""
import hashlib
from datetime import datetime

import sqlalchemy as sa

from kernel.db import insert_or_ignore
from kernel.rows import new_id, utcnow
from services.notify import site
from services.notify.models import deliveries, items


def queue_decision_mail(session, data: dict, decision: str, contact: dict | None, now=None) -> bool:
    """A ``review`` delivery for a published or rejected submission; once per entry and decision
    (published again after a withdrawal, it is not announced again)."""
    if not contact or not contact.get("email"):
        return False
    now = now or utcnow()
    context = decision_context(data, decision)
    delivery_id = new_id()
    statement = insert_or_ignore(session, deliveries).values(
        id=delivery_id, key=f"review:{data['id']}:{decision}", kind="review", ref=data["id"],
        subscriber_id=None, recipient=contact["email"], language=contact.get("language") or "de", context=context,
        state="pending", next_attempt_at=now, created_at=now)
    return session.execute(statement).rowcount == 1


def decision_context(data: dict, decision: str) -> dict:
    """What the submitter's mail says, from an ``entry.published`` or ``entry.rejected`` event."""
    return {"decision": decision, "title": data["title"][:300], "path": site.item_path("entry", data["id"]),
            "reason": data.get("rejection_reason") if decision == "rejected" else None}


def submission_item(data: dict) -> dict:
    """An entry waiting for review, from an ``entry.submitted`` event."""
    return {"key": f"submitted:{data['id']}", "type": "submitted", "kind": data["kind"], "title": data["title"][:300],
            "summary": data.get("summary"), "path": site.review_path(data["id"]),
            "themes": list(data.get("themes") or []), "regions": [data["region"]] if data.get("region") else []}


def note_submission(session, data: dict) -> None:
    """An entry waiting for review (from ``entry.submitted``), for the editors' digest."""
    session.execute(insert_or_ignore(session, items).values(**submission_item(data), published_at=utcnow()))


def reviewed(session, entry_id: str) -> None:
    """A decision was taken: the entry no longer waits."""
    session.execute(sa.delete(items).where(items.c.key == f"submitted:{entry_id}"))


def queue_review_digest(session, editors: list[str], language: str = "de", now: datetime | None = None) -> int:
    """One mail per editor listing every entry waiting for review; at most one per editor a day."""
    now = now or utcnow()
    waiting = session.execute(sa.select(items.c.title, items.c.summary, items.c.path)
                              .where(items.c.type == "submitted").order_by(items.c.published_at).limit(200)).all()
    if not waiting or not editors:
        return 0
    context = {"entries": [{"title": row.title, "summary": row.summary, "path": row.path} for row in waiting]}
    day = now.date().isoformat()
    queued = 0
    for editor in editors:
        editor_key = hashlib.sha256(editor.lower().encode()).hexdigest()[:32]
        statement = insert_or_ignore(session, deliveries).values(
            id=new_id(), key=f"review_digest:{day}:{editor_key}", kind="review_digest", ref=day, subscriber_id=None,
            recipient=editor, language=language, context=context, state="pending", next_attempt_at=now,
            created_at=now)
        queued += session.execute(statement).rowcount
    return queued

