"""Surveys over HTTP: the real gateway, survey and catalog services, RabbitMQ, PostgreSQL.

A staff member defines and publishes a survey, the public takes part, results and exports
come out; every invalid answer is a 422 naming its question, never a 5xx.
"""
import copy
import logging
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from gateway.service import GatewayService
from services.catalog.service import CatalogService
from services.survey.service import SurveyService
from tests.databases import fresh_catalog_database, fresh_service_database
from tests.gateway.test_http import API, TEST_AUTH, assert_problem, bearer, entry_data
from tests.identity import GATEWAY_SIGNING, SERVICE_TRUST
from tests.survey.conftest import EVERY_TYPE, GOOD_ANSWERS, SETTINGS

PROBLEM = "application/problem+json"


def survey_config(catalog_url, survey_url, **extra):
    return {"CATALOG_DATABASE_URL": catalog_url, "SURVEY_DATABASE_URL": survey_url,
            "SURVEY_TOKEN_SECRET": SETTINGS.token_secret, "AUTH": TEST_AUTH, "RPC_TIMEOUT": 10,
            "READY_SERVICES": ["catalog", "survey"], **SERVICE_TRUST, **GATEWAY_SIGNING,
            "PARTICIPATION_PER_CLIENT": 10_000, "PARTICIPATION_PER_SURVEY": 10_000, "serializer": "json", **extra}


@pytest.fixture
def databases():
    return (fresh_catalog_database("kosi_test_survey_http_catalog"),
            fresh_service_database("survey", "kosi_test_survey_http"))


@pytest.fixture
def platform(rabbit_config, web_config, runner_factory, databases):
    runner = runner_factory(survey_config(*databases), CatalogService, SurveyService, GatewayService)
    runner.start()
    yield runner


def create(web_session, definition=EVERY_TYPE, **extra) -> dict:
    response = web_session.post(f"{API}/surveys", json={**copy.deepcopy(definition), **extra}, headers=bearer())
    assert response.status_code == 201, response.text
    return response.json()


def open_survey(web_session, definition=EVERY_TYPE, **extra) -> dict:
    survey = create(web_session, definition, **extra)
    response = web_session.post(f"{API}/surveys/{survey['id']}/publish", headers=bearer())
    assert response.status_code == 200, response.text
    return response.json()


def token(web_session, survey_id) -> str:
    response = web_session.post(f"{API}/surveys/{survey_id}/participation")
    assert response.status_code == 201, response.text
    return response.json()["token"]


