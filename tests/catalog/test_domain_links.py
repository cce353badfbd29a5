"""Links between entries and organisations, and what related_entries shows."""
import pytest

from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.catalog import entries, links, organisations
from contracts.catalog.api import (EntryCreateSchema, LinkCreateSchema, OrganisationCreateSchema)
from kernel.schemas import load_input
from tests.catalog.conftest import STAFF, entry_data, outbox_events


def create(make_uow, theme_slugs, title, actor=STAFF, **overrides):
    raw = entry_data(theme_slugs, title=title, **overrides)
    with make_uow() as uow:
        return entries.create_entry(uow, load_input(EntryCreateSchema, raw), actor)


def link(make_uow, source_id, raw, actor=STAFF):
    with make_uow() as uow:
        return links.add_link(uow, source_id, load_input(LinkCreateSchema, raw), actor)


def related(make_uow, entry_id, actor=None):
    with make_uow() as uow:
        return links.related_entries(uow, entry_id, actor)


def test_related_entries_in_both_directions_published_only(make_uow, theme_slugs, catalog_engine):
    shop = create(make_uow, theme_slugs, "Dorfladen")
    cafe = create(make_uow, theme_slugs, "Dorfcafé")
    hidden = create(make_uow, theme_slugs, "Noch geheim", actor=None)  # submitted
    made = link(make_uow, shop["id"], {"target_type": "entry", "target_id": cafe["id"], "type": "partner",
                                       "note": "gleiche Räume"})
    link(make_uow, hidden["id"], {"target_type": "entry", "target_id": shop["id"]})
    link(make_uow, shop["id"], {"target_type": "entry", "target_id": hidden["id"]})

    from_shop = related(make_uow, shop["id"])
    assert [(r["entry"]["id"], r["direction"], r["link_type"]) for r in from_shop["entries"]] == [
        (cafe["id"], "outgoing", "partner")]
    assert from_shop["entries"][0]["note"] == "gleiche Räume"
    assert "contact" not in from_shop["entries"][0]["entry"]
    from_cafe = related(make_uow, cafe["id"])
    assert [(r["entry"]["id"], r["direction"]) for r in from_cafe["entries"]] == [(shop["id"], "incoming")]

    event = outbox_events(catalog_engine, "entry.linked")[0]
    assert event["data"]["id"] == made["id"] and event["data"]["target_id"] == cafe["id"]


def test_unpublished_entry_has_no_public_relations(make_uow, theme_slugs):
    hidden = create(make_uow, theme_slugs, "Noch geheim", actor=None)
    with pytest.raises(NotFound):
        related(make_uow, hidden["id"])
    assert related(make_uow, hidden["id"], STAFF) == {"entries": [], "organisations": []}


def test_link_to_organisation(make_uow, theme_slugs):
    shop = create(make_uow, theme_slugs, "Dorfladen")
    with make_uow() as uow:
        org = organisations.create_organisation(
            uow, load_input(OrganisationCreateSchema, {"name": "Landfrauen e.V.", "kind": "association"}), STAFF)
    link(make_uow, shop["id"], {"target_type": "organisation", "target_id": org["id"], "type": "funded_by"})
    found = related(make_uow, shop["id"])
    assert found["organisations"][0]["organisation"]["name"] == "Landfrauen e.V."
    assert found["organisations"][0]["link_type"] == "funded_by"


def test_link_rules(make_uow, theme_slugs):
    shop = create(make_uow, theme_slugs, "Dorfladen")
    cafe = create(make_uow, theme_slugs, "Dorfcafé")
    with pytest.raises(ValidationFailed) as failure:
        link(make_uow, shop["id"], {"target_type": "entry", "target_id": shop["id"]})
    assert "target_id" in failure.value.fields
    with pytest.raises(ValidationFailed):
        link(make_uow, shop["id"], {"target_type": "entry", "target_id": "00000000-0000-0000-0000-000000000000"})
    with pytest.raises(ValidationFailed):  # an entry id is not an organisation
        link(make_uow, shop["id"], {"target_type": "organisation", "target_id": cafe["id"]})
    with pytest.raises(NotFound):
        link(make_uow, "00000000-0000-0000-0000-000000000000", {"target_type": "entry", "target_id": cafe["id"]})
    with pytest.raises(Forbidden):
        link(make_uow, shop["id"], {"target_type": "entry", "target_id": cafe["id"]}, actor=None)
    link(make_uow, shop["id"], {"target_type": "entry", "target_id": cafe["id"]})
    with pytest.raises(Conflict):
        link(make_uow, shop["id"], {"target_type": "entry", "target_id": cafe["id"]})
    # the same pair with another type is another link
    link(make_uow, shop["id"], {"target_type": "entry", "target_id": cafe["id"], "type": "inspired_by"})
    assert len(related(make_uow, shop["id"])["entries"]) == 2
