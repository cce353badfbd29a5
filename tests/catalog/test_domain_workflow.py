"""Moderation workflow, optimistic versions, history, events in the outbox, erasure."""
import pytest
import sqlalchemy as sa

from kernel.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.catalog import entries
from services.catalog.models import entries as entries_table, handled_calls
from contracts.catalog.api import EntryCreateSchema, EntryUpdateSchema, ReviewSchema
from kernel.schemas import load_input
from tests.catalog.conftest import ADMIN, CITIZEN, STAFF, entry_data, outbox_events


def create(make_uow, raw, actor=None):
    """As the service does: validate with the schema, then the domain."""
    with make_uow() as uow:
        return entries.create_entry(uow, load_input(EntryCreateSchema, raw), actor)


def review(make_uow, entry_id, decision, actor=STAFF):
    """A review based on the entry's current version, unless ``decision`` names one."""
    decision = {"version": staff_get(make_uow, entry_id)["version"], **decision}
    with make_uow() as uow:
        return entries.review_entry(uow, entry_id, load_input(ReviewSchema, decision), actor)


def update(make_uow, entry_id, raw, actor=STAFF):
    changes = load_input(EntryUpdateSchema, raw)
    with make_uow() as uow:
        return entries.update_entry(uow, entry_id, changes, changes["version"], actor)


def public_get(make_uow, entry_id):
    with make_uow() as uow:
        return entries.get_entry(uow, entry_id, None)


def staff_get(make_uow, entry_id):
    with make_uow() as uow:
        return entries.get_entry(uow, entry_id, STAFF)


def public_list(make_uow, **query):
    with make_uow() as uow:
        return entries.list_entries(uow, {"page": 1, "per_page": 20, **query}, None)


def test_anonymous_submission_is_invisible_until_published(make_uow, theme_slugs, catalog_engine):
    created = create(make_uow, entry_data(theme_slugs))
    assert created["status"] == "submitted" and created["version"] == 1
    assert "contact" not in created
    with pytest.raises(NotFound):
        public_get(make_uow, created["id"])
    assert public_list(make_uow)["total"] == 0
    assert staff_get(make_uow, created["id"])["contact"]["email"] == "erika@example.org"

    published = review(make_uow, created["id"], {"action": "publish"})
    assert published["status"] == "published" and published["version"] == 2
    public = public_get(make_uow, created["id"])
    assert public["status"] == "published" and "contact" not in public
    assert public["region"] == "15003"  # derived from the point in Magdeburg
    listed = public_list(make_uow)
    assert listed["total"] == 1 and listed["items"][0]["id"] == created["id"]
    assert "contact" not in listed["items"][0]


def test_events_are_stored_in_the_outbox_without_personal_data(make_uow, theme_slugs, catalog_engine):
    created = create(make_uow, entry_data(theme_slugs))
    review(make_uow, created["id"], {"action": "publish"})
    submitted, = outbox_events(catalog_engine, "entry.submitted")
    published, = outbox_events(catalog_engine, "entry.published")
    assert submitted["producer"] == "catalog"
    data = published["data"]
    assert data["id"] == created["id"] and data["version"] == 2 and data["status"] == "published"
    assert data["themes"] == theme_slugs[:1] and data["region"] == "15003"
    assert data["location"] == {"lat": 52.1205, "lon": 11.6276}
    for envelope in (submitted, published):
        assert "contact" not in envelope["data"]
        assert "erika" not in str(envelope).lower()


def test_a_failed_change_stores_neither_data_nor_events(make_uow, theme_slugs, catalog_engine):
    with pytest.raises(ValidationFailed):
        create(make_uow, entry_data(theme_slugs, organisations=["00000000-0000-0000-0000-000000000000"]), STAFF)
    with catalog_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(entries_table)).scalar_one() == 0
    assert outbox_events(catalog_engine) == []


def test_staff_create_publishes_unless_told_not_to(make_uow, theme_slugs, catalog_engine):
    direct = create(make_uow, entry_data(theme_slugs), STAFF)
    assert direct["status"] == "published" and direct["published_at"]
    assert direct["contact"]["name"] == "Erika Muster"  # staff view
    held = create(make_uow, entry_data(theme_slugs, publish=False), STAFF)
    assert held["status"] == "submitted"
    assert [event["data"]["id"] for event in outbox_events(catalog_engine, "entry.published")] == [direct["id"]]


