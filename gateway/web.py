"""The HTTP entrypoint of the gateway: nameko's ``@http`` with problem+json everywhere.

``route`` is the decorator every gateway route uses. Errors a route raises, and the
answers given before any route runs (unknown path → 404, wrong method → 405, body
over ``MAX_BODY_BYTES`` → 413), all become problem responses via ``gateway.problems``.
Each answer is counted in ``gateway.metrics`` under its route template, and carries the
request's id (``X-Request-Id``: the client's if it is a safe token, else a new one), which
travels in the worker's context data into every RPC call and log line.
"""
import ipaddress
import logging
import re
import socket
import time
from functools import partial
from urllib.parse import urlsplit

import structlog
from eventlet.event import Event
from nameko import config as nameko_config
from nameko.web.handlers import HttpRequestHandler
from eventlet import wsgi
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from gateway import compression, cors, http_caching, metrics
from gateway.errors import GatewayError, PayloadTooLarge
from gateway.problems import problem_response
from gateway.ratelimit import ConcurrentRequests, client_address, trusted_proxy_hops
from gateway.responses import moved_response
from gateway.web_client import WebClient, is_client_path
from kernel.errors import KosiError, Moved
from kernel.tracing import REQUEST_ID_KEY, accepted_request_id

DEFAULT_MAX_BODY_BYTES = 256 * 1024
WEB_CLIENT_ROUTE = "/ (web client)"
REQUEST_ID_ENVIRON_KEY = "kosi.request_id"


