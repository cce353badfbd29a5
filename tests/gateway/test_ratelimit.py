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
    assert client_address(request_from("203.0.113.7", "198.51.100.1"), trust_forwarded_for=False) == "203.0.113.7"


@pytest.mark.parametrize("forwarded_for, expected", [
    ("198.51.100.1", "198.51.100.1"),                    # what the proxy saw
    ("6.6.6.6, 198.51.100.1", "198.51.100.1"),           # a client's own value in front: ignored
    ("1.1.1.1,2.2.2.2,  198.51.100.1 ", "198.51.100.1"),
    ("", "10.0.0.2"),                                    # no header content: the proxy's address
    (None, "10.0.0.2"),
])
def test_behind_a_trusted_proxy_the_last_forwarded_address_counts(forwarded_for, expected):
    assert client_address(request_from("10.0.0.2", forwarded_for), trust_forwarded_for=True) == expected