def test_only_staff_may_publish_directly(make_uow, theme_slugs):
    with pytest.raises(ValidationFailed) as failure:
        create(make_uow, entry_data(theme_slugs, publish=True), CITIZEN)
    assert "publish" in failure.value.fields


def test_stale_edit_is_a_conflict(make_uow, theme_slugs, catalog_engine):
    entry = create(make_uow, entry_data(theme_slugs), STAFF)
    changed = update(make_uow, entry["id"], {"version": 1, "title": "Dorfladen eG"})
    assert changed["version"] == 2 and changed["title"] == "Dorfladen eG"
    with pytest.raises(Conflict):
        update(make_uow, entry["id"], {"version": 1, "summary": "overwrites the other edit"})
    assert staff_get(make_uow, entry["id"])["summary"] == "Ein Laden im Dorf"
    updated, = outbox_events(catalog_engine, "entry.updated")
    assert updated["data"]["title"] == "Dorfladen eG" and updated["data"]["version"] == 2


def test_update_needs_staff(make_uow, theme_slugs):
    entry = create(make_uow, entry_data(theme_slugs))
    for actor in (None, CITIZEN):
        with pytest.raises(Forbidden):
            update(make_uow, entry["id"], {"version": 1, "title": "Mine now"}, actor=actor)


def test_moving_the_point_derives_the_region_again(make_uow, theme_slugs):
    entry = create(make_uow, entry_data(theme_slugs), STAFF)
    moved = update(make_uow, entry["id"], {"version": 1, "location": {"lat": 51.4825, "lon": 11.9697}})
    assert moved["region"] == "15002" and moved["location"] == {"lat": 51.4825, "lon": 11.9697}


def test_history_has_every_version(make_uow, theme_slugs):
    entry = create(make_uow, entry_data(theme_slugs))
    review(make_uow, entry["id"], {"action": "publish"})
    update(make_uow, entry["id"], {"version": 2, "summary": "Neu"})
    review(make_uow, entry["id"], {"action": "archive"})
    with make_uow() as uow:
        history = entries.entry_history(uow, entry["id"], STAFF)
    assert [v["version"] for v in history] == [1, 2, 3, 4]
    assert [v["action"] for v in history] == ["create", "publish", "update", "archive"]
    assert [v["status"] for v in history] == ["submitted", "published", "published", "archived"]
    assert history[0]["actor"] is None and history[1]["actor"] == "editor-1"
    assert history[1]["snapshot"]["summary"] == "Ein Laden im Dorf"
    assert history[2]["snapshot"]["summary"] == "Neu" and history[2]["snapshot"]["version"] == 3
    with make_uow() as uow, pytest.raises(Forbidden):
        entries.entry_history(uow, entry["id"], None)


def test_reject_needs_a_reason(make_uow, theme_slugs, catalog_engine):
    entry = create(make_uow, entry_data(theme_slugs))
    with pytest.raises(ValidationFailed) as failure:
        review(make_uow, entry["id"], {"action": "reject"})
    assert "reason" in failure.value.fields
    with make_uow() as uow, pytest.raises(ValidationFailed):  # the domain insists too
        entries.review_entry(uow, entry["id"], {"action": "reject", "reason": ""}, STAFF)
    rejected = review(make_uow, entry["id"], {"action": "reject", "reason": "kein Bezug zu Sachsen-Anhalt"})
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "kein Bezug zu Sachsen-Anhalt"
    event, = outbox_events(catalog_engine, "entry.rejected")
    assert event["data"]["rejection_reason"] == "kein Bezug zu Sachsen-Anhalt"
    assert outbox_events(catalog_engine, "entry.withdrawn") == []  # it never was public


