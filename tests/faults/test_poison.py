"""Poison and slow consumers, for every consumer of the platform (search's and notify's).

A poison event (here: a bug in each handler that fails on one event, as a bad release would)
goes through its retries to the dead-letter queue with the reason, while the other events flow;
after the fix, `kosi dlq replay --all` applies each poison event exactly once. A consumer slowed
to a crawl makes its own queue grow, visible in the gateway's /metrics, while producers and the
other consumers keep going.
"""
import os
import subprocess
import sys
from collections import Counter

from eventlet.event import Event
import pytest
import requests
from click.testing import CliRunner

from cli import registry
from cli.local import stop_all
from cli.main import main as kosi
from kernel import broker, topology
from kernel.broker import dead_letters
from kernel.messaging import ReliableEventHandler
from services.catalog.service import CatalogService
from services.notify.service import NotifyService
from services.search.service import SearchService
from services.survey.service import SurveyService
from tests.databases import fresh_catalog_database, fresh_service_database
from tests.identity import ADMIN, GATEWAY_KEY, NOTIFY_KEY, SERVICE_TRUST, operator_environment, staff_rpc
from tests.mail import free_port
from tests.platform.deployment import OWN_PREFIXES, REPO, SECRET
from tests.notify.conftest import SETTINGS as NOTIFY_SETTINGS
from tests.search.test_search_service import entry_data
from tests.survey.conftest import SETTINGS as SURVEY_SETTINGS
from tests.wait import queue_counts, settled, wait_for

DELAYS = (0.2, 0.5)
POISON = "Gift"   # the bug: each handler fails on an event whose title holds this word
CONSUMERS = (SearchService, NotifyService)


def handlers() -> list[tuple[type, str, str]]:
    """(service class, method, queue) of every reliable event handler of the platform."""
    found = []
    for service_cls in CONSUMERS:
        for name in dir(service_cls):
            for entrypoint in getattr(getattr(service_cls, name), "nameko_entrypoints", ()):
                if isinstance(entrypoint, ReliableEventHandler):
                    found.append((service_cls, name, topology.consumer_queue_name(service_cls.name,
                                                                                    entrypoint.subscription)))
    return found


class Handlers:
    """Wraps every handler: counts what each applied, fails on poison while ``buggy``, and holds
    every event of a queue in ``crawling`` until ``go()``."""

    def __init__(self, monkeypatch):
        self.buggy, self.crawling = True, set()
        self._go = Event()
        self.applied: Counter = Counter()   # (queue, event id) → times applied
        for service_cls, name, queue in handlers():
            monkeypatch.setattr(service_cls, name, self._wrapped(getattr(service_cls, name), queue))

    def _wrapped(self, handler, queue):
        def handle(service, envelope):
            if queue in self.crawling:
                self._go.wait()
            if self.buggy and POISON in str(envelope["data"].get("title", "")):
                raise RuntimeError(f"poison in {queue}")
            result = handler(service, envelope)
            self.applied[queue, envelope["event_id"]] += 1
            return result
        handle.__name__ = handler.__name__
        handle.nameko_entrypoints = handler.nameko_entrypoints   # what nameko finds the handler by
        return handle

    def go(self) -> None:
        self.crawling.clear()
        self._go.send()

    def times(self, queue: str) -> int:
        return sum(count for (where, _), count in self.applied.items() if where == queue)


@pytest.fixture
def platform(rabbit_config, rabbit_uri, runner_factory, tmp_path, smtp_sink, monkeypatch):
    broker.declare_topology(rabbit_uri, registry.PRODUCERS, registry.all_subscriptions(), DELAYS)
    for name, value in operator_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KOSI_OPERATOR_AMQP_URI", rabbit_uri)
    wrapped = Handlers(monkeypatch)
    runner = runner_factory({
        "CATALOG_DATABASE_URL": fresh_catalog_database("kosi_test_poison"), "SEARCH_INDEX_PATH": str(tmp_path / "ix"),
        "SEARCH_AUTO_REFILL": False, "SURVEY_DATABASE_URL": fresh_service_database("survey", "kosi_test_poison_survey"),
        "SURVEY_TOKEN_SECRET": SURVEY_SETTINGS.token_secret,
        "NOTIFY_DATABASE_URL": fresh_service_database("notify", "kosi_test_poison_notify"),
        "NOTIFY_TOKEN_SECRET": NOTIFY_SETTINGS.token_secret, "ACTOR_SIGNING_KEY": NOTIFY_KEY,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_sink.port, "EVENT_RETRY_DELAYS": ",".join(map(str, DELAYS)),
        **SERVICE_TRUST}, CatalogService, SearchService, SurveyService, NotifyService)
    runner.start()
    yield {"handlers": wrapped, "rabbit_uri": rabbit_uri, "folder": tmp_path}


