"""The gateway serves the web client's build (gateway/web_client.py): its pages get index.html
with the configured tile server, its files are cached by their hashed names, nothing outside
the build folder is served, and the API's paths are never the client's."""
import pytest
from werkzeug.exceptions import NotFound
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.web_client import CLIENT_PAGES, WebClient, is_client_path

INDEX = ('<!doctype html><html lang="de"><head><meta name="kosi-tile-url" content="">'
         '<meta name="kosi-tile-attribution" content=""></head><body><div id="app"></div></body></html>')


@pytest.fixture
def build(tmp_path):
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text(INDEX)
    (tmp_path / "dist" / "assets" / "index-AbC123.js").write_text("console.log('kosi')")
    (tmp_path / "dist" / "api-docs").mkdir()
    (tmp_path / "dist" / "api-docs" / "swagger-ui.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("not for the web")
    return tmp_path / "dist"


def get(client, path, method="GET", headers=None):
    return client.answer(Request(EnvironBuilder(path=path, method=method, headers=headers).get_environ()))


@pytest.mark.parametrize("path", ["/", "/eintrag/mitfahrbank-quedlinburg", "/themen", "/wissen/pflege-im-dorf"])
def test_every_page_of_the_client_is_its_index_page_never_cached(build, path):
    response = get(WebClient(build), path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"
    assert '<div id="app">' in response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hashed_files_are_cached_for_good_and_revalidated_by_their_tag(build):
    client = WebClient(build)
    response = get(client, "/assets/index-AbC123.js")
    assert response.status_code == 200 and "javascript" in response.mimetype
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = get(client, "/assets/index-AbC123.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert get(client, "/api-docs/swagger-ui.css").headers["Cache-Control"] == "public, max-age=3600"


@pytest.mark.parametrize("path", ["/assets/index-Old999.js", "/../secret.txt", "/assets/../../secret.txt",
                                  "/%2e%2e/secret.txt", "/wp-login.php", "/nichts-hier"])
def test_nothing_else_is_served(build, path):
    with pytest.raises(NotFound):
        get(WebClient(build), path)


def test_only_reading_is_answered(build):
    with pytest.raises(NotFound, match="GET only"):
        get(WebClient(build), "/", method="POST")


def test_without_a_build_it_says_how_to_make_one(tmp_path):
    with pytest.raises(NotFound, match="make web"):
        get(WebClient(tmp_path / "nothing"), "/")


def test_the_tile_server_of_the_config_reaches_the_page_escaped_and_allowed(build):
    client = WebClient(build, tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
                       tile_attribution='© Kartendaten "Beispiel" <Lizenz>')
    response = get(client, "/")
    text = response.get_data(as_text=True)
    assert '<meta name="kosi-tile-url" content="https://{s}.tiles.example.org/{z}/{x}/{y}.png">' in text
    assert 'content="© Kartendaten &quot;Beispiel&quot; &lt;Lizenz&gt;"' in text
    assert "img-src 'self' data: https://*.tiles.example.org;" in response.headers["Content-Security-Policy"]


def test_the_api_is_never_the_clients():
    assert not is_client_path("/api/v1/entries") and not is_client_path("/api")
    assert is_client_path("/") and is_client_path("/eintrag/x") and is_client_path("/apiary")
    assert "" in CLIENT_PAGES


def test_a_browser_that_accepts_gzip_gets_the_precompressed_copy(build):
    import gzip

    script = build / "assets" / "index-AbC123.js"
    (build / "assets" / "index-AbC123.js.gz").write_bytes(gzip.compress(script.read_bytes()))
    client = WebClient(build)
    packed = get(client, "/assets/index-AbC123.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "javascript" in packed.mimetype
    packed.direct_passthrough = False
    assert gzip.decompress(packed.get_data()) == script.read_bytes()
    assert "Accept-Encoding" in packed.headers["Vary"]
    plain = get(client, "/assets/index-AbC123.js")
    plain.direct_passthrough = False
    assert "Content-Encoding" not in plain.headers and plain.get_data() == script.read_bytes()
    assert plain.headers["ETag"] != packed.headers["ETag"]
