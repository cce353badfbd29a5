"""Results from counters, without a database: what each response adds, what the public sees."""
import csv
import io
from collections import Counter

import pytest

from kernel.errors import ValidationFailed
from services.survey.answers import checked_answers
from services.survey.export import csv_text
from services.survey.results import counter_updates, summarise
from tests.survey.conftest import GOOD_ANSWERS
from tests.survey.test_answers import questions_of

QUESTIONS = questions_of()


def counted(answer_sets) -> list[tuple[str, str, int]]:
    """The counter rows after these responses (as the database would hold them)."""
    totals = Counter()
    for answers in answer_sets:
        totals.update(counter_updates(QUESTIONS, checked_answers(QUESTIONS, answers)))
    return [(question, bucket, count) for (question, bucket), count in totals.items()]


def variant(**changes):
    return {**GOOD_ANSWERS, **changes}


def result_of(rows, staff, question, count, **kwargs):
    summary = summarise(QUESTIONS, rows, count, staff=staff, min_group=5, **kwargs)
    return next(item for item in summary["questions"] if item["id"] == question), summary


def test_counts_shares_mean_median_and_distribution():
    answers = [variant(zufrieden=value, alter=age) for value, age in
               [(1, 20), (2, 30), (4, 40), (4, 50), (5, 60), (5, 70), (5, 80)]]
    rows = counted(answers)
    rating, _ = result_of(rows, True, "zufrieden", 7)
    assert rating["answered"] == 7
    assert rating["mean"] == round(26 / 7, 3) and rating["median"] == 4
    assert [cell["count"] for cell in rating["distribution"]] == [1, 1, 0, 2, 3]
    assert rating["distribution"][4]["share"] == round(3 / 7, 4)
    number, _ = result_of(rows, True, "alter", 7)
    assert number["median"] == 50 and number["mean"] == 50 and (number["min"], number["max"]) == (20, 80)
    assert sum(cell["count"] for cell in number["distribution"]) == 7 and len(number["distribution"]) == 10
    choice, _ = result_of(rows, True, "wege", 7)
    assert [(o["value"], o["count"]) for o in choice["options"]] == [("o1", 7), ("o2", 0), ("o3", 7)]


def test_an_even_count_has_the_middle_of_the_two_central_values_as_median():
    rows = counted([variant(alter=age) for age in (10, 20, 30, 41)])
    number, _ = result_of(rows, True, "alter", 4)
    assert number["median"] == 25


def test_rankings_get_borda_scores():
    orders = [["arzt", "laden", "schule"]] * 3 + [["schule", "arzt", "laden"]] * 2
    rows = counted([variant(prio=order) for order in orders])
    ranking, _ = result_of(rows, True, "prio", 5)
    scores = {option["value"]: option["borda"] for option in ranking["options"]}
    assert scores == {"arzt": 3 * 2 + 2 * 1, "laden": 3 * 1, "schule": 2 * 2}
    assert [option["value"] for option in ranking["options"]] == ["arzt", "schule", "laden"]
    assert next(o for o in ranking["options"] if o["value"] == "arzt")["first_places"] == 3


def test_public_results_hide_small_groups_and_what_could_be_worked_out_from_them():
    answers = [variant(ort="dorf")] * 8 + [variant(ort="stadt", idee=None)] * 2
    rows = counted(answers)
    staff, _ = result_of(rows, True, "ort", 10)
    assert [o["count"] for o in staff["options"]] == [8, 2]
    public, summary = result_of(rows, False, "ort", 10)
    # 2 is hidden; 8 then too, or 10 - 8 would give the 2 away
    assert [(o["count"], o.get("fewer_than"), o.get("suppressed")) for o in public["options"]] == [
        (None, None, True), (None, 5, None)]
    assert summary["response_count"] == 10
    few = counted([variant()] * 3)
    question, summary = result_of(few, False, "zufrieden", 3)
    assert question == {"id": "zufrieden", "type": "rating", "label": "Wie zufrieden sind Sie?", "answered": None,
                        "fewer_than": 5}
    assert summary["response_count"] is None


def test_a_small_group_hides_the_next_count_even_a_large_one():
    answers = [variant(ort="stadt", idee=None)] * 10 + [variant(ort="dorf")] * 2
    rows = counted(answers + [variant(ort=None, idee=None)] * 2)
    public, _ = result_of(rows, False, "ort", 14)
    assert [o["count"] for o in public["options"]] == [None, None]  # 2 and 10: the 10 goes too


