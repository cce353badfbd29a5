"""The search service's RPC and HTTP contract: queries (strict) and answers (for OpenAPI).

The gateway checks HTTP query strings with ``SearchQuerySchema``/``SuggestQuerySchema``
and passes the raw values on; the search service loads them with the same schemas, so a
query is validated identically over HTTP and RPC. Query-string values are strings; a list
filter may be given comma-separated (``kind=project,idea``) or repeated
(``kind=project&kind=idea``).
"""
import math

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from contracts.catalog.values import ARTICLE_TYPES, ENTRY_KINDS
from kernel.errors import ValidationFailed
from kernel.geo import parse_bbox
from kernel.schemas import InputSchema, described

KINDS = ENTRY_KINDS + ARTICLE_TYPES
DOC_TYPES = ("entry", "article")
SORTS = ("relevance", "newest", "distance")
MAX_QUERY_CHARS = 10_000
MAX_LIST_VALUES = 50
MAX_RADIUS_KM = 500
MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000  # page * per_page: deeper pages are not served (narrow the search)
MAX_PERCOLATE_QUERIES = 500  # saved query texts per percolate call
PERCOLATE_EVENTS = ("entry.published", "article.published")


class CommaList(fields.String):  # a String for the OpenAPI document
    """A list from ``"a,b"``, ``["a", "b"]`` or ``["a,b", "c"]``; blanks dropped, duplicates removed."""

    def __init__(self, item_validator=None, **kwargs):
        super().__init__(**kwargs)
        self.item_validator = item_validator

    def _deserialize(self, value, attr, data, **kwargs):
        raw = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(part, str) for part in raw):
            raise ValidationError("must be text or a list of text")
        values = []
        for part in raw:
            for item in part.split(","):
                item = item.strip()
                if item and item not in values:
                    values.append(item)
        if len(values) > MAX_LIST_VALUES:
            raise ValidationError(f"at most {MAX_LIST_VALUES} values")
        if self.item_validator:
            for item in values:
                self.item_validator(item)
        return values


class BBox(fields.String):
    """``minLon,minLat,maxLon,maxLat`` checked by ``kernel.geo.parse_bbox``."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_bbox(value)
        except ValidationFailed as error:
            raise ValidationError(error.fields.get("bbox") or [error.detail]) from None


class Point(fields.String):
    """``lat,lon`` (or a list of two numbers): latitude first, as people say it."""

    def _deserialize(self, value, attr, data, **kwargs):
        parts = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
        if not isinstance(parts, (list, tuple)) or len(parts) != 2:
            raise ValidationError("must be lat,lon")
        try:
            lat, lon = (float(part) for part in parts)
        except (TypeError, ValueError):
            raise ValidationError("must be two numbers: lat,lon") from None
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValidationError("numbers must be finite")
        if not -90 <= lat <= 90:
            raise ValidationError("latitude must lie between -90 and 90")
        if not -180 <= lon <= 180:
            raise ValidationError("longitude must lie between -180 and 180")
        return lat, lon


def _one_of(choices, what):
    def check(value):
        if value not in choices:
            raise ValidationError(f"unknown {what} {value[:40]!r}; one of: {', '.join(choices)}")
    return check


def _ags(value):
    if not (len(value) == 5 and value.isascii() and value.isdigit()):
        raise ValidationError(f"{value[:40]!r} is not a 5-digit official regional key (AGS)")


def _theme_slug(value):
    if len(value) > 60:
        raise ValidationError("theme slugs have at most 60 characters")


def query_text(**kwargs) -> fields.String:
    """What a search's ``q`` may be; also each saved query text of ``percolate``."""
    return fields.String(validate=validate.Length(max=MAX_QUERY_CHARS), **kwargs)


class SearchQuerySchema(InputSchema):
    """Query of ``GET /search`` and the ``search`` RPC."""

    q = query_text(load_default="", **described("words to find (German); \"quoted phrases\"; may be empty when "
                                                "filters are given"))
    kind = CommaList(_one_of(KINDS, "kind"),
                     **described(f"comma-separated or repeated: {', '.join(KINDS)}"))
    theme = CommaList(_theme_slug, **described("theme slugs, comma-separated or repeated"))
    region = CommaList(_ags, **described("AGS keys of districts, comma-separated or repeated"))
    type = fields.String(validate=validate.OneOf(DOC_TYPES), **described("entry or article (both when absent)"))
    date_from = fields.Date(**described("earliest date (event dates, else publication)"))
    date_to = fields.Date(**described("latest date"))
    bbox = BBox(**described("minLon,minLat,maxLon,maxLat (WGS84)", metadata={"example": "11.0,51.0,12.5,52.5"}))
    near = Point(**described("lat,lon: distances are measured from here",
                             metadata={"example": "52.12,11.63"}))
    radius_km = fields.Float(allow_nan=False,
                             validate=validate.Range(min=0, max=MAX_RADIUS_KM, min_inclusive=False),
                             metadata={"description": f"only within this distance of near (0 < r <= {MAX_RADIUS_KM})",
                                       "exclusiveMinimum": 0})  # apispec renders only "minimum"
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS),
                         **described("relevance, newest or distance (needs near)"))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_RESULT_WINDOW))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))

    @validates_schema
    def check_combinations(self, data, **kwargs):
        errors = {}
        if data.get("radius_km") is not None and data.get("near") is None:
            errors["radius_km"] = ["needs near=lat,lon"]
        if data.get("sort") == "distance" and data.get("near") is None:
            errors["sort"] = ["sort=distance needs near=lat,lon"]
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            errors["date_to"] = ["must not be before date_from"]
        if data.get("page", 1) * data.get("per_page", 20) > MAX_RESULT_WINDOW:
            errors["page"] = [f"page * per_page may be at most {MAX_RESULT_WINDOW}; narrow the search instead"]
        if errors:
            raise ValidationError(errors)


