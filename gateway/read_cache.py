"""The gateway's cache of public reads, kept fresh by the catalog's change notices.

Each gateway process keeps the anonymous answers of the routes documented ``cached_by`` a
producer (the catalog's public reads), keyed by path and query. Its own exclusive queue on the
producer's change exchange (``kernel.topology.changes_name``) tells it when something was
published: it then drops every copy, so the next read asks the catalog again; a read that was
under way when the notice came is not kept (its answer may predate the change). Nothing is
shared between processes, so replicas need no coordination to stay correct.

While its broker connection is down the cache answers nothing and keeps nothing: it cannot
know what changed meanwhile (reconnected, it starts empty). A copy older than ``ttl`` is asked
for again (a lost notice cannot keep it forever); when the catalog does not answer, that
copy is still served, with its ``Age``, instead of an error.
"""
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from kombu import Connection, Exchange, Queue
from kombu.mixins import ConsumerMixin
from nameko import config as nameko_config
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from kernel import topology

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Copy:
    body: bytes
    content_type: str
    tag: str
    stored_at: float  # time.monotonic()

    def age(self) -> int:
        return int(time.monotonic() - self.stored_at)

    def response(self) -> Response:
        response = Response(self.body, content_type=self.content_type, headers={"Age": str(self.age())})
        response.body_tag = self.tag
        return response


class ReadCache:
    """Copies by key, the least recently read dropped first beyond ``max_entries`` or
    ``max_bytes`` of bodies (any query string makes a key: the bound holds whatever is asked)."""

    def __init__(self, max_entries: int = 5000, ttl: float = 60.0, max_bytes: int = 64 * 1024 * 1024):
        self.max_entries, self.ttl, self.max_bytes = max_entries, ttl, max_bytes
        self._copies: OrderedDict[tuple, Copy] = OrderedDict()
        self.bytes = 0
        self.generation = 0  # bumped by every change notice and every loss of the broker
        self.live = False  # listening to change notices right now

    def get(self, key: tuple) -> Copy | None:
        copy = self._copies.get(key) if self.live else None
        if copy is not None:
            self._copies.move_to_end(key)
        return copy

    @staticmethod
    def fresh(copy: Copy, ttl: float) -> bool:
        return time.monotonic() - copy.stored_at < ttl

    def keep(self, key: tuple, response: Response, tag: str, generation: int) -> None:
        """Keep an answer read at ``generation``, unless something changed since."""
        if not self.live or generation != self.generation:
            return
        body = response.get_data()
        if len(body) > self.max_bytes:
            return
        replaced = self._copies.pop(key, None)
        if replaced is not None:
            self.bytes -= len(replaced.body)
        self._copies[key] = Copy(body, response.content_type, tag, time.monotonic())
        self.bytes += len(body)
        while len(self._copies) > self.max_entries or self.bytes > self.max_bytes:
            _, dropped = self._copies.popitem(last=False)
            self.bytes -= len(dropped.body)

    def changed(self) -> None:
        self.generation += 1
        self._copies.clear()
        self.bytes = 0

    def listening(self, live: bool) -> None:
        self.changed()
        self.live = live

    def __len__(self) -> int:
        return len(self._copies)


class ChangeListener(ConsumerMixin):
    """Consumes one producer's change notices on a queue of this process alone."""

    def __init__(self, amqp_uri: str, producer: str, service: str, cache: ReadCache):
        self.connection = Connection(amqp_uri)
        self.cache = cache
        self.queue = Queue(f"{service}.changes-{uuid.uuid4().hex[:12]}",
                           exchange=Exchange(topology.changes_name(producer), type="fanout", durable=True,
                                             auto_delete=False, no_declare=True),
                           exclusive=True, auto_delete=True, durable=False)

    def get_consumers(self, consumer_class, channel):
        return [consumer_class(queues=[self.queue], callbacks=[self.on_notice], accept=["json"], no_ack=True)]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.cache.listening(True)

    def on_connection_error(self, exc, interval):
        self.cache.listening(False)
        log.warning("read cache: change notices lost (%s); reads go to the services until they are back", exc)

    def on_connection_revived(self):
        self.cache.listening(False)  # live again once consuming (on_consume_ready)

    def on_notice(self, body, message):
        self.cache.changed()

    def listen(self, retry_seconds: float = 2.0) -> None:
        """Run until stopped; a channel error (the exchange not declared yet: `kosi broker
        setup`, or the producer's first publication, declares it) is waited out, not fatal."""
        while not self.should_stop:
            try:
                self.run()
            except Exception as exc:  # noqa: BLE001 (logged; the cache stays off meanwhile)
                self.cache.listening(False)
                log.warning("read cache: cannot listen to change notices (%s); trying again in %.0f s",
                            exc, retry_seconds)
                self.connection.release()
                self.connection = self.connection.clone()
                time.sleep(retry_seconds)


class PublicReadCache(DependencyProvider):
    """The process's ``ReadCache`` and its listener; the gateway's WSGI app consults it before
    a route runs (``gateway.web``)."""

    producer = "catalog"

    def setup(self):
        self.cache = ReadCache(int(nameko_config.get("READ_CACHE_ENTRIES", 5000)),
                               float(nameko_config.get("READ_CACHE_TTL_SECONDS", 60)),
                               int(nameko_config.get("READ_CACHE_MEGABYTES", 64)) * 1024 * 1024)
        self.enabled = bool(nameko_config.get("READ_CACHE", True))
        self.listener = ChangeListener(nameko_config["AMQP_URI"], self.producer, self.container.service_name,
                                       self.cache)
        for extension in self.container.extensions:
            server = getattr(extension, "server", None)
            if server is not None and hasattr(server, "read_caches"):
                server.read_caches[self.producer] = self

    def start(self):
        if self.enabled:
            self.container.spawn_managed_thread(self.listener.listen, identifier="read-cache-listener")

    def stop(self):
        self.listener.should_stop = True
        self.cache.listening(False)

    def kill(self):
        self.stop()
