"""Subscriptions and newsletters over HTTP: the real gateway, catalog and notify services,
RabbitMQ, PostgreSQL, and mail over a real SMTP server (``tests.mail``). The links in the mails
point at this gateway and are followed as a person (or a mail provider) would."""
import logging
import re
from urllib.parse import urlsplit

import pytest

from gateway.service import GatewayService
from kernel import broker
from kernel.messaging import subscriptions_of
from services.catalog.service import CatalogService
from services.notify.service import NotifyService
from tests.databases import fresh_catalog_database, fresh_service_database
from tests.gateway.test_http import API, TEST_AUTH, assert_problem, bearer, entry_data
from tests.identity import GATEWAY_PUBLIC, GATEWAY_SIGNING, OPERATOR_PUBLIC
from tests.mail import text_part
from tests.notify.conftest import SETTINGS, unsent
from tests.wait import settled, wait_for

ADDRESS = "ada@example.org"


@pytest.fixture
def databases():
    return (fresh_catalog_database("kosi_test_notify_http_catalog"),
            fresh_service_database("notify", "kosi_test_notify_http"))


@pytest.fixture
def platform(rabbit_config, rabbit_uri, web_config, web_config_port, runner_factory, databases, smtp_sink):
    catalog_url, notify_url = databases
    broker.declare_topology(rabbit_uri, ["catalog", "survey"], subscriptions_of(NotifyService))
    runner = runner_factory({
        "CATALOG_DATABASE_URL": catalog_url, "NOTIFY_DATABASE_URL": notify_url, "AUTH": TEST_AUTH, "RPC_TIMEOUT": 10,
        "READY_SERVICES": ["catalog", "notify"], **GATEWAY_SIGNING, "serializer": "json",
        # one process, one config: notify signs its own calls with the key the gateway has here,
        # so the catalog trusts that key for the issuer notify as well
        "TRUSTED_SIGNERS": f"gateway:{GATEWAY_PUBLIC},kosi-cli:{OPERATOR_PUBLIC},notify:{GATEWAY_PUBLIC}",
        "NOTIFY_TOKEN_SECRET": SETTINGS.token_secret, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_sink.port,
        "SEND_RATE_PER_SECOND": 0, "ALERT_BATCH_SECONDS": 0, "SUBSCRIPTIONS_PER_WINDOW": 1000,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_config_port}"},
        CatalogService, NotifyService, GatewayService)
    runner.start()
    smtp_sink.clear()
    yield {"notify_url": notify_url}


def mails_to(mailbox, address, count):
    assert wait_for(lambda: len(mailbox.to(address)) >= count, seconds=30), \
        f"{count} mail(s) to {address} expected: {[(m['To'], m['Subject']) for m in mailbox.messages()]}"
    return mailbox.to(address)


# the pages the mails link to (services/notify/site.py), and the API route each of them calls
PAGES = {"confirm": "/abo/bestaetigen", "me": "/abo/einstellungen", "unsubscribe": "/abo/abmelden"}


def link(mail, route: str) -> str:
    """The API call behind a link of the mail (``confirm``, ``me``, ``unsubscribe``): its page's
    token on the API route the page calls."""
    url = re.search(rf"https?://\S+{PAGES[route]}\?token=[\w.-]+", text_part(mail)).group(0)
    return f"{API}/subscriptions/{route}?{urlsplit(url).query}"


