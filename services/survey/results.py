"""Results kept incrementally: what one response adds to the counters, and the summary read
from the counters (never from the responses themselves).

Counters are ``(question, bucket) → count``: ``(q, "*")`` counts who answered ``q``; a choice
counts under its value (yes/no under ``yes``/``no``), a rating or number under its value, a
ranking under ``option@position``, a matrix row under ``row=value`` (and ``row=*``). Pairs of
single choice and yes/no questions are cross-tabulated under ``("a|b", "x|y")``. Reading results therefore
costs the number of distinct answers, not the number of responses.

Small groups identify people: in public results every count from 1 to ``min_group - 1`` is
shown as ``{"count": null, "fewer_than": min_group}``; while the hidden counts of a question
add up to less than ``min_group``, the smallest shown one is hidden too (``suppressed``), so
none can be worked out from the total; a distribution with hidden counts shows no mean or
median (they would tell them). A question answered by fewer than ``min_group`` people shows
no figures at all.
"""
from itertools import combinations
from kernel.errors import ValidationFailed
from services.survey.definitions import CHOICE_ANSWER_TYPES, option_values

ANSWERED = "*"
# pairs of these are cross-tabulated: one counter per pair and response (multiple choice would
# multiply them: 30 questions of 30 options ticked would be 390,000 counters for one response)
CROSS_TYPES = ("single_choice", "yes_no")


def bucket_of(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value)


def _choices(question: dict, answer) -> list[str]:
    return [bucket_of(item) for item in (answer if isinstance(answer, list) else [answer])]


def counter_updates(questions: list[dict], answers: dict) -> dict[tuple[str, str], int]:
    """The counters one response (its stored answers) adds 1 to."""
    updates: dict[tuple[str, str], int] = {}
    for question in questions:
        qid = question["id"]
        if qid not in answers:
            continue
        answer = answers[qid]
        buckets = [ANSWERED]
        kind = question["type"]
        if kind in CHOICE_ANSWER_TYPES:
            buckets += _choices(question, answer)
        elif kind in ("rating", "number"):
            buckets.append(bucket_of(answer))
        elif kind == "ranking":
            buckets += [f"{value}@{position}" for position, value in enumerate(answer, start=1)]
        elif kind == "matrix":
            for row, value in answer.items():
                buckets += [f"{row}={ANSWERED}", f"{row}={value}"]
        for bucket in buckets:
            updates[(qid, bucket)] = 1
    choice_questions = [q for q in questions if q["type"] in CROSS_TYPES and q["id"] in answers]
    for first, second in combinations(choice_questions, 2):
        for a in _choices(first, answers[first["id"]]):
            for b in _choices(second, answers[second["id"]]):
                updates[(f"{first['id']}|{second['id']}", f"{a}|{b}")] = 1
    return updates


# ---------------------------------------------------------------------- reading

class Counts:
    def __init__(self, rows):
        self._by_question: dict[str, dict[str, int]] = {}
        for question, bucket, count in rows:
            self._by_question.setdefault(question, {})[bucket] = count

    def of(self, question: str) -> dict[str, int]:
        return self._by_question.get(question, {})


def summarise(questions: list[dict], counter_rows, response_count: int, *, staff: bool, min_group: int,
              language: str = "de", cross: tuple[str, str] | None = None) -> dict:
    """Results per question; public ones (``staff`` False) with small groups hidden."""
    counts = Counts(counter_rows)
    guard = None if staff else min_group
    items = [_question_result(question, counts.of(question["id"]), guard, language) for question in questions]
    result = {"response_count": response_count if guard is None or response_count >= guard else None,
              "min_group": min_group, "questions": items}
    if cross and staff:
        result["cross"] = cross_table(questions, counts, cross, language)
    return result


def _label(label: dict | None, language: str) -> str | None:
    if not label:
        return None
    return label.get(language) or label["de"]


def _question_result(question: dict, counts: dict[str, int], guard: int | None, language: str) -> dict:
    answered = counts.get(ANSWERED, 0)
    result = {"id": question["id"], "type": question["type"], "label": _label(question["label"], language),
              "answered": answered}
    if guard is not None and answered < guard:
        result.update(answered=None, fewer_than=guard)
        return result
    kind = question["type"]
    if kind in CHOICE_ANSWER_TYPES:
        options = question.get("options") or [{"value": True, "label": {"de": "Ja", "en": "Yes"}},
                                              {"value": False, "label": {"de": "Nein", "en": "No"}}]
        cells = [{"value": option["value"], "label": _label(option["label"], language),
                  "count": counts.get(bucket_of(option["value"]), 0)} for option in options]
        result["options"] = _shares(_hide_small(cells, guard), answered)
    elif kind in ("rating", "number"):
        result.update(_distribution_summary(question, counts, guard))
    elif kind == "ranking":
        result["options"] = _borda(question, counts, answered, language, guard)
    elif kind == "matrix":
        result["rows"] = [_matrix_row(question, row, counts, guard, language) for row in question["rows"]]
    return result


def _hide_small(cells: list[dict], guard: int | None) -> list[dict]:
    """Hide every count from 1 to ``guard - 1``; then, while the hidden ones add up to less than
    ``guard`` (the total minus the shown would give them away), the smallest shown one too
    (marked ``suppressed``: it is not small itself)."""
    if guard is None:
        return cells
    small = [cell for cell in cells if 0 < cell["count"] < guard]
    hidden_sum = sum(cell["count"] for cell in small)
    shown = sorted((cell for cell in cells if cell["count"] >= guard), key=lambda cell: cell["count"])
    also = []
    while small and hidden_sum < guard and shown:
        cell = shown.pop(0)
        hidden_sum += cell["count"]
        also.append(cell)
    for cell in small:
        cell.update(count=None, fewer_than=guard)
    for cell in also:
        cell.update(count=None, suppressed=True)
    return cells


