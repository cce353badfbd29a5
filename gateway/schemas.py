"""Schemas of the gateway's own answers (the services' schemas live in ``contracts/``).
Used for the OpenAPI document only."""
from marshmallow import RAISE, Schema, fields, validate

from contracts.catalog.api import ENTRY_KINDS
from kernel.schemas import InputSchema


class ProblemSchema(Schema):
    """RFC 9457 problem details, with ``errors``: field → list of messages."""

    type = fields.String(required=True, metadata={"example": "urn:kosi:problem:validation-failed"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String(metadata={"description": "the path of the request"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field (dotted path) → messages"})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadinessCheckSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok or down"})
    detail = fields.String()


class ReadinessSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ready or not ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(ReadinessCheckSchema))


class PageSchema(Schema):
    """Envelope of every list answer; ``items`` holds the listed resources."""

    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    items = fields.List(fields.Dict(), required=True)


class SubmissionReceiptSchema(Schema):
    id = fields.UUID(required=True)
    status = fields.String(required=True, metadata={"example": "submitted"})
    message = fields.String()


class GeoJSONFeatureCollectionSchema(Schema):
    type = fields.String(required=True, metadata={"example": "FeatureCollection"})
    bbox = fields.List(fields.Float(), metadata={"description": "[minLon, minLat, maxLon, maxLat] of the request"})
    features = fields.List(fields.Dict(), required=True,
                           metadata={"description": "GeoJSON Features; coordinates are [lon, lat]"})
    attribution = fields.String(metadata={"description": "the credit a map showing these data must carry"})


class NetworkSchema(Schema):
    nodes = fields.List(fields.Dict(), required=True)
    edges = fields.List(fields.Dict(), required=True)
    truncated = fields.Boolean(required=True, metadata={"description": "more entries matched than limit"})


class MapQuerySchema(Schema):
    """Query of ``GET /map``; ``bbox`` is checked further by ``kernel.geo.parse_bbox``."""

    class Meta:
        unknown = RAISE

    bbox = fields.String(metadata={"description": "minLon,minLat,maxLon,maxLat (WGS84); "
                                                  "default: the whole state",
                                   "example": "11.0,51.0,12.5,52.5"})
    zoom = fields.Integer(validate=validate.Range(min=0, max=20), load_default=8,
                          metadata={"description": "map zoom; features are clustered when zoomed out"})
    theme = fields.String(validate=validate.Length(max=60))
    kind = fields.String(validate=validate.OneOf(ENTRY_KINDS))



class NoQuery(InputSchema):
    """Endpoints without query parameters still refuse unknown ones."""
