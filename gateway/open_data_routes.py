"""The open-data routes of the gateway (a part of ``GatewayService``): anonymous, public, thin.

The catalog renders the files from its public views (``services/catalog/open_data.py``, RPCs
``export_page``, ``event_calendar``, ``atom_feed``): nothing personal is in them. The gateway says
where things live (``PUBLIC_BASE_URL``), joins the pages of an export, and describes the datasets
in DCAT-AP.de (``gateway/open_data.py``). Every answer is an ordinary public GET: a strong ETag
(the hash of its bytes) and short public caching, from ``gateway.http_caching``.
"""
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from contracts.catalog import api as schemas
from gateway.inputs import query_args, validate
from gateway.open_data import API, JSON_LD, RDF_FORMATS, OpenData, OpenDataQuerySchema, negotiated_format
from gateway.openapi import documented
from gateway.responses import json_response
from gateway.rpc import TimedRpc
from gateway.web import route as gateway_route

TAG = "open data"
ATOM = "application/atom+xml"


def route(method: str, path: str):
    return gateway_route(method, API + path)


def _pages(catalog, query: dict, fmt: str, page_size: int):
    """Every page of the catalog's export of ``query`` in ``fmt``, in order."""
    after = None
    while True:
        page = catalog.export_page({**query, "format": fmt, "after": after, "limit": page_size})
        yield page
        after = page["next"]
        if after is None:
            return


def _filtered(title: str, query: dict) -> str:
    """A feed's title, naming its filters."""
    named = [f"{label} {query[key]}" for key, label in (("theme", "Thema"), ("region", "Region")) if query.get(key)]
    return f"{title} ({', '.join(named)})" if named else title


class OpenDataRoutes:
    catalog = TimedRpc("catalog")
    open_data = OpenData()

    @route("GET", "/entries.csv")
    @documented(summary="Published entries as CSV", tag=TAG, query=schemas.OpenDataCsvQuerySchema,
                content_type="text/csv",
                description="Every published entry matching the filters of GET /entries (no paging, no status), "
                            "in its sort order; the columns of `kosi export` without contact data. UTF-8 with "
                            "BOM, ; by default (?delimiter=comma); cells a spreadsheet would run as a formula "
                            "start with '.")
    def entries_csv(self, request):
        query = validate(schemas.OpenDataCsvQuerySchema, query_args(request), "query")
        pages = _pages(self.catalog, query, "csv", self.open_data.settings.page_size)
        return Response("".join(page["content"] for page in pages), content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="kosi-eintraege.csv"'})

    @route("GET", "/entries.geojson")
    @documented(summary="Published entries as GeoJSON", tag=TAG, query=schemas.OpenDataEntryQuerySchema,
                content_type="application/geo+json",
                description="A GeoJSON FeatureCollection (RFC 7946, coordinates [lon, lat]) of every published "
                            "entry with a location matching the filters of GET /entries; properties are the "
                            "public fields, never contact data.")
    def entries_geojson(self, request):
        query = validate(schemas.OpenDataEntryQuerySchema, query_args(request), "query")
        features = [feature for page in _pages(self.catalog, query, "geojson", self.open_data.settings.page_size)
                    for feature in page["features"]]
        return json_response({"type": "FeatureCollection", "features": features},
                             content_type="application/geo+json",
                             headers={"Content-Disposition": 'inline; filename="kosi-eintraege.geojson"'})

    @route("GET", "/events.ics")
    @documented(summary="Upcoming events as an iCalendar feed", tag=TAG, query=schemas.FeedQuerySchema,
                content_type="text/calendar",
                description="The published events that are not over yet, soonest first (at most 2000), for "
                            "calendar subscriptions. Events have dates, not times: all-day VEVENTs (DTEND is "
                            "the day after the last day); UID is the entry's id, URL its address; the calendar "
                            "says X-WR-TIMEZONE Europe/Berlin and carries that VTIMEZONE.")
    def events_ics(self, request):
        query = validate(schemas.FeedQuerySchema, query_args(request), "query")
        settings = self.open_data.settings
        calendar = self.catalog.event_calendar({
            **query, "title": _filtered(f"{settings.publisher}: Veranstaltungen", query),
            "item_url": settings.url("/entries/{id}")})
        return Response(calendar["content"], content_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'inline; filename="kosi-veranstaltungen.ics"'})

    @route("GET", "/news.atom")
    @documented(summary="News as an Atom feed", tag=TAG, query=schemas.FeedQuerySchema, content_type=ATOM,
                description="The 50 newest news items (articles of type news), newest first, filterable by the "
                            "theme and region they are about.")
    def news_atom(self, request):
        return self._atom(request, "news", "Neuigkeiten", "/articles/{id}")

    @route("GET", "/entries.atom")
    @documented(summary="Newly published entries as an Atom feed", tag=TAG, query=schemas.FeedQuerySchema,
                content_type=ATOM,
                description="The 50 most recently published entries, newest first, filterable by theme and "
                            "region.")
    def entries_atom(self, request):
        return self._atom(request, "entries", "neu veröffentlichte Einträge", "/entries/{id}")

    def _atom(self, request, source: str, title: str, item_path: str):
        query = validate(schemas.FeedQuerySchema, query_args(request), "query")
        settings = self.open_data.settings
        feed_url = settings.base_url + request.path + (f"?{urlencode(sorted(query.items()))}" if query else "")
        feed = self.catalog.atom_feed({
            **query, "source": source, "title": _filtered(f"{settings.publisher}: {title}", query),
            "author": settings.publisher, "feed_url": feed_url, "item_url": settings.url(item_path)})
        return Response(feed["content"], content_type=f"{ATOM}; charset=utf-8")

    @route("GET", "/open-data")
    @documented(summary="DCAT-AP.de description of the open data", tag=TAG, query=OpenDataQuerySchema,
                content_type="text/turtle", also_as=(JSON_LD,), headers={"Vary": "Accept, Authorization"},
                description="A dcat:Catalog of the datasets above (entries, events, news) with their "
                            "distributions, formats, media types and licence (DCAT-AP.de licence vocabulary, "
                            "configured by OPEN_DATA_LICENCE). Turtle by default; JSON-LD for Accept: "
                            "application/ld+json, or ?format=jsonld.")
    def open_data_catalog(self, request):
        query = validate(OpenDataQuerySchema, query_args(request), "query")
        fmt = negotiated_format(request, query.get("format"))
        return Response(self.open_data.document(fmt), content_type=f"{RDF_FORMATS[fmt]}; charset=utf-8",
                        headers={"Vary": "Accept"})
