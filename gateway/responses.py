"""JSON responses of the gateway."""
import json

from werkzeug.wrappers import Response


def json_response(data, status: int = 200, headers: dict | None = None,
                  content_type: str = "application/json") -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, headers=headers or {},
                    content_type=content_type)
