"""The web client's survey logic, run by node (web/tests/survey-logic.mjs): it shows a survey's
conditional questions (show_if) exactly when the survey service takes their answers (its `holds`
agrees with services/survey/answers.py on every kind of condition and answer), and reads numbers
as people in Germany type them."""
import itertools
import json
import subprocess

from services.survey.answers import holds
from tests.platform.deployment import REPO

ANSWERS = [{}, {"a": "x"}, {"a": "y"}, {"a": ["x", "z"]}, {"a": []}, {"a": True}, {"a": False}, {"a": 1},
           {"a": 3}, {"a": 7.5}, {"a": "x", "b": 2}, {"b": 4}]
SIMPLE = [{"question": "a", "equals": "x"}, {"question": "a", "equals": True}, {"question": "a", "equals": 1},
          {"question": "a", "in": ["x", "z"]}, {"question": "a", "in": [True]}, {"question": "a", "answered": True},
          {"question": "a", "answered": False}, {"question": "a", "at_least": 3}, {"question": "a", "at_most": 3},
          {"question": "b", "at_least": 3}]
COMBINED = ([{"not": condition} for condition in SIMPLE]
            + [{"all": list(pair)} for pair in itertools.combinations(SIMPLE[:6], 2)]
            + [{"any": list(pair)} for pair in itertools.combinations(SIMPLE[4:], 2)]
            + [{"all": [{"any": SIMPLE[:2]}, {"not": SIMPLE[9]}]}])


def run_client(**cases) -> dict:
    done = subprocess.run(["node", "tests/survey-logic.mjs"], cwd=REPO / "web", input=json.dumps(cases),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def kind(value) -> str:
    if isinstance(value, bool):
        return "yes_no"
    if isinstance(value, (int, float)):
        return "number"
    return "choice"  # a text or a list of them


def comparable(condition, answers) -> bool:
    """The pairs a survey can hold: its definitions are checked so that an operand fits its
    question's type (services/survey/definitions.py): yes/no with true/false, choices with
    their values, numbers with numbers (and never with "in")."""
    answer = answers.get(condition.get("question"))
    if answer is None or "answered" in condition:
        return True
    if "at_least" in condition or "at_most" in condition:
        return kind(answer) == "number"
    operands = condition["in"] if "in" in condition else [condition["equals"]]
    return all(kind(operand) == kind(answer) for operand in operands) and not ("in" in condition and
                                                                              kind(answer) == "number")


def leaves(condition):
    if "question" in condition:
        return [condition]
    parts = [condition["not"]] if "not" in condition else condition.get("all") or condition.get("any")
    return [leaf for part in parts for leaf in leaves(part)]


def test_the_client_and_the_service_agree_on_every_condition():
    cases = [{"condition": condition, "answers": answers} for condition in SIMPLE + COMBINED for answers in ANSWERS
             if all(comparable(leaf, answers) for leaf in leaves(condition))]
    assert len(cases) > 250
    client = run_client(conditions=cases, numbers=[])["conditions"]
    service = [holds(case["condition"], case["answers"]) for case in cases]
    assert [case for case, mine, theirs in zip(cases, client, service) if mine != theirs] == []
    assert True in service and False in service


NUMBERS = {"2": 2, "2,5": 2.5, "2.5": 2.5, " 12 ": 12, "-3,25": -3.25, "1.000": 1000, "12.500,5": 12500.5,
           "1.000.000": 1_000_000, ",5": 0.5, "1 000": 1000, "zwei": None, "1,2,3": None, "1.00": 1.0, "": None,
           "1e5": None, "--1": None}


def test_numbers_are_read_as_typed_in_german():
    assert run_client(conditions=[], numbers=list(NUMBERS))["numbers"] == list(NUMBERS.values())
