"""The OpenAPI document, generated from the routes and the marshmallow schemas (apispec).

Each route carries an ``Operation`` (``@documented(...)``): summary, auth, query, body
and response schemas. ``build_spec`` walks the service class, takes method and path
from each route's nameko entrypoint and the schemas from its ``Operation``; nothing of
the document is written by hand.
"""
import re
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from gateway.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TABLE
from gateway.schemas import ProblemSchema
from gateway.web import GatewayRoute

AUTH_NONE, AUTH_OPTIONAL, AUTH_STAFF, AUTH_ADMIN = "none", "optional", "staff", "admin"
BEARER = "bearerAuth"

_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 400: "Malformed request",
                401: "Missing or invalid token", 403: "Token lacks the required role", 404: "Not found",
                409: "Conflict with the current state", 413: "Body too large",
                415: "Body is not application/json", 422: "Validation failed",
                429: "Too many requests (see Retry-After)",
                503: "A service is not available", 301: "Moved: the resource has another slug now"}
_BY_SLUG = {"type": "string", "minLength": 1, "maxLength": 220, "description": "the id (a UUID) or the slug"}


@dataclass
class Operation:
    summary: str
    tag: str
    auth: str = AUTH_NONE
    description: str = ""
    query: type | None = None
    body: type | None = None
    response: type | None = None
    status: int = 200
    content_type: str = "application/json"
    also_as: tuple = ()  # other media types of the same answer, by content negotiation
    body_types: tuple = ("application/json",)  # the media types the body may come in
    body_required: bool = True
    errors: tuple = ()
    headers: dict = field(default_factory=dict)  # response header name → description
    request_headers: dict = field(default_factory=dict)  # optional request header name → description
    other_responses: dict = field(default_factory=dict)  # another success status → its schema
    cached_by: str | None = None  # a producer whose change notices keep the anonymous answer fresh
    by_slug: bool = False  # the path's reference may be a slug as well as an id
    moved: bool = False    # a former slug answers 301 with the current one (``kernel.errors.Moved``)


def documented(**operation):
    """Attach the OpenAPI description of a route to its method."""
    def decorate(method):
        method.openapi_operation = Operation(**operation)
        return method
    return decorate


def routes_of(service_cls):
    """(entrypoint, its documented Operation or None) of every HTTP route of ``service_cls``."""
    for name in sorted(dir(service_cls)):
        method = getattr(service_cls, name)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, GatewayRoute):
                yield entrypoint, getattr(method, "openapi_operation", None)


_PATH_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def openapi_path(werkzeug_url: str) -> str:
    return _PATH_PARAM.sub(lambda m: "{" + m.group("name") + "}", werkzeug_url)


def _error_statuses(op: Operation, has_path_params: bool, method: str) -> list[int]:
    statuses = set(op.errors)
    if op.query or op.body:
        statuses.add(422)
    if op.body:
        statuses.update({400, 413, 415})
    if op.auth in (AUTH_STAFF, AUTH_ADMIN):
        statuses.update({401, 403})
    elif op.auth == AUTH_OPTIONAL:
        statuses.add(401)
    if has_path_params:
        statuses.add(404)
    if op.tag != "ops":   # every client has a bound on requests at a time (gateway.ratelimit)
        statuses.update({429, 503})
    return sorted(statuses)


def _opaque_schema(media_type: str) -> dict:
    """An answer documented by its media type only: JSON-based ones (GeoJSON, JSON-LD) are parsed
    as a JSON object by clients, the others (CSV, iCalendar, Turtle, Atom) are text."""
    return {"type": "object"} if media_type.endswith("json") else {"type": "string"}


