"""What every search backend must do, whatever engine is behind it.

A backend's test module runs this suite by importing it and providing a ``backend``
fixture that yields a fresh, empty backend per test::

    from tests.search.behaviour import *  # noqa: F401,F403

    @pytest.fixture
    def backend():
        yield TantivyBackend(None)

The corpus below is small, German and realistic; expected values are computed from it
where possible, so a change to the corpus does not silently weaken a test.
"""
import html
import re
from collections import Counter

import pytest

from kernel.errors import ValidationFailed
from services.search.backend import SearchQuery

# ----- corpus -------------------------------------------------------------------------

HARZ, STENDAL, MAGDEBURG, HALLE, SALZWEDEL = "15085", "15090", "15003", "15002", "15081"
SALZLAND, BURGENLAND, DESSAU, WITTENBERG, SAALEKREIS = "15089", "15084", "15001", "15091", "15088"

WERNIGERODE = (51.835, 10.785)
QUEDLINBURG = (51.789, 11.141)
STENDAL_TOWN = (52.606, 11.858)
MAGDEBURG_TOWN = (52.131, 11.640)
MAGDEBURG_SUDENBURG = (52.115, 11.610)
HALLE_TOWN = (51.482, 11.970)
HALLE_NEUSTADT = (51.478, 11.920)
SALZWEDEL_TOWN = (52.850, 11.152)
STASSFURT = (51.856, 11.578)
NAUMBURG = (51.152, 11.810)
DESSAU_TOWN = (51.835, 12.246)
WITTENBERG_TOWN = (51.866, 12.646)
MERSEBURG = (51.355, 11.993)


def _doc(id, kind, title, summary=None, body=None, themes=(), region=None, at=None,
         published_at="2025-01-15T09:00:00+00:00", starts_on=None, ends_on=None, tags=(),
         organisations=(), version=1):
    doc_type = "article" if kind in ("article", "news") else "entry"
    return {
        "id": id, "doc_type": doc_type, "kind": kind, "slug": id, "title": title,
        "summary": summary, "body": body, "themes": list(themes), "tags": list(tags),
        "regions": [region] if region else [], "organisations": list(organisations),
        "location": {"lat": at[0], "lon": at[1]} if at else None,
        "starts_on": starts_on, "ends_on": ends_on, "published_at": published_at,
        "version": version, "deleted": False,
    }


