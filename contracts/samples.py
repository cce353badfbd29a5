"""Sample envelopes of every event type and version (``<producer>/samples/<type>.v<N>.json``).

Contract tests check each sample against its schema, that producers emit exactly the
fields of the sample, and that every consumer accepts every sample of what it subscribes to.
"""
import json
from pathlib import Path

from kernel.events import Contract, contract, registered_contracts

ROOT = Path(__file__).resolve().parent


def sample_path(event: Contract) -> Path:
    return ROOT / event.producer / "samples" / f"{event.type}.v{event.version}.json"


def sample(event_type: str, version: int = 1) -> dict:
    """A fresh copy of the sample envelope of ``event_type`` at ``version``."""
    return json.loads(sample_path(contract(event_type, version)).read_text(encoding="utf-8"))


def all_samples(producer: str) -> list[tuple[Contract, dict]]:
    """Every registered event of ``producer`` with its sample."""
    return [(event, json.loads(sample_path(event).read_text(encoding="utf-8")))
            for event in registered_contracts() if event.producer == producer]
