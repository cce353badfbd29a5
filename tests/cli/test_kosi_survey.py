"""``kosi survey export`` and ``kosi survey close`` against a running survey service."""
import copy
import json

import nameko
import pytest
from click.testing import CliRunner

from cli.main import main as kosi
from kernel import tokens
from services.survey.responses import PARTICIPATION
from services.survey.service import SurveyService
from tests.databases import fresh_service_database
from tests.identity import SERVICE_TRUST, operator_environment, staff_rpc
from tests.survey.conftest import EVERY_TYPE, GOOD_ANSWERS, SETTINGS


@pytest.fixture
def survey_rpc(container_factory, rabbit_config, rabbit_uri, monkeypatch):
    url = fresh_service_database("survey", "kosi_test_cli_survey")
    monkeypatch.setenv("KOSI_OPERATOR_AMQP_URI", rabbit_uri)
    for name, value in operator_environment().items():
        monkeypatch.setenv(name, value)
    with nameko.config.patch({"SURVEY_DATABASE_URL": url, "SURVEY_TOKEN_SECRET": SETTINGS.token_secret,
                              **SERVICE_TRUST}):
        container_factory(SurveyService).start()
        with staff_rpc(rabbit_uri) as rpc:
            yield rpc.survey


def test_export_writes_every_response_and_close_stops_the_survey(survey_rpc, tmp_path):
    survey = survey_rpc.create_survey(copy.deepcopy(EVERY_TYPE))
    survey_rpc.publish_survey(survey["id"])
    for age in (30, 40, 50):
        token, _ = tokens.issue(SETTINGS.token_secret, PARTICIPATION, survey["id"], 600)
        survey_rpc.submit_response(survey["id"], {"token": token, "answers": {**GOOD_ANSWERS, "alter": age}})

    csv_path = tmp_path / "export.csv"
    result = CliRunner().invoke(kosi, ["survey", "export", survey["id"], "-o", str(csv_path)])
    assert result.exit_code == 0, result.output
    text = csv_path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeffposition;") and len(text.strip().split("\r\n")) == 4
    assert "3 responses exported" in result.output

    as_json = CliRunner().invoke(kosi, ["survey", "export", survey["id"], "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    exported = json.loads(as_json.stdout)
    assert [item["answers"]["alter"] for item in exported["responses"]] == [30, 40, 50]

    invited = CliRunner().invoke(kosi, ["survey", "invite", survey["id"], "--count", "2"])
    assert invited.exit_code == 0, invited.output
    handed_out = invited.stdout.split()
    assert len(handed_out) == 2 and "2 invitation tokens" in invited.output
    survey_rpc.submit_response(survey["id"], {"token": handed_out[0], "answers": GOOD_ANSWERS})

    closed = CliRunner().invoke(kosi, ["survey", "close", survey["id"]])
    assert closed.exit_code == 0 and "closed: Leben im Dorf (4 responses)" in closed.output
    assert survey_rpc.get_survey(survey["id"])["status"] == "closed"
    again = CliRunner().invoke(kosi, ["survey", "close", survey["id"]])
    assert again.exit_code == 1 and "InvalidTransition" in again.output
    missing = CliRunner().invoke(kosi, ["survey", "export", "00000000-0000-4000-8000-000000000000"])
    assert missing.exit_code == 1 and "NotFound" in missing.output
