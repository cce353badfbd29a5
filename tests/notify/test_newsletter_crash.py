"""A newsletter survives its sender being killed: the notify process (``kosi serve notify``,
its own process) is SIGKILLed while it sends to 400 subscribers, started again, and every
subscriber ends up with the newsletter under one Message-ID, counted at the real SMTP server.

A mail the server took right before the kill, whose record the dead process could not write,
is sent again after the restart under the same Message-ID (derived from newsletter and
subscriber), so a receiving system recognises it; the sender records each mail right after
the server's answer, so at most one can be in that state.
"""
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from kernel import broker
from kernel.db import create_db_engine, unit_of_work_factory
from kernel.messaging import subscriptions_of
from kernel.rows import utcnow
from services.notify import models, newsletters
from services.notify.models import subscribers
from services.notify.service import NotifyService
from tests.databases import fresh_service_database
from tests.identity import NOTIFY_KEY, TRUSTED_SIGNERS
from tests.mail import REPO, running_sink
from tests.notify.conftest import SETTINGS, unsent
from tests.wait import wait_for

RECIPIENTS = 400
EDITOR = {"sub": "editor-1", "roles": ["editor"]}


def fill(url: str) -> str:
    now = utcnow()
    people = [{"id": str(uuid.uuid4()), "email": f"leser{number}@example.org", "status": "confirmed",
               "language": "de", "preferences": {"newsletter": True, "alerts": None, "frequency": "immediately"},
               "newsletter": True, "created_at": now, "confirmed_at": now, "version": 1}
              for number in range(RECIPIENTS)]
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(subscribers), people)
    make_uow = unit_of_work_factory(engine, "notify", models.metadata)
    with make_uow() as uow:
        letter = newsletters.create_newsletter(uow, {"subject": "Neues aus dem Land", "intro": "Liebe Leserinnen,"},
                                               EDITOR, lambda *_: [])
    with make_uow() as uow:
        newsletters.send_newsletter(uow, letter["id"], EDITOR)  # queued: the process sends them
    engine.dispose()
    return letter["id"]


@pytest.fixture
def notify_process(rabbit_config, rabbit_uri, tmp_path):
    broker.declare_topology(rabbit_uri, ["catalog", "survey"], subscriptions_of(NotifyService))
    url = fresh_service_database("notify", "kosi_test_newsletter_crash")
    newsletter_id = fill(url)
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("KOSI_", "NOTIFY_", "SMTP_", "SEND_"))}
    environment.update(PYTHONPATH=str(REPO), NOTIFY_AMQP_URI=rabbit_uri, NOTIFY_DATABASE_URL=url,
                       KOSI_NOTIFY_TOKEN_SECRET=SETTINGS.token_secret, KOSI_NOTIFY_SIGNING_KEY=NOTIFY_KEY,
                       KOSI_TRUSTED_SIGNERS=TRUSTED_SIGNERS, SEND_RATE_PER_SECOND="100", SEND_LEASE_SECONDS="2")
    started = []

    def start(smtp_port: int) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "notify"], cwd=tmp_path,
                                   env={**environment, "SMTP_PORT": str(smtp_port)},
                                   stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"notify{len(started)}.log", "w"))
        started.append(process)
        return process

    yield {"start": start, "url": url, "newsletter": newsletter_id, "logs": tmp_path}
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_a_newsletter_killed_mid_send_reaches_everyone_under_one_message_id(notify_process, tmp_path):
    with running_sink(tmp_path / "mail") as mailbox:
        first = notify_process["start"](mailbox.port)
        assert wait_for(lambda: len(list(mailbox.folder.glob("*.eml"))) >= RECIPIENTS // 4, seconds=60), \
            (tmp_path / "notify0.log").read_text()[-3000:]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = len(list(mailbox.folder.glob("*.eml")))
        assert at_kill < RECIPIENTS, "the kill came too late to prove anything"

        notify_process["start"](mailbox.port)
        assert wait_for(lambda: unsent(notify_process["url"]) == 0, seconds=90), \
            (tmp_path / "notify1.log").read_text()[-3000:]
        received = mailbox.messages()

    ids_by_recipient = defaultdict(set)
    for mail in received:
        ids_by_recipient[mail["To"]].add(mail["Message-ID"])
    assert len(ids_by_recipient) == RECIPIENTS  # everyone got it ...
    assert all(len(ids) == 1 for ids in ids_by_recipient.values())  # ... under one Message-ID each
    newsletter = notify_process["newsletter"]
    expected = {f"<{uuid.uuid5(uuid.NAMESPACE_URL, f'kosi:newsletter:{newsletter}:{sid}')}"
                for sid in _subscriber_ids(notify_process["url"])}
    assert {next(iter(ids)).split("@")[0] for ids in ids_by_recipient.values()} == expected  # deterministic
    copies = Counter(mail["Message-ID"] for mail in received)
    resent = sum(count - 1 for count in copies.values())
    print(f"killed after {at_kill} of {RECIPIENTS} mails; {len(received)} received, {resent} sent twice "
          f"under the same Message-ID")
    assert resent <= 1  # only the mail in flight at the kill


def _subscriber_ids(url: str) -> list[str]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(subscribers.c.id)).scalars().all()
    finally:
        engine.dispose()