CORPUS = [
    _doc("e-pflegeheim", "project", "Pflegeheim öffnet sich für das Quartier",
         "Ein Pflegeheim in Wernigerode lädt die Nachbarschaft zu Mittagstisch und Kulturabenden ein.",
         "Bewohnerinnen und Bewohner treffen junge Familien, Schulklassen kommen zum Vorlesen.",
         themes=["alter", "sozialer-zusammenhalt"], region=HARZ, at=WERNIGERODE,
         published_at="2024-03-01T10:00:00+00:00", tags=["Quartier", "Begegnung"]),
    _doc("e-pflegekraefte", "initiative", "Pflegekräfte gewinnen im ländlichen Raum",
         "Ausbildungsverbund für die Altmark: Betriebe, Schulen und Kommunen werben gemeinsam.",
         "Auszubildende bekommen Wohnraum und einen Mentor.",
         themes=["gesundheit", "arbeit"], region=STENDAL, at=STENDAL_TOWN,
         published_at="2024-05-20T08:00:00+00:00", tags=["Fachkräfte"]),
    _doc("e-altenpflege", "project", "Digitale Altenpflege zu Hause",
         "Tablets und Telemedizin helfen, länger selbstständig zu leben.",
         "Angehörige werden geschult; die Technik wird leihweise gestellt.",
         themes=["alter", "digitale-arbeitswelten"], region=MAGDEBURG, at=MAGDEBURG_TOWN,
         published_at="2024-09-02T12:00:00+00:00", tags=["Telemedizin"]),
    _doc("e-genossenschaft", "project", "Eine Genossenschaft für gemeinschaftliches Wohnen",
         "In Halle-Neustadt baut eine Genossenschaft ein Haus für mehrere Generationen.",
         "Die Mitglieder planen Gemeinschaftsräume, einen Garten und eine Werkstatt.",
         themes=["wohnen", "genossenschaften"], region=HALLE, at=HALLE_NEUSTADT,
         published_at="2024-11-11T11:00:00+00:00", tags=["Mehrgenerationenhaus"],
         organisations=["Wohnungsgenossenschaft Halle-Neustadt eG"]),
    _doc("e-wohnen-land", "idea", "Wohnen auf dem Land neu denken",
         "Leerstehende Höfe sollen gemeinschaftlich genutzt werden.",
         "Eine Idee aus der Börde: alte Bauernhöfe werden zu Wohnprojekten für junge und alte Menschen.",
         themes=["wohnen"], region=SALZLAND, at=STASSFURT,
         published_at="2025-02-03T09:30:00+00:00"),
    _doc("e-landarzt", "initiative", "Landarzt gesucht: Ärztinnen und Ärzte für die Altmark",
         "Gemeinden bieten Praxisräume und Unterstützung bei der Niederlassung.",
         "Eine Landärztin berichtet, warum sie nach Salzwedel gezogen ist.",
         themes=["gesundheitliche-versorgung"], region=SALZWEDEL, at=SALZWEDEL_TOWN,
         published_at="2024-07-07T07:00:00+00:00", tags=["Landarzt"]),
    _doc("e-praxisbus", "project", "Praxisbus: Aerzte fahren aufs Dorf",
         "Eine rollende Sprechstunde hält einmal pro Woche in jedem Ortsteil.",
         "Das Fahrzeug ist barrierefrei; Termine werden telefonisch vergeben.",
         themes=["gesundheitliche-versorgung", "gesundheit"], region=SALZLAND, at=STASSFURT,
         published_at="2024-08-15T10:00:00+00:00"),
    _doc("e-dorfladen", "project", "Dorfladen als Treffpunkt",
         "Bürgerinnen und Bürger betreiben gemeinsam einen Dorfladen mit Café.",
         "Regionale Produkte, ein Paketshop und ein Stammtisch am Freitag.",
         themes=["sozialer-zusammenhalt", "soziales-unternehmertum"], region=BURGENLAND, at=NAUMBURG,
         published_at="2024-04-04T14:00:00+00:00", tags=["Nahversorgung"]),
    _doc("e-repair", "initiative", "Repair-Café Dessau",
         "Ehrenamtliche helfen beim Reparieren von Toastern, Fahrrädern und Kleidung.",
         "Jeden ersten Samstag im Monat im Stadtteilzentrum.",
         themes=["buergerschaftliches-engagement"], region=DESSAU, at=DESSAU_TOWN,
         published_at="2023-10-01T10:00:00+00:00", tags=["Reparatur", "Nachhaltigkeit"]),
    _doc("ev-repair", "event", "Reparieren statt wegwerfen: Repair-Café im Mai",
         "Offene Werkstatt für alle, Werkzeug ist vorhanden.", None,
         themes=["buergerschaftliches-engagement"], region=DESSAU, at=DESSAU_TOWN,
         published_at="2025-04-01T10:00:00+00:00", starts_on="2025-05-10", ends_on="2025-05-10"),
    _doc("ev-pflegetag", "event", "Pflegetag Sachsen-Anhalt",
         "Drei Tage Vorträge und Werkstätten zu guter Pflege im Alter.", None,
         themes=["alter", "gesundheit"], region=MAGDEBURG, at=MAGDEBURG_TOWN,
         published_at="2025-03-10T10:00:00+00:00", starts_on="2025-06-02", ends_on="2025-06-04"),
    _doc("ev-sommerfest", "event", "Sommerfest der Genossenschaften",
         "Genossenschaften aus dem ganzen Land stellen sich vor.", None,
         themes=["genossenschaften"], region=HALLE, at=HALLE_TOWN,
         published_at="2025-05-05T10:00:00+00:00", starts_on="2025-07-20", ends_on="2025-07-20"),
    _doc("ev-fachtag-wohnen", "event", "Fachtag Zukunft Wohnen",
         "Kommunen und Initiativen diskutieren neue Wohnformen.", None,
         themes=["wohnen"], region=WITTENBERG, at=WITTENBERG_TOWN,
         published_at="2025-06-01T10:00:00+00:00", starts_on="2025-09-15", ends_on="2025-09-16"),
    _doc("a-leitfaden", "article", "Leitfaden: Eine Genossenschaft gründen",
         "Schritt für Schritt von der Idee zur eingetragenen Genossenschaft.",
         "Satzung, Prüfverband, Gründungsversammlung: was Initiativen wissen müssen.",
         themes=["genossenschaften"], published_at="2025-02-01T08:00:00+00:00"),
    _doc("n-foerderung", "news", "Neue Förderung für Dorfläden",
         "Das Land unterstützt Dorfläden in kleinen Gemeinden.",
         "Anträge können bis Ende des Jahres gestellt werden.",
         themes=["soziales-unternehmertum"], published_at="2025-04-15T08:00:00+00:00"),
    _doc("n-rueckblick", "news", "Rückblick auf den Pflegetag 2024",
         "Mehr als 400 Gäste kamen nach Magdeburg.", None,
         themes=["alter"], published_at="2024-06-10T08:00:00+00:00"),
    _doc("e-inklusives-cafe", "project", "Inklusives Café in Quedlinburg",
         "Menschen mit und ohne Behinderung arbeiten gemeinsam in der Altstadt.", None,
         themes=["inklusion", "soziales-unternehmertum"], region=HARZ, at=QUEDLINBURG,
         published_at="2024-02-14T10:00:00+00:00"),
    _doc("e-lernwerkstatt", "idea", "Lernwerkstatt für digitale Bildung",
         "Senioren und Schüler lernen voneinander den Umgang mit Smartphones.", None,
         themes=["bildung", "digitale-arbeitswelten"], region=SAALEKREIS, at=MERSEBURG,
         published_at="2024-12-01T10:00:00+00:00"),
    _doc("e-nachbarschaft", "initiative", "Nachbarschaftshilfe Sudenburg",
         "Nachbarn helfen beim Einkaufen und begleiten zu Arztbesuchen.",
         "Einmal im Monat organisiert die Gruppe Fahrten mit dem Bürgerbus.",
         themes=["sozialer-zusammenhalt", "alter"], region=MAGDEBURG, at=MAGDEBURG_SUDENBURG,
         published_at="2024-10-10T10:00:00+00:00"),
    _doc("e-buergerbus", "project", "Bürgerbus verbindet Dörfer",
         "Ehrenamtliche fahren einen Kleinbus zwischen zwölf Dörfern.", None,
         themes=["buergerschaftliches-engagement"], region=STENDAL, at=STENDAL_TOWN,
         published_at="2024-01-20T10:00:00+00:00"),
    _doc("e-tauschboerse", "idea", "Tauschbörse für Werkzeug",
         "Werkzeug leihen statt kaufen.", None, themes=["buergerschaftliches-engagement"],
         published_at="2023-05-05T10:00:00+00:00"),
]
BY_ID = {d["id"]: d for d in CORPUS}


