"""Definitions and answers, without a database: every invalid shape is named by its question."""
import copy

import pytest

from contracts.survey.api import SurveyCreateSchema
from kernel.errors import ValidationFailed
from kernel.schemas import load_input
from services.survey.answers import checked_answers
from services.survey.definitions import survey_questions
from tests.survey.conftest import EVERY_TYPE, GOOD_ANSWERS


def questions_of(definition=EVERY_TYPE):
    return survey_questions(load_input(SurveyCreateSchema, copy.deepcopy(definition)))


def problems(answers, definition=EVERY_TYPE) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        checked_answers(questions_of(definition), answers)
    return caught.value.fields


# ---------------------------------------------------------------------- definitions

def test_a_definition_is_normalised_with_ids_values_and_defaults():
    questions = questions_of()
    by_id = {q["id"]: q for q in questions}
    assert [q["id"] for q in questions] == ["alter", "auto", "wege", "ort", "zufrieden", "prio", "noten", "idee"]
    assert by_id["wege"]["options"][0] == {"value": "o1", "label": {"de": "Bus"}}
    assert by_id["ort"]["label"] == {"de": "Wo wohnen Sie?", "en": "Where do you live?"}
    assert by_id["auto"]["required"] is True and by_id["ort"]["required"] is False
    assert by_id["alter"]["decimals"] == 0 and by_id["idee"]["max_length"] == 50
    assert by_id["noten"]["rows"][1]["value"] == "o2" and by_id["noten"]["scale"] == {"min": 1, "max": 6}


def test_a_poll_is_one_choice_question_in_compact_form():
    single = questions_of({"kind": "poll", "title": "Dorfladen: ja oder nein?", "options": ["Ja", "Nein"]})
    assert single == [{"id": "q1", "type": "single_choice", "label": {"de": "Dorfladen: ja oder nein?"},
                       "required": True, "options": [{"value": "o1", "label": {"de": "Ja"}},
                                                     {"value": "o2", "label": {"de": "Nein"}}]}]
    several = questions_of({"kind": "poll", "title": "Welche Tage?", "question": "An welchen Tagen?",
                            "options": ["Mo", "Di", "Mi"], "max_choices": 2})
    assert several[0]["type"] == "multiple_choice" and several[0]["max_choices"] == 2
    assert several[0]["label"] == {"de": "An welchen Tagen?"}


@pytest.mark.parametrize("change, field", [
    ({"questions": []}, "questions"),
    ({"questions": [{"type": "sliders", "label": "x"}]}, "questions.0.type"),
    ({"questions": [{"type": "single_choice", "label": "x"}]}, "questions.0.options"),
    ({"questions": [{"type": "single_choice", "label": "x", "options": ["nur eine"]}]}, "questions.0.options"),
    ({"questions": [{"type": "text", "label": "x", "options": ["a", "b"]}]}, "questions.0.options"),
    ({"questions": [{"type": "multiple_choice", "label": "x", "options": ["a", "b"], "max_choices": 3}]},
     "questions.0.max_choices"),
    ({"questions": [{"type": "rating", "label": "x", "scale": {"min": 3, "max": 3}}]}, "questions.0.scale.max"),
    ({"questions": [{"type": "number", "label": "x", "min": 10, "max": 1}]}, "questions.0.max"),
    ({"questions": [{"type": "text", "label": ""}]}, "questions.0.label"),
    ({"questions": [{"type": "text", "label": {"fr": "non"}}]}, "questions.0.label"),
    ({"questions": [{"id": "Großes Id", "type": "text", "label": "x"}]}, "questions.0.id"),
    ({"kind": "poll", "questions": [{"type": "text", "label": "x"}]}, "options"),
    ({"options": ["a", "b"]}, "options"),
    ({"title": None}, "title"),
    ({"closes_at": "2027-01-01T00:00:00"}, "closes_at"),  # no time zone
])
def test_invalid_definitions_name_the_field(change, field):
    definition = {**copy.deepcopy(EVERY_TYPE), **change}
    with pytest.raises(ValidationFailed) as caught:
        questions_of(definition)
    assert any(key == field or key.startswith(field + ".") for key in _flat(caught.value.fields)), caught.value.fields


