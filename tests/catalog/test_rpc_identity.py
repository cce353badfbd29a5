"""Broker access alone grants nothing: every staff RPC, called over RabbitMQ without a valid
actor assertion (none, forged, expired, by an untrusted signer, or the old ``actor``
argument), neither changes nor reveals staff data. The same calls with a valid assertion work."""
import time

import jwt
import pytest
import sqlalchemy as sa
from nameko.exceptions import IncorrectSignature, RemoteError
from nameko.standalone.rpc import ClusterRpcClient

from kernel import broker
from kernel.errors import Forbidden, NotFound
from kernel.identity import ACTOR_CONTEXT_KEY, ActorSigner, generate_keypair
from kernel.messaging import subscriptions_of
from services.catalog.models import entries as entries_table
from services.catalog.service import CatalogService
from services.notify.models import newsletters as newsletters_table
from services.notify.service import NotifyService
from services.search.service import SearchService
from services.survey.models import surveys as surveys_table
from services.survey.service import SurveyService
from tests.databases import fresh_catalog_database, fresh_service_database
from tests.identity import ADMIN, EDITOR, GATEWAY_KEY, NOTIFY_KEY, SERVICE_TRUST, staff_rpc
from tests.search.test_search_service import entry_data
from tests.survey.conftest import EVERY_TYPE, GOOD_ANSWERS, SETTINGS

INTRUDER_KEY, _ = generate_keypair()


def forged() -> str:        # signed as "gateway", but with a key nobody trusts
    return ActorSigner("gateway", INTRUDER_KEY).sign(ADMIN)


def untrusted_signer() -> str:
    return ActorSigner("someone-else", GATEWAY_KEY).sign(ADMIN)


def expired() -> str:
    signer = ActorSigner("gateway", GATEWAY_KEY, ttl_seconds=-120)
    return signer.sign(ADMIN)


def tampered() -> str:      # a valid editor assertion whose payload was edited to say admin
    header, _payload, signature = ActorSigner("gateway", GATEWAY_KEY).sign(EDITOR).split(".")
    payload = jwt.utils.base64url_encode(jwt.utils.force_bytes(
        '{"iss":"gateway","aud":"kosi-services","sub":"x","roles":["admin"],"iat":%d,"exp":%d}'
        % (time.time(), time.time() + 60))).decode()
    return ".".join([header, payload, signature])


BAD_ASSERTIONS = {"none": None, "forged": forged, "untrusted signer": untrusted_signer, "expired": expired,
                  "tampered": tampered}


@pytest.fixture(scope="module")
def database_url():
    return fresh_catalog_database("kosi_test_rpc_identity")


@pytest.fixture(scope="module")
def survey_url():
    url = fresh_service_database("survey", "kosi_test_rpc_identity_survey")
    return url


@pytest.fixture(scope="module")
def notify_url():
    return fresh_service_database("notify", "kosi_test_rpc_identity_notify")


@pytest.fixture
def urls(database_url, survey_url, notify_url):
    return database_url, survey_url, notify_url


@pytest.fixture
def platform(rabbit_config, rabbit_uri, runner_factory, urls, tmp_path):
    database_url, survey_url, notify_url = urls
    broker.declare_topology(rabbit_uri, ["catalog", "survey"], subscriptions_of(SearchService) +
                            subscriptions_of(NotifyService))
    runner_factory({"CATALOG_DATABASE_URL": database_url, "SEARCH_BACKEND": "tantivy",
                    "SEARCH_INDEX_PATH": str(tmp_path / "index"), "SEARCH_AUTO_REFILL": False, "SURVEY_DATABASE_URL": survey_url,
                    "SURVEY_TOKEN_SECRET": SETTINGS.token_secret, "NOTIFY_DATABASE_URL": notify_url,
                    "NOTIFY_TOKEN_SECRET": SETTINGS.token_secret, "ACTOR_SIGNING_KEY": NOTIFY_KEY, **SERVICE_TRUST},
                   CatalogService, SearchService, SurveyService, NotifyService).start()
    with staff_rpc(rabbit_uri, ADMIN) as admin:
        submitted = admin.catalog.create_entry({**entry_data(), "publish": False})
        published = admin.catalog.create_entry(entry_data(title="Kulturscheune Harzgerode"))
        organisation = admin.catalog.create_organisation({"name": "Landfrauen e.V.", "kind": "association"})
        draft = admin.survey.create_survey(EVERY_TYPE)
        running = admin.survey.create_survey(EVERY_TYPE)
        admin.survey.publish_survey(running["id"])
        token = admin.survey.issue_participation(running["id"])["token"]
        admin.survey.submit_response(running["id"], {"token": token, "answers": GOOD_ANSWERS})
        newsletter = admin.notify.create_newsletter(NEWSLETTER)
    return {"submitted": submitted, "published": published, "organisation": organisation,
            "draft": draft, "running": running, "newsletter": newsletter}


