"""RPC for the services and their tools.

``@rpc`` is nameko's, with two changes. The kernel's errors are declared as expected: an
expected error (bad input, not found, conflict) is the caller's business, so nameko logs it
as a warning instead of an "error handling worker" traceback. And a write is applied once per
call: a request the broker delivers again (its service died after the commit, before the
acknowledgement) is recognised by its correlation id, which the unit of work claims in the
write's own transaction (``kernel.db``); the duplicate then answers the first run's result
instead of writing twice.

Replies are sent leaner than nameko sends them (``send_reply``): the result is serialised
once (nameko serialises it a first time only to check that it can, then again to publish)
and published without a publisher confirm, as a transient message. A reply lost with a
broker that fails at that moment is a timeout for its caller, as when the service dies
before answering; a redelivered write still applies once. Measured on the search
benchmark: the reply was about a sixth of a search process's CPU.

``signed_rpc`` is a standalone client (CLI, tests, tools) whose every call carries a fresh
actor assertion (``kernel.identity``), so long runs never outlive an assertion.
"""
import logging
import sys
from contextlib import contextmanager
from functools import partial

import eventlet
import kombu.serialization
from nameko import config
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.exceptions import UnserializableValueError, serialize
from nameko.rpc import Client, Rpc, ServiceRpc, get_rpc_exchange
from nameko.standalone.rpc import ClusterRpcClient

from kernel.errors import AlreadyApplied, Conflict, DependencyUnavailable, KosiError, describe_error
from kernel.identity import ACTOR_CONTEXT_KEY, ActorSigner
from kernel.messaging import settle_quietly

log = logging.getLogger(__name__)

DEFAULT_SERVICE_RPC_TIMEOUT = 30.0  # seconds a service waits for another's answer (SERVICE_RPC_TIMEOUT)
CALL_KEY = "rpc_call"  # worker context data: the correlation id of the call being handled
REDELIVERED_KEY = "rpc_redelivered"  # …and whether the broker delivered it before (its handler died)


