"""The catalog's RPC and HTTP contract: inputs (strict, ``unknown = RAISE``), queries, outputs.

The catalog validates every RPC input with these; the gateway uses the same classes for
HTTP validation and builds the OpenAPI document from them. Rules that need the database
(known theme slugs, existing regions and organisations, point inside the state) are
checked in the catalog's domain modules. Event contracts are separate (``events.py``):
changing an answer here never changes an event.
"""
from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.catalog.values import (ARTICLE_TYPES, ENTRY_KINDS, ENTRY_SORTS, ENTRY_STATUSES, LINK_TARGET_TYPES,
                                      LINK_TYPES, ORGANISATION_KINDS, REVIEW_ACTIONS)
from kernel.errors import ValidationFailed
from kernel.geo import parse_bbox
from kernel.rows import looks_like_uuid
from kernel.schemas import InputSchema, Instant, OutputSchema, Text, described, page_schema

AGS = validate.Regexp(r"^\d{5}$", error="must be a 5-digit official regional key (AGS)")
ID_LENGTH = validate.Length(min=1, max=64)


# --------------------------------------------------------------------------- input parts

class AddressSchema(InputSchema):
    street = Text(validate=validate.Length(max=200), allow_none=True)
    postal_code = fields.String(validate=validate.Regexp(r"^\d{5}$", error="must be 5 digits"),
                                allow_none=True)
    locality = Text(validate=validate.Length(max=100), allow_none=True)


class LocationSchema(InputSchema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90),
                       **described("latitude (WGS84)"))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180),
                       **described("longitude (WGS84)"))


class WebLinkSchema(InputSchema):
    label = Text(required=True, validate=validate.Length(min=1, max=100))
    url = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=500))


class ContactSchema(InputSchema):
    name = Text(validate=validate.Length(max=200), allow_none=True)
    email = fields.Email(validate=validate.Length(max=254), allow_none=True)
    phone = Text(validate=validate.Length(max=50), allow_none=True)


# --------------------------------------------------------------------------- entry inputs

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_FORM = validate.Regexp(SLUG_PATTERN, error="lowercase letters and digits, words joined by single hyphens")
# a theme to filter by: its slug (an unknown one finds nothing)
THEME_FILTER = [validate.Length(max=60), SLUG_FORM]


def not_a_uuid(value: str) -> None:
    """A slug that reads as a UUID would be taken for an id."""
    if looks_like_uuid(value):
        raise ValidationError("must not have the form of a UUID")


def _entry_fields(update: bool) -> dict:
    """The editable entry fields; for updates all optional and clearable ones nullable."""
    optional = {"allow_none": True} if update else {}
    return {
        "kind": fields.String(required=not update, validate=validate.OneOf(ENTRY_KINDS)),
        "title": Text(required=not update, validate=validate.Length(min=3, max=200)),
        "slug": fields.String(validate=[validate.Length(min=3, max=80), SLUG_FORM, not_a_uuid], **described(
            "the name in the entry's URL (lowercase letters, digits, single hyphens); made from the "
            "title when absent. " + ("A new one keeps the old working: it answers 301 to the new."
                                     if update else "Taken ones get -2, -3 …"))),
        "summary": Text(required=not update, validate=validate.Length(min=1, max=500),
                        **described("short teaser, plain text")),
        "description": Text(validate=validate.Length(max=20000), **optional,
                            **described("long description, plain text or Markdown")),
        "themes": fields.List(fields.String(validate=validate.Length(min=1, max=60)),
                              required=not update, validate=validate.Length(min=1, max=5),
                              **described("1 to 5 theme slugs (see GET /themes)")),
        "tags": fields.List(Text(validate=validate.Length(min=1, max=40)),
                            validate=validate.Length(max=20)),
        "address": fields.Nested(AddressSchema, **optional),
        "location": fields.Nested(LocationSchema, **optional,
                                  **described("point on the map; must lie in Saxony-Anhalt")),
        "region": fields.String(validate=AGS, **optional,
                                **described("AGS of the district; derived from location when absent")),
        "links": fields.List(fields.Nested(WebLinkSchema), validate=validate.Length(max=10)),
        "starts_on": fields.Date(**optional),
        "ends_on": fields.Date(**optional),
        "organisations": fields.List(fields.String(validate=ID_LENGTH), validate=validate.Length(max=20),
                                     **described("ids of involved organisations")),
        "funding": Text(validate=validate.Length(max=500), **optional),
        "image_url": fields.Url(schemes={"http", "https"}, validate=validate.Length(max=500), **optional),
        "licence": Text(validate=validate.Length(max=50), **optional),
        "language": fields.String(validate=validate.Regexp(r"^[a-z]{2}$", error="2-letter code"),
                                  **({} if update else {"load_default": "de"})),
        "contact": fields.Nested(ContactSchema, **optional,
                                 **described("personal contact; visible to staff only")),
    }


