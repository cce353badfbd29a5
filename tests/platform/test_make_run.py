"""The embedded default, as a newcomer's `make run` starts it (`kosi run`): SQLite files and
the tantivy index under var/, demo data, local secrets made on first start. Here on a vhost
and port of the test's own, in a fresh directory."""
import json
import os
from contextlib import contextmanager
import re
import signal
import subprocess
import sys

import requests

from tests.mail import Mailbox, free_port, text_part
from tests.platform.deployment import REPO
from tests.search.test_search_service import entry_data
from tests.wait import wait_for

DEMO = json.loads((REPO / "services" / "catalog" / "demo" / "entries.json").read_text(encoding="utf-8"))


def kosi(*args, cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@contextmanager
def kosi_run(rabbit_uri: str, folder, **settings):
    """`kosi run` in ``folder`` (its log in ``run.log``) on the test's vhost and a free port, with
    ``settings`` in its environment, until it says it is up; yields (the API's base URL, the
    environment). Stopped with Ctrl-C at the end, it must exit cleanly."""
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("KOSI_", "CATALOG_", "SEARCH_", "SURVEY_", "NOTIFY_", "GATEWAY_", "SMTP_"))}
    env.update(PYTHONPATH=str(REPO), GATEWAY_ADDRESS=f"127.0.0.1:{port}", KOSI_OPERATOR_AMQP_URI=rabbit_uri,
               CATALOG_AMQP_URI=rabbit_uri, SEARCH_AMQP_URI=rabbit_uri, SURVEY_AMQP_URI=rabbit_uri,
               NOTIFY_AMQP_URI=rabbit_uri, GATEWAY_AMQP_URI=rabbit_uri, SMTP_PORT=str(free_port()), **settings)
    log = open(folder / "run.log", "w")
    platform = subprocess.Popen([sys.executable, "-m", "cli.main", "run"], cwd=folder, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        def up():
            assert platform.poll() is None, (folder / "run.log").read_text()[-3000:]
            return "KoSI is up" in (folder / "run.log").read_text()

        assert wait_for(up, seconds=120)
        yield f"http://127.0.0.1:{port}/api/v1", env
    finally:
        platform.send_signal(signal.SIGINT)
        try:
            code = platform.wait(timeout=60)
        except subprocess.TimeoutExpired:
            platform.kill()
            raise
    assert code == 0, (folder / "run.log").read_text()[-3000:]


def test_kosi_run_on_the_embedded_defaults(rabbit_config, rabbit_uri, tmp_path):
    with kosi_run(rabbit_uri, tmp_path) as (base, env):
        published = [entry for entry in DEMO if entry.get("status", "published") == "published"]
        assert requests.get(f"{base}/entries", timeout=10).json()["total"] == len(published)
        assert {"catalog.db", "survey.db", "notify.db", "jwt-secret", "survey-token-secret", "notify-token-secret",
                "search-index", "signing-keys.json", "mail"} <= {path.name for path in (tmp_path / "var").iterdir()}
        assert oct((tmp_path / "var" / "signing-keys.json").stat().st_mode & 0o777) == "0o600"
        assert wait_for(lambda: requests.get(f"{base}/search", params={"per_page": 1},
                                             timeout=10).json()["total"] >= len(published))

        token = kosi("token", "--role", "editor", cwd=tmp_path, env=env)
        assert token.returncode == 0, token.stderr
        created = requests.post(f"{base}/entries", json=entry_data(title="Mitfahrbank Quedlinburg"), timeout=20,
                                headers={"Authorization": f"Bearer {token.stdout.strip()}"})
        assert created.status_code == 201, created.text
        assert wait_for(lambda: [item["id"] for item in requests.get(
            f"{base}/search", params={"q": "Mitfahrbank"}, timeout=10).json()["items"]] == [created.json()["id"]])
        _answer_the_demo_survey(base, token.stdout.strip())
        _subscribe(base, tmp_path / "var" / "mail")
        reindex = kosi("search", "reindex", cwd=tmp_path, env=env)  # signed as the local operator
        assert reindex.returncode == 0, reindex.stderr
        assert f"search index rebuilt: {len(published) + 1 + _articles()} documents" in reindex.stderr


def _subscribe(base: str, mail_folder) -> None:
    """The README's subscription walk-through: the confirmation mail lands in var/mail/."""
    asked = requests.post(f"{base}/subscriptions", timeout=10, json={
        "email": "leser@example.org", "consent": "2026-11", "newsletter": True})
    assert asked.status_code == 202, asked.text
    mailbox = Mailbox(mail_folder, port=0)
    assert wait_for(lambda: mailbox.to("leser@example.org"), seconds=30)
    mail, = mailbox.to("leser@example.org")
    token = re.search(r"/abo/bestaetigen\?token=([\w.-]+)", text_part(mail)).group(1)  # the web client's page
    confirmed = requests.get(f"{base}/subscriptions/confirm", params={"token": token}, timeout=10)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed", confirmed.text


def _answer_the_demo_survey(base: str, staff_token: str) -> None:
    """The README's survey walk-through: the demo survey is open, the demo poll has public results."""
    surveys = {item["kind"]: item for item in requests.get(f"{base}/surveys", timeout=10).json()["items"]}
    survey, poll = surveys["survey"], surveys["poll"]
    assert survey["open"] and poll["status"] == "closed"
    assert requests.get(f"{base}/surveys/{poll['id']}/results", timeout=10).json()["response_count"] == 42
    token = requests.post(f"{base}/surveys/{survey['id']}/participation", timeout=10).json()["token"]
    answered = requests.post(f"{base}/surveys/{survey['id']}/responses", timeout=10, json={
        "token": token, "answers": {"wohnform": "betreut", "umbau": False, "umbau_hindernis": ["kosten"],
                                    "wichtig": {"arzt": 5, "bus": 4}, "idee": "Ein Rufbus zum Arzt"}})
    assert answered.status_code == 201, answered.text
    export = requests.get(f"{base}/surveys/{survey['id']}/responses.csv", timeout=10,
                          headers={"Authorization": f"Bearer {staff_token}"})
    assert export.status_code == 200 and "Ein Rufbus zum Arzt" in export.content.decode("utf-8-sig")


def _articles() -> int:
    return len(json.loads((REPO / "services" / "catalog" / "demo" / "articles.json").read_text(encoding="utf-8")))

