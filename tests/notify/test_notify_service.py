"""The notify service with the catalog and RabbitMQ, mails over the real SMTP sink: the journey
of a subscriber from the subscription to the unsubscription, alerts once per item, the
submitter who hears about a rejection, and a newsletter."""
import re

import pytest
from nameko.standalone.rpc import ClusterRpcClient

from kernel import broker
from kernel.messaging import subscriptions_of
from services.catalog.service import CatalogService
from services.notify.service import NotifyService
from services.search.service import SearchService
from tests.databases import fresh_catalog_database, fresh_service_database
from tests.identity import NOTIFY_KEY, SERVICE_TRUST, staff_rpc
from tests.notify.conftest import SETTINGS, text_part, unsent
from tests.search.test_search_service import entry_data
from tests.wait import settled, wait_for

EDITOR = {"sub": "editor-1", "roles": ["editor"]}


@pytest.fixture
def notify_url():
    return fresh_service_database("notify", "kosi_test_notify_service")


@pytest.fixture
def platform(rabbit_config, rabbit_uri, runner_factory, notify_url, smtp_sink, tmp_path):
    catalog_url = fresh_catalog_database("kosi_test_notify_catalog")
    broker.declare_topology(rabbit_uri, ["catalog", "survey"], subscriptions_of(NotifyService) +
                            subscriptions_of(SearchService))
    runner = runner_factory({
        "CATALOG_DATABASE_URL": catalog_url, "NOTIFY_DATABASE_URL": notify_url, "SEARCH_BACKEND": "tantivy",
        "SEARCH_INDEX_PATH": str(tmp_path / "index"), "SEARCH_AUTO_REFILL": False,
        "NOTIFY_TOKEN_SECRET": SETTINGS.token_secret, "ACTOR_SIGNING_KEY": NOTIFY_KEY,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_sink.port, "SEND_RATE_PER_SECOND": 0,
        "ALERT_BATCH_SECONDS": 0, "PUBLIC_BASE_URL": "https://kosi.example", **SERVICE_TRUST},
        CatalogService, NotifyService, SearchService)
    runner.start()
    smtp_sink.clear()
    yield runner


def anonymous(rabbit_uri):
    return ClusterRpcClient(timeout=20, uri=rabbit_uri)


def token_in(mail, page: str) -> str:
    return re.search(rf"/abo/{page}\?token=([\w.-]+)", text_part(mail)).group(1)


def one_mail(mailbox, address, count=1):
    assert wait_for(lambda: len(mailbox.to(address)) >= count, seconds=30), \
        f"no mail to {address}: {[(m['To'], m['Subject']) for m in mailbox.messages()]}"
    return mailbox.to(address)[count - 1]


def settle(rabbit_uri):
    assert settled(rabbit_uri, "notify.entry-published", "notify.entry-rejected", "notify.entry-withdrawn")


def test_the_journey_of_a_subscriber(platform, rabbit_uri, smtp_sink, notify_url):
    with anonymous(rabbit_uri) as public:
        public.notify.subscribe({"email": "ada@example.org", "consent": "2026-11",
                                 "alerts": {"themes": ["wohnen"]}})
        confirmation = one_mail(smtp_sink, "ada@example.org")
        assert public.notify.confirm_subscription(token_in(confirmation, "bestaetigen"))["status"] == "confirmed"
    with staff_rpc(rabbit_uri, EDITOR) as staff:
        theme, other = "wohnen", "arbeit"
        matching = staff.catalog.create_entry(entry_data(title="Wohnprojekt Alte Schule", themes=[theme]))
        staff.catalog.create_entry(entry_data(title="Reparaturcafé", themes=[other]))
        alert = one_mail(smtp_sink, "ada@example.org", 2)
        assert alert["Subject"] == "Neu: Wohnprojekt Alte Schule"
        assert f"/eintrag/{matching['id']}" in text_part(alert)
        # withdrawn and published again: no second alert
        staff.catalog.withdraw_entry(matching["id"], "Pause")
        withdrawn = staff.catalog.get_entry(matching["id"])
        staff.catalog.review_entry(matching["id"], {"action": "publish", "version": withdrawn["version"]})
        settle(rabbit_uri)
        with anonymous(rabbit_uri) as public:  # one-click unsubscribe, then nothing more
            unsubscribe = alert["List-Unsubscribe"].strip("<>")
            assert public.notify.unsubscribe(unsubscribe.split("token=")[1])["status"] == "unsubscribed"
        staff.catalog.create_entry(entry_data(title="Wohnen im Alter in Halle", themes=[theme]))
        settle(rabbit_uri)
    wait_for(lambda: unsent(notify_url) == 0, seconds=15)
    assert [mail["Subject"] for mail in smtp_sink.to("ada@example.org")] == [
        "Bitte bestätigen Sie Ihr Abonnement", "Neu: Wohnprojekt Alte Schule"]


def test_a_saved_search_alerts_what_search_would_find_with_its_german_analysis(platform, rabbit_uri, smtp_sink):
    with anonymous(rabbit_uri) as public:
        public.notify.subscribe({"email": "ada@example.org", "consent": "2026-11",
                                 "alerts": {"q": "Wohnprojekte Altmark"}})
        public.notify.confirm_subscription(token_in(one_mail(smtp_sink, "ada@example.org"), "bestaetigen"))
    with staff_rpc(rabbit_uri, EDITOR) as staff:
        staff.catalog.create_entry(entry_data(title="Reparaturcafé", summary="Werkzeug und Kaffee"))
        staff.catalog.create_entry(entry_data(title="Gemeinsames Wohnprojekt in der Altmark"))
        alert = one_mail(smtp_sink, "ada@example.org", 2)
        settle(rabbit_uri)
    assert alert["Subject"] == "Neu: Gemeinsames Wohnprojekt in der Altmark"  # Wohnprojekte ~ Wohnprojekt
    assert len(smtp_sink.to("ada@example.org")) == 2


def test_a_rejected_submitter_hears_the_reason_and_nobody_else_sees_it(platform, rabbit_uri, smtp_sink):
    with anonymous(rabbit_uri) as public:
        submitted = public.catalog.create_entry(entry_data(title="Nachbarschaftsnetz",
                                                           contact={"email": "buerger@example.org"}))
    with staff_rpc(rabbit_uri, EDITOR) as staff:
        staff.catalog.review_entry(submitted["id"], {"action": "reject", "reason": "Liegt außerhalb des Landes",
                                                     "version": 1})
    mail = one_mail(smtp_sink, "buerger@example.org")
    assert "Liegt außerhalb des Landes" in text_part(mail) and "nicht veröffentlicht" in mail["Subject"]
    with anonymous(rabbit_uri) as public:
        listed = str(public.catalog.list_entries({}))
        assert "buerger@example.org" not in listed and "außerhalb des Landes" not in listed
