"""Import and export of entries as files (CSV, JSON in; CSV, GeoJSON out). Plain data only.

``read_records`` turns a file into records in the shape of the catalog's entry create
input (``EntryCreateSchema``, plus ``slug``); it checks only what the file format decides
(numbers, dates, lists, link syntax, known columns). The catalog validates each record
with its schema and domain rules on import; ``ImportReport`` collects both kinds of
rejection per row.

CSV: UTF-8 (a BOM, as Excel writes it, is fine), ``,`` or ``;`` as delimiter (German
Excel writes ``;``), one header row with the names in ``COLUMNS`` (any subset, any order).
Lists are separated by ``|``; links are ``label=url|label=url``. Row numbers are those a
spreadsheet shows: the header is row 1. Cells that a spreadsheet would run as a formula
(starting with ``= + - @``) are written with a leading ``'`` and read back without it.
"""
import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from kernel.errors import ValidationFailed
from kernel.spreadsheet import formula_safe, unquoted

COLUMNS = (
    "slug", "kind", "title", "summary", "description", "themes", "tags",
    "street", "postal_code", "locality", "lat", "lon", "region", "starts_on", "ends_on",
    "funding", "image_url", "licence", "language",
    "contact_name", "contact_email", "contact_phone", "links", "organisations",
)
CONTACT_COLUMNS = ("contact_name", "contact_email", "contact_phone")
LIST_COLUMNS = ("themes", "tags", "organisations")
TEXT_COLUMNS = ("slug", "kind", "title", "summary", "description", "street", "postal_code", "locality",
                "region", "funding", "image_url", "licence", "language", *CONTACT_COLUMNS)
# Keys of an entry as the catalog returns it (export files) that an import ignores.
READ_ONLY_KEYS = ("id", "status", "version", "demo", "created_at", "updated_at", "published_at",
                  "rejection_reason", "created_by")
RECORD_KEYS = ("slug", "kind", "title", "summary", "description", "themes", "tags", "address",
               "location", "region", "starts_on", "ends_on", "funding", "image_url", "licence",
               "language", "contact", "links", "organisations")
FORMATS = ("csv", "json")
LIST_SEPARATOR = "|"


class ParsedRow(tuple):
    """``(row, record, errors)`` — unpacks like a 3-tuple. ``record`` is ``None`` when
    ``errors`` is set; ``slug`` and ``title`` name the source row for reports either way."""

    def __new__(cls, row: int, record: dict | None, errors: dict | None, slug=None, title=None):
        self = super().__new__(cls, (row, record, errors))
        self.slug, self.title = slug, title
        return self

    row = property(lambda self: self[0])
    record = property(lambda self: self[1])
    errors = property(lambda self: self[2])


@dataclass
class ImportReport:
    """What became of each row of an import."""
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    rejections: list = field(default_factory=list)

    def reject(self, row: int, record: dict | None, errors: dict, slug=None, title=None) -> None:
        record = record or {}
        self.rejected += 1
        self.rejections.append({
            "row": row,
            "slug": record.get("slug", slug),
            "title": record.get("title", title),
            "errors": errors,
        })

    def as_dict(self) -> dict:
        return {"rows": self.rows, "imported": self.imported, "rejected": self.rejected,
                "rejections": [dict(item) for item in self.rejections]}


# --------------------------------------------------------------------------- reading

def _file_error(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"file": [message]})


def _read_text(path_or_file) -> str:
    """The file's text; UTF-8 with or without BOM, anything else is a clear error."""
    if isinstance(path_or_file, (str, Path)):
        data = Path(path_or_file).read_bytes()
    else:
        data = path_or_file.read()
    if isinstance(data, str):  # a text-mode file: the caller decoded it already
        return data[1:] if data.startswith("\ufeff") else data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_error("the file is UTF-16; save it as UTF-8 (in Excel: 'CSV UTF-8')")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise _file_error(
            f"the file is not UTF-8 (byte 0x{data[err.start]:02x} on line {line}); it looks like "
            "Windows-1252/Latin-1 - save it as UTF-8 (in Excel: 'CSV UTF-8')") from None


def read_records(path_or_file, fmt: str) -> list[ParsedRow]:
    """``[(row_number, record_or_None, errors_or_None), …]`` from a CSV or JSON file.

    Raises ``ValidationFailed`` for problems of the whole file (encoding, unknown format,
    broken JSON, unknown or repeated CSV columns); problems of one row are that row's errors.
    """
    if fmt not in FORMATS:
        raise ValidationFailed("unknown format", {"format": [f"must be one of: {', '.join(FORMATS)}"]})
    text = _read_text(path_or_file)
    return _read_csv(text) if fmt == "csv" else _read_json(text)


