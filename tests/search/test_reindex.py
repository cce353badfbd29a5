"""Group commit and index rebuilds.

The first part drives ``Indexer`` directly on an in-memory tantivy index; the last test
rebuilds the index of a running search service from the real catalog while entries are
created, changed and withdrawn, and checks the index ends equal to the catalog.
"""
import os
import threading

import eventlet
import pytest

from kernel import broker
from kernel.errors import Conflict
from kernel.messaging import subscriptions_of
from services.catalog.service import CatalogService
from services.search.backend import SearchQuery
from services.search.documents import document_from_entry, tombstone
from services.search.indexer import Indexer, IndexWriteFailed
from services.search.service import SearchService
from services.search.tantivy_backend import TantivyBackend
from tests.search.test_search_service import (catalog_database, entry_data, index_path,  # noqa: F401 (fixtures)
                                              search_config, wait_for)
from tests.identity import ADMIN, staff_rpc



def entry(number: int, version: int = 1, title: str | None = None) -> dict:
    return {"id": f"e-{number:05d}", "slug": f"eintrag-{number}", "kind": "project", "status": "published",
            "title": title or f"Dorfladen Nummer {number}", "summary": "Ein Laden im Dorf.", "description": None,
            "themes": ["nahversorgung"], "tags": [], "region": "15003", "location": None,
            "organisations": [], "starts_on": None, "ends_on": None,
            "published_at": "2024-01-01T00:00:00+00:00", "version": version}


class CountingBackend(TantivyBackend):
    """The real in-memory index, counting commits."""

    def __init__(self):
        super().__init__(None)
        self.commits = 0

    def upsert(self, documents):
        self.commits += 1
        return super().upsert(documents)


class BrokenBackend(TantivyBackend):
    def upsert(self, documents):
        raise OSError("disk full")


class PickyBackend(TantivyBackend):
    """The real in-memory index refusing one document (as if it broke a limit of the index)."""

    def upsert(self, documents):
        if any(document["id"] == "e-00003" for document in documents):
            raise ValueError("document e-00003 is too large")
        return super().upsert(documents)


def all_ids(indexer) -> set[str]:
    return {item["id"] for item in indexer.search(SearchQuery(per_page=100)).items}


# ---------------------------------------------------------------------- group commit

def test_concurrent_documents_share_commits_and_are_visible_when_apply_returns():
    backend = CountingBackend()
    # a deadline far away: a batch closes only once it holds 200 documents or more
    indexer = Indexer(backend, batch_size=200, max_delay=60)
    returned = []

    def apply(number):
        indexer.apply(document_from_entry(entry(number)))
        returned.append(backend.get(f"e-{number:05d}") is not None)  # durable and visible now

    pool = eventlet.GreenPool(600)
    for number in range(600):
        pool.spawn(apply, number)
    pool.waitall()
    assert returned == [True] * 600
    assert backend.count() == 600
    assert 1 <= backend.commits <= 3  # every commit took 200 or more documents, not one each


def test_a_lone_document_does_not_wait_for_a_full_batch():
    indexer = Indexer(TantivyBackend(None), batch_size=200, max_delay=0.05)
    finished = eventlet.spawn(indexer.apply, document_from_entry(entry(1)))
    # returns after the batch delay; the generous deadline only catches waiting for 199 more
    with eventlet.Timeout(10):
        finished.wait()
    assert indexer.get("e-00001")["version"] == 1


def test_a_failed_commit_fails_every_document_of_the_batch_and_the_next_batch_runs():
    indexer = Indexer(BrokenBackend(None), max_delay=0.02)
    failures = []

    def apply(number):
        try:
            indexer.apply(document_from_entry(entry(number)))
        except IndexWriteFailed as error:
            failures.append(str(error))

    pool = eventlet.GreenPool()
    for number in range(5):
        pool.spawn(apply, number)
    pool.waitall()
    assert len(failures) == 5 and "disk full" in failures[0]
    with pytest.raises(IndexWriteFailed):  # nothing stays stuck behind the failure
        indexer.apply(document_from_entry(entry(9)))


