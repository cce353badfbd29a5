"""A steady mixed workload through the gateway, and the ledger of what each request got.

Green workers (the test process is eventlet's) loop over: an editor creates, edits, withdraws
entries; the public submits, editors publish the submissions; participants answer a survey
(retrying a 5xx or a timeout with the same token and Idempotency-Key until it is decided);
people subscribe and confirm from the mail. A request answered 2xx is kept in the ledger as
what must be there; one answered 5xx or not at all as uncertain (kept or absent, whole).
"""
import itertools
import random
import re
import time
import uuid
from dataclasses import dataclass, field

import eventlet
import requests

from gateway.auth import mint_token
from tests.platform.deployment import SECRET

ATTEMPTS = 20          # a survey answer is tried this often (1 s apart) before it counts as uncertain
TIMEOUT = 15.0
THEME = "wohnen"
POLL = {"kind": "poll", "title": "Rufbus am Sonntag?", "options": ["Ja", "Nein"]}


def staff_headers() -> dict:
    token = mint_token(SECRET, "faults@kosi", ["editor", "admin"], 3 * 3600, issuer="kosi", audience="kosi-api")
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Ledger:
    sent: int = 0
    accepted: int = 0          # 2xx
    rejected: int = 0          # 4xx: refused as the API says (a conflict, a limit)
    failed: int = 0            # 5xx or no answer
    entries: dict = field(default_factory=dict)        # id → (version, status) of the newest 2xx answer
    uncertain_titles: set = field(default_factory=set)  # creations answered 5xx or not at all
    answers: set = field(default_factory=set)           # Idempotency-Keys answered 201
    uncertain_answers: set = field(default_factory=set)
    subscribed: set = field(default_factory=set)        # addresses answered 202
    confirmed: set = field(default_factory=set)
    unsubscribed: set = field(default_factory=set)
    uncertain_subscriptions: set = field(default_factory=set)
    latencies: dict = field(default_factory=dict)       # route group → seconds of each answered request
    server_errors: int = 0                              # answered 5xx (not: no answer at all)

    def answered(self, entry: dict) -> None:
        """An entry as a 2xx answer showed it; answers may come back out of order: the newest wins."""
        if entry["version"] >= self.entries.get(entry["id"], (0, None))[0]:
            self.entries[entry["id"]] = (entry["version"], entry["status"])

    def live(self) -> list[str]:
        return [entry_id for entry_id, (_, status) in self.entries.items() if status != "withdrawn"]

    def count(self, response) -> str:
        self.sent += 1
        if response is None or response.status_code >= 500:
            self.failed += 1
            self.server_errors += response is not None
            return "failed"
        if response.status_code >= 400:
            self.rejected += 1
            return "rejected"
        self.accepted += 1
        return "accepted"