def _read_csv(text: str) -> list[ParsedRow]:
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = None
    results = []
    for row_number, cells in enumerate(reader, start=1):
        if header is None:
            if not any(cell.strip() for cell in cells):
                continue
            header = _check_header(cells)
            header_row = row_number
            continue
        if not any(cell.strip() for cell in cells):
            continue  # blank lines and Excel's trailing ";;;;" rows
        raw = {name: cell for name, cell in zip(header, cells) if name}
        identity = {"slug": _clean(raw.get("slug", "")) or None, "title": _clean(raw.get("title", "")) or None}
        extra = [cell for cell in cells[len(header):] if cell.strip()]
        if extra:
            results.append(ParsedRow(row_number, None, {"_row": [
                f"has {len(header) + len(extra)} cells but the header (row {header_row}) has {len(header)}"]},
                **identity))
            continue
        record, errors = csv_row_to_record(raw)
        results.append(ParsedRow(row_number, None if errors else record, errors or None, **identity))
    if header is None:
        raise _file_error("the file is empty: it needs a header row")
    return results


def _check_header(cells: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    while names and not names[-1]:
        names.pop()  # trailing empty header cells (spreadsheets add them)
    messages = [f"unknown column: {name!r}" for name in names if name not in COLUMNS]
    messages += [f"repeated column: {name!r}" for name in sorted({n for n in names if names.count(n) > 1})]
    if "" in names:
        messages.append("a column has no name")
    if messages:
        raise ValidationFailed("the header row is not valid", {
            "columns": messages + [f"known columns: {', '.join(COLUMNS)}"]})
    return names


def _clean(cell: str) -> str:
    return unquoted(cell.strip())  # write_csv quotes what a spreadsheet would run


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]


def _number(cell: str) -> float:
    """A float; a decimal comma (German spreadsheets) is accepted."""
    if re.fullmatch(r"[+-]?\d+,\d+", cell):
        cell = cell.replace(",", ".")
    value = float(cell)
    if not math.isfinite(value):
        raise ValueError(cell)
    return value


def _date(cell: str) -> str:
    """ISO date; ``DD.MM.YYYY`` (German spreadsheets) is accepted."""
    german = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", cell)
    if german:
        day, month, year = (int(part) for part in german.groups())
        return date(year, month, day).isoformat()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell):
        raise ValueError(cell)
    return date.fromisoformat(cell).isoformat()


def _links(cell: str) -> tuple[list[dict], list[str]]:
    links, messages = [], []
    for part in _split(cell):
        label, separator, url = part.partition("=")
        if separator and label.strip() and url.strip():
            links.append({"label": label.strip(), "url": url.strip()})
        elif re.match(r"https?://", part):
            links.append({"label": part, "url": part})  # a bare URL is its own label
        else:
            messages.append(f"{part[:60]!r} is not label=url")
    return links, messages


def csv_row_to_record(raw: dict) -> tuple[dict, dict]:
    """One CSV row (column → cell) as an entry record and its errors (field → messages)."""
    cells = {name: _clean(value) for name, value in raw.items() if value is not None}
    cells = {name: value for name, value in cells.items() if value}
    record, errors = {}, {}

    for name in ("slug", "kind", "title", "summary", "description", "region", "funding",
                 "image_url", "licence", "language"):
        if name in cells:
            record[name] = cells[name]
    if "language" in record:
        record["language"] = record["language"].lower()
    for name in LIST_COLUMNS:
        if name in cells:
            record[name] = _split(cells[name])

    address = {name: cells[name] for name in ("street", "postal_code", "locality") if name in cells}
    if address:
        record["address"] = address

    contact = {name.removeprefix("contact_"): cells[name] for name in CONTACT_COLUMNS if name in cells}
    if contact:
        record["contact"] = contact

    location = {}
    for name, limit in (("lat", 90), ("lon", 180)):
        if name not in cells:
            continue
        try:
            value = _number(cells[name])
        except ValueError:
            errors[name] = [f"not a number: {cells[name][:40]!r}"]
            continue
        if not -limit <= value <= limit:
            errors[name] = [f"must lie between -{limit} and {limit}"]
        else:
            location[name] = value
    if ("lat" in cells) != ("lon" in cells):
        missing = "lon" if "lat" in cells else "lat"
        errors[missing] = ["lat and lon go together: give both or neither"]
    elif len(location) == 2:
        record["location"] = location

    for name in ("starts_on", "ends_on"):
        if name in cells:
            try:
                record[name] = _date(cells[name])
            except ValueError:
                errors[name] = [f"not a date (YYYY-MM-DD or DD.MM.YYYY): {cells[name][:40]!r}"]

    if "links" in cells:
        links, messages = _links(cells["links"])
        if messages:
            errors["links"] = messages
        else:
            record["links"] = links
    return record, errors


