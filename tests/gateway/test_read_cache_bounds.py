"""The read cache's bounds and rules on their own (no broker): entries and bytes are bounded
whatever is asked, the least recently read goes first, nothing is kept while not listening
or when a change came during the read."""
from werkzeug.wrappers import Response

from gateway.read_cache import ReadCache


def answer(size: int) -> Response:
    return Response(b"x" * size, content_type="application/json")


def listening(**bounds) -> ReadCache:
    cache = ReadCache(**bounds)
    cache.listening(True)
    return cache


def test_entries_and_bytes_are_bounded_and_the_least_recently_read_goes_first():
    cache = listening(max_entries=3, max_bytes=1000)
    for key in "abc":
        cache.keep((key,), answer(300), '"t"', cache.generation)
    assert cache.get(("a",)) is not None  # read: now the most recent
    cache.keep(("d",), answer(300), '"t"', cache.generation)  # 1,200 bytes: the oldest (b) goes
    assert cache.get(("b",)) is None and len(cache) == 3 and cache.bytes == 900
    cache.keep(("e",), answer(2000), '"t"', cache.generation)  # larger than the whole budget: not kept
    assert cache.get(("e",)) is None and cache.bytes == 900
    cache.keep(("a",), answer(100), '"t"', cache.generation)  # replaced, counted once
    assert cache.bytes == 700


def test_nothing_is_kept_while_not_listening_or_when_a_change_came_during_the_read():
    cache = ReadCache()
    cache.keep(("a",), answer(10), '"t"', cache.generation)
    assert len(cache) == 0  # not listening: it cannot know what changes
    cache.listening(True)
    started = cache.generation
    cache.changed()  # a notice came while the read was under way
    cache.keep(("a",), answer(10), '"t"', started)
    assert len(cache) == 0
    cache.keep(("a",), answer(10), '"t"', cache.generation)
    assert cache.get(("a",)).body == b"x" * 10
    cache.listening(False)  # the broker went away: every copy goes, none is answered
    assert cache.get(("a",)) is None and len(cache) == 0 and cache.bytes == 0
