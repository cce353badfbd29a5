"""Answers checked against a survey's definition: every problem named by its question.

``checked_answers(questions, answers)`` returns the answers in their stored form (only the
questions answered, in definition order) or raises ``ValidationFailed`` whose fields are
``answers.<question id>``. Questions are visited in order; a question whose condition
(``show_if``) does not hold is hidden, and an answer to it is an error, as is a missing
answer to a visible required question. ``null`` means "not answered".
"""
from decimal import Decimal

from kernel.errors import ValidationFailed
from services.survey.definitions import option_values


def checked_answers(questions: list[dict], answers: dict) -> dict:
    if not isinstance(answers, dict):
        raise ValidationFailed("the answers must be an object", {"answers": ["question id → answer"]})
    known = {question["id"] for question in questions}
    errors = {f"answers.{key}": ["no such question in this survey"] for key in answers if key not in known}
    stored: dict = {}
    invalid: set[str] = set()
    for question in questions:
        qid = question["id"]
        answer = answers.get(qid)
        # a condition on an answer that is itself wrong cannot be judged: only the shape counts
        judged = "show_if" not in question or not referenced(question["show_if"]) & invalid
        visible = "show_if" not in question or (judged and holds(question["show_if"], stored))
        if answer is None:
            if visible and question["required"]:
                errors[f"answers.{qid}"] = ["an answer is required"]
                invalid.add(qid)
            continue
        if judged and not visible:
            errors[f"answers.{qid}"] = ["answered although hidden: its condition (show_if) does not hold"]
            continue
        try:
            value = CHECKS[question["type"]](question, answer)
        except ValueError as problem:
            errors[f"answers.{qid}"] = [str(problem)]
            invalid.add(qid)
            continue
        if value is None:  # an empty matrix or a blank text counts as not answered
            if visible and question["required"]:
                errors[f"answers.{qid}"] = ["an answer is required"]
            continue
        stored[qid] = value
    if errors:
        raise ValidationFailed("some answers are not valid", errors)
    return stored


# ---------------------------------------------------------------------- one answer per type

LARGEST = 1e12  # no number answer is larger (in size), whatever the question's bounds


def _is_number(value) -> bool:
    """A finite number of a sane size (JSON allows 1e308, Python ints any length, and
    ``Infinity``/``NaN`` reach here from a lenient parser)."""
    # abs(…) <= LARGEST is False for NaN and infinities, and compares huge ints without overflow
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= LARGEST


def _single(question, answer):
    values = option_values(question)
    if not isinstance(answer, str):
        raise ValueError(f"must be one of the option values: {', '.join(values)}")
    if answer not in values:
        raise ValueError(f"{answer[:40]!r} is not an option; choose one of {', '.join(values)}")
    return answer


def _multiple(question, answer):
    values = option_values(question)
    if not isinstance(answer, list) or not all(isinstance(item, str) for item in answer):
        raise ValueError("must be a list of option values")
    unknown = [item for item in answer if item not in values]
    if unknown:
        raise ValueError(f"not options: {', '.join(repr(item[:40]) for item in unknown[:5])}")
    if len(set(answer)) != len(answer):
        raise ValueError("an option is chosen more than once")
    if not answer:
        return None
    low, high = question["min_choices"], question["max_choices"]
    if len(answer) < low:
        raise ValueError(f"choose at least {low}")
    if len(answer) > high:
        raise ValueError(f"choose at most {high}")
    return [value for value in values if value in answer]  # in option order


def _rating(question, answer):
    return _on_scale(question["scale"], answer)


def _on_scale(scale, answer):
    low, high = scale["min"], scale["max"]
    if not _is_number(answer) or answer != int(answer):
        raise ValueError(f"must be a whole number from {low} to {high}")  # (checked finite first)
    if not low <= answer <= high:
        raise ValueError(f"must be from {low} to {high}")
    return int(answer)


def _ranking(question, answer):
    values = option_values(question)
    if not isinstance(answer, list) or not all(isinstance(item, str) for item in answer):
        raise ValueError("must list the option values, most preferred first")
    if sorted(answer) != sorted(values):
        missing = [value for value in values if value not in answer]
        if missing:
            raise ValueError(f"must rank every option once; missing: {', '.join(missing)}")
        raise ValueError(f"must rank every option once: {', '.join(values)}")
    return list(answer)


def _yes_no(question, answer):
    if not isinstance(answer, bool):
        raise ValueError("must be true or false")
    return answer


def _number(question, answer):
    if not _is_number(answer):
        raise ValueError(f"must be a number (at most {LARGEST:.0e} in size)")
    low, high = question.get("min"), question.get("max")
    if low is not None and high is not None and not low <= answer <= high:
        raise ValueError(f"must be from {_plain(low)} to {_plain(high)}")
    if low is not None and answer < low:
        raise ValueError(f"must be at least {_plain(low)}")
    if high is not None and answer > high:
        raise ValueError(f"must be at most {_plain(high)}")
    decimals = question["decimals"]
    if -Decimal(str(answer)).as_tuple().exponent > decimals and Decimal(str(answer)) != int(answer):
        raise ValueError("must be a whole number" if decimals == 0 else f"at most {decimals} decimal places")
    return int(answer) if decimals == 0 else round(float(answer), decimals)


def _plain(value) -> str:
    return "" if value is None else f"{value:g}"


def _text(question, answer):
    if not isinstance(answer, str):
        raise ValueError("must be a text")
    text = answer.strip()
    if len(text) > question["max_length"]:
        raise ValueError(f"at most {question['max_length']} characters (this has {len(text)})")
    return text or None


def _matrix(question, answer):
    rows = option_values({"options": question["rows"], "type": "matrix"})
    if not isinstance(answer, dict):
        raise ValueError("must be an object: row value → rating")
    unknown = [row for row in answer if row not in rows]
    if unknown:
        raise ValueError(f"not rows of this question: {', '.join(repr(row[:40]) for row in unknown[:5])}")
    rated = {}
    for row in rows:
        if answer.get(row) is None:
            continue
        try:
            rated[row] = _on_scale(question["scale"], answer[row])
        except ValueError as problem:
            raise ValueError(f"row {row}: {problem}") from None
    if question["required"] and rated and len(rated) < len(rows):
        raise ValueError(f"rate every row: {', '.join(row for row in rows if row not in rated)} missing")
    return rated or None


CHECKS = {"single_choice": _single, "multiple_choice": _multiple, "rating": _rating, "ranking": _ranking,
          "yes_no": _yes_no, "number": _number, "text": _text, "matrix": _matrix}


# ---------------------------------------------------------------------- conditions

def referenced(condition: dict) -> set[str]:
    """The questions a condition looks at."""
    if "question" in condition:
        return {condition["question"]}
    parts = [condition["not"]] if "not" in condition else condition.get("all") or condition.get("any") or []
    return set().union(*(referenced(part) for part in parts))


def holds(condition: dict, answers: dict) -> bool:
    """Whether ``condition`` holds of the (stored) answers given so far."""
    if "all" in condition:
        return all(holds(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(holds(part, answers) for part in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], answers)
    answer = answers.get(condition["question"])
    if "answered" in condition:
        return (answer is not None) == condition["answered"]
    if answer is None:
        return False
    if "equals" in condition:
        expected = condition["equals"]
        return expected in answer if isinstance(answer, list) else answer == expected and \
            isinstance(answer, bool) == isinstance(expected, bool)
    if "in" in condition:
        wanted = condition["in"]
        return any(item in wanted for item in answer) if isinstance(answer, list) else answer in wanted
    if "at_least" in condition:
        return answer >= condition["at_least"]
    return answer <= condition["at_most"]
