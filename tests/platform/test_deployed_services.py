"""The services as deployed: each its own process (`kosi serve`), each with its own broker
user and only its own secrets, JSON logs. One `POST /entries` by an editor carries one
request id through the gateway, the catalog (RPC) and the search service (the event).
Search runs split: one process writes the index (`--role index`), two answer queries from
its folder (`--role query`), competing on the RPC queue."""
import json
import uuid
from pathlib import Path

import pytest
import requests

from gateway.auth import mint_token
from tests.identity import ADMIN, staff_rpc
from tests.mail import text_part
from tests.platform.deployment import SECRET, Deployment
from tests.search.test_search_service import entry_data
from tests.wait import wait_for


@pytest.fixture
def deployed(rabbit_config, rabbit_uri, tmp_path, smtp_sink):
    deployment = Deployment(rabbit_uri, tmp_path, smtp_sink.port)
    try:
        deployment.start()
        yield {"base": deployment.base, "logs": deployment.logs, "rabbit_uri": rabbit_uri,
               "metrics": deployment.metrics}
    finally:
        deployment.stop()


def lines_with(path: Path, request_id: str) -> list[dict]:
    return [record for record in _records(path) if record.get("request_id") == request_id]


def test_one_request_id_through_gateway_catalog_and_search(deployed):
    base, logs = deployed["base"], deployed["logs"]
    token = mint_token(SECRET, "redaktion@kosi", ["editor"], 300, issuer="kosi", audience="kosi-api")
    request_id = f"e2e-{uuid.uuid4().hex}"
    created = requests.post(f"{base}/entries", json=entry_data(title="Mitfahrbank Quedlinburg"), timeout=20,
                            headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id})
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-Id"] == request_id
    entry_id = created.json()["id"]
    assert wait_for(lambda: [item["id"] for item in requests.get(
        f"{base}/search", params={"q": "Mitfahrbank"}, timeout=10).json()["items"]] == [entry_id], seconds=30)

    def entrypoints(service):
        return {record.get("entrypoint") for record in lines_with(logs[service], request_id)}

    assert wait_for(lambda: "search.on_entry_published" in entrypoints("search"))
    assert "gateway.create_entry" in entrypoints("gateway")
    assert "catalog.create_entry" in entrypoints("catalog")
    for service in ("gateway", "catalog", "search"):
        assert all(record["service"] == service for record in lines_with(logs[service], request_id))
    # a request without an id gets one, and says which
    assert len(requests.get(f"{base}/themes", timeout=10).headers["X-Request-Id"]) == 32
    # nothing personal in any log line of the request
    for path in logs.values():
        assert "Erika" not in path.read_text() and "example.org" not in path.read_text()


def test_a_survey_answered_through_the_deployed_services_logs_no_answers(deployed):
    base, logs = deployed["base"], deployed["logs"]
    staff = {"Authorization": f"Bearer {mint_token(SECRET, 'redaktion@kosi', ['editor'], 300, issuer='kosi', audience='kosi-api')}"}
    survey = requests.post(f"{base}/surveys", json={"kind": "poll", "title": "Rufbus am Sonntag?",
                                                     "options": ["Ja", "Nein"], "link": {"type": "theme", "ref": "wohnen"}},
                           headers=staff, timeout=20)
    assert survey.status_code == 201, survey.text
    assert survey.json()["link"]["title"] == "Wohnen"  # asked the catalog, with the survey's own broker user
    survey_id = survey.json()["id"]
    assert requests.post(f"{base}/surveys/{survey_id}/publish", headers=staff, timeout=20).status_code == 200
    token = requests.post(f"{base}/surveys/{survey_id}/participation", timeout=20).json()["token"]
    answered = requests.post(f"{base}/surveys/{survey_id}/responses", timeout=20,
                             json={"token": token, "answers": {"q1": "o2"}}, headers={"Idempotency-Key": "k-1"})
    assert answered.status_code == 201, answered.text
    assert requests.get(f"{base}/surveys/{survey_id}", headers=staff, timeout=20).json()["response_count"] == 1
    for path in logs.values():
        assert token not in path.read_text() and "k-1" not in path.read_text()
    survey_metrics = scraped(deployed, "survey")
    assert survey_metrics['kosi_survey_responses_total{outcome="accepted"}'] == 1
    assert survey_metrics['kosi_worker_duration_seconds_count{entrypoint="submit_response",outcome="ok",'
                          'service="survey"}'] == 1


