"""The survey domain on a real database (PostgreSQL and SQLite): life cycle, schedule, counting
exactly once, quota, idempotency, what is stored and what is emitted."""
import copy
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from contracts.survey.api import SurveyCreateSchema, SurveyUpdateSchema
from kernel import tokens
from kernel.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from kernel.rows import utcnow
from kernel.schemas import load_input
from services.survey import models, responses, surveys
from tests.survey.conftest import EDITOR, EVERY_TYPE, GOOD_ANSWERS, SETTINGS, no_link, outbox_events


def create(make_uow, definition=EVERY_TYPE, **extra):
    with make_uow() as uow:
        return surveys.create_survey(uow, load_input(SurveyCreateSchema, {**copy.deepcopy(definition), **extra}),
                                     EDITOR, no_link)


def published(make_uow, definition=EVERY_TYPE, **extra):
    survey = create(make_uow, definition, **extra)
    with make_uow() as uow:
        return surveys.publish_survey(uow, survey["id"], EDITOR)


def token_for(make_uow, survey_id):
    with make_uow() as uow:
        return responses.issue_participation(uow, survey_id, SETTINGS)["token"]


def answer(make_uow, survey_id, answers=GOOD_ANSWERS, token=None, key=None):
    body = {"token": token or token_for(make_uow, survey_id), "answers": answers}
    with make_uow() as uow:
        return responses.submit_response(uow, survey_id, body, key, SETTINGS)


def stored(make_uow, survey_id):
    with make_uow() as uow:
        return surveys.get_survey(uow, survey_id, EDITOR)


def results(make_uow, survey_id, actor=EDITOR, **query):
    with make_uow() as uow:
        return responses.survey_results(uow, survey_id, query, actor, SETTINGS)


# ---------------------------------------------------------------------- life cycle

def test_a_draft_is_staff_only_until_published_then_opens_and_emits(make_uow, survey_engine):
    draft = create(make_uow)
    assert draft["status"] == "draft" and draft["open"] is False and draft["created_by"] == "editor-1"
    with make_uow() as uow:
        with pytest.raises(NotFound):
            surveys.get_survey(uow, draft["id"], None)
        assert surveys.list_surveys(uow, {}, None)["total"] == 0
        with pytest.raises(NotFound):
            responses.issue_participation(uow, draft["id"], SETTINGS)
        with pytest.raises(Forbidden):
            surveys.publish_survey(uow, draft["id"], None)
    with make_uow() as uow:
        survey = surveys.publish_survey(uow, draft["id"], EDITOR)
    assert (survey["status"], survey["open"], survey["version"]) == ("published", True, 2)
    with make_uow() as uow:
        public = surveys.get_survey(uow, draft["id"], None)
        assert "created_by" not in public and public["questions"][0]["id"] == "alter"
        with pytest.raises(InvalidTransition):
            surveys.publish_survey(uow, draft["id"], EDITOR)
    [event] = outbox_events(survey_engine, "survey.published")
    assert event["data"]["id"] == draft["id"] and event["data"]["question_count"] == 8


def test_a_survey_opens_and_closes_at_its_times_through_the_schedule(make_uow, survey_engine):
    now = utcnow()
    survey = published(make_uow, opens_at=(now + timedelta(hours=1)).isoformat(),
                       closes_at=(now + timedelta(hours=2)).isoformat())
    assert survey["status"] == "scheduled" and not outbox_events(survey_engine, "survey.published")
    with make_uow() as uow:
        with pytest.raises(Conflict, match="not open yet"):
            responses.issue_participation(uow, survey["id"], SETTINGS)
    assert surveys.run_schedule(make_uow, now) == {"opened": 0, "closed": 0}
    assert surveys.run_schedule(make_uow, now + timedelta(minutes=61)) == {"opened": 1, "closed": 0}
    assert stored(make_uow, survey["id"])["status"] == "published"
    assert len(outbox_events(survey_engine, "survey.published")) == 1
    assert surveys.run_schedule(make_uow, now + timedelta(minutes=121)) == {"opened": 0, "closed": 1}
    closed = stored(make_uow, survey["id"])
    assert (closed["status"], closed["close_reason"]) == ("closed", "time")
    [event] = outbox_events(survey_engine, "survey.closed")
    assert event["data"]["reason"] == "time" and event["data"]["response_count"] == 0
    assert surveys.run_schedule(make_uow, now + timedelta(minutes=200)) == {"opened": 0, "closed": 0}


