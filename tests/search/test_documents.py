"""Search documents from catalog events and pages: the shape, tombstones, and never contact data."""
import json

import pytest

import contracts.catalog.events  # noqa: F401  (registers the event contracts)
from kernel.events import make_event, read_event
from services.search.documents import document_from_article, document_from_entry, document_from_event
from services.search.related import merge_related

ENTRY_ID = "6f1c2a4e-0b7d-4c55-9a3e-1d2b3c4d5e6f"
DOCUMENT_FIELDS = {"id", "doc_type", "kind", "slug", "title", "summary", "body", "themes", "tags", "regions",
                   "organisations", "location", "starts_on", "ends_on", "published_at", "version", "deleted"}


def public_entry(**overrides) -> dict:
    entry = {
        "id": ENTRY_ID, "slug": "dorfladen-wippra", "kind": "project", "status": "published",
        "title": "Dorfladen Wippra", "summary": "Ein Laden in Bürgerhand.",
        "description": "Die Genossenschaft betreibt den Laden seit 2019.",
        "themes": ["nahversorgung", "sozialer-zusammenhalt"], "tags": ["Genossenschaft"],
        "address": {"street": "Dorfstraße 1", "postal_code": "06543", "locality": "Wippra"},
        "location": {"lat": 51.57, "lon": 11.27}, "region": "15087",
        "links": [{"label": "Website", "url": "https://example.org"}],
        "starts_on": "2019-05-01", "ends_on": None,
        "organisations": [{"id": "o-1", "slug": "dorfladen-eg", "name": "Dorfladen eG"}],
        "funding": None, "image_url": None, "licence": None, "language": "de", "demo": False,
        "version": 3, "created_at": "2024-01-02T10:00:00+00:00", "updated_at": "2024-02-03T10:00:00+00:00",
        "published_at": "2024-01-05T09:30:00+00:00",
    }
    entry.update(overrides)
    return entry


def article(**overrides) -> dict:
    data = {"id": "a-1", "slug": "was-ist-soziale-innovation", "type": "news", "title": "Soziale Innovation",
            "summary": "Kurz erklärt", "body": "Soziale Innovationen sind neue Praktiken.",
            "themes": ["wissen"], "regions": ["15003", "15002"], "author": "Redaktion",
            "published_at": "2024-03-01T08:00:00+00:00", "demo": False,
            "created_at": "2024-03-01T08:00:00+00:00", "updated_at": "2024-03-01T08:00:00+00:00"}
    data.update(overrides)
    return data


def test_published_event_becomes_a_document_of_the_public_entry():
    document = document_from_event(read_event(make_event("catalog", "entry.published", public_entry())))
    assert set(document) == DOCUMENT_FIELDS
    assert document == {
        "id": ENTRY_ID, "doc_type": "entry", "kind": "project", "slug": "dorfladen-wippra",
        "title": "Dorfladen Wippra", "summary": "Ein Laden in Bürgerhand.",
        "body": "Die Genossenschaft betreibt den Laden seit 2019.",
        "themes": ["nahversorgung", "sozialer-zusammenhalt"], "tags": ["Genossenschaft"],
        "regions": ["15087"], "organisations": ["Dorfladen eG"], "location": {"lat": 51.57, "lon": 11.27},
        "starts_on": "2019-05-01", "ends_on": None, "published_at": "2024-01-05T09:30:00+00:00",
        "version": 3, "deleted": False,
    }
    json.dumps(document)  # JSON-ready: the loaded event carried date objects


def test_updated_event_gives_the_new_version():
    event = make_event("catalog", "entry.updated", public_entry(title="Dorfladen Wippra eG", version=4,
                                                                region=None, location=None))
    document = document_from_event(read_event(event))
    assert (document["title"], document["version"], document["regions"], document["location"]) == \
        ("Dorfladen Wippra eG", 4, [], None)


@pytest.mark.parametrize("event_type, extra", [("entry.withdrawn", {"reason": "veraltet"}),
                                                ("entry.rejected", {"rejection_reason": "kein Bezug"})])
