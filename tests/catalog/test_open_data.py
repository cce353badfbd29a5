"""The catalog's open-data domain on PostgreSQL and SQLite: the export's keyset pages join up to the
list's order for every sort (ties included), and the calendar's day boundaries."""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from contracts.catalog.api import EntryCreateSchema, EntryQuerySchema, EventCalendarRequestSchema, ExportPageQuerySchema
from kernel.errors import ValidationFailed
from kernel.schemas import load_input
from services.catalog import entries, models, open_data
from tests.catalog.conftest import HALLE, STAFF, entry_data


def create(make_uow, **raw) -> dict:
    with make_uow() as uow:
        return entries.create_entry(uow, load_input(EntryCreateSchema, entry_data(["wohnen"], **raw)), STAFF)


def export(make_uow, limit, **query) -> tuple[str, int]:
    text, after, pages = "", None, 0
    with make_uow() as uow:
        while True:
            page = open_data.export_page(uow, load_input(ExportPageQuerySchema, {
                "format": "csv", "limit": limit, "after": after, **query}))
            text, after, pages = text + page["content"], page["next"], pages + 1
            if after is None:
                return text, pages


def slugs(text: str) -> list[str]:
    lines = text.removeprefix("\ufeff").splitlines()
    assert lines[0].startswith("slug;kind;title")
    return [line.split(";", 1)[0] for line in lines[1:]]


def test_keyset_pages_join_up_to_the_list_order_for_every_sort(make_uow, catalog_engine):
    made = [create(make_uow, title=title) for title in ("Bürgerbus", "Aalfang", "Bürgerbus", "Zeitbank",
                                                        "Bürgerbus", "Café Kontakt", "aalglatt")]
    create(make_uow, title="Nicht veröffentlicht", publish=False)
    moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    with catalog_engine.begin() as conn:  # ties on every sort key: only the id orders them
        conn.execute(sa.update(models.entries).where(models.entries.c.id.in_([made[0]["id"], made[2]["id"],
                                                                               made[4]["id"]]))
                     .values(published_at=moment, updated_at=moment))
    listed = {}
    for sort in ("newest", "oldest", "updated", "title"):
        with make_uow() as uow:
            expected = listed[sort] = [item["slug"] for item in entries.list_entries(
                uow, load_input(EntryQuerySchema, {"sort": sort, "per_page": 100}))["items"]]
        assert len(expected) == 7
        for limit in (1, 2, 3, 7, 100):
            text, pages = export(make_uow, limit, sort=sort)
            assert slugs(text) == expected, (sort, limit)
            assert pages == len(expected) // limit + 1, (sort, limit)  # a full last page needs one more ask
            assert text.count("\ufeff") == 1 and text.count("slug;kind;title") == 1
    # oldest first (a review queue) is newest first turned round, but for the tie broken by id
    tied = {made[0]["slug"], made[2]["slug"], made[4]["slug"]}
    assert [slug for slug in listed["oldest"] if slug not in tied] == \
        [slug for slug in reversed(listed["newest"]) if slug not in tied]


def test_a_cursor_from_elsewhere_is_refused(make_uow):
    create(make_uow, title="Bürgerbus")
    for cursor in ("nonsense", '["a"]', '[1, 2]', '["not a time", "x"]'):
        with make_uow() as uow, pytest.raises(ValidationFailed) as refused:
            open_data.export_page(uow, load_input(ExportPageQuerySchema, {"format": "csv", "after": cursor}))
        assert "after" in refused.value.fields


def test_the_calendar_keeps_events_until_their_last_day_is_over(make_uow):
    today = date(2026, 6, 10)

    def event(title, starts, ends=None, **raw):
        extra = {"ends_on": (today + timedelta(days=ends)).isoformat()} if ends is not None else {}
        return create(make_uow, kind="event", title=title, starts_on=(today + timedelta(days=starts)).isoformat(),
                      **extra, **raw)

    ends_today = event("Endet heute", -2, 0)
    single_today = event("Heute", 0)
    event("Endete gestern", -3, -1)
    event("Gestern", -1)
    later = event("Später in Halle", 30, 31, location=dict(HALLE))
    create(make_uow, kind="event", title="Ohne Datum")
    with make_uow() as uow:
        answer = open_data.event_calendar(uow, load_input(EventCalendarRequestSchema, {
            "title": "Veranstaltungen", "item_url": "https://daten.example.org/e/{id}"}), today=today)
        halle = open_data.event_calendar(uow, load_input(EventCalendarRequestSchema, {
            "title": "Veranstaltungen", "item_url": "https://daten.example.org/e/{id}", "region": "15002"}),
            today=today)
    calendar = Calendar.from_ical(answer["content"])
    events = {str(item["UID"]): item for item in calendar.walk("VEVENT")}
    assert answer["events"] == 3 and set(events) == {ends_today["id"], single_today["id"], later["id"]}
    assert events[single_today["id"]].decoded("DTEND") == today + timedelta(days=1)
    assert events[ends_today["id"]].decoded("DTSTART") == today - timedelta(days=2)
    assert str(events[later["id"]]["URL"]) == f"https://daten.example.org/e/{later['id']}"
    assert [str(item["UID"]) for item in Calendar.from_ical(halle["content"]).walk("VEVENT")] == [later["id"]]
