"""nameko entrypoints of the notify service: subscriptions, newsletters, the events it
consumes, and the mail it sends (``sender``, in a thread beside the workers).

Who may do what: the holder of a subscription's link (a signed token) manages it; staff
(``self.caller.actor``) compose and send newsletters. The catalog is asked for a submitter's
address with notify's own identity (``RpcAsService``): no event carries one.
"""
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import nameko
import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from nameko.rpc import ServiceRpc
from nameko.timer import timer

from contracts.catalog import events as catalog_events  # noqa: F401 (registers the contracts consumed)
from contracts.notify.api import (NewsletterCreateSchema, NewsletterQuerySchema, NewsletterSendSchema,
                                  NewsletterUpdateSchema, PreferencesSchema, SubscribeSchema)
from contracts.search.api import MAX_PERCOLATE_QUERIES
from contracts.survey import events as survey_events  # noqa: F401
from kernel import tokens
from kernel.dependencies import CallerIdentity, Database, Tracing, database_url_key
from kernel.ops import OpsEndpoint
from kernel.inbox import apply_once
from kernel.messaging import reliable_event_handler
from kernel.roles import require_admin
from kernel.rows import utcnow
from kernel.rpc import RpcAsService, rpc
from kernel.schemas import load_input, with_expected_version
from services.notify import alerts, newsletters, reviews, site, subscriptions
from services.notify.compose import Composer
from services.notify.mail import MailSettings
from services.notify.models import metadata
from services.notify.sender import Sender, SendSettings, sender_engine
from services.notify.smtp import SmtpSettings, SmtpTransport


TICK_SECONDS = 5
PICK_LIMIT = 30


def _settings(config) -> dict:
    def number(key, default) -> float:
        value = config.get(key)
        return float(default if value in (None, "") else value)

    return {
        "subscriptions": subscriptions.Settings(
            token_secret=tokens.check_secret(config.get("NOTIFY_TOKEN_SECRET"), "NOTIFY_TOKEN_SECRET"),
            confirm_ttl_hours=number("CONFIRM_TOKEN_TTL_HOURS", 48), manage_ttl_days=number("MANAGE_TOKEN_TTL_DAYS", 365),
            confirm_interval_minutes=number("CONFIRM_MAIL_INTERVAL_MINUTES", 15),
            pending_ttl_hours=number("PENDING_TTL_HOURS", 72),
            unsubscribed_retention_days=number("UNSUBSCRIBED_RETENTION_DAYS", 30),
            delivery_retention_days=number("DELIVERY_RETENTION_DAYS", 365)),
        "schedule": alerts.Schedule(batch_seconds=number("ALERT_BATCH_SECONDS", 60),
                                    digest_hour=int(number("DIGEST_HOUR", 7)),
                                    timezone=str(config.get("DIGEST_TIMEZONE") or "Europe/Berlin"),
                                    daily_cap=int(number("ALERT_DAILY_CAP", 10))),
        "mail": MailSettings(sender=str(config.get("MAIL_FROM") or MailSettings.sender),
                             domain=str(config.get("MAIL_DOMAIN") or MailSettings.domain),
                             base_url=str(config.get("PUBLIC_BASE_URL") or MailSettings.base_url),
                             centre_name=str(config.get("CENTRE_NAME") or MailSettings.centre_name),
                             centre_address=str(config.get("CENTRE_ADDRESS") or MailSettings.centre_address)),
        "send": SendSettings(rate_per_second=number("SEND_RATE_PER_SECOND", 50),
                             max_attempts=int(number("SEND_MAX_ATTEMPTS", 8)),
                             lease_seconds=number("SEND_LEASE_SECONDS", 60),
                             backoff_seconds=number("SEND_BACKOFF_SECONDS", 30),
                             hard_bounce_limit=int(number("HARD_BOUNCE_LIMIT", 3))),
        "smtp": SmtpSettings(host=str(config.get("SMTP_HOST") or "localhost"), port=int(number("SMTP_PORT", 8025)),
                             security=str(config.get("SMTP_SECURITY") or "none"),
                             username=str(config.get("SMTP_USERNAME") or ""),
                             password=str(config.get("SMTP_PASSWORD") or ""),
                             timeout=number("SMTP_TIMEOUT_SECONDS", 30),
                             ca_file=str(config.get("SMTP_CA_FILE") or "")),
        "editors": [address.strip() for address in str(config.get("REVIEW_DIGEST_TO") or "").split(",")
                    if address.strip()],
    }


