"""``kosi health``: a service's liveness or readiness, for probes and operators.

By default it asks the service's ops port (``<SERVICE>_METRICS_ADDRESS``, ``kernel.ops``) over
HTTP: the exec probe of a container, which has ``kosi`` but no curl. ``--rpc`` asks the
service's ``health`` RPC over the broker instead, as the operator, with a deadline: from an
operator's machine, where the ops ports are not reachable.
"""
import json

import requests

from cli import registry

# Docker's HEALTHCHECK reserves 2: a service without an ops port is unhealthy too (the output says why)
OK, UNHEALTHY, NOT_CONFIGURED = 0, 1, 1


def ops_url(service: str, probe: str) -> str | None:
    """``http://host:port/health/<probe>`` of the service's config, or None without an ops port;
    a wildcard bind address is asked on loopback."""
    address = str(registry.config_of(service).get("METRICS_ADDRESS") or "")
    if not address:
        return None
    host, _, port = address.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}/health/{probe}"


def over_http(service: str, ready: bool, timeout: float) -> tuple[int, dict]:
    url = ops_url(service, "ready" if ready else "live")
    if url is None:
        return NOT_CONFIGURED, {"status": "unknown", "detail": f"{service.upper()}_METRICS_ADDRESS is not set: "
                                                               "the service serves no health port"}
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException as error:
        return UNHEALTHY, {"status": "down", "detail": f"{url}: {type(error).__name__}"}
    try:
        body = response.json()
    except ValueError:
        body = {"status": "down", "detail": f"{url}: HTTP {response.status_code}"}
    return (OK if response.status_code == 200 else UNHEALTHY), body


def over_rpc(service: str, timeout: float) -> tuple[int, dict]:
    from cli.operator import anonymous_rpc

    if service == "gateway":
        return NOT_CONFIGURED, {"status": "unknown", "detail": "the gateway answers no RPC: ask its HTTP "
                                                               "/api/v1/health, or its ops port without --rpc"}
    try:
        with anonymous_rpc(timeout=timeout) as rpc:
            return OK, getattr(rpc, service).health()
    except Exception as error:  # unreachable broker, no service consuming, a deadline passed
        return UNHEALTHY, {"status": "down", "detail": f"{type(error).__name__}: {error}"[:300]}


def report(service: str, ready: bool, rpc: bool, timeout: float) -> int:
    code, body = over_rpc(service, timeout) if rpc else over_http(service, ready, timeout)
    print(json.dumps(body, ensure_ascii=False))
    return code
