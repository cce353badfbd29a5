"""After a fault: wait for the platform to settle, then count what was lost and what doubled.

Settled: no outbox holds an unpublished event, no consumer or retry queue holds a message, no
mail waits to be sent, and the search index holds the catalog's published set. Lost: a request
answered 2xx whose effect is missing; a published entry missing or stale in the index; a mail
recorded as sent that the SMTP server never received. Doubled: a survey answer counted more
often than it was sent; a mail received twice; an entry in the index that is not published.
"""
import time
from collections import Counter
from dataclasses import dataclass

import requests
import sqlalchemy as sa

from services.catalog.models import entries, entry_versions
from services.notify.models import alerts, consents, deliveries, subscribers
from services.survey.models import responses, surveys
from tests.wait import queue_counts

SETTLE_SECONDS = 240
PAGE = 100


@dataclass
class Outcome:
    fault: str
    sent: int
    accepted: int
    rejected: int
    failed: int
    lost: int
    doubled: int
    settle_seconds: float
    problems: list


def _rows(url: str, query) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(query).all()
    finally:
        engine.dispose()


def _scalar(url: str, query):
    return _rows(url, query)[0][0]


def unpublished_events(deployment) -> dict:
    """service → (events waiting in its outbox, the last error publishing them)."""
    waiting = {}
    for service, url in deployment.databases.items():
        count = _scalar(url, sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
        if count:
            waiting[service] = (count, _scalar(url, sa.text(
                "SELECT max(last_error) FROM outbox WHERE published_at IS NULL")))
    return waiting


def busy_queues(deployment) -> dict:
    """Queues holding messages that are still to be handled (not parked, not dead letters)."""
    return {name: counts for name, counts in queue_counts(deployment.rabbit_uri).items()
            if counts != (0, 0) and not name.endswith((".parked", ".unrouted")) and name != "kosi.dead-letters"}


def unsent_mails(deployment) -> int:
    notify = deployment.databases["notify"]
    waiting = _scalar(notify, sa.select(sa.func.count()).select_from(deliveries)
                      .where(deliveries.c.state.in_(("pending", "sending"))))
    unbatched = _scalar(notify, sa.select(sa.func.count()).select_from(alerts).where(alerts.c.delivery_id.is_(None)))
    return waiting + unbatched


def published_in_catalog(deployment) -> dict[str, int]:
    return dict(_rows(deployment.databases["catalog"],
                      sa.select(entries.c.id, entries.c.version).where(entries.c.status == "published")))


def in_search(deployment) -> dict[str, int]:
    found, page = {}, 1
    while True:
        answer = requests.get(f"{deployment.base}/search", timeout=30,
                              params={"type": "entry", "per_page": PAGE, "page": page, "sort": "newest"})
        answer.raise_for_status()
        items = answer.json()["items"]
        found.update((item["id"], item["version"]) for item in items)
        if len(items) < PAGE:
            return found
        page += 1


def settle(deployment) -> float:
    """Seconds until the platform settled; raises when it does not within SETTLE_SECONDS."""
    began = time.monotonic()
    last = None
    while time.monotonic() - began < SETTLE_SECONDS:
        try:
            last = {"outbox": unpublished_events(deployment), "queues": busy_queues(deployment),
                    "mails": unsent_mails(deployment)}
            if not last["outbox"] and not last["queues"] and not last["mails"] and \
                    published_in_catalog(deployment) == in_search(deployment):
                return time.monotonic() - began
        except (requests.RequestException, sa.exc.OperationalError) as error:
            last = repr(error)
        time.sleep(1)
    raise AssertionError(f"not settled after {SETTLE_SECONDS}s: {last}")


def count_damage(deployment, ledger, mailbox, survey_id) -> dict[tuple, tuple[str, str]]:
    """What was lost or doubled, after the platform settled: {key: ("lost" | "doubled", what)}.
    Damage found after one fault is found again after the next: compare keys."""
    damage = {}
    catalog, survey, notify = (deployment.databases[name] for name in ("catalog", "survey", "notify"))
    stored = dict(_rows(catalog, sa.select(entries.c.id, entries.c.version)))
    statuses = dict(_rows(catalog, sa.select(entries.c.id, entries.c.status)))
    # each entry at least at the version its newest 2xx answer showed, and in that status when no later
    # change (answered or not) followed
    for entry_id, (version, status) in ledger.entries.items():
        if stored.get(entry_id, 0) < version or (stored[entry_id] == version and statuses[entry_id] != status):
            damage["entry", entry_id] = ("lost", f"entry {entry_id} answered 2xx at {(version, status)}, stored: "
                                                 f"version {stored.get(entry_id)} {statuses.get(entry_id)}")
    # a creation answered 5xx is there whole (with its history) or not at all
    titles = dict(_rows(catalog, sa.select(entries.c.title, entries.c.id).where(
        entries.c.title.in_(sorted(ledger.uncertain_titles))))) if ledger.uncertain_titles else {}
    for title, entry_id in titles.items():
        if not _scalar(catalog, sa.select(sa.func.count()).select_from(entry_versions)
                       .where(entry_versions.c.entry_id == entry_id)):
            damage["half-done", entry_id] = ("lost", f"entry {title!r} half-done: no history")
    published, indexed = published_in_catalog(deployment), in_search(deployment)
    for entry_id, version in published.items():
        if indexed.get(entry_id) != version:
            damage["index", entry_id, version] = ("lost", f"entry {entry_id} not in the index at version {version}")
    for entry_id in indexed:
        if entry_id not in published:
            damage["index extra", entry_id] = ("doubled", f"entry {entry_id} in the index but not published")

    counted = _scalar(survey, sa.select(sa.func.count()).select_from(responses)
                      .where(responses.c.survey_id == survey_id))
    shown = _scalar(survey, sa.select(surveys.c.response_count).where(surveys.c.id == survey_id))
    for number in range(len(ledger.answers) - counted):
        damage["answer lost", number] = ("lost", f"{len(ledger.answers)} answers accepted, {counted} counted")
    for number in range(counted - len(ledger.answers | ledger.uncertain_answers)):
        damage["answer doubled", number] = ("doubled", f"{counted} answers counted, {len(ledger.answers)} accepted")
    if shown != counted:
        damage["response_count", shown, counted] = ("lost", f"response_count {shown} but {counted} responses")

    known = dict(_rows(notify, sa.select(subscribers.c.email, subscribers.c.status)))
    for address in ledger.subscribed - set(known):
        damage["subscription", address] = ("lost", f"subscription {address} answered 202 but missing")
    for address in ledger.unsubscribed:
        if known.get(address) != "unsubscribed":
            damage["unsubscription", address] = ("lost", f"unsubscribing {address} answered 200, "
                                                         f"status {known.get(address)}")
    for address in ledger.confirmed - ledger.unsubscribed:
        if known.get(address) != "confirmed":
            damage["confirmation", address] = ("lost", f"confirmation of {address} answered 200, "
                                                       f"status {known.get(address)}")

    # a subscription, answered or not, is whole: its consent recorded and its confirmation mail made
    whole = sa.and_(sa.exists().where(consents.c.subscriber_id == subscribers.c.id),
                    sa.exists().where(deliveries.c.subscriber_id == subscribers.c.id, deliveries.c.kind == "confirm"))
    for (address,) in _rows(notify, sa.select(subscribers.c.email).where(sa.not_(whole))):
        damage["subscription half-done", address] = ("lost", f"subscription {address} without consent or mail")

    sent = {row.id for row in _rows(notify, sa.select(deliveries.c.id).where(deliveries.c.state == "sent"))}
    received = Counter(str(mail["Message-ID"]).strip("<>").split("@")[0] for mail in mailbox.messages())
    for delivery in sent - set(received):
        damage["mail lost", delivery] = ("lost", f"mail {delivery} recorded as sent, never received")
    for delivery, times in received.items():
        if times > 1:
            damage["mail twice", delivery] = ("doubled", f"mail {delivery} received {times} times")
        if delivery not in sent:
            damage["mail unrecorded", delivery] = ("doubled", f"mail {delivery} received without a record of sending")
    return damage