@pytest.mark.parametrize("action, start", [
    ("archive", "submitted"), ("publish", "published"), ("archive", "archived"),
    ("withdraw", "withdrawn"), ("reject", "rejected"), ("withdraw", "rejected"),
])
def test_invalid_transitions_are_refused(make_uow, theme_slugs, action, start):
    entry = create(make_uow, entry_data(theme_slugs))
    path = {"submitted": [], "published": ["publish"], "archived": ["publish", "archive"],
            "withdrawn": ["withdraw"], "rejected": ["reject"]}[start]
    for step in path:
        review(make_uow, entry["id"], {"action": step, "reason": "weil"})
    assert staff_get(make_uow, entry["id"])["status"] == start
    with pytest.raises(InvalidTransition):
        review(make_uow, entry["id"], {"action": action, "reason": "weil"})
    assert staff_get(make_uow, entry["id"])["status"] == start


@pytest.mark.parametrize("start", ["rejected", "archived", "withdrawn"])
def test_publishing_again_from_rejected_archived_or_withdrawn_clears_the_rejection_reason(
        make_uow, theme_slugs, catalog_engine, start):
    entry = create(make_uow, entry_data(theme_slugs))
    path = {"rejected": ["reject"], "archived": ["publish", "archive"], "withdrawn": ["withdraw"]}[start]
    for step in path:
        review(make_uow, entry["id"], {"action": step, "reason": "nicht vollständig"})
    assert staff_get(make_uow, entry["id"])["status"] == start
    published = review(make_uow, entry["id"], {"action": "publish"})
    assert (published["status"], published["rejection_reason"]) == ("published", None)
    assert published["version"] == len(path) + 2
    assert public_get(make_uow, entry["id"])["version"] == published["version"]
    assert outbox_events(catalog_engine, "entry.published")[-1]["data"]["version"] == published["version"]


def test_an_archived_entry_can_be_withdrawn(make_uow, theme_slugs, catalog_engine):
    entry = create(make_uow, entry_data(theme_slugs), STAFF)
    review(make_uow, entry["id"], {"action": "archive"})
    withdrawn = review(make_uow, entry["id"], {"action": "withdraw", "reason": "Träger aufgelöst"})
    assert (withdrawn["status"], withdrawn["version"]) == ("withdrawn", 3)
    # it left public view when archived; withdrawing it later announces nothing new
    assert [event["data"]["status"] for event in outbox_events(catalog_engine, "entry.withdrawn")] == ["archived"]


def test_a_stale_review_is_a_conflict_and_changes_nothing(make_uow, theme_slugs, catalog_engine):
    entry = create(make_uow, entry_data(theme_slugs))
    # two editors open the same submission at version 1; the first publishes it
    review(make_uow, entry["id"], {"action": "publish", "version": 1})
    with pytest.raises(Conflict) as conflict:
        review(make_uow, entry["id"], {"action": "reject", "reason": "Dublette", "version": 1})
    assert conflict.value.fields == {"version": ["current version is 2"]}
    assert staff_get(make_uow, entry["id"])["status"] == "published"
    assert outbox_events(catalog_engine, "entry.rejected") == []


def test_a_review_needs_the_version_it_is_based_on(make_uow, theme_slugs):
    entry = create(make_uow, entry_data(theme_slugs))
    with pytest.raises(ValidationFailed) as failure:
        load_input(ReviewSchema, {"action": "publish"})
    assert failure.value.fields == {"version": ["Missing data for required field."]}
    assert staff_get(make_uow, entry["id"])["status"] == "submitted"


@pytest.mark.parametrize("action", ["archive", "withdraw", "reject"])
def test_leaving_public_view_emits_withdrawn(make_uow, theme_slugs, catalog_engine, action):
    entry = create(make_uow, entry_data(theme_slugs), STAFF)
    review(make_uow, entry["id"], {"action": action, "reason": "veraltet"})
    event, = outbox_events(catalog_engine, "entry.withdrawn")
    assert event["data"]["id"] == entry["id"] and event["data"]["status"] != "published"
    with pytest.raises(NotFound):
        public_get(make_uow, entry["id"])


def test_withdraw_entry(make_uow, theme_slugs, catalog_engine):
    entry = create(make_uow, entry_data(theme_slugs), STAFF)
    with make_uow() as uow, pytest.raises(Forbidden):
        entries.withdraw_entry(uow, entry["id"], CITIZEN)
    with make_uow() as uow:
        withdrawn = entries.withdraw_entry(uow, entry["id"], STAFF, reason="Projekt beendet")
    assert withdrawn["status"] == "withdrawn"
    assert outbox_events(catalog_engine, "entry.withdrawn")[0]["data"]["reason"] == "Projekt beendet"


