"""Waiting by condition, never by fixed sleeps.

``wait_for`` polls an observable state until it holds or a generous deadline passes (these
machines are 2 shared cores: a deadline is a hang detector, not a speed target).
``settled`` is the barrier of negative checks: a queue is settled when nothing in it waits
or is being handled, so "nothing else happened" can be asserted after it without sleeping.
"""
import subprocess
import time
from urllib.parse import unquote, urlparse

DEADLINE = 30.0


def wait_for(predicate, seconds: float = DEADLINE, interval: float = 0.05):
    """The first truthy value of ``predicate()``, or its last value when the deadline passed."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def queue_counts(amqp_uri: str) -> dict[str, tuple[int, int]]:
    """queue → (ready, unacknowledged), exact and current (``rabbitmqctl``; the management
    API's numbers lag by its statistics interval, and a passive declare counts only ready ones)."""
    parsed = urlparse(amqp_uri)
    vhost = unquote(parsed.path[1:]) if parsed.path not in ("", "/") else "/"
    output = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers",
                             "name", "messages_ready", "messages_unacknowledged"],
                            check=True, capture_output=True, text=True, timeout=60).stdout
    counts = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            counts[parts[0]] = (int(parts[1]), int(parts[2]))
    return counts


def settled(amqp_uri: str, *queues: str, seconds: float = DEADLINE) -> bool:
    """True once none of ``queues`` holds a message, ready or being handled."""
    def empty():
        counts = queue_counts(amqp_uri)
        return all(counts.get(queue, (0, 0)) == (0, 0) for queue in queues)

    return bool(wait_for(empty, seconds, interval=0.2))