# ----- helpers ------------------------------------------------------------------------

@pytest.fixture
def searchable(backend):
    """The backend with the corpus indexed and visible."""
    backend.upsert([dict(d) for d in CORPUS])
    backend.refresh()
    return backend


def search(backend, **kwargs):
    kwargs.setdefault("per_page", 100)
    return backend.search(SearchQuery(**kwargs))


def ids(result) -> list[str]:
    return [item["id"] for item in result.items]


def corpus_ids(predicate) -> set[str]:
    return {d["id"] for d in CORPUS if predicate(d)}


def facet_counts(result, facet) -> dict[str, int]:
    return {b["value"]: b["count"] for b in result.facets[facet]}


def counts_in_corpus(docs, facet) -> dict[str, int]:
    key = {"theme": "themes", "region": "regions"}.get(facet)
    counter = Counter()
    for d in docs:
        counter.update(d[key] if key else [d["kind"]])
    return dict(counter)


def marked(html_text: str) -> list[str]:
    return [html.unescape(w) for w in re.findall(r"<mark>(.*?)</mark>", html_text or "")]


# ----- storing, versions, tombstones --------------------------------------------------

def test_count_and_get_after_upsert(searchable):
    assert searchable.count() == len(CORPUS)
    stored = searchable.get("e-genossenschaft")
    assert stored["title"] == BY_ID["e-genossenschaft"]["title"]
    assert stored["version"] == 1 and not stored.get("deleted")
    assert searchable.get("does-not-exist") is None


def test_upsert_reports_changes_and_keeps_the_highest_version(backend):
    doc = dict(BY_ID["e-dorfladen"])
    assert backend.upsert([doc]) == 1
    newer = dict(doc, version=3, title="Dorfladen mit Postfiliale")
    assert backend.upsert([newer]) == 1
    older = dict(doc, version=2, title="Alter Titel")
    same = dict(newer, title="Gleiche Version, anderer Titel")
    assert backend.upsert([older]) == 0
    assert backend.upsert([same]) == 0
    backend.refresh()
    assert backend.get("e-dorfladen")["title"] == "Dorfladen mit Postfiliale"
    assert ids(search(backend, q="Postfiliale")) == ["e-dorfladen"]
    assert ids(search(backend, q="Titel")) == []
    assert backend.count() == 1


def test_a_batch_keeps_the_highest_version_per_id(backend):
    doc = BY_ID["e-repair"]
    batch = [dict(doc, version=5, title="Fünfte Fassung"), dict(doc, version=7, title="Siebte Fassung"),
             dict(doc, version=6, title="Sechste Fassung")]
    assert backend.upsert(batch) == 1
    backend.refresh()
    assert backend.get("e-repair")["version"] == 7
    assert backend.count() == 1
    assert ids(search(backend, q="Fassung")) == ["e-repair"]
    assert "Siebte" in search(backend, q="Fassung").items[0]["title"]


def test_a_tombstone_hides_a_document_and_a_late_older_version_cannot_revive_it(searchable):
    tombstone = {"id": "e-dorfladen", "version": 2, "deleted": True}
    assert searchable.upsert([tombstone]) == 1
    searchable.refresh()
    assert "e-dorfladen" not in ids(search(searchable, q="Dorfladen"))
    assert "e-dorfladen" not in ids(search(searchable))
    assert searchable.count() == len(CORPUS) - 1
    assert searchable.get("e-dorfladen")["deleted"] is True
    assert searchable.upsert([dict(BY_ID["e-dorfladen"])]) == 0     # version 1 arrives late
    searchable.refresh()
    assert "e-dorfladen" not in ids(search(searchable, q="Dorfladen"))
    assert "e-dorfladen" not in [s["id"] for s in searchable.suggest("Dorfl")]
    assert "e-dorfladen" not in [r["id"] for r in searchable.related("n-foerderung", limit=20)]
    republished = dict(BY_ID["e-dorfladen"], version=3)
    assert searchable.upsert([republished]) == 1
    searchable.refresh()
    assert "e-dorfladen" in ids(search(searchable, q="Dorfladen"))


def test_contact_data_is_never_indexed_or_returned(backend):
    doc = dict(BY_ID["e-lernwerkstatt"], contact={"name": "Erika Mustermann", "email": "erika@example.org"})
    backend.upsert([doc])
    backend.refresh()
    assert "contact" not in backend.get("e-lernwerkstatt")
    assert search(backend, q="Mustermann").total == 0
    assert search(backend, q="erika@example.org").total == 0
    item = search(backend, q="Lernwerkstatt").items[0]
    assert "contact" not in item and "Mustermann" not in repr(item)


def test_refresh_makes_new_documents_searchable(searchable):
    searchable.upsert([_doc("e-neu", "idea", "Gemeinschaftsgarten am Stadtrand", region=HALLE, at=HALLE_TOWN)])
    searchable.refresh()
    assert ids(search(searchable, q="Gemeinschaftsgarten")) == ["e-neu"]
    assert searchable.count() == len(CORPUS) + 1


# ----- German text --------------------------------------------------------------------