def _operation(spec_op: Operation, method: str, url: str) -> dict:
    params = [{"in": "path", "name": m.group("name"), "required": True,
               "schema": dict(_BY_SLUG) if spec_op.by_slug else {"type": "string", "format": "uuid"}}
              for m in _PATH_PARAM.finditer(url)]
    if spec_op.query:
        params.append({"in": "query", "schema": spec_op.query})
    params += [{"in": "header", "name": name, "required": False, "description": text,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
               for name, text in spec_op.request_headers.items()]
    description = spec_op.description
    if spec_op.auth in (AUTH_STAFF, AUTH_ADMIN):
        roles = "editor or admin" if spec_op.auth == AUTH_STAFF else "admin"
        description = f"{description}\n\nNeeds a bearer token with the role {roles}.".strip()
    elif spec_op.auth == AUTH_OPTIONAL:
        description = f"{description}\n\nPublic; a staff token gives the staff view.".strip()
    operation = {"summary": spec_op.summary, "tags": [spec_op.tag],
                 "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', url.lower()).strip('_')}",
                 "parameters": params,
                 "responses": {}}
    if description:
        operation["description"] = description
    if spec_op.auth in (AUTH_STAFF, AUTH_ADMIN):
        operation["security"] = [{BEARER: []}]
    elif spec_op.auth == AUTH_OPTIONAL:
        operation["security"] = [{}, {BEARER: []}]
    else:
        operation["security"] = []
    if spec_op.body:
        operation["requestBody"] = {"required": spec_op.body_required,
                                    "content": {media: {"schema": spec_op.body} for media in spec_op.body_types}}
    success = {"description": _STATUS_TEXT.get(spec_op.status, "OK")}
    if spec_op.response:
        success["content"] = {spec_op.content_type: {"schema": spec_op.response}}
    elif spec_op.content_type != "application/json":
        success["content"] = {media: {"schema": _opaque_schema(media)}
                              for media in (spec_op.content_type, *spec_op.also_as)}
    if spec_op.headers:
        success["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                              for name, text in spec_op.headers.items()}
    operation["responses"][str(spec_op.status)] = success
    if spec_op.moved:
        operation["responses"]["301"] = {
            "description": _STATUS_TEXT[301],
            "headers": {"Location": {"description": "the same URL with the current slug", "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"type": "object", "properties": {
                "moved_to": {"type": "string"}}, "required": ["moved_to"]}}}}
    for status, schema in spec_op.other_responses.items():
        operation["responses"][str(status)] = {"description": _STATUS_TEXT.get(status, "OK"),
                                               "content": {"application/json": {"schema": schema}}}
    for status in _error_statuses(spec_op, bool(params and params[0]["in"] == "path"), method):
        operation["responses"][str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    return operation


def build_spec(service_cls, title: str = "KoSI platform API", version: str = "1.0.0") -> dict:
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(title=title, version=version, openapi_version="3.1.0",
                   plugins=[marshmallow_plugin],
                   info={"description": "Public HTTP API of the knowledge platform of the Competence "
                                        "Centre for Social Innovation Saxony-Anhalt (KoSI). Errors are "
                                        "RFC 9457 problem details (application/problem+json)."})
    # apispec's default "url" is no JSON Schema format; validators only know "uri"
    marshmallow_plugin.map_to_openapi_type(fields.Url, "string", "uri")
    spec.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                              "description": "JWT with claims sub, roles (editor, "
                                                             "admin) and exp"})
    spec.components.schema("Problem", schema=ProblemSchema)
    for status in sorted({kind.status for _error, kind in PROBLEM_TABLE}):
        spec.components.response(f"Problem{status}", {
            "description": _STATUS_TEXT.get(status, "Problem"),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": "Problem"}}})
    paths: dict[str, dict] = {}
    for entrypoint, op in routes_of(service_cls):
        if op is None:
            raise ValueError(f"route {entrypoint.method} {entrypoint.url} has no @documented")
        for method in entrypoint.method.split(","):
            paths.setdefault(entrypoint.url, {})[method.lower()] = _operation(op, method, entrypoint.url)
    for url in sorted(paths):
        spec.path(path=openapi_path(url), operations=paths[url])
    return spec.to_dict()
