"""The in-process holder of the search backend: group commit, rebuilds, backend choice.

Group commit: an event handler hands its document to ``Indexer.apply`` and returns only
when a commit that includes it has happened, so the event is acknowledged only once the
document is durable and visible. Documents arriving together share one commit: the first
waiting caller leads, collecting until ``batch_size`` documents are pending or
``max_delay`` has passed since the first one, then writes them all (``upsert`` +
``refresh``) while later callers start the next batch. One commit per event would cap
indexing at the commit rate; one batch per 50 ms keeps publication→searchable well
under 300 ms.

Rebuild: a fresh index is filled beside the serving one from the catalog's pages
(entries, then articles) and switched to at the end. Meanwhile every applied document is
written to both (dual write); backends keep the highest version per id, so it does not
matter whether a page or an event brings an entry first. All writes go through one lock,
so the switch never falls between the two halves of a dual write.

Plain Python (threads are green under eventlet); the nameko service wraps it.
"""
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from kernel.errors import Conflict, KosiError
from services.search.backend import SearchBackend
from services.search.documents import document_from_article, document_from_entry

log = logging.getLogger(__name__)

BATCH_SIZE = 200
MAX_DELAY_SECONDS = 0.05
REBUILD_ORDER = (("entry", document_from_entry), ("article", document_from_article))

# fetch_page(doc_type, after) -> {"items": [...], "next": last id or None}
FetchPage = Callable[[str, str | None], dict]


class IndexWriteFailed(KosiError):
    """The index could not store a document (the event is dead-lettered and can be replayed)."""


class _Batch:
    __slots__ = ("documents", "done", "errors")

    def __init__(self):
        self.documents: list[dict] = []
        self.done = False
        self.errors: dict[int, BaseException] = {}  # position in ``documents`` → why it failed


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Indexer:
    def __init__(self, backend: SearchBackend, batch_size: int = BATCH_SIZE,
                 max_delay: float = MAX_DELAY_SECONDS, page_size: int = 500,
                 offload: Callable | None = None):
        """``offload(function, *args)`` runs a blocking index write elsewhere (the service
        passes ``eventlet.tpool.execute`` for tantivy, whose commits release the GIL, so
        searches keep being answered while a commit waits for the disk)."""
        self.backend = backend
        self._offload = offload or (lambda function, *args: function(*args))
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.page_size = page_size
        self._cond = threading.Condition()
        self._collecting: _Batch | None = None
        self._first_at = 0.0
        self._leading = False
        self._write_lock = threading.Lock()  # every backend write; a rebuild switch too
        self._rebuild = None                 # the backend's Rebuild while one runs
        self._rebuild_error: BaseException | None = None
        self._progress = {"state": "idle", "done": 0, "total_hint": None,
                          "started_at": None, "finished_at": None, "error": None}

    # ------------------------------------------------------------------ writes

    def apply(self, document: dict) -> None:
        """Store ``document`` (or tombstone); returns once a commit including it is done."""
        with self._cond:
            if self._collecting is None:
                self._collecting = _Batch()
                self._first_at = time.monotonic()
            batch = self._collecting
            position = len(batch.documents)
            batch.documents.append(document)
            if len(batch.documents) >= self.batch_size:
                self._cond.notify_all()  # the leader need not wait for the deadline
            while not batch.done:
                if self._leading:
                    self._cond.wait()
                else:
                    self._lead()
        error = batch.errors.get(position)
        if error is not None:
            raise IndexWriteFailed(f"the search index could not store the document: {error}") from error

    def _lead(self) -> None:
        """Collect the current batch until full or due, then commit it (lock held on entry/exit)."""
        self._leading = True
        try:
            while len(self._collecting.documents) < self.batch_size:
                remaining = self._first_at + self.max_delay - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch, self._collecting = self._collecting, None
            self._cond.release()
            try:
                self._write_each_if_needed(batch)
            except BaseException as error:  # the leader was killed mid-write: its batch fails, none waits on
                batch.errors.update(dict.fromkeys(range(len(batch.documents)), error))
                raise
            finally:
                self._cond.acquire()
                batch.done = True
        finally:
            self._leading = False
            self._cond.notify_all()

    def _write_each_if_needed(self, batch: _Batch) -> None:
        """Write the batch in one commit; if that fails, each document on its own, so one
        document the index refuses fails only its own event (which is retried), not all."""
        try:
            self._write(batch.documents)
            return
        except Exception as error:
            if len(batch.documents) == 1:
                log.warning("search index write failed: %s", error)
                batch.errors[0] = error
                return
            log.warning("search index write of %d documents failed (%s); writing them one by one",
                        len(batch.documents), error)
        for position, document in enumerate(batch.documents):
            try:
                self._write([document])
            except Exception as error:
                batch.errors[position] = error

    def _write(self, documents: list[dict]) -> None:
        with self._write_lock:
            self._offload(self._write_locked, documents)

    def _write_locked(self, documents: list[dict]) -> None:
        self.backend.upsert(documents)
        self.backend.refresh()
        if self._rebuild is not None and self._rebuild_error is None:
            try:
                self._rebuild.upsert(documents)
            except Exception as error:  # the serving index has them; only the rebuild is spoilt
                log.exception("dual write into the rebuild failed; the rebuild will fail")
                self._rebuild_error = error

    # ------------------------------------------------------------------ reads

    def search(self, query):
        return self.backend.search(query)

    def suggest(self, prefix: str, limit: int = 8) -> list[dict]:
        return self.backend.suggest(prefix, limit)

    def corrections(self, text: str, limit: int = 3) -> list[str]:
        return self.backend.corrections(text, limit)

    def related(self, doc_id: str, limit: int = 6) -> list[dict]:
        return self.backend.related(doc_id, limit)

    def get(self, doc_id: str) -> dict | None:
        return self.backend.get(doc_id)

    def count(self) -> int:
        return self.backend.count()

    # ------------------------------------------------------------------ rebuild

    def progress(self) -> dict:
        return dict(self._progress)

    def claim_rebuild(self) -> None:
        """Mark a rebuild as running; ``Conflict`` if one already is (one at a time)."""
        with self._cond:
            if self._progress["state"] == "running":
                raise Conflict("a rebuild is already running", {"state": ["running"]})
            try:
                total_hint = self.backend.count()
            except Exception:  # only a hint
                total_hint = None
            self._progress = {"state": "running", "done": 0, "total_hint": total_hint,
                              "started_at": _now(), "finished_at": None, "error": None}

    def rebuild(self, fetch_page: FetchPage) -> dict:
        """Run a whole rebuild now (claims it first); returns the final progress."""
        self.claim_rebuild()
        return self.run_claimed_rebuild(fetch_page)

    def run_claimed_rebuild(self, fetch_page: FetchPage) -> dict:
        """The rebuild after ``claim_rebuild`` (e.g. in a background thread)."""
        rebuild = None
        try:
            with self._write_lock:
                rebuild = self._rebuild = self.backend.start_rebuild()
                self._rebuild_error = None
            for doc_type, to_document in REBUILD_ORDER:
                after = None
                while True:
                    page = fetch_page(doc_type, after)
                    documents = [to_document(item) for item in page["items"]]
                    with self._write_lock:
                        self._raise_dual_write_error()
                        if documents:
                            self._offload(rebuild.upsert, documents)
                    self._progress["done"] += len(documents)
                    after = page.get("next")
                    if not after:
                        break
            with self._write_lock:
                self._raise_dual_write_error()
                self._offload(rebuild.finish)
                self._rebuild = None
            self._finish("done")
        except BaseException as error:  # GreenletExit too: never leave a half-built index attached
            self._abandon(rebuild)
            self._finish("failed", str(error) or type(error).__name__)
            if not isinstance(error, Exception):
                raise
            log.exception("search index rebuild failed")
        return self.progress()

    def _raise_dual_write_error(self) -> None:
        if self._rebuild_error is not None:
            raise RuntimeError(f"an event could not be written into the rebuild: {self._rebuild_error}")

    def _abandon(self, rebuild) -> None:
        with self._write_lock:
            self._rebuild = None
            if rebuild is not None:
                try:
                    rebuild.abort()
                except Exception:
                    log.exception("aborting the rebuild failed")

    def _finish(self, state: str, error: str | None = None) -> None:
        self._progress.update(state=state, finished_at=_now(), error=error)


