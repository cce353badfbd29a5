"""marshmallow helpers shared by the gateway, the contracts and the services."""
from datetime import timezone
from functools import lru_cache

from marshmallow import RAISE, Schema, ValidationError, fields

from kernel.errors import ValidationFailed


@lru_cache(maxsize=None)
def schema_instance(schema: type[Schema]) -> Schema:
    """One instance per schema class: building one copies every declared field, which costs
    more than a validation; marshmallow schemas keep no state between loads."""
    return schema()


def described(text: str, **extra) -> dict:
    """Field keyword arguments carrying an OpenAPI description (and more ``metadata``)."""
    return {"metadata": {"description": text, **extra.pop("metadata", {})}, **extra}


class Text(fields.String):
    """A string with surrounding whitespace removed before the length rules run."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Instant(fields.AwareDateTime):
    """A point in time given in ISO 8601 with a zone, taken as UTC, between the years 1900 and
    9999: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows, and a year 150 is a typo."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(timezone.utc)
        except OverflowError:
            raise ValidationError("must lie between the years 1900 and 9999") from None
        if moment.year < 1900:
            raise ValidationError("must lie between the years 1900 and 9999")
        return moment


class InputSchema(Schema):
    """Base of every input schema: unknown fields are an error, not silently dropped."""

    class Meta:
        unknown = RAISE


class OutputSchema(Schema):
    """Base of the schemas of answers (they also describe the OpenAPI responses)."""

    class Meta:
        unknown = RAISE


def load_input(schema: Schema | type, data, partial=False, what: str = "input"):
    """Load ``data`` with ``schema``; a ``ValidationError`` becomes ``ValidationFailed``."""
    schema = schema_instance(schema) if isinstance(schema, type) else schema
    if not isinstance(data, dict):
        raise ValidationFailed(f"the {what} must be an object", {"_schema": ["Invalid input type."]})
    try:
        return schema.load(data, partial=partial)
    except ValidationError as err:
        raise ValidationFailed(f"the {what} is not valid", jsonable_messages(err.messages)) from None


def with_expected_version(changes, expected_version):
    """An update's input with the version the caller expects (sent apart from the changes, as
    the gateway does from ``If-Match``), for the update schema to check with the rest."""
    payload = dict(changes) if isinstance(changes, dict) else changes
    if isinstance(payload, dict) and expected_version is not None:
        payload["version"] = expected_version
    return payload


def jsonable_messages(messages):
    """Error messages with string keys (list indexes become "0", "1", …) for the wire."""
    if isinstance(messages, dict):
        return {str(key): jsonable_messages(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [jsonable_messages(value) for value in messages]
    return messages


def page_schema(item_schema: type, name: str) -> type:
    """``{total, page, per_page, items}`` around ``item_schema`` (for OpenAPI)."""
    return type(name, (OutputSchema,), {
        "total": fields.Integer(required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "items": fields.List(fields.Nested(item_schema), required=True),
    })
