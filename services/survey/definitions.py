"""Survey definitions: a loaded create input (``SurveyCreateSchema``) made into the stored,
normalised form, and the rules that need the whole definition.

Normalised: a poll becomes one choice question; every question has an ``id`` (``q1``,
``q2`` … by position when not given) and every option and matrix row a ``value`` (``o1`` …);
defaults are written out (``required``, multiple choice ``min_choices``/``max_choices``, the
rating scale, number ``decimals``, text ``max_length``). Conditions (``show_if``) may only
name questions before their own, so they can be evaluated in order and never loop.
"""
from kernel.errors import ValidationFailed

CONDITION_OPERATORS = ("equals", "in", "answered", "at_least", "at_most")
CHOICE_ANSWER_TYPES = ("single_choice", "multiple_choice", "yes_no")  # cross-tabulated with each other
NUMERIC_TYPES = ("rating", "number")
DEFAULT_TEXT_LENGTH = 1000
MAX_CONDITION_DEPTH = 5


def survey_questions(data: dict) -> list[dict]:
    """The normalised questions of a loaded survey or poll input; ``ValidationFailed`` on the
    field paths of what breaks a rule."""
    if data.get("kind") == "poll":
        return normalise_questions([_poll_question(data)], "options")
    return normalise_questions(data["questions"], "questions")


def _poll_question(data: dict) -> dict:
    several = data.get("max_choices", 1) > 1
    question = {"id": "q1", "type": "multiple_choice" if several else "single_choice",
                "label": data.get("question") or data["title"], "required": True, "options": data["options"]}
    if several:
        question["max_choices"] = data["max_choices"]
    return question


def normalise_questions(questions: list[dict], field: str) -> list[dict]:
    errors: dict = {}
    normalised = []
    seen: dict[str, dict] = {}
    for index, raw in enumerate(questions):
        question = _with_defaults(dict(raw), index)
        path = f"{field}.{index}" if field == "questions" else field
        problems = _option_problems(question)
        if question["id"] in seen:
            problems.setdefault("id", []).append(f"{question['id']!r} is used by an earlier question")
        if "show_if" in question:
            problems.update(_condition_problems(question["show_if"], seen, "show_if", 0))
        for name, messages in problems.items():
            errors[f"{path}.{name}"] = messages
        seen[question["id"]] = question
        normalised.append(question)
    if errors:
        raise ValidationFailed("the survey definition is not valid", errors)
    return normalised


def _with_defaults(question: dict, index: int) -> dict:
    question.setdefault("id", f"q{index + 1}")
    question.setdefault("required", False)
    for name in ("options", "rows"):
        if name in question:
            question[name] = [{"value": item["value"] or f"o{number + 1}", "label": item["label"]}
                              for number, item in enumerate(question[name])]
    kind = question["type"]
    if kind == "multiple_choice":
        question.setdefault("min_choices", 1)
        question.setdefault("max_choices", len(question["options"]))
    if kind in ("rating", "matrix"):
        scale = {"min": 1, "max": 5, **question.get("scale", {})}
        question["scale"] = {key: value for key, value in scale.items() if value is not None}
    if kind == "number":
        question.setdefault("decimals", 0)
    if kind == "text":
        question.setdefault("max_length", DEFAULT_TEXT_LENGTH)
    if question.get("help") is None:
        question.pop("help", None)
    return question


def _option_problems(question: dict) -> dict:
    problems = {}
    for name in ("options", "rows"):
        values = [item["value"] for item in question.get(name, [])]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            problems[name] = [f"values must be unique: {', '.join(repeated)} repeated"]
    return problems


def _condition_problems(condition, earlier: dict[str, dict], path: str, depth: int) -> dict:
    """Field messages for a condition; it may only name questions in ``earlier``."""
    if depth > MAX_CONDITION_DEPTH:
        return {path: [f"conditions may be nested at most {MAX_CONDITION_DEPTH} deep"]}
    if not isinstance(condition, dict) or not condition:
        return {path: ["must be an object such as {\"question\": \"q2\", \"equals\": true}"]}
    combinators = [name for name in ("all", "any", "not") if name in condition]
    if combinators:
        if len(condition) != 1:
            return {path: ["all, any or not stands alone in its object"]}
        name = combinators[0]
        parts = [condition[name]] if name == "not" else condition[name]
        if not isinstance(parts, list) or not parts or len(parts) > 10:
            return {f"{path}.{name}": ["must be a list of 1 to 10 conditions"]}
        problems = {}
        for number, part in enumerate(parts):
            part_path = f"{path}.{name}" if name == "not" else f"{path}.{name}.{number}"
            problems.update(_condition_problems(part, earlier, part_path, depth + 1))
        return problems
    operators = [name for name in condition if name in CONDITION_OPERATORS]
    unknown = sorted(set(condition) - {"question", *CONDITION_OPERATORS})
    if unknown:
        return {path: [f"unknown: {', '.join(unknown)}; use question with one of "
                       f"{', '.join(CONDITION_OPERATORS)}, or all/any/not"]}
    if "question" not in condition or len(operators) != 1:
        return {path: ["name a question and exactly one of " + ", ".join(CONDITION_OPERATORS)]}
    target = earlier.get(condition["question"]) if isinstance(condition["question"], str) else None
    if target is None:
        return {f"{path}.question": ["must name a question before this one"]}
    return _operand_problems(target, operators[0], condition[operators[0]], path)


def _operand_problems(target: dict, operator: str, operand, path: str) -> dict:
    kind = target["type"]
    where = f"{path}.{operator}"
    if operator == "answered":
        return {} if isinstance(operand, bool) else {where: ["must be true or false"]}
    if operator in ("at_least", "at_most"):
        if kind not in NUMERIC_TYPES:
            return {where: [f"compares numbers; {target['id']} is {kind}"]}
        return {} if _is_number(operand) else {where: ["must be a number"]}
    if kind == "yes_no":
        values, allowed = (operand if operator == "in" else [operand]), (True, False)
    elif kind in ("single_choice", "multiple_choice"):
        values, allowed = (operand if operator == "in" else [operand]), [o["value"] for o in target["options"]]
    elif kind in NUMERIC_TYPES and operator == "equals":
        return {} if _is_number(operand) else {where: ["must be a number"]}
    else:
        return {where: [f"a {kind} question cannot be compared with {operator}"]}
    if operator == "in" and (not isinstance(operand, list) or not operand):
        return {where: ["must be a list of values"]}
    wrong = [value for value in values if (not isinstance(value, bool) if kind == "yes_no"
                                           else not isinstance(value, str) or value not in allowed)]
    if wrong:
        return {where: [f"not a value of {target['id']}: {', '.join(map(repr, wrong))}"]}
    return {}


def _is_number(value) -> bool:
    # False for NaN and infinities; huge ints are compared without overflow
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= 1e12


def option_values(question: dict) -> list:
    """The values an answer to a choice question can hold (yes/no: true, false)."""
    if question["type"] == "yes_no":
        return [True, False]
    return [option["value"] for option in question.get("options", [])]
