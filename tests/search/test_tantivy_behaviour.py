"""The shared behaviour suite on the embedded tantivy backend, plus what only it has:
index generations on disk and reopening, and words found in the middle of compounds
(Elasticsearch's compound subfield holds prefixes and suffixes only)."""
import math
import os

import pytest

from services.search.backend import SearchQuery
from services.search.tantivy_backend import TantivyBackend
from tests.search.behaviour import *  # noqa: F401,F403
from tests.search.behaviour import CORPUS, _doc, facet_counts, ids, marked, search


@pytest.fixture
def backend():
    backend = TantivyBackend(None)
    yield backend
    backend.close()


def test_an_index_on_disk_survives_reopening(tmp_path):
    first = TantivyBackend(str(tmp_path))
    first.upsert([dict(d) for d in CORPUS])
    first.upsert([{"id": "e-dorfladen", "version": 2, "deleted": True}])
    first.close()
    del first
    again = TantivyBackend(str(tmp_path))
    assert again.count() == len(CORPUS) - 1
    assert "e-pflegeheim" in [i["id"] for i in search(again, q="Pflegeheim").items]
    # versions are remembered: the stale published version stays hidden
    assert again.upsert([dict(next(d for d in CORPUS if d["id"] == "e-dorfladen"))]) == 0
    again.close()


def test_a_rebuild_on_disk_switches_the_current_generation(tmp_path):
    backend = TantivyBackend(str(tmp_path))
    backend.upsert([dict(d) for d in CORPUS])
    before = (tmp_path / "current").read_text()
    rebuild = backend.start_rebuild()
    rebuild.upsert([dict(CORPUS[0])])
    assert (tmp_path / "current").read_text() == before
    rebuild.finish()
    after = (tmp_path / "current").read_text()
    assert after != before
    assert not (tmp_path / before).exists() and (tmp_path / after).is_dir()
    assert backend.count() == 1
    backend.close()
    del backend
    reopened = TantivyBackend(str(tmp_path))
    assert reopened.count() == 1
    reopened.close()


def test_an_aborted_rebuild_on_disk_leaves_no_directory(tmp_path):
    backend = TantivyBackend(str(tmp_path))
    backend.upsert([dict(CORPUS[0])])
    rebuild = backend.start_rebuild()
    rebuild.upsert([dict(CORPUS[1])])
    rebuild.abort()
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("gen-")) == [(tmp_path / "current").read_text()]
    assert backend.count() == 1
    backend.close()


def test_a_rebuild_left_behind_by_a_crash_is_removed_on_open(tmp_path):
    backend = TantivyBackend(str(tmp_path))
    backend.upsert([dict(CORPUS[0])])
    rebuild = backend.start_rebuild()
    rebuild.upsert([dict(CORPUS[1])])
    rebuild._generation.close()   # the process "dies" before finish(): writers go, files stay
    backend._generation.close()
    assert len([n for n in os.listdir(tmp_path) if n.startswith("gen-")]) == 2
    del backend, rebuild
    reopened = TantivyBackend(str(tmp_path))
    assert [n for n in os.listdir(tmp_path) if n.startswith("gen-")] == [(tmp_path / "current").read_text()]
    assert reopened.count() == 1 and reopened.get(CORPUS[0]["id"]) is not None
    reopened.close()


def test_a_second_backend_on_the_same_directory_is_refused(tmp_path):
    backend = TantivyBackend(str(tmp_path))
    with pytest.raises(ValueError):
        TantivyBackend(str(tmp_path))
    backend.close()


def test_a_word_finds_compounds_that_have_it_in_the_middle(searchable):
    searchable.upsert([
        _doc("e-heimbeirat", "project", "Neuer Beirat im Altenpflegeheim",
             tags=["Seniorenwohngemeinschaften"]),
        _doc("e-kochen", "idea", "Mittagstisch im Dorf", "Gemeinsame Verpflegung der Nachbarn."),
    ])
    searchable.refresh()
    result = search(searchable, q="Pflege")
    found = ids(result)
    assert "e-heimbeirat" in found
    assert "e-kochen" not in found        # only the full word counts inside, not "pfleg"
    # every other Pflege match (whole word, start or end of a compound) ranks above
    assert found[-1] == "e-heimbeirat"
    item = next(i for i in result.items if i["id"] == "e-heimbeirat")
    assert marked(item["highlight"]["title"]) == ["Altenpflegeheim"]
    assert "e-heimbeirat" in ids(search(searchable, q="Wohngemeinschaft"))   # in a tag
    assert ids(search(searchable, q="Beirat Pflege")) == ["e-heimbeirat"]


