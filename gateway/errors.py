"""Errors that only the HTTP edge raises (the services' own errors are in kernel/errors.py).

They carry the same ``detail`` and ``fields`` as ``KosiError`` so that
``gateway/problems.py`` can render every error the same way.
"""
from kernel.errors import KosiError


class GatewayError(KosiError):
    """Base of the errors raised by the gateway itself."""


class MalformedRequest(GatewayError):
    """The body is not JSON, or not a JSON object."""


class Unauthenticated(GatewayError):
    """No token, or a token that is expired, badly signed or malformed."""


class PayloadTooLarge(GatewayError):
    pass


class UnsupportedMediaType(GatewayError):
    pass


class TooManyRequests(GatewayError):
    """A public client went over its participation limit; ``retry_after`` in seconds."""

    def __init__(self, detail: str = "", retry_after: int = 60):
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(GatewayError):
    """A service behind the gateway did not answer in time or is not running."""


class MissingToken(Unauthenticated):
    """No ``Authorization: Bearer`` header at all (RFC 6750: answer without an error code)."""