def test_a_document_the_index_refuses_fails_alone_the_rest_of_its_batch_is_stored():
    indexer = Indexer(PickyBackend(None), max_delay=0.05)
    outcomes = {}

    def apply(number):
        try:
            indexer.apply(document_from_entry(entry(number)))
            outcomes[number] = "stored"
        except IndexWriteFailed as error:
            outcomes[number] = str(error)

    pool = eventlet.GreenPool()
    for number in range(6):
        pool.spawn(apply, number)
    pool.waitall()
    assert outcomes == {0: "stored", 1: "stored", 2: "stored", 4: "stored", 5: "stored",
                        3: "the search index could not store the document: document e-00003 is too large"}
    assert all_ids(indexer) == {f"e-{number:05d}" for number in (0, 1, 2, 4, 5)}


def test_group_commit_works_from_real_threads_too():
    indexer = Indexer(TantivyBackend(None), max_delay=0.02)
    threads = [threading.Thread(target=indexer.apply, args=(document_from_entry(entry(n)),)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert indexer.count() == 20


# ---------------------------------------------------------------------- rebuild (unit)

def pages_of(entries, page_size: int, on_page=None):
    """``fetch_page`` over entries (a list, or a callable giving the list at each call),
    keyset-paged like the catalog's ``published_page``."""

    def fetch_page(doc_type, after):
        if on_page:
            on_page(doc_type, after)
        if doc_type != "entry":
            return {"items": [], "next": None}
        ordered = sorted(entries() if callable(entries) else entries, key=lambda item: item["id"])
        rest = [item for item in ordered if after is None or item["id"] > after]
        page = rest[:page_size]
        return {"items": page, "next": page[-1]["id"] if len(page) == page_size else None}

    return fetch_page


def test_rebuild_keeps_serving_the_old_index_and_takes_events_that_arrive_meanwhile():
    indexer = Indexer(TantivyBackend(None), max_delay=0.005)
    catalog = {number: entry(number) for number in range(1, 31)}
    for item in catalog.values():
        indexer.apply(document_from_entry(item))
    indexer.apply(document_from_entry(entry(99)))  # in the index, no longer in the catalog: a rebuild drops it
    seen_during = []

    def during_rebuild(doc_type, after):
        seen_during.append(len(all_ids(indexer)))
        if doc_type == "entry" and after == "e-00010":
            # the catalog changes while the rebuild pages; the events arrive meanwhile
            catalog[5] = entry(5, version=2, title="Bürgerladen")          # already paged
            catalog[25] = entry(25, version=2, title="Kulturscheune")      # not yet paged
            indexer.apply(document_from_entry(catalog[5]))
            indexer.apply(document_from_entry(catalog[25]))
            gone = catalog.pop(20)
            indexer.apply(tombstone(gone["id"], 2))
            catalog[40] = entry(40)
            indexer.apply(document_from_entry(catalog[40]))

    progress = indexer.rebuild(pages_of(lambda: list(catalog.values()), 10, during_rebuild))
    assert progress["state"] == "done" and progress["error"] is None and progress["finished_at"]
    assert min(seen_during) >= 30  # searches used the complete old index throughout
    assert all_ids(indexer) == {item["id"] for item in catalog.values()}
    assert indexer.get("e-00005")["title"] == "Bürgerladen"
    assert indexer.get("e-00025")["version"] == 2
    assert indexer.get("e-00099") is None


def test_one_rebuild_at_a_time_and_a_failed_rebuild_leaves_the_old_index():
    indexer = Indexer(TantivyBackend(None), max_delay=0.005)
    for number in range(1, 6):
        indexer.apply(document_from_entry(entry(number)))
    indexer.claim_rebuild()
    with pytest.raises(Conflict):
        indexer.rebuild(pages_of([], 10))

    def catalog_down(doc_type, after):
        raise TimeoutError("the catalog sent no page within 60s")

    progress = indexer.run_claimed_rebuild(catalog_down)
    assert (progress["state"], progress["error"]) == ("failed", "the catalog sent no page within 60s")
    assert len(all_ids(indexer)) == 5
    indexer.apply(document_from_entry(entry(6)))  # events still land in the serving index
    assert len(all_ids(indexer)) == 6
    assert indexer.rebuild(pages_of([entry(7)], 10))["state"] == "done"
    assert all_ids(indexer) == {"e-00007"}


class RebuildRefusingLiveEvents(TantivyBackend):
    """The real index, whose rebuild refuses documents once ``refuse`` is set (as a rebuild
    on a failing disk would): only the events written meanwhile hit it."""

    refuse = False

    def start_rebuild(self):
        rebuild = super().start_rebuild()
        backend = self
        upsert = rebuild.upsert

        def refusing(documents):
            if backend.refuse:
                raise OSError("no space left on device")
            return upsert(documents)

        rebuild.upsert = refusing
        return rebuild


def test_a_live_event_that_cannot_reach_the_rebuild_fails_the_rebuild_not_the_index():
    backend = RebuildRefusingLiveEvents(None)
    indexer = Indexer(backend, max_delay=0.005)
    for number in range(1, 4):
        indexer.apply(document_from_entry(entry(number)))

    def during(doc_type, after):
        if doc_type == "entry" and after is not None:  # between two pages, an event arrives
            backend.refuse = True
            indexer.apply(document_from_entry(entry(2, version=2, title="Bürgerladen")))
            backend.refuse = False

    progress = indexer.rebuild(pages_of([entry(number) for number in range(1, 4)], 1, during))
    assert progress["state"] == "failed"
    assert progress["error"] == "an event could not be written into the rebuild: no space left on device"
    # the serving index kept everything, the event included, and was not replaced
    assert all_ids(indexer) == {"e-00001", "e-00002", "e-00003"}
    assert indexer.get("e-00002")["title"] == "Bürgerladen"
    assert indexer.rebuild(pages_of([entry(1), entry(2, version=2, title="Bürgerladen")], 10))["state"] == "done"
    assert all_ids(indexer) == {"e-00001", "e-00002"}


def test_a_cancelled_rebuild_leaves_the_serving_index_and_no_half_built_one(tmp_path):
    backend = TantivyBackend(str(tmp_path / "index"))
    indexer = Indexer(backend, max_delay=0.005)
    for number in range(1, 4):
        indexer.apply(document_from_entry(entry(number)))
    paged = eventlet.event.Event()

    def slow_catalog(doc_type, after):
        if after is not None:
            paged.send()
            eventlet.sleep(60)  # the catalog hangs; the operator stops the rebuild
        return pages_of([entry(number) for number in range(1, 10)], 2)(doc_type, after)

    running = eventlet.spawn(indexer.rebuild, slow_catalog)
    paged.wait()
    generations = sorted(name for name in os.listdir(tmp_path / "index") if name.startswith("gen-"))
    assert len(generations) == 2  # the serving one and the one being built
    running.kill()  # as when the search process stops mid-rebuild
    assert (indexer.progress()["state"], indexer.progress()["error"]) == ("failed", "GreenletExit")
    assert sorted(name for name in os.listdir(tmp_path / "index") if name.startswith("gen-")) == generations[:1]
    assert all_ids(indexer) == {"e-00001", "e-00002", "e-00003"}
    assert indexer.rebuild(pages_of([entry(7)], 10))["state"] == "done"  # the next one may run
    assert all_ids(indexer) == {"e-00007"}
    backend.close()


# ---------------------------------------------------------------------- rebuild of the running service

def searchable_versions(search) -> dict[str, int]:
    found, page = {}, 1
    while True:
        result = search.search({"per_page": 100, "page": page, "sort": "newest"})
        found.update({item["id"]: item["version"] for item in result["items"]})
        if page * 100 >= result["total"]:
            return found
        page += 1


def published_versions(catalog) -> dict[str, int]:
    found = {}
    for doc_type in ("entry", "article"):
        after = None
        while True:
            page = catalog.published_page({"type": doc_type, "after": after, "limit": 100})
            found.update({item["id"]: item.get("version", 1) for item in page["items"]})
            after = page["next"]
            if not after:
                break
    return found


@pytest.fixture
def service(rabbit_config, rabbit_uri, runner_factory, catalog_database, index_path):
    broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService))
    # small pages: the rebuild takes many round trips (about 40), so writes and searches
    # interleave with it; a rebuild commits only at its end, so little else slows it down
    runner = runner_factory(search_config(catalog_database, index_path, REBUILD_PAGE_SIZE=3),
                            CatalogService, SearchService)
    runner.start()
    with staff_rpc(rabbit_uri, ADMIN) as rpc:
        yield rpc


