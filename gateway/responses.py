"""JSON responses of the gateway."""
import orjson

from werkzeug.wrappers import Response


def json_response(data, status: int = 200, headers: dict | None = None,
                  content_type: str = "application/json") -> Response:
    return Response(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status, headers=headers or {},
                    content_type=content_type)