def test_plural_finds_singular_by_stemming(searchable):
    found = ids(search(searchable, q="Genossenschaften"))
    assert {"e-genossenschaft", "a-leitfaden", "ev-sommerfest"} <= set(found)
    assert "e-dorfladen" not in found


def test_umlaut_spelt_out_finds_the_umlaut_and_highlights_the_original(searchable):
    result = search(searchable, q="Aerzte")
    assert "e-landarzt" in ids(result)
    item = next(i for i in result.items if i["id"] == "e-landarzt")
    assert "Ärzte" in marked(item["highlight"]["title"])


def test_umlaut_finds_the_spelt_out_form(searchable):
    found = ids(search(searchable, q="Ärzte"))
    assert {"e-praxisbus", "e-landarzt"} <= set(found)


def test_a_word_finds_compounds_that_start_with_it(searchable):
    result = search(searchable, q="Pflege")
    assert {"e-pflegeheim", "e-pflegekraefte"} <= set(ids(result))
    item = next(i for i in result.items if i["id"] == "e-pflegeheim")
    assert "Pflegeheim" in marked(item["highlight"]["title"])
    assert "e-repair" not in ids(result)


def test_a_word_finds_compounds_that_end_with_it(searchable):
    assert "e-altenpflege" in ids(search(searchable, q="Pflege"))


def test_a_quoted_phrase_needs_the_words_in_order(searchable):
    phrase = ids(search(searchable, q='"gemeinschaftliches Wohnen"'))
    loose = ids(search(searchable, q="gemeinschaftliches Wohnen"))
    assert "e-genossenschaft" in phrase
    assert "e-wohnen-land" not in phrase               # both words, but not as a phrase
    assert {"e-genossenschaft", "e-wohnen-land"} <= set(loose)


def test_typos_are_tolerated_in_longer_words(searchable):
    assert "e-genossenschaft" in ids(search(searchable, q="Genosenschaft"))
    assert "e-dorfladen" in ids(search(searchable, q="Dorfladn"))
    assert "e-buergerbus" in ids(search(searchable, q="Bürgebus"))


def test_every_word_must_match(searchable):
    found = ids(search(searchable, q="Repair-Café Dessau"))
    assert found and found[0] == "e-repair"
    assert set(found) <= {"e-repair", "ev-repair"}
    assert not search(searchable, q="Repair-Café Dessau").relaxed


def test_when_no_record_has_every_word_those_with_most_of_them_come_first_and_say_so(searchable):
    result = search(searchable, q="Dorfladen Treffpunkt Raumfahrt")
    assert result.relaxed and result.total >= 1
    assert ids(result)[0] == "e-dorfladen"  # two of the three words, the others one at most
    assert not search(searchable, q="Dorfladen Treffpunkt").relaxed
    alone = search(searchable, q="Raumfahrt")  # one word: nothing to relax
    assert alone.total == 0 and not alone.relaxed
    excluded = search(searchable, q="Dorfladen Raumfahrt -Treffpunkt")  # exclusions still hold
    assert excluded.relaxed and "e-dorfladen" not in ids(excluded)


def test_an_excluded_word_removes_documents(searchable):
    found = set(ids(search(searchable, q="Repair-Café")))
    assert {"e-repair", "ev-repair"} <= found
    without = set(ids(search(searchable, q="Repair-Café -Mai")))
    assert "e-repair" in without and "ev-repair" not in without


def test_title_counts_more_than_body(searchable):
    found = ids(search(searchable, q="Bürgerbus"))
    assert found[:2] == ["e-buergerbus", "e-nachbarschaft"]
    scores = [i["score"] for i in search(searchable, q="Bürgerbus").items]
    assert scores[0] > scores[1] > 0


def test_exact_words_rank_above_typo_and_compound_matches(searchable):
    found = ids(search(searchable, q="Dorfladen"))
    assert found[0] == "e-dorfladen"
    assert "n-foerderung" in found          # "Dorfläden": same stem


# ----- filters, sorting, paging -------------------------------------------------------

def test_kind_filter_values_are_alternatives(searchable):
    events = search(searchable, kind=["event"])
    assert set(ids(events)) == corpus_ids(lambda d: d["kind"] == "event")
    both = search(searchable, kind=["event", "news"])
    assert set(ids(both)) == corpus_ids(lambda d: d["kind"] in ("event", "news"))
    assert both.total == len(both.items)


def test_filters_combine_with_and(searchable):
    result = search(searchable, kind=["event"], theme=["wohnen"])
    assert ids(result) == ["ev-fachtag-wohnen"]
    result = search(searchable, theme=["alter"], region=[MAGDEBURG])
    assert set(ids(result)) == corpus_ids(lambda d: "alter" in d["themes"] and MAGDEBURG in d["regions"])
    result = search(searchable, q="Pflege", region=[HARZ, STENDAL])
    assert set(ids(result)) == {"e-pflegeheim", "e-pflegekraefte"}


def test_doc_type_filter(searchable):
    assert set(ids(search(searchable, doc_type="article"))) == {"a-leitfaden", "n-foerderung", "n-rueckblick"}
    entries = search(searchable, doc_type="entry", q="Genossenschaft")
    assert "a-leitfaden" not in ids(entries) and "e-genossenschaft" in ids(entries)


