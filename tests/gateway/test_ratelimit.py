import pytest

from gateway.errors import TooManyRequests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.ratelimit import SlidingWindowLimiter, client_address


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_window_slides_and_clients_are_counted_apart():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 60, clock=clock)
    limiter.hit("a")
    clock.now += 10
    limiter.hit("a")
    limiter.hit("b")
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit("a")
    assert refused.value.retry_after == 50  # the first hit leaves the window in 50 s
    clock.now += 50
    limiter.hit("a")  # the first one has left the window
    with pytest.raises(TooManyRequests):
        limiter.hit("a")


def request_from(remote_addr: str, forwarded_for: str | None = None) -> Request:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return Request(EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": remote_addr}).get_environ())


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored():
    assert client_address(request_from("203.0.113.7", "198.51.100.1"), hops=0) == "203.0.113.7"


@pytest.mark.parametrize("forwarded_for, expected", [
    ("198.51.100.1", "198.51.100.1"),                    # what the proxy saw
    ("6.6.6.6, 198.51.100.1", "198.51.100.1"),           # a client's own value in front: ignored
    ("1.1.1.1,2.2.2.2,  198.51.100.1 ", "198.51.100.1"),
    ("", "10.0.0.2"),                                    # no header content: the proxy's address
    (None, "10.0.0.2"),
])
def test_behind_a_trusted_proxy_the_last_forwarded_address_counts(forwarded_for, expected):
    assert client_address(request_from("10.0.0.2", forwarded_for), hops=1) == expected


@pytest.mark.parametrize("forwarded_for, expected", [
    ("6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),   # CDN → load balancer → us: two hops
    ("198.51.100.1, 10.0.0.9", "198.51.100.1"),
    ("10.0.0.9", "10.0.0.9"),                               # fewer entries than hops: the leftmost
])
def test_two_trusted_hops_count_the_address_the_outer_proxy_saw(forwarded_for, expected):
    assert client_address(request_from("10.0.0.2", forwarded_for), hops=2) == expected


def test_ipv6_clients_are_counted_per_64_and_odd_values_are_bounded():
    assert client_address(request_from("2001:db8:1:2:aaaa::1"), hops=0) == "2001:db8:1:2::/64"
    assert client_address(request_from("2001:db8:1:2:bbbb::7"), hops=0) == "2001:db8:1:2::/64"
    assert client_address(request_from("10.0.0.2", "x" * 500), hops=1) == "x" * 64


def test_a_window_forgets_idle_clients_once_per_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 60, clock=clock)
    for number in range(1000):
        limiter.hit(f"client-{number}")
    clock.now += 61
    limiter.hit("late")
    assert list(limiter._hits) == ["late"]