class OnceRpc(Rpc):
    def handle_message(self, body, message):
        # nameko builds the worker's context data from the headers; this one is ours, whatever
        # the caller sent under its name
        message.headers[CALL_KEY] = message.properties.get("correlation_id")
        message.headers[REDELIVERED_KEY] = bool(message.delivery_info.get("redelivered"))
        super().handle_message(body, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None and isinstance(exc_info[1], AlreadyApplied):
            applied = exc_info[1]
            if applied.result is not None:
                result, exc_info = applied.result, None
            else:
                exc_info = (Conflict, Conflict(applied.detail, applied.fields), None)
        try:
            result, exc_info = send_reply(self.rpc_consumer.amqp_uri, message, result, exc_info)
        except Exception as error:
            # the broker is away: the caller times out, as if the service had died; escaping here
            # would end the worker's thread and nameko would stop the whole service (found by the
            # fault suite: a RabbitMQ restart during a call took the catalog down for good)
            log.warning("%s: the reply to a call is lost, the broker is away: %s", worker_ctx.call_id,
                        describe_error(error))
        settle_quietly(self.rpc_consumer.consumer.ack_message, message, "rpc")
        return result, exc_info


def send_reply(amqp_uri: str, message, result, exc_info):
    """Publish the reply to an RPC request as nameko's ``Responder`` does, serialised once
    and without a publisher confirm (see the module docstring)."""
    error = serialize(exc_info[1]) if exc_info is not None else None
    serializer = kombu.serialization.registry.type_to_name[message.properties["content_type"]]
    try:
        content_type, encoding, body = kombu.serialization.dumps({"result": result, "error": error}, serializer)
    except Exception:  # as nameko: an unserialisable result becomes an error the caller can read
        exc_info = sys.exc_info()
        result, error = None, serialize(UnserializableValueError(result))
        content_type, encoding, body = kombu.serialization.dumps({"result": None, "error": error}, serializer)
    publisher = Publisher(amqp_uri, use_confirms=False, delivery_mode=1, ssl=config.get(AMQP_SSL_CONFIG_KEY),
                          login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
    publisher.publish(body, content_type=content_type, content_encoding=encoding, exchange=get_rpc_exchange(),
                      routing_key=message.properties["reply_to"],
                      correlation_id=message.properties.get("correlation_id"))
    return result, exc_info


rpc = partial(OnceRpc.decorator, expected_exceptions=(KosiError,))


def reply_within(call, timeout: float, pending: dict | None, what: str, unavailable=DependencyUnavailable):
    """The reply to ``call`` (a nameko ``call_async``), or ``unavailable`` after ``timeout``
    seconds. nameko waits for a reply forever: one lost with a broker restart held a worker for
    good, and with enough of them no worker was left (found by the fault suite). The call is
    forgotten in ``pending`` (the reply listener's), or a late reply would be kept forever."""
    deadline = eventlet.Timeout(timeout)
    try:
        return call.result()
    except eventlet.Timeout as fired:
        if fired is not deadline:  # someone else's timeout: not ours to handle
            raise
        if pending is not None:
            pending.pop(call.correlation_id, None)
        raise unavailable(f"{what} did not answer within {timeout:g}s") from None
    finally:
        deadline.cancel()


class RpcAsService(ServiceRpc):
    """An RPC client to ``target_service`` whose calls carry this service's own identity (an
    assertion signed with its key: config ``ACTOR_SIGNING_KEY``, issuer = the service's name),
    for the few calls a service makes on its own behalf, such as notify asking the catalog for a
    submitter's address. Each call gets a fresh assertion; the worker's context (and so what
    its own caller asserted) stays as it is."""

    def setup(self):
        super().setup()
        from nameko import config

        name = self.container.service_name
        if not config.get("ACTOR_SIGNING_KEY"):
            raise ValueError(f"{name} needs ACTOR_SIGNING_KEY to call {self.target_service} as itself")
        self.signer = ActorSigner(name, config["ACTOR_SIGNING_KEY"])
        self.identity = {"sub": name, "roles": []}
        self.timeout = float(config.get("SERVICE_RPC_TIMEOUT") or DEFAULT_SERVICE_RPC_TIMEOUT)

    def get_dependency(self, worker_ctx):
        return _AsService(self, worker_ctx)


class _AsService:
    def __init__(self, provider: RpcAsService, worker_ctx):
        self._provider, self._worker_ctx = provider, worker_ctx

    def __getattr__(self, method):
        provider = self._provider

        def call(*args, **kwargs):
            context = {**self._worker_ctx.context_data, ACTOR_CONTEXT_KEY: provider.signer.sign(provider.identity)}
            client = Client(provider.publisher.publish, provider.reply_listener.register_for_reply, context)
            pending = getattr(getattr(client, provider.target_service), method).call_async(*args, **kwargs)
            # Given up, the event handler fails and is retried.
            return reply_within(pending, provider.timeout, provider.reply_listener.pending,
                                f"{provider.target_service}.{method}")
        return call


class _SignedService:
    def __init__(self, client, service: str, signer: ActorSigner, actor: dict):
        self._client, self._service, self._signer, self._actor = client, service, signer, actor

    def __getattr__(self, method):
        def call(*args, **kwargs):
            self._client.context_data[ACTOR_CONTEXT_KEY] = self._signer.sign(self._actor)
            return getattr(getattr(self._client, self._service), method)(*args, **kwargs)
        return call


class _SignedCluster:
    def __init__(self, client, signer: ActorSigner, actor: dict):
        self._client, self._signer, self._actor = client, signer, actor

    def __getattr__(self, service):
        return _SignedService(self._client, service, self._signer, self._actor)


@contextmanager
def signed_rpc(amqp_uri: str, signer: ActorSigner, actor: dict, timeout: float = 30):
    """``with signed_rpc(uri, signer, actor) as rpc: rpc.catalog.create_entry(…)``."""
    with ClusterRpcClient(timeout=timeout, uri=amqp_uri) as client:
        yield _SignedCluster(client, signer, actor)
