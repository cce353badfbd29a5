"""HTTP caching of the gateway's answers: validators, freshness, pagination links.

Every 200 answer to a GET or HEAD gets a strong ``ETag``: the hash of its body for anonymous
requests (whatever a representation is made of, the same bytes have the same tag), the
route's own version tag for staff (their ``If-Match`` needs it). A matching ``If-None-Match``
turns it into ``304 Not Modified`` without a body. Anonymous answers of public routes may be
cached by browsers and proxies for ``PUBLIC_MAX_AGE`` seconds and served stale while they
revalidate for ``PUBLIC_STALE_SECONDS``; answers that depend on who asks (a bearer token, a
subscription's ``?token=``) and the operational routes are never stored. ``Vary:
Authorization`` (added to what a route varies on) says that a token changes the answer. A page of a list (``json_response`` marks
it) gets RFC 8288 ``Link`` headers: first, prev, next, last.
"""
import hashlib
import math
from urllib.parse import urlencode

from nameko import config as nameko_config
from werkzeug.wrappers import Response

NOT_STORED = "no-store"
OPERATIONAL_PATHS = ("/api/v1/health", "/api/v1/ready", "/api/v1/metrics")


def finish(request, response: Response) -> Response:
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    personal = "Authorization" in request.headers or "token" in request.args
    if not personal or "ETag" not in response.headers:
        response.headers["ETag"] = getattr(response, "body_tag", None) or body_tag(response)
    response.headers["Cache-Control"] = NOT_STORED if personal or request.path in OPERATIONAL_PATHS else _public()
    response.headers["Vary"] = merged_vary(response.headers.get("Vary"), "Authorization")
    page = getattr(response, "page", None)
    if page is not None:
        response.headers["Link"] = _links(request, *page)
    if _matches(request.headers.get("If-None-Match"), response.headers["ETag"]):
        return _not_modified(response)
    return response


def merged_vary(existing: str | None, name: str) -> str:
    """``Vary`` with ``name`` added to what the route said (content negotiation: ``Accept``)."""
    names = [part.strip() for part in (existing or "").split(",") if part.strip()]
    return ", ".join(dict.fromkeys([*names, name]))


def body_tag(response: Response) -> str:
    return '"' + hashlib.blake2b(response.get_data(), digest_size=16).hexdigest() + '"'


def _public() -> str:
    max_age = int(nameko_config.get("PUBLIC_MAX_AGE", 10))
    stale = int(nameko_config.get("PUBLIC_STALE_SECONDS", 60))
    return f"public, max-age={max_age}, stale-while-revalidate={stale}"


def _matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 13.1.2: weak comparison, a list of tags or ``*``."""
    if not if_none_match:
        return False
    candidates = [candidate.strip() for candidate in if_none_match.split(",")]
    return "*" in candidates or tag.removeprefix("W/") in {candidate.removeprefix("W/") for candidate in candidates}


def _not_modified(response: Response) -> Response:
    kept = {name: response.headers[name] for name in ("ETag", "Cache-Control", "Vary", "Link")
            if name in response.headers}
    return Response(status=304, headers=kept)


def _links(request, page: int, per_page: int, total: int) -> str:
    last = max(1, math.ceil(total / per_page)) if per_page else 1
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]

    def url(number: int) -> str:
        return f"{request.path}?{urlencode([*args, ('page', number)])}"

    links = [(url(1), "first")]
    if page > 1:
        links.append((url(min(page - 1, last)), "prev"))
    if page < last:
        links.append((url(page + 1), "next"))
    links.append((url(last), "last"))
    return ", ".join(f'<{target}>; rel="{relation}"' for target, relation in links)
