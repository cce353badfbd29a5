"""Mails over real SMTP (the sink in its own process): what arrives, headers included; what
the delivery log keeps; retries of transient failures and hard bounces."""
import pytest
import sqlalchemy as sa

from services.notify import alerts, reviews
from services.notify.compose import Composer
from services.notify.mail import MailSettings
from services.notify.models import alert_keys, deliveries, subscribers
from services.notify.sender import DatabaseWasAway, Sender, SendSettings
from services.notify.smtp import SmtpSettings, SmtpTransport
from tests.notify.conftest import SETTINGS, html_part, text_part
from tests.notify.test_subscriptions_and_alerts import NOW, SCHEDULE, confirmed, entry, rows, subscribe

MAIL = MailSettings(base_url="https://kosi.example", domain="kosi.example", centre_address="Magdeburg")


def sender_for(engine, mailbox, **options) -> Sender:
    transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=mailbox.port, timeout=10))
    settings = SendSettings(rate_per_second=0, backoff_seconds=0, **options)
    return Sender(engine, transport, Composer(MAIL, SETTINGS), settings)


def send_all(sender) -> None:
    while sender.send_batch():
        pass
    sender.transport.close()


def test_a_confirmation_mail_arrives_with_its_link_and_the_log_keeps_no_address(make_uow, notify_engine, mailbox):
    subscribe(make_uow, "ada@example.org", newsletter=True, language="en")
    send_all(sender_for(notify_engine, mailbox))
    [mail] = mailbox.to("ada@example.org")
    [delivery] = rows(make_uow, deliveries)
    assert mail["Message-ID"] == f"<{delivery['id']}@kosi.example>"
    assert mail["Subject"] == "Please confirm your subscription"
    assert "List-Unsubscribe" not in mail  # nothing to leave yet
    assert "https://kosi.example/abo/bestaetigen?token=" in text_part(mail)
    assert "bestaetigen?token=" in html_part(mail) and "Magdeburg" in text_part(mail)
    assert delivery["state"] == "sent" and delivery["recipient"] is None and delivery["context"] is None


def test_an_alert_mail_has_one_click_unsubscribe_headers_and_escaped_html(make_uow, notify_engine, mailbox):
    ada = confirmed(make_uow, "ada@example.org", alerts={})
    send_all(sender_for(notify_engine, mailbox))  # the confirmation
    mailbox.clear()
    with make_uow() as uow:
        alerts.record_and_match(uow.session, entry(title="Wohnen <b>&</b> Leben"), SCHEDULE, NOW)
        alerts.compose_due(uow.session, SCHEDULE, SCHEDULE.due("immediately", NOW))
        uow.commit()
    send_all(sender_for(notify_engine, mailbox))
    [mail] = mailbox.to("ada@example.org")
    assert mail["Subject"] == "Neu: Wohnen <b>&</b> Leben"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://kosi.example/api/v1/subscriptions/unsubscribe?token=")
    page = "https://kosi.example/abo/abmelden?" + unsubscribe.split("?")[1]  # the same token, on a page
    assert page in text_part(mail) and page in html_part(mail)
    assert "Wohnen &lt;b&gt;&amp;&lt;/b&gt; Leben" in html_part(mail) and "<b>&</b>" not in html_part(mail)
    assert "https://kosi.example/eintrag/e1" in text_part(mail)
    assert ada["id"] not in mail.as_string()


def test_a_review_mail_carries_the_reason_and_forgets_address_and_reason_once_sent(make_uow, notify_engine,
                                                                                    mailbox):
    data = {"id": "e9", "version": 3, "title": "Nachbarschaftshilfe", "rejection_reason": "Kein Bezug zum Land"}
    with make_uow() as uow:
        assert reviews.queue_decision_mail(uow.session, data, "rejected", {"email": "sub@example.org"})
        assert not reviews.queue_decision_mail(uow.session, data, "rejected", {"email": "sub@example.org"})
        uow.commit()
    send_all(sender_for(notify_engine, mailbox))
    [mail] = mailbox.to("sub@example.org")
    assert "Kein Bezug zum Land" in text_part(mail) and "nicht veröffentlicht" in mail["Subject"]
    [delivery] = rows(make_uow, deliveries)
    assert delivery["recipient"] is None and delivery["context"] is None and delivery["state"] == "sent"


