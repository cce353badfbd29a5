"""Fixtures of the notify tests: its database migrated to head (PostgreSQL and SQLite), and a
real SMTP server (``cli.mailsink``) in a process of its own, outside the eventlet-patched
test process."""
import email
import socket
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from kernel.db import create_db_engine
from services.notify import models
from services.notify.subscriptions import Settings
from tests.databases import DIALECTS, emptied_units_of_work, fresh_service_database_of
from tests.wait import wait_for

SETTINGS = Settings(token_secret="notify-test-secret-0123456789abcdef-xyz")
_WRITTEN = ("alerts", "interests", "consents", "deliveries", "items", "newsletters", "subscribers",
            "outbox", "inbox", "handled_calls")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", params=DIALECTS)
def notify_engine(request, tmp_path_factory):
    url = fresh_service_database_of("notify", request.param, "kosi_test_notify_domain",
                                    tmp_path_factory.mktemp("notify"))
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_uow(notify_engine):
    return emptied_units_of_work(notify_engine, "notify", models.metadata, _WRITTEN)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """What the SMTP sink kept: one parsed message per .eml file."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port

    def messages(self) -> list:
        return [email.message_from_bytes(path.read_bytes(), policy=policy.default)
                for path in sorted(self.folder.glob("*.eml"))]

    def to(self, address: str) -> list:
        return [message for message in self.messages() if message["To"] == address]

    def clear(self) -> None:
        for path in self.folder.glob("*.eml"):
            path.unlink()


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mail")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "cli.mailsink", "--dir", str(folder), "--port", str(port)],
                               cwd=REPO, stdout=subprocess.DEVNULL)

    def listening():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    assert wait_for(listening, seconds=20), "the SMTP sink did not start"
    yield Mailbox(folder, port)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def mailbox(smtp_sink):
    smtp_sink.clear()
    return smtp_sink


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