def test_rebuild_during_a_stream_of_catalog_writes_ends_equal_to_the_catalog(service, rabbit_uri):
    rpc = service
    records = [entry_data(title=f"Dorfladen {number}", summary=f"Laden Nummer {number}") for number in range(120)]
    imported = rpc.catalog.import_records(records)
    assert all("id" in result for result in imported), imported[:3]
    rpc.catalog.create_article({"type": "article", "title": "Was ist soziale Innovation?",
                                "body": "Neue Praktiken.", "themes": []})
    assert wait_for(lambda: rpc.search.health()["documents"] == 121, seconds=20)
    initial = [result["id"] for result in imported]
    withdrawn_initial = set(initial[:10])

    stop = eventlet.event.Event()
    writes = {"count": 0, "withdrawn": []}

    def write_stream():
        """Creates, updates and withdrawals, one after another, until the rebuild is over."""
        with staff_rpc(rabbit_uri, ADMIN) as writer:
            number = 0
            while not stop.ready() or number < 30:
                target = initial[number % len(initial)]
                step = number % 3
                if step == 0:
                    writer.catalog.create_entry(entry_data(title=f"Neu {number}"))
                elif step == 1:
                    current = writer.catalog.get_entry(target)
                    if current["status"] == "published":
                        writer.catalog.update_entry(target, {"summary": f"Geändert {number}"},
                                                    current["version"])
                elif target in withdrawn_initial:
                    current = writer.catalog.get_entry(target)
                    if current["status"] == "published":
                        writer.catalog.withdraw_entry(target)
                        writes["withdrawn"].append(target)
                number += 1
                writes["count"] = number
                eventlet.sleep(0)

    writer = eventlet.spawn(write_stream)
    eventlet.sleep(0.05)
    assert rpc.search.reindex()["state"] == "running"
    with pytest.raises(Conflict):
        rpc.search.reindex()
    totals_during = []
    status = rpc.search.reindex_status()
    while status["state"] == "running":
        totals_during.append(rpc.search.search({"per_page": 1})["total"])
        status = rpc.search.reindex_status()
    stop.send()
    writer.wait()

    assert status["state"] == "done", status
    assert status["done"] >= 100 and status["finished_at"]  # what the catalog held while paged
    assert totals_during, "the rebuild ended before a search could run during it"
    # the old index served complete results throughout (a half-built one would show fewer)
    assert min(totals_during) >= 121 - len(withdrawn_initial)
    assert writes["count"] >= 30
    assert wait_for(lambda: searchable_versions(rpc.search) == published_versions(rpc.catalog), seconds=20)
    assert writes["withdrawn"] and not set(writes["withdrawn"]) & set(searchable_versions(rpc.search))
    assert broker.dead_letters(rabbit_uri) == []
    assert rpc.search.reindex_status()["state"] == "done"


