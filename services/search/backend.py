"""The one search interface; backends: ``tantivy_backend`` (embedded) and ``es_backend``.

Documents are built from catalog events (``documents.py``) and carry the catalog's
``version``: a backend keeps, per id, only the highest version it has seen, so replayed
or reordered events change nothing. A withdrawn entry becomes a *tombstone* (``deleted``)
rather than disappearing, so an older "published" event arriving late cannot bring it
back. Searches never return tombstones; a rebuild drops them.

Plain Python, no nameko: the service and the tests drive backends directly.
"""
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from contracts.search.api import MAX_PER_PAGE, MAX_RESULT_WINDOW, SORTS
from kernel.errors import ValidationFailed
from kernel.geo import parse_bbox
from services.search import analysis, querytext

FACETS = ("theme", "region", "kind")


@dataclass
class SearchQuery:
    """A validated search request (``from_loaded`` takes what ``SearchQuerySchema`` loaded)."""
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

    @classmethod
    def from_loaded(cls, data: dict) -> "SearchQuery":
        return cls(
            q=data.get("q") or "", kind=data.get("kind", []), theme=data.get("theme", []),
            region=data.get("region", []), doc_type=data.get("type"),
            date_from=data["date_from"].isoformat() if data.get("date_from") else None,
            date_to=data["date_to"].isoformat() if data.get("date_to") else None,
            bbox=data.get("bbox"), near=data.get("near"), radius_km=data.get("radius_km"),
            sort=data["sort"], page=data["page"], per_page=data["per_page"])


@dataclass
class SearchResult:
    total: int
    items: list[dict]          # document fields + "score", "highlight" {field: html}, "distance_km"
    facets: dict[str, list]    # {"theme": [{"value", "count"}], "region": [...], "kind": [...]}
    relaxed: bool = False      # no record had every word: these have most of them

    def as_dict(self) -> dict:
        return {"total": self.total, "items": self.items, "facets": self.facets, "relaxed": self.relaxed}


def can_relax(parsed) -> bool:
    """A query of several words may be answered with the records that match most of them
    when none matches all (``relaxed``); phrases and exclusions still hold."""
    return len({word.lower() for word in parsed.words if word.lower() not in analysis.STOP_WORDS}) >= 2