def test_date_range_matches_overlapping_events_and_articles_published_in_it(searchable):
    middle_of_pflegetag = search(searchable, date_from="2025-06-03", date_to="2025-06-03")
    assert ids(middle_of_pflegetag) == ["ev-pflegetag"]
    spring = search(searchable, date_from="2025-04-01", date_to="2025-05-31")
    assert set(ids(spring)) == {"ev-repair", "n-foerderung"}
    from_september = search(searchable, date_from="2025-09-16", kind=["event"])
    assert ids(from_september) == ["ev-fachtag-wohnen"]


def test_bounding_box(searchable):
    # Around Magdeburg: minLon, minLat, maxLon, maxLat
    result = search(searchable, bbox=(11.4, 52.0, 11.8, 52.2))
    expected = corpus_ids(lambda d: d["location"] and 52.0 <= d["location"]["lat"] <= 52.2
                          and 11.4 <= d["location"]["lon"] <= 11.8)
    assert set(ids(result)) == expected == {"e-altenpflege", "ev-pflegetag", "e-nachbarschaft"}
    assert result.total == 3


def test_an_impossible_bounding_box_is_a_validation_error(searchable):
    with pytest.raises(ValidationFailed) as error:
        search(searchable, bbox=(12.0, 52.0, 11.0, 51.0))
    assert "bbox" in error.value.fields


def test_near_with_radius_counts_exactly_and_reports_distances(searchable):
    result = search(searchable, near=MAGDEBURG_TOWN, radius_km=10)
    assert set(ids(result)) == {"e-altenpflege", "ev-pflegetag", "e-nachbarschaft"}
    assert result.total == 3
    assert all(0 <= item["distance_km"] <= 10 for item in result.items)
    # Staßfurt is ~31 km away: inside a 35 km circle, outside 25 km
    assert "e-wohnen-land" in ids(search(searchable, near=MAGDEBURG_TOWN, radius_km=35))
    assert "e-wohnen-land" not in ids(search(searchable, near=MAGDEBURG_TOWN, radius_km=25))


def test_sort_by_distance(searchable):
    result = search(searchable, near=HALLE_TOWN, sort="distance", per_page=5)
    distances = [item["distance_km"] for item in result.items]
    assert distances == sorted(distances)
    assert ids(result)[:2] == ["e-genossenschaft", "ev-sommerfest"] or ids(result)[:2] == [
        "ev-sommerfest", "e-genossenschaft"]
    assert result.items[0]["distance_km"] < 5
    assert result.total == len(CORPUS)


def test_sort_by_distance_needs_a_point(searchable):
    with pytest.raises(ValidationFailed) as error:
        search(searchable, sort="distance")
    assert "sort" in error.value.fields


def test_sort_newest_first(searchable):
    result = search(searchable, q="Pflege", sort="newest")
    dates = [BY_ID[i]["published_at"] for i in ids(result)]
    assert len(dates) >= 4 and dates == sorted(dates, reverse=True)


def test_empty_query_with_filters_returns_all_matches_newest_first(searchable):
    result = search(searchable, theme=["genossenschaften"])
    assert set(ids(result)) == corpus_ids(lambda d: "genossenschaften" in d["themes"])
    dates = [BY_ID[i]["published_at"] for i in ids(result)]
    assert dates == sorted(dates, reverse=True)


def test_empty_query_without_filters_returns_everything(searchable):
    result = search(searchable, q="   ")
    assert result.total == len(CORPUS) == len(result.items)


def test_pagination_is_stable_and_complete(searchable):
    pages = [search(searchable, page=p, per_page=6) for p in (1, 2, 3, 4)]
    assert all(p.total == len(CORPUS) for p in pages)
    seen = [i for p in pages for i in ids(p)]
    assert [len(p.items) for p in pages] == [6, 6, 6, len(CORPUS) - 18]
    assert len(seen) == len(set(seen)) == len(CORPUS)
    assert search(searchable, page=10, per_page=6).items == []
    text_pages = [search(searchable, q="Pflege", page=p, per_page=2) for p in (1, 2)]
    assert not set(ids(text_pages[0])) & set(ids(text_pages[1]))


# ----- facets -------------------------------------------------------------------------

def test_facets_count_the_matches(searchable):
    result = search(searchable, q="Genossenschaft")
    matched = [BY_ID[i] for i in ids(result)]
    for facet in ("theme", "region", "kind"):
        assert facet_counts(result, facet) == counts_in_corpus(matched, facet)
    values = [(-b["count"], b["value"]) for b in result.facets["theme"]]
    assert values == sorted(values)


def test_a_facet_ignores_its_own_filter_but_respects_the_others(searchable):
    result = search(searchable, theme=["wohnen"], kind=["event", "project", "idea"])
    # theme counts: all entries of those kinds, whatever their theme
    kinds_only = [d for d in CORPUS if d["kind"] in ("event", "project", "idea")]
    assert facet_counts(result, "theme") == counts_in_corpus(kinds_only, "theme")
    assert facet_counts(result, "theme")["alter"] >= 2
    # kind counts: every kind among the wohnen documents
    wohnen = [d for d in CORPUS if "wohnen" in d["themes"]]
    assert facet_counts(result, "kind") == counts_in_corpus(wohnen, "kind")
    # region counts: both filters apply
    both = [d for d in wohnen if d["kind"] in ("event", "project", "idea")]
    assert facet_counts(result, "region") == counts_in_corpus(both, "region")
    assert result.total == len(both)