def test_withdrawn_and_rejected_entries_become_tombstones_at_the_event_version(event_type, extra):
    event = make_event("catalog", event_type, {**public_entry(status="withdrawn", version=7), **extra})
    assert document_from_event(read_event(event)) == {"id": ENTRY_ID, "version": 7, "deleted": True}


def test_an_entry_that_is_not_published_never_becomes_searchable():
    assert document_from_entry(public_entry(status="archived", version=5)) == \
        {"id": ENTRY_ID, "version": 5, "deleted": True}


def test_article_event_becomes_an_article_document_of_its_type():
    document = document_from_event(read_event(make_event("catalog", "article.published", article())))
    assert set(document) == DOCUMENT_FIELDS
    assert (document["doc_type"], document["kind"], document["version"], document["regions"],
            document["body"], document["organisations"], document["location"]) == \
        ("article", "news", 1, ["15003", "15002"], "Soziale Innovationen sind neue Praktiken.", [], None)
    assert document_from_article(article(type="article"))["kind"] == "article"


@pytest.mark.parametrize("event_type, data", [
    ("entry.submitted", public_entry(status="submitted")),
    ("entry.linked", {"id": "l-1", "source_entry_id": ENTRY_ID, "target_type": "entry", "target_id": "e-2",
                      "type": "related", "note": None, "created_at": "2024-01-01T00:00:00+00:00"}),
    ("organisation.created", {"id": "o-1", "slug": "eg", "name": "EG", "kind": "cooperative",
                              "description": None, "website": None, "region": None, "location": None,
                              "demo": False, "created_at": "2024-01-01T00:00:00+00:00",
                              "updated_at": "2024-01-01T00:00:00+00:00"}),
])
def test_events_that_change_nothing_searchable_are_ignored(event_type, data):
    assert document_from_event(read_event(make_event("catalog", event_type, data))) is None


CONTACT = {"name": "Erika Mustermann", "email": "erika.mustermann@example.org", "phone": "0391 555 123"}


@pytest.mark.parametrize("event_type", ["entry.published", "entry.updated"])
def test_contact_carried_by_mistake_reaches_no_document(event_type):
    # the producer's contract has no contact: it never makes it into an event ...
    assert "contact" not in make_event("catalog", event_type, {**public_entry(), "contact": CONTACT})["data"]
    # ... a consumer reading tolerantly drops a field its contract does not know ...
    leaky = make_event("catalog", event_type, public_entry())
    leaky["data"]["contact"] = CONTACT
    assert "contact" not in read_event(leaky)["data"]
    # ... and the document copies fields by name only
    for document in (document_from_event(leaky), document_from_entry({**public_entry(), "contact": CONTACT})):
        text = json.dumps(document, ensure_ascii=False)
        assert "contact" not in document
        for value in CONTACT.values():
            assert value not in text


def test_rebuild_pages_give_the_same_documents_as_events():
    from_event = document_from_event(read_event(make_event("catalog", "entry.published", public_entry())))
    assert document_from_entry(public_entry()) == from_event


def test_related_lists_linked_entries_first_then_similar_ones_without_duplicates():
    linked = {"entries": [{"link_type": "partner", "direction": "outgoing", "note": None,
                           "entry": {"id": "e-2", "title": "Zwei"}}],
              "organisations": [{"link_type": "run_by", "note": None, "organisation": {"id": "o-1"}}]}
    similar = [{"id": "e-2", "doc_type": "entry", "title": "Zwei", "score": 3.0},
               {"id": "a-1", "doc_type": "article", "title": "Artikel", "score": 2.5},
               {"id": "e-3", "doc_type": "entry", "title": "Drei", "score": 2.0, "highlight": {}},
               {"id": "e-4", "doc_type": "entry", "title": "Vier", "score": 1.0}]
    merged = merge_related(linked, similar, limit=1)
    assert [(item["relation"], item["entry"]["id"]) for item in merged["entries"]] == \
        [("linked", "e-2"), ("similar", "e-3")]
    assert merged["entries"][1] == {"relation": "similar", "link_type": None, "direction": None, "note": None,
                                    "score": 2.0, "entry": {"id": "e-3", "doc_type": "entry", "title": "Drei"}}
    assert merged["organisations"] == linked["organisations"]
