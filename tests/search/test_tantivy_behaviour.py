"""The shared behaviour suite on the embedded tantivy backend, plus what only it has:
index generations on disk and reopening."""
import os

import pytest

from services.search.tantivy_backend import TantivyBackend
from tests.search.behaviour import *  # noqa: F401,F403
from tests.search.behaviour import CORPUS, search


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
