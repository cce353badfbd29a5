"""Fixtures of the survey tests: its database migrated to head, on PostgreSQL and SQLite."""
import pytest
import sqlalchemy as sa

import contracts.survey.events  # noqa: F401  (registers the event contracts)
from kernel.db import create_db_engine
from services.survey import models
from services.survey.responses import Settings
from tests.databases import DIALECTS, emptied_units_of_work, fresh_service_database_of

EDITOR = {"sub": "editor-1", "roles": ["editor"]}
SETTINGS = Settings(token_secret="survey-test-secret-0123456789abcdef-xyz", min_group=5)
_WRITTEN = ("handled_calls", "idempotency_keys", "used_tokens", "result_counts", "responses", "surveys",
            "outbox", "inbox")


@pytest.fixture(scope="session", params=DIALECTS)
def survey_engine(request, tmp_path_factory):
    url = fresh_service_database_of("survey", request.param, "kosi_test_survey_domain",
                                    tmp_path_factory.mktemp("survey"))
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_uow(survey_engine):
    return emptied_units_of_work(survey_engine, "survey", models.metadata, _WRITTEN)


def outbox_events(engine, event_type=None) -> list[dict]:
    query = sa.select(models.outbox.c.payload).order_by(models.outbox.c.id)
    if event_type:
        query = query.where(models.outbox.c.event_type == event_type)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def no_link(link):
    assert link is None, "these tests make surveys without a catalog link"
    return None


# a survey with one question of every type, and conditions
EVERY_TYPE = {
    "title": "Leben im Dorf",
    "questions": [
        {"id": "alter", "type": "number", "label": "Wie alt sind Sie?", "min": 0, "max": 120, "unit": "Jahre",
         "required": True},
        {"id": "auto", "type": "yes_no", "label": "Haben Sie ein Auto?", "required": True},
        {"id": "wege", "type": "multiple_choice", "label": "Wie sind Sie unterwegs?", "min_choices": 1,
         "max_choices": 2, "options": ["Bus", "Rad", "Zu Fuß"], "show_if": {"question": "auto", "equals": False}},
        {"id": "ort", "type": "single_choice", "label": {"de": "Wo wohnen Sie?", "en": "Where do you live?"},
         "options": [{"value": "dorf", "label": "Dorf"}, {"value": "stadt", "label": "Stadt"}]},
        {"id": "zufrieden", "type": "rating", "label": "Wie zufrieden sind Sie?",
         "scale": {"min": 1, "max": 5, "min_label": "gar nicht", "max_label": "sehr"}},
        {"id": "prio", "type": "ranking", "label": "Was ist am wichtigsten?",
         "options": [{"value": "arzt", "label": "Arzt"}, {"value": "laden", "label": "Laden"},
                     {"value": "schule", "label": "Schule"}]},
        {"id": "noten", "type": "matrix", "label": "Bewerten Sie", "rows": ["Straßen", "Internet"],
         "scale": {"min": 1, "max": 6}},
        {"id": "idee", "type": "text", "label": "Ihre Idee", "max_length": 50,
         "show_if": {"any": [{"question": "zufrieden", "at_most": 2}, {"question": "ort", "equals": "dorf"}]}},
    ],
}

GOOD_ANSWERS = {"alter": 67, "auto": False, "wege": ["o1", "o3"], "ort": "dorf", "zufrieden": 4,
                "prio": ["arzt", "laden", "schule"], "noten": {"o1": 2, "o2": 5}, "idee": "Ein Dorfbus für Ältere"}
