"""Alerts: a published item is matched against the subscribers' criteria with one indexed
query (``preferences``), and each matching subscriber gets an ``alerts`` row keyed by
(subscriber, item): a second publication of the same item, under a new event id, finds the
rows there and alerts nobody again.

When an alert is due depends on the subscriber's frequency: immediate alerts wait up to
``batch_seconds`` so that what appears within a minute goes out as one mail; digests wait for
the next daily or weekly digest hour. ``compose_due`` turns due alerts into one mail per
subscriber (a ``deliveries`` row), at most ``daily_cap`` alert mails per subscriber a day;
beyond it, alerts wait for the next day's mail.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from kernel.db import insert_or_ignore
from kernel.rows import new_id, utcnow
from services.notify import site
from services.notify.models import alert_keys, alerts, deliveries, items, subscribers
from services.notify.preferences import item_keys


@dataclass(frozen=True)
class Schedule:
    batch_seconds: float = 60
    digest_hour: int = 7
    timezone: str = "Europe/Berlin"
    daily_cap: int = 10

    def __post_init__(self):
        """A wrong DIGEST_TIMEZONE or DIGEST_HOUR refuses the start, rather than failing every
        published item's alert later."""
        try:
            ZoneInfo(self.timezone)
        except (ValueError, KeyError) as error:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"DIGEST_TIMEZONE {self.timezone!r} is no IANA time zone "
                             "(such as Europe/Berlin)") from error
        if not 0 <= self.digest_hour <= 23:
            raise ValueError(f"DIGEST_HOUR must be 0 to 23, not {self.digest_hour}")

    def due(self, frequency: str, now: datetime) -> datetime:
        if frequency == "immediately":
            return now + timedelta(seconds=self.batch_seconds)
        local = now.astimezone(ZoneInfo(self.timezone))
        day = local.replace(hour=self.digest_hour, minute=0, second=0, microsecond=0)
        if day <= local:
            day += timedelta(days=1)
        if frequency == "weekly":
            day += timedelta(days=(7 - day.weekday()) % 7)  # the next Monday
        return day


# ---------------------------------------------------------------------------- items from events

def entry_item(data: dict) -> dict:
    location = data.get("location") or {}
    return {"key": f"entry:{data['id']}", "type": "entry", "kind": data["kind"], "title": data["title"],
            "summary": data.get("summary"), "path": site.item_path("entry", data["id"]),
            "themes": list(data.get("themes") or []), "regions": [data["region"]] if data.get("region") else [],
            "lat": location.get("lat"), "lon": location.get("lon"),
            "published_at": data.get("published_at") or data["updated_at"]}


def article_item(data: dict) -> dict:
    return {"key": f"article:{data['id']}", "type": "article", "kind": data["type"], "title": data["title"],
            "summary": data.get("summary"), "path": site.item_path("article", data["id"]),
            "themes": list(data.get("themes") or []), "regions": list(data.get("regions") or []),
            "lat": None, "lon": None, "published_at": data.get("published_at") or data["updated_at"]}


def survey_item(data: dict, linked_entry=lambda entry_id: None) -> dict:
    """A survey takes its themes from its link: a theme, or the themes and region of the
    linked entry (``linked_entry(id)`` → its item, when notify saw it published)."""
    link = data.get("link") or {}
    themes, regions = [], []
    if link.get("type") == "theme":
        themes = [link["ref"]]
    elif link.get("type") == "entry":
        entry = linked_entry(link["ref"])
        if entry is not None:
            themes, regions = list(entry["themes"]), list(entry["regions"])
    title = data["title"]
    return {"key": f"survey:{data['id']}", "type": "survey", "kind": "survey",
            "title": title.get("de") if isinstance(title, dict) else str(title), "summary": None,
            "path": site.item_path("survey", data["id"]), "themes": themes, "regions": regions,
            "lat": None, "lon": None, "published_at": data["published_at"]}


def known_entry(session):
    """``linked_entry`` for ``survey_item``: an entry's item as notify recorded it."""
    def lookup(entry_id: str) -> dict | None:
        row = session.execute(sa.select(items.c.themes, items.c.regions)
                              .where(items.c.key == f"entry:{entry_id}")).first()
        return dict(row._mapping) if row is not None else None
    return lookup


# ---------------------------------------------------------------------------- matching

def saved_queries(session, item: dict) -> list[str]:
    """The saved searches of the subscribers whose other criteria the item matches: what to
    ask the search service about (``record_and_match``'s ``found_by``)."""
    matched = matching_subscribers(item)
    return session.execute(sa.select(matched.c.query).where(matched.c.query.isnot(None))
                           .distinct().order_by(matched.c.query)).scalars().all()


