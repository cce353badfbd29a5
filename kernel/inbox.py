"""Idempotent consumption: apply an event's effect at most once per consumer."""
from typing import Callable

from sqlalchemy.exc import IntegrityError

from kernel.db import UnitOfWork, is_duplicate_delivery
from kernel.events import parse_event


def apply_once(make_uow: Callable[[], UnitOfWork], consumer: str, body: dict,
               effect: Callable[[UnitOfWork, dict], None]) -> bool:
    """Validate the envelope, run ``effect`` and record the event id in one transaction.

    Returns False for a redelivery (already applied). A contract violation raises
    ``ValidationFailed``, which dead-letters the message.
    """
    envelope = parse_event(body)
    with make_uow() as uow:
        if uow.already_processed(consumer, envelope["event_id"]):
            return False
        effect(uow, envelope)
        uow.mark_processed(consumer, envelope["event_id"])
        try:
            uow.commit()
        except IntegrityError as error:
            if is_duplicate_delivery(error):  # a concurrent redelivery won the race
                return False
            raise
    return True