# ---------------------------------------------------------------------- backend choice

def writes_block(config: dict) -> bool:
    """Whether the configured backend's writes block the process (embedded index on disk)."""
    return (config.get("SEARCH_BACKEND") or "tantivy").lower() == "tantivy"


SEARCH_ROLES = ("all", "index", "query")


def search_role(config: dict) -> str:
    """``SEARCH_ROLE``: all (default), index or query (see ``service.py``); the split is the
    embedded index's (one writer, many readers of a folder): Elasticsearch runs ``all``."""
    role = (config.get("SEARCH_ROLE") or "all").lower()
    if role not in SEARCH_ROLES:
        raise ValueError(f"SEARCH_ROLE must be one of {', '.join(SEARCH_ROLES)}, not {role!r}")
    if role != "all" and not writes_block(config):
        raise ValueError("SEARCH_ROLE index or query splits the embedded (tantivy) index; "
                         "with Elasticsearch run every search instance with role all")
    if role != "all" and not config.get("SEARCH_INDEX_PATH"):
        raise ValueError(f"SEARCH_ROLE={role} needs the index folder the processes share (SEARCH_INDEX_PATH)")
    return role


def elasticsearch_credentials(config: dict) -> dict:
    """The client's options for a cluster with security on: an API key, or a user and password
    (``ELASTICSEARCH_API_KEY`` wins); ``ELASTICSEARCH_CA_FILE`` for a cluster's own CA."""
    options = {}
    if config.get("ELASTICSEARCH_API_KEY"):
        options["api_key"] = config["ELASTICSEARCH_API_KEY"]
    elif config.get("ELASTICSEARCH_USERNAME"):
        options["basic_auth"] = (config["ELASTICSEARCH_USERNAME"], config.get("ELASTICSEARCH_PASSWORD") or "")
    if config.get("ELASTICSEARCH_CA_FILE"):
        options["ca_certs"] = config["ELASTICSEARCH_CA_FILE"]
    return options


def make_backend(config: dict, writable: bool = True) -> SearchBackend:
    """The backend the config names: ``SEARCH_BACKEND`` tantivy (default) or elasticsearch;
    ``writable=False`` opens the embedded index for reading beside its writing process."""
    name = (config.get("SEARCH_BACKEND") or "tantivy").lower()
    if name == "tantivy":
        from services.search.tantivy_backend import TantivyBackend

        return TantivyBackend(config.get("SEARCH_INDEX_PATH") or None, writable=writable)
    if name == "elasticsearch":
        from elasticsearch import Elasticsearch

        from services.search.es_backend import ElasticsearchBackend

        url = config.get("ELASTICSEARCH_URL")
        if not url:
            raise ValueError("SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL")
        return ElasticsearchBackend(Elasticsearch(url, **elasticsearch_credentials(config)),
                                    config.get("SEARCH_INDEX_PREFIX") or "kosi")
    raise ValueError(f"unknown SEARCH_BACKEND {name!r}: tantivy or elasticsearch")