def respond(web_session, survey_id, answers=GOOD_ANSWERS, participation=None, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return web_session.post(f"{API}/surveys/{survey_id}/responses", headers=headers,
                            json={"token": participation or token(web_session, survey_id), "answers": answers})


# ---------------------------------------------------------------------- end to end

def test_a_survey_end_to_end(platform, web_session):
    created = web_session.post(f"{API}/surveys", json={**EVERY_TYPE, "results_public": True,
                                                       "link": {"type": "theme", "ref": "wohnen"}}, headers=bearer())
    assert created.status_code == 201, created.text
    survey = created.json()
    assert created.headers["Location"] == f"{API}/surveys/{survey['id']}" and created.headers["ETag"] == '"1"'
    assert survey["link"] == {"type": "theme", "ref": "wohnen", "title": "Wohnen"}
    assert_problem(web_session.get(f"{API}/surveys/{survey['id']}"), 404)  # a draft
    assert web_session.post(f"{API}/surveys/{survey['id']}/publish", headers=bearer()).json()["status"] == "published"

    ready = web_session.get(f"{API}/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["survey"] == {"status": "ok"}
    public = web_session.get(f"{API}/surveys/{survey['id']}")
    assert public.status_code == 200 and public.json()["open"] is True and "created_by" not in public.json()
    assert web_session.get(f"{API}/surveys").json()["total"] == 1

    receipts = [respond(web_session, survey["id"]) for _ in range(5)]
    assert all(r.status_code == 201 for r in receipts), receipts[0].text
    assert receipts[0].headers["Location"] == f"{API}/surveys/{survey['id']}/results"
    assert set(receipts[0].json()) == {"response_id", "survey_id", "submitted_at"}

    assert_problem(web_session.get(f"{API}/surveys/{survey['id']}/results"), 403)
    staff = web_session.get(f"{API}/surveys/{survey['id']}/results", headers=bearer()).json()
    assert staff["response_count"] == 5 and staff["status"] == "published"
    closed = web_session.post(f"{API}/surveys/{survey['id']}/close", headers=bearer())
    assert closed.json()["status"] == "closed"
    results = web_session.get(f"{API}/surveys/{survey['id']}/results")
    assert results.status_code == 200, results.text
    by_id = {q["id"]: q for q in results.json()["questions"]}
    assert by_id["alter"]["mean"] == 67 and by_id["ort"]["options"][0]["count"] == 5
    assert "texts" not in by_id["idee"]
    english = web_session.get(f"{API}/surveys/{survey['id']}/results", params={"language": "en"}).json()
    assert {q["id"]: q for q in english["questions"]}["ort"]["label"] == "Where do you live?"

    export = web_session.get(f"{API}/surveys/{survey['id']}/responses.csv", headers=bearer())
    assert export.status_code == 200 and export.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert export.content.startswith("\ufeff".encode()) and "attachment" in export.headers["Content-Disposition"]
    lines = export.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 6 and lines[0].startswith("position;submitted_at;alter: Wie alt sind Sie?")
    as_json = web_session.get(f"{API}/surveys/{survey['id']}/responses.json", headers=bearer()).json()
    assert [item["position"] for item in as_json["responses"]] == [1, 2, 3, 4, 5]
    assert as_json["responses"][0]["answers"]["idee"] == "Ein Dorfbus für Ältere"
    assert_problem(web_session.get(f"{API}/surveys/{survey['id']}/responses.csv"), 401)
    assert_problem(web_session.get(f"{API}/surveys/{survey['id']}/responses.json"), 401)


def test_a_poll_in_compact_form(platform, web_session):
    poll = open_survey(web_session, {"kind": "poll", "title": "Soll der Dorfladen sonntags öffnen?",
                                     "options": ["Ja", "Nein", "Egal"]})
    assert poll["kind"] == "poll" and [o["value"] for o in poll["questions"][0]["options"]] == ["o1", "o2", "o3"]
    assert respond(web_session, poll["id"], {"q1": "o1"}).status_code == 201
    assert_problem(respond(web_session, poll["id"], {}), 422, "answers.q1")


def test_a_link_names_a_published_catalog_entry(platform, web_session):
    entry = web_session.post(f"{API}/entries", json=entry_data(), headers=bearer()).json()
    linked = create(web_session, link={"type": "entry", "ref": entry["slug"]})
    assert linked["link"] == {"type": "entry", "ref": entry["id"], "slug": entry["slug"], "title": entry["title"]}
    body = assert_problem(web_session.post(f"{API}/surveys", json={**EVERY_TYPE, "link": {
        "type": "entry", "ref": "gibt-es-nicht"}}, headers=bearer()), 422, "link.ref")
    assert "no published entry" in body["errors"]["link.ref"][0]
    assert_problem(web_session.post(f"{API}/surveys", json={**EVERY_TYPE, "link": {
        "type": "theme", "ref": "mond"}}, headers=bearer()), 422, "link.ref")


# ---------------------------------------------------------------------- invalid answers

INVALID = {
    "wrong type": ({"alter": "siebenundsechzig"}, "alter"),
    "unknown option": ({"ort": "mond"}, "ort"),
    "too many choices": ({"wege": ["o1", "o2", "o3"]}, "wege"),
    "out of range": ({"zufrieden": 11}, "zufrieden"),
    "missing required": ({"auto": None}, "auto"),
    "answer to a hidden question": ({"auto": True}, "wege"),
    "unknown question": ({"frage_99": "x"}, "frage_99"),
    "oversized text": ({"idee": "ä" * 51}, "idee"),
    "ranking incomplete": ({"prio": ["arzt"]}, "prio"),
    "matrix row unknown": ({"noten": {"o1": 1, "zz": 2}}, "noten"),
    "deep nonsense": ({"noten": {"o1": {"a": [1, {"b": None}]}}}, "noten"),
}


@pytest.mark.parametrize("case", INVALID)
def test_every_invalid_answer_is_a_422_naming_its_question(platform, web_session, case):
    survey = open_survey(web_session)
    change, question = INVALID[case]
    response = respond(web_session, survey["id"], {**GOOD_ANSWERS, **change})
    body = assert_problem(response, 422)
    assert list(body["errors"]) == [f"answers.{question}"], body
    assert web_session.get(f"{API}/surveys/{survey['id']}", headers=bearer()).json()["response_count"] == 0


@pytest.mark.parametrize("body, field", [
    ({"answers": GOOD_ANSWERS}, "token"),
    ({"token": "x"}, "answers"),
    ({"token": "x", "answers": [1, 2]}, "answers"),
    ({"token": "x", "answers": GOOD_ANSWERS, "ip": "1.2.3.4"}, "ip"),
    ({"token": 7, "answers": GOOD_ANSWERS}, "token"),
])
def test_a_malformed_response_is_a_422(platform, web_session, body, field):
    survey = open_survey(web_session)
    assert_problem(web_session.post(f"{API}/surveys/{survey['id']}/responses", json=body), 422, field)


def test_the_state_of_a_survey_answers_409_with_a_reason(platform, web_session):
    from datetime import datetime, timedelta, timezone

    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    scheduled = open_survey(web_session, opens_at=later)
    assert scheduled["status"] == "scheduled"
    body = assert_problem(web_session.post(f"{API}/surveys/{scheduled['id']}/participation"), 409)
    assert "not open yet" in body["detail"]

    full = open_survey(web_session, quota=1)
    first, second = token(web_session, full["id"]), token(web_session, full["id"])
    assert respond(web_session, full["id"], participation=first).status_code == 201
    body = assert_problem(respond(web_session, full["id"], participation=second), 409)
    assert "closed" in body["detail"] or "quota" in body["detail"]
    assert assert_problem(respond(web_session, full["id"], participation=first), 409)

    used = open_survey(web_session)
    participation = token(web_session, used["id"])
    assert respond(web_session, used["id"], participation=participation).status_code == 201
    assert "used" in assert_problem(respond(web_session, used["id"], participation=participation), 409)["detail"]
    assert_problem(web_session.patch(f"{API}/surveys/{used['id']}", json={"questions": EVERY_TYPE["questions"]},
                                     headers={**bearer(), "If-Match": '"2"'}), 409, "questions")
    assert_problem(web_session.post(f"{API}/surveys/{used['id']}/publish", headers=bearer()), 409)


def test_a_retry_with_the_idempotency_key_counts_once(platform, web_session):
    survey = open_survey(web_session)
    participation = token(web_session, survey["id"])
    first = respond(web_session, survey["id"], participation=participation, key="a1b2")
    retry = respond(web_session, survey["id"], participation=participation, key="a1b2")
    assert (first.status_code, retry.status_code) == (201, 201) and first.json() == retry.json()
    other_body = respond(web_session, survey["id"], {**GOOD_ANSWERS, "alter": 18}, participation, key="a1b2")
    assert_problem(other_body, 422, "Idempotency-Key")
    assert web_session.get(f"{API}/surveys/{survey['id']}", headers=bearer()).json()["response_count"] == 1


def test_survey_definitions_are_staff_work(platform, web_session):
    assert_problem(web_session.post(f"{API}/surveys", json=EVERY_TYPE), 401)
    assert_problem(web_session.post(f"{API}/surveys", json=EVERY_TYPE, headers=bearer(roles=())), 403)
    survey = create(web_session)
    assert_problem(web_session.post(f"{API}/surveys/{survey['id']}/publish"), 401)
    assert_problem(web_session.post(f"{API}/surveys/{survey['id']}/close", headers=bearer()), 409)
    assert_problem(web_session.get(f"{API}/surveys/not-a-uuid"), 404)
    assert_problem(web_session.post(f"{API}/surveys", json={"title": "T", "questions": [
        {"type": "rating", "label": "x", "options": ["a", "b"]}]}, headers=bearer()), 422, "questions.0.options")


def test_participation_leaves_no_client_address_in_the_access_log(platform, web_session, caplog):
    survey = open_survey(web_session)
    with caplog.at_level(logging.INFO, logger="nameko.web.server"):
        assert respond(web_session, survey["id"]).status_code == 201
        web_session.get(f"{API}/surveys")
    lines = [record.getMessage() for record in caplog.records if record.name == "nameko.web.server"]
    participation = [line for line in lines if "/participation" in line or "/responses" in line]
    others = [line for line in lines if f"{API}/surveys " in line]
    assert len(participation) == 2 and others, lines
    assert not any(line.startswith("127.0.0.") for line in participation), participation
    # the rule is specific to participation: other lines have the address, truncated to its /24
    assert all(line.startswith("127.0.0.0 ") for line in others), others


@pytest.fixture
def limited_platform(rabbit_config, web_config, runner_factory, databases):
    runner = runner_factory(survey_config(*databases, PARTICIPATION_PER_SURVEY=4, PARTICIPATION_PER_CLIENT=6,
                                          TRUSTED_PROXY_HOPS=1),
                            CatalogService, SurveyService, GatewayService)
    runner.start()
    yield runner


def test_a_participation_flood_gets_429_per_survey_and_client(limited_platform, web_session):
    first, second = open_survey(web_session), open_survey(web_session)
    web_session.headers["X-Forwarded-For"] = "203.0.113.7"  # the bot, as the trusted proxy saw it
    for _ in range(2):
        assert respond(web_session, first["id"]).status_code == 201  # a token and a response: 2 each
    flooded = web_session.post(f"{API}/surveys/{first['id']}/participation")
    assert_problem(flooded, 429)
    assert int(flooded.headers["Retry-After"]) > 0
    # the same client may still take part in another survey, up to its overall limit
    assert respond(web_session, second["id"]).status_code == 201
    assert_problem(web_session.post(f"{API}/surveys/{second['id']}/participation"), 429)
    # everybody else goes on answering the flooded survey
    for neighbour in ("198.51.100.1", "198.51.100.2"):
        web_session.headers["X-Forwarded-For"] = neighbour
        assert respond(web_session, first["id"]).status_code == 201
    # staff work and entry submissions are counted apart
    assert web_session.get(f"{API}/surveys/{first['id']}/results", headers=bearer()).status_code == 200


# ---------------------------------------------------------------------- the export in a real spreadsheet

class _Cells(HTMLParser):
    """The table LibreOffice Calc writes as HTML: rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag == "td":
            self.rows[-1].append(self._cell.strip())
            self._cell = None


def calc_rows(csv_path, tmp_path) -> list[list[str]]:
    """Open the CSV in LibreOffice Calc (headless), as a person would: choosing only the ``;``
    separator; Calc detects the encoding itself. Returns what Calc shows, row by row."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice Calc is installed by `make test` (libreoffice-calc-nogui)"
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--infilter=CSV:59,34,,1",
                    "--convert-to", "html", "--outdir", str(tmp_path), str(csv_path)],
                   check=True, capture_output=True, timeout=120)
    parser = _Cells()
    parser.feed(csv_path.with_suffix(".html").read_text(encoding="utf-8"))
    return [row for row in parser.rows if row]