class Workload:
    def __init__(self, base: str, mailbox, survey_id: str, workers: int = 4, pause: float = 0.1):
        self.base, self.mailbox, self.survey_id = base, mailbox, survey_id
        self.staff = staff_headers()
        self.ledger = Ledger()
        self.workers, self.pause = workers, pause
        self._running = False
        self._pool = eventlet.GreenPool()
        self._serial = itertools.count(1)
        self._random = random.Random(20261203)
        self._waiting_confirmation: list[str] = []
        self._submitted: list[str] = []
        self.errors: list[str] = []

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        self._running = True
        for _ in range(self.workers):
            self._pool.spawn(self._loop)

    def stop(self) -> None:
        self._running = False
        self._pool.waitall()

    def _loop(self) -> None:
        steps = (self.create_entry, self.create_entry, self.edit_entry, self.withdraw_entry, self.submit_entry,
                 self.publish_submission, self.answer_survey, self.answer_survey, self.subscribe,
                 self.confirm_subscription, self.unsubscribe, self.read_entries, self.search, self.search)
        while self._running:
            step = self._random.choice(steps)
            try:
                step()
            except Exception as error:   # a broken step is the test's fault: kept, reported by the test
                self.errors.append(f"{step.__name__}: {error!r}")
            eventlet.sleep(self.pause)

    def _request(self, method: str, path: str, **kwargs):
        began = time.monotonic()
        try:
            response = requests.request(method, f"{self.base}{path}", timeout=TIMEOUT, **kwargs)
        except requests.RequestException:
            return None
        group = f"{method} /{path.strip('/').split('/')[0]}"
        self.ledger.latencies.setdefault(group, []).append(time.monotonic() - began)
        return response

    # ------------------------------------------------------------------ steps

    def create_entry(self) -> None:
        title = f"Faultprojekt {next(self._serial)} {uuid.uuid4().hex[:6]}"
        response = self._request("POST", "/entries", headers=self.staff, json={
            "kind": "project", "title": title, "summary": "Ein Projekt, das Fehler übersteht.",
            "themes": [THEME], "location": {"lat": 51.8 + self._random.random() / 10, "lon": 11.6}})
        if self.ledger.count(response) == "accepted":
            self.ledger.answered(response.json())
        elif response is None or response.status_code >= 500:
            self.ledger.uncertain_titles.add(title)

    def edit_entry(self) -> None:
        live = self.ledger.live()
        if not live:
            return
        entry_id = self._random.choice(live)
        version = self.ledger.entries[entry_id][0]
        response = self._request("PATCH", f"/entries/{entry_id}", json={"summary": f"Stand {uuid.uuid4().hex[:8]}"},
                                 headers={**self.staff, "If-Match": f'"{version}"'})
        if self.ledger.count(response) == "accepted":
            self.ledger.answered(response.json())

    def withdraw_entry(self) -> None:
        live = self.ledger.live()
        if len(live) < 5:
            return
        entry_id = self._random.choice(live)
        response = self._request("DELETE", f"/entries/{entry_id}", headers=self.staff)
        if self.ledger.count(response) == "accepted":
            self.ledger.answered(response.json())

    def submit_entry(self) -> None:
        title = f"Bürgeridee {next(self._serial)} {uuid.uuid4().hex[:6]}"
        response = self._request("POST", "/entries", json={
            "kind": "idea", "title": title, "summary": "Eine Idee aus dem Dorf.", "themes": [THEME],
            "location": {"lat": 51.9, "lon": 11.7 + self._random.random() / 10}})
        if self.ledger.count(response) == "accepted":   # the receipt: a submission starts at version 1
            self.ledger.answered({"id": response.json()["id"], "version": 1, "status": "submitted"})
            self._submitted.append(response.json()["id"])
        elif response is None or response.status_code >= 500:
            self.ledger.uncertain_titles.add(title)

    def publish_submission(self) -> None:
        if not self._submitted:
            return
        entry_id = self._submitted.pop(0)
        response = self._request("POST", f"/entries/{entry_id}/review", headers=self.staff,
                                 json={"action": "publish", "version": self.ledger.entries[entry_id][0]})
        if self.ledger.count(response) == "accepted":
            self.ledger.answered(response.json())

    def read_entries(self) -> None:
        self.ledger.count(self._request("GET", "/entries", params={"theme": THEME, "page": self._random.randint(1, 3)}))

    def search(self) -> None:
        self.ledger.count(self._request("GET", "/search", params={
            "q": self._random.choice(["Faultprojekt", "Idee Dorf", "Projekt Fehler", "Bürgeridee"])}))

    def answer_survey(self) -> None:
        """One participant: a token, then the answer, retried as a client should until decided."""
        response = self._request("POST", f"/surveys/{self.survey_id}/participation")
        if self.ledger.count(response) != "accepted":
            return
        token, key = response.json()["token"], uuid.uuid4().hex
        for _ in range(ATTEMPTS):
            response = self._request("POST", f"/surveys/{self.survey_id}/responses", headers={"Idempotency-Key": key},
                                     json={"token": token, "answers": {"q1": self._random.choice(["o1", "o2"])}})
            outcome = self.ledger.count(response)
            if outcome == "accepted":
                self.ledger.answers.add(key)
                self.ledger.uncertain_answers.discard(key)
                return
            if outcome == "rejected":
                return
            self.ledger.uncertain_answers.add(key)
            eventlet.sleep(1)

    def subscribe(self) -> None:
        address = f"leser-{uuid.uuid4().hex[:10]}@example.org"
        response = self._request("POST", "/subscriptions", json={
            "email": address, "consent": "2026-11", "newsletter": True, "alerts": {"themes": [THEME]},
            "frequency": "immediately"})
        if self.ledger.count(response) == "accepted":
            self.ledger.subscribed.add(address)
            self._waiting_confirmation.append(address)
        elif response is None or response.status_code >= 500:
            self.ledger.uncertain_subscriptions.add(address)

    def confirm_subscription(self) -> None:
        """The first address whose confirmation mail has come is confirmed from its link."""
        if not self._waiting_confirmation:
            return
        waiting = set(self._waiting_confirmation)
        arrived = {mail["To"]: mail for mail in self.mailbox.messages() if mail["To"] in waiting}
        for address in list(self._waiting_confirmation):
            if address not in arrived:
                continue
            self._waiting_confirmation.remove(address)
            token = confirmation_token(arrived[address])
            response = self._request("GET", "/subscriptions/confirm", params={"token": token})
            if self.ledger.count(response) == "accepted":
                self.ledger.confirmed.add(address)
            else:
                self._waiting_confirmation.append(address)   # tried again later
            return


    def unsubscribe(self) -> None:
        """One in ten confirmed subscribers leaves, by the one-click link of a mail they got
        (RFC 8058: a form POST to the List-Unsubscribe URL)."""
        staying = self.ledger.confirmed - self.ledger.unsubscribed
        if len(staying) < 10 or self._random.random() > 0.3:
            return
        links = {mail["To"]: str(mail["List-Unsubscribe"]).strip("<>") for mail in self.mailbox.messages()
                 if mail["List-Unsubscribe"] and mail["To"] in staying}
        if links:
            address, url = sorted(links.items())[0]
            response = self._request("POST", "/subscriptions/unsubscribe" + url[url.index("?"):],
                                     data={"List-Unsubscribe": "One-Click"})
            if self.ledger.count(response) == "accepted":
                self.ledger.unsubscribed.add(address)


def confirmation_token(mail) -> str:
    body = mail.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"token=([A-Za-z0-9._\-]+)", body).group(1)
