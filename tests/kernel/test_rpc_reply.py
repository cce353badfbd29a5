"""A reply that cannot be sent (the broker went away after the work was done) is a timeout
for its caller and nothing more: the service goes on answering (found by the fault suite: a
RabbitMQ restart during a call stopped the catalog for good)."""
import kombu.exceptions
import pytest
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcClient

from kernel import rpc as kernel_rpc
from kernel.rpc import rpc


class Echo:
    name = "echo"

    @rpc
    def echo(self, value):
        return value


def test_a_lost_reply_leaves_the_service_running(container_factory, rabbit_config, monkeypatch):
    container = container_factory(Echo)
    container.start()
    real_send_reply = kernel_rpc.send_reply
    broken = [True]

    def send_reply(*args):
        if broken:
            broken.pop()
            raise kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")
        return real_send_reply(*args)

    monkeypatch.setattr(kernel_rpc, "send_reply", send_reply)
    with ClusterRpcClient(timeout=2) as client:
        with pytest.raises(RpcTimeout):
            client.echo.echo("lost")
        assert client.echo.echo("answered") == "answered"
    assert container.started and not container._died.ready()
