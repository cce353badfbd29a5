"""The notify service's RPC and HTTP contract: subscriptions, preferences and newsletters.

The gateway validates HTTP input with these classes and the service loads the same input
with them again, so a subscription is checked identically over HTTP and RPC. Alert criteria
combine like the filters of ``GET /search``: an item matches when it has one of the chosen
themes, one of the regions, one of the kinds, lies in the bounding box, and (a saved search)
would be found by ``GET /search?q=``; criteria left out do not restrict. ``alerts: {}`` means
every new item; ``alerts: null`` means no alerts.
"""
from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.search.api import KINDS, BBox, CommaList, _ags, _one_of, _theme_slug
from kernel.schemas import InputSchema, OutputSchema, Text, described, page_schema

FREQUENCIES = ("immediately", "daily", "weekly")
LANGUAGES = ("de", "en")
SUBSCRIBER_STATUSES = ("pending", "confirmed", "unsubscribed", "bounced")
NEWSLETTER_STATUSES = ("draft", "sending", "sent")
ITEM_TYPES = ("entry", "article", "survey")
MAX_ALERT_VALUES = 20
MAX_NEWSLETTER_ITEMS = 50
MAX_SAVED_QUERY_CHARS = 200


def _saved_query(value: str) -> None:
    if not any(character.isalnum() for character in value):
        raise ValidationError("a saved search needs at least one word")


def _at_most(count):
    def check(values):
        if len(values) > count:
            raise ValidationError(f"at most {count} values")
    return check


class AlertCriteriaSchema(InputSchema):
    themes = CommaList(_theme_slug, validate=_at_most(MAX_ALERT_VALUES), **described("theme slugs"))
    regions = CommaList(_ags, validate=_at_most(MAX_ALERT_VALUES), **described("AGS keys of districts"))
    kinds = CommaList(_one_of(KINDS + ("survey",), "kind"), validate=_at_most(MAX_ALERT_VALUES),
                      **described(f"{', '.join(KINDS)} or survey"))
    bbox = BBox(allow_none=True, **described("minLon,minLat,maxLon,maxLat: only items located inside"))
    q = fields.String(allow_none=True, validate=[validate.Length(min=1, max=MAX_SAVED_QUERY_CHARS), _saved_query],
                      **described("a saved search: words as in GET /search?q= (German analysis); entries and "
                                  "articles it would find"))


class PreferencesSchema(InputSchema):
    newsletter = fields.Boolean(**described("the centre's newsletter"))
    alerts = fields.Nested(AlertCriteriaSchema, allow_none=True,
                           **described("alerts on new items matching these criteria; null: none"))
    frequency = fields.String(validate=validate.OneOf(FREQUENCIES),
                              **described("alerts immediately (one mail a minute at most), or a daily or "
                                          "weekly digest"))
    language = fields.String(validate=validate.OneOf(LANGUAGES), **described("language of the mails"))