def test_past_the_closing_time_no_answer_counts_even_before_the_timer_runs(make_uow):
    survey = published(make_uow, closes_at=(utcnow() + timedelta(seconds=2)).isoformat())
    token = token_for(make_uow, survey["id"])
    with make_uow() as uow:
        uow.session.execute(sa.update(models.surveys).values(closes_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    with pytest.raises(Conflict, match="closed"):
        answer(make_uow, survey["id"], token=token)


def test_staff_close_a_survey_and_closed_surveys_take_nothing(make_uow, survey_engine):
    survey = published(make_uow)
    answer(make_uow, survey["id"])
    token = token_for(make_uow, survey["id"])
    with make_uow() as uow:
        closed = surveys.close_survey(uow, survey["id"], EDITOR)
    assert (closed["status"], closed["close_reason"], closed["response_count"]) == ("closed", "staff", 1)
    with pytest.raises(Conflict, match="closed"):
        answer(make_uow, survey["id"], token=token)
    with make_uow() as uow:
        with pytest.raises(InvalidTransition):
            surveys.close_survey(uow, survey["id"], EDITOR)
    assert outbox_events(survey_engine, "survey.closed")[0]["data"]["reason"] == "staff"


# ---------------------------------------------------------------------- changing a definition

def update(make_uow, survey_id, version, **changes):
    with make_uow() as uow:
        loaded = load_input(SurveyUpdateSchema, {**changes, "version": version})
        return surveys.update_survey(uow, survey_id, loaded, version, EDITOR, no_link)


def test_questions_change_until_the_first_answer_then_409(make_uow):
    survey = published(make_uow)
    changed = update(make_uow, survey["id"], 2, questions=[{"type": "yes_no", "label": "Nur eine Frage?"}])
    assert [q["id"] for q in changed["questions"]] == ["q1"] and changed["version"] == 3
    answer(make_uow, survey["id"], {"q1": True})
    with pytest.raises(Conflict, match="responses"):
        update(make_uow, survey["id"], 3, questions=EVERY_TYPE["questions"])
    with pytest.raises(Conflict, match="version"):
        update(make_uow, survey["id"], 2, title="Neu")
    assert update(make_uow, survey["id"], 3, title="Neuer Titel")["title"] == {"de": "Neuer Titel"}
    with pytest.raises(ValidationFailed) as caught:
        update(make_uow, survey["id"], 4, quota=1)
    assert "quota" in caught.value.fields


def test_a_closed_survey_changes_only_title_description_and_publicity(make_uow):
    survey = published(make_uow)
    with make_uow() as uow:
        surveys.close_survey(uow, survey["id"], EDITOR)
    assert update(make_uow, survey["id"], 3, results_public=True)["results_public"] is True
    with pytest.raises(InvalidTransition):
        update(make_uow, survey["id"], 4, closes_at=(utcnow() + timedelta(days=1)).isoformat())


# ---------------------------------------------------------------------- counting once

def test_a_token_counts_once_and_only_for_its_survey(make_uow):
    survey = published(make_uow)
    other = published(make_uow)
    token = token_for(make_uow, survey["id"])
    answer(make_uow, survey["id"], token=token)
    with pytest.raises(Conflict, match="used"):
        answer(make_uow, survey["id"], token=token)
    with pytest.raises(Conflict, match="used"):  # the same token written another way is the same token
        answer(make_uow, survey["id"], token=token + "=")
    with pytest.raises(ValidationFailed) as caught:
        answer(make_uow, other["id"], token=token_for(make_uow, survey["id"]))
    assert "token" in caught.value.fields
    forged, _ = tokens.issue("another-secret-of-at-least-32-bytes!!", responses.PARTICIPATION, survey["id"], 60)
    expired, _ = tokens.issue(SETTINGS.token_secret, responses.PARTICIPATION, survey["id"], 60,
                              now=utcnow().timestamp() - 3600)
    for bad in (forged, expired, "not-a-token"):
        with pytest.raises(ValidationFailed):
            answer(make_uow, survey["id"], token=bad)
    assert stored(make_uow, survey["id"])["response_count"] == 1


def test_a_retry_with_the_same_idempotency_key_answers_the_first_receipt(make_uow):
    survey = published(make_uow)
    token = token_for(make_uow, survey["id"])
    first = answer(make_uow, survey["id"], token=token, key="retry-1")
    again = answer(make_uow, survey["id"], token=token, key="retry-1")
    assert again == first
    assert stored(make_uow, survey["id"])["response_count"] == 1
    with pytest.raises(ValidationFailed) as caught:
        answer(make_uow, survey["id"], {**GOOD_ANSWERS, "alter": 18}, token=token, key="retry-1")
    assert "Idempotency-Key" in caught.value.fields
    # a request that failed keeps no key: its retry is judged afresh
    with pytest.raises(ValidationFailed):
        answer(make_uow, survey["id"], {"alter": "x"}, key="retry-2")
    answer(make_uow, survey["id"], key="retry-2")
    assert stored(make_uow, survey["id"])["response_count"] == 2


def test_the_quota_closes_the_survey_at_its_last_response(make_uow, survey_engine):
    survey = published(make_uow, quota=2)
    tokens_ = [token_for(make_uow, survey["id"]) for _ in range(3)]
    answer(make_uow, survey["id"], token=tokens_[0])
    answer(make_uow, survey["id"], token=tokens_[1])
    full = stored(make_uow, survey["id"])
    assert (full["status"], full["close_reason"], full["response_count"]) == ("closed", "quota", 2)
    with pytest.raises(Conflict):
        answer(make_uow, survey["id"], token=tokens_[2])
    counted = [event["data"]["response_count"] for event in outbox_events(survey_engine, "response.submitted")]
    assert counted == [1, 2]
    assert outbox_events(survey_engine, "survey.closed")[0]["data"]["reason"] == "quota"


# ---------------------------------------------------------------------- what is kept, what is told

def test_a_response_keeps_its_answers_and_nothing_about_the_participant(make_uow, survey_engine):
    survey = published(make_uow)
    token = token_for(make_uow, survey["id"])
    receipt = answer(make_uow, survey["id"], token=token)
    assert set(models.responses.c.keys()) == {"id", "survey_id", "seq", "submitted_at", "answers"}
    with survey_engine.connect() as conn:
        row = conn.execute(sa.select(models.responses)).one()
        used = conn.execute(sa.select(models.used_tokens)).one()
    assert row.id == receipt["response_id"] and row.submitted_at.second == 0 and row.submitted_at.microsecond == 0
    claims = tokens.read(SETTINGS.token_secret, responses.PARTICIPATION, token, "token")
    assert used.token_hash == tokens.digest(claims) and token not in json.dumps(row.answers)
    [event] = outbox_events(survey_engine, "response.submitted")
    assert event["data"] == {"survey_id": survey["id"], "response_count": 1}


def test_results_are_public_only_after_closing_and_only_if_the_survey_says_so(make_uow):
    survey = published(make_uow, results_public=True)
    hidden = published(make_uow)
    for _ in range(6):
        answer(make_uow, survey["id"])
    with pytest.raises(Forbidden, match="after the survey closes"):
        results(make_uow, survey["id"], actor=None)
    staff = results(make_uow, survey["id"])
    assert staff["response_count"] == 6
    idee = next(q for q in staff["questions"] if q["id"] == "idee")
    assert idee["texts"] == ["Ein Dorfbus für Ältere"] * 6
    with make_uow() as uow:
        surveys.close_survey(uow, survey["id"], EDITOR)
        surveys.close_survey(uow, hidden["id"], EDITOR)
    public = results(make_uow, survey["id"], actor=None)
    assert public["response_count"] == 6 and "texts" not in next(q for q in public["questions"] if q["id"] == "idee")
    with pytest.raises(Forbidden, match="not public"):
        results(make_uow, hidden["id"], actor=None)
    with pytest.raises(Forbidden):
        results(make_uow, survey["id"], actor=None, cross="ort,auto")
    assert results(make_uow, survey["id"], cross="ort,auto")["cross"]["rows"] == "ort"


def test_the_export_pages_through_every_response_in_order(make_uow):
    survey = published(make_uow, definition={"title": "T", "questions": [{"type": "number", "label": "n"}]})
    for number in range(5):
        answer(make_uow, survey["id"], {"q1": number})
    pages, after = [], 0
    while after is not None:
        with make_uow() as uow:
            page = responses.export_page(uow, survey["id"], EDITOR, after, 2)
        pages.append([item["answers"]["q1"] for item in page["responses"]])
        after = page["next"]
    assert pages == [[0, 1], [2, 3], [4]]
    with make_uow() as uow:
        with pytest.raises(Forbidden):
            responses.export_page(uow, survey["id"], None, 0, 2)


def test_idempotency_keys_and_used_tokens_are_forgotten_in_time(make_uow, survey_engine):
    survey = published(make_uow)
    answer(make_uow, survey["id"], key="k")
    assert responses.prune(make_uow, SETTINGS) == {"idempotency_keys": 0, "used_tokens": 0}
    later = utcnow() + timedelta(hours=SETTINGS.idempotency_hours + 1, seconds=SETTINGS.token_ttl_seconds)
    assert responses.prune(make_uow, SETTINGS, now=later) == {"idempotency_keys": 1, "used_tokens": 1}


def test_a_survey_by_invitation_takes_only_the_tokens_staff_handed_out(make_uow):
    survey = published(make_uow, access="invitation")
    with make_uow() as uow:
        with pytest.raises(Forbidden, match="invitation"):
            responses.issue_participation(uow, survey["id"], SETTINGS)
        with pytest.raises(Forbidden):
            responses.issue_invitations(uow, survey["id"], 2, None, SETTINGS)
        issued = responses.issue_invitations(uow, survey["id"], 2, EDITOR, SETTINGS)
    assert len(set(issued["tokens"])) == 2
    plain, _ = tokens.issue(SETTINGS.token_secret, responses.PARTICIPATION, survey["id"], 600)
    with pytest.raises(ValidationFailed) as caught:
        answer(make_uow, survey["id"], token=plain)  # a participation token is no invitation
    assert "token" in caught.value.fields
    answer(make_uow, survey["id"], token=issued["tokens"][0])
    with pytest.raises(Conflict, match="used"):
        answer(make_uow, survey["id"], token=issued["tokens"][0])
    answer(make_uow, survey["id"], token=issued["tokens"][1])
    assert stored(make_uow, survey["id"])["response_count"] == 2
    with pytest.raises(InvalidTransition):
        update(make_uow, survey["id"], 2, access="open")


def test_responses_typed_in_together_count_each_and_respect_the_quota(make_uow, survey_engine):
    from services.survey.answers import checked_answers

    survey = published(make_uow, quota=5)
    answer(make_uow, survey["id"])
    now = utcnow()
    with make_uow() as uow:
        row = surveys.find_survey(uow.session, survey["id"])
        batch = [(f"00000000-0000-4000-8000-00000000000{i}",
                  checked_answers(row.questions, {**GOOD_ANSWERS, "alter": 20 + i})) for i in range(5)]
        with pytest.raises(Conflict):  # 1 + 5 would pass the quota of 5: nothing is counted
            responses.record_responses(uow, row, batch, now, now)
    with make_uow() as uow:
        row = surveys.find_survey(uow.session, survey["id"])
        assert responses.record_responses(uow, row, batch[:4], now, now) == [2, 3, 4, 5]
        uow.commit()
    counted = stored(make_uow, survey["id"])
    assert (counted["response_count"], counted["status"], counted["close_reason"]) == (5, "closed", "quota")
    alter = next(q for q in results(make_uow, survey["id"])["questions"] if q["id"] == "alter")
    assert alter["answered"] == 5 and alter["median"] == 22
    assert [e["data"]["response_count"] for e in outbox_events(survey_engine, "response.submitted")] == [1, 5]


def test_responses_counted_together_each_get_their_own_outcome(make_uow):
    from services.survey.responses import Submission, submit_responses

    survey = published(make_uow, quota=3)
    tokens_ = [token_for(make_uow, survey["id"]) for _ in range(4)]
    batch = [Submission({"token": tokens_[0], "answers": GOOD_ANSWERS}, "k0", "call-0#0"),
             Submission({"token": tokens_[0], "answers": GOOD_ANSWERS}, "k0", "call-1#0"),   # a retry in the batch
             Submission({"token": tokens_[1], "answers": {"alter": "x"}}, "k1", "call-2#0"),  # invalid
             Submission({"token": tokens_[0], "answers": GOOD_ANSWERS}, "k2", "call-3#0"),   # token used
             Submission({"token": tokens_[2], "answers": GOOD_ANSWERS}, None, "call-4#0"),
             Submission({"token": tokens_[3], "answers": GOOD_ANSWERS}, None, "call-5#0"),
             Submission({"token": tokens_[1], "answers": GOOD_ANSWERS}, "k6", "call-6#0"),  # quota
             Submission({"token": tokens_[1], "answers": GOOD_ANSWERS}, "k1", "call-7#0")]  # k1, another body
    with make_uow() as uow:
        outcomes = submit_responses(uow, survey["id"], batch, SETTINGS)
    assert outcomes[1] == outcomes[0] and isinstance(outcomes[0], dict)
    assert isinstance(outcomes[2], ValidationFailed) and isinstance(outcomes[3], Conflict)
    assert isinstance(outcomes[4], dict) and isinstance(outcomes[5], dict)
    assert isinstance(outcomes[6], Conflict) and "quota" in str(outcomes[6])
    assert isinstance(outcomes[7], ValidationFailed) and "Idempotency-Key" in outcomes[7].fields
    assert stored(make_uow, survey["id"])["response_count"] == 3
    # the refused ones keep no key: a retry of theirs is judged afresh
    with make_uow() as uow:
        assert uow.session.execute(sa.select(sa.func.count()).select_from(models.idempotency_keys)).scalar() == 1
        assert uow.session.execute(sa.select(sa.func.count()).select_from(models.used_tokens)).scalar() == 3
    # a call the broker delivers again (its handler died after the commit) answers what it answered
    with make_uow() as uow:
        [again] = submit_responses(uow, survey["id"], [Submission(
            {"token": tokens_[2], "answers": GOOD_ANSWERS}, None, "call-4#0", redelivered=True)], SETTINGS)
    assert again == outcomes[4]


def test_the_opening_time_changes_only_before_the_survey_opens(make_uow):
    now = utcnow()
    scheduled = published(make_uow, opens_at=(now + timedelta(hours=1)).isoformat())
    assert update(make_uow, scheduled["id"], 2, opens_at=None)["opens_at"] is None
    assert surveys.run_schedule(make_uow) == {"opened": 1, "closed": 0}  # no opening time: open now
    with pytest.raises(InvalidTransition):
        update(make_uow, scheduled["id"], 4, opens_at=(now + timedelta(hours=2)).isoformat())