NEWSLETTER = {"subject": "Neues im Land", "intro": "Hallo", "items": []}


def staff_calls(data):
    """Every staff RPC: (service, method, args)."""
    submitted, published = data["submitted"]["id"], data["published"]["id"]
    draft, running, newsletter = data["draft"]["id"], data["running"]["id"], data["newsletter"]["id"]
    return [
        ("catalog", "create_entry", (entry_data(title="Eingeschleust"),)),  # staff: published at once
        ("catalog", "update_entry", (published, {"title": "Gekapert"}, 1)),
        ("catalog", "withdraw_entry", (published, "weg")),
        ("catalog", "review_entry", (submitted, {"action": "publish", "version": 1})),
        ("catalog", "entry_history", (submitted,)),
        ("catalog", "erase_personal_data", (submitted,)),
        ("catalog", "add_link", (published, {"target_type": "organisation", "target_id": data["organisation"]["id"]})),
        ("catalog", "create_organisation", ({"name": "Briefkastenfirma", "kind": "company"},)),
        ("catalog", "create_article", ({"type": "news", "title": "Falschmeldung", "body": "…"},)),
        ("catalog", "import_records", ([entry_data(title="Massenimport")],)),
        ("catalog", "get_entry", (submitted,)),                          # an unpublished entry
        ("catalog", "related_entries", (submitted,)),
        ("catalog", "list_entries", ({"status": "submitted"},)),
        ("catalog", "run_retention", ()),
        ("search", "reindex", ()),
        ("search", "reindex_status", ()),
        ("search", "related", (submitted,)),
        ("survey", "create_survey", (EVERY_TYPE,)),
        ("survey", "update_survey", (draft, {"title": "Gekapert"}, 1)),
        ("survey", "publish_survey", (draft,)),
        ("survey", "issue_invitations", (running, {"count": 3})),
        ("survey", "close_survey", (running,)),
        ("survey", "get_survey", (draft,)),                              # a draft
        ("survey", "list_surveys", ({"status": "draft"},)),
        ("survey", "survey_results", (running,)),                        # results while open
        ("survey", "export_responses", (running,)),
        ("survey", "run_retention", ()),
        ("notify", "create_newsletter", (NEWSLETTER,)),
        ("notify", "update_newsletter", (newsletter, {"subject": "Gekapert"}, 1)),
        ("notify", "get_newsletter", (newsletter,)),
        ("notify", "list_newsletters", ()),
        ("notify", "preview_newsletter", (newsletter,)),
        ("notify", "send_newsletter", (newsletter,)),
        ("notify", "run_retention", ()),
    ]


# the RPCs that serve the public (no staff data, or only what anyone may do)
PUBLIC_CALLS = {("catalog", name) for name in (
    "list_organisations", "get_organisation", "list_articles", "get_article", "map_features", "network",
    "export_entries", "published_page", "list_themes", "list_regions", "region_boundaries", "health",
    "export_page", "event_calendar", "atom_feed")} | \
    {("search", name) for name in ("search", "suggest", "health")} | \
    {("survey", name) for name in ("issue_participation", "submit_response", "health")} | \
    {("notify", name) for name in ("subscribe", "confirm_subscription", "get_subscription", "update_subscription",
                                   "unsubscribe", "erase_subscription", "health")}  # by the token from the mails


# the RPCs only a service acting as itself may make: (service, method) → that service
SERVICE_CALLS = {("catalog", "submitter_contact"): "notify",
                 ("search", "percolate"): "notify"}  # its refusals: tests/search/test_percolate.py


def rpc_names(service_cls) -> set[str]:
    from nameko.rpc import Rpc

    return {name for name in dir(service_cls) for entrypoint in getattr(getattr(service_cls, name),
                                                                         "nameko_entrypoints", ())
            if isinstance(entrypoint, Rpc)}


def test_every_rpc_is_either_a_tested_staff_call_or_public():
    staff = {(service, method) for service, method, _ in staff_calls(
        {key: {"id": "x"} for key in ("submitted", "published", "organisation", "draft", "running", "newsletter")})}
    declared = {("catalog", name) for name in rpc_names(CatalogService)} | \
        {("search", name) for name in rpc_names(SearchService)} | \
        {("survey", name) for name in rpc_names(SurveyService)} | \
        {("notify", name) for name in rpc_names(NotifyService)}
    assert declared == staff | PUBLIC_CALLS | set(SERVICE_CALLS)