@pytest.mark.parametrize("questions, field", [
    ([{"id": "a", "type": "text", "label": "x"}, {"id": "a", "type": "text", "label": "y"}], "questions.1.id"),
    ([{"type": "single_choice", "label": "x", "options": [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}]}],
     "questions.0.options"),
    ([{"id": "a", "type": "text", "label": "x", "show_if": {"question": "b", "answered": True}},
      {"id": "b", "type": "text", "label": "y"}], "questions.0.show_if.question"),  # a later question
    ([{"id": "a", "type": "text", "label": "x", "show_if": {"question": "a", "answered": True}}],
     "questions.0.show_if.question"),  # itself
    ([{"id": "a", "type": "yes_no", "label": "x"},
      {"id": "b", "type": "text", "label": "y", "show_if": {"question": "a", "equals": "ja"}}],
     "questions.1.show_if.equals"),
    ([{"id": "a", "type": "yes_no", "label": "x"},
      {"id": "b", "type": "text", "label": "y", "show_if": {"question": "a", "equals": 1}}],
     "questions.1.show_if.equals"),  # 1 is not true
    ([{"id": "a", "type": "single_choice", "label": "x", "options": ["A", "B"]},
      {"id": "b", "type": "text", "label": "y", "show_if": {"question": "a", "in": ["o9"]}}],
     "questions.1.show_if.in"),
    ([{"id": "a", "type": "text", "label": "x"},
      {"id": "b", "type": "text", "label": "y", "show_if": {"question": "a", "at_least": 3}}],
     "questions.1.show_if.at_least"),
    ([{"id": "a", "type": "yes_no", "label": "x"},
      {"id": "b", "type": "text", "label": "y", "show_if": {"all": []}}], "questions.1.show_if.all"),
    ([{"id": "a", "type": "yes_no", "label": "x"},
      {"id": "b", "type": "text", "label": "y", "show_if": {"question": "a", "equals": True, "in": [True]}}],
     "questions.1.show_if"),
    ([{"id": "a", "type": "yes_no", "label": "x"},
      {"id": "b", "type": "text", "label": "y", "show_if": "a == true"}], "questions.1.show_if"),
])
def test_rules_across_questions_name_the_question(questions, field):
    with pytest.raises(ValidationFailed) as caught:
        questions_of({"title": "T", "questions": questions})
    assert field in caught.value.fields, caught.value.fields


