"""``make bench`` (fifth part): a newsletter to 10,000 confirmed subscribers into the local SMTP
sink (``cli.mailsink``, its own process, writing every mail to disk), in mails per second,
beside the floor: a plain ``smtplib`` loop sending the same 10,000 mails, composed beforehand,
over one connection to the same sink. Target: the newsletter at no less than half the floor.

The newsletter is sent by the service's own send loop (``services.notify.sender.Sender``, the
code the notify process runs in its sender thread) with pacing off: claims with leases,
composes each mail (the recipient's own links, a signed token each), sends, records each mail
after the server's answer. PostgreSQL, a database of our own, dropped afterwards. Measures and
prints; asserts nothing.
"""
import random
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.infra import REPO_ROOT, drop_database
from bench.notify import fill
from kernel.db import create_db_engine, unit_of_work_factory
from kernel.migrations import upgrade
from services.notify import models, newsletters
from services.notify.compose import Composer
from services.notify.mail import MailSettings, envelope_sender
from services.notify.models import deliveries, subscribers
from services.notify.sender import Sender, SendSettings, sender_engine
from services.notify.smtp import SmtpSettings, SmtpTransport
from services.notify.subscriptions import Settings

DATABASE_NAME = "kosi_bench_newsletter"
RECIPIENTS = 10_000
EDITOR = {"sub": "bench", "roles": ["editor"]}
ITEMS = [{"type": "entry", "id": f"e{number}", "title": f"Wohnprojekt Nummer {number} in der Altmark",
          "summary": "Ein Dorf baut gemeinsam: Wohnungen für Jung und Alt, ein Laden, ein Café.",
          "path": f"/api/v1/entries/e{number}"} for number in range(8)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink(folder: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "cli.mailsink", "--dir", str(folder), "--port", str(port)],
                               cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the SMTP sink did not start")


def queue_newsletter(engine) -> str:
    make_uow = unit_of_work_factory(engine, "notify", models.metadata)
    with make_uow() as uow:
        letter = newsletters.create_newsletter(uow, {"subject": "Neues aus dem Kompetenzzentrum",
                                                     "intro": "Liebe Leserinnen und Leser,\n\nhier ist, was neu ist.",
                                                     "items": ITEMS}, EDITOR, lambda *_: [])
    started = time.perf_counter()
    with make_uow() as uow:
        newsletters.send_newsletter(uow, letter["id"], EDITOR)
    print(f"newsletter: {RECIPIENTS:,} deliveries queued in {time.perf_counter() - started:.2f} s", flush=True)
    return letter["id"]


def send_newsletter(url: str, composer: Composer, smtp: SmtpSettings) -> float:
    """Mails per second of the send loop (on its own engine, as in the service) until no
    delivery is left."""
    transport = SmtpTransport(smtp)
    engine = sender_engine(url)
    sender = Sender(engine, transport, composer, SendSettings(rate_per_second=0))
    started = time.perf_counter()
    while sender.send_batch():
        pass
    elapsed = time.perf_counter() - started
    transport.close()
    with engine.connect() as conn:
        sent = conn.execute(sa.select(sa.func.count()).select_from(deliveries)
                            .where(deliveries.c.state == "sent")).scalar()
    engine.dispose()
    assert sent == RECIPIENTS, f"{sent} of {RECIPIENTS} sent"
    return sent / elapsed


def floor_messages(engine, composer: Composer) -> list[tuple[str, str, bytes]]:
    """The same mails, composed beforehand (not timed): (sender, recipient, message)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries, subscribers.c.email, subscribers.c.status,
                                      subscribers.c.token_version, subscribers.c.frequency)
                            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)).mappings().all()
        made = []
        for row in rows:
            outgoing = composer.compose(conn, {**row, "state": "pending"})
            made.append((envelope_sender(composer.mail_settings), outgoing.recipient, outgoing.message))
    return made


def plain_smtplib(messages, port: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipient, message in messages:
            smtp.sendmail(sender, [recipient], message)
    return len(messages) / (time.perf_counter() - started)


def main() -> None:
    from tests.databases import fresh_database

    url = fresh_database(DATABASE_NAME)
    folder = Path(tempfile.mkdtemp(prefix="kosi-bench-mail-"))
    port = free_port()
    sink = start_sink(folder, port)
    try:
        upgrade("notify", url)
        engine = create_db_engine(url)
        fill(engine, RECIPIENTS, random.Random(11))
        queue_newsletter(engine)
        composer = Composer(MailSettings(base_url="https://kosi.example"),
                            Settings(token_secret="bench-newsletter-secret-0123456789abcdef"))
        ours = send_newsletter(url, composer, SmtpSettings(host="127.0.0.1", port=port))
        messages = floor_messages(engine, composer)
        floor = plain_smtplib(messages, port)
        print(f"newsletter to {RECIPIENTS:,} subscribers: {ours:6.0f} mails/s; plain smtplib loop, the same mails "
              f"to the same sink: {floor:6.0f} mails/s; ratio {ours / floor:.2f} (target >= 0.5)", flush=True)
        engine.dispose()
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()
        drop_database(DATABASE_NAME)


if __name__ == "__main__":
    main()
