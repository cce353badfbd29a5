"""Service configuration: one YAML file per service with ``${VAR:default}`` substitution.

Unlike nameko's own loader, substitution also works inside quoted strings, and a
substituted value is parsed as YAML (so ``${PORT:8000}`` becomes an int) unless the value
is tagged ``!text``: secrets and keys are written ``KEY: !text ${VAR:}`` so that whatever the
variable holds (digits, ``#``, ``: ``…) stays exactly that string.
Nothing here connects anywhere; it only reads.
"""
import os
import re
from pathlib import Path

import yaml

_ENV_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}")


def _substitute(text: str) -> str:
    def replace(match):
        value = os.environ.get(match.group("name"))
        if value is None:
            value = match.group("default")
        if value is None:
            raise KeyError(f"config needs environment variable {match.group('name')}")
        return value

    return _ENV_REF.sub(replace, text)


class _Text(str):
    """A value tagged ``!text``: substituted, never re-typed by YAML."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!text", lambda loader, node: _Text(loader.construct_scalar(node)))


def _resolve(node):
    if isinstance(node, dict):
        return {key: _resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value) for value in node]
    if isinstance(node, _Text):
        return _substitute(str(node))
    if isinstance(node, str) and _ENV_REF.search(node):
        substituted = _substitute(node)
        if _ENV_REF.fullmatch(node):  # a whole value: let YAML type it
            return yaml.safe_load(substituted) if substituted != "" else ""
        return substituted
    return node


def load_config(path) -> dict:
    """Read a service's YAML config and resolve environment references."""
    with open(path, encoding="utf-8") as handle:
        raw = yaml.load(handle, Loader=_Loader) or {}
    return _resolve(raw)


REPO_ROOT = Path(__file__).resolve().parent.parent


def service_config_path(service: str) -> Path:
    """The config file of a service (``catalog``, ``gateway``, …) or of the CLI (``cli``)."""
    if service in ("gateway", "cli"):
        return REPO_ROOT / service / "config.yaml"
    return REPO_ROOT / "services" / service / "config.yaml"
