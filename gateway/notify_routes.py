"""The notify routes of the gateway (a part of ``GatewayService``): subscriptions for the
public, newsletters for staff.

A subscription is managed by whoever holds the signed link from its mails (``?token=``): no
account, no password. Those routes log no client address and the access log shows no token
(``gateway.web``). The unsubscribe link takes RFC 8058's one-click POST, a form, as mail
providers send it.
"""
from contracts.notify import api as schemas
from gateway.inputs import etag, expected_version, form_or_json_body, json_body, query_args, resource_id, validate
from gateway.openapi import AUTH_STAFF, documented
from gateway.ratelimit import PublicWriteLimit
from gateway.responses import json_response
from gateway.rpc import TimedRpc
from gateway.schemas import NoQuery
from gateway.web import route as gateway_route
from kernel.roles import STAFF_ROLES

API = "/api/v1"
_LINK = "The token from the link in a mail of this subscription."


def route(method: str, path: str):
    return gateway_route(method, API + path)


def _token(request) -> str:
    return validate(schemas.TokenQuerySchema, query_args(request), "query")["token"]


class NotifyRoutes:
    notify = TimedRpc("notify")
    subscription_limit = PublicWriteLimit("SUBSCRIPTIONS_PER_WINDOW", "SUBSCRIPTION_WINDOW_SECONDS", 10,
                                          what="subscription requests")

    # ------------------------------------------------------------------ subscriptions (the public)
    @route("POST", "/subscriptions")
    @documented(summary="Subscribe to the newsletter or alerts", tag="subscriptions", body=schemas.SubscribeSchema,
                response=schemas.AcceptedSchema, status=202, errors=(429,),
                description="Double opt-in: a mail with a confirmation link goes to the address, and nothing "
                            "else until it is followed. A known address gets the same answer (and at most one "
                            "mail per interval). consent is the version of the consent text shown. Alerts: "
                            "themes, regions, kinds and bbox combine as in GET /search; alerts {} is every "
                            "new item. Limited per client address.")
    def subscribe(self, request):
        self.subscription_limit(request)
        data = validate(schemas.SubscribeSchema, json_body(request), "subscription")
        return json_response(self.notify.subscribe(data), status=202)

    @route("GET", "/subscriptions/confirm")
    @documented(summary="Confirm a subscription", tag="subscriptions", query=schemas.TokenQuerySchema,
                response=schemas.SubscriptionSchema, errors=(404,),
                description="The link of the confirmation mail. Confirming twice is harmless; an expired "
                            "link is answered 422 (subscribe again for a new one).")
    def confirm_subscription(self, request):
        return json_response(self.notify.confirm_subscription(_token(request)))

    @route("GET", "/subscriptions/me")
    @documented(summary="A subscription's preferences", tag="subscriptions", query=schemas.TokenQuerySchema,
                response=schemas.SubscriptionSchema, errors=(404,), description=_LINK)
    def get_subscription(self, request):
        return json_response(self.notify.get_subscription(_token(request)))

    @route("PATCH", "/subscriptions/me")
    @documented(summary="Change a subscription's preferences", tag="subscriptions", query=schemas.TokenQuerySchema,
                body=schemas.PreferencesSchema, response=schemas.SubscriptionSchema, errors=(404,),
                description=f"{_LINK} Only the fields sent change.")
    def update_subscription(self, request):
        token = _token(request)
        changes = validate(schemas.PreferencesSchema, json_body(request), "preferences")
        return json_response(self.notify.update_subscription(token, changes))

    @route("DELETE", "/subscriptions/me")
    @documented(summary="Erase a subscription", tag="subscriptions", query=schemas.TokenQuerySchema,
                response=schemas.AcceptedSchema, errors=(404,),
                description=f"{_LINK} Deletes the address, preferences and consents; the delivery log keeps "
                            "no address (GDPR Art. 17).")
    def erase_subscription(self, request):
        return json_response(self.notify.erase_subscription(_token(request)))

    @route("GET", "/subscriptions/unsubscribe")
    @documented(summary="What the unsubscribe link would end", tag="subscriptions", query=schemas.TokenQuerySchema,
                response=schemas.SubscriptionSchema, errors=(404,),
                description=f"{_LINK} Changes nothing (mail scanners open links): POST to the same URL "
                            "unsubscribes.")
    def unsubscribe_page(self, request):
        return json_response(self.notify.get_subscription(_token(request)))

    @route("POST", "/subscriptions/unsubscribe")
    @documented(summary="Unsubscribe (one click)", tag="subscriptions", query=schemas.TokenQuerySchema,
                body=schemas.UnsubscribeFormSchema, body_required=False,
                body_types=("application/x-www-form-urlencoded", "multipart/form-data", "application/json"),
                response=schemas.AcceptedSchema, errors=(404,),
                description=f"{_LINK} RFC 8058: mail providers POST List-Unsubscribe=One-Click as a form; "
                            "no body or {} does the same. Nothing more is mailed, pending mails are dropped.")
    def unsubscribe(self, request):
        token = _token(request)
        validate(schemas.UnsubscribeFormSchema, form_or_json_body(request), "body")
        return json_response(self.notify.unsubscribe(token))

    # ------------------------------------------------------------------ newsletters (staff)
    @route("GET", "/newsletters")
    @documented(summary="List newsletters", tag="newsletters", auth=AUTH_STAFF, query=schemas.NewsletterQuerySchema,
                response=schemas.NewsletterPageSchema, description="Newest first, each with its progress.")
    def list_newsletters(self, request):
        self.auth.require(request, *STAFF_ROLES)
        query = validate(schemas.NewsletterQuerySchema, query_args(request), "query")
        return json_response(self.notify.list_newsletters(query))

    @route("POST", "/newsletters")
    @documented(summary="Compose a newsletter (draft)", tag="newsletters", auth=AUTH_STAFF,
                body=schemas.NewsletterCreateSchema, response=schemas.NewsletterSchema, status=201,
                headers={"Location": "URL of the new newsletter", "ETag": "its version"},
                description="Without items, it picks the entries and articles published since the last "
                            "newsletter (of the given themes or regions); edit them before sending.")
    def create_newsletter(self, request):
        self.auth.require(request, *STAFF_ROLES)
        data = validate(schemas.NewsletterCreateSchema, json_body(request), "newsletter")
        newsletter = self.notify.create_newsletter(data)
        return json_response(newsletter, status=201, headers={"Location": f"{API}/newsletters/{newsletter['id']}",
                                                              "ETag": etag(newsletter["version"])})

    @route("GET", "/newsletters/<newsletter_id>")
    @documented(summary="Get a newsletter and its progress", tag="newsletters", auth=AUTH_STAFF,
                response=schemas.NewsletterSchema, headers={"ETag": "its version, for If-Match"},
                description="progress: recipients, sent, failed, pending.")
    def get_newsletter(self, request, newsletter_id):
        self.auth.require(request, *STAFF_ROLES)
        validate(NoQuery, query_args(request), "query")
        newsletter = self.notify.get_newsletter(resource_id(newsletter_id))
        return json_response(newsletter, headers={"ETag": etag(newsletter["version"])})

    @route("PATCH", "/newsletters/<newsletter_id>")
    @documented(summary="Edit a draft newsletter", tag="newsletters", auth=AUTH_STAFF,
                body=schemas.NewsletterUpdateSchema, response=schemas.NewsletterSchema, errors=(409,),
                headers={"ETag": "the new version"},
                request_headers={"If-Match": "the ETag of the version you edited (or send version in the body)"},
                description="Only drafts change (409 once it is being sent).")
    def update_newsletter(self, request, newsletter_id):
        self.auth.require(request, *STAFF_ROLES)
        newsletter_id = resource_id(newsletter_id)
        changes = json_body(request)
        version = expected_version(request, changes)
        validate(schemas.NewsletterUpdateSchema, {**changes, "version": version}, "change")
        newsletter = self.notify.update_newsletter(newsletter_id, changes, version)
        return json_response(newsletter, headers={"ETag": etag(newsletter["version"])})

    @route("GET", "/newsletters/<newsletter_id>/preview")
    @documented(summary="Preview a newsletter", tag="newsletters", auth=AUTH_STAFF,
                response=schemas.NewsletterPreviewSchema, description="Its subject, HTML and plain text.")
    def preview_newsletter(self, request, newsletter_id):
        self.auth.require(request, *STAFF_ROLES)
        validate(NoQuery, query_args(request), "query")
        return json_response(self.notify.preview_newsletter(resource_id(newsletter_id)))

    @route("POST", "/newsletters/<newsletter_id>/test")
    @documented(summary="Send a test copy", tag="newsletters", auth=AUTH_STAFF, body=schemas.NewsletterTestSchema,
                response=schemas.AcceptedSchema, status=202,
                description="One copy to test_to (yourself), with placeholder links; the newsletter stays "
                            "as it is.")
    def test_newsletter(self, request, newsletter_id):
        self.auth.require(request, *STAFF_ROLES)
        body = validate(schemas.NewsletterTestSchema, json_body(request), "request")
        return json_response(self.notify.send_newsletter(resource_id(newsletter_id), body), status=202)

    @route("POST", "/newsletters/<newsletter_id>/send")
    @documented(summary="Send a newsletter", tag="newsletters", auth=AUTH_STAFF, response=schemas.NewsletterSchema,
                status=202, errors=(409,),
                description="To its segment, in the background at the configured rate: follow progress with "
                            "GET. A delivery per recipient, each mailed once (also across restarts). 409 once "
                            "it is being sent or sent, or when it is empty.")
    def send_newsletter(self, request, newsletter_id):
        self.auth.require(request, *STAFF_ROLES)
        validate(NoQuery, form_or_json_body(request), "body")
        return json_response(self.notify.send_newsletter(resource_id(newsletter_id)), status=202)
