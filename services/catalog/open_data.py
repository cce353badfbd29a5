"""Open data: the public export of entries in pages (CSV, GeoJSON), the calendar of upcoming
events (iCalendar) and Atom feeds of newly published entries and of news.

Everything here is built from the public views (``entries.public_views``, ``articles.represent``):
no ``contact``, no moderation data. The gateway serves it (``gateway/open_data_routes.py``) and
says where items live (``item_url`` with ``{id}``), since only it knows its public address.

Answers are deterministic for the same data (and, for the calendar, the same day): their bytes
are hashed into ETags, so a timestamp such as "now" never goes into them.

The export is paged by keyset (``after`` = the ``next`` of the previous page: the last row's sort
key and id), in the order of ``GET /entries`` for each ``sort``: a page costs the same however far
into the export, and rows never repeat across pages.
"""
import io
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from feedgen.feed import FeedGenerator
from icalendar import Calendar, Event, Timezone, vDuration

from kernel.errors import ValidationFailed
from kernel.spreadsheet import BOM
from services.catalog import articles as article_domain
from services.catalog import entries as entry_domain
from services.catalog.common import json_list_contains
from services.catalog.models import articles, entries
from services.catalog.transfer import to_geojson, write_csv

TIME_ZONE = "Europe/Berlin"
BERLIN = ZoneInfo(TIME_ZONE)
DELIMITERS = {"semicolon": ";", "comma": ","}
MAX_EVENTS = 2000  # upcoming events in one calendar, soonest first
CALENDAR_REFRESH = timedelta(hours=1)
PRODUCT_ID = "-//KoSI Sachsen-Anhalt//Katalog//DE"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # the "updated" of a feed with no items yet


# ====================================================================== export in pages

def _sort_value(row, sort: str):
    if sort == "title":
        return row.title
    if sort == "updated":
        return row.updated_at
    return row.published_at if row.published_at is not None else row.created_at


def _cursor(row, sort: str) -> str:
    value = _sort_value(row, sort)
    return json.dumps([value.isoformat() if isinstance(value, datetime) else value, row.id], ensure_ascii=False)


def _read_cursor(text: str, sort: str):
    try:
        value, last_id = json.loads(text)
        if not isinstance(value, str) or not isinstance(last_id, str):
            raise ValueError(text)
        return (value if sort == "title" else datetime.fromisoformat(value)), last_id
    except (TypeError, ValueError):
        raise ValidationFailed("after is not a page of this export", {
            "after": ["Send the next of the previous page, with the same sort."]}) from None


def export_page(uow, query: dict) -> dict:
    """One page of the published entries matching the list filters, public view, in the order of
    ``sort``: ``{content, next}`` for CSV (the first page starts with a byte order mark and the
    header, later pages are rows only, so that the pages joined are the file), ``{features,
    next}`` for GeoJSON (entries without a location are left out). ``next`` is None on the last
    page."""
    sort = query.get("sort") or "newest"
    column, descending = entry_domain.sort_order(sort)
    select = entry_domain.filtered(sa.select(entries).where(entries.c.status == "published"), query)
    if query.get("after"):
        value, last_id = _read_cursor(query["after"], sort)
        beyond = column < value if descending else column > value
        select = select.where(sa.or_(beyond, sa.and_(column == value, entries.c.id > last_id)))
    select = select.order_by(column.desc() if descending else column, entries.c.id).limit(query["limit"])
    rows = uow.session.execute(select).all()
    items = entry_domain.public_views(uow.session, rows)
    following = _cursor(rows[-1], sort) if len(rows) == query["limit"] else None
    if query["format"] == "geojson":
        return {"features": to_geojson(items)["features"], "next": following}
    first = not query.get("after")
    out = io.StringIO(newline="")
    if first:
        out.write(BOM)  # without it, German Excel reads UTF-8 as Windows-1252
    write_csv(items, out, delimiter=DELIMITERS[query.get("delimiter") or "semicolon"], header=first)
    return {"content": out.getvalue(), "next": following}


# ====================================================================== calendar