def test_a_word_inside_a_compound_is_found_in_titles_summaries_and_tags_not_bodies(backend):
    backend.upsert([
        _doc("e-summary", "project", "Heimbeirat", "Ein Beirat im Altenpflegeheim."),
        _doc("e-body", "project", "Heimbeirat", body="Ein Beirat im Altenpflegeheim."),
    ])
    backend.refresh()
    assert ids(search(backend, q="Pflege")) == ["e-summary"]


def test_an_index_with_an_older_schema_is_replaced_and_flagged_for_rebuild(tmp_path):
    import tantivy

    old_builder = tantivy.SchemaBuilder()
    old_builder.add_text_field("title", stored=True)
    (tmp_path / "gen-000001").mkdir()
    old = tantivy.Index(old_builder.build(), path=str(tmp_path / "gen-000001"))
    writer = old.writer()
    writer.add_document(tantivy.Document(title="aus einer alten Version"))
    writer.commit()
    writer.wait_merging_threads()
    del writer, old
    (tmp_path / "current").write_text("gen-000001")

    backend = TantivyBackend(str(tmp_path))
    try:
        assert backend.needs_rebuild and backend.count() == 0
        assert (tmp_path / "current").read_text() == "gen-000002"
        rebuild = backend.start_rebuild()
        rebuild.upsert([_doc("e1", "project", "Dorfladen")])
        rebuild.finish()
        assert not backend.needs_rebuild and backend.count() == 1
    finally:
        backend.close()


def test_a_rebuild_commits_once_and_a_newer_version_replaces_an_uncommitted_one(tmp_path):
    backend = TantivyBackend(str(tmp_path))
    try:
        rebuild = backend.start_rebuild()
        rebuild.upsert([_doc("e1", "project", "Dorfladen", version=1)])
        backend.upsert([_doc("e1", "project", "Dorfladen mit Café", version=2)])   # a live event
        rebuild.upsert([_doc("e2", "idea", "Mitfahrbank", version=1)])
        rebuild.upsert([{**_doc("e2", "idea", "Mitfahrbank", version=2), "deleted": True}])
        # nothing of the rebuild is committed yet: its generation has no searchable document
        generation = rebuild._generation
        generation.index.reload()
        assert generation.index.searcher().num_docs == 0
        rebuild.finish()
        assert backend.count() == 1
        assert backend.get("e1")["title"] == "Dorfladen mit Café"
        assert ids(search(backend, q="Dorfladen")) == ["e1"]
    finally:
        backend.close()


def test_a_failed_write_into_a_rebuild_breaks_it_instead_of_losing_pages_silently(tmp_path):
    backend = TantivyBackend(str(tmp_path))
    try:
        backend.upsert([_doc("e0", "project", "Altes Projekt")])
        rebuild = backend.start_rebuild()
        rebuild.upsert([_doc("e1", "project", "Dorfladen")])
        generation = rebuild._generation

        class FailingWriter:          # a disk that fails on the next document
            def __getattr__(self, name):
                return getattr(writer, name)

            def add_document(self, document):
                raise OSError("No space left on device")

        writer, generation.writer = generation.writer, FailingWriter()
        with pytest.raises(OSError):
            rebuild.upsert([_doc("e2", "idea", "Mitfahrbank")])
        generation.writer = writer
        with pytest.raises(RuntimeError, match="lost uncommitted documents"):
            rebuild.finish()
        backend.upsert([_doc("e3", "event", "Sommerfest")])   # live writes go on, into the old index
        rebuild.abort()
        assert sorted(n for n in os.listdir(tmp_path) if n.startswith("gen-")) == [(tmp_path / "current").read_text()]
        assert backend.count() == 2 and backend.get("e0") and backend.get("e3")
    finally:
        backend.close()


def test_ranking_by_distance_through_growing_boxes_equals_measuring_every_match(backend, monkeypatch):
    import random

    from services.search import tantivy_backend
    from services.search.tantivy_backend import haversine_km

    monkeypatch.setattr(tantivy_backend, "MEASURE_ALL_UP_TO", 20)   # the box path, on a small index
    rng = random.Random(7)
    docs = []
    for number in range(300):
        at = None if number % 10 == 0 else (rng.uniform(51.0, 53.0), rng.uniform(10.6, 13.2))
        docs.append(_doc(f"e{number:03d}", "project", f"Garten {number}", at=at))
    docs += [_doc("twin-a", "idea", "Garten doppelt", at=(52.0, 12.0)),
             _doc("twin-b", "idea", "Garten doppelt", at=(52.0, 12.0))]          # the same distance
    backend.upsert(docs)
    backend.refresh()
    located = [d for d in docs if d["location"]]
    for point in ((52.12, 11.63), (51.0, 13.2), (52.0, 12.0), (60.0, 20.0)):
        distances = sorted(round(haversine_km(*point, d["location"]["lat"], d["location"]["lon"]), 3)
                           for d in located)
        for page, per_page in ((1, 5), (3, 7), (20, 10), (28, 10)):
            result = search(backend, q="Garten", near=point, sort="distance", page=page, per_page=per_page)
            assert result.total == len(docs)
            start = (page - 1) * per_page
            expected = (distances + [None] * (len(docs) - len(located)))[start:start + per_page]
            assert [item["distance_km"] for item in result.items] == expected


