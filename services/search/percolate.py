"""Saved searches against a newly published record: which query texts would find it.

The notify service asks this (RPC ``percolate``) when an entry or article is published, with
the event's type and data and its subscribers' saved query texts. The search document is
built exactly as the event consumer builds it: the data read by the event's contract
(tolerantly: unknown fields ignored), then ``documents.document_from_event``. Each backend
decides the matches with its own analysis (``SearchBackend.matching_queries``), so a saved
query matches what a search with that ``q`` would find. Plain Python, no nameko.
"""
from datetime import date, datetime, time

from marshmallow import ValidationError

from contracts.catalog import events as catalog_events  # noqa: F401  (registers the event contracts)
from kernel.errors import ValidationFailed
from kernel.events import contract
from kernel.schemas import jsonable_messages
from services.search.backend import SearchBackend
from services.search.documents import document_from_event

EVENT_VERSION = 1   # the contract version the data is read in (the only one there is)


def search_document(document: dict) -> dict | None:
    """The search document (or tombstone) of ``{"type", "data"}`` as loaded by ``PercolateSchema``."""
    event_type = document["type"]
    try:
        data = contract(event_type, EVENT_VERSION).schema.load(_as_on_the_wire(document["data"]))
    except ValidationError as error:
        raise ValidationFailed(f"the {event_type} data breaks its contract",
                               {"document": {"data": jsonable_messages(error.messages)}}) from None
    return document_from_event({"type": event_type, "data": data})


def matching_queries(backend: SearchBackend, document: dict, queries: list[str]) -> list[int]:
    """Positions in ``queries`` of the texts that find the record ``document`` describes."""
    search_doc = search_document(document)
    if search_doc is None or not queries:
        return []
    return backend.matching_queries(search_doc, list(queries))


def _as_on_the_wire(value):
    """Dates and times as ISO strings, as in the event on the wire: the RPC codec turns
    kombu's type markers back into objects, and the contract reads strings."""
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _as_on_the_wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_on_the_wire(item) for item in value]
    return value
