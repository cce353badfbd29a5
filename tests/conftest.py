"""Test-wide fixtures. eventlet must patch before anything imports sockets or threads
(nameko 3's pytest plugin no longer does it; `make test` runs `nameko test`, which does
the same, and this makes a bare `pytest` behave alike)."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import pytest  # noqa: E402

from tests.mail import free_port, mailbox, smtp_sink  # noqa: E402,F401 (a real SMTP server, for every test)

AMQP_URI = "pyamqp://guest:guest@localhost:5672/"


@pytest.fixture
def web_config():
    """nameko's, on a port outside the ephemeral range (``tests.mail.free_port``)."""
    from nameko import config
    from nameko.constants import WEB_SERVER_CONFIG_KEY

    with config.patch({WEB_SERVER_CONFIG_KEY: f"127.0.0.1:{free_port()}"}):
        yield


@pytest.fixture
def web_session(web_config_port):
    """nameko's fixture imports werkzeug.urls.url_join, which Werkzeug 3 removed."""
    from urllib.parse import urljoin

    from requests import Session

    class WebSession(Session):
        def request(self, method, url, *args, **kwargs):
            url = urljoin(f"http://127.0.0.1:{web_config_port}/", url)
            return Session.request(self, method, url, *args, **kwargs)

    session = WebSession()
    yield session
    session.close()