def test_facet_filters_with_quotes_and_backslashes_are_values_not_syntax(searchable):
    odd = ['wohnen" OR theme:"alter', 'x\\', '(', 'wohnen\\"']
    result = search(searchable, theme=odd, kind=["project"])
    assert result.total == 0 and result.items == []
    projects = [d for d in CORPUS if d["kind"] == "project"]
    assert facet_counts(result, "theme") == counts_in_corpus(projects, "theme")   # its own filter ignored
    assert facet_counts(result, "kind") == {} and facet_counts(result, "region") == {}
    plain = search(searchable, theme=["wohnen"] + odd, kind=["project"])
    assert plain.total == len([d for d in projects if "wohnen" in d["themes"]]) > 0


def test_facets_respect_the_radius(searchable):
    result = search(searchable, near=MAGDEBURG_TOWN, radius_km=10)
    inside = [BY_ID[i] for i in ("e-altenpflege", "ev-pflegetag", "e-nachbarschaft")]
    assert facet_counts(result, "region") == counts_in_corpus(inside, "region")
    assert facet_counts(result, "theme") == counts_in_corpus(inside, "theme")


# ----- highlight, suggest, related ----------------------------------------------------

def test_highlight_is_escaped_and_marks_only_matching_words(backend):
    backend.upsert([_doc("e-html", "idea", "Kochen <b>für</b> alle & Nachbarn",
                         summary="Ein <script>alert(1)</script> Kochkurs für Nachbarn im Quartier.")])
    backend.refresh()
    item = search(backend, q="Nachbarn").items[0]
    title, summary = item["highlight"]["title"], item["highlight"]["summary"]
    assert "<script>" not in summary and "&lt;script&gt;" in summary
    assert "&lt;b&gt;für&lt;/b&gt;" in title and "&amp;" in title
    assert marked(title) == ["Nachbarn"] and marked(summary) == ["Nachbarn"]
    assert "body" not in item                      # results carry no full body


def test_body_snippet_is_short_and_around_the_hit(backend):
    filler = "Lorem ipsum dolor sit amet consectetur. " * 40
    body = filler + "Hier steht das gesuchte Wort Streuobstwiese mitten im Text. " + filler
    backend.upsert([_doc("e-lang", "project", "Ein langer Text", body=body)])
    backend.refresh()
    item = search(backend, q="Streuobstwiese").items[0]
    snippet = item["highlight"]["body"]
    assert marked(snippet) == ["Streuobstwiese"]
    assert len(re.sub(r"</?mark>", "", snippet)) <= 220
    assert "title" not in item["highlight"]


def test_singular_and_plural_find_the_same_compounds_and_nouns_find_their_adjectives(backend):
    backend.upsert([_doc("e-wg", "project", "Wohnen im Alter", body="Die Wohnungsgenossenschaften der Stadt bauen."),
                    _doc("e-quartier", "project", "Nachhaltigkeit im Quartier", body="Digitalisierung im Alltag."),
                    _doc("e-werkstatt", "idea", "Digitale Werkstatt", body="nachhaltig reparieren"),
                    _doc("e-other", "idea", "Dorfladen Wippra", body="Ein Laden in Bürgerhand.")])
    found = {q: set(ids(search(backend, q=q))) for q in (
        "Genossenschaft", "Genossenschaften", "nachhaltig", "Nachhaltigkeit", "digital", "Digitalisierung")}
    assert found["Genossenschaft"] == found["Genossenschaften"] == {"e-wg"}
    assert found["nachhaltig"] == found["Nachhaltigkeit"] == {"e-quartier", "e-werkstatt"}
    assert found["digital"] == found["Digitalisierung"] == {"e-quartier", "e-werkstatt"}


def test_suggest_completes_the_last_word(searchable):
    texts = [s["text"] for s in searchable.suggest("Pfle")]
    assert "Pflegeheim öffnet sich für das Quartier" in texts
    assert "Pflegekräfte gewinnen im ländlichen Raum" in texts
    assert "Pflegetag Sachsen-Anhalt" in texts
    assert len(texts) == len({t.casefold() for t in texts})
    first = searchable.suggest("Pfle")[0]
    assert set(first) >= {"text", "id", "doc_type", "kind"}
    assert [s["id"] for s in searchable.suggest("Repair Ca")] [:1] in (["e-repair"], ["ev-repair"])
    assert searchable.suggest("Dorfladen Tre")[0]["id"] == "e-dorfladen"
    assert searchable.suggest("Pfle", limit=2) and len(searchable.suggest("Pfle", limit=2)) == 2
    assert searchable.suggest("") == []


def test_corrections_propose_the_closest_known_words_as_the_texts_spell_them(searchable):
    """"Meinten Sie": typos in words of the titles, umlauts included, whatever the case typed."""
    assert searchable.corrections("Genosenschaft gründen") == ["Genossenschaft gründen"]
    assert searchable.corrections("Nachbarschaftshlife ") == ["Nachbarschaftshilfe "]
    assert searchable.corrections("tauschbörze")[0] == "Tauschbörse"
    assert searchable.corrections("Pflegeheim Quartir ") == ["Pflegeheim Quartier "]
    assert searchable.corrections("Genosenschaft", limit=1) == ["Genossenschaft"]


def test_corrections_leave_known_unfinished_short_and_unmatched_words_alone(searchable):
    assert searchable.corrections("Genossenschaft") == []        # known
    assert searchable.corrections("Genossenschaften") == []      # known
    assert searchable.corrections("Pflegeh") == []               # being typed: begins "Pflegeheim"
    assert searchable.corrections("Dorf Quatr") == []            # too short for typos
    assert searchable.corrections("Xylophonorchester") == []     # nothing close
    assert searchable.corrections("") == [] and searchable.corrections("!!!") == []


