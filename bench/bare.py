"""Baselines for the gateway benchmarks: the cheapest nameko ``@http`` endpoints there are.

``bench_bare`` answers ``GET /bare`` with a constant (the cost of nameko's web server
and a worker) and ``GET /bare-rpc`` after one RPC round trip over RabbitMQ to
``bench_bare_rpc.ping`` (the cost of one hop, which every gateway route pays).
``GET /bare-payload/<n>`` makes the same hop but returns the n-th of the documents in the
JSON list named by the config key ``BENCH_PAYLOADS`` (the search benchmark stores the
gateway's real answers there): the floor of a route that answers with that many bytes.
``POST /bare-post/<id>`` reads a JSON body, carries it over the same hop to
``bench_bare_rpc.receipt`` and answers 201 with a small receipt (the survey benchmark's
floor: a response in, ``{response_id, survey_id, submitted_at}`` out).
Run with ``nameko run --config <yaml with AMQP_URI, WEB_SERVER_ADDRESS> bench.bare``.
They use the platform's AMQP codec (importing ``kernel`` installs it).
"""
import uuid
from datetime import datetime, timezone
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


def _json(body: bytes, status: int = 200) -> Response:
    """As the gateway answers (``gateway/responses.py``)."""
    return Response(body, status=status, content_type="application/json")


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

    @http("POST", "/bare-post/<survey_id>")
    def bare_post(self, request, survey_id):
        return _json(orjson.dumps(self.rpc_target.receipt(survey_id, orjson.loads(request.get_data()))), 201)


class BareRpc:
    name = "bench_bare_rpc"

    @rpc
    def ping(self):
        return {"status": "ok"}

    @rpc
    def payload(self, number):
        documents = _payloads()
        return documents[number % len(documents)]

    @rpc
    def receipt(self, survey_id, body):
        minute = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        return {"response_id": str(uuid.uuid4()), "survey_id": survey_id, "submitted_at": minute.isoformat()}