def _read_json(text: str) -> list[ParsedRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise _file_error(f"not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        data = data["entries"]
    if not isinstance(data, list):
        raise _file_error('JSON must be a list of entries or {"entries": [...]}')
    results = []
    for row_number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            results.append(ParsedRow(row_number, None, {"_row": ["must be an object"]}))
            continue
        identity = {key: item.get(key) if isinstance(item.get(key), str) else None for key in ("slug", "title")}
        record = {key: value for key, value in item.items()
                  if key not in READ_ONLY_KEYS and value is not None and value != ""}
        errors = {key: ["unknown field"] for key in record if key not in RECORD_KEYS}
        if isinstance(record.get("organisations"), list):
            # an export lists organisations as {id, slug, name}; the create input takes ids
            record["organisations"] = [org.get("id") if isinstance(org, dict) else org
                                       for org in record["organisations"]]
        results.append(ParsedRow(row_number, None if errors else record, errors or None, **identity))
    return results


# --------------------------------------------------------------------------- writing

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def entry_to_row(entry: dict, include_contact: bool = False) -> dict:
    """An entry (as the catalog returns it) as CSV cells, column → text."""
    address = entry.get("address") or {}
    location = entry.get("location") or {}
    contact = (entry.get("contact") or {}) if include_contact else {}
    organisations = [org.get("id") if isinstance(org, dict) else org for org in entry.get("organisations") or []]
    row = {
        "slug": entry.get("slug"), "kind": entry.get("kind"), "title": entry.get("title"),
        "summary": entry.get("summary"), "description": entry.get("description"),
        "themes": LIST_SEPARATOR.join(entry.get("themes") or []),
        "tags": LIST_SEPARATOR.join(entry.get("tags") or []),
        "street": address.get("street"), "postal_code": address.get("postal_code"),
        "locality": address.get("locality"),
        "lat": repr(float(location["lat"])) if location.get("lat") is not None else "",
        "lon": repr(float(location["lon"])) if location.get("lon") is not None else "",
        "region": entry.get("region"), "starts_on": entry.get("starts_on"), "ends_on": entry.get("ends_on"),
        "funding": entry.get("funding"), "image_url": entry.get("image_url"),
        "licence": entry.get("licence"), "language": entry.get("language"),
        "contact_name": contact.get("name"), "contact_email": contact.get("email"),
        "contact_phone": contact.get("phone"),
        "links": LIST_SEPARATOR.join(f"{link['label']}={link['url']}" for link in entry.get("links") or []),
        "organisations": LIST_SEPARATOR.join(str(org) for org in organisations if org),
    }
    cells = {name: _text(value) for name, value in row.items()}
    for name in (*TEXT_COLUMNS, "themes", "tags", "links", "organisations"):
        cells[name] = formula_safe(cells[name])
    if not include_contact:
        for name in CONTACT_COLUMNS:
            del cells[name]
    return cells


def write_csv(entries, file, include_contact: bool = False, delimiter: str = ",", header: bool = True) -> int:
    """Write entries as CSV (header ``COLUMNS``, without the contact columns unless
    ``include_contact``) to a text file opened with ``newline=""``; returns the row count.
    The caller passes only what may be exported (published entries for a public export).
    ``header=False`` writes the rows alone (a later page of an export written in pages)."""
    columns = [name for name in COLUMNS if include_contact or name not in CONTACT_COLUMNS]
    writer = csv.DictWriter(file, fieldnames=columns, delimiter=delimiter, lineterminator="\r\n")
    if header:
        writer.writeheader()
    count = 0
    for entry in entries:
        writer.writerow(entry_to_row(entry, include_contact))
        count += 1
    return count


# Public entry fields that go into GeoJSON properties (never contact or moderation data).
GEOJSON_PROPERTIES = ("id", "slug", "kind", "title", "summary", "themes", "tags", "region", "address",
                      "starts_on", "ends_on", "links", "organisations", "funding", "image_url",
                      "licence", "language", "published_at", "updated_at")


def to_geojson(entries) -> dict:
    """A GeoJSON FeatureCollection (RFC 7946, ``[lon, lat]``) of the entries that have a
    location; entries without one are left out. Properties never include ``contact``."""
    features = []
    for entry in entries:
        location = entry.get("location")
        if not location or location.get("lat") is None or location.get("lon") is None:
            continue
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(location["lon"]), float(location["lat"])]},
            "properties": {name: _json_value(entry.get(name)) for name in GEOJSON_PROPERTIES if name in entry},
        }
        if entry.get("id") is not None:
            feature["id"] = str(entry["id"])
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def _json_value(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value
