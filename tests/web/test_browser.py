"""The web client in a real browser (web/tests/browser.mjs: Debian's Chromium driven by
playwright-core, axe-core on each page) against `kosi run` with the demo data, as a person
would use it: the map, a search, a filter, panning, a cluster, a marker, an entry, back, the
themes, an article, submitting an idea (a field error first, then the receipt), the API docs,
a phone. Screenshots of each step land in var/test-output/browser/."""
import json
import shutil
import subprocess

import pytest
import requests

from tests.platform.deployment import REPO
from tests.platform.test_make_run import DEMO, kosi, kosi_run
from tests.wait import wait_for

SCREENSHOTS = REPO / "var" / "test-output" / "browser"


def test_a_visitor_finds_entries_on_the_map_and_in_the_search(rabbit_config, rabbit_uri, tmp_path):
    assert (REPO / "web" / "dist" / "index.html").exists(), "the web client is not built: make web"
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is needed: make tools installs it")
    published = [entry for entry in DEMO if entry.get("status", "published") == "published"]
    with kosi_run(rabbit_uri, tmp_path) as (base, env):
        assert wait_for(lambda: requests.get(f"{base}/search", params={"per_page": 1},
                                             timeout=10).json()["total"] >= len(published), seconds=60)
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
        done = subprocess.run(["node", "tests/browser.mjs"], cwd=REPO / "web", capture_output=True, text=True,
                              timeout=300, env={"PATH": env["PATH"], "HOME": str(tmp_path),
                                                "KOSI_ORIGIN": base.removesuffix("/api/v1"),
                                                "KOSI_SCREENSHOTS": str(SCREENSHOTS)})
        submitted = _submissions(base, tmp_path, env) if done.returncode == 0 else []
        public = requests.get(f"{base}/search", params={"q": "Repair-Café Dorfgemeinschaftshaus Wettin"},
                              timeout=10).json()["items"]
    measured = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    print(json.dumps(measured, ensure_ascii=False, indent=1))
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-2000:]
    steps = [step["name"] for step in measured["steps"]]
    assert steps == ["karte", "suche", "filter", "karte-verschoben", "cluster", "markierung", "eintrag", "zurueck",
                     "themen", "wissen", "einreichen-fehler", "einreichen", "api-dokumentation", "handy"]
    assert len(list(SCREENSHOTS.glob("*.png"))) == len(steps)
    assert measured["first_load_bytes"] < 400_000, measured["first_load_bytes"]   # a slow connection
    assert any("Titel" in error for error in measured["field_errors"])
    # the idea went in as a submission, with the contact for the editors only: not public until published
    mine = [entry for entry in submitted if entry["title"] == "Repair-Café Dorfgemeinschaftshaus Wettin"]
    assert [(entry["id"], entry["kind"], entry["contact"]["email"]) for entry in mine] == [
        (measured["receipt"], "idea", "mitmachen@example.org")]
    assert measured["receipt"] not in {item["id"] for item in public}


def _submissions(base, folder, env) -> list[dict]:
    token = kosi("token", "--role", "editor", cwd=folder, env=env).stdout.strip()
    return requests.get(f"{base}/entries", params={"status": "submitted", "per_page": 100}, timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).json()["items"]
