"""1,000 concurrent submissions to one survey on PostgreSQL, through the real gateway: many
tokens, some sent twice with another key, some retried with the same key. Each is counted
exactly once and the quota is never exceeded."""
import random
import uuid

import eventlet
import pytest
import requests
import sqlalchemy as sa

from gateway.service import GatewayService
from kernel import tokens
from services.survey import models
from services.survey.responses import PARTICIPATION
from services.survey.service import SurveyService
from tests.databases import fresh_service_database
from tests.gateway.test_http import API, bearer
from tests.gateway.test_survey_http import open_survey, survey_config
from tests.survey.conftest import SETTINGS

QUOTA = 600
DISTINCT_TOKENS = 800
SAME_KEY_RETRIES = 150
SECOND_KEY_REPEATS = 50
CONCURRENCY = 40


@pytest.fixture
def survey_database():
    return fresh_service_database("survey", "kosi_test_survey_concurrency")


@pytest.fixture
def platform(rabbit_config, web_config, runner_factory, survey_database):
    # every submission comes from 127.0.0.1: its bound of requests at a time is lifted
    config = survey_config("sqlite://", survey_database, READY_SERVICES=[], max_workers=CONCURRENCY,
                           CONCURRENT_REQUESTS_PER_CLIENT=CONCURRENCY)
    runner = runner_factory(config, SurveyService, GatewayService)
    runner.start()
    yield runner


def test_a_thousand_concurrent_submissions_count_once_each_within_the_quota(platform, web_session, web_config_port,
                                                                              survey_database):
    survey = open_survey(web_session, {"title": "Gleichzeitig", "questions": [
        {"id": "wahl", "type": "single_choice", "label": "Wahl", "required": True, "options": ["A", "B", "C"]},
        {"id": "note", "type": "rating", "label": "Note"}]}, quota=QUOTA)
    rng = random.Random(1000)
    requests_ = []  # (token, key, answers)
    for _ in range(DISTINCT_TOKENS):
        token, _ = tokens.issue(SETTINGS.token_secret, PARTICIPATION, survey["id"], 3600)
        answers = {"wahl": rng.choice(["o1", "o2", "o3"]), "note": rng.randint(1, 5)}
        requests_.append((token, str(uuid.uuid4()), answers))
    retries = [requests_[i] for i in rng.sample(range(DISTINCT_TOKENS), SAME_KEY_RETRIES)]
    repeats = [(token, str(uuid.uuid4()), answers)
               for token, _, answers in (requests_[i] for i in rng.sample(range(DISTINCT_TOKENS), SECOND_KEY_REPEATS))]
    sent = requests_ + retries + repeats
    rng.shuffle(sent)
    assert len(sent) == 1000

    url = f"http://127.0.0.1:{web_config_port}{API}/surveys/{survey['id']}/responses"

    def submit(item):
        token, key, answers = item
        with requests.Session() as session:
            response = session.post(url, json={"token": token, "answers": answers},
                                    headers={"Idempotency-Key": key}, timeout=60)
        return item, response.status_code, response.json()

    outcomes = list(eventlet.GreenPool(CONCURRENCY).imap(submit, sent))

    statuses = sorted({status for _, status, _ in outcomes})
    assert set(statuses) <= {201, 409}, [body for _, status, body in outcomes if status not in (201, 409)][:3]
    by_key: dict[str, set] = {}
    for (token, key, _), status, body in outcomes:
        if status == 201:
            by_key.setdefault(key, set()).add(body["response_id"])
    assert all(len(ids) == 1 for ids in by_key.values())  # a retried key got its first receipt again
    counted = {next(iter(ids)) for ids in by_key.values()}

    engine = sa.create_engine(survey_database)
    with engine.connect() as conn:
        stored_ids = set(conn.execute(sa.select(models.responses.c.id)).scalars())
        count, status = conn.execute(sa.select(models.surveys.c.response_count, models.surveys.c.status)).one()
        answered = conn.execute(sa.select(models.result_counts.c.count).where(
            models.result_counts.c.question == "wahl", models.result_counts.c.bucket == "*")).scalar_one()
        per_choice = sum(conn.execute(sa.select(models.result_counts.c.count).where(
            models.result_counts.c.question == "wahl", models.result_counts.c.bucket != "*")).scalars())
        used = conn.execute(sa.select(sa.func.count()).select_from(models.used_tokens)).scalar_one()
    engine.dispose()
    tokens_counted = {token for (token, key, _), status, _ in outcomes if status == 201 and key in by_key}
    assert count == QUOTA and status == "closed"          # the quota is reached, never exceeded
    assert stored_ids == counted and len(counted) == QUOTA  # every 201 is a stored response, nothing else is
    assert answered == per_choice == QUOTA and used == QUOTA
    assert len(tokens_counted) == QUOTA                    # no token counted twice
    staff = web_session.get(f"{API}/surveys/{survey['id']}/results", headers=bearer()).json()
    assert staff["response_count"] == QUOTA
