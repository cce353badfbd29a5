"""A consumer's store fails for 5 s while events keep coming: retries cover it, so nothing
is lost and nothing is dead-lettered. Real faults: PostgreSQL stopped under a consumer that
uses the inbox; the search index's disk full (a small tmpfs filled up)."""
import copy
import os
import subprocess
import time
import uuid

import eventlet
import nameko
import pytest

from contracts.samples import sample
from kernel import broker, topology
from kernel.messaging import subscriptions_of
from services.search.service import SearchService
from tests import wire
from tests.identity import SERVICE_TRUST
from tests.kernel.test_consumer import BellCounter, bell, counter_config, total
from tests.kernel.test_consumer import counter_db, database_url  # noqa: F401 (fixtures)
from tests.wait import settled, wait_for

OUTAGE_SECONDS = 5.0
# attempts 1 s, 3 s, 7 s, 15 s, 31 s after the first: a 5 s outage plus a restart fits well inside
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)


def postgresql(action: str) -> None:
    """Stop (fast: sessions are cut) or start the local cluster; starting a running one is fine."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    done = subprocess.run(command + (["-m", "fast"] if action == "stop" else []), timeout=120,
                          capture_output=True, text=True)
    if done.returncode != 0 and not (action == "start" and "already running" in done.stdout + done.stderr):
        raise RuntimeError(f"{' '.join(command)}: {(done.stdout + done.stderr).strip()}")


def during_an_outage(start_outage, end_outage, publish_one, events: int = 24, every: float = 0.3):
    """Publish ``events`` one by one; the outage begins after the first quarter and lasts 5 s."""
    ended = None
    for number in range(events):
        if number == events // 4:
            start_outage()
            ended = time.monotonic() + OUTAGE_SECONDS
        if ended and time.monotonic() >= ended:
            end_outage()
            ended = None
        publish_one(number)
        eventlet.sleep(every)
    if ended:
        eventlet.sleep(max(0.0, ended - time.monotonic()))
        end_outage()


def retries_logged(caplog, queue: str) -> int:
    """How many handler attempts failed and were put back for a retry (the fault was real)."""
    return sum(1 for record in caplog.records
               if record.getMessage().startswith(f"{queue}: attempt") and "next attempt in" in record.getMessage())


def test_postgresql_stopped_under_an_inbox_consumer_loses_nothing(container_factory, rabbit_config, rabbit_uri,
                                                                   database_url, counter_db, caplog):
    broker.declare_topology(rabbit_uri, ["belltower"], subscriptions_of(BellCounter), RETRY_DELAYS)
    with nameko.config.patch({**counter_config(database_url), "EVENT_RETRY_DELAYS": list(RETRY_DELAYS)}):
        container_factory(BellCounter).start()
        sent = []

        def publish_one(number):
            event = bell(number + 1)
            wire.publish_event(rabbit_uri, "belltower.events", event)
            wire.publish_event(rabbit_uri, "belltower.events", event)  # and a redelivery of it
            sent.append(number + 1)

        try:
            during_an_outage(lambda: postgresql("stop"), lambda: postgresql("start"), publish_one)
        finally:
            postgresql("start")
        expected = sum(sent)
        assert wait_for(lambda: _total_or_none(counter_db) == expected, seconds=90)
        queues = ["bellcounter.bell-rung", *(topology.delay_queue_name(delay) for delay in RETRY_DELAYS)]
        assert settled(rabbit_uri, *queues, seconds=90)
        assert total(counter_db) == expected  # each once, none twice
        assert broker.dead_letters(rabbit_uri) == []
        assert retries_logged(caplog, "bellcounter.bell-rung") > 0


def _total_or_none(engine):
    try:
        return total(engine)
    except Exception:  # PostgreSQL is still coming back
        return None


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)], check=True)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk) -> None:
    """Take every byte of the disk: 1 MiB blocks, then ever smaller ones down to one byte."""
    with open(disk / "ballast", "wb", buffering=0) as ballast:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 8, 1):
            try:
                while True:
                    ballast.write(b"\0" * size)
            except OSError:
                pass


def test_a_full_search_index_disk_loses_nothing(container_factory, rabbit_config, rabbit_uri, small_disk, caplog):
    broker.declare_topology(rabbit_uri, ["catalog"], subscriptions_of(SearchService), RETRY_DELAYS)
    with nameko.config.patch({"SEARCH_BACKEND": "tantivy", "SEARCH_INDEX_PATH": str(small_disk / "index"),
                              "SEARCH_AUTO_REFILL": False, "EVENT_RETRY_DELAYS": list(RETRY_DELAYS),
                              **SERVICE_TRUST}):
        container = container_factory(SearchService)
        container.start()
        ids = []

        def publish_one(number):
            envelope = copy.deepcopy(sample("entry.published"))
            envelope["event_id"] = str(uuid.uuid4())
            envelope["data"].update(id=str(uuid.uuid4()), slug=f"hofladen-{number}", title=f"Hofladen {number}")
            wire.publish_event(rabbit_uri, "catalog.events", envelope)
            ids.append(envelope["data"]["id"])

        during_an_outage(lambda: fill(small_disk), lambda: os.remove(small_disk / "ballast"), publish_one)
        from nameko.standalone.rpc import ClusterRpcClient

        with ClusterRpcClient(timeout=30) as client:
            assert wait_for(lambda: client.search.health()["documents"] == len(ids), seconds=90)
            found = {hit["id"] for hit in client.search.search({"q": "Hofladen", "per_page": 100})["items"]}
        assert found == set(ids)
        assert settled(rabbit_uri, "search.entry-published",
                       *(topology.delay_queue_name(delay) for delay in RETRY_DELAYS), seconds=60)
        assert broker.dead_letters(rabbit_uri) == []
        assert retries_logged(caplog, "search.entry-published") > 0
