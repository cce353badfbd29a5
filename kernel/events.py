"""The event envelope and the registry of event contracts.

Every event on the wire is ``{event_id, type, version, occurred_at, producer, data}``.
Each ``(type, version)`` has one marshmallow schema for ``data``; producers validate
before writing to the outbox, consumers validate on receipt.
"""
import uuid
from datetime import datetime, timezone

from marshmallow import RAISE, Schema, ValidationError, fields

from kernel.errors import ValidationFailed

_CONTRACTS: dict[tuple[str, int], Schema] = {}


class EnvelopeSchema(Schema):
    class Meta:
        unknown = RAISE

    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True, strict=True)
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True)
    data = fields.Dict(required=True)


_envelope = EnvelopeSchema()


def register(event_type: str, version: int = 1):
    """Class decorator: ``schema`` is the contract of ``event_type`` at ``version``."""

    def decorate(schema_cls):
        key = (event_type, version)
        if key in _CONTRACTS:
            raise ValueError(f"event contract {key} registered twice")
        _CONTRACTS[key] = schema_cls()
        return schema_cls

    return decorate


def contract(event_type: str, version: int = 1) -> Schema:
    try:
        return _CONTRACTS[(event_type, version)]
    except KeyError:
        raise ValidationFailed(f"unknown event contract {event_type} v{version}") from None


def registered_types() -> list[tuple[str, int]]:
    return sorted(_CONTRACTS)


def make_event(producer: str, event_type: str, data: dict, version: int = 1) -> dict:
    """Build a validated, JSON-ready envelope."""
    schema = contract(event_type, version)
    errors = schema.validate(data)
    if errors:
        raise ValidationFailed(f"event {event_type} v{version} breaks its contract", errors)
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "version": version,
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "producer": producer,
        "data": schema.dump(schema.load(data)),
    }


def parse_event(body: dict) -> dict:
    """Validate an envelope received from the wire; ``data`` is loaded by its contract."""
    try:
        envelope = _envelope.load(body)
        envelope["data"] = contract(envelope["type"], envelope["version"]).load(envelope["data"])
    except ValidationError as exc:
        raise ValidationFailed("event breaks its contract", exc.messages) from exc
    envelope["event_id"] = str(envelope["event_id"])
    return envelope
