"""nameko entrypoints of the search service: catalog events in, queries answered.

The index is fed only by catalog events (and a rebuild from the catalog on demand). An
event handler returns, and its message is acknowledged, only once the document is
committed to the index (group commit, ``indexer.py``); a failure or a contract violation
rejects the message into the dead-letter queue (``kosi dlq``). Redeliveries and reordered
events change nothing: the index keeps the highest catalog ``version`` per id.

Roles (``SEARCH_ROLE``, ``kosi serve search --role``): tantivy allows one writer per index
directory (``SEARCH_INDEX_PATH``) and any number of readers. ``all`` (default) consumes the
catalog's events, writes the index and answers queries; ``index`` only writes; ``query``
only answers, from the same folder, and competes with the other query processes (and an
``all`` one) on the service's RPC queue. Run ONE ``index`` or ``all`` process per index
folder and as many ``query`` processes beside it as the machine has cores for. A
``reindex`` that reaches a query process is left in the folder for the writer
(``rebuild_requests.py``). With Elasticsearch every instance writes the cluster's index:
run them all with role ``all``.
"""
import logging

import eventlet
import eventlet.tpool
import nameko
from nameko.extensions import DependencyProvider
from nameko.rpc import ServiceRpc
from nameko.timer import timer

from kernel.dependencies import CallerIdentity, Tracing
from kernel.ops import OpsEndpoint
from kernel.errors import Conflict, ValidationFailed
from kernel.messaging import reliable_event_handler
from kernel.rpc import rpc
from contracts.catalog import events as catalog_events  # noqa: F401  (registers the event contracts)
from contracts.search.api import PercolateSchema, SearchQuerySchema, SuggestQuerySchema
from kernel.roles import require_admin, require_service, require_staff
from kernel.schemas import load_input
from services.search.backend import SearchQuery
from services.search.documents import document_from_event
from services.search.indexer import Indexer, make_backend, search_role, writes_block
from services.search.percolate import matching_queries
from services.search.rebuild_requests import RebuildRequests
from services.search.related import merge_related

log = logging.getLogger(__name__)

REBUILD_PAGE_SIZE = 500  # entries per catalog page (config REBUILD_PAGE_SIZE)
CATALOG_PAGE_TIMEOUT = 60.0  # seconds the rebuild waits for one catalog page
MAX_RELATED = 50
REFILL_CHECK_SECONDS = 3.0  # an empty index asks the catalog this long after start, and again until it answers
REFILL_ANSWER_SECONDS = 10.0  # how long one such question waits for the catalog
REQUEST_CHECK_SECONDS = 1.0  # how often the writer looks for a rebuild a query process asked for


