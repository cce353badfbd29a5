"""A per-machine development secret, so the repository never carries one.

``kosi run`` uses it when ``KOSI_JWT_SECRET`` is not set; ``kosi token`` signs with it
then, so tokens minted on this machine work against the local platform.
"""
import secrets
from pathlib import Path

LOCAL_SECRET_FILE = Path("var/jwt-secret")


def local_jwt_secret(create: bool = True) -> str | None:
    if LOCAL_SECRET_FILE.exists():
        return LOCAL_SECRET_FILE.read_text().strip()
    if not create:
        return None
    LOCAL_SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
    LOCAL_SECRET_FILE.touch(mode=0o600)
    value = secrets.token_urlsafe(48)
    LOCAL_SECRET_FILE.write_text(value + "\n")
    return value
