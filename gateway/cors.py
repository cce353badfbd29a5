"""CORS: which other origins' frontends may call the API from a browser (``CORS_ORIGINS``:
origins comma-separated, ``*`` for any, empty for none; the reference client is served by the
gateway itself and needs none).

Tokens travel in the ``Authorization`` header, never in cookies, so no credentials are
allowed and ``*`` exposes nothing a script elsewhere could not read by itself. A preflight
(``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin is answered 204
before any route; from any other it gets what any unknown method gets (405 problem+json).
"""
from nameko import config as nameko_config
from werkzeug.wrappers import Response

from gateway.http_caching import merged_vary

ALLOWED_METHODS = "GET, HEAD, POST, PATCH, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id"
EXPOSED_HEADERS = "Age, ETag, Link, Location, Retry-After, X-Request-Id"
PREFLIGHT_MAX_AGE = 600


def _origins() -> set[str]:
    configured = nameko_config.get("CORS_ORIGINS") or ""
    return {origin.strip().rstrip("/") for origin in str(configured).split(",") if origin.strip()}


def allowed_origin(request) -> str | None:
    origin = request.headers.get("Origin")
    if not origin:
        return None
    origins = _origins()
    return origin if "*" in origins or origin.rstrip("/") in origins else None


def preflight(request) -> Response | None:
    """The answer to a preflight from an allowed origin, or None (route as usual)."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    origin = allowed_origin(request)
    if origin is None:
        return None
    return Response(status=204, headers={"Access-Control-Allow-Origin": origin,
                                         "Access-Control-Allow-Methods": ALLOWED_METHODS,
                                         "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                                         "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
                                         "Vary": "Origin"})


def decorate(request, response: Response) -> Response:
    """The CORS headers of an answer to an allowed origin; every answer varies by Origin
    when any origin is allowed (a cache must not hand one origin's headers to another)."""
    if not _origins():
        return response
    response.headers["Vary"] = merged_vary(response.headers.get("Vary"), "Origin")
    origin = allowed_origin(request)
    if origin is not None and "Access-Control-Allow-Origin" not in response.headers:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response
