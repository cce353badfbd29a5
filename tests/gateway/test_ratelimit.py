import pytest

from gateway.errors import TooManyRequests
from gateway.ratelimit import SlidingWindowLimiter


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
