"""The one error table: every error class maps to its status and an RFC 9457 body."""
import json
import logging

import eventlet
import pytest
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.exceptions import MethodNotAllowed, NotFound as RouteNotFound, RequestEntityTooLarge

from gateway.errors import (MalformedRequest, MissingToken, PayloadTooLarge, ServiceUnavailable,
                            Unauthenticated, UnsupportedMediaType)
from gateway.problems import PROBLEM_CONTENT_TYPE, field_messages, problem_response
from kernel.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed


def cancelled_timeout():
    timeout = eventlet.Timeout(1)
    timeout.cancel()  # a started Timeout would fire into whatever runs a second later
    return timeout


def body_of(response):
    return json.loads(response.get_data(as_text=True))


@pytest.mark.parametrize("error, status", [
    (ValidationFailed("bad", {"title": ["too short"]}), 422),
    (MalformedRequest("not json"), 400),
    (MissingToken("missing bearer token"), 401),
    (Unauthenticated("expired"), 401),
    (Forbidden("no"), 403),
    (NotFound("gone"), 404),
    (RouteNotFound(), 404),
    (MethodNotAllowed(valid_methods=["GET"]), 405),
    (Conflict("stale"), 409),
    (InvalidTransition("cannot publish a withdrawn entry"), 409),
    (PayloadTooLarge("big"), 413),
    (RequestEntityTooLarge(), 413),
    (UnsupportedMediaType("xml"), 415),
    (ServiceUnavailable("catalog did not answer"), 503),
    (UnknownService("catalog"), 503),
    (cancelled_timeout(), 503),
])
def test_each_error_maps_to_its_status_as_problem_json(error, status):
    response = problem_response(error, "/api/v1/entries")

    assert response.status_code == status
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    body = body_of(response)
    assert body["status"] == status
    assert body["instance"] == "/api/v1/entries"
    assert body["type"].startswith("urn:kosi:problem:")
    assert body["title"] and body["detail"]
    assert isinstance(body["errors"], dict)


def test_validation_failed_carries_field_messages():
    error = ValidationFailed("invalid input", {"title": ["Shorter than minimum length 3."],
                                               "location": {"lat": ["Must be at most 90."]},
                                               "tags": {"2": ["Not a valid string."]}})
    body = body_of(problem_response(error, "/x"))

    assert body["errors"] == {"title": ["Shorter than minimum length 3."],
                              "location.lat": ["Must be at most 90."],
                              "tags.2": ["Not a valid string."]}
    assert body["detail"] == "invalid input"


def test_field_messages_flattens_lists_of_nested_messages_and_plain_messages():
    assert field_messages({"links": [{"url": ["Not a valid URL."]}]}) == {"links.url": ["Not a valid URL."]}
    assert field_messages(["whole body wrong"]) == {"_request": ["whole body wrong"]}
    assert field_messages({}) == {}


def test_unauthenticated_challenges_with_bearer():
    missing = problem_response(MissingToken("missing bearer token"), "/x")
    invalid = problem_response(Unauthenticated("the token has expired"), "/x")

    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="kosi"'
    assert invalid.headers["WWW-Authenticate"] == 'Bearer realm="kosi", error="invalid_token"'
    assert "WWW-Authenticate" not in problem_response(Forbidden("no"), "/x").headers


def test_method_not_allowed_lists_allowed_methods():
    response = problem_response(MethodNotAllowed(valid_methods=["POST", "GET"]), "/x")
    assert response.headers["Allow"] == "GET, POST"


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("id"),
                                   RemoteError("TypeError", "unexpected argument")])
def test_unexpected_errors_are_500_without_internals_and_logged(error, caplog):
    with caplog.at_level(logging.ERROR, logger="gateway.problems"):
        response = problem_response(error, "/api/v1/entries")

    body = body_of(response)
    assert response.status_code == 500
    assert body["type"] == "urn:kosi:problem:internal-error"
    assert "boom" not in body["detail"] and "unexpected argument" not in body["detail"]
    assert any("/api/v1/entries" in record.getMessage() for record in caplog.records)


def test_first_matching_row_wins_for_subclasses():
    # MissingToken is an Unauthenticated is a KosiError: the specific row decides
    assert problem_response(MissingToken("x"), "/x").status_code == 401