def test_suggest_uses_tags_and_umlaut_spellings(searchable):
    assert "Telemedizin" in [s["text"] for s in searchable.suggest("telemed")]
    assert "e-buergerbus" in [s["id"] for s in searchable.suggest("Buergerb")]


def test_related_documents_share_text_and_themes(searchable):
    related = [r["id"] for r in searchable.related("e-pflegeheim", limit=5)]
    assert "e-pflegeheim" not in related
    assert related and set(related[:3]) & {"e-altenpflege", "e-nachbarschaft", "ev-pflegetag", "n-rueckblick"}
    genossenschaft = [r["id"] for r in searchable.related("e-genossenschaft", limit=3)]
    assert set(genossenschaft) & {"ev-sommerfest", "a-leitfaden", "e-wohnen-land", "ev-fachtag-wohnen"}
    assert searchable.related("does-not-exist") == []


# ----- rebuild ------------------------------------------------------------------------

def test_rebuild_serves_the_old_index_until_finish(searchable):
    rebuild = searchable.start_rebuild()
    keep = [dict(d) for d in CORPUS if d["kind"] == "event"]
    rebuild.upsert(keep)
    searchable.refresh()
    assert searchable.count() == len(CORPUS)
    assert "e-dorfladen" in ids(search(searchable, q="Dorfladen"))
    rebuild.finish()
    searchable.refresh()
    assert searchable.count() == len(keep)
    assert set(ids(search(searchable))) == {d["id"] for d in keep}
    assert search(searchable, q="Dorfladen").total == 0


def test_changes_during_a_rebuild_survive_the_switch(searchable):
    rebuild = searchable.start_rebuild()
    rebuild.upsert([dict(d) for d in CORPUS])
    searchable.upsert([{"id": "e-repair", "version": 2, "deleted": True},
                       dict(BY_ID["e-dorfladen"], version=2, title="Dorfladen mit Poststelle")])
    rebuild.finish()
    searchable.refresh()
    assert "e-repair" not in ids(search(searchable, q="Repair"))
    assert searchable.get("e-dorfladen")["title"] == "Dorfladen mit Poststelle"
    assert searchable.count() == len(CORPUS) - 1


def test_an_aborted_rebuild_changes_nothing(searchable):
    rebuild = searchable.start_rebuild()
    rebuild.upsert([dict(CORPUS[0])])
    rebuild.abort()
    searchable.refresh()
    assert searchable.count() == len(CORPUS)
    assert "e-dorfladen" in ids(search(searchable, q="Dorfladen"))


# ----- bad input ----------------------------------------------------------------------

# (odd input, the plain query it must answer like): stray syntax is read as text or ignored
SYNTAX_ONLY = ['"""', "AND", "OR", "NOT", "-", "+", "*", ":", "~", "(", ")", "[", "{", "\\", "/", "--", "&&",
               "||", "^", "!", "?", "'", "%", "🙂", "\u200b"]
ODD_QUERIES = [(odd, "") for odd in SYNTAX_ONLY] + [
    ("Pflege " * 2_000, "Pflege"), ('"Pflege', "Pflege"), ("Pflege AND", "Pflege"), ("(Pflege", "Pflege"),
    ("\x00\x01\x1f Pflege \x7f", "Pflege"), ('Pflege"heim"', "Pflege heim"), ("title:", "title"),
    ("Pfl*", "Pfl"), ("Ärzte\tund\nPflege", "Ärzte und Pflege"), ("-Pflege", "-pflege"),
]
# words longer than any indexed word: nothing can contain them
OVERLONG = ["x" * 10_000, "a" * 200, "ß" * 50]


@pytest.mark.parametrize("odd, plain", ODD_QUERIES, ids=lambda q: repr(q[:20]))
def test_odd_queries_answer_like_the_plain_query_they_contain(searchable, odd, plain):
    expected = search(searchable, q=plain)
    result = search(searchable, q=odd)
    assert (result.total, ids(result)) == (expected.total, ids(expected))
    assert result.facets == expected.facets


def test_the_plain_queries_of_the_odd_ones_mean_something(searchable):
    everything = corpus_ids(lambda doc: True)
    assert set(ids(search(searchable, q="", per_page=100))) == everything
    pflege = set(ids(search(searchable, q="Pflege")))
    assert pflege and pflege < everything
    assert set(ids(search(searchable, q="-pflege", per_page=100))) < everything


@pytest.mark.parametrize("q", OVERLONG, ids=lambda q: repr(q[:20]))
def test_a_word_longer_than_any_indexed_word_finds_nothing(searchable, q):
    result = search(searchable, q=q)
    assert (result.total, ids(result)) == (0, [])
    assert all(value["count"] == 0 for values in result.facets.values() for value in values)


def test_an_overlong_word_beside_others_is_relaxed_away(searchable):
    result = search(searchable, q="Pflege " + "q" * 300)
    assert result.relaxed and set(ids(result)) == set(ids(search(searchable, q="Pflege")))


def test_a_broken_quote_still_finds_the_words(searchable):
    assert "e-pflegeheim" in ids(search(searchable, q='"Pflegeheim'))
    assert "e-pflegeheim" in ids(search(searchable, q="Pflegeheim AND ("))


