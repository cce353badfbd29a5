"""Subscribers: double opt-in, preferences through the link in every mail, leaving, erasure.

Nobody gets anything but a confirmation mail before following its link. Subscribing an
address that is already known answers exactly as for a new one (no one learns who
subscribed); the requested preferences wait in ``requested`` until the link is followed, and
at most one confirmation mail per address goes out per ``confirm_interval``. Consent is
recorded with the version of the text the person agreed to.

Links carry signed, expiring tokens (``kernel.tokens``) naming the subscriber and the
subscriber's ``token_version``; erasure deletes the row, so its links lead nowhere.
"""
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from kernel import tokens
from kernel.errors import NotFound, ValidationFailed
from kernel.rows import aware, new_id, utcnow
from services.notify import preferences as prefs
from services.notify.models import alert_keys, alerts, consents, deliveries, interests, subscribers

CONFIRM = "notify-confirm"
MANAGE = "notify-manage"
ACCEPTED = {"status": "accepted",
            "message": "Thank you. If the address can receive mail, a message with a confirmation link is on its way."}


@dataclass(frozen=True)
class Settings:
    token_secret: str
    confirm_ttl_hours: float = 48
    manage_ttl_days: float = 365
    confirm_interval_minutes: float = 15
    pending_ttl_hours: float = 72
    unsubscribed_retention_days: float = 30
    delivery_retention_days: float = 365


def confirm_token(settings: Settings, subscriber: dict) -> str:
    return tokens.issue(settings.token_secret, CONFIRM, subscriber["id"], settings.confirm_ttl_hours * 3600,
                        extra={"v": subscriber["token_version"]})[0]


def manage_token(settings: Settings, subscriber: dict) -> str:
    return tokens.issue(settings.token_secret, MANAGE, subscriber["id"], settings.manage_ttl_days * 86400,
                        extra={"v": subscriber["token_version"]})[0]


def normalised_address(email: str) -> str:
    return email.strip().lower()


# ---------------------------------------------------------------------------- subscribing

def subscribe(uow, data: dict, settings: Settings) -> dict:
    session, now = uow.session, utcnow()
    email = normalised_address(data["email"])
    wanted = {key: data[key] for key in ("newsletter", "alerts", "frequency") if key in data}
    language = data.get("language", "de")
    row = session.execute(sa.select(subscribers).where(subscribers.c.email == email).with_for_update()).mappings().first()
    if row is None or row["status"] == "unsubscribed":
        if row is not None:  # a new subscription: nothing of the ended one carries over
            erase_subscriber(session, row["id"])
        row = {"id": new_id(), "email": email, "status": "pending", "language": language,
               "preferences": prefs.merged({}, wanted), "requested": None, "token_version": 1, "hard_bounces": 0,
               "confirmation_sent_at": None, "created_at": now, "version": 1}
        session.execute(sa.insert(subscribers).values(**row))
    elif row["status"] == "pending":
        session.execute(sa.update(subscribers).where(subscribers.c.id == row["id"]).values(
            preferences=prefs.merged({}, wanted), language=language, version=row["version"] + 1))
    else:  # confirmed (or bounced): the change waits for the link in the mail
        session.execute(sa.update(subscribers).where(subscribers.c.id == row["id"]).values(
            requested={**wanted, "language": language}, version=row["version"] + 1))
    session.execute(sa.insert(consents).values(subscriber_id=row["id"], action="requested",
                                               text_version=data["consent"], at=now))
    sent_at = row.get("confirmation_sent_at")
    if sent_at is None or now - aware(sent_at) >= timedelta(minutes=settings.confirm_interval_minutes):
        session.execute(sa.update(subscribers).where(subscribers.c.id == row["id"]).values(confirmation_sent_at=now))
        enqueue_confirmation(session, row["id"], language, now)
    uow.commit()
    return dict(ACCEPTED)


