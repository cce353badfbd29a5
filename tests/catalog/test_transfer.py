"""Unit tests of services.catalog.transfer: CSV/JSON import, CSV/GeoJSON export."""
import io
import json

import pytest

from kernel.errors import ValidationFailed
from services.catalog.transfer import COLUMNS, ImportReport, read_records, to_geojson, write_csv

ORG = "22222222-0000-0000-0000-000000000001"


def _entry(number: int, **changes) -> dict:
    """An entry as the catalog returns it (staff view, so with contact)."""
    entry = {
        "id": f"11111111-0000-0000-0000-{number:012d}", "slug": f"wohnprojekt-{number}", "kind": "project",
        "status": "published", "title": f"Wohnprojekt {number}", "summary": "Gemeinsam wohnen, auch im Alter",
        "description": "Zeile eins\nZeile zwei; mit \"Anführungszeichen\", Kommas und Umlauten: äöüß",
        "themes": ["wohnen", "alter"], "tags": ["genossenschaft", "land"],
        "address": {"street": "Breiter Weg 1", "postal_code": "39104", "locality": "Magdeburg"},
        "location": {"lat": 52.1205 + number / 1000, "lon": 11.6276},
        "region": "15003", "links": [{"label": "Website", "url": "https://example.org/a?x=1&y=2"}],
        "starts_on": "2024-03-01", "ends_on": "2026-12-31",
        "organisations": [{"id": ORG, "slug": "elbe-eg", "name": "Elbe eG"}],
        "funding": "ESF Plus", "image_url": "https://example.org/bild.jpg", "licence": "CC-BY-4.0",
        "language": "de", "demo": False, "version": 3, "created_at": "2024-01-01T10:00:00+00:00",
        "updated_at": "2024-02-01T10:00:00+00:00", "published_at": "2024-01-02T10:00:00+00:00",
        "contact": {"name": "Erika Muster", "email": "erika@example.org", "phone": "+49 391 123"},
    }
    entry.update(changes)
    return entry


