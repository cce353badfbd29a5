"""Open data over HTTP, end to end (the real gateway and catalog, RabbitMQ, PostgreSQL): the CSV and
GeoJSON exports with the list's filters, the iCalendar feed of upcoming events, the Atom feeds, and
the DCAT-AP.de description, each read back with the library a consumer would use (csv, icalendar,
feedparser, rdflib). No contact data in any of them; bad filters are 422 problems."""
import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import feedparser
import pytest
from icalendar import Calendar
import rdflib.namespace as ns  # (its closed namespaces warn when pytest looks at module names)
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from gateway.open_data import Settings
from gateway.service import GatewayService
from services.catalog.transfer import CONTACT_COLUMNS, COLUMNS, read_records
from tests.databases import fresh_catalog_database
from tests.gateway.test_http import API, HALLE, MAGDEBURG, assert_problem, bearer, entry_data, gateway_config

BASE = "https://daten.example.org/kosi"  # the configured public address (not where the test server listens)
LICENCE = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
PAGE_SIZE = 2  # entries per RPC page: the exports below take several pages
SECRET = {"name": "Erika Geheim", "email": "erika.geheim@example.org", "phone": "+49 391 5550199"}
MARKERS = ("Geheim", "erika.geheim", "5550199")
DATASETS = {f"{BASE}{API}/open-data#{key}" for key in ("entries", "events", "news")}

# filled by the first test that needs them; the database lives as long as this module
_data: dict = {}


@pytest.fixture(scope="module")
def database_url():
    return fresh_catalog_database("kosi_test_open_data")


@pytest.fixture
def platform(rabbit_config, web_config, runner_factory, database_url):
    from services.catalog.service import CatalogService

    runner_factory({**gateway_config(database_url), "PUBLIC_BASE_URL": BASE + "/", "OPEN_DATA_LICENCE": LICENCE,
                    "OPEN_DATA_PAGE_SIZE": PAGE_SIZE}, CatalogService, GatewayService).start()


def today() -> date:
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


def _entry(web_session, publish=True, staff=True, **fields) -> dict:
    body = {key: value for key, value in entry_data(contact=dict(SECRET), **fields).items() if value is not None}
    if not publish:
        body["publish"] = False
    response = web_session.post(f"{API}/entries", json=body, headers=bearer() if staff else {})
    assert response.status_code == (201 if staff else 202), response.text
    return response.json()


def _event(web_session, title, starts, ends=None, **fields) -> dict:
    day = today()
    extra = {"ends_on": (day + timedelta(days=ends)).isoformat()} if ends is not None else {}
    return _entry(web_session, kind="event", title=title, starts_on=(day + timedelta(days=starts)).isoformat(),
                  **extra, **fields)


def _article(web_session, **fields) -> dict:
    response = web_session.post(f"{API}/articles", json={"body": "Text", **fields}, headers=bearer())
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def data(platform, web_session) -> dict:
    if _data:
        return _data
    street = {"street": "Breiter Weg 27", "postal_code": "39104", "locality": "Magdeburg"}
    made = {
        "fachtag": _event(web_session, "Fachtag Wohnen", 10, 11, themes=["wohnen"], location=dict(MAGDEBURG),
                          address=street, summary="Zwei Tage über gemeinschaftliches Wohnen."),
        "stammtisch": _event(web_session, "Stammtisch Pflege", 3, themes=["alter"], location=dict(HALLE)),
        "woche": _event(web_session, "Digitalwoche", -3, 3, themes=["alter", "wohnen"], location=dict(MAGDEBURG)),
        "vorbei": _event(web_session, "Vergangener Markt", -5, -2, themes=["wohnen"], location=dict(MAGDEBURG)),
        "entwurf": _event(web_session, "Entwurf einer Tagung", 20, publish=False, themes=["wohnen"],
                          location=dict(MAGDEBURG)),
        "zurueckgezogen": _event(web_session, "Abgesagtes Fest", 15, themes=["wohnen"], location=dict(MAGDEBURG)),
        "dorfladen": _entry(web_session, title='=HYPERLINK("http://boese.example")', themes=["wohnen"],
                            location=dict(MAGDEBURG), tags=["dorfladen"], summary="Ein Laden; mit \"Zitat\"."),
        "initiative": _entry(web_session, kind="initiative", title="Nachbarschaftshilfe ohne Ort",
                             themes=["alter"], region="15002", location=None),
    }
    made["vorschlag"] = _entry(web_session, staff=False, kind="event", title="Vorgeschlagenes Treffen",
                               starts_on=(today() + timedelta(days=5)).isoformat(), themes=["wohnen"],
                               location=dict(MAGDEBURG))
    withdrawn = web_session.delete(f"{API}/entries/{made['zurueckgezogen']['id']}", headers=bearer())
    assert withdrawn.status_code == 200, withdrawn.text
    made["news_wohnen"] = _article(web_session, type="news", title="Neues Wohnprojekt", themes=["wohnen"],
                                   regions=["15003"], summary="Kurz")
    made["news_alter"] = _article(web_session, type="news", title="Pflegenetz wächst", themes=["alter"],
                                  regions=["15002"], author="Redaktion")
    made["wissen"] = _article(web_session, type="article", title="Leitfaden Genossenschaft", themes=["wohnen"])
    _data.update(made)
    return _data


