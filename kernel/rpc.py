"""RPC for the services and their tools.

``@rpc`` is nameko's, with the kernel's errors declared as expected: an expected error
(bad input, not found, conflict) is the caller's business, so nameko logs it as a warning
instead of an "error handling worker" traceback.

``signed_rpc`` is a standalone client (CLI, tests, tools) whose every call carries a fresh
actor assertion (``kernel.identity``), so long runs never outlive an assertion.
"""
from contextlib import contextmanager
from functools import partial

from nameko.rpc import rpc as nameko_rpc
from nameko.standalone.rpc import ClusterRpcClient

from kernel.errors import KosiError
from kernel.identity import ACTOR_CONTEXT_KEY, ActorSigner

rpc = partial(nameko_rpc, expected_exceptions=(KosiError,))


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
