"""The reference web client (``web/``, built into ``web/dist`` by ``make web``), served at ``/``.

Everything outside ``/api/`` is the client's: a file of the build (``/assets/…`` with hashed
names, cached for good; ``/api-docs/…``, Swagger UI's files for ``/api/v1/docs``), or else the
client's page (``index.html``, never cached), whose router shows what the path names
(``/eintrag/<slug>``, …). The page is not an API route, so the OpenAPI document does not list it.
``index.html`` gets the tile server of the config (``WEB_TILE_URL``, ``WEB_TILE_ATTRIBUTION``)
in its meta tags: without one, the map draws on a plain background.
"""
import mimetypes
from html import escape
from pathlib import Path

from nameko import config as nameko_config
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from kernel.config import REPO_ROOT

DEFAULT_FOLDER = REPO_ROOT / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
# the page's own scripts and styles only (Leaflet sets style attributes); images also from the tile server
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: {tiles}; connect-src 'self'; font-src 'self'; "
                           "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")


# the client's pages (web/src/main.js): their paths get index.html; any other is a 404
CLIENT_PAGES = ("", "eintrag", "wissen", "themen", "mitmachen", "umfragen", "abo", "redaktion")


def is_client_path(path: str) -> bool:
    return not (path == "/api" or path.startswith("/api/"))


class WebClient:
    def __init__(self, folder: Path | None = None, tile_url: str = "", tile_attribution: str = ""):
        self.folder = Path(folder) if folder else DEFAULT_FOLDER
        self.tile_url, self.tile_attribution = tile_url, tile_attribution
        self._page: bytes | None = None

    @classmethod
    def from_config(cls) -> "WebClient":
        return cls(nameko_config.get("WEB_CLIENT_PATH") or None, str(nameko_config.get("WEB_TILE_URL") or ""),
                   str(nameko_config.get("WEB_TILE_ATTRIBUTION") or ""))

    def answer(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise NotFound("the web client answers GET only; the API is under /api/v1")
        if self._page is None and not (self.folder / "index.html").is_file():   # once built, always built
            raise NotFound("the web client is not built: make web")
        name = request.path.lstrip("/")
        file = safe_join(str(self.folder), name) if name else None
        if file and Path(file).is_file() and name != "index.html":
            response = self._file(request, file)
            response.headers["Cache-Control"] = IMMUTABLE if name.startswith("assets/") else "public, max-age=3600"
        elif name.split("/", 1)[0] not in CLIENT_PAGES:   # a file not there (an old hashed asset), a typo
            raise NotFound(f"no page or file {request.path}")
        else:
            response = Response(self.page(), content_type="text/html; charset=utf-8")
            response.headers["Cache-Control"] = "no-cache"
            response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(tiles=self._tile_origin())
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        return response

    @staticmethod
    def _file(request: Request, file: str) -> Response:
        """The file, or its precompressed copy (``make web`` writes ``<file>.gz``) for a browser
        that accepts gzip."""
        mimetype = mimetypes.guess_type(file)[0]
        packed = file + ".gz"
        if "gzip" in request.accept_encodings and Path(packed).is_file():
            response = send_file(packed, request.environ, mimetype=mimetype, conditional=True, etag=True, max_age=None)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = send_file(file, request.environ, mimetype=mimetype, conditional=True, etag=True, max_age=None)
        response.vary.add("Accept-Encoding")
        return response

    def page(self) -> bytes:
        """``index.html`` with this gateway's tile settings (read once: the build does not change)."""
        if self._page is None:
            text = (self.folder / "index.html").read_text(encoding="utf-8")
            for name, value in (("kosi-tile-url", self.tile_url), ("kosi-tile-attribution", self.tile_attribution)):
                text = text.replace(f'<meta name="{name}" content="">',
                                    f'<meta name="{name}" content="{escape(value, quote=True)}">')
            self._page = text.encode()
        return self._page

    def _tile_origin(self) -> str:
        if not self.tile_url.startswith(("https://", "http://")):
            return ""
        scheme, _, rest = self.tile_url.partition("://")
        host = rest.split("/", 1)[0].replace("{s}", "*")
        return f"{scheme}://{host}"
