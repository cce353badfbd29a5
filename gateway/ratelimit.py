"""Abuse limits for the public: a sliding window per client, shared by every gateway process.

The counts live in Redis (config ``REDIS_URL``, env ``GATEWAY_REDIS_URL``), so that N gateway
replicas allow a limit once, not N times: one Lua script per request removes what left the
window, counts, and adds the request (atomic; Redis's clock, so the replicas' clocks do not
matter; each key expires with its window). Without a Redis URL (``make run``) each process
counts on its own. A configured Redis that does not answer is logged and the request is
counted in this process: the limits hold per process rather than not at all, and nobody is
refused because the counter is away.

The client is the address ``TRUSTED_PROXY_HOPS`` from the right of ``X-Forwarded-For`` plus
the socket's peer: with one proxy in front, the address that proxy saw; entries further left
are the client's own writing and never count. IPv6 clients are counted per /64, which one
subscriber usually holds whole.
"""
import ipaddress
import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from contextlib import contextmanager

from nameko import config as nameko_config
from nameko.extensions import DependencyProvider

from gateway.errors import TooManyRequests

log = logging.getLogger(__name__)

MAX_CLIENT_CHARS = 64
KEY_PREFIX = "kosi:limit:"
REDIS_TIMEOUT_SECONDS = 0.5

