"""Abuse limits for public participation: a sliding window per client address.

In-process: each gateway instance counts on its own, so N instances allow up to N times
the limit. Enough against a script hammering one endpoint; a shared store (Redis) is the
next step when the gateway is scaled out.
"""
import threading
import time
from collections import defaultdict, deque

from nameko import config as nameko_config
from nameko.extensions import DependencyProvider

from gateway.errors import TooManyRequests


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float, clock=time.monotonic, what: str = "submissions"):
        self.limit = limit
        self.what = what
        self.window = window_seconds
        self._clock = clock
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one request of ``key``; raise ``TooManyRequests`` past the limit."""
        now = self._clock()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                retry_after = max(1, int(hits[0] + self.window - now + 0.999))
                raise TooManyRequests(f"at most {self.limit} {self.what} per {int(self.window)} s; "
                                      f"try again in {retry_after} s", retry_after=retry_after)
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients rather than grow without bound
                for idle in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[idle]


def client_address(request, trust_forwarded_for: bool) -> str:
    """The caller's address. Behind one trusted reverse proxy (``trust_forwarded_for``), the
    last ``X-Forwarded-For`` entry: the address that proxy saw. Earlier entries are whatever
    the client chose to send, so they never count."""
    if trust_forwarded_for:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.remote_addr or "unknown"


class PublicWriteLimit(DependencyProvider):
    """Injects ``check(request)``: counts an anonymous write of the caller's address, at most
    config ``<limit_key>`` in ``<window_key>`` seconds (entry submissions by default)."""

    def __init__(self, limit_key="PUBLIC_WRITES_PER_WINDOW", window_key="PUBLIC_WRITE_WINDOW_SECONDS",
                 default_limit=20, what="submissions"):
        self.limit_key, self.window_key = limit_key, window_key
        self.default_limit, self.what = default_limit, what

    def setup(self):
        self.limiter = SlidingWindowLimiter(int(nameko_config.get(self.limit_key, self.default_limit)),
                                            float(nameko_config.get(self.window_key, 3600)), what=self.what)
        self.trust_forwarded_for = bool(nameko_config.get("TRUST_FORWARDED_FOR", False))

    def get_dependency(self, worker_ctx):
        return lambda request: self.limiter.hit(client_address(request, self.trust_forwarded_for))


class ParticipationLimit(DependencyProvider):
    """Injects ``check(request, survey_id)`` for survey participation (tokens and responses),
    counted apart from the entry submissions: per client address across all surveys
    (``PARTICIPATION_PER_CLIENT``) and per client and survey (``PARTICIPATION_PER_SURVEY``),
    in a window of ``PARTICIPATION_WINDOW_SECONDS``. A flood from one address gets 429; other
    addresses, and the same address on other surveys up to its overall limit, go on."""

    def setup(self):
        window = float(nameko_config.get("PARTICIPATION_WINDOW_SECONDS", 3600))
        self.per_client = SlidingWindowLimiter(int(nameko_config.get("PARTICIPATION_PER_CLIENT", 300)), window,
                                               what="participation requests")
        self.per_survey = SlidingWindowLimiter(int(nameko_config.get("PARTICIPATION_PER_SURVEY", 60)), window,
                                               what="participation requests for one survey")
        self.trust_forwarded_for = bool(nameko_config.get("TRUST_FORWARDED_FOR", False))

    def get_dependency(self, worker_ctx):
        def check(request, survey_id: str):
            client = client_address(request, self.trust_forwarded_for)
            self.per_survey.hit(f"{client} {survey_id}")
            self.per_client.hit(client)
        return check
