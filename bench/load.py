"""A closed-loop HTTP load generator: N client threads, each sends its next request as
soon as the previous one is answered, for a fixed time.

What is sent: URLs (``GET``) or ``Request`` objects (any method, a body, headers). A list
is cycled, each client starting at another place; an iterator is shared by the clients and
each of its requests is sent once (requests that must not repeat, such as single-use
tokens), and a client stops when it is exhausted (``LoadResult.ran_out``).

Each client has its own keep-alive connection (``http.client``). Latency is
measured per request with ``time.perf_counter``; only 2xx answers count as done and
go into the latency figures, everything else (other statuses, connection errors,
timeouts) is counted as an error by kind. Plain threads, no eventlet: the driver must
not share the servers' green world.

Standalone: ``python -m bench.load http://127.0.0.1:8110/api/v1/entries --seconds 3``.
"""
import argparse
import http.client
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Iterable
from urllib.parse import urlsplit


DEFAULT_CLIENTS = 8
DEFAULT_SECONDS = 5.0
REQUEST_TIMEOUT = 10.0  # seconds; a request slower than this counts as an error


@dataclass
class Request:
    """One request of the load; a bare URL string stands for ``Request(url)``."""
    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class LoadResult:
    name: str
    clients: int
    elapsed: float  # seconds from the common start until the last client stopped
    latencies_ms: list[float] = field(default_factory=list)  # of 2xx answers, sorted
    errors: Counter = field(default_factory=Counter)  # "HTTP 503" / "ConnectionError" -> count
    driver_cpu: float = 0.0  # CPU seconds this (driver) process used during the run
    statuses: Counter = field(default_factory=Counter)  # HTTP status -> answers (2xx and others)
    ran_out: bool = False  # an iterator of requests was exhausted before the time was up

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies in ms (NaN without data)."""
        if not self.latencies_ms:
            return math.nan
        rank = max(1, math.ceil(p / 100 * len(self.latencies_ms)))
        return self.latencies_ms[rank - 1]

    def summary(self) -> dict:
        return {
            "requests": self.ok, "errors": self.error_count, "error_kinds": dict(self.errors),
            "seconds": round(self.elapsed, 3), "clients": self.clients,
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50), 3), "p95_ms": round(self.percentile(95), 3),
            "p99_ms": round(self.percentile(99), 3),
            "mean_ms": round(sum(self.latencies_ms) / self.ok, 3) if self.ok else math.nan,
            "max_ms": round(self.latencies_ms[-1], 3) if self.ok else math.nan,
            "driver_cpu_s": round(self.driver_cpu, 3),
            "statuses": {str(status): number for status, number in sorted(self.statuses.items())},
            "ran_out": self.ran_out,
        }


class _Connection:
    """A client's keep-alive HTTP/1.1 connection per host (``http.client``: a fraction of the
    CPU that ``requests`` spends per request, which matters when the driver shares 2 cores
    with the servers it measures). Reconnects after an error."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.connections: dict[tuple[str, int], http.client.HTTPConnection] = {}

    def send(self, request: Request | str) -> int:
        if isinstance(request, str):
            request = Request(request)
        parts = urlsplit(request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        address = (parts.hostname, parts.port or 80)
        connection = self.connections.get(address)
        if connection is None:
            connection = self.connections[address] = http.client.HTTPConnection(*address, timeout=self.timeout)
        try:
            connection.request(request.method, target, body=request.body, headers=request.headers)
            response = connection.getresponse()
            response.read()  # the whole body: it is part of the answer
            return response.status
        except BaseException:
            self.connections.pop(address, None)
            connection.close()
            raise

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


def _taker(requests: list | Iterator, offset: int, lock: threading.Lock):
    """``take()`` → a client's next request; None when a shared iterator is exhausted."""
    if isinstance(requests, Iterator):
        def take_once():
            with lock:
                return next(requests, None)
        return take_once
    positions = count(offset)
    return lambda: requests[next(positions) % len(requests)]


def _client(take, start: threading.Barrier, deadline_box: list, latencies: list, errors: Counter,
            statuses: Counter, lock: threading.Lock, timeout: float) -> None:
    connection = _Connection(timeout)
    mine, failed, answered = [], Counter(), Counter()
    try:
        start.wait()
        deadline = deadline_box[0]
        while True:
            began = time.perf_counter()
            if began >= deadline:
                break
            request = take()
            if request is None:
                deadline_box[1] = True
                break
            try:
                status = connection.send(request)
                took = time.perf_counter() - began
                answered[status] += 1
                if 200 <= status < 300:
                    mine.append(took * 1000.0)
                else:
                    failed[f"HTTP {status}"] += 1
            except (OSError, http.client.HTTPException) as error:
                failed[type(error).__name__] += 1
    finally:
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.update(failed)
            statuses.update(answered)


def run_load(name: str, urls: Iterable[Request | str] | str, clients: int = DEFAULT_CLIENTS,
             seconds: float = DEFAULT_SECONDS, timeout: float = REQUEST_TIMEOUT) -> LoadResult:
    """Drive ``urls`` for ``seconds``: a list cycled (each client starts at another place), an
    iterator shared (each request sent once; clients stop when it is exhausted)."""
    if not isinstance(urls, Iterator):
        urls = [urls] if isinstance(urls, str) else list(urls)
        if not urls:
            raise ValueError("no URL to load")
    latencies: list[float] = []
    errors: Counter = Counter()
    statuses: Counter = Counter()
    lock = threading.Lock()
    deadline_box = [0.0, False]  # the common deadline; whether an iterator ran out

    def set_deadline():  # runs once, when every client is ready: they start together
        deadline_box[0] = time.perf_counter() + seconds

    start = threading.Barrier(clients + 1, action=set_deadline)
    take_lock = threading.Lock()
    threads = [threading.Thread(target=_client, daemon=True, name=f"load-{name}-{n}",
                                args=(_taker(urls, 0 if isinstance(urls, Iterator) else n * len(urls) // clients,
                                             take_lock),
                                      start, deadline_box, latencies, errors, statuses, lock, timeout))
               for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = time.process_time()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return LoadResult(name, clients, elapsed, latencies, errors, time.process_time() - cpu_before, statuses,
                      deadline_box[1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="+", help="only 127.0.0.1/localhost URLs make sense here")
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    args = parser.parse_args(argv)
    for url in args.url:
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"{url}: this load generator only talks to this machine")
    print(json.dumps(run_load("load", args.url, args.clients, args.seconds).summary()))


if __name__ == "__main__":
    main()
