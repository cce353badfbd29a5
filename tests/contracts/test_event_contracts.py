"""Consumer-driven contract tests: every event type and version has a sample; the producer
emits exactly its contract; every consumer accepts every sample of what it subscribes to,
also with fields it does not know; contracts are written field by field."""
import copy
import json

import pytest

import contracts.catalog.events  # noqa: F401 (registers the catalog's contracts)
import contracts.survey.events  # noqa: F401 (and the survey service's)
from cli import registry
from contracts.samples import ROOT, all_samples, sample, sample_path
from kernel.events import EventContract, contract, known_versions, read_event, registered_contracts
from kernel.schemas import load_input
from services.catalog import articles, entries, links, organisations
from services.notify import alerts, reviews
from services.search.documents import IGNORED_EVENTS, document_from_event
from tests.catalog.conftest import (STAFF, catalog_engine, entry_data, make_uow,  # noqa: F401 (fixtures)
                                    outbox_events, theme_slugs)
from tests.survey import conftest as survey_fixtures
from tests.survey.conftest import survey_engine  # noqa: F401 (fixture)

CONTRACTS = [(event.type, event.version) for event in registered_contracts() if event.producer == "catalog"]
SURVEY_CONTRACTS = [(event.type, event.version) for event in registered_contracts() if event.producer == "survey"]


def test_every_contract_has_a_sample_and_every_sample_a_contract():
    for event in registered_contracts():
        if event.producer in registry.PRODUCERS:
            assert sample_path(event).exists(), f"no sample for {event.type} v{event.version}"
    for path in ROOT.glob("*/samples/*.json"):
        event_type, version = path.name.removesuffix(".json").rsplit(".v", 1)
        assert (event_type, int(version)) in {(e.type, e.version) for e in registered_contracts()}, path


@pytest.mark.parametrize("event_type, version", CONTRACTS + SURVEY_CONTRACTS)
def test_each_sample_reads_back_under_its_contract(event_type, version):
    envelope = sample(event_type, version)
    read = read_event(copy.deepcopy(envelope))
    assert read["type"] == event_type and read["version"] == version
    assert set(read["data"]) == set(contract(event_type, version).schema.fields)
    # the producer's projection of the sample is the sample (nothing added, nothing lost)
    schema = contract(event_type, version).schema
    assert schema.dump(schema.load(envelope["data"])) == envelope["data"]


def test_contracts_are_written_field_by_field_not_derived_from_api_schemas():
    for event in registered_contracts():
        bases = type(event.schema).__mro__
        assert EventContract in bases
        assert not [base for base in bases if base.__module__.endswith(".api")], event.type


# ---------------------------------------------------------------------- the producer

def emitted_by_the_catalog(make_uow, catalog_engine, theme_slugs) -> dict[str, dict]:
    """Drive the catalog's domain through every event it publishes; the last of each type."""
    with make_uow() as uow:
        organisation = organisations.create_organisation(uow, {"name": "Landfrauen e.V.", "kind": "association"},
                                                         STAFF)
    with make_uow() as uow:
        submitted = entries.create_entry(uow, load_input(entries_schema(), entry_data(theme_slugs)), None)
    with make_uow() as uow:
        entries.review_entry(uow, submitted["id"], {"action": "reject", "reason": "Bitte ergänzen"}, STAFF)
    with make_uow() as uow:
        published = entries.create_entry(uow, load_input(entries_schema(), entry_data(
            theme_slugs, organisations=[organisation["id"]])), STAFF)
    with make_uow() as uow:
        entries.update_entry(uow, published["id"], {"summary": "Neu"}, 1, STAFF)
    with make_uow() as uow:
        links.add_link(uow, published["id"], {"target_type": "organisation", "target_id": organisation["id"],
                                              "type": "run_by"}, STAFF)
    with make_uow() as uow:
        entries.withdraw_entry(uow, published["id"], STAFF, "beendet")
    with make_uow() as uow:
        articles.create_article(uow, {"type": "news", "title": "Neues aus dem Zentrum", "body": "Text",
                                      "themes": [], "regions": []}, STAFF)
    return {event["type"]: event for event in outbox_events(catalog_engine)}


def entries_schema():
    from contracts.catalog.api import EntryCreateSchema

    return EntryCreateSchema


def test_the_catalog_emits_exactly_its_contracts(make_uow, catalog_engine, theme_slugs):
    emitted = emitted_by_the_catalog(make_uow, catalog_engine, theme_slugs)
    assert set(emitted) == {event_type for event_type, _ in CONTRACTS}
    for event_type, envelope in emitted.items():
        assert envelope["producer"] == "catalog" and envelope["version"] == known_versions(event_type)[-1]
        assert set(envelope) == set(sample(event_type, envelope["version"])), event_type
        assert set(envelope["data"]) == set(sample(event_type, envelope["version"])["data"]), event_type
        assert "contact" not in json.dumps(envelope["data"])
        assert read_event(copy.deepcopy(envelope))["data"]["id"] == envelope["data"]["id"]