def test_transient_failures_are_retried_and_hard_bounces_stop_mail_to_an_address(make_uow, notify_engine, mailbox):
    subscribe(make_uow, "later@busy.invalid", newsletter=True)
    subscribe(make_uow, "gone@bounce.invalid", newsletter=True)
    sender = sender_for(notify_engine, mailbox, hard_bounce_limit=1)
    send_all(sender)
    states = {row["subscriber_id"]: row for row in rows(make_uow, deliveries)}
    people = {row["email"]: row for row in rows(make_uow, subscribers)}
    gone, later = states[people["gone@bounce.invalid"]["id"]], states[people["later@busy.invalid"]["id"]]
    assert gone["state"] == "failed" and gone["error"].startswith("550") and gone["recipient"] is None
    assert people["gone@bounce.invalid"]["status"] == "bounced"
    # the busy one was refused once (451), tried again (no backoff here) and delivered
    assert later["state"] == "sent" and later["attempts"] == 2
    assert len(mailbox.to("later@busy.invalid")) == 1 and mailbox.to("gone@bounce.invalid") == []


def test_a_subscriber_whose_alerts_bounce_is_matched_no_more(make_uow, notify_engine, mailbox):
    gone = confirmed(make_uow, "gone@bounce.invalid", alerts={})
    assert rows(make_uow, alert_keys, alert_keys.c.subscriber_id == gone["id"])
    with make_uow() as uow:
        assert alerts.record_and_match(uow.session, entry(), SCHEDULE, NOW) == 1
        alerts.compose_due(uow.session, SCHEDULE, SCHEDULE.due("immediately", NOW))
        uow.commit()
    send_all(sender_for(notify_engine, mailbox, hard_bounce_limit=1))  # confirmation and alert: 550
    assert rows(make_uow, subscribers)[0]["status"] == "bounced"
    assert rows(make_uow, alert_keys) == []
    with make_uow() as uow:
        assert alerts.record_and_match(uow.session, entry(key="entry:e2"), SCHEDULE, NOW) == 0


def test_a_crashed_sender_s_claims_are_taken_over_after_their_lease(make_uow, notify_engine, mailbox):
    subscribe(make_uow, "ada@example.org", newsletter=True)
    crashed = sender_for(notify_engine, mailbox, lease_seconds=0)
    assert len(crashed.claim()) == 1  # claimed, then the process "died"
    send_all(sender_for(notify_engine, mailbox))
    assert len(mailbox.to("ada@example.org")) == 1
    assert rows(make_uow, deliveries, deliveries.c.state == "sent")
    with notify_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == 1


def database_away_once_after_sending(monkeypatch) -> None:
    """The first record of a sent mail fails as when PostgreSQL restarts (the mail went out)."""
    away = [True]
    real_finish = Sender._finish

    def finish(self, connection, delivery, state, error, bounced=False):
        if state == "sent" and away:
            away.pop()
            raise sa.exc.OperationalError("UPDATE deliveries", {}, Exception("server closed the connection"))
        return real_finish(self, connection, delivery, state, error, bounced)

    monkeypatch.setattr(Sender, "_finish", finish)


def test_a_sent_mail_is_recorded_even_when_the_database_goes_away_after_sending(make_uow, notify_engine, mailbox,
                                                                                 monkeypatch):
    """Found by the fault suite (PostgreSQL restarted while mails went out): the mail went out,
    its record failed, and the lease sent it a second time."""
    subscribe(make_uow, "ada@example.org", newsletter=True)
    database_away_once_after_sending(monkeypatch)
    sender = sender_for(notify_engine, mailbox, lease_seconds=0)   # a lost record would be resent at once
    sender.sleep = lambda seconds: None
    with pytest.raises(DatabaseWasAway):
        sender.send_batch()
    send_all(sender)
    assert len(mailbox.to("ada@example.org")) == 1
    assert [row["state"] for row in rows(make_uow, deliveries)] == ["sent"]


def test_the_rest_of_a_batch_cut_short_by_the_database_goes_out_without_waiting_for_its_lease(
        make_uow, notify_engine, mailbox, monkeypatch):
    for address in ("ada@example.org", "grace@example.org", "hedy@example.org"):
        subscribe(make_uow, address, newsletter=True)
    database_away_once_after_sending(monkeypatch)
    sender = sender_for(notify_engine, mailbox, lease_seconds=3600)   # a lease that would hold them for an hour
    sender.sleep = lambda seconds: None
    with pytest.raises(DatabaseWasAway):
        sender.send_batch()
    send_all(sender)
    assert sorted(mail["To"] for mail in mailbox.messages()) == [
        "ada@example.org", "grace@example.org", "hedy@example.org"]
    assert {row["state"] for row in rows(make_uow, deliveries)} == {"sent"}
