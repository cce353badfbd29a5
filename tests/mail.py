"""A real SMTP server for tests (``cli.mailsink``) in a process of its own, outside the
eventlet-patched test process, and what it received."""
import email
import random
import socket
import subprocess
import sys
from contextlib import contextmanager
from email import policy
from pathlib import Path

import pytest

from tests.wait import wait_for

REPO = Path(__file__).resolve().parents[1]


# below Linux's ephemeral range (32768–60999): a port the kernel handed out for "any free port"
# can be taken as the local end of an outgoing connection (to RabbitMQ, PostgreSQL …) before the
# server binds it ("Address already in use", seen once in a random-order run); these never are
_LISTEN_PORTS = range(20000, 32768)
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, for a server a test starts (not one handed out before)."""
    if len(_handed_out) > len(_LISTEN_PORTS) // 2:   # a long run: ports of finished tests are free again
        _handed_out.clear()
    while True:
        port = random.choice(_LISTEN_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


class Mailbox:
    """What the SMTP sink kept: one parsed message per .eml file."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self._parsed: dict[Path, object] = {}   # the sink renames a mail into place whole: parsed once

    def messages(self) -> list:
        paths = sorted(self.folder.glob("*.eml"))
        for path in paths:
            if path not in self._parsed:
                self._parsed[path] = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        return [self._parsed[path] for path in paths]

    def to(self, address: str) -> list:
        return [message for message in self.messages() if message["To"] == address]

    def clear(self) -> None:
        for path in self.folder.glob("*.eml"):
            path.unlink()
        self._parsed.clear()


@contextmanager
def running_sink(folder: Path, port: int | None = None, options: tuple = ()):
    """Start the sink on ``port`` (a free one by default) with ``cli.mailsink`` ``options``,
    yield its ``Mailbox``, stop it."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "cli.mailsink", "--dir", str(folder), "--port", str(port),
                                *options], cwd=REPO, stdout=subprocess.DEVNULL)

    def listening():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    try:
        assert wait_for(listening, seconds=20), "the SMTP sink did not start"
        yield Mailbox(folder, port)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory):
    with running_sink(tmp_path_factory.mktemp("mail")) as mailbox:
        yield mailbox


@pytest.fixture
def mailbox(smtp_sink):
    smtp_sink.clear()
    return smtp_sink


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
