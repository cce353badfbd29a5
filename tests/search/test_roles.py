"""Search split into roles: a reader of an index folder another backend writes, the
rebuild requests a query process leaves for the writer, and the role settings. The
processes themselves run in ``tests/platform/test_deployed_services.py``."""
import pytest
from click.testing import CliRunner

from cli.main import main as kosi
from kernel.errors import Conflict
from services.search.indexer import search_role
from services.search.rebuild_requests import RebuildRequests
from services.search.tantivy_backend import IndexNotReady, TantivyBackend
from tests.search.behaviour import CORPUS, _doc, ids, search


@pytest.fixture
def writer(tmp_path):
    backend = TantivyBackend(str(tmp_path))
    yield backend
    backend.close()


def test_a_reader_before_the_writer_made_an_index_says_it_is_not_ready(tmp_path):
    reader = TantivyBackend(str(tmp_path / "index"), writable=False)
    with pytest.raises(IndexNotReady):
        search(reader, q="Pflegeheim")
    writer = TantivyBackend(str(tmp_path / "index"))
    writer.upsert([dict(d) for d in CORPUS])
    assert "e-pflegeheim" in ids(search(reader, q="Pflegeheim"))
    writer.close()


def test_a_reader_sees_each_commit_and_never_a_cached_answer_of_before(writer, tmp_path):
    writer.upsert([dict(d) for d in CORPUS])
    reader = TantivyBackend(str(tmp_path), writable=False)
    assert ids(search(reader, q="Rufbus")) == []
    writer.upsert([_doc("e-rufbus", "project", "Rufbus im Fläming")])
    assert ids(search(reader, q="Rufbus")) == ["e-rufbus"]
    writer.upsert([{"id": "e-rufbus", "version": 2, "deleted": True}])
    assert ids(search(reader, q="Rufbus")) == []
    assert reader.count() == writer.count()


def test_a_reader_follows_the_switch_to_a_rebuilt_generation(writer, tmp_path):
    writer.upsert([dict(d) for d in CORPUS])
    reader = TantivyBackend(str(tmp_path), writable=False)
    assert reader.count() == len(CORPUS)
    rebuild = writer.start_rebuild()
    rebuild.upsert([_doc("e-neu", "idea", "Tauschbörse Wernigerode")])
    assert reader.count() == len(CORPUS)          # the old generation serves until the switch
    rebuild.finish()
    assert reader.count() == 1
    assert ids(search(reader, q="Tauschbörse")) == ["e-neu"]


def test_a_reader_refuses_to_write(writer, tmp_path):
    reader = TantivyBackend(str(tmp_path), writable=False)
    with pytest.raises(RuntimeError, match="reading only"):
        reader.upsert([_doc("e-x", "idea", "Nichts")])
    with pytest.raises(RuntimeError, match="reading only"):
        reader.start_rebuild()
    with pytest.raises(ValueError):
        TantivyBackend(None, writable=False)


def test_a_rebuild_request_is_taken_once_and_its_progress_is_seen_by_the_readers(tmp_path):
    asking, writing = RebuildRequests(str(tmp_path)), RebuildRequests(str(tmp_path))
    assert asking.progress()["state"] == "idle"
    assert asking.request()["state"] == "requested"
    with pytest.raises(Conflict):
        asking.request()                              # two at once make one rebuild
    assert writing.pending()
    writing.publish({"state": "running", "done": 0, "total_hint": 5, "started_at": "t", "finished_at": None,
                     "error": None})
    writing.taken()
    assert not writing.pending()
    assert asking.progress()["state"] == "running"
    with pytest.raises(Conflict):
        asking.request()
    writing.publish({"state": "done", "done": 5, "total_hint": 5, "started_at": "t", "finished_at": "u",
                     "error": None})
    assert asking.progress()["state"] == "done" and asking.progress()["done"] == 5
    assert asking.request()["state"] == "requested"  # the next one may be asked for


def test_roles_are_checked_where_they_are_set(tmp_path):
    index = {"SEARCH_INDEX_PATH": str(tmp_path)}
    assert search_role({}) == "all"
    assert search_role({**index, "SEARCH_ROLE": "query"}) == "query"
    with pytest.raises(ValueError, match="one of"):
        search_role({**index, "SEARCH_ROLE": "reader"})
    with pytest.raises(ValueError, match="Elasticsearch"):
        search_role({**index, "SEARCH_ROLE": "query", "SEARCH_BACKEND": "elasticsearch"})
    with pytest.raises(ValueError, match="SEARCH_INDEX_PATH"):
        search_role({"SEARCH_ROLE": "index", "SEARCH_INDEX_PATH": ""})
    refused = CliRunner().invoke(kosi, ["serve", "search", "--role", "reader"])
    assert refused.exit_code == 2 and "all, index, query" in refused.output
    refused = CliRunner().invoke(kosi, ["serve", "catalog", "--role", "query"])
    assert refused.exit_code == 2 and "no roles" in refused.output