def test_the_csv_opens_in_libreoffice_calc_with_a_row_per_response_and_umlauts_intact(platform, web_session,
                                                                                      tmp_path):
    survey = open_survey(web_session)
    answers = [GOOD_ANSWERS, {**GOOD_ANSWERS, "idee": "=HYPERLINK(\"http://böse.example\";\"Klick\")"},
               {**GOOD_ANSWERS, "idee": "Grüße aus Güntersberge; \"Straße\" frei"},
               {"alter": 41, "auto": True, "ort": "stadt"}]
    for item in answers:
        assert respond(web_session, survey["id"], item).status_code == 201
    export = web_session.get(f"{API}/surveys/{survey['id']}/responses.csv", headers=bearer())
    csv_path = tmp_path / "umfrage.csv"
    csv_path.write_bytes(export.content)

    rows = calc_rows(csv_path, tmp_path)
    header, body = rows[0], rows[1:]
    assert len(body) == len(answers)                           # one row per response
    assert header[:3] == ["position", "submitted_at", "alter: Wie alt sind Sie?"]  # no BOM in the first cell
    assert len(header) == 15 and all(len(row) == len(header) for row in body)  # a column per question/option
    assert "wege.o3: Wie sind Sie unterwegs? [Zu Fuß]" in header and "noten.o1: Bewerten Sie [Straßen]" in header
    idee = header.index("idee: Ihre Idee")
    assert body[0][idee] == "Ein Dorfbus für Ältere"
    assert body[1][idee].startswith("'=HYPERLINK")            # shown as text, never run as a formula
    assert body[2][idee] == "Grüße aus Güntersberge; \"Straße\" frei"
    assert body[3][header.index("ort: Wo wohnen Sie?")] == "Stadt" and body[3][idee] == ""


