"""Bad input is a ValidationFailed with field messages: at the schema and in the domain."""
import pytest

from kernel.errors import ValidationFailed
from services.catalog import entries
from contracts.catalog.api import (EntryCreateSchema, EntryQuerySchema, EntryUpdateSchema,
                                      LinkCreateSchema)
from kernel.schemas import load_input
from tests.catalog.conftest import BERLIN, STAFF, entry_data, outbox_events


def create(make_uow, raw, actor=None):
    with make_uow() as uow:
        return entries.create_entry(uow, load_input(EntryCreateSchema, raw), actor)


def failed_fields(make_uow, raw, actor=None) -> dict:
    with pytest.raises(ValidationFailed) as failure:
        create(make_uow, raw, actor)
    return failure.value.fields


@pytest.mark.parametrize("overrides, field", [
    ({"title": 123}, "title"),
    ({"title": "ab"}, "title"),
    ({"title": "   ab   "}, "title"),  # whitespace does not count
    ({"title": "x" * 201}, "title"),
    ({"summary": "x" * 501}, "summary"),
    ({"description": "x" * 20001}, "description"),
    ({"kind": "castle"}, "kind"),
    ({"themes": []}, "themes"),
    ({"themes": "arbeit"}, "themes"),
    ({"tags": ["x" * 41]}, "tags"),
    ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    ({"location": {"lat": "north", "lon": 11.6}}, "location"),
    ({"location": {"lat": 91, "lon": 11.6}}, "location"),
    ({"location": {"lat": 52.1}}, "location"),
    ({"region": "15"}, "region"),
    ({"address": {"postal_code": "3910"}}, "address"),
    ({"address": {"street": "x", "country": "DE"}}, "address"),
    ({"links": [{"label": "Web", "url": "javascript:alert(1)"}]}, "links"),
    ({"links": [{"label": "Web", "url": "https://example.org"}] * 11}, "links"),
    ({"starts_on": "2025-05-01", "ends_on": "2025-04-30"}, "ends_on"),
    ({"starts_on": "yesterday"}, "starts_on"),
    ({"contact": {"email": "not-an-email"}}, "contact"),
    ({"language": "deu"}, "language"),
    ({"image_url": "file:///etc/passwd"}, "image_url"),
    ({"funding": "x" * 501}, "funding"),
    ({"licence": "x" * 51}, "licence"),
    ({"status": "published"}, "status"),  # not an input field
    ({"version": 7}, "version"),
])
def test_schema_refuses_bad_entry_input(make_uow, theme_slugs, catalog_engine, overrides, field):
    assert field in failed_fields(make_uow, entry_data(theme_slugs, **overrides))
    assert outbox_events(catalog_engine) == []


def test_missing_required_fields(make_uow):
    fields = failed_fields(make_uow, {})
    assert set(fields) == {"kind", "title", "summary", "themes"}


def test_input_must_be_an_object(make_uow):
    for raw in (None, [], "entry", 5):
        with pytest.raises(ValidationFailed):
            load_input(EntryCreateSchema, raw)


def test_unknown_theme_is_refused_by_the_domain(make_uow, theme_slugs):
    fields = failed_fields(make_uow, entry_data(theme_slugs, themes=[theme_slugs[0], "astrologie"]))
    assert fields == {"themes": ["unknown theme: astrologie"]}


def test_too_many_themes(make_uow, theme_slugs):
    assert "themes" in failed_fields(make_uow, entry_data(theme_slugs, themes=theme_slugs[:6]))


def test_point_outside_the_state_is_refused(make_uow, theme_slugs):
    assert "location" in failed_fields(make_uow, entry_data(theme_slugs, location=BERLIN))
    # also when a region is given with it
    assert "location" in failed_fields(make_uow, entry_data(theme_slugs, location=BERLIN, region="15003"))


def test_unknown_region_is_refused(make_uow, theme_slugs):
    assert "region" in failed_fields(make_uow, entry_data(theme_slugs, region="99999"))


def test_given_region_wins_over_the_derived_one(make_uow, theme_slugs):
    # a point in Magdeburg, but the entry belongs to the neighbouring Börde district
    entry = create(make_uow, entry_data(theme_slugs, region="15083"), STAFF)
    assert entry["region"] == "15083"


def test_entry_without_a_place_has_no_region(make_uow, theme_slugs):
    data = entry_data(theme_slugs)
    del data["location"]
    entry = create(make_uow, data, STAFF)
    assert entry["region"] is None and entry["location"] is None


def test_update_schema_needs_an_integer_version():
    assert "version" in _fields_of(EntryUpdateSchema, {"title": "Neu"})
    assert "version" in _fields_of(EntryUpdateSchema, {"title": "Neu", "version": "2"})


def test_update_cannot_clear_required_fields(make_uow, theme_slugs):
    entry = create(make_uow, entry_data(theme_slugs), STAFF)
    for changes in ({"title": None}, {"themes": None}):
        with make_uow() as uow, pytest.raises(ValidationFailed):
            entries.update_entry(uow, entry["id"], load_input(EntryUpdateSchema, {"version": 1, **changes}),
                                 1, STAFF)


def test_update_keeps_dates_in_order_against_stored_ones(make_uow, theme_slugs):
    entry = create(make_uow, entry_data(theme_slugs, starts_on="2025-06-01"), STAFF)
    with make_uow() as uow, pytest.raises(ValidationFailed) as failure:
        entries.update_entry(uow, entry["id"], load_input(EntryUpdateSchema, {"version": 1, "ends_on": "2025-05-01"}),
                             1, STAFF)
    assert "ends_on" in failure.value.fields


@pytest.mark.parametrize("query, field", [
    ({"page": 0}, "page"), ({"per_page": 101}, "per_page"), ({"per_page": "many"}, "per_page"),
    ({"sort": "random"}, "sort"), ({"kind": "castle"}, "kind"), ({"q": "x"}, "q"),
    ({"region": "ABCDE"}, "region"),
])
def test_bad_queries(query, field):
    assert field in _fields_of(EntryQuerySchema, query)


def test_link_input():
    assert "target_type" in _fields_of(LinkCreateSchema, {"target_type": "person", "target_id": "x"})
    assert "type" in _fields_of(LinkCreateSchema, {"target_type": "entry", "target_id": "x", "type": "hates"})


def _fields_of(schema, raw) -> dict:
    with pytest.raises(ValidationFailed) as failure:
        load_input(schema, raw)
    return failure.value.fields