def enqueue_confirmation(session, subscriber_id: str, language: str, now) -> None:
    delivery_id = new_id()
    session.execute(sa.insert(deliveries).values(
        id=delivery_id, key=f"confirm:{subscriber_id}:{delivery_id}", kind="confirm", ref=subscriber_id,
        subscriber_id=subscriber_id, language=language, state="pending", next_attempt_at=now, created_at=now))


# ---------------------------------------------------------------------------- the link's holder

def _subscriber_of(session, settings: Settings, purpose: str, token, lock=False) -> dict:
    claims = tokens.read(settings.token_secret, purpose, token, "token")
    query = sa.select(subscribers).where(subscribers.c.id == str(claims["sub"]))
    row = session.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None or claims.get("v") != row["token_version"]:
        raise NotFound("no subscription for this link (it may have been erased)")
    return dict(row)


def confirm(uow, token, settings: Settings) -> dict:
    session, now = uow.session, utcnow()
    row = _subscriber_of(session, settings, CONFIRM, token, lock=True)
    requested = row["requested"] or {}
    values = {"status": "confirmed", "version": row["version"] + 1, "requested": None}
    if row["status"] != "confirmed":
        values["confirmed_at"] = now
        values["hard_bounces"] = 0
    if requested:
        values["preferences"] = prefs.merged(row["preferences"], requested)
        values["language"] = requested.get("language", row["language"])
    elif row["status"] == "confirmed":  # the link was followed before: nothing changes
        return view(row)
    preferences = values.get("preferences", row["preferences"])
    _write_index(session, row["id"], preferences)
    session.execute(sa.update(subscribers).where(subscribers.c.id == row["id"]).values(**values))
    text_version = session.execute(
        sa.select(consents.c.text_version).where(consents.c.subscriber_id == row["id"],
                                                 consents.c.action == "requested")
        .order_by(consents.c.id.desc()).limit(1)).scalar()
    session.execute(sa.insert(consents).values(subscriber_id=row["id"], action="confirmed",
                                               text_version=text_version, at=now))
    uow.commit()
    return view({**row, **values})


def _write_index(session, subscriber_id: str, preferences: dict) -> None:
    pairs, keys, columns = prefs.index_rows(preferences)
    _drop_index(session, subscriber_id)
    if pairs:
        session.execute(sa.insert(interests), [{"facet": facet, "value": value, "subscriber_id": subscriber_id}
                                               for facet, value in pairs])
    if keys:
        session.execute(sa.insert(alert_keys), prefs.alert_key_rows(subscriber_id, preferences, keys, columns))
    session.execute(sa.update(subscribers).where(subscribers.c.id == subscriber_id).values(**columns))


def view(row: dict) -> dict:
    public = prefs.public_view(row["preferences"])
    return {"status": row["status"], "email": row["email"], "language": row["language"], **public,
            "confirmed_at": _iso(row.get("confirmed_at"))}


def _iso(value) -> str | None:
    return aware(value).isoformat() if value is not None else None


def get_subscription(uow, token, settings: Settings) -> dict:
    return view(_subscriber_of(uow.session, settings, MANAGE, token))


def update_preferences(uow, token, changes: dict, settings: Settings) -> dict:
    session = uow.session
    row = _subscriber_of(session, settings, MANAGE, token, lock=True)
    if row["status"] != "confirmed":
        raise ValidationFailed("this subscription is not active; subscribe again",
                               {"token": ["The subscription was ended."]})
    values = {"preferences": prefs.merged(row["preferences"], changes), "version": row["version"] + 1}
    if "language" in changes:
        values["language"] = changes["language"]
    if not values["preferences"]["newsletter"] and values["preferences"]["alerts"] is None:
        raise ValidationFailed("keep the newsletter or alerts, or unsubscribe",
                               {"newsletter": ["Nothing would be left: unsubscribe instead."]})
    _write_index(session, row["id"], values["preferences"])
    session.execute(sa.update(subscribers).where(subscribers.c.id == row["id"]).values(**values))
    uow.commit()
    return view({**row, **values})


