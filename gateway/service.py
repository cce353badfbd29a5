"""The HTTP gateway: thin routes that check input, call a service by RPC, answer JSON.

Each route: authenticate (``gateway.auth``), read and validate input with the contracts'
schemas (``gateway.inputs``), call the service, wrap the result. Errors become
problem+json in ``gateway.web``/``gateway.problems``; the OpenAPI document is built
from the ``@documented`` descriptions (``gateway.openapi``).
"""
from marshmallow import Schema, fields
from nameko.exceptions import UnknownService
from werkzeug.wrappers import Response

from gateway import metrics
from gateway.auth import TokenAuth
from gateway.docs_page import render_docs
from gateway.errors import ServiceUnavailable
from gateway.inputs import (body_bytes, etag, expected_version, json_body, query_args, resource_id, resource_reference,
                            validate)
from gateway.openapi import AUTH_ADMIN, AUTH_OPTIONAL, AUTH_STAFF, build_spec, documented
from gateway.ratelimit import ClientLimit, PublicWriteLimit
from gateway.readiness import Readiness
from gateway.read_cache import PublicReadCache
from gateway.responses import json_response
from gateway.rpc import TimedClusterRpc, TimedRpc
from gateway.schemas import (GeoJSONFeatureCollectionSchema, HealthSchema, MapQuerySchema, NetworkSchema, NoQuery,
                             ReadinessSchema, SubmissionReceiptSchema)
from gateway.notify_routes import NotifyRoutes
from gateway.open_data_routes import OpenDataRoutes
from gateway.survey_routes import SurveyRoutes
from gateway.web import route as gateway_route
from kernel.dependencies import Tracing
from kernel.ops import OpsEndpoint
from kernel.roles import STAFF_ROLES, is_staff
from contracts.catalog import api as schemas
from kernel.geo import parse_bbox
from contracts.search import api as search_schemas

API = "/api/v1"


def _items(items: list) -> dict:
    return {"total": len(items), "items": items}


def _items_schema(item_schema: type, name: str) -> type:
    return type(name, (Schema,), {"total": fields.Integer(required=True),
                                  "items": fields.List(fields.Nested(item_schema), required=True)})


ThemeListSchema = _items_schema(schemas.ThemeSchema, "ThemeListSchema")
RegionListSchema = _items_schema(schemas.RegionSchema, "RegionListSchema")
HistorySchema = _items_schema(schemas.EntryVersionSchema, "EntryHistorySchema")


def route(method: str, path: str):
    """A gateway route under the API prefix."""
    return gateway_route(method, API + path)


