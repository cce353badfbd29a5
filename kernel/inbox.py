"""Idempotent consumption: apply an event's effect at most once per consumer."""
from typing import Callable

from kernel.db import UnitOfWork


def apply_once(make_uow: Callable[[], UnitOfWork], consumer: str, envelope: dict,
               effect: Callable[[UnitOfWork, dict], None]) -> bool:
    """Run ``effect(uow, envelope)`` and record the event id in one transaction.

    The id is claimed first (insert-on-conflict), so a concurrent redelivery waits for
    this transaction and then finds the id taken. Returns False for a redelivery. An
    exception in ``effect`` rolls both back (the handler is retried).
    """
    with make_uow() as uow:
        if not uow.claim_event(consumer, envelope["event_id"]):
            return False
        effect(uow, envelope)
        uow.commit()
    return True
