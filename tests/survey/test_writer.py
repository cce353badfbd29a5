"""The group commit of responses (``services.survey.writer``) in a running survey service:
responses sent at once are counted together, and a batch that fails is counted one by one,
so one response cannot fail the others."""
import copy

import nameko
import pytest
from nameko.standalone.rpc import ClusterRpcClient

from kernel import tokens
from services.survey import writer
from services.survey.responses import PARTICIPATION
from services.survey.service import SurveyService
from tests.databases import fresh_service_database
from tests.identity import SERVICE_TRUST, staff_rpc
from tests.survey.conftest import EVERY_TYPE, GOOD_ANSWERS, SETTINGS


@pytest.fixture
def survey(container_factory, rabbit_config, rabbit_uri):
    url = fresh_service_database("survey", "kosi_test_survey_writer")
    with nameko.config.patch({"SURVEY_DATABASE_URL": url, "SURVEY_TOKEN_SECRET": SETTINGS.token_secret,
                              "max_workers": 20, **SERVICE_TRUST}):
        container_factory(SurveyService).start()
        with staff_rpc(rabbit_uri) as rpc:
            created = rpc.survey.create_survey(copy.deepcopy(EVERY_TYPE))
            rpc.survey.publish_survey(created["id"])
            yield rpc.survey, created["id"]


def send_at_once(survey_id, bodies):
    with ClusterRpcClient(timeout=30) as client:
        calls = [client.survey.submit_response.call_async(survey_id, body) for body in bodies]
        outcomes = []
        for call in calls:
            try:
                outcomes.append(call.result())
            except Exception as error:  # noqa: BLE001 (the outcome is what the test looks at)
                outcomes.append(error)
        return outcomes


def bodies(survey_id, count):
    return [{"token": tokens.issue(SETTINGS.token_secret, PARTICIPATION, survey_id, 600)[0],
             "answers": {**GOOD_ANSWERS, "alter": 20 + number}} for number in range(count)]


def test_responses_sent_at_once_are_counted_together(survey, monkeypatch):
    rpc, survey_id = survey
    sizes = []
    counted = writer.submit_responses

    def counting(uow, survey_id, submissions, settings):
        sizes.append(len(submissions))
        return counted(uow, survey_id, submissions, settings)

    monkeypatch.setattr(writer, "submit_responses", counting)
    outcomes = send_at_once(survey_id, bodies(survey_id, 12))
    assert all(isinstance(outcome, dict) for outcome in outcomes), outcomes
    assert rpc.get_survey(survey_id)["response_count"] == 12
    assert sum(sizes) == 12 and max(sizes) > 1, sizes  # some shared a transaction


def test_a_batch_that_fails_is_counted_one_by_one(survey, monkeypatch):
    rpc, survey_id = survey
    counted = writer.submit_responses
    faults = []

    def failing_together(uow, survey_id, submissions, settings):
        if len(submissions) > 1:
            faults.append(len(submissions))
            raise RuntimeError("a fault in a batch")  # as a database error would
        return counted(uow, survey_id, submissions, settings)

    monkeypatch.setattr(writer, "submit_responses", failing_together)
    sent = bodies(survey_id, 8)
    sent[3]["answers"]["alter"] = "keine Angabe"  # one of them is wrong on its own
    outcomes = send_at_once(survey_id, sent)
    assert [isinstance(outcome, dict) for outcome in outcomes] == [True] * 3 + [False] + [True] * 4
    assert "answers.alter" in outcomes[3].fields
    assert rpc.get_survey(survey_id)["response_count"] == 7
    assert faults, "no batch of several was formed: the test proved nothing"
