"""Contracts of the events the catalog publishes (exchange ``catalog.events``, routing key =
event type), written field by field: they are not the catalog's API schemas, so changing
an answer of the API never changes an event. Entry events carry the public view of the
entry (never ``contact``) with id, version, status, themes, region and location, so the
search index can be kept from events alone.

- ``entry.submitted``: an entry waits for review (not public yet).
- ``entry.published``: an entry became public.
- ``entry.updated``: a public entry changed.
- ``entry.withdrawn``: a public entry left public view (withdrawn, archived or rejected);
  ``status`` says which, ``reason`` why.
- ``entry.rejected``: a review rejected an entry (with the reason shown to the submitter).
- ``entry.linked``: a link from an entry to an entry or organisation was added.
- ``organisation.created``, ``article.published``.

Rules for changing them are in ``contracts/README.md``; every type and version has a
sample in ``samples/``.
"""
from marshmallow import fields

from kernel.events import EventContract, register

PRODUCER = "catalog"


class Address(EventContract):
    street = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    locality = fields.String(allow_none=True)


class Location(EventContract):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class WebLink(EventContract):
    label = fields.String(required=True)
    url = fields.String(required=True)


class OrganisationRef(EventContract):
    id = fields.String(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)


class EntryData(EventContract):
    """An entry as the public may see it, at ``version``."""
    id = fields.String(required=True)
    slug = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    version = fields.Integer(required=True, strict=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    description = fields.String(allow_none=True)
    themes = fields.List(fields.String(), required=True)
    tags = fields.List(fields.String(), required=True)
    address = fields.Nested(Address, allow_none=True)
    location = fields.Nested(Location, allow_none=True)
    region = fields.String(allow_none=True)
    links = fields.List(fields.Nested(WebLink), required=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    organisations = fields.List(fields.Nested(OrganisationRef), required=True)
    funding = fields.String(allow_none=True)
    image_url = fields.String(allow_none=True)
    licence = fields.String(allow_none=True)
    language = fields.String(required=True)
    demo = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    published_at = fields.DateTime(allow_none=True)


@register(PRODUCER, "entry.submitted", 1)
class EntrySubmitted(EntryData):
    pass


@register(PRODUCER, "entry.published", 1)
class EntryPublished(EntryData):
    pass


@register(PRODUCER, "entry.updated", 1)
class EntryUpdated(EntryData):
    pass


@register(PRODUCER, "entry.withdrawn", 1)
class EntryWithdrawn(EntryData):
    reason = fields.String(allow_none=True)


@register(PRODUCER, "entry.rejected", 1)
class EntryRejected(EntryData):
    rejection_reason = fields.String(required=True)


@register(PRODUCER, "entry.linked", 1)
class EntryLinked(EventContract):
    id = fields.String(required=True)
    source_entry_id = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(required=True)
    type = fields.String(required=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


@register(PRODUCER, "organisation.created", 1)
class OrganisationCreated(EventContract):
    id = fields.String(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    description = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    location = fields.Nested(Location, allow_none=True)
    demo = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


@register(PRODUCER, "article.published", 1)
class ArticlePublished(EventContract):
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
