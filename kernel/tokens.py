"""Signed, expiring tokens that the public carries (participation in a survey, and later the
links in mails): HS256 JWTs bound to a purpose (``aud``) and a subject, with a random id.

Only the service that issues a token holds its secret (``min_secret_bytes`` at least); a
token that is forged, expired, or meant for another purpose or subject is refused with the
same ``ValidationFailed`` on the field that carried it.
"""
import hashlib
import secrets
import time

import jwt

from kernel.errors import ValidationFailed

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32


def check_secret(secret, name: str) -> str:
    """``secret`` as text; refuses (at start-up) one that is missing or shorter than 32 bytes."""
    if not isinstance(secret, str) or len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"{name} must be a secret of at least {MIN_SECRET_BYTES} bytes")
    return secret


def issue(secret: str, purpose: str, subject: str, ttl_seconds: float, now: float | None = None,
          extra: dict | None = None) -> tuple[str, int]:
    """A token for ``subject`` and ``purpose`` (with ``extra`` claims); returns it and its
    expiry (Unix seconds)."""
    issued = int(time.time() if now is None else now)
    expires = issued + max(1, int(ttl_seconds))
    claims = {**(extra or {}), "aud": purpose, "sub": subject, "iat": issued, "exp": expires,
              "jti": secrets.token_urlsafe(12)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def read(secret: str, purpose: str, token, field: str, subject: str | None = None) -> dict:
    """The claims of a valid token; ``ValidationFailed`` naming ``field`` otherwise."""
    if not isinstance(token, str) or not token or len(token) > 2000:
        raise ValidationFailed(f"the {field} is missing or malformed", {field: ["Not a valid token."]})
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=purpose,
                            options={"require": ["exp", "sub", "jti"]})
    except jwt.ExpiredSignatureError:
        raise ValidationFailed(f"the {field} has expired", {field: ["The token has expired; ask for a new one."]}) \
            from None
    except jwt.InvalidTokenError:
        raise ValidationFailed(f"the {field} is not valid", {field: ["Not a valid token."]}) from None
    if subject is not None and claims.get("sub") != subject:
        raise ValidationFailed(f"the {field} is for something else", {field: ["The token is not for this."]})
    return claims


def digest(claims: dict) -> str:
    """What is stored of a used token: a SHA-256 of what it says (purpose, subject, id), never the
    token itself, nor a hash of its text (the same token can be written in several ways: PyJWT
    also accepts a signature with added base64 padding)."""
    return hashlib.sha256(f"{claims['aud']}|{claims['sub']}|{claims['jti']}".encode()).hexdigest()
