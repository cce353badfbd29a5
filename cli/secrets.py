"""Per-machine development secrets, so the repository never carries one.

``kosi run`` uses them when the environment sets none: the gateway's JWT secret
(``var/jwt-secret``), the survey and notify services' token secrets
(``var/survey-token-secret``, ``var/notify-token-secret``) and the signing keys of the gateway,
of the CLI and of notify (``var/signing-keys.json``), whose public halves the services trust. ``kosi token`` and
the other commands use them then too, so they work against the local platform.
"""
import json
import os
import secrets
from pathlib import Path

from kernel.identity import generate_keypair

LOCAL_SECRET_FILE = Path("var/jwt-secret")
LOCAL_SURVEY_SECRET_FILE = Path("var/survey-token-secret")
LOCAL_NOTIFY_SECRET_FILE = Path("var/notify-token-secret")
LOCAL_KEYS_FILE = Path("var/signing-keys.json")
SIGNERS = ("gateway", "kosi-cli", "notify")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(text)


def local_secret(path: Path, create: bool = True) -> str | None:
    if path.exists():
        return path.read_text().strip()
    if not create:
        return None
    value = secrets.token_urlsafe(48)
    _write_private(path, value + "\n")
    return value


def local_jwt_secret(create: bool = True) -> str | None:
    return local_secret(LOCAL_SECRET_FILE, create)


def local_signing_keys(create: bool = True) -> dict | None:
    """``{"gateway": {"private", "public"}, "kosi-cli": {…}, …}`` of this machine; a signer
    added by a later release gets its key pair beside the existing ones."""
    keys = json.loads(LOCAL_KEYS_FILE.read_text()) if LOCAL_KEYS_FILE.exists() else None
    if keys is None and not create:
        return None
    keys = keys or {}
    missing = [signer for signer in SIGNERS if signer not in keys]
    if missing and create:
        for signer in missing:
            private, public = generate_keypair()
            keys[signer] = {"private": private, "public": public}
        _write_private(LOCAL_KEYS_FILE, json.dumps(keys, indent=2) + "\n")
    return keys


def local_environment(create: bool = True) -> dict:
    """Environment variables for the local platform, for those the environment does not set."""
    values = {}
    secret = local_jwt_secret(create)
    if secret:
        values["KOSI_JWT_SECRET"] = secret
    for name, path in (("KOSI_SURVEY_TOKEN_SECRET", LOCAL_SURVEY_SECRET_FILE),
                       ("KOSI_NOTIFY_TOKEN_SECRET", LOCAL_NOTIFY_SECRET_FILE)):
        token_secret = local_secret(path, create)
        if token_secret:
            values[name] = token_secret
    keys = local_signing_keys(create)
    if keys:
        for name, signer in (("KOSI_GATEWAY_SIGNING_KEY", "gateway"), ("KOSI_OPERATOR_SIGNING_KEY", "kosi-cli"),
                             ("KOSI_NOTIFY_SIGNING_KEY", "notify")):
            if signer in keys:
                values[name] = keys[signer]["private"]
        values["KOSI_TRUSTED_SIGNERS"] = ",".join(f"{signer}:{keys[signer]['public']}" for signer in SIGNERS
                                                  if signer in keys)
    return {name: value for name, value in values.items() if not os.environ.get(name)}