def _any_hidden(cells: list[dict]) -> bool:
    return any(cell["count"] is None for cell in cells)


def _shares(cells: list[dict], answered: int) -> list[dict]:
    for cell in cells:
        cell["share"] = None if cell["count"] is None or not answered else round(cell["count"] / answered, 4)
    return cells


def _values(counts: dict[str, int]) -> list[tuple[float, int]]:
    pairs = []
    for bucket, count in counts.items():
        if bucket != ANSWERED and count:
            pairs.append((float(bucket), count))
    return sorted(pairs)


def _distribution_summary(question: dict, counts: dict[str, int], guard: int | None) -> dict:
    pairs = _values(counts)
    total = sum(count for _, count in pairs)
    summary = {"mean": round(sum(value * count for value, count in pairs) / total, 3) if total else None,
               "median": _median(pairs) if total else None}
    if question["type"] == "rating":
        scale = question["scale"]
        cells = [{"value": value, "count": counts.get(str(value), 0)}
                 for value in range(scale["min"], scale["max"] + 1)]
    else:
        cells = _bins(question, pairs)
    summary["distribution"] = _shares(_hide_small(cells, guard), total)
    if _any_hidden(summary["distribution"]):  # with the total, a mean would tell what is hidden
        summary.update(mean=None, median=None)
    if guard is None and pairs:
        summary.update(min=_number(pairs[0][0]), max=_number(pairs[-1][0]))
    return summary


def _number(value: float):
    return int(value) if value == int(value) else value


def _median(pairs: list[tuple[float, int]]):
    """The median of the values behind ``pairs`` (value, count), without expanding them."""
    total = sum(count for _, count in pairs)
    middle = [(total - 1) // 2, total // 2]
    found, seen = [], 0
    for value, count in pairs:
        for position in middle:
            if seen <= position < seen + count:
                found.append(value)
        seen += count
    return _number((found[0] + found[1]) / 2)


def _bins(question: dict, pairs: list[tuple[float, int]], bins: int = 10) -> list[dict]:
    """Numbers in up to ten equal ranges between the question's bounds (or the answers')."""
    if not pairs:
        return []
    low = question.get("min", pairs[0][0])
    high = question.get("max", pairs[-1][0])
    if high <= low:
        return [{"from": _number(low), "to": _number(high), "count": sum(count for _, count in pairs)}]
    width = (high - low) / bins
    cells = [{"from": _number(round(low + width * i, 6)), "to": _number(round(low + width * (i + 1), 6)), "count": 0}
             for i in range(bins)]
    for value, count in pairs:
        cells[min(bins - 1, max(0, int((value - low) / width)))]["count"] += count
    return cells


def _borda(question: dict, counts: dict[str, int], answered: int, language: str,
           guard: int | None = None) -> list[dict]:
    """Borda count: with n options, first place gives n - 1 points, last place 0. First places
    are a count like any other (hidden when small, in public results)."""
    options = question["options"]
    n = len(options)
    ranked = []
    for option in options:
        places = {position: counts.get(f"{option['value']}@{position}", 0) for position in range(1, n + 1)}
        score = sum((n - position) * count for position, count in places.items())
        mean_position = round(sum(p * c for p, c in places.items()) / answered, 3) if answered else None
        ranked.append({"value": option["value"], "label": _label(option["label"], language), "borda": score,
                       "mean_position": mean_position, "count": places[1]})
    _hide_small(ranked, guard)
    for item in ranked:
        item["first_places"] = item.pop("count")
    return sorted(ranked, key=lambda item: (-item["borda"], item["value"]))


def _matrix_row(question: dict, row: dict, counts: dict[str, int], guard: int | None, language: str) -> dict:
    prefix = f"{row['value']}="
    row_counts = {bucket[len(prefix):]: count for bucket, count in counts.items() if bucket.startswith(prefix)}
    answered = row_counts.get(ANSWERED, 0)
    result = {"value": row["value"], "label": _label(row["label"], language), "answered": answered}
    if guard is not None and answered < guard:
        result.update(answered=None, fewer_than=guard)
        return result
    result.update(_distribution_summary({"type": "rating", "scale": question["scale"]}, row_counts, guard))
    return result


def cross_table(questions: list[dict], counts: Counts, pair: tuple[str, str], language: str) -> dict:
    """Staff: counts of every combination of two choice questions' answers."""
    by_id = {question["id"]: question for question in questions}
    first, second = (by_id.get(qid) for qid in pair)
    for qid, question in zip(pair, (first, second)):
        if question is None or question["type"] not in CROSS_TYPES:
            raise ValidationFailed("cross needs two choice questions", {"cross": [
                f"{qid} is not a single choice or yes/no question of this survey"]})
    if first is second:
        raise ValidationFailed("cross needs two different questions", {"cross": ["name two different questions"]})
    ordered = [q for q in questions if q["id"] in pair]
    key = f"{ordered[0]['id']}|{ordered[1]['id']}"
    cells = counts.of(key)
    rows_q, cols_q = (first, second)
    flipped = ordered[0] is not first
    table = []
    for a in option_values(rows_q):
        row = {"value": a, "counts": {}}
        for b in option_values(cols_q):
            bucket = f"{bucket_of(b)}|{bucket_of(a)}" if flipped else f"{bucket_of(a)}|{bucket_of(b)}"
            row["counts"][bucket_of(b)] = cells.get(bucket, 0)
        table.append(row)
    return {"rows": rows_q["id"], "columns": cols_q["id"], "table": table}

