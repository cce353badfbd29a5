"""nameko entrypoints of the catalog: validate with a schema, call the domain, return dicts.

The RPC contract is docs/catalog-rpc.md. ``map_features``, ``network``,
``export_entries`` and ``import_records`` are wired separately (geo, network, transfer).
"""
import sqlalchemy as sa
from kernel.rpc import rpc

from kernel.dependencies import Database
from kernel.errors import ValidationFailed
from services.catalog import (articles, atlas, bulk, entries, events, links,  # noqa: F401 (events: contracts)
                              organisations, taxonomy)
from services.catalog.common import require_staff
from services.catalog.models import metadata
from services.catalog.schemas import (ArticleCreateSchema, ArticleQuerySchema, EntryCreateSchema,
                                      EntryQuerySchema, EntryUpdateSchema, LinkCreateSchema, MapQuerySchema,
                                      NetworkQuerySchema, PublishedPageQuerySchema,
                                      OrganisationCreateSchema, OrganisationQuerySchema,
                                      ReviewSchema, WithdrawSchema, load_input)


class CatalogService:
    name = "catalog"

    db = Database(metadata, producer="catalog")

    # ------------------------------------------------------------------ entries
    @rpc
    def list_entries(self, query=None, actor=None):
        query = load_input(EntryQuerySchema, query or {})
        with self.db() as uow:
            return entries.list_entries(uow, query, actor)

    @rpc
    def get_entry(self, entry_id, actor=None):
        with self.db() as uow:
            return entries.get_entry(uow, entry_id, actor)

    @rpc
    def create_entry(self, data, actor=None):
        data = load_input(EntryCreateSchema, data)
        with self.db() as uow:
            return entries.create_entry(uow, data, actor)

    @rpc
    def update_entry(self, entry_id, changes, expected_version=None, actor=None):
        payload = dict(changes) if isinstance(changes, dict) else changes
        if isinstance(payload, dict) and expected_version is not None:
            payload["version"] = expected_version
        changes = load_input(EntryUpdateSchema, payload)
        with self.db() as uow:
            return entries.update_entry(uow, entry_id, changes, changes["version"], actor)

    @rpc
    def withdraw_entry(self, entry_id, actor=None, reason=None):
        reason = load_input(WithdrawSchema, {"reason": reason})["reason"]
        with self.db() as uow:
            return entries.withdraw_entry(uow, entry_id, actor, reason)

    @rpc
    def review_entry(self, entry_id, decision, actor=None):
        decision = load_input(ReviewSchema, decision)
        with self.db() as uow:
            return entries.review_entry(uow, entry_id, decision, actor)

    @rpc
    def entry_history(self, entry_id, actor=None):
        with self.db() as uow:
            return entries.entry_history(uow, entry_id, actor)

    @rpc
    def erase_personal_data(self, entry_id, actor=None):
        with self.db() as uow:
            return entries.erase_personal_data(uow, entry_id, actor)

    # ------------------------------------------------------------------ links
    @rpc
    def related_entries(self, entry_id, actor=None):
        with self.db() as uow:
            return links.related_entries(uow, entry_id, actor)

    @rpc
    def add_link(self, entry_id, data, actor=None):
        data = load_input(LinkCreateSchema, data)
        with self.db() as uow:
            return links.add_link(uow, entry_id, data, actor)

    # ------------------------------------------------------------------ organisations
    @rpc
    def list_organisations(self, query=None):
        query = load_input(OrganisationQuerySchema, query or {})
        with self.db() as uow:
            return organisations.list_organisations(uow, query)

    @rpc
    def get_organisation(self, organisation_id):
        with self.db() as uow:
            return organisations.get_organisation(uow, organisation_id)

    @rpc
    def create_organisation(self, data, actor=None):
        data = load_input(OrganisationCreateSchema, data)
        with self.db() as uow:
            return organisations.create_organisation(uow, data, actor)

    # ------------------------------------------------------------------ articles
    @rpc
    def list_articles(self, query=None):
        query = load_input(ArticleQuerySchema, query or {})
        with self.db() as uow:
            return articles.list_articles(uow, query)

    @rpc
    def get_article(self, article_id):
        with self.db() as uow:
            return articles.get_article(uow, article_id)

    @rpc
    def create_article(self, data, actor=None):
        data = load_input(ArticleCreateSchema, data)
        with self.db() as uow:
            return articles.create_article(uow, data, actor)

    # ------------------------------------------------------------------ map, network, bulk
    @rpc
    def map_features(self, query=None):
        query = load_input(MapQuerySchema, query or {})
        with self.db() as uow:
            return atlas.map_features(uow, query)

    @rpc
    def network(self, query=None):
        query = load_input(NetworkQuerySchema, query or {})
        with self.db() as uow:
            return atlas.network(uow, query)

    @rpc
    def export_entries(self, query=None):
        with self.db() as uow:
            return bulk.export_entries(uow)

    @rpc
    def published_page(self, query):
        query = load_input(PublishedPageQuerySchema, query)
        with self.db() as uow:
            return bulk.published_page(uow, query)

    @rpc
    def import_records(self, records, actor=None):
        require_staff(actor)
        if not isinstance(records, list):
            raise ValidationFailed("records must be a list", {"records": ["must be a list"]})
        return bulk.import_records(self.db, records, actor)

    # ------------------------------------------------------------------ taxonomy, ops
    @rpc
    def list_themes(self):
        with self.db() as uow:
            return taxonomy.list_themes(uow)

    @rpc
    def list_regions(self):
        with self.db() as uow:
            return taxonomy.list_regions(uow)

    @rpc
    def health(self):
        with self.db() as uow:
            uow.session.execute(sa.text("SELECT 1"))
        return {"status": "ok"}