class SearchIndex(DependencyProvider):
    """Owns this process's ``Indexer`` (and so the one writer of the index)."""

    def setup(self):
        config = nameko.config
        self.role = search_role(config)
        self.writes = self.role != "query"
        self.indexer = Indexer(make_backend(config, writable=self.writes),
                               page_size=int(config.get("REBUILD_PAGE_SIZE") or REBUILD_PAGE_SIZE),
                               offload=eventlet.tpool.execute if writes_block(config) else None)
        # the embedded index has one writer, so this process alone decides to refill it
        self.auto_refill = self.writes and writes_block(config) and bool(config.get("SEARCH_AUTO_REFILL", True))
        # percolate's work in tantivy (building queries, an index in memory) blocks without
        # yielding: in a thread of its own, searches go on being answered meanwhile
        self.offload = eventlet.tpool.execute if writes_block(config) else _call
        self.refill_checked = False
        # between the writer and query processes of one index folder (none in memory)
        folder = config.get("SEARCH_INDEX_PATH") if writes_block(config) else None
        self.requests = RebuildRequests(folder) if folder else None

    def stop(self):
        close = getattr(self.indexer.backend, "close", None)
        if close is not None:
            close()

    def start_rebuild(self, fetch_page) -> dict:
        """Start a rebuild here (the writer), or ask the writer for one (a query process)."""
        if not self.writes:
            return self.requests.request()
        self.indexer.claim_rebuild()
        self.publish_progress()
        self.container.spawn_managed_thread(lambda: self.indexer.run_claimed_rebuild(fetch_page),
                                            identifier="search-rebuild")
        return self.indexer.progress()

    def check_ready(self) -> None:
        """For the readiness probe (``kernel.ops``): the index answers (a query process
        started before the writer made one raises ``IndexNotReady``; Elasticsearch, if down)."""
        self.indexer.count()

    def progress(self) -> dict:
        return self.indexer.progress() if self.writes else self.requests.progress()

    def publish_progress(self) -> None:
        if self.requests is not None:
            self.requests.publish(self.indexer.progress())

    def take_requested_rebuild(self, catalog) -> None:
        """The writer: start the rebuild a query process asked for, and publish the progress."""
        if self.requests.pending():
            try:
                self.start_rebuild(_catalog_pages(catalog, self.indexer.page_size))
            except Conflict:                 # one runs already: the request is answered by it
                pass
            self.requests.taken()
        self.publish_progress()

    def refill_pending(self) -> bool:
        """Whether the start-up check for an empty index against a full catalog is still due."""
        return self.auto_refill and not self.refill_checked

    def refill_if_empty(self, catalog) -> None:
        """Rebuild an empty index (or one of an older schema) when the catalog holds published
        records; done once the catalog has answered, asked again on the next call until then."""
        if not self.refill_pending():
            return
        indexer = self.indexer
        if indexer.count() > 0 and not getattr(indexer.backend, "needs_rebuild", False):
            self.refill_checked = True
            return
        try:
            has_published = _catalog_has_published(catalog)
        except Exception as error:        # the catalog is not up yet
            log.info("search: the catalog did not answer the empty-index check (%s); asking again in %gs",
                     type(error).__name__, REFILL_CHECK_SECONDS)
            return
        self.refill_checked = True
        if has_published:
            log.warning("search: the index is empty but the catalog has published records: rebuilding it")
            try:
                self.start_rebuild(_catalog_pages(catalog, indexer.page_size))
            except Conflict:              # an operator's `kosi search reindex` came first
                pass

    def get_dependency(self, worker_ctx):
        return self


def _call(function, *args):
    return function(*args)


def _catalog_pages(catalog, page_size: int, timeout: float = CATALOG_PAGE_TIMEOUT):
    """``fetch_page(doc_type, after)`` over the catalog's ``published_page`` RPC, with a deadline."""

    def fetch_page(doc_type, after):
        deadline = eventlet.Timeout(timeout)
        try:
            return catalog.published_page({"type": doc_type, "after": after, "limit": page_size})
        except eventlet.Timeout as fired:
            if fired is not deadline:
                raise
            raise TimeoutError(f"the catalog sent no page within {timeout:g}s") from None
        finally:
            deadline.cancel()

    return fetch_page


def _catalog_has_published(catalog) -> bool:
    fetch_page = _catalog_pages(catalog, 1, timeout=REFILL_ANSWER_SECONDS)
    return any(fetch_page(doc_type, None)["items"] for doc_type in ("entry", "article"))


class _SearchParts:
    name = "search"

    index = SearchIndex()
    catalog = ServiceRpc("catalog")
    caller = CallerIdentity()
    tracing = Tracing()
    ops = OpsEndpoint()


