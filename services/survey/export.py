"""Responses as a spreadsheet: one row per response, stable columns from the definition.

Columns: ``position`` (1, 2 … in the order counted), ``submitted_at`` (to the minute), then
one per question (``q1``); a multiple choice question has one per option (``q2.bus``: 1 when
chosen, 0 when not, empty when the question was not answered), a ranking one per option (its
place), a matrix one per row (its rating). Headers carry the German labels after the key
(``q1: Wie alt sind Sie?``); cells are formula-safe (``kernel.spreadsheet``). The file starts
with a byte order mark so German spreadsheets read it as UTF-8; ``;`` is the default
delimiter, as German Excel expects.
"""
import csv
import io

from kernel.spreadsheet import BOM, formula_safe

DELIMITERS = {"semicolon": ";", "comma": ","}


def _label(label: dict | None) -> str:
    return (label or {}).get("de", "")


def columns(questions: list[dict]) -> list[tuple[str, callable]]:
    """``[(header, cell_of(answers)), …]`` after position and submitted_at."""
    result = []
    for question in questions:
        qid, kind = question["id"], question["type"]
        head = f"{qid}: {_label(question['label'])}"
        if kind == "multiple_choice":
            for option in question["options"]:
                result.append((f"{qid}.{option['value']}: {_label(question['label'])} [{_label(option['label'])}]",
                               _chosen(qid, option["value"])))
        elif kind == "ranking":
            for option in question["options"]:
                result.append((f"{qid}.{option['value']}: {_label(question['label'])} [{_label(option['label'])}]",
                               _place(qid, option["value"])))
        elif kind == "matrix":
            for row in question["rows"]:
                result.append((f"{qid}.{row['value']}: {_label(question['label'])} [{_label(row['label'])}]",
                               _matrix_cell(qid, row["value"])))
        elif kind == "single_choice":
            labels = {option["value"]: _label(option["label"]) for option in question["options"]}
            result.append((head, lambda answers, qid=qid, labels=labels: labels.get(answers.get(qid), "")))
        elif kind == "yes_no":
            result.append((head, lambda answers, qid=qid: {True: "ja", False: "nein"}.get(answers.get(qid), "")))
        else:  # rating, number, text
            result.append((head, lambda answers, qid=qid: answers.get(qid, "")))
    return result


def _chosen(qid, value):
    return lambda answers: "" if qid not in answers else int(value in answers[qid])


def _place(qid, value):
    return lambda answers: "" if qid not in answers else answers[qid].index(value) + 1


def _matrix_cell(qid, row):
    return lambda answers: (answers.get(qid) or {}).get(row, "")


def csv_text(questions: list[dict], items: list[dict], delimiter: str = "semicolon", header: bool = True) -> str:
    """CSV lines of ``items`` (``{position, submitted_at, answers}``), with BOM and header first
    when ``header``."""
    cols = columns(questions)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITERS[delimiter], lineterminator="\r\n")
    if header:
        out.write(BOM)
        writer.writerow(["position", "submitted_at", *(formula_safe(name) for name, _ in cols)])
    for item in items:
        answers = item["answers"]
        cells = [str(cell(answers)) for _, cell in cols]
        writer.writerow([item["position"], item["submitted_at"], *(formula_safe(cell) for cell in cells)])
    return out.getvalue()