def unsubscribe(uow, token, settings: Settings) -> dict:
    """One click: no more mail of any kind; pending alerts and mails are dropped."""
    session, now = uow.session, utcnow()
    row = _subscriber_of(session, settings, MANAGE, token, lock=True)
    if row["status"] != "unsubscribed":
        session.execute(sa.update(subscribers).where(subscribers.c.id == row["id"]).values(
            status="unsubscribed", unsubscribed_at=now, requested=None, version=row["version"] + 1))
        _stop_mailing(session, row["id"])
        session.execute(sa.insert(consents).values(subscriber_id=row["id"], action="withdrawn", at=now))
        uow.commit()
    return {"status": "unsubscribed", "message": "You will get no more mail from us."}


def _drop_index(session, subscriber_id: str) -> None:
    session.execute(sa.delete(interests).where(interests.c.subscriber_id == subscriber_id))
    session.execute(sa.delete(alert_keys).where(alert_keys.c.subscriber_id == subscriber_id))


def _stop_mailing(session, subscriber_id: str) -> None:
    _drop_index(session, subscriber_id)
    session.execute(sa.delete(alerts).where(alerts.c.subscriber_id == subscriber_id,
                                            alerts.c.delivery_id.is_(None)))
    session.execute(sa.update(deliveries).where(deliveries.c.subscriber_id == subscriber_id,
                                                deliveries.c.state == "pending")
                    .values(state="cancelled", recipient=None, context=None))


def erase(uow, token, settings: Settings) -> None:
    """Delete the person's data; the delivery log keeps its rows without any address."""
    session = uow.session
    row = _subscriber_of(session, settings, MANAGE, token, lock=True)
    erase_subscriber(session, row["id"])
    uow.commit()


def erase_subscriber(session, subscriber_id: str) -> None:
    _stop_mailing(session, subscriber_id)
    session.execute(sa.update(deliveries).where(deliveries.c.subscriber_id == subscriber_id)
                    .values(subscriber_id=None, recipient=None, context=None))
    session.execute(sa.delete(alerts).where(alerts.c.subscriber_id == subscriber_id))
    session.execute(sa.delete(consents).where(consents.c.subscriber_id == subscriber_id))
    session.execute(sa.delete(subscribers).where(subscribers.c.id == subscriber_id))


def prune(session, settings: Settings) -> dict:
    """Retention: unconfirmed subscriptions past their time and ended ones past the retention are
    erased; the delivery log forgets finished mails after ``delivery_retention_days``, except
    that a newsletter's keep their counts (sent, failed) without saying to whom."""
    now = utcnow()
    expired = session.execute(sa.select(subscribers.c.id).where(sa.or_(
        sa.and_(subscribers.c.status == "pending",
                subscribers.c.created_at < now - timedelta(hours=settings.pending_ttl_hours)),
        sa.and_(subscribers.c.status == "unsubscribed",
                subscribers.c.unsubscribed_at < now - timedelta(days=settings.unsubscribed_retention_days))))
        .limit(500)).scalars().all()
    for subscriber_id in expired:
        erase_subscriber(session, subscriber_id)
    old = sa.and_(deliveries.c.state.in_(FINISHED), deliveries.c.created_at < now - timedelta(
        days=settings.delivery_retention_days))
    forgotten = session.execute(sa.delete(deliveries).where(old, deliveries.c.kind != "newsletter")).rowcount
    forgotten += session.execute(sa.update(deliveries).where(old, deliveries.c.kind == "newsletter",
                                                             deliveries.c.subscriber_id.is_not(None))
                                 .values(subscriber_id=None, recipient=None, context=None)).rowcount
    return {"subscribers_erased": len(expired), "deliveries_forgotten": forgotten}


FINISHED = ("sent", "failed", "cancelled")