class GatewayService(SurveyRoutes, NotifyRoutes, OpenDataRoutes):
    name = "gateway"

    auth = TokenAuth()  # checks the AUTH config at start-up; signs staff actors for the services
    tracing = Tracing()
    broker_metrics = metrics.BrokerMetrics()
    public_write_limit = PublicWriteLimit()
    # searches are the most expensive public reads: per client, as the writes
    search_limit = ClientLimit("search", "SEARCHES_PER_WINDOW", "SEARCH_WINDOW_SECONDS", 300, 60, "searches")
    suggest_limit = ClientLimit("suggest", "SUGGESTIONS_PER_WINDOW", "SUGGEST_WINDOW_SECONDS", 600, 60,
                                "suggestion requests")
    read_cache = PublicReadCache()  # answers anonymous reads of routes documented cached_by="catalog"
    catalog = TimedRpc("catalog")
    search = TimedRpc("search")
    services = TimedClusterRpc()
    readiness = Readiness()
    ops = OpsEndpoint(check_broker=False)  # the probes' port (GATEWAY_METRICS_ADDRESS)

    # ------------------------------------------------------------------ entries

    @route("GET", "/entries")
    @documented(summary="List entries", tag="entries", auth=AUTH_OPTIONAL, query=schemas.EntryQuerySchema,
                response=schemas.EntryPageSchema,
                description="Published projects, ideas, initiatives and events; staff may filter by status.",
                cached_by="catalog")
    def list_entries(self, request):
        self.auth.optional(request)
        query = validate(schemas.EntryQuerySchema, query_args(request), "query")
        return json_response(self.catalog.list_entries(query))

    @route("POST", "/entries")
    @documented(summary="Submit or create an entry", tag="entries", auth=AUTH_OPTIONAL,
                body=schemas.EntryCreateSchema, response=schemas.EntryStaffSchema, status=201,
                headers={"Location": "URL of the new entry (staff creation)", "ETag": "its version"},
                other_responses={202: SubmissionReceiptSchema},
                description="Without a token: a public submission, answered 202 with a receipt "
                            "(status submitted, invisible until an editor publishes it). "
                            "With a staff token: the entry is created (published unless publish=false). "
                            "Anonymous submissions are limited per client address (429 with Retry-After).",
                errors=(429,))
    def create_entry(self, request):
        actor = self.auth.optional(request)
        if not is_staff(actor):
            self.public_write_limit(request)
        data = validate(schemas.EntryCreateSchema, json_body(request), "entry")
        entry = self.catalog.create_entry(data)
        if not is_staff(actor):
            return json_response({"id": entry["id"], "status": entry["status"],
                                  "message": "Thank you. Editors review submissions before they are published."},
                                 status=202)
        return json_response(entry, status=201, headers={"Location": f"{API}/entries/{entry['id']}",
                                                         "ETag": etag(entry["version"])})

    @route("GET", "/entries/<entry_id>")
    @documented(summary="Get an entry", tag="entries", auth=AUTH_OPTIONAL, response=schemas.EntryStaffSchema,
                headers={"ETag": "the entry's version, for If-Match"},
                description="By id or slug. The public sees published entries without contact data. "
                            "A slug the entry had before answers 301 with the current one in Location.",
                cached_by="catalog", by_slug=True, moved=True)
    def get_entry(self, request, entry_id):
        self.auth.optional(request)
        entry = self.catalog.get_entry(resource_reference(entry_id))
        return json_response(entry, headers={"ETag": etag(entry["version"])})

    @route("PATCH", "/entries/<entry_id>")
    @documented(summary="Change an entry", tag="entries", auth=AUTH_STAFF, body=schemas.EntryUpdateSchema,
                response=schemas.EntryStaffSchema, errors=(409,),
                headers={"ETag": "the new version"},
                description="Send the version you edited in the body (version) or as If-Match; "
                            "a stale version is answered 409.")
    def update_entry(self, request, entry_id):
        self.auth.require(request, *STAFF_ROLES)
        entry_id = resource_id(entry_id)
        changes = json_body(request)
        version = expected_version(request, changes)
        validate(schemas.EntryUpdateSchema, {**changes, "version": version}, "change")
        entry = self.catalog.update_entry(entry_id, changes, version)
        return json_response(entry, headers={"ETag": etag(entry["version"])})

    @route("DELETE", "/entries/<entry_id>")
    @documented(summary="Withdraw an entry", tag="entries", auth=AUTH_STAFF, response=schemas.EntryStaffSchema,
                errors=(409, 422), headers={"ETag": "the new version"},
                description="The entry is withdrawn (kept in the history), not erased. Optional JSON "
                            "body {reason}.")
    def withdraw_entry(self, request, entry_id):
        self.auth.require(request, *STAFF_ROLES)
        entry_id = resource_id(entry_id)
        reason = None
        if body_bytes(request).strip():
            reason = validate(schemas.WithdrawSchema, json_body(request), "body").get("reason")
        entry = self.catalog.withdraw_entry(entry_id, reason)
        return json_response(entry, headers={"ETag": etag(entry["version"])})

    @route("POST", "/entries/<entry_id>/review")
    @documented(summary="Review an entry", tag="entries", auth=AUTH_STAFF, body=schemas.ReviewSchema,
                response=schemas.EntryStaffSchema, errors=(409,), headers={"ETag": "the new version"},
                description="publish, reject (needs a reason), archive or withdraw; send the version you "
                            "reviewed in the body (version) or as If-Match: a stale one is answered 409, so "
                            "two editors cannot decide on the same entry at once.")
    def review_entry(self, request, entry_id):
        self.auth.require(request, *STAFF_ROLES)
        entry_id = resource_id(entry_id)
        decision = json_body(request)
        decision["version"] = expected_version(request, decision)
        validate(schemas.ReviewSchema, decision, "review")
        entry = self.catalog.review_entry(entry_id, decision)
        return json_response(entry, headers={"ETag": etag(entry["version"])})

    @route("GET", "/entries/<entry_id>/history")
    @documented(summary="Version history of an entry", tag="entries", auth=AUTH_STAFF,
                response=HistorySchema, description="Every version, oldest first.")
    def entry_history(self, request, entry_id):
        self.auth.require(request, *STAFF_ROLES)
        return json_response(_items(self.catalog.entry_history(resource_id(entry_id))))

    @route("DELETE", "/entries/<entry_id>/contact")
    @documented(summary="Erase the contact data of an entry", tag="entries", auth=AUTH_ADMIN,
                response=schemas.EntryStaffSchema,
                description="For an erasure request: the contact data is removed from the entry and "
                            "from every version in its history. Admins only. `POST …/erasure` erases more.")
    def erase_contact(self, request, entry_id):
        self.auth.require(request, "admin")
        return json_response(self.catalog.erase_personal_data(resource_id(entry_id)))

    @route("POST", "/entries/<entry_id>/erasure")
    @documented(summary="Erase personal data of an entry", tag="entries", auth=AUTH_ADMIN,
                body=schemas.ErasureSchema, response=schemas.EntryStaffSchema,
                description="For an erasure request (GDPR Art. 17): the chosen fields (default: contact) are "
                            "erased from the entry, from every version in its history and from the kept "
                            "answers of staff writes. Erasing address or description of a published entry "
                            "updates it everywhere it is shown (search, feeds). Admins only.")
    def erase_personal_data(self, request, entry_id):
        self.auth.require(request, "admin")
        erasure = validate(schemas.ErasureSchema, json_body(request), "erasure")
        return json_response(self.catalog.erase_personal_data(resource_id(entry_id), erasure.get("fields")))

    @route("GET", "/entries/<entry_id>/related")
    @documented(summary="Related entries and organisations", tag="entries", auth=AUTH_OPTIONAL,
                response=search_schemas.RelatedResultSchema,
                description="Entries editors linked (relation linked, with link_type and direction) "
                            "first, then up to 6 similar entries found by the search index (relation "
                            "similar). While the search service is down only the linked ones are listed.",
                cached_by="catalog")
    def related_entries(self, request, entry_id):
        self.auth.optional(request)
        entry_id = resource_id(entry_id)
        try:
            return json_response(self.search.related(entry_id))
        except (ServiceUnavailable, UnknownService):  # similar entries are a bonus; links still answer
            linked = self.catalog.related_entries(entry_id)
            return json_response(search_schemas.related_from_links(linked))

    @route("POST", "/entries/<entry_id>/links")
    @documented(summary="Link an entry to an entry or organisation", tag="entries", auth=AUTH_STAFF,
                body=schemas.LinkCreateSchema, response=schemas.LinkSchema, status=201, errors=(409,),
                headers={"Location": "the related view of the entry"})
    def add_link(self, request, entry_id):
        self.auth.require(request, *STAFF_ROLES)
        entry_id = resource_id(entry_id)
        data = validate(schemas.LinkCreateSchema, json_body(request), "link")
        link = self.catalog.add_link(entry_id, data)
        return json_response(link, status=201, headers={"Location": f"{API}/entries/{entry_id}/related"})

    # ------------------------------------------------------------------ organisations

    @route("GET", "/organisations")
    @documented(summary="List organisations", tag="organisations", query=schemas.OrganisationQuerySchema,
                response=schemas.OrganisationPageSchema, cached_by="catalog")
    def list_organisations(self, request):
        query = validate(schemas.OrganisationQuerySchema, query_args(request), "query")
        return json_response(self.catalog.list_organisations(query))

    @route("POST", "/organisations")
    @documented(summary="Create an organisation", tag="organisations", auth=AUTH_STAFF,
                body=schemas.OrganisationCreateSchema, response=schemas.OrganisationSchema, status=201,
                headers={"Location": "URL of the new organisation"}, errors=(409,))
    def create_organisation(self, request):
        self.auth.require(request, *STAFF_ROLES)
        data = validate(schemas.OrganisationCreateSchema, json_body(request), "organisation")
        organisation = self.catalog.create_organisation(data)
        return json_response(organisation, status=201,
                             headers={"Location": f"{API}/organisations/{organisation['id']}"})

    @route("GET", "/organisations/<organisation_id>")
    @documented(summary="Get an organisation", tag="organisations", response=schemas.OrganisationSchema,
                description="By id or slug.", cached_by="catalog", by_slug=True)
    def get_organisation(self, request, organisation_id):
        return json_response(self.catalog.get_organisation(resource_reference(organisation_id)))

    # ------------------------------------------------------------------ articles and news

    @route("GET", "/articles")
    @documented(summary="List knowledge articles and news", tag="articles",
                query=schemas.ArticleQuerySchema, response=schemas.ArticlePageSchema,
                description="type=article or type=news filters.", cached_by="catalog")
    def list_articles(self, request):
        query = validate(schemas.ArticleQuerySchema, query_args(request), "query")
        return json_response(self.catalog.list_articles(query))

    @route("POST", "/articles")
    @documented(summary="Publish a knowledge article or news", tag="articles", auth=AUTH_STAFF,
                body=schemas.ArticleCreateSchema, response=schemas.ArticleSchema, status=201,
                headers={"Location": "URL of the new article"})
    def create_article(self, request):
        self.auth.require(request, *STAFF_ROLES)
        data = validate(schemas.ArticleCreateSchema, json_body(request), "article")
        article = self.catalog.create_article(data)
        return json_response(article, status=201, headers={"Location": f"{API}/articles/{article['id']}"})

    @route("GET", "/articles/<article_id>")
    @documented(summary="Get an article or news item", tag="articles", response=schemas.ArticleSchema,
                description="By id or slug.", cached_by="catalog", by_slug=True)
    def get_article(self, request, article_id):
        return json_response(self.catalog.get_article(resource_reference(article_id)))

    # ------------------------------------------------------------------ search

    @route("GET", "/search")
    @documented(summary="Search entries, articles and news", tag="search",
                query=search_schemas.SearchQuerySchema, response=search_schemas.SearchResultSchema,
                description="German full-text search (stemming, umlauts, compounds, \"phrases\", typos) "
                            "with filters; kind, theme and region take several values comma-separated "
                            "or repeated. Facet counts for theme, region and kind each respect the other "
                            "active filters. highlight holds HTML-escaped snippets with <mark> around "
                            "the matched words. page * per_page may be at most 10000.")
    def search_documents(self, request):
        self.search_limit(request)
        query = validate(search_schemas.SearchQuerySchema, query_args(request), "query")
        return json_response(self.search.search(query))

    @route("GET", "/search/suggest")
    @documented(summary="Suggestions while typing", tag="search", query=search_schemas.SuggestQuerySchema,
                response=search_schemas.SuggestionListSchema,
                description="Titles and tags that start with the words typed so far, and corrections "
                            "of misspelt words (\"meinten Sie\") in corrections.")
    def suggest(self, request):
        self.suggest_limit(request)
        query = validate(search_schemas.SuggestQuerySchema, query_args(request), "query")
        return json_response(self.search.suggest(query))

    # ------------------------------------------------------------------ themes, regions, map, network

    @route("GET", "/themes")
    @documented(summary="Themes (main fields and pioneering topics)", tag="taxonomy", response=ThemeListSchema,
                cached_by="catalog")
    def list_themes(self, request):
        validate(NoQuery, query_args(request), "query")
        return json_response(_items(self.catalog.list_themes()))

    @route("GET", "/regions")
    @documented(summary="Districts and district-free cities of Saxony-Anhalt", tag="taxonomy",
                response=RegionListSchema, description="With the number of published entries in each.",
                cached_by="catalog")
    def list_regions(self, request):
        validate(NoQuery, query_args(request), "query")
        return json_response(_items(self.catalog.list_regions()))

    @route("GET", "/regions.geojson")
    @documented(summary="The districts' boundaries (GeoJSON)", tag="taxonomy",
                response=GeoJSONFeatureCollectionSchema, content_type="application/geo+json",
                description="Official boundaries of the 14 districts and district-free cities (BKG VG250, "
                            "simplified for maps), each with ags, name and entry_count; `attribution` is the "
                            "credit the data's licence (GeoNutzV) asks a map to show.",
                cached_by="catalog")
    def region_boundaries(self, request):
        validate(NoQuery, query_args(request), "query")
        return json_response(self.catalog.region_boundaries(), content_type="application/geo+json")

    @route("GET", "/map")
    @documented(summary="Map features (GeoJSON)", tag="map", query=MapQuerySchema,
                response=GeoJSONFeatureCollectionSchema, content_type="application/geo+json",
                description="A GeoJSON FeatureCollection of published entries in bbox; clustered when "
                            "zoomed out. Coordinates are [lon, lat].", cached_by="catalog")
    def map_features(self, request):
        query = validate(MapQuerySchema, query_args(request), "query")
        map_query = {key: query[key] for key in ("theme", "kind") if key in query}
        if "zoom" in query:
            map_query["zoom"] = int(query["zoom"])
        if "bbox" in query:
            map_query["bbox"] = list(parse_bbox(query["bbox"]))
        return json_response(self.catalog.map_features(map_query), content_type="application/geo+json")

    @route("GET", "/network")
    @documented(summary="Network of entries and organisations", tag="map", query=schemas.NetworkQuerySchema,
                response=NetworkSchema, cached_by="catalog")
    def network(self, request):
        query = validate(schemas.NetworkQuerySchema, query_args(request), "query")
        return json_response(self.catalog.network(query))

    # ------------------------------------------------------------------ operations

    @route("GET", "/health")
    @documented(summary="Liveness: the gateway process is up", tag="ops", response=HealthSchema)
    def health(self, request):
        return json_response({"status": "ok"})

    @route("GET", "/ready")
    @documented(summary="Readiness: broker and services answer", tag="ops", response=ReadinessSchema,
                errors=(503,), description="503 with the failing checks when one is down.")
    def ready(self, request):
        checks = self.readiness.checks(self.services)
        down = {name: [check["detail"]] for name, check in checks.items() if check["status"] != "ok"}
        if down:  # 503 problem; errors name each failing check
            raise ServiceUnavailable(f"not ready: {', '.join(sorted(down))} down", down)
        return json_response({"status": "ready", "checks": checks})

    @route("GET", "/metrics")
    @documented(summary="Prometheus metrics", tag="ops", content_type="text/plain",
                description="With METRICS_TOKEN set, for `Authorization: Bearer <that token>` only; "
                            "without, for clients on loopback and private networks only.")
    def prometheus_metrics(self, request):
        metrics.check_access(request)
        payload, content_type = metrics.exposition()
        return Response(payload, content_type=content_type)

    @route("GET", "/openapi.json")
    @documented(summary="This API as an OpenAPI document", tag="ops")
    def openapi(self, request):
        return json_response(openapi_document())

    @route("GET", "/docs")
    @documented(summary="Readable API documentation (Swagger UI, HTML) with \"try it out\"", tag="ops",
                content_type="text/html")
    def docs(self, request):
        response = Response(render_docs(), content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


# Swagger UI's own files only; its styles and the schema renderer's inline SVG need these
DOCS_CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; object-src 'none'")

_document = None


def openapi_document() -> dict:
    global _document
    if _document is None:  # the routes do not change while the process runs
        _document = build_spec(GatewayService)
    return _document
