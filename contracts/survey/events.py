"""Contracts of the events the survey service publishes (exchange ``survey.events``), written
field by field. They carry counts, never answers, and nothing about who took part.

- ``survey.published``: a survey or poll opened for answers (at its opening time).
- ``survey.closed``: it stopped taking answers (``reason``: time, quota or staff).
- ``response.submitted``: responses were counted (``response_count`` after them; responses
  counted together, as the service does with those arriving at the same moment or typed in from
  paper, are one event).
"""
from marshmallow import fields

from kernel.events import EventContract, register

PRODUCER = "survey"


class Label(EventContract):
    de = fields.String(required=True)
    en = fields.String()


class Link(EventContract):
    type = fields.String(required=True)
    ref = fields.String(required=True)


@register(PRODUCER, "survey.published", 1)
class SurveyPublished(EventContract):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.Nested(Label, required=True)
    description = fields.Nested(Label, allow_none=True)
    question_count = fields.Integer(required=True, strict=True)
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    results_public = fields.Boolean(required=True)
    link = fields.Nested(Link, allow_none=True)
    published_at = fields.DateTime(required=True)
    demo = fields.Boolean(required=True)


@register(PRODUCER, "survey.closed", 1)
class SurveyClosed(EventContract):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.Nested(Label, required=True)
    reason = fields.String(required=True)
    response_count = fields.Integer(required=True, strict=True)
    results_public = fields.Boolean(required=True)
    closed_at = fields.DateTime(required=True)


@register(PRODUCER, "response.submitted", 1)
class ResponseSubmitted(EventContract):
    survey_id = fields.String(required=True)
    response_count = fields.Integer(required=True, strict=True)