def record_and_match(session, item: dict, schedule: Schedule, now: datetime | None = None,
                     found_by: frozenset[str] = frozenset()) -> int:
    """Keep the item (its first publication's view) and queue an alert for each subscriber it
    matches who has none for it yet; a subscriber with a saved search only when the search
    service found the item by it (``found_by``). Returns how many alerts were queued."""
    now = now or utcnow()
    row = {key: item[key] for key in ("key", "type", "kind", "summary", "themes", "regions")}
    first_time = session.execute(insert_or_ignore(session, items).values(
        **row, title=item["title"][:300], path=item["path"][:300],
        published_at=_timestamp(item["published_at"], now))).rowcount == 1
    matched = matching_subscribers(item)
    due = sa.case((matched.c.frequency == "daily", sa.literal(schedule.due("daily", now))),
                  (matched.c.frequency == "weekly", sa.literal(schedule.due("weekly", now))),
                  else_=sa.literal(schedule.due("immediately", now)))
    # (SQLite needs this WHERE before ON CONFLICT in INSERT … SELECT: it would read a join's ON)
    searched = matched.c.query.is_(None)
    if found_by:
        searched = sa.or_(searched, matched.c.query.in_(sorted(found_by)))
    rows = sa.select(matched.c.id, sa.literal(item["key"]), due, sa.literal(now)).where(searched)
    # alerts of an item exist only once its items row does: the first time, nobody can have one,
    # and a plain INSERT spares the conflict check per row (a fifth of the cost, measured);
    # a handler of the same item at the same moment waits for this one's items row
    into = sa.insert(alerts) if first_time else insert_or_ignore(session, alerts)
    statement = into.from_select(["subscriber_id", "item_key", "due_at", "created_at"], rows)
    return session.execute(statement).rowcount


def matching_subscribers(item: dict):
    """The confirmed subscribers (id, frequency, query) whose every chosen facet the item matches, as a
    subquery: the ``alert_keys`` rows of the keys the item satisfies (``preferences.item_keys``),
    then the exact box."""
    if item.get("lat") is not None:
        lat, lon = item["lat"], item["lon"]
        inside = sa.or_(alert_keys.c.min_lat.is_(None),
                        sa.and_(alert_keys.c.min_lat <= lat, alert_keys.c.max_lat >= lat,
                                alert_keys.c.min_lon <= lon, alert_keys.c.max_lon >= lon))
    else:
        inside = alert_keys.c.min_lat.is_(None)
    return (sa.select(alert_keys.c.subscriber_id.label("id"), alert_keys.c.frequency, alert_keys.c.query)
            .where(alert_keys.c.key.in_(item_keys(item)), inside)
            .distinct().subquery("matched"))


def forget_pending(session, item_key: str) -> None:
    """An item left public view before its alerts went out: they are dropped (the item can alert
    again when it is published again, since nobody was told about it)."""
    session.execute(sa.delete(alerts).where(alerts.c.item_key == item_key, alerts.c.delivery_id.is_(None)))


def _timestamp(value, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return default


# ---------------------------------------------------------------------------- due alerts become mails

def compose_due(session, schedule: Schedule, now: datetime | None = None, limit: int = 500) -> int:
    """One alert mail per subscriber with due alerts (within the daily cap). Returns mails queued.

    Alerts of a subscriber who is no longer confirmed are dropped first: an item matched while the
    person unsubscribed can insert its alert after the unsubscribe deleted the pending ones (each
    transaction saw the other's rows as they were), and nothing would ever mail or remove it."""
    now = now or utcnow()
    session.execute(sa.delete(alerts).where(
        alerts.c.delivery_id.is_(None),
        alerts.c.subscriber_id.in_(sa.select(subscribers.c.id).where(subscribers.c.status != "confirmed"))))
    due = session.execute(
        sa.select(alerts.c.subscriber_id, subscribers.c.language)
        .join(subscribers, subscribers.c.id == alerts.c.subscriber_id)
        .where(alerts.c.delivery_id.is_(None), alerts.c.due_at <= now, subscribers.c.status == "confirmed")
        .group_by(alerts.c.subscriber_id, subscribers.c.language).limit(limit)).all()
    queued = 0
    for subscriber_id, language in due:
        recent = session.execute(
            sa.select(deliveries.c.created_at).where(
                deliveries.c.subscriber_id == subscriber_id, deliveries.c.kind == "alert",
                deliveries.c.created_at > now - timedelta(days=1))
            .order_by(deliveries.c.created_at)).scalars().all()
        if len(recent) >= schedule.daily_cap:  # the cap is reached: the next mail when the oldest is a day old
            session.execute(sa.update(alerts).where(alerts.c.subscriber_id == subscriber_id,
                                                    alerts.c.delivery_id.is_(None))
                            .values(due_at=recent[0] + timedelta(days=1)))
            continue
        delivery_id = new_id()
        session.execute(sa.insert(deliveries).values(
            id=delivery_id, key=f"alert:{delivery_id}", kind="alert", ref=subscriber_id,
            subscriber_id=subscriber_id, language=language, state="pending", next_attempt_at=now, created_at=now))
        session.execute(sa.update(alerts).where(alerts.c.subscriber_id == subscriber_id,
                                                alerts.c.delivery_id.is_(None))
                        .values(delivery_id=delivery_id))
        queued += 1
    return queued