def test_bad_paging_and_points_are_validation_errors(searchable):
    for kwargs, field in [({"page": 0}, "page"), ({"per_page": 0}, "per_page"),
                          ({"near": (95.0, 11.0)}, "near"), ({"date_from": "gestern"}, "date_from")]:
        with pytest.raises(ValidationFailed) as error:
            search(searchable, **kwargs)
        assert field in error.value.fields


def test_a_query_of_more_than_eight_words_is_refused_with_a_message(searchable):
    eight = "Pflege Wohnen Alter Dorf Laden Garten Werkstatt Schule"
    assert search(searchable, q=eight + " und der die").relaxed      # small words do not count: it runs
    assert search(searchable, q=" ".join(["Pflege"] * 50)).total > 0    # nor does a word again
    for text in (eight + " Quartier", eight + ' "Repair Café"', eight + " -Heim"):
        with pytest.raises(ValidationFailed) as error:
            search(searchable, q=text)
        assert "At most 8 words" in error.value.fields["q"][0]


# ----- saved searches: which query texts find a new document (matching_queries) -------

WOHNPROJEKT = _doc("e-wohnprojekt", "project", "Wohnprojekt im Harz",
                   "Drei Generationen bauen gemeinsam einen alten Hof bei Wernigerode um.",
                   themes=["wohnen"], region=HARZ, at=WERNIGERODE, tags=["Mehrgenerationenwohnen"])

# Query texts as people save them, with the syntax search reads: words, stems, umlauts
# either way, compounds, typos, "phrases", -excluded words, stop words, and odd input.
SAVED_QUERIES = [
    "Pflege", "Pflegeheim", "pflegeheime", "Altenpflege", "Pflegekraft", "Genossenschaften", "Genosenschaft",
    "Aerzte", "Ärzte", "Landärztin", "Wohnprojekte", "Wohnen Land", '"Wohnen auf dem Land"',
    '"Land auf dem Wohnen"', '"Pflege im Alter"', '"gute Pflege"', "Pflege -Heim", "-Pflege", "Pflege OR Wohnen",
    "Pflege AND Quartier", "Dorfladen Café", "Dorfladen Cafe", "Repair-Café", "Quartier Nachbarschaft",
    "Werkzeug -Tauschbörse", "Sachsen-Anhalt Pflegetag", "Telemedizin Tablets", "Mehrgenerationenhaus",
    "der die das", "und Pflege", "", '"', "((", "title:Pflege", "Pfl*", "x" * 300, "Pflege " * 2_000,
    "\x00 Genossenschaft \x1f", "🙂",
]


def test_a_saved_query_finds_a_new_document_by_its_stem(backend):
    queries = ["Wohnprojekte Harz", "Dorfladen", "harz", '"Wohnprojekt im Harz"', "Wohnprojekte -Harz"]
    assert backend.matching_queries(dict(WOHNPROJEKT), queries) == [0, 2, 3]
    unrelated = _doc("e-dorfladen-neu", "project", "Dorfladen in der Altmark", "Ein Laden mit Café.")
    assert backend.matching_queries(unrelated, ["Wohnprojekte Harz", "harz"]) == []
    assert backend.matching_queries(unrelated, queries) == [1]


def _strictly(result) -> set[str]:
    """What a search found with every word (a relaxed answer is for a person facing an empty
    page; a saved search alerts only on a document with every word)."""
    return set() if result.relaxed else set(ids(result))


def test_saved_queries_match_exactly_what_a_search_finds(searchable):
    found = {text: _strictly(search(searchable, q=text)) for text in SAVED_QUERIES}
    for doc in CORPUS:
        matches = searchable.matching_queries(dict(doc), SAVED_QUERIES)
        assert matches == sorted(matches)
        assert [SAVED_QUERIES[i] for i in matches] == [q for q in SAVED_QUERIES if doc["id"] in found[q]], doc["id"]
    # the cases tell documents apart: most queries find some of the corpus, not all of it
    telling = [q for q in SAVED_QUERIES if 0 < len(found[q]) < len(CORPUS)]
    assert len(telling) >= 20


def test_no_saved_queries_match_nothing(backend):
    assert backend.matching_queries(dict(WOHNPROJEKT), []) == []


def test_odd_saved_queries_are_read_as_search_reads_them(backend):
    # nothing asked (only syntax, control characters): like an empty search, every document;
    # a word longer than any indexed word: none
    queries = ['"', "((", "\x00\x1f", "a" * 10_000, "-", "AND OR NOT", "Harz\x00"]
    assert backend.matching_queries(dict(WOHNPROJEKT), queries) == [0, 1, 2, 4, 5, 6]


def test_matching_neither_needs_nor_stores_the_document(searchable):
    assert searchable.matching_queries(dict(WOHNPROJEKT), ["Wohnprojekt"]) == [0]
    assert searchable.get("e-wohnprojekt") is None
    assert searchable.count() == len(CORPUS)
    assert "e-wohnprojekt" not in ids(search(searchable, q="Wohnprojekt"))


def test_the_document_is_matched_as_given_not_as_indexed(searchable):
    newer = {**BY_ID["e-dorfladen"], "title": "Wohnprojekt im alten Konsum", "summary": None, "body": None,
             "tags": [], "version": 2}
    assert searchable.matching_queries(newer, ["Dorfladen", "Wohnprojekt", "Konsum"]) == [1, 2]


def test_a_tombstone_matches_no_saved_query(backend):
    assert backend.matching_queries({"id": "e-wohnprojekt", "version": 2, "deleted": True}, ["", "Harz"]) == []