def test_a_survey_by_invitation(platform, web_session):
    survey = open_survey(web_session, access="invitation")
    assert survey["access"] == "invitation"
    assert_problem(web_session.post(f"{API}/surveys/{survey['id']}/participation"), 403)
    assert_problem(web_session.post(f"{API}/surveys/{survey['id']}/invitations", json={"count": 2}), 401)
    assert_problem(web_session.post(f"{API}/surveys/{survey['id']}/invitations", json={"count": 0},
                                    headers=bearer()), 422, "count")
    issued = web_session.post(f"{API}/surveys/{survey['id']}/invitations", json={"count": 2}, headers=bearer())
    assert issued.status_code == 201, issued.text
    first, second = issued.json()["tokens"]
    assert respond(web_session, survey["id"], participation=first).status_code == 201
    assert_problem(respond(web_session, survey["id"], participation=first), 409)
    assert respond(web_session, survey["id"], participation=second).status_code == 201


def test_the_openapi_document_names_the_idempotency_key(platform, web_session):
    document = web_session.get(f"{API}/openapi.json").json()
    answer = document["paths"][f"{API}/surveys/{{survey_id}}/responses"]["post"]
    headers = {p["name"]: p for p in answer["parameters"] if p["in"] == "header"}
    assert headers["Idempotency-Key"]["required"] is False and answer["responses"]["201"]
    assert "404" in answer["responses"] and "422" in answer["responses"]


@pytest.mark.parametrize("number", ["1" + "0" * 400, "18446744073709551616", "-9223372036854775809", "1e999",
                                    "NaN", "Infinity", "-Infinity"])
def test_numbers_no_service_can_take_are_refused_at_the_edge(platform, web_session, number):
    survey = open_survey(web_session)
    participation = token(web_session, survey["id"])
    raw = '{"token": "%s", "answers": {"alter": %s}}' % (participation, number)
    response = web_session.post(f"{API}/surveys/{survey['id']}/responses", data=raw,
                                headers={"Content-Type": "application/json"})
    assert_problem(response, 400)
    definition = '{"title": "T", "questions": [{"type": "number", "label": "n", "max": %s}]}' % number
    assert_problem(web_session.post(f"{API}/surveys", data=definition,
                                    headers={**bearer(), "Content-Type": "application/json"}), 400)
    assert respond(web_session, survey["id"], {**GOOD_ANSWERS, "alter": 2 ** 62}).status_code == 422