def _check_dates(data):
    starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError("must not be before starts_on", "ends_on")


class EntryCreateSchema(InputSchema):
    # a class body's locals() is its namespace: the shared field set is declared once above
    locals().update(_entry_fields(update=False))
    publish = fields.Boolean(**described("staff only: false keeps the entry unpublished (default true)"))

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        _check_dates(data)


class EntryUpdateSchema(InputSchema):
    locals().update(_entry_fields(update=True))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                             **described("the version the change is based on (optimistic locking)"))

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        _check_dates(data)


class ReviewSchema(InputSchema):
    action = fields.String(required=True, validate=validate.OneOf(REVIEW_ACTIONS))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                             **described("the version the decision is based on (body or If-Match); "
                                         "a stale one is answered 409"))
    reason = Text(validate=validate.Length(max=2000), allow_none=True,
                  **described("required when rejecting; shown to the submitter"))

    @validates_schema
    def reject_needs_reason(self, data, **kwargs):
        if data.get("action") == "reject" and not data.get("reason"):
            raise ValidationError("a rejection needs a reason", "reason")


class WithdrawSchema(InputSchema):
    reason = Text(validate=validate.Length(max=2000), allow_none=True)


# what an erasure request may cover (services.catalog.entries.ERASABLE)
ERASABLE_FIELDS = ("contact", "address", "description")


class ErasureSchema(InputSchema):
    fields = fields.List(fields.String(validate=validate.OneOf(ERASABLE_FIELDS)), load_default=["contact"],
                         validate=validate.Length(min=1, max=len(ERASABLE_FIELDS)),
                         **described("contact: name, e-mail, phone; address: the street, and the location "
                                     "coarsened to about 1 km; description: the free text"))


class LinkCreateSchema(InputSchema):
    target_type = fields.String(required=True, validate=validate.OneOf(LINK_TARGET_TYPES))
    target_id = fields.String(required=True, validate=ID_LENGTH)
    type = fields.String(load_default="related", validate=validate.OneOf(LINK_TYPES))
    note = Text(validate=validate.Length(max=500), allow_none=True)


class OrganisationCreateSchema(InputSchema):
    name = Text(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    description = Text(validate=validate.Length(max=5000), allow_none=True)
    website = fields.Url(schemes={"http", "https"}, validate=validate.Length(max=500), allow_none=True)
    region = fields.String(validate=AGS, allow_none=True)
    location = fields.Nested(LocationSchema, allow_none=True)


class ArticleCreateSchema(InputSchema):
    type = fields.String(required=True, validate=validate.OneOf(ARTICLE_TYPES),
                         **described("knowledge article or news on the centre's work"))
    title = Text(required=True, validate=validate.Length(min=3, max=200))
    summary = Text(validate=validate.Length(max=500), allow_none=True)
    body = Text(required=True, validate=validate.Length(min=1, max=100000))
    themes = fields.List(fields.String(validate=validate.Length(min=1, max=60)),
                         validate=validate.Length(max=5), load_default=list)
    regions = fields.List(fields.String(validate=AGS), validate=validate.Length(max=14), load_default=list)
    author = Text(validate=validate.Length(max=200), allow_none=True)


# --------------------------------------------------------------------------- queries

class ListQuerySchema(InputSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class EntryQuerySchema(ListQuerySchema):
    kind = fields.String(validate=validate.OneOf(ENTRY_KINDS))
    theme = fields.String(validate=THEME_FILTER)
    region = fields.String(validate=AGS)
    tag = fields.String(validate=validate.Length(max=40))
    organisation = fields.String(validate=ID_LENGTH)
    status = fields.String(validate=validate.OneOf(ENTRY_STATUSES),
                           **described("staff only; the public always sees published entries"))
    sort = fields.String(load_default="newest", validate=validate.OneOf(ENTRY_SORTS))
    published_since = Instant(**described("only entries published at or after this time (ISO 8601 "
                                                       "with a time zone)"))


class OrganisationQuerySchema(ListQuerySchema):
    kind = fields.String(validate=validate.OneOf(ORGANISATION_KINDS))
    region = fields.String(validate=AGS)


class ArticleQuerySchema(ListQuerySchema):
    type = fields.String(validate=validate.OneOf(ARTICLE_TYPES))
    theme = fields.String(validate=THEME_FILTER)
    published_since = Instant(**described("only articles published at or after this time (ISO 8601 "
                                                       "with a time zone)"))


class MapQuerySchema(InputSchema):
    """RPC query of ``map_features``; ``bbox`` defaults to the whole state."""
    bbox = fields.List(fields.Float(allow_nan=False), validate=validate.Length(equal=4),
                       **described("[minLon, minLat, maxLon, maxLat]"))
    zoom = fields.Integer(load_default=8, validate=validate.Range(min=0, max=20))
    theme = fields.String(validate=THEME_FILTER)
    kind = fields.String(validate=validate.OneOf(ENTRY_KINDS))


class PublishedPageQuerySchema(InputSchema):
    type = fields.String(required=True, validate=validate.OneOf(("entry", "article")))
    after = fields.String(validate=ID_LENGTH, allow_none=True, **described("last id of the previous page"))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=2000))