# KEYS[1] the client's window; ARGV: window (ms), limit, a unique member.
# Answers {1, 0} when counted, {0, ms until the oldest request leaves the window} when over.
_SLIDING_WINDOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now_ms}
end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
"""


class SlidingWindowLimiter:
    """One limit in this process: at most ``limit`` hits of a key per ``window_seconds``."""

    def __init__(self, limit: int, window_seconds: float, clock=time.monotonic, what: str = "submissions"):
        self.limit = limit
        self.what = what
        self.window = window_seconds
        self._clock = clock
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self._next_prune = clock() + window_seconds

    def hit(self, key: str) -> None:
        """Count one request of ``key``; raise ``TooManyRequests`` past the limit."""
        now = self._clock()
        with self._lock:
            if now >= self._next_prune:     # forget idle clients once per window, not per request
                for idle in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[idle]
                self._next_prune = now + self.window
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                raise too_many(self, hits[0] + self.window - now)
            hits.append(now)


class SharedLimiter:
    """The same limit, counted in Redis for every gateway process (see the module docstring)."""

    def __init__(self, client, name: str, limit: int, window_seconds: float, what: str):
        self.name, self.limit, self.window, self.what = name, limit, window_seconds, what
        self._script = client.register_script(_SLIDING_WINDOW)
        self._fallback = SlidingWindowLimiter(limit, window_seconds, what=what)

    def hit(self, key: str) -> None:
        try:
            counted, wait_ms = self._script(keys=[f"{KEY_PREFIX}{self.name}:{key}"],
                                            args=[int(self.window * 1000), self.limit, uuid.uuid4().hex])
        except Exception as error:       # redis.RedisError, a timeout: count here instead
            log.warning("abuse limit %s: Redis does not answer (%s); counting in this process",
                        self.name, type(error).__name__)
            self._fallback.hit(key)
            return
        if not counted:
            raise too_many(self, int(wait_ms) / 1000)


def too_many(limiter, seconds_left: float) -> TooManyRequests:
    retry_after = max(1, int(seconds_left + 0.999))
    return TooManyRequests(f"at most {limiter.limit} {limiter.what} per {int(limiter.window)} s; "
                           f"try again in {retry_after} s", retry_after=retry_after)


_redis_clients: dict[str, object] = {}


def _redis(url: str):
    """One client (and connection pool) per URL in this process."""
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = _redis_clients[url] = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    return client


def make_limiter(name: str, limit: int, window_seconds: float, what: str):
    url = nameko_config.get("REDIS_URL") or None
    if url is None:
        return SlidingWindowLimiter(limit, window_seconds, what=what)
    return SharedLimiter(_redis(url), name, limit, window_seconds, what)


def trusted_proxy_hops() -> int:
    return max(0, int(nameko_config.get("TRUSTED_PROXY_HOPS") or 0))


def client_address(request, hops: int) -> str:
    """The caller as counted: see the module docstring."""
    chain = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()] \
        if hops else []
    chain.append(request.remote_addr or "unknown")
    client = chain[-(hops + 1)] if len(chain) > hops else chain[0]
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:MAX_CLIENT_CHARS]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class ConcurrentRequests:
    """At most ``limit`` requests of one client in this process at a time, so that a few clients
    with slow or stalled requests cannot hold all of the process's workers (``max_workers``).
    Counted per process, as the workers are; a request over the limit is answered 429 at once."""

    def __init__(self, limit: int):
        self.limit = limit
        self._held: dict[str, int] = {}

    @contextmanager
    def held(self, client: str):
        count = self._held.get(client, 0)
        if count >= self.limit:
            raise TooManyRequests(f"at most {self.limit} requests of one client at a time", retry_after=1)
        self._held[client] = count + 1
        try:
            yield
        finally:
            left = self._held[client] - 1
            if left:
                self._held[client] = left
            else:
                del self._held[client]

    def __len__(self):
        return len(self._held)


class ClientLimit(DependencyProvider):
    """Injects ``check(request, scope="")``: counts a request of the caller (within ``scope``,
    e.g. one survey), at most config ``<limit_key>`` per ``<window_key>`` seconds."""

    def __init__(self, name: str, limit_key: str, window_key: str, default_limit: int,
                 default_window: float = 3600, what: str = "requests"):
        self.name, self.limit_key, self.window_key = name, limit_key, window_key
        self.default_limit, self.default_window, self.what = default_limit, default_window, what

    def setup(self):
        self.limiter = make_limiter(self.name, int(nameko_config.get(self.limit_key, self.default_limit)),
                                    float(nameko_config.get(self.window_key, self.default_window)), self.what)
        self.hops = trusted_proxy_hops()

    def get_dependency(self, worker_ctx):
        def check(request, scope: str = "") -> None:
            client = client_address(request, self.hops)
            self.limiter.hit(f"{client} {scope}" if scope else client)
        return check


class PublicWriteLimit(ClientLimit):
    """Anonymous writes (entry submissions by default; subscriptions with their own keys)."""

    def __init__(self, limit_key="PUBLIC_WRITES_PER_WINDOW", window_key="PUBLIC_WRITE_WINDOW_SECONDS",
                 default_limit=20, what="submissions"):
        super().__init__(limit_key.lower(), limit_key, window_key, default_limit, 3600, what)


class ParticipationLimit(DependencyProvider):
    """Injects ``check(request, survey_id)`` for survey participation (tokens and responses),
    counted apart from the entry submissions: per client across all surveys
    (``PARTICIPATION_PER_CLIENT``) and per client and survey (``PARTICIPATION_PER_SURVEY``),
    in a window of ``PARTICIPATION_WINDOW_SECONDS``. A flood from one client gets 429; other
    clients, and the same one on other surveys up to its overall limit, go on."""

    def setup(self):
        window = float(nameko_config.get("PARTICIPATION_WINDOW_SECONDS", 3600))
        self.per_client = make_limiter("participation", int(nameko_config.get("PARTICIPATION_PER_CLIENT", 300)),
                                       window, "participation requests")
        self.per_survey = make_limiter("participation-survey",
                                       int(nameko_config.get("PARTICIPATION_PER_SURVEY", 60)), window,
                                       "participation requests for one survey")
        self.hops = trusted_proxy_hops()

    def get_dependency(self, worker_ctx):
        def check(request, survey_id: str):
            client = client_address(request, self.hops)
            self.per_survey.hit(f"{client} {survey_id}")
            self.per_client.hit(client)
        return check
