"""A request served while the gateway is still starting must not kill it: the reply queue
of its RPC clients exists before any entrypoint starts (nameko's reply listener treats
replies pending for a queue that does not exist as lost, and its container dies)."""
from nameko.containers import ServiceContainer
from nameko.web.handlers import http

from gateway.rpc import TimedRpc
from kernel.management import Management


class Gateway:
    name = "startup_probe"

    catalog = TimedRpc("catalog")

    @http("GET", "/probe")
    def probe(self, request):
        return "ok"


def test_the_reply_queue_exists_before_the_entrypoints_start(rabbit_config, rabbit_uri):
    container = ServiceContainer(Gateway)
    container.extensions.all.setup()     # what start() does first, before anything listens
    try:
        reply_queue = next(extension.reply_listener.queue.name for extension in container.dependencies
                           if isinstance(extension, TimedRpc))
        names = {queue["name"] for queue in Management.from_amqp_uri(rabbit_uri).queues()}
        assert reply_queue in names
    finally:
        container.kill()