MAX_NETWORK_ENTRIES = 2000


def _bbox_text(value: str) -> None:
    try:
        parse_bbox(value)
    except ValidationFailed as error:
        raise ValidationError(str(error)) from None


class NetworkQuerySchema(InputSchema):
    theme = fields.String(validate=THEME_FILTER)
    region = fields.String(validate=AGS)
    kind = fields.String(validate=validate.OneOf(ENTRY_KINDS))
    bbox = fields.String(validate=[validate.Length(max=200), _bbox_text],
                         **described("minLon,minLat,maxLon,maxLat: only entries located inside"))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=MAX_NETWORK_ENTRIES),
                           **described("at most this many entries, the most recently published first "
                                       "(truncated says when there were more)"))


# --------------------------------------------------------------------------- open data

# an address a feed item links to: http(s), with ``{id}`` where the item's id goes
ITEM_URL = validate.Regexp(r"^https?://[^\s{}]+\{id\}[^\s{}]*$",
                           error="must be an http(s) URL with {id} where the id goes")
FEED_URL = validate.Regexp(r"^https?://\S+$", error="must be an http(s) URL")
EXPORT_FORMATS = ("csv", "geojson")
FEED_SOURCES = ("entries", "news")


class OpenDataEntryQuerySchema(InputSchema):
    """Query of ``GET /entries.geojson``: the filters of ``GET /entries`` without paging (the
    whole selection) and without ``status`` (published entries only)."""
    kind = fields.String(validate=validate.OneOf(ENTRY_KINDS))
    theme = fields.String(validate=THEME_FILTER)
    region = fields.String(validate=AGS)
    tag = fields.String(validate=validate.Length(max=40))
    organisation = fields.String(validate=ID_LENGTH)
    sort = fields.String(load_default="newest", validate=validate.OneOf(ENTRY_SORTS))


class OpenDataCsvQuerySchema(OpenDataEntryQuerySchema):
    """Query of ``GET /entries.csv``: the filters, and the delimiter spreadsheets expect."""
    delimiter = fields.String(load_default="semicolon", validate=validate.OneOf(("semicolon", "comma")),
                              **described("semicolon (German spreadsheets, default) or comma"))


class ExportPageQuerySchema(OpenDataCsvQuerySchema):
    """RPC ``export_page``: one page of the public export of the filtered entries."""
    format = fields.String(required=True, validate=validate.OneOf(EXPORT_FORMATS))
    after = fields.String(validate=validate.Length(min=1, max=600), allow_none=True,
                          **described("the next of the previous page; none for the first page"))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=2000))


class FeedQuerySchema(InputSchema):
    """Query of the feeds (``/events.ics``, ``/news.atom``, ``/entries.atom``)."""
    theme = fields.String(validate=THEME_FILTER)
    region = fields.String(validate=AGS)


class EventCalendarRequestSchema(FeedQuerySchema):
    """RPC ``event_calendar``: the upcoming published events as iCalendar."""
    title = Text(required=True, validate=validate.Length(min=1, max=200), **described("the calendar's name"))
    item_url = fields.String(required=True, validate=[validate.Length(max=500), ITEM_URL],
                             **described("where an entry is read, {id} standing for its id"))