def test_subscribe_confirm_alert_and_one_click_unsubscribe(platform, web_session, smtp_sink, rabbit_uri, caplog):
    caplog.set_level(logging.INFO, logger="nameko.web.server")
    asked = {"email": ADDRESS, "consent": "2026-11", "alerts": {"themes": ["wohnen"]}}
    first = web_session.post(f"{API}/subscriptions", json=asked)
    assert first.status_code == 202, first.text
    again = web_session.post(f"{API}/subscriptions", json={**asked, "email": "ADA@example.org"})
    unknown = web_session.post(f"{API}/subscriptions", json={**asked, "email": "niemand@example.org"})
    assert first.json() == again.json() == unknown.json()  # nothing tells who subscribed before
    confirmation, = mails_to(smtp_sink, ADDRESS, 1)

    confirmed = web_session.get(link(confirmation, "confirm"))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["alerts"]["themes"] == ["wohnen"]

    matching = web_session.post(f"{API}/entries", json=entry_data(title="Wohnprojekt Alte Schule",
                                                                 themes=["wohnen"]), headers=bearer())
    assert matching.status_code == 201, matching.text
    web_session.post(f"{API}/entries", json=entry_data(title="Reparaturcafé", themes=["arbeit"]), headers=bearer())
    alert = mails_to(smtp_sink, ADDRESS, 2)[1]
    assert alert["Subject"] == "Neu: Wohnprojekt Alte Schule"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    preferences = web_session.get(link(alert, "me"))
    assert preferences.status_code == 200 and preferences.json()["email"] == ADDRESS
    changed = web_session.patch(link(alert, "me"), json={"frequency": "immediately", "language": "en"})
    assert changed.status_code == 200 and changed.json()["language"] == "en", changed.text

    # what a mail provider does with RFC 8058's headers: POST the form to the List-Unsubscribe URL
    target = urlsplit(alert["List-Unsubscribe"].strip("<>"))
    looked = web_session.get(f"{target.path}?{target.query}")  # a link scanner's GET changes nothing
    assert looked.status_code == 200 and looked.json()["status"] == "confirmed"
    left = web_session.post(f"{target.path}?{target.query}", data="List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert left.status_code == 200, left.text
    assert left.json()["status"] == "unsubscribed"

    web_session.post(f"{API}/entries", json=entry_data(title="Wohnen im Alter", themes=["wohnen"]), headers=bearer())
    assert settled(rabbit_uri, "notify.entry-published")
    assert wait_for(lambda: unsent(platform["notify_url"]) == 0, seconds=15)
    assert [mail["Subject"] for mail in smtp_sink.to(ADDRESS)] == [
        "Bitte bestätigen Sie Ihr Abonnement", "Neu: Wohnprojekt Alte Schule"]
    # erasure on request: the link still works for that, and then nothing is left to show
    erased = web_session.delete(link(alert, "me"))
    assert erased.status_code == 200 and erased.json()["status"] == "erased", erased.text
    assert_problem(web_session.get(link(alert, "me")), 404)
    # the access log names neither the subscriber's address nor a token
    lines = [record.getMessage() for record in caplog.records if record.name == "nameko.web.server"]
    assert any("/subscriptions/unsubscribe?… " in line for line in lines), lines   # no query string at all
    assert not any("token=" in line for line in lines)
    assert not any(line.startswith("127.0.0.") for line in lines if "/subscriptions" in line)


def test_bad_subscription_input_is_a_problem_never_a_5xx(platform, web_session):
    assert_problem(web_session.post(f"{API}/subscriptions", json={"email": "kein-at", "consent": "v1",
                                                                   "newsletter": True}), 422, "email")
    assert_problem(web_session.post(f"{API}/subscriptions", json={"email": ADDRESS, "newsletter": True}),
                   422, "consent")
    assert_problem(web_session.post(f"{API}/subscriptions", json={"email": ADDRESS, "consent": "v1"}), 422)
    assert_problem(web_session.post(f"{API}/subscriptions", json={
        "email": ADDRESS, "consent": "v1", "alerts": {"themes": ["x" * 500], "bbox": "1,2,3"}}), 422, "alerts")
    assert_problem(web_session.get(f"{API}/subscriptions/me"), 422, "token")
    for forged in ("nonsense", "a.b.c", "x" * 1500):
        response = web_session.get(f"{API}/subscriptions/me", params={"token": forged})
        assert response.status_code in (404, 422) and response.headers["Content-Type"].startswith(
            "application/problem+json"), response.text
    unsubscribe = f"{API}/subscriptions/unsubscribe?token=nonsense"
    assert_problem(web_session.post(unsubscribe, data="List-Unsubscribe=Two-Clicks",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"}),
                   422, "List-Unsubscribe")
    assert_problem(web_session.post(unsubscribe, data="hello", headers={"Content-Type": "text/plain"}), 415)


def test_subscription_requests_are_limited_per_client_address(rabbit_config, web_config, runner_factory,
                                                               web_session):
    runner_factory({"AUTH": TEST_AUTH, **GATEWAY_SIGNING, "READY_SERVICES": [], "SUBSCRIPTIONS_PER_WINDOW": 2},
                   GatewayService).start()
    for _ in range(2):  # counted before anything else: no service is asked, a bad body counts too
        assert_problem(web_session.post(f"{API}/subscriptions", json={"email": "kein-at"}), 422)
    limited = assert_problem(web_session.post(f"{API}/subscriptions", json={"email": ADDRESS}), 429)
    assert "subscription requests" in limited["detail"]


def test_an_editor_composes_previews_tests_and_sends_a_newsletter(platform, web_session, smtp_sink):
    asked = {"email": ADDRESS, "consent": "2026-11", "newsletter": True}
    assert web_session.post(f"{API}/subscriptions", json=asked).status_code == 202
    confirmation, = mails_to(smtp_sink, ADDRESS, 1)
    assert web_session.get(link(confirmation, "confirm")).status_code == 200
    web_session.post(f"{API}/entries", json=entry_data(title="Dorfladen Hohenberg"), headers=bearer())

    assert_problem(web_session.post(f"{API}/newsletters", json={"subject": "Juni"}), 401)
    created = web_session.post(f"{API}/newsletters", json={"subject": "Neues im Juni", "intro": "Liebe Leute,"},
                               headers=bearer())
    assert created.status_code == 201, created.text
    newsletter = created.json()
    assert [item["title"] for item in newsletter["items"]] == ["Dorfladen Hohenberg"]  # picked for the editor
    path = f"{API}/newsletters/{newsletter['id']}"
    edited = web_session.patch(path, json={"subject": "Neues aus dem Land"},
                               headers={**bearer(), "If-Match": created.headers["ETag"]})
    assert edited.status_code == 200 and edited.json()["version"] == 2, edited.text
    preview = web_session.get(f"{path}/preview", headers=bearer()).json()
    assert "Dorfladen Hohenberg" in preview["html"] and "Dorfladen Hohenberg" in preview["text"]
    tested = web_session.post(f"{path}/test", json={"test_to": "redaktion@example.org"}, headers=bearer())
    assert tested.status_code == 202, tested.text
    mails_to(smtp_sink, "redaktion@example.org", 1)

    sent = web_session.post(f"{path}/send", headers=bearer())
    assert sent.status_code == 202 and sent.json()["progress"]["recipients"] == 1, sent.text
    assert_problem(web_session.post(f"{path}/send", headers=bearer()), 409)
    assert mails_to(smtp_sink, ADDRESS, 2)[1]["Subject"] == "Neues aus dem Land"
    assert wait_for(lambda: web_session.get(path, headers=bearer()).json()["status"] == "sent", seconds=30)
    progress = web_session.get(path, headers=bearer()).json()["progress"]
    assert progress == {"recipients": 1, "sent": 1, "failed": 0, "pending": 0}
    listed = web_session.get(f"{API}/newsletters", headers=bearer()).json()
    assert [item["id"] for item in listed["items"]] == [newsletter["id"]]