def _csv_bytes(text: str, encoding="utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


# --------------------------------------------------------------------------- round trip

def _expected_record(entry, with_contact):
    record = {
        "slug": entry["slug"], "kind": entry["kind"], "title": entry["title"], "summary": entry["summary"],
        "description": entry["description"], "themes": entry["themes"], "tags": entry["tags"],
        "address": entry["address"], "location": entry["location"], "region": entry["region"],
        "starts_on": entry["starts_on"], "ends_on": entry["ends_on"], "funding": entry["funding"],
        "image_url": entry["image_url"], "licence": entry["licence"], "language": entry["language"],
        "links": entry["links"], "organisations": [ORG],
    }
    if with_contact:
        record["contact"] = entry["contact"]
    return record


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_round_trip_without_contact(delimiter):
    entries = [_entry(1), _entry(2, description=None, address=None, tags=[], links=[], organisations=[])]
    out = io.StringIO(newline="")
    assert write_csv(entries, out, delimiter=delimiter) == 2
    text = out.getvalue()
    assert "erika" not in text.lower() and "contact_" not in text
    rows = read_records(_csv_bytes(text), "csv")
    assert [(row, errors) for row, _record, errors in rows] == [(2, None), (3, None)]
    assert rows[0][1] == _expected_record(entries[0], with_contact=False)
    sparse = rows[1][1]
    # empty cells are omitted, not empty strings
    assert not {"description", "address", "tags", "links", "organisations"} & set(sparse)
    assert all(value not in ("", [], {}) for value in sparse.values())


def test_csv_round_trip_with_contact_for_staff():
    out = io.StringIO(newline="")
    write_csv([_entry(7)], out, include_contact=True)
    assert out.getvalue().splitlines()[0] == ",".join(COLUMNS)
    [(row, record, errors)] = read_records(_csv_bytes(out.getvalue()), "csv")
    assert errors is None
    assert record == _expected_record(_entry(7), with_contact=True)


def test_formula_cells_are_defused_and_restored():
    entry = _entry(1, title="=HYPERLINK(\"http://evil\")", summary="-2 Etagen", tags=["@home"])
    out = io.StringIO(newline="")
    write_csv([entry], out)
    assert "'=HYPERLINK" in out.getvalue() and "'-2 Etagen" in out.getvalue()
    [(_row, record, _errors)] = read_records(_csv_bytes(out.getvalue()), "csv")
    assert record["title"] == entry["title"] and record["summary"] == "-2 Etagen"
    assert record["tags"] == ["@home"]


def test_read_from_a_path(tmp_path):
    path = tmp_path / "entries.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        write_csv([_entry(1)], handle)
    [(row, record, errors)] = read_records(path, "csv")
    assert (row, errors) == (2, None) and record["slug"] == "wohnprojekt-1"
    assert read_records(str(path), "csv")[0][1] == record


# --------------------------------------------------------------------------- bad rows

MIXED = """slug,kind,title,summary,themes,lat,lon,starts_on,links
gut-1,project,Gut eins,Kurz,wohnen,52.12,11.62,2024-01-31,Web=https://a.example
gut-2,idea,Gut zwei,Kurz,wohnen|alter,,,,
schlecht-1,project,Schlecht eins,Kurz,wohnen,zweiundfünfzig,11.62,,
gut-3,initiative,Gut drei,Kurz,inklusion,51.48,11.97,,https://b.example
schlecht-2,project,Schlecht zwei,Kurz,wohnen,95,11.6,2024-02-30,nur text|Web=https://c.example
,,,,,,,,
gut-4,event,Gut vier,Kurz,arbeit,,,01.09.2025,
schlecht-3,event,Schlecht drei,Kurz,arbeit,52.1,,,,,
gut-5,project,Gut fünf,Kurz,wohnen,"51,9","11,5",,
"""


def test_five_good_and_three_bad_rows():
    rows = read_records(_csv_bytes(MIXED), "csv")
    good = [(row, record) for row, record, errors in rows if errors is None]
    bad = {row: (record, errors) for row, record, errors in rows if errors is not None}
    assert [record["slug"] for _row, record in good] == ["gut-1", "gut-2", "gut-3", "gut-4", "gut-5"]
    assert [row for row, _record in good] == [2, 3, 5, 8, 10]  # row 7 is blank, the header is row 1
    assert bad == {
        4: (None, {"lat": ["not a number: 'zweiundfünfzig'"]}),
        6: (None, {"lat": ["must lie between -90 and 90"],
                   "starts_on": ["not a date (YYYY-MM-DD or DD.MM.YYYY): '2024-02-30'"],
                   "links": ["'nur text' is not label=url"]}),
        9: (None, {"lon": ["lat and lon go together: give both or neither"]}),
    }
    records = dict(good)
    assert records[2] == {"slug": "gut-1", "kind": "project", "title": "Gut eins", "summary": "Kurz",
                          "themes": ["wohnen"], "location": {"lat": 52.12, "lon": 11.62},
                          "starts_on": "2024-01-31", "links": [{"label": "Web", "url": "https://a.example"}]}
    assert records[3]["themes"] == ["wohnen", "alter"] and "location" not in records[3]
    assert records[5]["links"] == [{"label": "https://b.example", "url": "https://b.example"}]
    assert records[8]["starts_on"] == "2025-09-01"
    assert records[10]["location"] == {"lat": 51.9, "lon": 11.5}
    # rejected rows still name themselves for the report
    assert (rows[2].slug, rows[2].title) == ("schlecht-1", "Schlecht eins")


def test_a_row_with_more_cells_than_the_header():
    text = "slug,title\na,Eins\nb,Zwei,zu viel\nc,Drei,,\n"
    rows = read_records(_csv_bytes(text), "csv")
    assert [(row, errors) for row, _record, errors in rows] == [
        (2, None), (3, {"_row": ["has 3 cells but the header (row 1) has 2"]}), (4, None)]


def test_lat_without_lon_is_an_error():
    text = "title,lat\nOhne Länge,52.1\n"
    [(_row, record, errors)] = read_records(_csv_bytes(text), "csv")
    assert record is None and errors == {"lon": ["lat and lon go together: give both or neither"]}


def test_unknown_or_repeated_columns_reject_the_file():
    with pytest.raises(ValidationFailed) as caught:
        read_records(_csv_bytes("title,colour,title\nA,blau,B\n"), "csv")
    messages = caught.value.fields["columns"]
    assert "unknown column: 'colour'" in messages and "repeated column: 'title'" in messages


def test_empty_file_is_rejected():
    with pytest.raises(ValidationFailed) as caught:
        read_records(_csv_bytes("\n\n"), "csv")
    assert "header" in caught.value.fields["file"][0]


# --------------------------------------------------------------------------- encodings, delimiters

GERMAN_EXCEL = ("slug;kind;title;summary;themes;lat;lon;locality;;\r\n"
                "kita-ost;project;Kita für alle;Inklusion im Kiez;inklusion|bildung;51,4825;11,9697;Halle (Saale);;\r\n"
                ";;;;;;;;;\r\n")


def test_semicolon_delimited_with_bom_as_german_excel_writes_it():
    data = io.BytesIO(b"\xef\xbb\xbf" + GERMAN_EXCEL.encode("utf-8"))
    [(row, record, errors)] = read_records(data, "csv")
    assert (row, errors) == (2, None)
    assert record == {"slug": "kita-ost", "kind": "project", "title": "Kita für alle",
                      "summary": "Inklusion im Kiez", "themes": ["inklusion", "bildung"],
                      "location": {"lat": 51.4825, "lon": 11.9697},
                      "address": {"locality": "Halle (Saale)"}}


def test_latin1_file_is_rejected_with_a_clear_error():
    with pytest.raises(ValidationFailed) as caught:
        read_records(_csv_bytes(GERMAN_EXCEL, "cp1252"), "csv")
    message = caught.value.fields["file"][0]
    assert "not UTF-8" in message and "line 2" in message and "0xfc" in message


def test_utf16_file_is_rejected():
    with pytest.raises(ValidationFailed) as caught:
        read_records(_csv_bytes(GERMAN_EXCEL, "utf-16"), "csv")
    assert "UTF-16" in caught.value.fields["file"][0]


def test_text_mode_file_is_read_as_is():
    [(_row, record, errors)] = read_records(io.StringIO("\ufeff" + GERMAN_EXCEL), "csv")
    assert errors is None and record["title"] == "Kita für alle"


def test_unknown_format():
    with pytest.raises(ValidationFailed) as caught:
        read_records(_csv_bytes("x"), "xlsx")
    assert "format" in caught.value.fields


# --------------------------------------------------------------------------- JSON

def test_json_list_and_entries_object():
    items = [{"kind": "idea", "title": "Idee", "summary": "s", "themes": ["wohnen"], "description": None}]
    for document in (items, {"entries": items}):
        [(row, record, errors)] = read_records(_csv_bytes(json.dumps(document)), "json")
        assert (row, errors) == (1, None)
        assert record == {"kind": "idea", "title": "Idee", "summary": "s", "themes": ["wohnen"]}


def test_json_export_shape_is_importable_and_bad_items_are_row_errors():
    exported = _entry(1)
    document = {"entries": [exported, "nonsense", {"title": "X", "colour": "blau"}]}
    rows = read_records(_csv_bytes(json.dumps(document)), "json")
    assert rows[0][2] is None
    assert rows[0][1] == {**_expected_record(exported, with_contact=True)}
    assert rows[1][1:] == (None, {"_row": ["must be an object"]})
    assert rows[2][1:] == (None, {"colour": ["unknown field"]})
    assert rows[2].title == "X"


@pytest.mark.parametrize("text, fragment", [("{not json", "not valid JSON"), ('{"items": []}', "list of entries"),
                                            ("42", "list of entries")])
def test_bad_json_files(text, fragment):
    with pytest.raises(ValidationFailed) as caught:
        read_records(_csv_bytes(text), "json")
    assert fragment in caught.value.fields["file"][0]


# --------------------------------------------------------------------------- report

def test_import_report():
    report = ImportReport()
    report.rows = 3
    report.imported = 1
    report.reject(2, {"slug": "a", "title": "A"}, {"themes": ["unknown theme: x"]})
    report.reject(3, None, {"lat": ["not a number: 'x'"]}, slug="b", title="B")
    assert report.as_dict() == {
        "rows": 3, "imported": 1, "rejected": 2,
        "rejections": [
            {"row": 2, "slug": "a", "title": "A", "errors": {"themes": ["unknown theme: x"]}},
            {"row": 3, "slug": "b", "title": "B", "errors": {"lat": ["not a number: 'x'"]}},
        ],
    }
    json.dumps(report.as_dict())


# --------------------------------------------------------------------------- GeoJSON

def test_geojson_export():
    entries = [_entry(1), _entry(2, location=None)]
    collection = to_geojson(entries)
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["type"] == "Feature" and feature["id"] == entries[0]["id"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [11.6276, 52.1215]}  # lon first
    props = feature["properties"]
    assert "contact" not in props and "location" not in props and "status" not in props
    assert props["title"] == "Wohnprojekt 1" and props["themes"] == ["wohnen", "alter"]
    assert "erika" not in json.dumps(collection).lower()
