"""The web client in a real browser (web/tests/browser.mjs: Debian's Chromium driven by
playwright-core, axe-core on each page) against `kosi run` with the demo data and its local
SMTP sink, as people would use it: a visitor on the map, searching, filtering, panning,
clicking a cluster and a marker, an entry, back, the themes, an article; submitting an idea (a
field error first, then the receipt); answering the demo survey (a condition, a field error,
then the receipt), the closed poll's results; subscribing from a search and confirming from the
mail; an editor logging in with a token, rejecting one submission with a reason and publishing
the idea (its submitter is mailed), an edit that meets someone else's save (409) and is carried
over, the survey's results and CSV, a newsletter previewed and sent; the subscriber's alert
mail, its preferences page and unsubscribing; the API docs, a phone. Screenshots of each step
land in var/test-output/browser/."""
import json
import shutil
import subprocess

import pytest
import requests

from tests.platform.deployment import REPO
from tests.platform.test_make_run import DEMO, kosi, kosi_run
from tests.wait import wait_for

SCREENSHOTS = REPO / "var" / "test-output" / "browser"


def test_visitors_and_editors_use_the_web_client(rabbit_config, rabbit_uri, tmp_path):
    assert (REPO / "web" / "dist" / "index.html").exists(), "the web client is not built: make web"
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is needed: make tools installs it")
    published = [entry for entry in DEMO if entry.get("status", "published") == "published"]
    with kosi_run(rabbit_uri, tmp_path, ALERT_BATCH_SECONDS="5") as (base, env):
        assert wait_for(lambda: requests.get(f"{base}/search", params={"per_page": 1},
                                             timeout=10).json()["total"] >= len(published), seconds=60)
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
        editor = kosi("token", "--role", "editor", cwd=tmp_path, env=env).stdout.strip()
        done = subprocess.run(["node", "tests/browser.mjs"], cwd=REPO / "web", capture_output=True, text=True,
                              timeout=300, env={"PATH": env["PATH"], "HOME": str(tmp_path),
                                                "KOSI_ORIGIN": base.removesuffix("/api/v1"),
                                                "KOSI_SCREENSHOTS": str(SCREENSHOTS),
                                                "KOSI_MAIL": str(tmp_path / "var" / "mail"), "KOSI_STAFF_TOKEN": editor})
        measured = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
        if done.returncode == 0:
            staff_view = _get(f"{base}/entries/{measured['receipt']}", editor)
            public_view = _get(f"{base}/entries/{measured['receipt']}")
            rejected = _get(f"{base}/entries", editor, status="rejected", per_page=100)["items"]
            gone = [requests.get(f"{base}/entries/{entry['id']}", timeout=10).status_code for entry in rejected]
    print(json.dumps(measured, ensure_ascii=False, indent=1))
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-2000:]
    steps = [step["name"] for step in measured["steps"]]
    assert steps == ["karte", "suche", "filter", "karte-verschoben", "cluster", "markierung", "eintrag", "zurueck",
                     "themen", "wissen", "einreichen-fehler", "einreichen", "umfrage-fehler", "umfrage-gesendet",
                     "ergebnisse", "abonnieren", "bestaetigt", "redaktion-anmeldung", "pruefen", "bearbeiten-konflikt",
                     "bearbeiten-gespeichert", "umfrage-auswertung", "newsletter", "einstellungen", "api-dokumentation", "handy"]
    assert len(list(SCREENSHOTS.glob("*.png"))) == len(steps)
    assert measured["first_load_bytes"] < 200_000, measured["first_load_bytes"]   # a slow connection (113 KB here)
    assert any("Titel" in error for error in measured["field_errors"])
    # the idea went in as a submission with the contact for the editors only; an editor published it in the
    # review queue and the submitter was mailed; the contact is in no public read
    assert (staff_view["kind"], staff_view["status"], staff_view["contact"]["email"]) == (
        "idea", "published", "mitmachen@example.org")
    assert "contact" not in public_view and public_view["title"] == "Repair-Café Dorfgemeinschaftshaus Wettin"
    assert "Repair-Café" in measured["review_mail"]
    # the other one was rejected with its reason, which only staff (and the submitter's mail) see
    assert [entry["rejection_reason"] for entry in rejected if entry["title"] == measured["rejected"]] == [
        "Das Vorhaben liegt außerhalb Sachsen-Anhalts."]
    assert gone and set(gone) == {404}   # a rejected entry is no public read at all
    # the survey's number error was said in German next to its question; the newsletter reached everyone
    assert "0 bis 100" in measured["survey_error"] and measured["newsletter_mail"] == "Neues aus dem Kompetenzzentrum"
    assert measured["csv_lines"] >= 2 and "Repair-Café" in measured["alert_mail"]


def _get(url, token=None, **params) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(url, params=params, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()