class Mailer(DependencyProvider):
    """The settings, the composer, and the send loop in a thread beside the workers."""

    def setup(self):
        config = nameko.config
        for name, value in _settings(config).items():
            setattr(self, name, value)
        self.composer = Composer(self.mail, self.subscriptions)
        self.engine = sender_engine(config[database_url_key("notify")])
        self.sender = Sender(self.engine, SmtpTransport(self.smtp), self.composer, self.send)
        self._stopping = False
        self._wake = threading.Event()

    def start(self):
        self.container.spawn_managed_thread(self._run, identifier="notify-sender")

    def _run(self):
        self.sender.run(should_stop=lambda: self._stopping, wait=self._wait)

    def _wait(self, seconds):
        self._wake.wait(seconds)
        self._wake.clear()

    def wake(self):
        self._wake.set()

    def stop(self):
        self._stopping = True
        self._wake.set()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self


class NotifyService:
    name = "notify"

    db = Database(metadata, service="notify")
    caller = CallerIdentity()
    tracing = Tracing()
    ops = OpsEndpoint()
    mailer = Mailer()
    catalog = ServiceRpc("catalog")
    catalog_as_notify = RpcAsService("catalog")
    search_as_notify = RpcAsService("search")

    # ------------------------------------------------------------------ subscriptions (the public)
    @rpc
    def subscribe(self, data):
        data = load_input(SubscribeSchema, data, what="subscription")
        with self.db() as uow:
            answer = subscriptions.subscribe(uow, data, self.mailer.subscriptions)
        self.mailer.wake()
        return answer

    @rpc
    def confirm_subscription(self, token):
        with self.db() as uow:
            return subscriptions.confirm(uow, token, self.mailer.subscriptions)

    @rpc
    def get_subscription(self, token):
        with self.db() as uow:
            return subscriptions.get_subscription(uow, token, self.mailer.subscriptions)

    @rpc
    def update_subscription(self, token, changes):
        changes = load_input(PreferencesSchema, changes, what="preferences")
        with self.db() as uow:
            return subscriptions.update_preferences(uow, token, changes, self.mailer.subscriptions)

    @rpc
    def unsubscribe(self, token):
        with self.db() as uow:
            return subscriptions.unsubscribe(uow, token, self.mailer.subscriptions)

    @rpc
    def erase_subscription(self, token):
        with self.db() as uow:
            subscriptions.erase(uow, token, self.mailer.subscriptions)
        return {"status": "erased", "message": "Your address and preferences are deleted."}

    # ------------------------------------------------------------------ newsletters (staff)
    @rpc
    def create_newsletter(self, data):
        data = load_input(NewsletterCreateSchema, data, what="newsletter")
        with self.db() as uow:
            return newsletters.create_newsletter(uow, data, self.caller.actor, self._pick_items)

    @rpc
    def update_newsletter(self, newsletter_id, changes, expected_version=None):
        changes = load_input(NewsletterUpdateSchema, with_expected_version(changes, expected_version))
        with self.db() as uow:
            return newsletters.update_newsletter(uow, newsletter_id, changes, self.caller.actor)

    @rpc
    def get_newsletter(self, newsletter_id):
        with self.db() as uow:
            return newsletters.get_newsletter(uow, newsletter_id, self.caller.actor)

    @rpc
    def list_newsletters(self, query=None):
        query = load_input(NewsletterQuerySchema, query or {}, what="query")
        with self.db() as uow:
            return newsletters.list_newsletters(uow, query, self.caller.actor)

    @rpc
    def preview_newsletter(self, newsletter_id):
        with self.db() as uow:
            return newsletters.preview(uow, newsletter_id, self.caller.actor, self.mailer.composer)

    @rpc
    def send_newsletter(self, newsletter_id, request=None):
        request = load_input(NewsletterSendSchema, request or {}, what="request")
        with self.db() as uow:
            if request.get("test_to"):
                answer = newsletters.queue_test(uow, newsletter_id, request["test_to"], self.caller.actor)
            else:
                answer = newsletters.send_newsletter(uow, newsletter_id, self.caller.actor)
        self.mailer.wake()
        return answer

    def _pick_items(self, since, themes, regions) -> list[dict]:
        """What the catalog published since the last newsletter (the last 30 days at first)."""
        since = (since or utcnow() - timedelta(days=30)).isoformat()
        picked = []
        for theme in themes or [None]:
            query = {"published_since": since, "per_page": PICK_LIMIT, **({"theme": theme} if theme else {})}
            for region in regions or [None]:
                page = self.catalog.list_entries({**query, **({"region": region} if region else {})})
                picked += [{"type": "entry", "id": item["id"], "title": item["title"], "summary": item.get("summary"),
                            "path": site.item_path("entry", item["id"])} for item in page["items"]]
            page = self.catalog.list_articles(query)
            picked += [{"type": "article", "id": item["id"], "title": item["title"], "summary": item.get("summary"),
                        "path": site.item_path("article", item["id"])} for item in page["items"]]
        unique = {item["id"]: item for item in picked}
        return list(unique.values())[:50]

    # ------------------------------------------------------------------ events
    @reliable_event_handler("catalog", "entry.published", subscription="entry-published")
    def on_entry_published(self, envelope):
        data = envelope["data"]
        # staff-made entries are published at version 1; a submission is published by a review later
        contact = self.catalog_as_notify.submitter_contact(data["id"]) if data["version"] > 1 else None

        item = alerts.entry_item(data)
        found_by = self._found_by(envelope, item) if not data["demo"] else frozenset()

        def effect(uow, _):
            reviews.reviewed(uow.session, data["id"])
            if not data["demo"]:
                alerts.record_and_match(uow.session, item, self.mailer.schedule, found_by=found_by)
            reviews.queue_decision_mail(uow.session, data, "published", contact)

        self._apply(envelope, effect)

    @reliable_event_handler("catalog", "entry.rejected", subscription="entry-rejected")
    def on_entry_rejected(self, envelope):
        data = envelope["data"]
        contact = self.catalog_as_notify.submitter_contact(data["id"])

        def effect(uow, _):
            reviews.reviewed(uow.session, data["id"])
            reviews.queue_decision_mail(uow.session, data, "rejected", contact)

        self._apply(envelope, effect)

    @reliable_event_handler("catalog", "entry.submitted", subscription="entry-submitted")
    def on_entry_submitted(self, envelope):
        if not envelope["data"]["demo"]:
            self._apply(envelope, lambda uow, _: reviews.note_submission(uow.session, envelope["data"]))

    @reliable_event_handler("catalog", "entry.withdrawn", subscription="entry-withdrawn")
    def on_entry_withdrawn(self, envelope):
        key = f"entry:{envelope['data']['id']}"
        self._apply(envelope, lambda uow, _: alerts.forget_pending(uow.session, key))

    @reliable_event_handler("catalog", "article.published", subscription="article-published")
    def on_article_published(self, envelope):
        if not envelope["data"]["demo"]:
            item = alerts.article_item(envelope["data"])
            found_by = self._found_by(envelope, item)
            self._apply(envelope, lambda uow, _: alerts.record_and_match(uow.session, item, self.mailer.schedule,
                                                                         found_by=found_by))

    @reliable_event_handler("survey", "survey.published", subscription="survey-published")
    def on_survey_published(self, envelope):
        data = envelope["data"]
        if not data["demo"]:
            self._apply(envelope, lambda uow, _: alerts.record_and_match(
                uow.session, alerts.survey_item(data, alerts.known_entry(uow.session)), self.mailer.schedule))

    def _found_by(self, envelope, item) -> frozenset[str]:
        """The saved searches (of subscribers the item otherwise matches) that find it, as the
        search service decides with its own analysis; no call when nobody has one."""
        with self.db() as uow:
            queries = alerts.saved_queries(uow.session, item)
        found = set()
        document = {"type": envelope["type"], "data": envelope["data"]}
        for start in range(0, len(queries), MAX_PERCOLATE_QUERIES):
            chunk = queries[start:start + MAX_PERCOLATE_QUERIES]
            found.update(chunk[position] for position in self.search_as_notify.percolate(document, chunk)["matches"])
        return frozenset(found)

    def _apply(self, envelope, effect):
        apply_once(self.db, "notify", envelope, effect)
        self.mailer.wake()

    # ------------------------------------------------------------------ timers, ops
    # Not eager: see the note on the search service's refill timer
    @timer(interval=TICK_SECONDS)
    def tick(self):
        """Due alerts become mails, finished newsletters are marked sent, the editors' digest goes
        out once a day after the digest hour, expired subscriptions are erased."""
        mailer = self.mailer
        with self.db() as uow:
            queued = alerts.compose_due(uow.session, mailer.schedule)
            newsletters.finish_sent(uow.session)
            if mailer.editors and _past_digest_hour(mailer.schedule):
                queued += reviews.queue_review_digest(uow.session, mailer.editors)
            subscriptions.prune(uow.session, mailer.subscriptions)
            uow.commit()
        if queued:
            mailer.wake()

    @rpc
    def run_retention(self):
        """Admin (``kosi retention run``): apply the retention now; what was erased or forgotten."""
        require_admin(self.caller.actor)
        with self.db() as uow:
            removed = subscriptions.prune(uow.session, self.mailer.subscriptions)
            uow.commit()
        return removed

    @rpc
    def health(self):
        with self.db() as uow:
            uow.session.execute(sa.text("SELECT 1"))
        return {"status": "ok"}


def _past_digest_hour(schedule: alerts.Schedule) -> bool:
    return datetime.now(ZoneInfo(schedule.timezone)).hour >= schedule.digest_hour
