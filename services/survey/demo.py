"""Demo surveys for ``kosi run`` (``LOAD_DEMO_DATA=true``), idempotent by title.

An open survey on housing in old age (to answer), and a closed poll with public results
(to read). Demo responses are counted through the domain like real ones, without tokens.
"""
import logging
import random
from datetime import timedelta

import sqlalchemy as sa

from kernel.rows import new_id, utcnow
from services.survey import responses, surveys
from services.survey.models import surveys as survey_table

log = logging.getLogger(__name__)
LOADER = {"sub": "demo-loader", "roles": ["admin"]}

HOUSING = {
    "title": {"de": "Wohnen im Alter auf dem Land", "en": "Ageing at home in rural areas"},
    "description": {"de": "Acht Fragen dazu, wie Sie im Alter wohnen möchten. Anonym, etwa 4 Minuten.",
                    "en": "Eight questions on how you would like to live in old age. Anonymous, about 4 minutes."},
    "results_public": True,
    "link": {"type": "theme", "ref": "wohnen", "title": "Wohnen"},
    "questions": [
        {"id": "wohnform", "type": "single_choice", "required": True,
         "label": {"de": "Wie möchten Sie im Alter am liebsten wohnen?", "en": "How would you like to live?"},
         "options": [{"value": "eigenes_haus", "label": {"de": "Im eigenen Haus", "en": "In my own house"}},
                     {"value": "wohngemeinschaft", "label": {"de": "In einer Senioren-WG", "en": "Shared flat"}},
                     {"value": "betreut", "label": {"de": "Betreutes Wohnen", "en": "Assisted living"}},
                     {"value": "bei_familie", "label": {"de": "Bei der Familie", "en": "With family"}}]},
        {"id": "umbau", "type": "yes_no", "label": {"de": "Wäre Ihr Zuhause ohne Umbau altersgerecht?",
                                                    "en": "Is your home fit for old age as it is?"}},
        {"id": "umbau_hindernis", "type": "multiple_choice", "max_choices": 2,
         "label": {"de": "Was hält Sie vom Umbau ab? (höchstens zwei)", "en": "What keeps you from adapting it?"},
         "show_if": {"question": "umbau", "equals": False},
         "options": [{"value": "kosten", "label": {"de": "Kosten", "en": "Cost"}},
                     {"value": "handwerker", "label": {"de": "Keine Handwerker", "en": "No craftspeople"}},
                     {"value": "beratung", "label": {"de": "Keine Beratung", "en": "No advice"}},
                     {"value": "miete", "label": {"de": "Ich wohne zur Miete", "en": "I rent"}}]},
        {"id": "wichtig", "type": "matrix", "label": {"de": "Wie wichtig ist Ihnen in der Nähe …",
                                                      "en": "How important is nearby …"},
         "scale": {"min": 1, "max": 5, "min_label": {"de": "unwichtig"}, "max_label": {"de": "sehr wichtig"}},
         "rows": [{"value": "arzt", "label": {"de": "eine Arztpraxis", "en": "a doctor"}},
                  {"value": "laden", "label": {"de": "ein Laden", "en": "a shop"}},
                  {"value": "bus", "label": {"de": "ein Bus", "en": "a bus"}}]},
        {"id": "zufrieden", "type": "rating", "label": {"de": "Wie zufrieden sind Sie mit Ihrer Wohnsituation?",
                                                        "en": "How satisfied are you with your home?"},
         "scale": {"min": 1, "max": 5, "min_label": {"de": "gar nicht"}, "max_label": {"de": "sehr"}}},
        {"id": "vorrang", "type": "ranking",
         "label": {"de": "Was sollte Ihr Ort zuerst angehen? (das Wichtigste zuerst)", "en": "What first?"},
         "options": [{"value": "barrierefrei", "label": {"de": "Barrierefreie Wohnungen", "en": "Accessible flats"}},
                     {"value": "nachbarschaft", "label": {"de": "Nachbarschaftshilfe", "en": "Neighbourly help"}},
                     {"value": "fahrdienst", "label": {"de": "Fahrdienste", "en": "Transport services"}}]},
        {"id": "entfernung", "type": "number", "min": 0, "max": 100, "decimals": 1, "unit": "km",
         "label": {"de": "Wie weit ist der nächste Laden entfernt?", "en": "How far is the next shop?"}},
        {"id": "idee", "type": "text", "max_length": 1000,
         "label": {"de": "Ihre Idee für gutes Wohnen im Alter in Ihrem Ort", "en": "Your idea"}},
    ],
}

MOBILITY_POLL = {
    "kind": "poll", "title": {"de": "Wie kommen Sie zu Ihrer Hausarztpraxis?", "en": "How do you get to your GP?"},
    "results_public": True,
    "link": {"type": "theme", "ref": "gesundheitliche-versorgung-laendlich",
             "title": "Gesundheitliche Versorgung in ländlichen Räumen"},
    "options": [{"value": "auto", "label": {"de": "Mit dem eigenen Auto", "en": "By car"}},
                {"value": "bus", "label": {"de": "Mit Bus oder Rufbus", "en": "By bus"}},
                {"value": "mitfahren", "label": {"de": "Ich werde gefahren", "en": "Someone drives me"}},
                {"value": "zu_fuss", "label": {"de": "Zu Fuß oder mit dem Rad", "en": "On foot or by bike"}}],
}


def load_demo(make_uow) -> dict:
    counts = {"surveys": 0, "responses": 0}
    for definition, poll_answers in ((HOUSING, None), (MOBILITY_POLL, {"auto": 23, "bus": 9, "mitfahren": 7,
                                                                        "zu_fuss": 3})):
        with make_uow() as uow:
            exists = uow.session.execute(sa.select(survey_table.c.id).where(
                survey_table.c.demo.is_(True), survey_table.c.kind == definition.get("kind", "survey"))).first()
        if exists:
            continue
        link = definition["link"]
        with make_uow() as uow:
            created = surveys.create_survey(uow, {**definition, "demo": True,
                                                  "closes_at": utcnow() + timedelta(days=60)},
                                            LOADER, check_link=lambda _link: link)
        with make_uow() as uow:
            surveys.publish_survey(uow, created["id"], LOADER)
        counts["surveys"] += 1
        if poll_answers:
            counts["responses"] += _answer_poll(make_uow, created["id"], poll_answers)
    log.info("demo surveys loaded: %s", counts)
    return counts


def _answer_poll(make_uow, survey_id: str, answers: dict[str, int]) -> int:
    choices = [value for value, count in answers.items() for _ in range(count)]
    random.Random(7).shuffle(choices)
    with make_uow() as uow:
        now = utcnow()
        responses.record_responses(uow, surveys.find_survey(uow.session, survey_id),
                                   [(new_id(), {"q1": choice}) for choice in choices],
                                   now.replace(second=0, microsecond=0), now)
        uow.commit()
    with make_uow() as uow:
        surveys.close(uow, surveys.find_survey(uow.session, survey_id, lock=True), "staff")
        uow.commit()
    return len(choices)