class AtomFeedRequestSchema(FeedQuerySchema):
    """RPC ``atom_feed``: newly published entries or news as an Atom feed, newest first."""
    source = fields.String(required=True, validate=validate.OneOf(FEED_SOURCES))
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    author = Text(required=True, validate=validate.Length(min=1, max=200),
                  **described("the feed's author (the publisher)"))
    feed_url = fields.String(required=True, validate=[validate.Length(max=1000), FEED_URL],
                             **described("the feed's own address: its id and rel=self link"))
    item_url = fields.String(required=True, validate=[validate.Length(max=500), ITEM_URL])
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


# --------------------------------------------------------------------------- outputs

class AddressOutSchema(OutputSchema):
    street = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    locality = fields.String(allow_none=True)


class LocationOutSchema(OutputSchema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class WebLinkOutSchema(OutputSchema):
    label = fields.String(required=True)
    url = fields.String(required=True)


class ContactOutSchema(OutputSchema):
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class OrganisationRefSchema(OutputSchema):
    id = fields.String(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)


class EntrySchema(OutputSchema):
    """An entry as the public sees it (and as catalog events carry it): never ``contact``."""
    id = fields.String(required=True)
    slug = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    description = fields.String(allow_none=True)
    themes = fields.List(fields.String(), required=True)
    tags = fields.List(fields.String(), required=True)
    address = fields.Nested(AddressOutSchema, allow_none=True)
    location = fields.Nested(LocationOutSchema, allow_none=True)
    region = fields.String(allow_none=True, **described("AGS of the district"))
    links = fields.List(fields.Nested(WebLinkOutSchema), required=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    organisations = fields.List(fields.Nested(OrganisationRefSchema), required=True)
    funding = fields.String(allow_none=True)
    image_url = fields.String(allow_none=True)
    licence = fields.String(allow_none=True)
    language = fields.String(required=True)
    demo = fields.Boolean(required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    published_at = fields.DateTime(allow_none=True)


class EntryStaffSchema(EntrySchema):
    """An entry as staff see it: with personal contact and moderation details."""
    contact = fields.Nested(ContactOutSchema, allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)


class EntryVersionSchema(OutputSchema):
    version = fields.Integer(required=True)
    action = fields.String(required=True, **described("create, update, publish, reject, archive, "
                                                      "withdraw or erase_personal_data"))
    status = fields.String(required=True)
    actor = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    snapshot = fields.Dict(required=True, **described("the full entry at this version"))


class OrganisationSchema(OutputSchema):
    id = fields.String(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    description = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    location = fields.Nested(LocationOutSchema, allow_none=True)
    demo = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ArticleSchema(OutputSchema):
    id = fields.String(required=True)
    slug = fields.String(required=True)
    type = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(allow_none=True)
    body = fields.String(required=True)
    themes = fields.List(fields.String(), required=True)
    regions = fields.List(fields.String(), required=True)
    author = fields.String(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    demo = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class LinkSchema(OutputSchema):
    id = fields.String(required=True)
    source_entry_id = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(required=True)
    type = fields.String(required=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class RelatedEntrySchema(OutputSchema):
    link_type = fields.String(required=True)
    direction = fields.String(required=True, **described("outgoing: this entry links to it; "
                                                         "incoming: it links to this entry"))
    note = fields.String(allow_none=True)
    entry = fields.Nested(EntrySchema, required=True)


class RelatedOrganisationSchema(OutputSchema):
    link_type = fields.String(required=True)
    note = fields.String(allow_none=True)
    organisation = fields.Nested(OrganisationSchema, required=True)


class RelatedSchema(OutputSchema):
    entries = fields.List(fields.Nested(RelatedEntrySchema), required=True)
    organisations = fields.List(fields.Nested(RelatedOrganisationSchema), required=True)


class ThemeSchema(OutputSchema):
    slug = fields.String(required=True)
    label = fields.String(required=True)
    kind = fields.String(required=True, **described("field (main field) or pioneering (topic)"))
    parent = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    entry_count = fields.Integer(required=True, **described("published entries with this theme"))


class RegionSchema(OutputSchema):
    ags = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    seat = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    rural = fields.Boolean(required=True)
    population = fields.Integer(allow_none=True)
    area_km2 = fields.Float(allow_none=True)
    entry_count = fields.Integer(required=True, **described("published entries in this region"))


# staff see the staff view in lists too; the public gets the subset EntrySchema describes
EntryPageSchema = page_schema(EntryStaffSchema, "EntryPageSchema")
OrganisationPageSchema = page_schema(OrganisationSchema, "OrganisationPageSchema")
ArticlePageSchema = page_schema(ArticleSchema, "ArticlePageSchema")
