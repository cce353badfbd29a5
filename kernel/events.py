"""The event envelope, the registry of event contracts, and reading events tolerantly.

Every event on the wire is ``{event_id, type, version, occurred_at, producer, data}``
(plus ``versions``: the versions of this event published side by side). Each
``(type, version)`` has one marshmallow schema for ``data``, registered by the
``contracts`` package. Producers validate strictly before writing to the outbox;
consumers read tolerantly: unknown fields in the envelope and in ``data`` are ignored,
so an additive change needs no coordinated deploy.

A breaking change is a new version. For ``deprecation_days`` after the new version's
``introduced`` date the producer publishes the older version beside it (same
``event_id``, ``data`` made by the contract's ``downgrade``), so consumers still on the
older code keep working. A consumer takes the copy in the highest version it knows and
skips the others; one that knows none of the published versions parks the event
(``UnknownEventVersion``) until it is upgraded.
"""
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from kernel.errors import KosiError, ValidationFailed

DEFAULT_DEPRECATION_DAYS = 90


class EventContract(Schema):
    """Base of every event schema (and of the schemas nested in one): unknown fields are
    ignored when reading, so producers may add fields without breaking consumers."""

    class Meta:
        unknown = EXCLUDE


class UnknownEventVersion(KosiError):
    """An event in a version this consumer cannot read (it parks the event)."""


@dataclass(frozen=True)
class Contract:
    producer: str
    type: str
    version: int
    schema: Schema
    introduced: date | None = None                     # versions > 1: first day it is published
    downgrade: Callable[[dict], dict] | None = None    # this version's data → the previous version's


_CONTRACTS: dict[tuple[str, int], Contract] = {}


def register(producer: str, event_type: str, version: int = 1, introduced: date | None = None,
             downgrade: Callable[[dict], dict] | None = None):
    """Class decorator: the schema of ``data`` of ``event_type`` at ``version``."""

    def decorate(schema_cls):
        key = (event_type, version)
        if key in _CONTRACTS:
            raise ValueError(f"event contract {event_type} v{version} registered twice")
        if version > 1 and (introduced is None or downgrade is None):
            raise ValueError(f"{event_type} v{version} needs introduced= and downgrade= (to v{version - 1})")
        _CONTRACTS[key] = Contract(producer, event_type, version, schema_cls(), introduced, downgrade)
        return schema_cls

    return decorate


def contract(event_type: str, version: int = 1) -> Contract:
    try:
        return _CONTRACTS[(event_type, version)]
    except KeyError:
        raise UnknownEventVersion(f"unknown event contract {event_type} v{version}") from None


def known_versions(event_type: str) -> list[int]:
    return sorted(version for (name, version) in _CONTRACTS if name == event_type)


def registered_contracts() -> list[Contract]:
    return [_CONTRACTS[key] for key in sorted(_CONTRACTS)]


# ---------------------------------------------------------------------- producing

def _strict_data(event: Contract, data: dict) -> dict:
    """``data`` as the contract has it: its fields only, validated, JSON-ready."""
    try:
        loaded = event.schema.load(data, unknown=EXCLUDE)
    except ValidationError as exc:
        raise ValidationFailed(f"event {event.type} v{event.version} breaks its contract", exc.messages) from None
    return event.schema.dump(loaded)


def published_versions(event_type: str, deprecation_days: int = DEFAULT_DEPRECATION_DAYS,
                       today: date | None = None) -> list[int]:
    """The versions of ``event_type`` a producer publishes today, newest first: the newest,
    and each older one while its successor is younger than ``deprecation_days``."""
    versions = known_versions(event_type)
    if not versions:
        raise UnknownEventVersion(f"unknown event contract {event_type}")
    today = today or datetime.now(timezone.utc).date()
    published = [versions[-1]]
    for version in reversed(versions[:-1]):
        successor = contract(event_type, version + 1)
        if today >= successor.introduced + timedelta(days=deprecation_days):
            break
        published.append(version)
    return published


def make_events(producer: str, event_type: str, data: dict, deprecation_days: int = DEFAULT_DEPRECATION_DAYS,
                today: date | None = None) -> list[dict]:
    """The envelopes of one event: one per published version (newest first), one event id.

    ``data`` is in the newest version; older copies are made by each version's downgrade.
    """
    versions = published_versions(event_type, deprecation_days, today)
    event_id = str(uuid.uuid4())
    occurred_at = datetime.now(timezone.utc).isoformat()
    envelopes = []
    for version in versions:
        event = contract(event_type, version)
        if event.producer != producer:
            raise ValueError(f"{event_type} is published by {event.producer}, not {producer}")
        data = _strict_data(event, data)
        envelopes.append({"event_id": event_id, "type": event_type, "version": version,
                          "occurred_at": occurred_at, "producer": producer, "data": data,
                          "versions": versions})
        if event.downgrade is not None:
            data = event.downgrade(data)
    return envelopes


def make_event(producer: str, event_type: str, data: dict) -> dict:
    """The newest-version envelope of one event (for tests and tools)."""
    return make_events(producer, event_type, data)[0]


# ---------------------------------------------------------------------- consuming

class EnvelopeSchema(EventContract):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True, strict=True)
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True)
    data = fields.Dict(required=True)
    versions = fields.List(fields.Integer(strict=True), load_default=list)


_envelope = EnvelopeSchema()


def read_event(body) -> dict | None:
    """Validate an envelope received from the wire, tolerantly; ``data`` loaded by its contract.

    Returns None for a copy this consumer skips (it reads the event in another published
    version). Raises ``UnknownEventVersion`` when it can read none of the published
    versions, ``ValidationFailed`` when the envelope or the data breaks its contract.
    """
    if not isinstance(body, dict):
        raise ValidationFailed("an event must be a JSON object", {"_schema": ["Invalid input type."]})
    try:
        envelope = _envelope.load(body)
    except ValidationError as exc:
        raise ValidationFailed("the event envelope breaks its contract", exc.messages) from None
    event_type, version = envelope["type"], envelope["version"]
    readable = set(known_versions(event_type)) & (set(envelope["versions"]) | {version})
    if not readable:
        known = ", ".join(map(str, known_versions(event_type))) or "none"
        raise UnknownEventVersion(f"{event_type} v{version} cannot be read here (this consumer reads "
                                  f"versions: {known})")
    if version != max(readable):
        return None
    event = contract(event_type, version)
    try:
        envelope["data"] = event.schema.load(envelope["data"])
    except ValidationError as exc:
        raise ValidationFailed(f"event {event_type} v{version} breaks its contract", exc.messages) from None
    envelope["event_id"] = str(envelope["event_id"])
    return envelope