class Indexing(_SearchParts):
    """Catalog events into the index, refills and requested rebuilds: the writer's part."""

    # ------------------------------------------------------------------ catalog events
    # queue names are search.<subscription>: stable, whatever the methods are called

    @reliable_event_handler("catalog", "entry.published", subscription="entry-published")
    def on_entry_published(self, envelope):
        self._apply(envelope)

    @reliable_event_handler("catalog", "entry.updated", subscription="entry-updated")
    def on_entry_updated(self, envelope):
        self._apply(envelope)

    @reliable_event_handler("catalog", "entry.withdrawn", subscription="entry-withdrawn")
    def on_entry_withdrawn(self, envelope):
        self._apply(envelope)

    @reliable_event_handler("catalog", "entry.rejected", subscription="entry-rejected")
    def on_entry_rejected(self, envelope):
        self._apply(envelope)

    @reliable_event_handler("catalog", "article.published", subscription="article-published")
    def on_article_published(self, envelope):
        self._apply(envelope)

    def _apply(self, envelope):
        document = document_from_event(envelope)
        if document is not None:
            self.index.indexer.apply(document)

    # ------------------------------------------------------------------ an empty index

    # Not eager: an RPC from a timer tick that fires while the container is still starting
    # stalled the start of the next container in the same process (seen in the tests).
    @timer(interval=REFILL_CHECK_SECONDS)
    def refill_an_empty_index(self):
        """An empty index beside a catalog with published records is refilled by itself: a
        new deployment against an existing catalog, a lost index folder, or an index of an
        older schema (which starts empty). Checked once the catalog answers; the events
        that arrive meanwhile are applied as usual and the rebuild takes them in too."""
        self.index.refill_if_empty(self.catalog)

    @timer(interval=REQUEST_CHECK_SECONDS)
    def take_rebuild_requests(self):
        """A ``reindex`` a query process received, and the progress for those to report."""
        if self.index.requests is not None:
            self.index.take_requested_rebuild(self.catalog)


class Queries(_SearchParts):
    """Searches, suggestions, related entries, saved-search matching and the rebuild RPCs."""

    # ------------------------------------------------------------------ queries

    @rpc
    def search(self, query=None):
        query = SearchQuery.from_loaded(load_input(SearchQuerySchema, query or {}, what="query"))
        result = self.index.indexer.search(query).as_dict()
        return {"total": result["total"], "page": query.page, "per_page": query.per_page,
                "items": result["items"], "facets": result["facets"], "relaxed": result["relaxed"]}

    @rpc
    def suggest(self, query=None):
        query = load_input(SuggestQuerySchema, query or {}, what="query")
        indexer = self.index.indexer
        return {"items": indexer.suggest(query["q"], query["limit"]), "corrections": indexer.corrections(query["q"])}

    @rpc
    def related(self, entry_id, limit=6):
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RELATED:
            raise ValidationFailed("invalid limit", {"limit": [f"must be a whole number from 1 to {MAX_RELATED}"]})
        # the caller's actor assertion travels on to the catalog: NotFound for an entry the
        # caller cannot see; staff see the links of unpublished ones
        linked = self.catalog.related_entries(entry_id)
        similar = self.index.indexer.related(entry_id, limit + len(linked.get("entries", [])))
        return merge_related(linked, similar, limit)

    @rpc
    def percolate(self, document, queries):
        """The notify service only: which saved query texts find a newly published record.
        ``document`` is ``{"type": "entry.published"|"article.published", "data": <the
        event's data>}``, ``queries`` up to 500 texts as a search's ``q``; answers
        ``{"matches": [positions in queries]}``. The record need not be indexed yet."""
        require_service(self.caller.actor, "notify")
        request = load_input(PercolateSchema, {"document": document, "queries": queries}, what="percolate request")
        return {"matches": self.index.offload(matching_queries, self.index.indexer.backend, request["document"],
                                              request["queries"])}

    # ------------------------------------------------------------------ operations

    @rpc
    def reindex(self):
        """Admin: start a rebuild from the catalog in the background; ``reindex_status`` follows it."""
        require_admin(self.caller.actor)
        return self.index.start_rebuild(_catalog_pages(self.catalog, self.index.indexer.page_size))

    @rpc
    def reindex_status(self):
        require_staff(self.caller.actor)
        return self.index.progress()

    @rpc
    def health(self):
        indexer = self.index.indexer
        return {"status": "ok", "role": self.index.role, "backend": type(indexer.backend).__name__,
                "documents": indexer.count(), "rebuild": self.index.progress()["state"],
                "needs_rebuild": bool(getattr(indexer.backend, "needs_rebuild", False)),
                "empty_index_check": ("off" if not self.index.auto_refill
                                      else "pending" if self.index.refill_pending() else "done")}


class SearchService(Indexing, Queries):
    """Role ``all``: one process writes the index and answers from it."""


class SearchIndexService(Indexing):
    """Role ``index``: the writer only."""


class SearchQueryService(Queries):
    """Role ``query``: answers from an index folder another process writes."""


ROLES = {"all": SearchService, "index": SearchIndexService, "query": SearchQueryService}