def test_unknown_entry_is_not_found(make_uow):
    for entry_id in ("00000000-0000-0000-0000-000000000000", "no-such-slug", 42, None, "x" * 5000):
        with pytest.raises(NotFound):
            public_get(make_uow, entry_id)
        with make_uow() as uow, pytest.raises(NotFound):
            entries.review_entry(uow, entry_id, {"action": "publish"}, STAFF)


def test_entry_is_found_by_slug(make_uow, theme_slugs):
    first = create(make_uow, entry_data(theme_slugs), STAFF)
    second = create(make_uow, entry_data(theme_slugs), STAFF)
    assert first["slug"] == "dorfladen-genossenschaft" and second["slug"] == "dorfladen-genossenschaft-2"
    assert public_get(make_uow, second["slug"])["id"] == second["id"]


def test_erase_personal_data_from_entry_and_history(make_uow, theme_slugs, catalog_engine):
    entry = create(make_uow, entry_data(theme_slugs))
    review(make_uow, entry["id"], {"action": "publish"})
    update(make_uow, entry["id"], {"version": 2, "contact": {"email": "neu@example.org"}})
    with make_uow() as uow, pytest.raises(Forbidden):
        entries.erase_personal_data(uow, entry["id"], STAFF)  # editors may not, admins may
    with make_uow() as uow:
        erased = entries.erase_personal_data(uow, entry["id"], ADMIN)
    assert erased["contact"] is None and erased["version"] == 4
    with make_uow() as uow:
        history = entries.entry_history(uow, entry["id"], STAFF)
    assert [v["action"] for v in history][-1] == "erase_personal_data"
    assert all(v["snapshot"]["contact"] is None for v in history)
    with catalog_engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT CAST(snapshot AS TEXT) FROM entry_versions")).scalars().all()
        stored += conn.execute(sa.text("SELECT CAST(contact AS TEXT) FROM entries")).scalars().all()
    assert not any("example.org" in (text or "") or "Erika" in (text or "") for text in stored)


def test_erasure_of_a_private_address_and_free_text_reaches_history_events_and_kept_answers(
        make_uow, theme_slugs, catalog_engine):
    entry = create(make_uow, entry_data(theme_slugs, description="Ich, Erika Muster, wohne im Haus daneben.",
                                        address={"street": "Lindenweg 7", "postal_code": "39104",
                                                 "locality": "Magdeburg"},
                                        location={"lat": 52.123456, "lon": 11.634567}))
    review(make_uow, entry["id"], {"action": "publish"})
    with catalog_engine.begin() as conn:   # the kept answer of a staff write that showed the entry
        conn.execute(sa.insert(handled_calls).values(call_key="call-1", result=staff_get(make_uow, entry["id"])))
    with make_uow() as uow, pytest.raises(ValidationFailed):
        entries.erase_personal_data(uow, entry["id"], ADMIN, ("contact", "title"))
    with make_uow() as uow:
        erased = entries.erase_personal_data(uow, entry["id"], ADMIN, ("address", "description"))
    assert erased["address"] == {"street": None, "postal_code": "39104", "locality": "Magdeburg"}
    assert erased["location"] == {"lat": 52.12, "lon": 11.63}   # the village, not the house
    assert erased["description"] is None
    assert erased["contact"]["email"] == "erika@example.org"   # not asked for: kept
    assert public_get(make_uow, entry["id"])["location"] == {"lat": 52.12, "lon": 11.63}
    updated = outbox_events(catalog_engine, "entry.updated")[-1]["data"]
    assert updated["address"]["street"] is None and updated["location"] == {"lat": 52.12, "lon": 11.63}
    with catalog_engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT CAST(snapshot AS TEXT) FROM entry_versions")).scalars().all()
        stored += conn.execute(sa.text("SELECT CAST(result AS TEXT) FROM handled_calls")).scalars().all()
    assert not any(("Lindenweg" in (text or "")) or ("wohne im Haus" in (text or "")) or ("52.123456" in (text or ""))
                   for text in stored)
    assert len(stored) >= 3