# ---------------------------------------------------------------------- an empty index refills itself

def test_search_deployed_beside_a_full_catalog_refills_its_empty_index(rabbit_config, rabbit_uri, runner_factory,
                                                                        catalog_database, index_path):
    # the catalog runs alone first: its events reach no search queue (they are unroutable)
    config = search_config(catalog_database, index_path, REBUILD_PAGE_SIZE=7)
    runner_factory(config, CatalogService).start()
    with staff_rpc(rabbit_uri, ADMIN) as rpc:
        imported = rpc.catalog.import_records([entry_data(title=f"Hofladen {n}") for n in range(30)])
        assert all("id" in result for result in imported), imported[:3]
        rpc.catalog.withdraw_entry(imported[0]["id"])
        # then search is deployed, with an empty index and nobody running `kosi search reindex`
        broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService))
        runner_factory(config, SearchService).start()
        assert wait_for(lambda: rpc.search.reindex_status()["state"] == "done", seconds=20)
        assert searchable_versions(rpc.search) == published_versions(rpc.catalog)
        assert len(searchable_versions(rpc.search)) == 29
        # the check ran once: later changes arrive as events, no second rebuild starts
        finished = rpc.search.reindex_status()["finished_at"]
        rpc.catalog.withdraw_entry(imported[1]["id"])
        assert wait_for(lambda: len(searchable_versions(rpc.search)) == 28, seconds=10)
        assert rpc.search.reindex_status()["finished_at"] == finished


def test_an_empty_index_beside_an_empty_catalog_starts_no_rebuild(rabbit_config, rabbit_uri, runner_factory,
                                                                  catalog_database, index_path):
    broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService))
    runner_factory(search_config(catalog_database, index_path), CatalogService, SearchService).start()
    with staff_rpc(rabbit_uri, ADMIN) as rpc:
        assert rpc.search.health()["empty_index_check"] == "pending"
        assert wait_for(lambda: rpc.search.health()["empty_index_check"] == "done", seconds=15)
        assert rpc.search.reindex_status()["state"] == "idle"
        rpc.catalog.import_records([entry_data(title="Dorfladen")])
        assert wait_for(lambda: rpc.search.health()["documents"] == 1, seconds=10)
        assert rpc.search.reindex_status()["state"] == "idle"
