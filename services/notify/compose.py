"""What each delivery says: the mail of a ``deliveries`` row, rendered when it is sent.

Subscriber mails are addressed from the subscriber row (the delivery keeps no address) and
only while the subscriber may get them: a confirmation while pending, anything else once
confirmed. A newsletter is rendered and built once (``mail.MessageTemplate``); each recipient's
copy differs only in address, Message-ID, date and links.
"""
from dataclasses import dataclass

import sqlalchemy as sa

from services.notify import site, subscriptions
from services.notify.mail import Mail, MailSettings, MessageTemplate, Renderer, build_message
from services.notify.models import alerts, items, newsletters
from services.notify.texts import texts

MANAGE_MARK, UNSUBSCRIBE_MARK = "@@MANAGE@@", "@@UNSUBSCRIBE@@"


@dataclass(frozen=True)
class Outgoing:
    recipient: str
    message: bytes


class Composer:
    def __init__(self, mail_settings: MailSettings, subscription_settings: subscriptions.Settings):
        self.mail_settings = mail_settings
        self.renderer = Renderer(mail_settings)
        self.subscription_settings = subscription_settings
        self._newsletters: dict[tuple, MessageTemplate] = {}

    def compose(self, connection, delivery: dict) -> Outgoing | None:
        """The mail of ``delivery`` (a row with its subscriber's ``email``, ``status``,
        ``token_version`` when it has one), or None when it must not be sent any more."""
        kind = delivery["kind"]
        if delivery["subscriber_id"] is not None:
            allowed = ("pending", "confirmed", "bounced") if kind == "confirm" else ("confirmed",)
            if delivery["status"] not in allowed:
                return None
        return getattr(self, f"_{kind}")(connection, delivery)

    # ------------------------------------------------------------------ per kind

    def _subscriber_links(self, delivery: dict) -> dict:
        subscriber = {"id": delivery["subscriber_id"], "token_version": delivery["token_version"]}
        token = subscriptions.manage_token(self.subscription_settings, subscriber)
        return {name: self.renderer.url(path) for name, path in site.subscriber_paths(token).items()}

    def _to_subscriber(self, delivery: dict, mail: Mail, links: dict) -> Outgoing:
        return Outgoing(delivery["email"], build_message(mail, delivery["email"], delivery["id"], self.mail_settings,
                                                         unsubscribe_url=links["one_click"]))

    def _confirm(self, connection, delivery: dict) -> Outgoing:
        subscriber = {"id": delivery["subscriber_id"], "token_version": delivery["token_version"]}
        token = subscriptions.confirm_token(self.subscription_settings, subscriber)
        language = delivery["language"]
        links = {"confirm": self.renderer.url(site.confirm_path(token))}
        mail = self.renderer.render("confirm", language, texts(language)["confirm_subject"], links)
        return Outgoing(delivery["email"], build_message(mail, delivery["email"], delivery["id"], self.mail_settings))

    def _alert(self, connection, delivery: dict) -> Outgoing | None:
        rows = connection.execute(
            sa.select(items.c.title, items.c.summary, items.c.path).join(alerts, alerts.c.item_key == items.c.key)
            .where(alerts.c.delivery_id == delivery["id"]).order_by(items.c.published_at)).all()
        if not rows:
            return None
        language, t = delivery["language"], texts(delivery["language"])
        entries = [{"title": row.title, "summary": row.summary, "url": self.renderer.url(row.path)} for row in rows]
        subject = (t["alert_subject_one"].format(title=rows[0].title[:120]) if len(rows) == 1
                   else t["alert_subject_many"].format(count=len(rows)))
        heading = {"daily": t["digest_daily"], "weekly": t["digest_weekly"]}.get(delivery["frequency"])
        links = self._subscriber_links(delivery)
        mail = self.renderer.render("items", language, subject, links, heading=heading, intro=[t["alert_intro"]],
                                    items=entries)
        return self._to_subscriber(delivery, mail, links)

    def _newsletter_template(self, connection, newsletter_id: str, test: bool) -> MessageTemplate | None:
        cache_key = (newsletter_id, test)
        if cache_key not in self._newsletters:
            row = connection.execute(sa.select(newsletters).where(newsletters.c.id == newsletter_id)).mappings().first()
            if row is None:
                return None
            self._newsletters[cache_key] = MessageTemplate(self.newsletter_mail(row, test), self.mail_settings,
                                                           unsubscribe=not test)
            if len(self._newsletters) > 8:
                self._newsletters.pop(next(iter(self._newsletters)))
        return self._newsletters[cache_key]

    def newsletter_mail(self, row, test: bool = False, links: dict | None = None) -> Mail:
        language = row["language"]
        entries = [{"title": item["title"], "summary": item.get("summary"), "url": self.renderer.url(item["path"])}
                   for item in row["items"]]
        subject = (texts(language)["test_marker"] if test else "") + row["subject"]
        intro = [part.strip() for part in row["intro"].split("\n\n") if part.strip()]
        links = links or {"manage": MANAGE_MARK, "unsubscribe": UNSUBSCRIBE_MARK}
        return self.renderer.render("items", language, subject, links, heading=row["subject"], intro=intro,
                                    items=entries)

    def _newsletter(self, connection, delivery: dict) -> Outgoing | None:
        template = self._newsletter_template(connection, delivery["ref"], test=False)
        if template is None:
            return None
        links = self._subscriber_links(delivery)
        return Outgoing(delivery["email"], template.copy(delivery["email"], delivery["id"],
                                                         lambda text: _with_links(text, links), links["one_click"]))

    def _test(self, connection, delivery: dict) -> Outgoing | None:
        template = self._newsletter_template(connection, delivery["ref"], test=True)
        if template is None:
            return None
        placeholders = {"manage": "#", "unsubscribe": "#"}
        return Outgoing(delivery["recipient"], template.copy(delivery["recipient"], delivery["id"],
                                                             lambda text: _with_links(text, placeholders)))

    def _review(self, connection, delivery: dict) -> Outgoing | None:
        context, language = delivery["context"] or {}, delivery["language"]
        if not delivery["recipient"] or not context:
            return None
        t = texts(language)
        subject = t[f"review_{context['decision']}_subject"].format(title=context["title"][:120])
        mail = self.renderer.render("review", language, subject, personal=True, decision=context["decision"],
                                    reason=context.get("reason"), title=context["title"],
                                    url=self.renderer.url(context["path"]))
        return Outgoing(delivery["recipient"], build_message(mail, delivery["recipient"], delivery["id"],
                                                             self.mail_settings))

    def _review_digest(self, connection, delivery: dict) -> Outgoing | None:
        context, language = delivery["context"] or {}, delivery["language"]
        if not delivery["recipient"] or not context.get("entries"):
            return None
        t = texts(language)
        entries = [{"title": entry["title"], "summary": entry.get("summary"), "url": self.renderer.url(entry["path"])}
                   for entry in context["entries"]]
        subject = t["review_digest_subject"].format(count=len(entries))
        mail = self.renderer.render("items", language, subject, heading=subject, intro=[t["review_digest_body"]],
                                    items=entries)
        return Outgoing(delivery["recipient"], build_message(mail, delivery["recipient"], delivery["id"],
                                                             self.mail_settings))


def _with_links(text: str, links: dict) -> str:
    return text.replace(MANAGE_MARK, links["manage"]).replace(UNSUBSCRIBE_MARK, links["unsubscribe"])