def max_body_bytes() -> int:
    return int(nameko_config.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


class GatewayWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = environ[REQUEST_ID_ENVIRON_KEY] = accepted_request_id(environ.get("HTTP_X_REQUEST_ID"))
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            return self._answer(environ, start_response, started, request_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")

    def _answer(self, environ, start_response, started, request_id):
        if getattr(environ.get("wsgi.input"), "chunked_input", False):
            # eventlet decodes chunked bodies and ends the stream itself; saying so lets
            # werkzeug read them (and enforce the size limit) instead of seeing no body
            environ["wsgi.input_terminated"] = True
        # shallow as in nameko: nothing may read the body before the route does
        request = Request(environ, shallow=True)
        request.max_content_length = max_body_bytes()
        route = metrics.UNMATCHED_ROUTE
        answered = cors.preflight(request)
        if answered is not None:
            metrics.observe(request.method, route, answered.status_code, time.perf_counter() - started)
            return answered(environ, start_response)
        if is_client_path(request.path):      # the web client's pages and files (gateway.web_client)
            try:
                response = self.server.web_client.answer(request)
            except HTTPException as error:
                response = problem_response(error, request.path)
            response.headers["X-Request-Id"] = request_id
            metrics.observe(request.method, WEB_CLIENT_ROUTE, response.status_code, time.perf_counter() - started)
            return response(environ, start_response)
        try:
            if request.content_length and request.content_length > request.max_content_length:
                raise PayloadTooLarge(f"the body may have at most {request.max_content_length} bytes")
            provider, values = self.url_map.bind_to_environ(environ).match()
            route = provider.url
            request.path_values = values
            if route in UNLIMITED_ROUTES:   # probes and scrapes are never turned away
                response = self._respond(provider, request)
            else:
                with self.server.concurrent.held(client_address(request, self.server.proxy_hops)):
                    response = self._respond(provider, request)
        except RequestRedirect as redirect:     # "//" in a path: werkzeug's routing names the one meant
            response = _redirect_on_this_host(redirect)
        except (HTTPException, KosiError) as error:
            response = problem_response(error, request.path)
        response = cors.decorate(request, http_caching.finish(request, compression.compress(request, response)))
        response.headers["X-Request-Id"] = request_id
        metrics.observe(request.method, route, response.status_code, time.perf_counter() - started)
        return response(environ, start_response)

    def _respond(self, provider, request):
        """The route's answer, or the read cache's copy of it (``gateway.read_cache``)."""
        reader = self._reader(provider, request)
        if reader is None:
            return provider.handle_request(request)
        cache = reader.cache
        key = (request.path, tuple(sorted(request.args.items(multi=True))))
        copy = cache.get(key)
        if copy is not None and cache.fresh(copy, cache.ttl):
            return copy.response()
        generation = cache.generation
        response = provider.handle_request(request)
        if response.status_code == 200:
            response.body_tag = http_caching.body_tag(response)
            cache.keep(key, response, response.body_tag, generation)
        elif response.status_code == 503 and copy is not None:
            return copy.response()  # the service does not answer: the last copy, with its Age
        return response

    def _reader(self, provider, request):
        """The read cache that may answer this request: anonymous GETs of routes documented
        ``cached_by`` a producer whose cache runs here."""
        if request.method not in ("GET", "HEAD") or "Authorization" in request.headers or "token" in request.args:
            return None
        operation = getattr(getattr(provider.container.service_cls, provider.method_name), "openapi_operation", None)
        reader = self.server.read_caches.get(operation.cached_by) if operation and operation.cached_by else None
        return reader if reader is not None and reader.enabled else None


# participation is anonymous, and who manages a subscription is nobody's business: their
# access log lines do not say who sent them
_ANONYMOUS_PATHS = re.compile(r"^/api/v1/(?:surveys/[^/?]*/(?:responses|participation)|subscriptions)(?:[?/]|$)")
# the links in mails carry a token that is as good as a password: no log line shows one
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"]*", re.IGNORECASE)


class RedactTokens(logging.Filter):
    def filter(self, record):
        if isinstance(record.msg, str) and "token=" in record.msg.lower():
            record.msg = _TOKEN_IN_QUERY.sub(r"\1[redacted]", record.msg)
        return True


class AccessLogProtocol(HttpOnlyProtocol):
    """Access log lines that keep no more of a person than needed: the client's address
    truncated (``ACCESS_LOG_CLIENTS``: truncated, none or full), none at all on anonymous
    routes, and no query string (search terms, tokens) — the path only, printable."""

    def parse_request(self):
        parsed = super().parse_request()
        self.requestline = _loggable_request_line(getattr(self, "requestline", ""))
        return parsed

    def get_client_address(self):
        # eventlet calls this only to write log lines (the WSGI environ has its own copy)
        host, port = super().get_client_address()
        mode = (nameko_config.get("ACCESS_LOG_CLIENTS") or "truncated").lower()
        if mode == "none" or _ANONYMOUS_PATHS.match(getattr(self, "path", "") or ""):
            return "-", "-"
        return (host, port) if mode == "full" else (_truncated(host), "-")


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def _loggable_request_line(line: str) -> str:
    method, _, rest = line.partition(" ")
    target, _, version = rest.partition(" ")
    path, question, _ = target.partition("?")
    line = " ".join(part for part in (method, path + ("?…" if question else ""), version) if part)
    return _UNPRINTABLE.sub(lambda found: f"\\x{ord(found.group()):02x}", line)


def _truncated(host: str) -> str:
    """An IPv4 address to its /24, an IPv6 one to its /48: enough to see a flood's origin."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "-"
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


DEFAULT_SOCKET_TIMEOUT = 20.0
DEFAULT_CONCURRENT_PER_CLIENT = 20
UNLIMITED_ROUTES = ("/api/v1/health", "/api/v1/ready", "/api/v1/metrics")


class GatewayServer(WebServer):
    # eventlet refuses request lines over 8 KiB with a bare 414; let long search queries
    # through to validation (which answers problem+json) up to a sane bound
    URL_LENGTH_LIMIT = 32 * 1024

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_caches = {}  # producer → gateway.read_cache.PublicReadCache of this container
        self.concurrent = ConcurrentRequests(DEFAULT_CONCURRENT_PER_CLIENT)
        self.proxy_hops = 0
        self.web_client = WebClient()

    def setup(self):
        super().setup()
        self.concurrent = ConcurrentRequests(int(nameko_config.get("CONCURRENT_REQUESTS_PER_CLIENT") or
                                                 DEFAULT_CONCURRENT_PER_CLIENT))
        self.proxy_hops = trusted_proxy_hops()
        self.web_client = WebClient.from_config()

    def get_wsgi_server(self, sock, wsgi_app, protocol=AccessLogProtocol, debug=False):
        log = logging.getLogger("nameko.web.server")
        if not any(isinstance(existing, RedactTokens) for existing in log.filters):
            log.addFilter(RedactTokens())
        # X-Forwarded-For is the client's to write: it has no place in a log line. A client
        # that stalls mid-request (or idles on keep-alive) is dropped after SOCKET_TIMEOUT_SECONDS.
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=debug,
                           log=log, url_length_limit=self.URL_LENGTH_LIMIT, log_x_forwarded_for=False,
                           socket_timeout=float(nameko_config.get("SOCKET_TIMEOUT_SECONDS") or
                                                DEFAULT_SOCKET_TIMEOUT))

    def process_request(self, sock, address):
        # without this, responses over eventlet's 16 KiB write buffer stall ~40 ms
        # (Nagle + delayed ACK): measured by `make bench` on list pages
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(sock, address)

    def get_wsgi_app(self):
        return GatewayWsgiApp(self)

    def context_data_from_headers(self, request):
        return {REQUEST_ID_KEY: request.environ[REQUEST_ID_ENVIRON_KEY]}


class GatewayRoute(HttpRequestHandler):
    """nameko's HTTP entrypoint, answering errors with problem+json."""

    server = GatewayServer()

    def __init__(self, method, url, **kwargs):
        # errors raised on purpose are logged as warnings by nameko, not as crashes
        kwargs.setdefault("expected_exceptions", (KosiError, GatewayError, HTTPException))
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.shallow = False
        try:
            context_data = self.server.context_data_from_headers(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, done))
            return self.response_from_result(done.wait())
        except Moved as moved:          # asked for by an old slug: the same path with the current one
            return moved_response(_renamed_path(request, moved.slug))
        except Exception as error:
            return problem_response(error, request.path)

    def response_from_result(self, result):
        if not isinstance(result, Response):
            raise TypeError("gateway routes return werkzeug Responses")
        return result


route = GatewayRoute.decorator


def _redirect_on_this_host(redirect: RequestRedirect) -> Response:
    """The redirect's target as a path (werkzeug writes the Host header the client sent)."""
    target = urlsplit(redirect.new_url)
    location = target.path + (f"?{target.query}" if target.query else "")
    return Response(status=redirect.code, headers={"Location": location})


def _renamed_path(request, slug: str) -> str:
    """The request's path with its last segment (the old slug) replaced, query string kept."""
    path = request.path.rsplit("/", 1)[0] + "/" + slug
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path
