"""Search documents built from catalog events and from catalog pages (for rebuilds).

Every field is copied by name from a whitelist: whatever else an event or page carries
(``contact`` by mistake, staff fields, future additions) never reaches the index.
Plain Python, no nameko.
"""
from datetime import date, datetime

ENTRY_EVENTS_PUBLIC = ("entry.published", "entry.updated")
ENTRY_EVENTS_GONE = ("entry.withdrawn", "entry.rejected")
ARTICLE_EVENTS = ("article.published",)
# events the catalog publishes that change nothing searchable
IGNORED_EVENTS = ("entry.submitted", "entry.linked", "organisation.created")

# articles carry no version: they are published once and never change
ARTICLE_VERSION = 1


def document_from_event(envelope: dict) -> dict | None:
    """The document (or tombstone) an event asks for; ``None`` for events search ignores."""
    event_type, data = envelope["type"], envelope["data"]
    if event_type in ENTRY_EVENTS_PUBLIC:
        return document_from_entry(data)
    if event_type in ENTRY_EVENTS_GONE:
        return tombstone(data["id"], data["version"])
    if event_type in ARTICLE_EVENTS:
        return document_from_article(data)
    return None


def document_from_entry(entry: dict) -> dict:
    """A public entry (event data or ``published_page`` item) as a search document.

    An entry that is not published (should an event or page ever carry one) becomes a
    tombstone: only published entries are searchable.
    """
    if entry.get("status", "published") != "published":
        return tombstone(entry["id"], entry["version"])
    region = entry.get("region")
    return {
        "id": str(entry["id"]),
        "doc_type": "entry",
        "kind": entry["kind"],
        "slug": entry["slug"],
        "title": entry["title"],
        "summary": entry.get("summary"),
        "body": entry.get("description"),
        "themes": list(entry.get("themes") or []),
        "tags": list(entry.get("tags") or []),
        "regions": [region] if region else [],
        "organisations": [_organisation_name(org) for org in entry.get("organisations") or []
                          if _organisation_name(org)],
        "location": _location(entry.get("location")),
        "starts_on": _iso(entry.get("starts_on")),
        "ends_on": _iso(entry.get("ends_on")),
        "published_at": _iso(entry.get("published_at")),
        "version": int(entry["version"]),
        "deleted": False,
    }


def document_from_article(article: dict) -> dict:
    """A published article or news item as a search document (``kind`` = its type)."""
    return {
        "id": str(article["id"]),
        "doc_type": "article",
        "kind": article["type"],
        "slug": article["slug"],
        "title": article["title"],
        "summary": article.get("summary"),
        "body": article.get("body"),
        "themes": list(article.get("themes") or []),
        "tags": [],
        "regions": list(article.get("regions") or []),
        "organisations": [],
        "location": None,
        "starts_on": None,
        "ends_on": None,
        "published_at": _iso(article.get("published_at")),
        "version": ARTICLE_VERSION,
        "deleted": False,
    }


def tombstone(doc_id, version) -> dict:
    """Marks ``doc_id`` as gone at ``version``: older documents arriving later stay out."""
    return {"id": str(doc_id), "version": int(version), "deleted": True}


def _organisation_name(organisation) -> str | None:
    if isinstance(organisation, dict):
        return organisation.get("name")
    return None  # a bare id names nothing a reader would search for


def _location(location) -> dict | None:
    if not location or location.get("lat") is None or location.get("lon") is None:
        return None
    return {"lat": float(location["lat"]), "lon": float(location["lon"])}


def _iso(value) -> str | None:
    """Dates and datetimes as ISO strings (events loaded by their contract carry objects)."""
    if value is None or value == "":
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)
