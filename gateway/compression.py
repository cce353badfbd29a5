"""gzip for the API's answers to clients that accept it (RFC 9110 8.4): JSON, GeoJSON, CSV,
feeds and other text larger than ``MIN_BYTES``, which is most of a first page load.

It runs before ``http_caching.finish``, so the ``ETag`` is the hash of the bytes sent and
differs by coding (RFC 9110 8.8.3), and ``If-None-Match`` of a gzip client matches its own
copy. Compression is deterministic (no timestamp in the header): the same answer has the
same tag every time. Answers for a token holder keep their version ``ETag`` (``If-Match``
needs it), so they are left as they are.
"""
import gzip

from werkzeug.wrappers import Response

MIN_BYTES = 1024
LEVEL = 6  # zlib's default: ~5x on the API's JSON, well under a millisecond for a page of results
COMPRESSIBLE = ("application/json", "application/geo+json", "application/ld+json", "application/atom+xml",
                "application/rss+xml", "application/xml", "text/")


def compress(request, response: Response) -> Response:
    if not _eligible(request, response):
        return response
    response.vary.add("Accept-Encoding")
    if request.accept_encodings["gzip"] <= 0:   # not asked for, or refused (gzip;q=0, *;q=0)
        return response
    response.set_data(gzip.compress(response.get_data(), compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.body_tag = None  # a tag made of the uncompressed body (the read cache's) is not this one's
    return response


def _eligible(request, response: Response) -> bool:
    return (request.method in ("GET", "HEAD") and response.status_code == 200 and not response.is_streamed
            and "Content-Encoding" not in response.headers
            and "Authorization" not in request.headers and "token" not in request.args
            and (response.mimetype or "").startswith(COMPRESSIBLE)
            and (response.content_length or len(response.get_data())) >= MIN_BYTES)
