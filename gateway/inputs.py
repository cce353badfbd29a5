"""Reading what a request brings: JSON bodies, query strings, ids, If-Match.

Everything here raises the errors of ``gateway.errors`` / ``kernel.errors`` so that bad
input becomes a 4xx problem; validation of the content itself is the job of the
catalog's marshmallow schemas (``validate``).
"""
import json
import math
import re
import uuid

from marshmallow import Schema

from contracts.catalog.api import SLUG_PATTERN
from gateway.errors import MalformedRequest, UnsupportedMediaType
from kernel.errors import NotFound, ValidationFailed
from kernel.schemas import schema_instance

_JSON_TYPES = re.compile(r"^application/(?:[\w.-]+\+)?json$")


def body_bytes(request) -> bytes:
    """The raw body; RequestEntityTooLarge (413) when it exceeds ``max_content_length``."""
    raw = request.get_data(cache=True)  # a Content-Length over the limit raises here
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(raw) >= limit:
        # a streamed (chunked) body is cut at the limit silently; reading on tells if
        # there was more: werkzeug then raises RequestEntityTooLarge
        request.stream.read(1)
    return raw


def json_body(request) -> dict:
    """The body as a JSON object; 415 for another content type, 400 when unreadable."""
    raw = body_bytes(request)
    if not raw.strip():
        raise MalformedRequest("the request needs a JSON object as its body")
    if not _JSON_TYPES.match(request.mimetype or ""):
        raise UnsupportedMediaType(
            f"send the body as application/json, not {request.mimetype or 'without a Content-Type'}")
    try:
        body = json.loads(raw.decode(request.mimetype_params.get("charset", "utf-8")),
                          parse_constant=_no_constant)
    except (UnicodeDecodeError, LookupError):
        raise MalformedRequest("the body is not UTF-8 text") from None
    except ValueError as exc:
        raise MalformedRequest(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedRequest("the body is nested too deeply") from None
    if not isinstance(body, dict):
        raise MalformedRequest("the body must be a JSON object")
    _check_values(body)
    return body


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def form_or_json_body(request) -> dict:
    """An optional body, JSON or an HTML form (RFC 8058's one-click POST is a form); ``{}``
    without one."""
    if not body_bytes(request).strip():
        return {}
    if request.mimetype in _FORM_TYPES:
        fields = {}
        for key in request.form.keys():
            values = request.form.getlist(key)
            fields[key] = values if len(values) > 1 else values[0]
        _check_values(fields)
        return fields
    if not _JSON_TYPES.match(request.mimetype or ""):
        raise UnsupportedMediaType(f"send the body as a form or as application/json, not "
                                   f"{request.mimetype or 'without a Content-Type'}")
    return json_body(request)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


# what a number may be to cross the wire (RPC messages are encoded by orjson: 64-bit integers)
_SMALLEST_INT, _LARGEST_INT = -(2 ** 63), 2 ** 64 - 1


def _check_values(body) -> None:
    """JSON escapes can smuggle in what no database stores: NUL and lone surrogates; and JSON
    numbers may be larger than any service takes (an integer beyond 64 bits, a float that
    overflows to infinity, as ``1e999`` does)."""
    pending = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not _SMALLEST_INT <= value <= _LARGEST_INT:
                raise MalformedRequest("a number in the body is too large (integers have at most 64 bits)")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise MalformedRequest("a number in the body is too large")
        elif isinstance(value, str):
            if "\x00" in value:
                raise MalformedRequest("the body contains a NUL character")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedRequest("the body contains an unpaired surrogate (\\ud800-\\udfff)") from None


def query_args(request) -> dict:
    """Query parameters as a dict; a repeated parameter becomes a list."""
    args = {}
    for key in request.args.keys():
        values = request.args.getlist(key)
        args[key] = values if len(values) > 1 else values[0]
        for text in [key, *values]:
            if "\x00" in text:
                raise ValidationFailed("a query parameter contains a NUL character",
                                       {key.replace("\x00", ""): ["Must not contain NUL characters."]})
    return args


def validate(schema: type[Schema], data: dict, what: str = "input", partial=False) -> dict:
    """Check ``data`` with ``schema`` (unknown fields included); returns ``data`` unchanged.

    The gateway passes the raw (JSON-ready) data on; the service loads it with the
    same schema itself.
    """
    errors = schema_instance(schema).validate(data, partial=partial)
    if errors:
        raise ValidationFailed(f"the {what} is not valid", errors)
    return data


_SLUG = re.compile(SLUG_PATTERN)
MAX_SLUG = 220


def resource_reference(value: str, name: str = "id") -> str:
    """A path naming a public resource: its id (a UUID) or its slug; anything else names none."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        pass
    if len(value) <= MAX_SLUG and _SLUG.match(value):
        return value
    raise NotFound(f"no resource {value!r}", {name: ["Not a valid UUID or slug."]})


def resource_id(value: str, name: str = "id") -> str:
    """A path id must be a UUID: anything else names no resource (404 with a field message)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(f"no resource with id {value!r}", {name: ["Not a valid UUID."]}) from None


_ETAG = re.compile(r'^\s*(?:W/)?"?(?P<version>\d{1,9})"?\s*$')


def etag(version) -> str:
    return f'"{version}"'


def expected_version(request, body: dict) -> int:
    """The version a PATCH expects: body field ``version`` or the ``If-Match`` header."""
    from_body = body.pop("version", None)
    header = request.headers.get("If-Match")
    from_header = None
    if header is not None:
        match = _ETAG.match(header)
        if not match:
            raise ValidationFailed("If-Match must be the entry's ETag", {"If-Match": [
                'Send the ETag of the entry, e.g. "3".']})
        from_header = int(match.group("version"))
    if from_body is not None and (isinstance(from_body, bool) or not isinstance(from_body, int)
                                  or from_body < 1):
        raise ValidationFailed("version must be a positive integer", {"version": ["Not a valid integer."]})
    if from_body is None and from_header is None:
        raise ValidationFailed("the expected version is missing", {"version": [
            "Send the version you edited in the body or as an If-Match header."]})
    if from_body is not None and from_header is not None and from_body != from_header:
        raise ValidationFailed("version and If-Match disagree", {"version": [
            "The body's version differs from the If-Match header."]})
    return from_body if from_body is not None else from_header
