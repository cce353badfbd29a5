"""Baselines for the gateway benchmark: the cheapest nameko ``@http`` endpoints there are.

``bench_bare`` answers ``GET /bare`` with a constant (the cost of nameko's web server
and a worker) and ``GET /bare-rpc`` after one RPC round trip over RabbitMQ to
``bench_bare_rpc.ping`` (the cost of one hop, which every gateway route pays).
Run with ``nameko run --config <yaml with AMQP_URI, WEB_SERVER_ADDRESS> bench.bare``.
"""
import json

from nameko.rpc import ServiceRpc, rpc
from nameko.web.handlers import http

_HEADERS = {"Content-Type": "application/json"}
_BODY = json.dumps({"status": "ok"})


class BareHttp:
    name = "bench_bare"

    rpc_target = ServiceRpc("bench_bare_rpc")

    @http("GET", "/bare")
    def bare(self, request):
        return 200, _HEADERS, _BODY

    @http("GET", "/bare-rpc")
    def bare_rpc(self, request):
        return 200, _HEADERS, json.dumps(self.rpc_target.ping())


class BareRpc:
    name = "bench_bare_rpc"

    @rpc
    def ping(self):
        return {"status": "ok"}
