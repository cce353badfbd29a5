"""Errors that cross the wire between services.

Each is registered with nameko so an RPC caller gets the same class back (with its
arguments) instead of a generic RemoteError. The gateway maps them to problem+json
with one table (``gateway/problems.py``).
"""
from nameko.exceptions import deserialize_to_instance


def describe_error(error: BaseException, limit: int = 2000) -> str:
    """``Type: message`` of an error, for logs and message headers. An error without a message
    (kombu wraps a broker's negative confirm in an empty OperationalError) names its cause."""
    cause = error.__cause__ or error.__context__
    text = str(error) or (f"{type(cause).__name__} {cause}".strip() if cause else "no detail")
    return f"{type(error).__name__}: {text}"[:limit]


class KosiError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, detail: str = "", fields: dict | None = None):
        super().__init__(detail, fields or {})
        self.detail = detail
        self.fields = fields or {}

    def __str__(self):
        return self.detail


@deserialize_to_instance
class ValidationFailed(KosiError):
    """Input broke a rule; ``fields`` maps field names to lists of messages."""


@deserialize_to_instance
class NotFound(KosiError):
    pass


@deserialize_to_instance
class Conflict(KosiError):
    """State conflict, e.g. a stale version (optimistic concurrency)."""


@deserialize_to_instance
class Moved(KosiError):
    """Asked for by a name it had before (an entry's old slug): ``fields["slug"]`` is the
    current one. The gateway answers 301 to it."""

    @property
    def slug(self) -> str:
        return self.fields["slug"]


@deserialize_to_instance
class Forbidden(KosiError):
    pass


@deserialize_to_instance
class InvalidTransition(KosiError):
    """A workflow action that the current state does not allow."""


@deserialize_to_instance
class DependencyUnavailable(KosiError):
    """Another service this one needs to answer did not (down or too slow)."""


class AlreadyApplied(KosiError):
    """A redelivered RPC request whose write was committed before: ``result`` is the first
    run's answer (None when it was not recorded). Never crosses the wire (``kernel.rpc``)."""

    def __init__(self, detail: str = "", fields: dict | None = None, result=None):
        super().__init__(detail, fields)
        self.result = result
