"""The one search interface; backends: ``tantivy_backend`` (embedded) and ``es_backend``.

Documents are built from catalog events (``documents.py``) and carry the catalog's
``version``: a backend keeps, per id, only the highest version it has seen, so replayed
or reordered events change nothing. A withdrawn entry becomes a *tombstone* (``deleted``)
rather than disappearing, so an older "published" event arriving late cannot bring it
back. Searches never return tombstones; a rebuild drops them.

Plain Python, no nameko: the service and the tests drive backends directly.
"""
from dataclasses import dataclass, field
from typing import Protocol

SORTS = ("relevance", "newest", "distance")
FACETS = ("theme", "region", "kind")


@dataclass
class SearchQuery:
    """A validated search request (``schemas.SearchQuerySchema`` builds it)."""
    q: str = ""                                          # user text; may be empty when filters are given
    kind: list[str] = field(default_factory=list)       # entry kinds and "article"/"news"
    theme: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)     # AGS keys
    doc_type: str | None = None                         # "entry" | "article" | None for both
    date_from: str | None = None                         # ISO dates, on starts_on/ends_on/published_at
    date_to: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # minLon, minLat, maxLon, maxLat
    near: tuple[float, float] | None = None              # lat, lon
    radius_km: float | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass
class SearchResult:
    total: int
    items: list[dict]          # document fields + "score", "highlight" {field: html}, "distance_km"
    facets: dict[str, list]    # {"theme": [{"value", "count"}], "region": [...], "kind": [...]}

    def as_dict(self) -> dict:
        return {"total": self.total, "items": self.items, "facets": self.facets}


class SearchBackend(Protocol):
    def upsert(self, documents: list[dict]) -> int:
        """Store documents (tombstones included), keeping the higher version per id; returns how many changed."""

    def refresh(self) -> None:
        """Make everything stored so far visible to searches."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def suggest(self, prefix: str, limit: int = 8) -> list[dict]:
        """Autocomplete: ``[{"text", "id", "doc_type", "kind"}]`` for titles (and tags) starting with the words typed."""

    def related(self, doc_id: str, limit: int = 6) -> list[dict]:
        """Documents similar in text, themes and region to ``doc_id`` (not itself)."""

    def get(self, doc_id: str) -> dict | None:
        """The stored document or tombstone with this id."""

    def count(self) -> int:
        """Searchable (non-tombstone) documents."""

    def start_rebuild(self) -> "Rebuild":
        """A new, empty index filled beside the serving one; ``Rebuild.finish()`` switches to it."""


class Rebuild(Protocol):
    def upsert(self, documents: list[dict]) -> int: ...

    def finish(self) -> None:
        """Switch searches to the rebuilt index (atomically) and drop the old one."""

    def abort(self) -> None: ...