def _flat(messages, prefix=""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flat(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix


# ---------------------------------------------------------------------- answers

def test_good_answers_are_stored_in_definition_order():
    stored = checked_answers(questions_of(), dict(reversed(list(GOOD_ANSWERS.items()))))
    assert list(stored) == list(GOOD_ANSWERS)
    assert stored["wege"] == ["o1", "o3"] and stored["idee"] == "Ein Dorfbus für Ältere"


def test_optional_questions_may_be_left_out_or_null():
    stored = checked_answers(questions_of(), {"alter": 30, "auto": True, "ort": None, "idee": None})
    assert stored == {"alter": 30, "auto": True}


@pytest.mark.parametrize("answers, question, message", [
    ({"alter": "67"}, "alter", "must be a number"),                                  # wrong type
    ({"alter": True}, "alter", "must be a number"),                                  # a bool is no number
    ({"alter": 130}, "alter", "from 0 to 120"),                                      # out of range
    ({"alter": 67.5}, "alter", "whole number"),                                      # decimals
    ({"alter": float("inf")}, "alter", "must be a number"),                          # what a lenient parser lets in
    ({"alter": 10 ** 200}, "alter", "must be a number"),
    ({"zufrieden": float("inf")}, "zufrieden", "whole number"),
    ({"noten": {"o1": float("nan")}}, "noten", "row o1"),
    ({"auto": "nein"}, "auto", "true or false"),
    ({"auto": None}, "auto", "required"),                                            # missing required
    ({"wege": ["o1", "o2", "o3"]}, "wege", "at most 2"),                             # too many choices
    ({"wege": ["o7"]}, "wege", "not options"),                                       # unknown option
    ({"wege": ["o1", "o1"]}, "wege", "more than once"),
    ({"wege": "o1"}, "wege", "list of option values"),
    ({"ort": "mond"}, "ort", "not an option"),
    ({"ort": ["dorf"]}, "ort", "one of the option values"),
    ({"zufrieden": 0}, "zufrieden", "from 1 to 5"),
    ({"zufrieden": 2.5}, "zufrieden", "whole number"),
    ({"prio": ["arzt", "laden"]}, "prio", "missing: schule"),
    ({"prio": ["arzt", "arzt", "laden"]}, "prio", "every option once"),
    ({"noten": {"o1": 7}}, "noten", "row o1: must be from 1 to 6"),
    ({"noten": {"o9": 3}}, "noten", "not rows"),
    ({"noten": [2, 5]}, "noten", "must be an object"),
    ({"idee": "x" * 51}, "idee", "at most 50 characters"),                           # oversized text
    ({"idee": 5}, "idee", "must be a text"),
    ({"unbekannt": 1}, "unbekannt", "no such question"),                             # unknown question
])
def test_each_invalid_answer_is_named_by_its_question(answers, question, message):
    fields = problems({**GOOD_ANSWERS, **answers})
    assert list(fields) == [f"answers.{question}"], fields
    assert message in fields[f"answers.{question}"][0]


def test_an_answer_to_a_hidden_question_is_an_error():
    fields = problems({**GOOD_ANSWERS, "auto": True})  # wege is shown only without a car
    assert list(fields) == ["answers.wege"] and "hidden" in fields["answers.wege"][0]
    # idee is shown when unhappy OR living in a village: happy townspeople do not see it
    fields = problems({**GOOD_ANSWERS, "ort": "stadt", "zufrieden": 5})
    assert list(fields) == ["answers.idee"]
    assert checked_answers(questions_of(), {**GOOD_ANSWERS, "ort": "stadt", "zufrieden": 2})["idee"]


def test_every_problem_is_reported_at_once():
    fields = problems({"alter": -1, "auto": "x", "ort": "mond", "zufrieden": 9, "extra": 1})
    assert set(fields) == {"answers.alter", "answers.auto", "answers.ort", "answers.zufrieden", "answers.extra"}


def test_a_required_matrix_needs_every_row():
    definition = {"title": "T", "questions": [{"id": "m", "type": "matrix", "label": "x", "rows": ["a", "b"],
                                               "required": True}]}
    assert "rate every row" in problems({"m": {"o1": 3}}, definition)["answers.m"][0]
    assert "required" in problems({"m": {}}, definition)["answers.m"][0]
    assert problems({}, definition) == {"answers.m": ["an answer is required"]}


def test_conditions_combine_with_all_any_and_not():
    definition = {"title": "T", "questions": [
        {"id": "a", "type": "yes_no", "label": "A"},
        {"id": "n", "type": "number", "label": "N", "decimals": 1},
        {"id": "c", "type": "text", "label": "C", "show_if": {"all": [
            {"question": "a", "equals": True}, {"not": {"question": "n", "at_least": 10}}]}},
    ]}
    questions = questions_of(definition)
    assert checked_answers(questions, {"a": True, "n": 9.5, "c": "shown"})["c"] == "shown"
    for hidden in ({"a": False, "n": 1}, {"a": True, "n": 10}):
        with pytest.raises(ValidationFailed):
            checked_answers(questions, {**hidden, "c": "hidden"})
    with pytest.raises(ValidationFailed) as caught:
        checked_answers(questions, {"n": 9.55})
    assert "1 decimal" in caught.value.fields["answers.n"][0]


def test_a_number_question_without_bounds_still_takes_only_sane_numbers():
    questions = questions_of({"title": "T", "questions": [{"id": "n", "type": "number", "label": "n", "decimals": 2}]})
    assert checked_answers(questions, {"n": -12.25}) == {"n": -12.25}
    for wild in (1e300, -(10 ** 13), float("nan"), 10 ** 400):
        with pytest.raises(ValidationFailed):
            checked_answers(questions, {"n": wild})
    with pytest.raises(ValidationFailed) as caught:
        questions_of({"title": "T", "questions": [
            {"id": "n", "type": "number", "label": "n"},
            {"id": "t", "type": "text", "label": "t", "show_if": {"question": "n", "at_least": float("inf")}}]})
    assert "questions.1.show_if.at_least" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        questions_of({"title": "T", "questions": [
            {"id": "n", "type": "number", "label": "n"},
            {"id": "t", "type": "text", "label": "t", "show_if": {"question": "n", "equals": 10 ** 400}}]})
    assert "questions.1.show_if.equals" in caught.value.fields