def local(url: str) -> str:
    """The path of a public URL, to ask the test server for it."""
    assert url.startswith(BASE + API), url
    return url.removeprefix(BASE)


def read_csv(response) -> list[dict]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=";"))


def calendar_events(web_session, **params) -> dict:
    response = web_session.get(f"{API}/events.ics", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


# ---------------------------------------------------------------- iCalendar

def test_the_calendar_has_exactly_the_upcoming_published_events_as_all_day_events(data, web_session):
    response = web_session.get(f"{API}/events.ics")
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Berlin"
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert str(calendar["VERSION"]) == "2.0" and calendar["PRODID"]
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    # not the past one, the draft, the submission, the withdrawn one, nor entries of other kinds
    assert set(events) == {data[key]["id"] for key in ("fachtag", "stammtisch", "woche")}
    ordered = [str(event["UID"]) for event in calendar.walk("VEVENT")]
    assert ordered == [data[key]["id"] for key in ("woche", "stammtisch", "fachtag")]  # soonest first

    day = today()
    for key, first, last in (("fachtag", 10, 11), ("stammtisch", 3, 3), ("woche", -3, 3)):
        event, entry = events[data[key]["id"]], data[key]
        assert event["DTSTART"].params["VALUE"] == "DATE" and event["DTEND"].params["VALUE"] == "DATE"
        assert event.decoded("DTSTART") == day + timedelta(days=first)
        assert event.decoded("DTEND") == day + timedelta(days=last + 1)  # exclusive: the day after
        assert not isinstance(event.decoded("DTSTART"), datetime)
        stamp = event.decoded("DTSTAMP")
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
        assert stamp == datetime.fromisoformat(entry["updated_at"]).astimezone(timezone.utc).replace(microsecond=0)
        assert str(event["SUMMARY"]) == entry["title"]
        assert str(event["URL"]) == f"{BASE}{API}/entries/{entry['id']}"
        assert entry["summary"] in str(event["DESCRIPTION"])
    assert str(events[data["fachtag"]["id"]]["LOCATION"]) == "Breiter Weg 27, 39104 Magdeburg"
    assert events[data["fachtag"]["id"]].decoded("GEO") is not None
    # the same data gives the same bytes (and ETag)
    again = web_session.get(f"{API}/events.ics")
    assert again.content == response.content and again.headers["ETag"] == response.headers["ETag"]


def test_the_calendar_filters_by_theme_and_region(data, web_session):
    assert set(calendar_events(web_session, theme="alter")) == {data["stammtisch"]["id"], data["woche"]["id"]}
    assert set(calendar_events(web_session, region="15002")) == {data["stammtisch"]["id"]}
    assert set(calendar_events(web_session, theme="wohnen", region="15003")) == {
        data["fachtag"]["id"], data["woche"]["id"]}
    assert calendar_events(web_session, theme="bildung") == {}


# ---------------------------------------------------------------- Atom

def test_atom_feeds_list_new_entries_and_news_with_absolute_links(data, web_session):
    response = web_session.get(f"{API}/entries.atom")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    published = [data[key] for key in ("fachtag", "stammtisch", "woche", "vorbei", "dorfladen", "initiative")]
    newest_first = sorted(published, key=lambda entry: entry["published_at"], reverse=True)
    assert [item.id for item in feed.entries] == [f"urn:uuid:{entry['id']}" for entry in newest_first]
    assert feed.entries[0].link == f"{BASE}{API}/entries/{newest_first[0]['id']}"
    assert feed.feed.id == f"{BASE}{API}/entries.atom"
    assert any(link.rel == "self" and link.href == f"{BASE}{API}/entries.atom" for link in feed.feed.links)
    assert feed.feed.author == "Kompetenzzentrum Soziale Innovation Sachsen-Anhalt"

    by_theme = feedparser.parse(web_session.get(f"{API}/entries.atom", params={"theme": "alter"}).content)
    assert {item.id for item in by_theme.entries} == {
        f"urn:uuid:{data[key]['id']}" for key in ("stammtisch", "woche", "initiative")}
    assert by_theme.feed.id == f"{BASE}{API}/entries.atom?theme=alter"
    by_region = feedparser.parse(web_session.get(f"{API}/entries.atom", params={"region": "15002"}).content)
    assert {item.id for item in by_region.entries} == {f"urn:uuid:{data[key]['id']}" for key in ("stammtisch",
                                                                                              "initiative")}

    news = feedparser.parse(web_session.get(f"{API}/news.atom").content)
    assert not news.bozo
    assert [item.title for item in news.entries] == ["Pflegenetz wächst", "Neues Wohnprojekt"]  # no article
    assert news.entries[0].link == f"{BASE}{API}/articles/{data['news_alter']['id']}"
    assert news.entries[0].author == "Redaktion"
    assert [item.title for item in feedparser.parse(web_session.get(
        f"{API}/news.atom", params={"theme": "wohnen"}).content).entries] == ["Neues Wohnprojekt"]
    assert [item.title for item in feedparser.parse(web_session.get(
        f"{API}/news.atom", params={"region": "15002"}).content).entries] == ["Pflegenetz wächst"]
    empty = feedparser.parse(web_session.get(f"{API}/news.atom", params={"theme": "bildung"}).content)
    assert not empty.bozo and empty.entries == []


# ---------------------------------------------------------------- DCAT-AP.de

def graph_of(response, fmt) -> Graph:
    return Graph().parse(data=response.content.decode("utf-8"), format=fmt, publicID=BASE)


def test_the_dcat_description_has_every_mandatory_property_in_turtle_and_json_ld(data, web_session):
    turtle = web_session.get(f"{API}/open-data")
    assert turtle.status_code == 200 and turtle.headers["Content-Type"] == "text/turtle; charset=utf-8"
    vary = {name.strip() for name in turtle.headers["Vary"].split(",")}
    assert vary == {"Accept", "Authorization", "Accept-Encoding"}  # (requests asks for gzip)
    json_ld = web_session.get(f"{API}/open-data", headers={"Accept": "application/ld+json"})
    assert json_ld.headers["Content-Type"] == "application/ld+json; charset=utf-8"
    assert json.loads(json_ld.content)["@context"]  # a JSON-LD document with its context inline
    assert "Accept" in json_ld.headers["Vary"] and json_ld.headers["ETag"] != turtle.headers["ETag"]
    assert web_session.get(f"{API}/open-data", params={"format": "jsonld"},
                           headers={"Accept": "text/turtle"}).content == json_ld.content
    assert web_session.get(f"{API}/open-data", headers={"Accept": "text/html,*/*;q=0.8"}).content == turtle.content
    revalidated = web_session.get(f"{API}/open-data", headers={"Accept": "application/ld+json",
                                                               "If-None-Match": json_ld.headers["ETag"]})
    assert revalidated.status_code == 304 and "Accept" in revalidated.headers["Vary"]

    graphs = graph_of(turtle, "turtle"), graph_of(json_ld, "json-ld")
    assert isomorphic(*graphs)
    for graph in graphs:
        check_mandatory_properties(graph)
    graph = graphs[0]
    for distribution in graph.subjects(ns.RDF.type, ns.DCAT.Distribution):  # each one answers as it says
        url, media = graph.value(distribution, ns.DCAT.accessURL), graph.value(distribution, ns.DCAT.mediaType)
        answer = web_session.get(local(str(url)))
        assert answer.status_code == 200, (url, answer.text)
        assert answer.headers["Content-Type"].split(";")[0] == \
            str(media).removeprefix("http://www.iana.org/assignments/media-types/"), url


def check_mandatory_properties(graph: Graph) -> None:
    def literals(subject, predicate):
        values = list(graph.objects(subject, predicate))
        assert values and all(isinstance(value, Literal) and str(value).strip() for value in values), \
            (subject, predicate)

    def agent(subject):
        publishers = list(graph.objects(subject, ns.DCTERMS.publisher))
        assert len(publishers) == 1, subject
        assert (publishers[0], ns.RDF.type, ns.FOAF.Agent) in graph
        literals(publishers[0], ns.FOAF.name)

    catalogs = list(graph.subjects(ns.RDF.type, ns.DCAT.Catalog))
    assert catalogs == [URIRef(f"{BASE}{API}/open-data")]
    catalog = catalogs[0]
    literals(catalog, ns.DCTERMS.title)
    literals(catalog, ns.DCTERMS.description)
    agent(catalog)
    datasets = {str(node) for node in graph.objects(catalog, ns.DCAT.dataset)}
    assert datasets == DATASETS == {str(node) for node in graph.subjects(ns.RDF.type, ns.DCAT.Dataset)}
    for dataset in graph.objects(catalog, ns.DCAT.dataset):
        literals(dataset, ns.DCTERMS.title)
        literals(dataset, ns.DCTERMS.description)
        agent(dataset)
        distributions = list(graph.objects(dataset, ns.DCAT.distribution))
        assert distributions, dataset
        for distribution in distributions:
            assert (distribution, ns.RDF.type, ns.DCAT.Distribution) in graph
            url = graph.value(distribution, ns.DCAT.accessURL)
            assert isinstance(url, URIRef) and str(url).startswith(BASE + API)
            assert str(graph.value(distribution, ns.DCTERMS.format)).startswith(
                "http://publications.europa.eu/resource/authority/file-type/")
            assert str(graph.value(distribution, ns.DCAT.mediaType)).startswith(
                "http://www.iana.org/assignments/media-types/")
            assert list(graph.objects(distribution, ns.DCTERMS.license)) == [URIRef(LICENCE)]
            literals(distribution, URIRef("http://dcat-ap.de/def/dcatde/licenseAttributionByText"))  # a by licence
    formats = {str(graph.value(node, ns.DCTERMS.format)).rsplit("/", 1)[-1]
               for node in graph.subjects(ns.RDF.type, ns.DCAT.Distribution)}
    assert formats == {"CSV", "GEOJSON", "ICS", "ATOM"}


# ---------------------------------------------------------------- CSV and GeoJSON

def test_csv_and_geojson_export_the_published_entries_with_the_list_s_filters(data, web_session):
    response = web_session.get(f"{API}/entries.csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert list(rows[0]) == [name for name in COLUMNS if name not in CONTACT_COLUMNS]
    published = ("fachtag", "stammtisch", "woche", "vorbei", "dorfladen", "initiative")
    listing = web_session.get(f"{API}/entries", params={"per_page": 100}).json()["items"]
    assert [row["slug"] for row in rows] == [item["slug"] for item in listing]  # newest first, over 3+ pages
    assert {row["slug"] for row in rows} == {data[key]["slug"] for key in published}
    injected = next(row for row in rows if row["slug"] == data["dorfladen"]["slug"])
    assert injected["title"] == "'" + data["dorfladen"]["title"] and injected["summary"] == data["dorfladen"]["summary"]
    # what `kosi import` reads back (the BOM, ';' and the quoted formula undone)
    parsed = {row.slug: row for row in read_records(io.BytesIO(response.content), "csv")}
    assert set(parsed) == {row["slug"] for row in rows}
    assert parsed[data["dorfladen"]["slug"]].record["title"] == data["dorfladen"]["title"]

    for params in ({"sort": "title"}, {"sort": "updated"}, {"kind": "event"}, {"theme": "alter"},
                   {"region": "15002"}, {"tag": "Dorfladen"}, {"kind": "event", "theme": "wohnen", "sort": "title"}):
        expected = [item["slug"] for item in web_session.get(
            f"{API}/entries", params={**params, "per_page": 100}).json()["items"]]
        assert expected, params
        assert [row["slug"] for row in read_csv(web_session.get(f"{API}/entries.csv", params=params))] == \
            expected, params
    comma = web_session.get(f"{API}/entries.csv", params={"delimiter": "comma", "kind": "initiative"})
    assert comma.content.decode("utf-8").splitlines()[0] == "\ufeff" + ",".join(rows[0])

    collection = web_session.get(f"{API}/entries.geojson", params={"theme": "alter"})
    assert collection.status_code == 200 and collection.headers["Content-Type"] == "application/geo+json"
    body = collection.json()
    assert body["type"] == "FeatureCollection"
    features = {feature["id"]: feature for feature in body["features"]}
    assert set(features) == {data["stammtisch"]["id"], data["woche"]["id"]}  # the initiative has no location
    assert features[data["stammtisch"]["id"]]["geometry"] == {"type": "Point",
                                                             "coordinates": [HALLE["lon"], HALLE["lat"]]}
    everything = web_session.get(f"{API}/entries.geojson").json()["features"]
    assert len(everything) == 5 and {feature["properties"]["kind"] for feature in everything} == {"event", "project"}


# ---------------------------------------------------------------- personal data, bad input

def test_no_open_data_route_shows_contact_data(data, web_session):
    staff_view = web_session.get(f"{API}/entries/{data['fachtag']['id']}", headers=bearer()).json()
    assert staff_view["contact"]["email"] == SECRET["email"]  # it is there, for staff
    paths = ["/entries.csv", "/entries.geojson", "/events.ics", "/entries.atom", "/news.atom", "/open-data",
             "/entries.csv?kind=event", "/events.ics?theme=wohnen", "/open-data?format=jsonld"]
    for path in paths:
        response = web_session.get(API + path)
        assert response.status_code == 200, path
        text = response.content.decode("utf-8")
        for marker in MARKERS:
            assert marker not in text, (path, marker)
        assert "contact" not in text.lower(), path


BAD_FILTERS = [
    ("/entries.csv", {"status": "submitted"}, "status"),      # the export is of published entries only
    ("/entries.csv", {"page": "2"}, "page"),                  # no paging
    ("/entries.csv", {"delimiter": "tab"}, "delimiter"),
    ("/entries.geojson", {"kind": "festival"}, "kind"),
    ("/entries.geojson", {"region": "1500"}, "region"),
    ("/entries.geojson", {"sort": "random"}, "sort"),
    ("/entries.geojson", {"delimiter": "comma"}, "delimiter"),
    ("/events.ics", {"kind": "event"}, "kind"),
    ("/events.ics", {"region": "Magdeburg"}, "region"),
    ("/news.atom", {"tag": "x"}, "tag"),
    ("/entries.atom", {"theme": ["a", "b"]}, "theme"),
    ("/open-data", {"format": "rdfxml"}, "format"),
    ("/open-data", {"lang": "en"}, "lang"),
]


def test_bad_filters_are_validation_problems(platform, web_session):
    for path, params, field in BAD_FILTERS:
        assert_problem(web_session.get(API + path, params=params), 422, field)


# ---------------------------------------------------------------- settings

def test_the_settings_take_only_a_licence_of_the_dcat_ap_de_vocabulary():
    settings = Settings.from_config({"PUBLIC_BASE_URL": "https://daten.example.org/", "OPEN_DATA_ATTRIBUTION": ""})
    assert settings.base_url == "https://daten.example.org"
    assert settings.licence == "http://dcat-ap.de/def/licenses/cc-by/4.0" and settings.attribution_required
    assert settings.attribution == settings.publisher
    assert not Settings.from_config({"OPEN_DATA_LICENCE": "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"}) \
        .attribution_required
    for bad in ({"OPEN_DATA_LICENCE": "https://creativecommons.org/licenses/by/4.0/"},
                {"OPEN_DATA_LICENCE": "CC-BY-4.0"}, {"PUBLIC_BASE_URL": "daten.example.org"},
                {"OPEN_DATA_CONTRIBUTOR_ID": "kosi"}, {"OPEN_DATA_PAGE_SIZE": 0}):
        with pytest.raises(ValueError, match=re.escape(next(iter(bad)))):
            Settings.from_config(bad)