def test_a_submitter_s_address_goes_to_the_notify_service_alone(platform, rabbit_uri):
    public = call_as(rabbit_uri, None, "catalog", "create_entry",
                     ({**entry_data(title="Von Bürgern"), "contact": {"email": "buerger@example.org"}},))
    notify = ActorSigner("notify", NOTIFY_KEY).sign({"sub": "notify", "roles": []})
    assert call_as(rabbit_uri, notify, "catalog", "submitter_contact", (public["id"],))["email"] == \
        "buerger@example.org"
    staff_made = platform["published"]["id"]
    assert call_as(rabbit_uri, notify, "catalog", "submitter_contact", (staff_made,)) is None
    # an admin, an impostor naming itself notify, an anonymous caller: refused
    impostor = ActorSigner("notify", INTRUDER_KEY).sign({"sub": "notify", "roles": []})
    gateway_as_notify = ActorSigner("gateway", GATEWAY_KEY).sign({"sub": "notify", "roles": ["notify"]})
    for assertion in (ActorSigner("gateway", GATEWAY_KEY).sign(ADMIN), impostor, gateway_as_notify, None):
        with pytest.raises(Forbidden):
            call_as(rabbit_uri, assertion, "catalog", "submitter_contact", (public["id"],))


def snapshot(urls) -> list:
    database_url, survey_url, notify_url = urls
    rows = []
    for url, query in ((database_url, sa.select(
            entries_table.c.id, entries_table.c.status, entries_table.c.title, entries_table.c.version,
            entries_table.c.contact).order_by(entries_table.c.id)),
            (survey_url, sa.select(surveys_table.c.id, surveys_table.c.status, surveys_table.c.title,
                                   surveys_table.c.version, sa.literal(None)).order_by(surveys_table.c.id)),
            (notify_url, sa.select(newsletters_table.c.id, newsletters_table.c.status, newsletters_table.c.subject,
                                   newsletters_table.c.version, newsletters_table.c.recipients)
             .order_by(newsletters_table.c.id))):
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                rows += [tuple(row) for row in conn.execute(query)]
        finally:
            engine.dispose()
    return rows


def call_as(amqp_uri, assertion, service, method, args):
    with ClusterRpcClient(timeout=20, uri=amqp_uri,
                          context_data={ACTOR_CONTEXT_KEY: assertion} if assertion else None) as client:
        return getattr(getattr(client, service), method)(*args)


@pytest.mark.parametrize("kind", BAD_ASSERTIONS)
def test_no_staff_rpc_works_without_a_valid_actor_assertion(platform, rabbit_uri, urls, kind):
    before = snapshot(urls)
    make = BAD_ASSERTIONS[kind]
    for service, method, args in staff_calls(platform):
        assertion = make() if make else None
        try:
            answer = call_as(rabbit_uri, assertion, service, method, args)
        except (Forbidden, NotFound):
            continue
        # what an anonymous caller may get: a submission, or public data only
        assert assertion is None, f"{service}.{method} answered a {kind} assertion: {answer}"
        if method == "create_entry":
            assert answer["status"] == "submitted" and "contact" not in answer
        elif method == "list_entries":
            assert {item["status"] for item in answer["items"]} == {"published"}
            assert all("contact" not in item for item in answer["items"])
        elif method == "list_surveys":
            assert answer["items"] == []  # drafts are staff-only
        else:
            pytest.fail(f"{service}.{method} answered an anonymous call: {answer}")
    after = snapshot(urls)
    assert [row for row in after if row in before] == before  # nothing changed ...
    assert {row[1] for row in after if row not in before} <= {"submitted"}  # ... at most submissions added


def test_the_old_actor_argument_is_refused(platform, rabbit_uri, urls):
    before = snapshot(urls)
    with ClusterRpcClient(timeout=20, uri=rabbit_uri) as client:
        with pytest.raises((IncorrectSignature, RemoteError)):
            client.catalog.update_entry(platform["published"]["id"], {"title": "Gekapert"}, 1, ADMIN)
        with pytest.raises((IncorrectSignature, RemoteError)):
            client.catalog.entry_history(platform["submitted"]["id"], ADMIN)
    assert snapshot(urls) == before


def test_every_staff_rpc_works_with_a_valid_assertion(platform, rabbit_uri):
    with staff_rpc(rabbit_uri, ADMIN) as admin:
        for service, method, args in staff_calls(platform):
            getattr(getattr(admin, service), method)(*args)  # raises if refused
        assert admin.catalog.get_entry(platform["submitted"]["id"])["status"] == "published"  # reviewed