def test_a_distribution_with_hidden_counts_has_no_mean_that_would_tell_them():
    rows = counted([variant(zufrieden=4)] * 2 + [variant(zufrieden=5)] * 10)
    rating, _ = result_of(rows, False, "zufrieden", 12)
    assert rating["mean"] is None and rating["median"] is None
    assert [cell["count"] for cell in rating["distribution"]] == [0, 0, 0, None, None]
    staff, _ = result_of(rows, True, "zufrieden", 12)
    assert staff["mean"] == round(58 / 12, 3)


def test_public_rankings_hide_small_counts_of_first_places():
    orders = [["arzt", "laden", "schule"]] * 6 + [["laden", "arzt", "schule"]] * 2
    rows = counted([variant(prio=order) for order in orders])
    ranking, _ = result_of(rows, False, "prio", 8)
    first = {option["value"]: option["first_places"] for option in ranking["options"]}
    assert first == {"arzt": None, "laden": None, "schule": 0}


def test_public_results_leave_out_the_extremes_and_texts():
    rows = counted([variant(alter=age) for age in [20] * 5 + [30] * 5])
    number, _ = result_of(rows, False, "alter", 10)
    assert "min" not in number and "max" not in number and number["median"] == 25
    text, _ = result_of(rows, False, "idee", 10)
    assert "texts" not in text and text["answered"] == 10


def test_matrix_rows_are_summarised_each():
    rows = counted([variant(noten={"o1": grade, "o2": 6}) for grade in (1, 2, 3, 3, 6)])
    matrix, _ = result_of(rows, True, "noten", 5)
    strassen, internet = matrix["rows"]
    assert (strassen["label"], strassen["mean"], strassen["median"]) == ("Straßen", 3, 3)
    assert internet["distribution"][-1]["count"] == 5


def test_staff_cross_tabulate_two_choice_questions_in_either_order():
    answers = [variant(ort="dorf", auto=False)] * 3 + [variant(ort="stadt", auto=True, wege=None, idee=None)] * 2
    rows = counted(answers)
    _, summary = result_of(rows, True, "ort", 5, cross=("ort", "auto"))
    table = {row["value"]: row["counts"] for row in summary["cross"]["table"]}
    assert table == {"dorf": {"yes": 0, "no": 3}, "stadt": {"yes": 2, "no": 0}}
    _, flipped = result_of(rows, True, "ort", 5, cross=("auto", "ort"))
    with pytest.raises(ValidationFailed):  # multiple choice is not cross-tabulated
        result_of(rows, True, "ort", 5, cross=("ort", "wege"))
    assert {row["value"]: row["counts"] for row in flipped["cross"]["table"]} == {
        True: {"dorf": 0, "stadt": 2}, False: {"dorf": 3, "stadt": 0}}


def test_the_csv_has_a_stable_column_per_question_and_option_and_is_formula_safe():
    items = [{"position": 1, "submitted_at": "2026-12-02T10:00:00+00:00",
              "answers": checked_answers(QUESTIONS, variant(idee="=HYPERLINK(\"http://x\")"))},
             {"position": 2, "submitted_at": "2026-12-02T10:01:00+00:00",
              "answers": checked_answers(QUESTIONS, {"alter": 30, "auto": True})}]
    text = csv_text(QUESTIONS, items)
    assert text.startswith("\ufeffposition;submitted_at;alter: Wie alt sind Sie?;")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    header = rows[0]
    assert len(rows) == 3 and all(len(row) == len(header) for row in rows)
    assert [name.split(":")[0] for name in header] == [
        "position", "submitted_at", "alter", "auto", "wege.o1", "wege.o2", "wege.o3", "ort", "zufrieden",
        "prio.arzt", "prio.laden", "prio.schule", "noten.o1", "noten.o2", "idee"]
    first = dict(zip(header, rows[1]))
    assert first["auto: Haben Sie ein Auto?"] == "nein" and first["ort: Wo wohnen Sie?"] == "Dorf"
    assert first["wege.o2: Wie sind Sie unterwegs? [Rad]"] == "0"
    assert first["prio.schule: Was ist am wichtigsten? [Schule]"] == "3"
    assert first["idee: Ihre Idee"] == "'=HYPERLINK(\"http://x\")"
    second = dict(zip(header, rows[2]))
    assert second["wege.o1: Wie sind Sie unterwegs? [Bus]"] == "" and second["idee: Ihre Idee"] == ""