def test_a_match_just_outside_the_first_box_beats_one_in_its_far_corner(backend, monkeypatch):
    from services.search import tantivy_backend

    monkeypatch.setattr(tantivy_backend, "MEASURE_ALL_UP_TO", 2)
    point = (52.0, 12.0)
    km_lat = 1 / 111.2                                   # degrees of latitude per km, about
    km_lon = km_lat / math.cos(math.radians(52.0))
    corners = [_doc(f"corner-{n}", "project", "Garten", at=(52.0 + sy * 4.8 * km_lat, 12.0 + sx * 4.8 * km_lon))
               for n, (sy, sx) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1)))]   # ~6.8 km, in the 5 km box
    north = [_doc(f"north-{n}", "project", "Garten", at=(52.0 + 5.5 * km_lat, 12.0 + n * 0.1 * km_lon))
             for n in range(2)]                                                     # ~5.5 km, outside it
    backend.upsert(corners + north)
    backend.refresh()
    result = search(backend, q="Garten", near=point, sort="distance", per_page=2)
    assert sorted(ids(result)) == ["north-0", "north-1"]
    assert [i["id"] for i in search(backend, q="Garten", near=point, sort="distance").items][:2] == ids(result)


def test_a_radius_excludes_the_same_ids_by_term_set_or_by_single_terms(backend, monkeypatch):
    import random

    from services.search import tantivy_backend

    rng = random.Random(11)
    backend.upsert([_doc(f"e{n:03d}", "project", "Garten", themes=[rng.choice(["alter", "wohnen"])],
                         at=(rng.uniform(51.9, 52.3), rng.uniform(11.4, 11.9))) for n in range(200)])
    backend.refresh()
    results = []
    for threshold in (1, 10**9):              # every list as one term set / as single terms
        monkeypatch.setattr(tantivy_backend, "TERM_SET_FROM", threshold)
        result = search(backend, q="Garten", near=(52.12, 11.63), radius_km=8, per_page=100)
        results.append((result.total, sorted(ids(result)), result.facets))
    assert results[0] == results[1]
    assert 0 < results[0][0] < 200


def test_a_repeated_query_is_answered_from_the_results_of_the_same_index_state(backend):
    backend.upsert([_doc("e-1", "project", "Dorfladen Wippra")])
    first = backend.search(SearchQuery(q="Dorfladen"))
    assert backend.search(SearchQuery(q="Dorfladen")) is first  # the same answer, not searched again
    assert backend.search(SearchQuery(q="Dorfladen", per_page=5)) is not first  # another question
    backend.upsert([_doc("e-2", "idea", "Dorfladen Halle")])  # a commit: a new state
    assert ids(backend.search(SearchQuery(q="Dorfladen"))) != ids(first)
    assert len(ids(backend.search(SearchQuery(q="Dorfladen")))) == 2
    backend.upsert([{**_doc("e-1", "project", "Dorfladen Wippra"), "version": 99, "deleted": True}])
    assert ids(backend.search(SearchQuery(q="Dorfladen"))) == ["e-2"]


def test_answers_and_facet_counts_are_kept_per_index_state(backend):
    """A query asked again is answered from the results of the same index state; the facet
    counts are shared by the pages and orders of one query; a commit renews both."""
    backend.upsert([_doc(f"e-laden-{n}", "project", f"Dorfladen {n}", themes=["wohnen"], region="15085")
                    for n in range(3)])
    first = search(backend, q="Dorfladen", per_page=2)
    assert search(backend, q="Dorfladen", per_page=2) is first
    second_page = search(backend, q="Dorfladen", per_page=2, page=2, sort="newest")
    assert second_page.facets is first.facets
    assert facet_counts(first, "theme") == {"wohnen": 3}
    backend.upsert([_doc("e-laden-neu", "idea", "Dorfladen Neu", themes=["wohnen"], region="15085")])
    again = search(backend, q="Dorfladen", per_page=2)
    assert again is not first and again.total == 4
    assert facet_counts(again, "theme") == {"wohnen": 4}
    assert facet_counts(search(backend, q="Dorfladen", per_page=2, page=2), "kind") == {"project": 3, "idea": 1}
