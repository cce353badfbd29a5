"""The fault suite: the deployed platform (every service its own process, its own broker user and
database, on this test's vhost) under a steady mixed workload through the gateway, while one
fault after another strikes: RabbitMQ restarted, each service SIGKILLed and started again,
PostgreSQL restarted, the broker's memory and disk alarms (publishers blocked), a service cut
off from the broker. After each fault the platform settles and nothing may be lost or doubled
(``checks``). Prints, per fault: requests sent, accepted, rejected, failed, lost, doubled, and
the time to settle.

``make faults`` runs every fault (``KOSI_FAULTS=all``); ``make test`` runs the smoke
(``faults.SMOKE``); ``KOSI_FAULTS="catalog killed,broker disk alarm"`` picks some.
"""
import os
import time

import eventlet
import pytest
import requests
from rich.console import Console
from rich.table import Table

from tests.faults import checks
from tests.faults.faults import FAULTS, SMOKE
from tests.faults.workload import POLL, Workload, staff_headers
from tests.platform.deployment import Deployment

WARM_UP_SECONDS = 4.0
AFTER_SECONDS = 4.0
UNLIMITED = "1000000"
SETTINGS = {
    # short retries, so that a consumer that met the fault is back within seconds
    "EVENT_RETRY_DELAYS": "1,2,4,8,16",
    "ALERT_BATCH_SECONDS": "1", "ALERT_DAILY_CAP": UNLIMITED, "SEND_BACKOFF_SECONDS": "1",
    **{f"GATEWAY_{limit}": UNLIMITED for limit in (
        "PUBLIC_WRITES_PER_WINDOW", "SUBSCRIPTIONS_PER_WINDOW", "SEARCHES_PER_WINDOW", "PARTICIPATION_PER_CLIENT",
        "PARTICIPATION_PER_SURVEY", "CONCURRENT_REQUESTS_PER_CLIENT")},
}


def chosen_faults() -> list[str]:
    wanted = os.environ.get("KOSI_FAULTS", "smoke")
    if wanted == "all":
        return list(FAULTS)
    if wanted == "smoke":
        return list(SMOKE)
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in names if name not in FAULTS]
    assert not unknown, f"unknown faults {unknown}; known: {list(FAULTS)}"
    return names


@pytest.fixture
def deployment(rabbit_config, rabbit_uri, tmp_path, smtp_sink):
    smtp_sink.clear()   # the sink serves the whole session: only this deployment's mails count
    deployed = Deployment(rabbit_uri, tmp_path, smtp_sink.port, name="faults", settings=SETTINGS)
    try:
        deployed.start()
        yield deployed
    finally:
        deployed.stop()


def open_poll(base: str) -> str:
    staff = staff_headers()
    created = requests.post(f"{base}/surveys", json=POLL, headers=staff, timeout=30)
    assert created.status_code == 201, created.text
    published = requests.post(f"{base}/surveys/{created.json()['id']}/publish", headers=staff, timeout=30)
    assert published.status_code == 200, published.text
    return created.json()["id"]


def send_newsletter(base: str, number: int) -> None:
    """A newsletter to every confirmed subscriber, going out while the fault strikes (none
    when nobody confirmed yet)."""
    staff = staff_headers()
    created = requests.post(f"{base}/newsletters", headers=staff, timeout=30,
                            json={"subject": f"Rundbrief {number}", "intro": "Neues aus dem Land."})
    assert created.status_code == 201, created.text
    sent = requests.post(f"{base}/newsletters/{created.json()['id']}/send", headers=staff, timeout=30)
    assert sent.status_code in (202, 409), sent.text


def run_fault(deployment, workload, name: str, number: int, seen: dict) -> checks.Outcome:
    before = (workload.ledger.sent, workload.ledger.accepted, workload.ledger.rejected, workload.ledger.failed)
    workload.start()
    eventlet.sleep(WARM_UP_SECONDS)
    send_newsletter(deployment.base, number)
    striking = eventlet.spawn(FAULTS[name], deployment)   # a green thread: the workload goes on meanwhile
    striking.wait()
    eventlet.sleep(AFTER_SECONDS)
    workload.stop()
    began = time.monotonic()
    checks.settle(deployment)
    settled = time.monotonic() - began
    damage = checks.count_damage(deployment, workload.ledger, workload.mailbox, workload.survey_id)
    new = {key: found for key, found in damage.items() if key not in seen}   # not an earlier fault's
    seen.update(damage)
    ledger = workload.ledger
    return checks.Outcome(name, ledger.sent - before[0], ledger.accepted - before[1], ledger.rejected - before[2],
                          ledger.failed - before[3], sum(kind == "lost" for kind, _ in new.values()),
                          sum(kind == "doubled" for kind, _ in new.values()), settled,
                          [what for _, what in new.values()])


def print_table(outcomes) -> None:
    table = Table("fault", "sent", "accepted", "rejected", "failed (5xx, none)", "lost", "doubled", "settled in",
                  title="faults under a mixed workload")
    for outcome in outcomes:
        table.add_row(outcome.fault, str(outcome.sent), str(outcome.accepted), str(outcome.rejected),
                      str(outcome.failed), str(outcome.lost), str(outcome.doubled), f"{outcome.settle_seconds:.1f} s")
    console = Console(width=140)
    console.print(table)
    for outcome in outcomes:
        for problem in outcome.problems[:20]:
            console.print(f"{outcome.fault}: {problem}")


def test_nothing_lost_nothing_doubled_under_faults(deployment, smtp_sink):
    workload = Workload(deployment.base, smtp_sink, open_poll(deployment.base))
    outcomes, seen = [], {}
    try:
        for number, name in enumerate(chosen_faults(), start=1):
            outcomes.append(run_fault(deployment, workload, name, number, seen))
    finally:
        workload.stop()
        print_table(outcomes)
    assert not workload.errors, workload.errors[:10]
    for outcome in outcomes:
        assert outcome.accepted > 0, f"{outcome.fault}: nothing was accepted, so nothing was proven"
        assert (outcome.lost, outcome.doubled) == (0, 0), (outcome.fault, outcome.problems[:20])
