"""JSON responses of the gateway."""
import orjson

from werkzeug.wrappers import Response


PAGE_KEYS = ("page", "per_page", "total")


def json_response(data, status: int = 200, headers: dict | None = None,
                  content_type: str = "application/json") -> Response:
    """A JSON answer; a page of a list (``page``, ``per_page``, ``total``) is marked for the
    pagination links of ``gateway.http_caching``."""
    response = Response(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status, headers=headers or {},
                        content_type=content_type)
    if isinstance(data, dict) and all(isinstance(data.get(key), int) for key in PAGE_KEYS):
        response.page = tuple(data[key] for key in PAGE_KEYS)
    return response


# Short: a slug given back later (a → b, then b → a) must not leave browsers looping on an
# old permanent redirect they kept.
MOVED_MAX_AGE = 60


def moved_response(location: str) -> Response:
    """301 to where a resource asked for by an old name is now (``kernel.errors.Moved``)."""
    return json_response({"moved_to": location}, status=301,
                         headers={"Location": location, "Cache-Control": f"public, max-age={MOVED_MAX_AGE}"})