class SubscribeSchema(PreferencesSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    consent = fields.String(required=True, validate=validate.Length(min=1, max=40),
                            **described("the version of the consent text the person agreed to"))

    @validates_schema
    def wants_something(self, data, **kwargs):
        if not data.get("newsletter") and data.get("alerts") is None:
            raise ValidationError("subscribe to the newsletter, to alerts, or both", "newsletter")


class TokenQuerySchema(InputSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class UnsubscribeFormSchema(InputSchema):
    """RFC 8058: the body of a one-click unsubscribe POST (form-encoded)."""
    List_Unsubscribe = fields.String(data_key="List-Unsubscribe", validate=validate.Equal("One-Click"))


class AcceptedSchema(OutputSchema):
    status = fields.String(required=True)
    message = fields.String(required=True)


class AlertCriteriaOutSchema(OutputSchema):
    themes = fields.List(fields.String())
    regions = fields.List(fields.String())
    kinds = fields.List(fields.String())
    bbox = fields.List(fields.Float(), allow_none=True)
    q = fields.String(allow_none=True)


class SubscriptionSchema(OutputSchema):
    """What the holder of a subscription's link sees of it."""
    status = fields.String(required=True, validate=validate.OneOf(SUBSCRIBER_STATUSES))
    email = fields.String(required=True)
    language = fields.String(required=True)
    newsletter = fields.Boolean(required=True)
    alerts = fields.Nested(AlertCriteriaOutSchema, allow_none=True, required=True)
    frequency = fields.String(required=True)
    confirmed_at = fields.DateTime(allow_none=True, required=True)


class NewsletterItemSchema(InputSchema):
    type = fields.String(required=True, validate=validate.OneOf(ITEM_TYPES))
    id = fields.String(required=True, validate=validate.Length(max=36))
    title = Text(required=True, validate=validate.Length(min=1, max=300))
    summary = Text(allow_none=True, validate=validate.Length(max=2000))
    path = fields.String(required=True, validate=validate.Length(max=300))


class SegmentSchema(InputSchema):
    themes = CommaList(_theme_slug, load_default=list, validate=_at_most(MAX_ALERT_VALUES))
    regions = CommaList(_ags, load_default=list, validate=_at_most(MAX_ALERT_VALUES))


class NewsletterCreateSchema(InputSchema):
    subject = Text(required=True, validate=validate.Length(min=1, max=200))
    intro = Text(load_default="", validate=validate.Length(max=20_000))
    language = fields.String(load_default="de", validate=validate.OneOf(LANGUAGES))
    segment = fields.Nested(SegmentSchema, load_default=dict,
                            **described("who receives it: subscribers of these themes or regions (none: all)"))
    items = fields.List(fields.Nested(NewsletterItemSchema), validate=validate.Length(max=MAX_NEWSLETTER_ITEMS),
                        **described("leave out to pick what was published since the last newsletter"))
    themes = CommaList(_theme_slug, validate=_at_most(MAX_ALERT_VALUES),
                       **described("pick items of these themes only (when items is left out)"))
    regions = CommaList(_ags, validate=_at_most(MAX_ALERT_VALUES),
                        **described("pick items of these regions only (when items is left out)"))


class NewsletterUpdateSchema(InputSchema):
    version = fields.Integer(required=True, strict=True)
    subject = Text(validate=validate.Length(min=1, max=200))
    intro = Text(validate=validate.Length(max=20_000))
    segment = fields.Nested(SegmentSchema)
    items = fields.List(fields.Nested(NewsletterItemSchema), validate=validate.Length(max=MAX_NEWSLETTER_ITEMS))


class NewsletterSendSchema(InputSchema):
    test_to = fields.Email(validate=validate.Length(max=254),
                           **described("send one test mail to this address instead of the segment"))


class NewsletterTestSchema(InputSchema):
    test_to = fields.Email(required=True, validate=validate.Length(max=254),
                           **described("where the test copy goes (yourself)"))


class NewsletterQuerySchema(InputSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ProgressSchema(OutputSchema):
    recipients = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    pending = fields.Integer(required=True)


class NewsletterItemOutSchema(OutputSchema):
    type = fields.String(required=True)
    id = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(allow_none=True)
    path = fields.String(required=True)


class NewsletterSchema(OutputSchema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(NEWSLETTER_STATUSES))
    subject = fields.String(required=True)
    intro = fields.String(required=True)
    language = fields.String(required=True)
    segment = fields.Dict(required=True)
    items = fields.List(fields.Nested(NewsletterItemOutSchema), required=True)
    version = fields.Integer(required=True)
    progress = fields.Nested(ProgressSchema, required=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(allow_none=True)


class NewsletterPreviewSchema(OutputSchema):
    subject = fields.String(required=True)
    html = fields.String(required=True)
    text = fields.String(required=True)


NewsletterPageSchema = page_schema(NewsletterSchema, "NewsletterPageSchema")
