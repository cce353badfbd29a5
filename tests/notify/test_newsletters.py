"""Newsletters on the real database and over real SMTP: picked items, preview, a test copy,
a segment, progress, and queuing that never mails anyone twice."""
from datetime import datetime, timezone

import pytest

from kernel.errors import Forbidden, InvalidTransition
from services.notify import newsletters
from services.notify.compose import Composer
from services.notify.models import deliveries
from tests.notify.conftest import SETTINGS, html_part, text_part
from tests.notify.test_sender import MAIL, send_all, sender_for
from tests.notify.test_subscriptions_and_alerts import confirmed, rows

EDITOR = {"sub": "editor-1", "roles": ["editor"]}
ITEM = {"type": "entry", "id": "e1", "title": "Dorfladen <Wippra>", "summary": "In Bürgerhand",
        "path": "/eintrag/e1"}


def create(make_uow, picked=None, **data):
    asked = []

    def pick_items(since, themes, regions):
        asked.append((since, themes, regions))
        return picked or [ITEM]

    with make_uow() as uow:
        letter = newsletters.create_newsletter(uow, {"subject": "Neues im Dezember", "intro": "Liebe Leute,\n\nhallo.",
                                                     **data}, EDITOR, pick_items)
    return letter, asked


def test_items_are_picked_from_what_was_published_since_the_last_newsletter(make_uow):
    letter, asked = create(make_uow, themes=["wohnen"])
    assert asked == [(None, ["wohnen"], [])] and letter["items"] == [ITEM] and letter["status"] == "draft"
    given, asked = create(make_uow, items=[])
    assert asked == [] and given["items"] == []
    with make_uow() as uow, pytest.raises(Forbidden):
        newsletters.create_newsletter(uow, {"subject": "x"}, None, lambda *_: [])


def test_newsletters_are_listed_newest_first_for_staff_only(make_uow):
    older, _ = create(make_uow, subject="Oktober")
    newer, _ = create(make_uow, subject="November")
    with make_uow() as uow:
        page = newsletters.list_newsletters(uow, {"page": 1, "per_page": 1}, EDITOR)
    assert page["total"] == 2 and [item["subject"] for item in page["items"]] == ["November"]
    assert page["items"][0]["progress"] == {"recipients": 0, "sent": 0, "failed": 0, "pending": 0}
    with make_uow() as uow, pytest.raises(Forbidden):
        newsletters.list_newsletters(uow, {}, None)


def test_preview_shows_html_and_text_with_the_items_escaped(make_uow):
    letter, _ = create(make_uow)
    with make_uow() as uow:
        shown = newsletters.preview(uow, letter["id"], EDITOR, Composer(MAIL, SETTINGS))
    assert "Dorfladen &lt;Wippra&gt;" in shown["html"] and "Dorfladen <Wippra>" in shown["text"]
    assert "<p>hallo.</p>" in shown["html"] and shown["subject"] == "Neues im Dezember"


def test_sending_mails_the_segment_once_each_and_reports_progress(make_uow, notify_engine, mailbox):
    harz = confirmed(make_uow, "harz@example.org", newsletter=True, alerts={"regions": ["15085"]})
    confirmed(make_uow, "halle@example.org", newsletter=True, alerts={"regions": ["15002"]})
    confirmed(make_uow, "alerts-only@example.org", alerts={"regions": ["15085"]})
    everyone, _ = create(make_uow)
    harz_only, _ = create(make_uow, segment={"regions": ["15085"]})
    send_all(sender_for(notify_engine, mailbox))  # the confirmations
    mailbox.clear()
    with make_uow() as uow:
        newsletters.queue_test(uow, everyone["id"], "redaktion@example.org", EDITOR)
        sending = newsletters.send_newsletter(uow, everyone["id"], EDITOR)
        newsletters.send_newsletter(uow, harz_only["id"], EDITOR)
        with pytest.raises(InvalidTransition):
            newsletters.send_newsletter(uow, everyone["id"], EDITOR)
    assert sending["progress"] == {"recipients": 2, "sent": 0, "failed": 0, "pending": 2}
    send_all(sender_for(notify_engine, mailbox))
    with make_uow() as uow:
        assert newsletters.finish_sent(uow.session) == 2
        uow.commit()
        done = newsletters.get_newsletter(uow, everyone["id"], EDITOR)
    assert done["status"] == "sent" and done["progress"] == {"recipients": 2, "sent": 2, "failed": 0, "pending": 0}
    [test_copy] = mailbox.to("redaktion@example.org")
    assert test_copy["Subject"] == "[TEST] Neues im Dezember" and "List-Unsubscribe" not in test_copy
    assert [mail["Subject"] for mail in mailbox.to("harz@example.org")] == ["Neues im Dezember"] * 2
    assert len(mailbox.to("halle@example.org")) == 1 and mailbox.to("alerts-only@example.org") == []
    mail = mailbox.to("halle@example.org")[0]
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    page = "https://kosi.example/abo/abmelden?" + unsubscribe.split("?")[1]  # the same token, on a page
    assert page in text_part(mail) and page in html_part(mail)
    ids = {row["id"] for row in rows(make_uow, deliveries) if row["kind"] == "newsletter"}
    assert {mail["Message-ID"] for mail in mailbox.to("harz@example.org")} == {
        f"<{delivery_id}@kosi.example>" for delivery_id in ids if any(
            r["id"] == delivery_id and r["subscriber_id"] == harz["id"] for r in rows(make_uow, deliveries))}


def test_queuing_a_newsletter_again_adds_nobody_twice(make_uow):
    confirmed(make_uow, "ada@example.org", newsletter=True)
    letter, _ = create(make_uow)
    row = {"id": letter["id"], "segment": {}}
    now = datetime.now(timezone.utc)
    with make_uow() as uow:
        assert newsletters._queue(uow.session, row, now) == 1
        assert newsletters._queue(uow.session, row, now) == 1  # a resumed queuing
        uow.commit()
