"""The one table that maps errors to HTTP problem responses (RFC 9457).

Every route and every answer the gateway gives before a route runs (unknown path,
wrong method, body too large) goes through ``problem_response``; so the mapping
lives here and nowhere else. Bad input must map to a 4xx; a 500 means a bug and is
logged with its traceback.
"""
import json
import logging
from dataclasses import dataclass

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.wrappers import Response

from gateway.errors import (MalformedRequest, MissingToken, PayloadTooLarge, ServiceUnavailable,
                            TooManyRequests, Unauthenticated, UnsupportedMediaType)
from kernel.errors import Conflict, DependencyUnavailable, Forbidden, InvalidTransition, NotFound, ValidationFailed

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:kosi:problem:"


@dataclass(frozen=True)
class ProblemKind:
    slug: str
    status: int
    title: str

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.slug


# Order matters: the first class the error is an instance of wins.
PROBLEM_TABLE: list[tuple[type, ProblemKind]] = [
    (ValidationFailed, ProblemKind("validation-failed", 422, "The input is not valid")),
    (MalformedRequest, ProblemKind("malformed-request", 400, "The request body cannot be read")),
    (Unauthenticated, ProblemKind("unauthenticated", 401, "Authentication required")),
    (Forbidden, ProblemKind("forbidden", 403, "Not allowed")),
    (NotFound, ProblemKind("not-found", 404, "Not found")),
    (RouteNotFound, ProblemKind("not-found", 404, "Not found")),
    (MethodNotAllowed, ProblemKind("method-not-allowed", 405, "Method not allowed")),
    (InvalidTransition, ProblemKind("invalid-transition", 409, "The workflow does not allow this action")),
    (Conflict, ProblemKind("conflict", 409, "Conflict with the current state")),
    (PayloadTooLarge, ProblemKind("payload-too-large", 413, "The request body is too large")),
    (UnsupportedMediaType, ProblemKind("unsupported-media-type", 415, "Unsupported content type")),
    (TooManyRequests, ProblemKind("too-many-requests", 429, "Too many requests")),
    (ServiceUnavailable, ProblemKind("service-unavailable", 503, "A service is not available")),
    (DependencyUnavailable, ProblemKind("service-unavailable", 503, "A service is not available")),
    (UnknownService, ProblemKind("service-unavailable", 503, "A service is not available")),
    (eventlet.Timeout, ProblemKind("service-unavailable", 503, "A service is not available")),
]

UNEXPECTED = ProblemKind("internal-error", 500, "Internal server error")


def problem_kind(error: BaseException) -> ProblemKind:
    for error_class, kind in PROBLEM_TABLE:
        if isinstance(error, error_class):
            return kind
    if isinstance(error, HTTPException) and error.code and 400 <= error.code < 500:
        # any other werkzeug client error raised while reading the request
        return ProblemKind(f"http-{error.code}", error.code, error.name)
    return UNEXPECTED


def field_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow-style messages to ``{"a.b": ["…"]}`` (dotted paths, list indices)."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for name, texts in field_messages(value, path).items():
                flat.setdefault(name, []).extend(texts)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (dict, list, tuple)):
                for name, texts in field_messages(item, prefix).items():
                    flat.setdefault(name, []).extend(texts)
            else:
                flat.setdefault(prefix or "_request", []).append(str(item))
    elif messages is not None:
        flat.setdefault(prefix or "_request", []).append(str(messages))
    return flat


def problem_body(error: BaseException, instance: str) -> dict:
    kind = problem_kind(error)
    if kind is UNEXPECTED:
        detail = "Something went wrong on our side; it has been logged."
    elif isinstance(error, HTTPException):
        detail = error.description or kind.title
    elif isinstance(error, eventlet.Timeout):
        detail = "A service behind the gateway did not answer in time."
    elif isinstance(error, UnknownService):
        detail = f"The service {error.args[0]!r} is not running."
    else:
        detail = str(error) or kind.title
    body = {"type": kind.type, "title": kind.title, "status": kind.status,
            "detail": detail, "instance": instance}
    fields = getattr(error, "fields", None)
    body["errors"] = field_messages(fields) if fields else {}
    return body


def problem_response(error: BaseException, instance: str) -> Response:
    """The problem+json response for ``error`` raised while answering ``instance`` (a path)."""
    kind = problem_kind(error)
    if kind is UNEXPECTED:
        # %r: a path is the client's text, and a newline in it must not start a log line
        if isinstance(error, RemoteError):
            log.error("unexpected remote error at %r: %s %r", instance, error.exc_type, error.value)
        else:
            log.error("unexpected error at %r", instance, exc_info=error)
    body = problem_body(error, instance)
    headers = {}
    if kind.status == 401:
        challenge = 'Bearer realm="kosi"'
        if not isinstance(error, MissingToken):
            challenge += ', error="invalid_token"'
        headers["WWW-Authenticate"] = challenge
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return Response(json.dumps(body, ensure_ascii=False), status=kind.status, headers=headers,
                    content_type=PROBLEM_CONTENT_TYPE)