def event_calendar(uow, query: dict, today: date | None = None) -> dict:
    """The published events that are not over yet (their last day is today or later in
    Europe/Berlin), soonest first, at most ``MAX_EVENTS``, as an iCalendar text: ``{content,
    events}``. Events have dates only, so each is an all-day VEVENT (``DTSTART;VALUE=DATE``,
    ``DTEND`` the day after the last day, as RFC 5545 wants it exclusive)."""
    today = today or datetime.now(BERLIN).date()
    last_day = sa.func.coalesce(entries.c.ends_on, entries.c.starts_on)
    select = entry_domain.filtered(
        sa.select(entries).where(entries.c.status == "published", entries.c.kind == "event",
                                 entries.c.starts_on.is_not(None), last_day >= today),
        {key: query[key] for key in ("theme", "region") if query.get(key)})
    rows = uow.session.execute(select.order_by(entries.c.starts_on, entries.c.id).limit(MAX_EVENTS)).all()
    items = entry_domain.public_views(uow.session, rows)

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", query["title"])  # RFC 7986
    calendar.add("x-wr-calname", query["title"])
    calendar.add("x-wr-timezone", TIME_ZONE)
    calendar.add("refresh-interval", CALENDAR_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(CALENDAR_REFRESH))  # the same, for Outlook
    years = [today.year] + [date.fromisoformat(item["ends_on"] or item["starts_on"]).year for item in items]
    # the zone's rules for the years the events fall in (all-day events need none, but clients
    # that show the calendar's zone read it from here)
    calendar.add_component(Timezone.from_tzid(TIME_ZONE, first_date=date(today.year, 1, 1),
                                              last_date=date(max(years) + 1, 1, 1)))
    for item in items:
        calendar.add_component(_vevent(item, query["item_url"]))
    return {"content": calendar.to_ical().decode("utf-8"), "events": len(items)}


def _vevent(item: dict, item_url: str) -> Event:
    url = item_url.replace("{id}", item["id"])
    first = date.fromisoformat(item["starts_on"])
    last = date.fromisoformat(item["ends_on"]) if item.get("ends_on") else first
    updated = _utc(item["updated_at"])
    event = Event()
    event.add("uid", item["id"])  # a UUID, stable for the entry (RFC 7986 recommends UUIDs)
    event.add("dtstamp", updated)  # when this information last changed: same data, same bytes
    event.add("last-modified", updated)
    event.add("sequence", item["version"])
    event.add("dtstart", first)
    event.add("dtend", last + timedelta(days=1))
    event.add("summary", item["title"])
    event.add("description", "\n\n".join(part for part in (item["summary"], item.get("description"), url) if part))
    event.add("url", url)
    location = _place(item.get("address"))
    if location:
        event.add("location", location)
    if item.get("location"):
        event.add("geo", (item["location"]["lat"], item["location"]["lon"]))
    if item.get("themes"):
        event.add("categories", item["themes"])
    return event


def _place(address: dict | None) -> str:
    address = address or {}
    town = " ".join(part for part in (address.get("postal_code"), address.get("locality")) if part)
    return ", ".join(part for part in (address.get("street"), town) if part)


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


# ====================================================================== Atom feeds

def atom_feed(uow, query: dict) -> dict:
    """An Atom feed (RFC 4287) of the newest published entries (``source: entries``) or news
    (``source: news``), newest first, at most ``limit``, filtered by ``theme`` and ``region``:
    ``{content, items}``. Item ids are ``urn:uuid:<id>`` (they outlive a change of address); the
    feed's ``updated`` is its newest item's."""
    items = _feed_entries(uow, query) if query["source"] == "entries" else _feed_news(uow, query)
    feed = FeedGenerator()
    feed.id(query["feed_url"])
    feed.title(query["title"])
    feed.author({"name": query["author"]})
    feed.link(href=query["feed_url"], rel="self", type="application/atom+xml")
    feed.language("de")
    feed.updated(max((_utc(item["updated_at"]) for item in items), default=EPOCH))
    for item in items:
        entry = feed.add_entry(order="append")
        entry.id(f"urn:uuid:{item['id']}")
        entry.title(item["title"])
        entry.link(href=query["item_url"].replace("{id}", item["id"]), rel="alternate", type="application/json")
        entry.published(_utc(item["published_at"]))
        entry.updated(_utc(item["updated_at"]))
        if item.get("summary"):
            entry.summary(item["summary"])
        body = item.get("description") if query["source"] == "entries" else item.get("body")
        if body:
            entry.content(body, type="text")
        if item.get("author"):
            entry.author({"name": item["author"]})
        for theme in item.get("themes") or []:
            entry.category(term=theme)
    return {"content": feed.atom_str(pretty=True).decode("utf-8"), "items": len(items)}


def _feed_entries(uow, query: dict) -> list[dict]:
    select = entry_domain.filtered(
        sa.select(entries).where(entries.c.status == "published", entries.c.published_at.is_not(None)),
        {key: query[key] for key in ("theme", "region") if query.get(key)})
    rows = uow.session.execute(select.order_by(entries.c.published_at.desc(), entries.c.id)
                               .limit(query["limit"])).all()
    return entry_domain.public_views(uow.session, rows)


def _feed_news(uow, query: dict) -> list[dict]:
    select = sa.select(articles).where(articles.c.published_at.is_not(None), articles.c.type == "news")
    if query.get("theme"):
        select = select.where(json_list_contains(articles.c.themes, query["theme"]))
    if query.get("region"):
        select = select.where(json_list_contains(articles.c.regions, query["region"]))
    rows = uow.session.execute(select.order_by(articles.c.published_at.desc(), articles.c.id)
                               .limit(query["limit"])).all()
    return [article_domain.represent(row) for row in rows]
