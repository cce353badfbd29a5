"""Baselines for the gateway benchmarks: the cheapest nameko ``@http`` endpoints there are.

``bench_bare`` answers ``GET /bare`` with a constant (the cost of nameko's web server
and a worker) and ``GET /bare-rpc`` after one RPC round trip over RabbitMQ to
``bench_bare_rpc.ping`` (the cost of one hop, which every gateway route pays).
``GET /bare-payload/<n>`` makes the same hop but returns the n-th of the documents in the
JSON list named by the config key ``BENCH_PAYLOADS`` (the search benchmark stores the
gateway's real answers there): the floor of a route that answers with that many bytes.
Run with ``nameko run --config <yaml with AMQP_URI, WEB_SERVER_ADDRESS> bench.bare``.
They use the platform's AMQP codec (importing ``kernel`` installs it).
"""
from functools import lru_cache

import nameko
import orjson
from nameko.rpc import ServiceRpc, rpc
from nameko.web.handlers import http
from werkzeug.wrappers import Response

import kernel  # noqa: F401  (the services' JSON codec)

_BODY = orjson.dumps({"status": "ok"})


@lru_cache(maxsize=1)
def _payloads() -> list:
    with open(nameko.config["BENCH_PAYLOADS"], "rb") as handle:
        return orjson.loads(handle.read())


def _json(body: bytes) -> Response:
    """As the gateway answers (``gateway/responses.py``)."""
    return Response(body, content_type="application/json")


class BareHttp:
    name = "bench_bare"

    rpc_target = ServiceRpc("bench_bare_rpc")

    @http("GET", "/bare")
    def bare(self, request):
        return _json(_BODY)

    @http("GET", "/bare-rpc")
    def bare_rpc(self, request):
        return _json(orjson.dumps(self.rpc_target.ping()))

    @http("GET", "/bare-payload/<int:number>")
    def bare_payload(self, request, number):
        return _json(orjson.dumps(self.rpc_target.payload(number)))


class BareRpc:
    name = "bench_bare_rpc"

    @rpc
    def ping(self):
        return {"status": "ok"}

    @rpc
    def payload(self, number):
        documents = _payloads()
        return documents[number % len(documents)]