def test_the_survey_service_emits_exactly_its_contracts_and_no_answers(survey_engine):  # noqa: F811
    from datetime import timedelta

    from contracts.survey.api import SurveyCreateSchema
    from kernel.db import unit_of_work_factory
    from kernel.rows import utcnow
    from services.survey import models, responses, surveys

    make_survey_uow = unit_of_work_factory(survey_engine, "survey", models.metadata)
    with make_survey_uow() as uow:
        survey = surveys.create_survey(uow, load_input(SurveyCreateSchema, {
            **survey_fixtures.EVERY_TYPE, "closes_at": (utcnow() + timedelta(days=1)).isoformat()}),
            survey_fixtures.EDITOR, survey_fixtures.no_link)
    with make_survey_uow() as uow:
        surveys.publish_survey(uow, survey["id"], survey_fixtures.EDITOR)
    with make_survey_uow() as uow:
        token = responses.issue_participation(uow, survey["id"], survey_fixtures.SETTINGS)["token"]
    with make_survey_uow() as uow:
        responses.submit_response(uow, survey["id"], {"token": token, "answers": survey_fixtures.GOOD_ANSWERS},
                                  None, survey_fixtures.SETTINGS)
    with make_survey_uow() as uow:
        surveys.close_survey(uow, survey["id"], survey_fixtures.EDITOR)
    emitted = {event["type"]: event for event in survey_fixtures.outbox_events(survey_engine)
               if survey["id"] in (event["data"].get("id"), event["data"].get("survey_id"))}
    assert set(emitted) == {event_type for event_type, _ in SURVEY_CONTRACTS}
    for event_type, envelope in emitted.items():
        assert envelope["producer"] == "survey"
        assert set(envelope) == set(sample(event_type, envelope["version"])), event_type
        assert set(envelope["data"]) == set(sample(event_type, envelope["version"])["data"]), event_type
        assert "Dorfbus" not in json.dumps(envelope) and token not in json.dumps(envelope)


# ---------------------------------------------------------------------- the consumers

SUBSCRIPTIONS = registry.all_subscriptions()


def test_every_subscription_is_to_a_published_contract():
    for subscription in SUBSCRIPTIONS:
        assert known_versions(subscription["event_type"]), subscription
        assert subscription["source_service"] in registry.PRODUCERS, subscription


@pytest.mark.parametrize("subscription", SUBSCRIPTIONS, ids=lambda s: s["queue"])
def test_every_consumer_accepts_every_sample_also_with_fields_it_does_not_know(subscription):
    consumers = {"search": search_reads, "notify": notify_reads}
    assert subscription["consumer_service"] in consumers, "add the consumer's reading to this test"
    for version in known_versions(subscription["event_type"]):
        envelope = sample(subscription["event_type"], version)
        newer = copy.deepcopy(envelope)
        newer["trace"] = {"hop": 1}
        newer["data"]["added_later"] = {"any": ["thing"]}
        read = consumers[subscription["consumer_service"]]
        assert read(read_event(envelope)) == read(read_event(newer))


def notify_reads(envelope):
    """What each of notify's handlers takes from its event (``services.notify.service``)."""
    data = envelope["data"]
    reading = {
        "entry.published": lambda: (alerts.entry_item(data), reviews.decision_context(data, "published"),
                                    data["demo"], data["version"]),
        "entry.rejected": lambda: reviews.decision_context(data, "rejected"),
        "entry.submitted": lambda: (reviews.submission_item(data), data["demo"]),
        "entry.withdrawn": lambda: data["id"],
        "article.published": lambda: (alerts.article_item(data), data["demo"]),
        "survey.published": lambda: (alerts.survey_item(data, lambda entry_id: {"themes": ["wohnen"],
                                                                                "regions": ["15088"]}),
                                     data["demo"]),
    }
    return reading[envelope["type"]]()


def search_reads(envelope):
    document = document_from_event(envelope)
    if envelope["type"] in IGNORED_EVENTS:
        assert document is None
    else:
        assert document is not None and document["id"] == envelope["data"]["id"]
    return document


def test_the_search_consumer_covers_every_catalog_event():
    subscribed = {s["event_type"] for s in SUBSCRIPTIONS if s["consumer_service"] == "search"}
    assert subscribed | set(IGNORED_EVENTS) == {event_type for event_type, _ in CONTRACTS}
    assert all(event.type in subscribed | set(IGNORED_EVENTS) for event, _ in all_samples("catalog"))