class SearchBackend(Protocol):
    def upsert(self, documents: list[dict]) -> int:
        """Store documents (tombstones included), keeping the higher version per id; returns how many changed."""

    def refresh(self) -> None:
        """Make everything stored so far visible to searches."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def suggest(self, prefix: str, limit: int = 8) -> list[dict]:
        """Autocomplete: ``[{"text", "id", "doc_type", "kind"}]`` for titles (and tags) starting with the words typed."""

    def corrections(self, text: str, limit: int = 3) -> list[str]:
        """"Meinten Sie": ``text`` with each word the index does not know (none of its
        documents has it or its stem, and none a word it begins, for the word still being
        typed) replaced by the most frequent indexed word within its typo distance, as the
        texts spell it; up to ``limit`` alternatives for the first such word, best first.
        ``[]`` when every word is known or nothing close is."""

    def related(self, doc_id: str, limit: int = 6) -> list[dict]:
        """Documents similar in text, themes and region to ``doc_id`` (not itself)."""

    def get(self, doc_id: str) -> dict | None:
        """The stored document or tombstone with this id."""

    def count(self) -> int:
        """Searchable (non-tombstone) documents."""

    def matching_queries(self, document: dict, queries: list[str]) -> list[int]:
        """Percolate: the positions in ``queries`` (ascending) of the query texts that would
        find ``document`` — read as ``SearchQuery.q`` is by ``search`` (same parsing, German
        analysis, compounds, typos, phrases, exclusions), without filters, whatever the
        ranking. A text that asks for nothing (empty, only punctuation) finds every document,
        as in ``search``; a tombstone matches none. ``document`` is a search document as
        ``upsert`` takes it; it need not be (and is not) stored."""

    def start_rebuild(self) -> "Rebuild":
        """A new, empty index filled beside the serving one; ``Rebuild.finish()`` switches to it."""


class Rebuild(Protocol):
    def upsert(self, documents: list[dict]) -> int: ...

    def finish(self) -> None:
        """Switch searches to the rebuilt index (atomically) and drop the old one."""

    def abort(self) -> None: ...


# Each word of a query is several clauses (stems, compound beginnings and endings, typos in
# every text field), and a query of many words that finds nothing is run again relaxed: the
# cost grows with the words. Eight keep the dearest query within about ten times a typical one
# (`make bench`, hostile queries); a longer text is refused with a message, not run slowly.
MAX_QUERY_WORDS = 8


def counted_words(parsed) -> int:
    """Distinct words that cost a search something (a repeated one is searched once)."""
    words = {word.lower() for word in parsed.words if word.lower() not in analysis.STOP_WORDS}
    phrased = {word.lower() for phrase in parsed.phrases for word in phrase}
    return len(words) + len(phrased) + len({word.lower() for word in parsed.excluded})


def validate_query(query: SearchQuery) -> None:
    """The rules every backend applies before searching (the HTTP schema applies them too):
    a bad query is a ValidationFailed naming the field, never a backend error."""
    errors = {}
    if counted_words(querytext.parse(query.q)) > MAX_QUERY_WORDS:
        errors["q"] = [f"At most {MAX_QUERY_WORDS} words (not counting small ones such as 'und' or 'der'), "
                       "words of \"phrases\" and -exclusions included."]
    if query.sort not in SORTS:
        errors["sort"] = [f"One of {', '.join(SORTS)}."]
    elif query.sort == "distance" and query.near is None:
        errors["sort"] = ["Sorting by distance needs near=lat,lon."]
    if isinstance(query.page, bool) or not isinstance(query.page, int) or query.page < 1:
        errors["page"] = ["Must be at least 1."]
    if isinstance(query.per_page, bool) or not isinstance(query.per_page, int) \
            or not 1 <= query.per_page <= MAX_PER_PAGE:
        errors["per_page"] = [f"Must be between 1 and {MAX_PER_PAGE}."]
    elif "page" not in errors and query.page * query.per_page > MAX_RESULT_WINDOW:
        errors["page"] = [f"Only the first {MAX_RESULT_WINDOW} results can be paged through."]
    if query.bbox is not None:
        try:
            checked_bbox(query.bbox)
        except (ValidationFailed, TypeError, ValueError):
            errors["bbox"] = ["minLon,minLat,maxLon,maxLat with min <= max, inside -180..180 / -90..90."]
    if query.near is not None:
        try:
            checked_point(query.near)
        except ValidationFailed as error:
            errors.update(error.fields)
    if query.radius_km is not None:
        radius = query.radius_km
        if query.near is None:
            errors["radius_km"] = ["A radius needs near=lat,lon."]
        elif isinstance(radius, bool) or not isinstance(radius, (int, float)) \
                or not math.isfinite(radius) or not 0 < radius <= 20_000:
            errors["radius_km"] = ["Must be between 0 and 20000."]
    if query.doc_type not in (None, "entry", "article"):
        errors["doc_type"] = ["entry or article."]
    for name in ("date_from", "date_to"):
        value = getattr(query, name)
        if value is not None and not _is_iso_date(value):
            errors[name] = ["Not a valid ISO date (YYYY-MM-DD)."]
    if "date_from" not in errors and "date_to" not in errors and query.date_from and query.date_to \
            and query.date_from > query.date_to:
        errors["date_to"] = ["Must not be before date_from."]
    for facet in FACETS:
        values = getattr(query, facet)
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
            errors[facet] = ["A list of text values."]
    if errors:
        raise ValidationFailed("Invalid search query.", errors)


def _is_iso_date(value) -> bool:
    try:
        return isinstance(value, str) and len(value) == 10 and date.fromisoformat(value) is not None
    except ValueError:
        return False


def checked_bbox(bbox) -> tuple[float, float, float, float]:
    return parse_bbox(list(bbox))  # the same rule the HTTP schema applies


def checked_point(point) -> tuple[float, float]:
    try:
        lat, lon = (float(value) for value in point)
    except (TypeError, ValueError):
        raise ValidationFailed("near must be lat,lon", {"near": ["must be two numbers"]}) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed("near is outside the earth", {"near": ["must be a valid lat,lon"]})
    return lat, lon


def corrected_texts(text: str, replacements: list[tuple[tuple[int, int], list[str]]]) -> list[str]:
    """The texts ``corrections`` answers: ``replacements`` are (span of a misspelt word in
    ``text``, its spellings best first), in text order; the first word in each of its
    spellings, every other in its best."""
    if not replacements:
        return []
    (first_span, alternatives), others = replacements[0], replacements[1:]
    corrected = []
    for option in alternatives:
        out = text
        for (start, end), options in reversed([(first_span, [option])] + others):
            out = out[:start] + options[0] + out[end:]
        corrected.append(out)
    return corrected


def spelt_as_typed(typed: str, spelt: str) -> str:
    """A correction keeps the capital the user typed ("Pfelge" → "Pflege", not "pflege")."""
    return spelt[:1].upper() + spelt[1:] if typed[:1].isupper() and spelt[:1].islower() else spelt