def test_a_rejected_submitter_is_mailed_by_notify_with_its_own_identity(deployed, smtp_sink):
    """notify asks the catalog for the submitter's address signed with its own key, over its own
    broker user; the address and the reason appear in the mail and in no log line."""
    base, logs = deployed["base"], deployed["logs"]
    smtp_sink.clear()
    staff = {"Authorization": f"Bearer {mint_token(SECRET, 'redaktion@kosi', ['editor'], 300, issuer='kosi', audience='kosi-api')}"}
    submitted = requests.post(f"{base}/entries", timeout=20, json=entry_data(
        title="Nachbarschaftsnetz", contact={"email": "buerger@example.org"}))
    assert submitted.status_code == 202, submitted.text
    rejected = requests.post(f"{base}/entries/{submitted.json()['id']}/review", headers=staff, timeout=20,
                             json={"action": "reject", "reason": "Liegt außerhalb des Landes", "version": 1})
    assert rejected.status_code == 200, rejected.text
    assert wait_for(lambda: smtp_sink.to("buerger@example.org"), seconds=30), {
        name: path.read_text()[-2000:] for name, path in logs.items()}
    mail, = smtp_sink.to("buerger@example.org")
    assert "Liegt außerhalb des Landes" in text_part(mail)
    subscribed = requests.post(f"{base}/subscriptions", timeout=20, json={
        "email": "leserin@example.org", "consent": "2026-11", "newsletter": True})
    assert subscribed.status_code == 202, subscribed.text
    assert wait_for(lambda: smtp_sink.to("leserin@example.org"), seconds=30)
    token = text_part(smtp_sink.to("leserin@example.org")[0]).split("token=")[1].split()[0]
    assert requests.get(f"{base}/subscriptions/confirm", params={"token": token}, timeout=20).status_code == 200
    for path in logs.values():
        text = path.read_text()
        assert "buerger@example.org" not in text and "außerhalb des Landes" not in text
        assert "leserin@example.org" not in text and token not in text
    # what each service did, in its own metrics
    notify = scraped(deployed, "notify")
    assert notify['kosi_mails_total{kind="review",outcome="sent"}'] == 1
    assert notify['kosi_mails_total{kind="confirm",outcome="sent"}'] == 1
    assert notify['kosi_events_total{outcome="applied",queue="notify.entry-rejected",service="notify"}'] == 1
    catalog = scraped(deployed, "catalog")
    assert catalog['kosi_worker_duration_seconds_count{entrypoint="review_entry",outcome="ok",service="catalog"}'] == 1
    assert catalog['kosi_worker_duration_seconds_count{entrypoint="submitter_contact",outcome="ok",'
                   'service="catalog"}'] == 1
    assert wait_for(lambda: scraped(deployed, "catalog")['kosi_outbox_unpublished{service="catalog"}'] == 0)
    assert 'kosi_outbox_oldest_unpublished_seconds{service="catalog"}' in catalog
    assert "kosi_worker_duration_seconds_count" in "".join(scraped(deployed, "search"))


def scraped(deployed, name: str) -> dict[str, float]:
    """A process's /metrics as {series with its labels sorted: value}."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"http://{deployed['metrics'][name]}/metrics", timeout=10).text
    series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            series[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return series


def test_search_split_into_one_writer_and_competing_query_processes(deployed):
    """Every answer comes from a query process (the writer consumes no RPC), each sees the
    writer's commits, and a rebuild asked of a query process is run by the writer."""
    base, logs = deployed["base"], deployed["logs"]
    staff = {"Authorization": f"Bearer {mint_token(SECRET, 'redaktion@kosi', ['editor'], 300, issuer='kosi', audience='kosi-api')}"}
    ids = []
    for title in ("Dorfladen Harzgerode", "Dorfladen Ballenstedt"):
        created = requests.post(f"{base}/entries", json=entry_data(title=title), headers=staff, timeout=20)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])

    def found():
        return sorted(item["id"] for item in requests.get(f"{base}/search", params={"q": "Dorfladen"},
                                                          timeout=10).json()["items"])

    assert wait_for(lambda: found() == sorted(ids), seconds=30)
    assert all(found() == sorted(ids) for _ in range(20))  # whichever query process answers
    answered = {name: sum(record.get("entrypoint") == "search.search" for record in _records(logs[name]))
                for name in ("search", "search-query-1", "search-query-2")}
    assert answered["search"] == 0 and answered["search-query-1"] > 0 and answered["search-query-2"] > 0, answered

    with staff_rpc(deployed["rabbit_uri"], ADMIN) as rpc:
        assert rpc.search.health()["role"] == "query"
        assert rpc.search.reindex()["state"] in ("requested", "running")
        assert wait_for(lambda: rpc.search.reindex_status()["state"] == "done", seconds=30), rpc.search.reindex_status()
        assert rpc.search.reindex_status()["done"] == 2
    assert found() == sorted(ids)  # the query processes follow the switch to the rebuilt index


def _records(path: Path) -> list[dict]:
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records