class SuggestQuerySchema(InputSchema):
    """Query of ``GET /search/suggest`` and the ``suggest`` RPC."""

    q = fields.String(required=True, validate=validate.Length(min=1, max=100),
                      **described("what has been typed so far"))
    limit = fields.Integer(load_default=8, validate=validate.Range(min=1, max=20))


class PercolateDocumentSchema(InputSchema):
    """The newly published record of a ``percolate`` call: an event's type and its data."""

    type = fields.String(required=True, validate=validate.OneOf(PERCOLATE_EVENTS),
                         **described(" or ".join(PERCOLATE_EVENTS)))
    data = fields.Dict(required=True, **described("the event's data as the catalog published it (contract "
                                                  "version 1); read by the event's contract"))


class PercolateSchema(InputSchema):
    """Input of the ``percolate`` RPC (the notify service's saved searches)."""

    document = fields.Nested(PercolateDocumentSchema, required=True)
    queries = fields.List(query_text(), required=True,
                          validate=validate.Length(max=MAX_PERCOLATE_QUERIES),
                          **described(f"at most {MAX_PERCOLATE_QUERIES} query texts, each as a search's q"))


# --------------------------------------------------------------------------- answers (OpenAPI)

class SearchLocationSchema(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class HighlightSchema(Schema):
    title = fields.String(**described("HTML-escaped text, matched words in <mark>"))
    summary = fields.String()
    body = fields.String(**described("a fragment of the body around the matches"))


class SearchHitSchema(Schema):
    id = fields.String(required=True)
    doc_type = fields.String(required=True, **described("entry or article"))
    kind = fields.String(required=True, **described(", ".join(KINDS)))
    slug = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(allow_none=True)
    themes = fields.List(fields.String(), required=True)
    tags = fields.List(fields.String(), required=True)
    regions = fields.List(fields.String(), required=True)
    organisations = fields.List(fields.String(), required=True, **described("names"))
    location = fields.Nested(SearchLocationSchema, allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    version = fields.Integer(required=True)
    score = fields.Float(required=True)
    highlight = fields.Nested(HighlightSchema, required=True, **described("only fields with a hit"))
    distance_km = fields.Float(allow_none=True, **described("when near is given; null for one without a location"))


class FacetValueSchema(Schema):
    value = fields.String(required=True)
    count = fields.Integer(required=True)


class FacetsSchema(Schema):
    theme = fields.List(fields.Nested(FacetValueSchema), required=True)
    region = fields.List(fields.Nested(FacetValueSchema), required=True)
    kind = fields.List(fields.Nested(FacetValueSchema), required=True)


class SearchResultSchema(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    items = fields.List(fields.Nested(SearchHitSchema), required=True)
    facets = fields.Nested(FacetsSchema, required=True,
                           **described("counts per value; each respects the other active filters"))
    relaxed = fields.Boolean(required=True, **described(
        "true when no record had every word of q: these are the ones that have most of them"))


class SuggestionSchema(Schema):
    text = fields.String(required=True)
    id = fields.String(required=True)
    doc_type = fields.String(required=True)
    kind = fields.String(required=True)


class SuggestionListSchema(Schema):
    items = fields.List(fields.Nested(SuggestionSchema), required=True)
    corrections = fields.List(fields.String(), load_default=list, **described(
        '"Meinten Sie": the text typed with each word the index does not know replaced by the '
        "closest word it does (typos), as the texts spell it; up to 3, best first; empty when "
        "every word is known or nothing is close"))


class RelatedItemSchema(Schema):
    relation = fields.String(required=True, **described("linked (an editor linked it) or similar (found "
                                                        "by the search index)"))
    link_type = fields.String(allow_none=True)
    direction = fields.String(allow_none=True, **described("for linked: outgoing or incoming"))
    note = fields.String(allow_none=True)
    score = fields.Float(allow_none=True, **described("for similar: how similar"))
    entry = fields.Dict(required=True, **described("linked: the public entry; similar: its search "
                                                   "document (id, slug, kind, title, summary, …)"))


class RelatedOrganisationOutSchema(Schema):
    link_type = fields.String(required=True)
    note = fields.String(allow_none=True)
    organisation = fields.Dict(required=True)


class RelatedResultSchema(Schema):
    entries = fields.List(fields.Nested(RelatedItemSchema), required=True,
                          **described("linked entries first, then similar ones; no entry twice"))
    organisations = fields.List(fields.Nested(RelatedOrganisationOutSchema), required=True)


class PercolateResultSchema(Schema):
    matches = fields.List(fields.Integer(), required=True,
                          **described("positions in queries (from 0, ascending) of the texts that find the document"))


class ReindexStatusSchema(Schema):
    state = fields.String(required=True, **described("idle, running, done or failed"))
    done = fields.Integer(required=True)
    total_hint = fields.Integer(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)


def related_from_links(linked: dict) -> dict:
    """The ``RelatedResultSchema`` answer made of the catalog's ``related_entries`` alone
    (``{entries, organisations}``): what ``/entries/{id}/related`` shows without similar
    entries, e.g. while the search service is down."""
    return {
        "entries": [{"relation": "linked", "link_type": item.get("link_type"), "direction": item.get("direction"),
                     "note": item.get("note"), "score": None, "entry": item["entry"]}
                    for item in linked.get("entries", [])],
        "organisations": list(linked.get("organisations", [])),
    }
