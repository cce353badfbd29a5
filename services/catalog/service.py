"""nameko entrypoints of the catalog: validate with a schema, call the domain, return dicts.

The RPC contract is docs/catalog-rpc.md (schemas in ``contracts/catalog/api.py``). Who is
calling comes from the call's signed actor assertion (``self.caller.actor``: None when
anonymous), never from an argument.
"""
import sqlalchemy as sa
from nameko.timer import timer

from contracts.catalog import events  # noqa: F401 (registers the event contracts the domain emits)
from contracts.catalog.api import (ArticleCreateSchema, ArticleQuerySchema, AtomFeedRequestSchema, EntryCreateSchema, ErasureSchema,
                                   EntryQuerySchema, EntryUpdateSchema, EventCalendarRequestSchema,
                                   ExportPageQuerySchema, LinkCreateSchema, MapQuerySchema, NetworkQuerySchema,
                                   OrganisationCreateSchema, OrganisationQuerySchema, PublishedPageQuerySchema,
                                   ReviewSchema, WithdrawSchema)
from kernel.dependencies import CallerIdentity, Database, FromConfig, Tracing
from kernel.ops import OpsEndpoint
from kernel.roles import require_admin, require_staff
from kernel.errors import ValidationFailed
from kernel.rpc import rpc
from kernel.schemas import load_input, with_expected_version
from services.catalog import articles, atlas, bulk, entries, links, open_data, organisations, retention, taxonomy
from services.catalog.models import metadata

RETENTION_SECONDS = 3600


class CatalogService:
    name = "catalog"

    db = Database(metadata, service="catalog")
    caller = CallerIdentity()
    tracing = Tracing()
    ops = OpsEndpoint()
    retention_settings = FromConfig(retention.Settings.from_config)

    # ------------------------------------------------------------------ entries
    @rpc
    def list_entries(self, query=None):
        query = load_input(EntryQuerySchema, query or {})
        with self.db() as uow:
            return entries.list_entries(uow, query, self.caller.actor)

    @rpc
    def get_entry(self, entry_id):
        with self.db() as uow:
            return entries.get_entry(uow, entry_id, self.caller.actor)

    @rpc
    def create_entry(self, data):
        data = load_input(EntryCreateSchema, data)
        with self.db() as uow:
            return entries.create_entry(uow, data, self.caller.actor)

    @rpc
    def update_entry(self, entry_id, changes, expected_version=None):
        changes = load_input(EntryUpdateSchema, with_expected_version(changes, expected_version))
        with self.db() as uow:
            return entries.update_entry(uow, entry_id, changes, changes["version"], self.caller.actor)

    @rpc
    def withdraw_entry(self, entry_id, reason=None):
        reason = load_input(WithdrawSchema, {"reason": reason})["reason"]
        with self.db() as uow:
            return entries.withdraw_entry(uow, entry_id, self.caller.actor, reason)

    @rpc
    def review_entry(self, entry_id, decision):
        decision = load_input(ReviewSchema, decision)
        with self.db() as uow:
            return entries.review_entry(uow, entry_id, decision, self.caller.actor)

    @rpc
    def submitter_contact(self, entry_id):
        """The notify service only: the submitter's address of a public submission, or None."""
        with self.db() as uow:
            return entries.submitter_contact(uow, entry_id, self.caller.actor)

    @rpc
    def entry_history(self, entry_id):
        with self.db() as uow:
            return entries.entry_history(uow, entry_id, self.caller.actor)

    @rpc
    def erase_personal_data(self, entry_id, fields=None):
        erasure = load_input(ErasureSchema, {} if fields is None else {"fields": fields}, what="erasure")
        with self.db() as uow:
            return entries.erase_personal_data(uow, entry_id, self.caller.actor, tuple(erasure["fields"]))

    # ------------------------------------------------------------------ links
    @rpc
    def related_entries(self, entry_id):
        with self.db() as uow:
            return links.related_entries(uow, entry_id, self.caller.actor)

    @rpc
    def add_link(self, entry_id, data):
        data = load_input(LinkCreateSchema, data)
        with self.db() as uow:
            return links.add_link(uow, entry_id, data, self.caller.actor)

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
    def create_organisation(self, data):
        data = load_input(OrganisationCreateSchema, data)
        with self.db() as uow:
            return organisations.create_organisation(uow, data, self.caller.actor)

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
    def create_article(self, data):
        data = load_input(ArticleCreateSchema, data)
        with self.db() as uow:
            return articles.create_article(uow, data, self.caller.actor)

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

    # ------------------------------------------------------------------ open data (public views only)
    @rpc
    def export_page(self, query):
        query = load_input(ExportPageQuerySchema, query)
        with self.db() as uow:
            return open_data.export_page(uow, query)

    @rpc
    def event_calendar(self, query):
        query = load_input(EventCalendarRequestSchema, query)
        with self.db() as uow:
            return open_data.event_calendar(uow, query)

    @rpc
    def atom_feed(self, query):
        query = load_input(AtomFeedRequestSchema, query)
        with self.db() as uow:
            return open_data.atom_feed(uow, query)

    @rpc
    def import_records(self, records):
        actor = self.caller.actor
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
    def region_boundaries(self):
        with self.db() as uow:
            return taxonomy.region_boundaries(uow)

    # Not eager: see the note on the search service's refill timer
    @timer(interval=RETENTION_SECONDS)
    def keep_retention(self):
        retention.apply(self.db, self.retention_settings)

    @rpc
    def run_retention(self):
        """Admin (``kosi retention run``): apply the retention now; what was deleted or erased."""
        require_admin(self.caller.actor)
        return retention.apply(self.db, self.retention_settings)

    @rpc
    def health(self):
        with self.db() as uow:
            uow.session.execute(sa.text("SELECT 1"))
        return {"status": "ok"}
