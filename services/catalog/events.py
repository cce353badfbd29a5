"""Contracts of the events the catalog publishes (exchange ``catalog.events``).

Entry events carry the PUBLIC entry representation (``EntrySchema``: never ``contact``)
with id, version, status, themes, region and location, so the search service can keep
its index from events alone.

- ``entry.submitted``: an entry waits for review (not public yet).
- ``entry.published``: an entry became public.
- ``entry.updated``: a public entry changed.
- ``entry.withdrawn``: a public entry left public view (withdrawn, archived or rejected);
  ``status`` says which.
- ``entry.rejected``: a review rejected an entry (with the reason).
- ``entry.linked``: a link from an entry to an entry or organisation was added.
- ``organisation.created``, ``article.published``.
"""
from marshmallow import fields

from kernel.events import register
from services.catalog.schemas import ArticleSchema, EntrySchema, LinkSchema, OrganisationSchema


@register("entry.submitted", 1)
class EntrySubmitted(EntrySchema):
    pass


@register("entry.published", 1)
class EntryPublished(EntrySchema):
    pass


@register("entry.updated", 1)
class EntryUpdated(EntrySchema):
    pass


@register("entry.withdrawn", 1)
class EntryWithdrawn(EntrySchema):
    reason = fields.String(allow_none=True)


@register("entry.rejected", 1)
class EntryRejected(EntrySchema):
    rejection_reason = fields.String(required=True)


@register("entry.linked", 1)
class EntryLinked(LinkSchema):
    pass


@register("organisation.created", 1)
class OrganisationCreated(OrganisationSchema):
    pass


@register("article.published", 1)
class ArticlePublished(ArticleSchema):
    pass