@pytest.fixture
def gateway(platform):
    """A gateway process on the same vhost, for its /metrics (the broker's queues)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_PREFIXES)}
    env.update(PYTHONPATH=str(REPO), GATEWAY_AMQP_URI=platform["rabbit_uri"], KOSI_GATEWAY_SIGNING_KEY=GATEWAY_KEY,
               KOSI_JWT_SECRET=SECRET, GATEWAY_ADDRESS=f"127.0.0.1:{port}")
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "gateway"], cwd=platform["folder"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"

    def up():
        try:
            return requests.get(f"{base}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False
    try:
        assert wait_for(up, seconds=60)
        yield base
    finally:
        stop_all([process])


def produce(rpc, title: str) -> None:
    """One event of every type the consumers take, each about something called ``title``."""
    published = rpc.catalog.create_entry(entry_data(title=f"{title} Dorfladen"))
    rpc.catalog.update_entry(published["id"], {"summary": "Neu"}, published["version"])
    rpc.catalog.withdraw_entry(published["id"], "weg")
    submitted = rpc.catalog.create_entry({**entry_data(title=f"{title} Idee"), "publish": False})
    rpc.catalog.review_entry(submitted["id"], {"action": "reject", "reason": "doppelt", "version": 1})
    rpc.catalog.create_article({"type": "news", "title": f"{title} Nachricht", "body": "Text"})
    survey = rpc.survey.create_survey({"kind": "poll", "title": f"{title} Umfrage", "options": ["Ja", "Nein"]})
    rpc.survey.publish_survey(survey["id"])


def test_a_poison_event_is_dead_lettered_by_each_consumer_and_applied_once_after_the_fix(platform):
    wrapped, rabbit_uri = platform["handlers"], platform["rabbit_uri"]
    queues = {queue for _, _, queue in handlers()}
    with staff_rpc(rabbit_uri, ADMIN) as rpc:
        produce(rpc, POISON)
        produce(rpc, "Gut")
    # every consumer applied its good event, and gave up on its poison one after the retries
    assert wait_for(lambda: {queue for queue, _ in wrapped.applied} == queues, seconds=60), set(wrapped.applied)
    assert wait_for(lambda: queue_counts(rabbit_uri).get(topology.DEAD_LETTER_QUEUE, (0, 0))[0] == len(queues),
                    seconds=60), queue_counts(rabbit_uri)
    letters = dead_letters(rabbit_uri)
    assert {letter["queue"] for letter in letters} == queues
    assert all("RuntimeError: poison in" in letter["error"] and letter["attempts"] == len(DELAYS) + 1
               for letter in letters), letters
    applied_before = Counter(wrapped.applied)

    wrapped.buggy = False   # the fix is deployed
    replayed = CliRunner().invoke(kosi, ["dlq", "replay", "--all"])
    assert replayed.exit_code == 0, replayed.output
    assert wait_for(lambda: sum(wrapped.applied.values()) == sum(applied_before.values()) + len(queues), seconds=60)
    assert settled(rabbit_uri, *queues, topology.DEAD_LETTER_QUEUE)
    assert all(times == 1 for times in wrapped.applied.values()), wrapped.applied   # each once, none twice
    assert CliRunner().invoke(kosi, ["dlq", "replay", "--all"]).exit_code == 0       # nothing left to replay
    assert sum(wrapped.applied.values()) == sum(applied_before.values()) + len(queues)


def test_a_slow_consumer_grows_its_own_queue_only_and_shows_it_in_metrics(platform, gateway):
    wrapped, rabbit_uri = platform["handlers"], platform["rabbit_uri"]
    crawling = topology.consumer_queue_name("search", "entry-published")
    other = topology.consumer_queue_name("notify", "entry-published")
    wrapped.crawling.add(crawling)
    with staff_rpc(rabbit_uri, ADMIN) as rpc:   # the producer is answered while its consumer crawls
        created = [rpc.catalog.create_entry(entry_data(title=f"Langsam {number}")) for number in range(25)]
    assert wait_for(lambda: wrapped.times(other) == len(created), seconds=30)   # the other consumer keeps up
    assert wrapped.times(crawling) == 0
    assert queue_counts(rabbit_uri)[crawling][0] >= 10   # beyond what its workers hold, the queue waits

    def backlog():   # the management API's numbers lag by its statistics interval (5 s)
        metrics = requests.get(f"{gateway}/metrics", timeout=10).text
        return [float(line.split()[-1]) for line in metrics.splitlines()
                if line.startswith(f'kosi_broker_queue_messages{{queue="{crawling}",state="ready"}}')]
    assert wait_for(lambda: (backlog() or [0])[0] >= 10, seconds=30), backlog()
    wrapped.go()
    assert settled(rabbit_uri, crawling, seconds=60)
    assert wrapped.times(crawling) == len(created)
