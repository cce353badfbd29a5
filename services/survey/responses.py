"""Taking part: participation tokens, responses counted exactly once, results, exports.

A response needs a participation token (``issue_participation``): signed, bound to the survey,
expiring; a used token is kept only as a hash, so it counts once. An ``Idempotency-Key`` makes
a retried request answer the first one's receipt (the same key with another body is refused).
The responses that arrive together are counted in one transaction (``submit_responses``): the
survey row locked first, the keys, the tokens, the count (its UPDATE checks status and quota),
the responses, the result counters and one ``response.submitted`` event. Nothing about the participant is stored: no address, no agent, no identity.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from kernel import tokens
from kernel.db import add_to_counts, insert_all_ignoring_duplicates
from kernel.errors import Conflict, Forbidden, KosiError, NotFound, ValidationFailed
from kernel.roles import is_staff, require_staff
from kernel.rows import aware, new_id, utcnow
from services.survey import surveys as survey_domain
from services.survey.answers import checked_answers
from services.survey.models import handled_calls, idempotency_keys, responses, result_counts, surveys, used_tokens
from services.survey.results import counter_updates, summarise

PARTICIPATION = "survey-participation"  # the purpose (audience) of participation tokens
TEXT_SAMPLE = 100  # staff results list the newest free-text answers; the export has all


@dataclass(frozen=True)
class Settings:
    token_secret: str
    token_ttl_seconds: float = 24 * 3600
    invitation_ttl_days: float = 30
    min_group: int = 5
    idempotency_hours: float = 24


# ====================================================================== participation

def issue_participation(uow, survey_id, settings: Settings) -> dict:
    """A token for anyone, for a survey open to all."""
    row = survey_domain.visible_survey(uow.session, survey_id)
    if row.access == "invitation":
        raise Forbidden("this survey is by invitation: use the token you were given")
    _refuse_unless_open(row, utcnow())
    token, expires = tokens.issue(settings.token_secret, PARTICIPATION, row.id, _ttl(row, settings.token_ttl_seconds))
    return {"token": token, "survey_id": row.id, "expires_at": datetime.fromtimestamp(expires, timezone.utc)}


def issue_invitations(uow, survey_id, count: int, actor, settings: Settings) -> dict:
    """Staff: ``count`` invitation tokens, valid until the survey closes (or
    ``invitation_ttl_days``); only these let people answer a survey by invitation. They are
    not stored: hand each to one person (notify can mail them)."""
    require_staff(actor)
    row = survey_domain.find_survey(uow.session, survey_id)
    if row is None:
        raise NotFound("survey not found")
    if row.status == "closed":
        raise Conflict("the survey is closed and takes no more responses")
    ttl = _ttl(row, settings.invitation_ttl_days * 86400)
    issued = [tokens.issue(settings.token_secret, PARTICIPATION, row.id, ttl, extra={"inv": True})
              for _ in range(count)]
    return {"survey_id": row.id, "tokens": [token for token, _ in issued],
            "expires_at": datetime.fromtimestamp(issued[0][1], timezone.utc)}


def _ttl(row, longest: float) -> float:
    if row.closes_at is None:
        return longest
    return max(1, min(longest, (aware(row.closes_at) - utcnow()).total_seconds() + 60))


def _refuse_unless_open(row, now) -> None:
    """``Conflict`` unless ``row`` takes a response now."""
    if row.status == "scheduled" or (row.status == "published" and row.opens_at and aware(row.opens_at) > now):
        opens = aware(row.opens_at)
        raise Conflict(f"the survey is not open yet: it opens at {opens.isoformat() if opens else 'a later time'}")
    if row.status == "closed" or (row.closes_at is not None and now >= aware(row.closes_at)):
        raise Conflict("the survey is closed and takes no more responses")
    if row.quota is not None and row.response_count >= row.quota:
        raise Conflict("the survey has reached its quota of responses")


# ====================================================================== responding

@dataclass
class Submission:
    """One response as sent: its body (``{token, answers}``, loaded), ``Idempotency-Key``, and
    the RPC call it came with (``kernel.rpc``: a redelivered call answers its first result)."""
    body: dict
    key: str | None = None
    call_key: str | None = None
    redelivered: bool = False  # only a call delivered again can have been answered before


def submit_response(uow, survey_id, body: dict, idempotency_key: str | None, settings: Settings) -> dict:
    """Count one response; answers ``{response_id, survey_id, submitted_at}``."""
    [outcome] = submit_responses(uow, survey_id, [Submission(body, idempotency_key)], settings)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@dataclass
class _Pending:
    """A submission on its way through ``submit_responses``; ``outcome`` set once decided."""
    submission: Submission
    receipt: dict
    outcome: object = None
    key_hash: str | None = None
    request_hash: str | None = None
    same_as: "_Pending | None" = None  # an earlier one in the batch with the same key and body
    key_claimed: bool = False
    token_hash: str | None = None
    token_expires: datetime | None = None
    answers: dict | None = None
    token_claimed: bool = False
    counted: bool = False

    @property
    def open(self) -> bool:
        return self.outcome is None and self.same_as is None


def submit_responses(uow, survey_id, submissions: list[Submission], settings: Settings) -> list:
    """Count the responses that arrived together, in one transaction (``services.survey.writer``
    groups them): a receipt, or the error (a ``KosiError``) for each, in order. One failing
    does not touch the others: what it claimed (its key, its token) is taken back.

    The survey row is locked first, so batches of several processes count one after another,
    and the quota (checked against the responses accepted so far) holds. Keys and tokens are
    claimed for the whole batch at once (``INSERT … ON CONFLICT DO NOTHING RETURNING``)."""
    session = uow.session
    row = survey_domain.find_survey(session, survey_id, lock=True)
    if row is None or row.status not in survey_domain.VISIBLE:
        return [NotFound("survey not found") for _ in submissions]
    now = utcnow()
    submitted_at = now.replace(second=0, microsecond=0)
    batch = [_Pending(submission, {"response_id": new_id(), "survey_id": row.id,
                                   "submitted_at": submitted_at.isoformat()}) for submission in submissions]
    for item in batch:
        if item.submission.redelivered:
            _settle(item, lambda: _first_answer(session, item.submission.call_key))
    _claim_keys(session, row.id, batch, submitted_at)
    _check(row, batch, settings, now)
    _claim_tokens(session, row.id, batch)
    capacity = None if row.quota is None else row.quota - row.response_count
    for item in batch:
        if item.open and item.token_claimed:
            if capacity is not None and capacity <= 0:
                item.outcome = Conflict("the survey has reached its quota of responses")
                continue
            item.counted, item.outcome = True, item.receipt
            capacity = None if capacity is None else capacity - 1
    _take_back(session, row.id, batch)
    for item in batch:
        if item.same_as is not None:
            item.outcome = item.same_as.outcome  # the same request: the same outcome
    counted = [(item.receipt["response_id"], item.answers) for item in batch if item.counted]
    if counted:
        record_responses(uow, row, counted, submitted_at, now)
    # to the minute, as the response: no exact time is kept beside a response id
    answered = [{"call_key": item.submission.call_key, "result": item.outcome, "handled_at": submitted_at}
                for item in batch if item.submission.call_key is not None and isinstance(item.outcome, dict)]
    if answered:  # each call's answer, for a redelivery of it to give again
        insert_all_ignoring_duplicates(session, handled_calls, answered)
    uow.commit()
    return [item.outcome for item in batch]


def _settle(item: _Pending, decide) -> None:
    """``item.outcome = decide()``, or the error it raised; None leaves it open."""
    try:
        item.outcome = decide()
    except KosiError as error:
        item.outcome = error


def _claim_keys(session, survey_id: str, batch: list[_Pending], now) -> None:
    """Claim each new ``Idempotency-Key`` with its receipt; a key seen before answers the first
    request's receipt (or 422 for another body), also when the first is in this batch."""
    keyed = [item for item in batch if item.open and item.submission.key is not None]
    for item in keyed:
        _settle(item, lambda: _note_hashes(item))
    keyed = [item for item in keyed if item.open]
    if not keyed:
        return
    inserted = set(insert_all_ignoring_duplicates(session, idempotency_keys, [
        {"survey_id": survey_id, "key_hash": item.key_hash, "request_hash": item.request_hash,
         "receipt": item.receipt, "created_at": now} for item in keyed], returning="key_hash"))
    claimants: dict[str, _Pending] = {}
    for item in keyed:
        if item.key_hash in inserted and item.key_hash not in claimants:
            claimants[item.key_hash] = item
            item.key_claimed = True
    earlier = _stored_keys(session, survey_id, {item.key_hash for item in keyed} - inserted)
    for item in keyed:
        if item.key_claimed:
            continue
        first = claimants.get(item.key_hash)
        if first is None and item.key_hash not in earlier:  # forgotten (24 h) between the two statements
            item.outcome = Conflict("the Idempotency-Key expired just now; send the request again")
            continue
        request_hash = first.request_hash if first else earlier[item.key_hash].request_hash
        if request_hash != item.request_hash:
            item.outcome = ValidationFailed("this Idempotency-Key was used for a different request", {
                "Idempotency-Key": ["already used with another body; use a new key"]})
        elif first is not None:
            item.same_as = first
        else:
            item.outcome = earlier[item.key_hash].receipt


def _stored_keys(session, survey_id: str, key_hashes: set[str]) -> dict:
    """The stored rows of keys that were claimed before this batch, by key hash."""
    if not key_hashes:
        return {}
    rows = session.execute(sa.select(idempotency_keys.c.key_hash, idempotency_keys.c.request_hash,
                                     idempotency_keys.c.receipt)
                           .where(idempotency_keys.c.survey_id == survey_id,
                                  idempotency_keys.c.key_hash.in_(sorted(key_hashes))))
    return {row.key_hash: row for row in rows}


def _note_hashes(item: _Pending) -> None:
    item.key_hash, item.request_hash = _hashes(item.submission.key, item.submission.body)


def _check(row, batch: list[_Pending], settings: Settings, now) -> None:
    """Refuse what cannot count (not open, bad token, bad answers); check the rest's answers."""
    closed = None
    try:
        _refuse_unless_open(row, now)
    except Conflict as error:
        closed = error
    for item in batch:
        if not item.open:
            continue
        if closed is not None:
            item.outcome = closed
            continue
        _settle(item, lambda: _read(row, item, settings))


def _read(row, item: _Pending, settings: Settings) -> None:
    body = item.submission.body
    claims = tokens.read(settings.token_secret, PARTICIPATION, body.get("token"), "token", subject=row.id)
    if row.access == "invitation" and not claims.get("inv"):
        raise ValidationFailed("this survey is by invitation", {"token": ["not an invitation to this survey"]})
    item.answers = checked_answers(row.questions, body.get("answers"))
    item.token_hash = tokens.digest(claims)
    item.token_expires = datetime.fromtimestamp(claims["exp"], timezone.utc)


def _claim_tokens(session, survey_id: str, batch: list[_Pending]) -> None:
    """A token counts once: the first to claim it; every other use is refused."""
    ready = [item for item in batch if item.open and item.answers is not None]
    if not ready:
        return
    inserted = set(insert_all_ignoring_duplicates(session, used_tokens, [
        {"token_hash": item.token_hash, "survey_id": survey_id, "expires_at": item.token_expires} for item in ready],
        returning="token_hash"))
    for item in ready:
        if item.token_hash in inserted:
            inserted.discard(item.token_hash)
            item.token_claimed = True
        else:
            item.outcome = Conflict("this participation token has been used: each one counts once",
                                    {"token": ["already used"]})


def _take_back(session, survey_id: str, batch: list[_Pending]) -> None:
    """Release the keys and tokens claimed by responses that were not counted: a retry of
    theirs is judged afresh."""
    keys = [item.key_hash for item in batch if item.key_claimed and not item.counted]
    if keys:
        session.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.survey_id == survey_id,
                                                          idempotency_keys.c.key_hash.in_(keys)))
    spent = [item.token_hash for item in batch if item.token_claimed and not item.counted]
    if spent:
        session.execute(sa.delete(used_tokens).where(used_tokens.c.token_hash.in_(spent)))


def _first_answer(session, call_key: str | None):
    """The answer a redelivered RPC call gave the first time (None for a new call)."""
    if call_key is None:
        return None
    result = session.execute(sa.select(handled_calls.c.result).where(handled_calls.c.call_key == call_key)).first()
    if result is None:
        return None
    if result.result is None:
        raise Conflict("this call was applied before (it was delivered again)")
    return result.result


def record_responses(uow, row, responses_: list[tuple[str, dict]], submitted_at, now) -> list[int]:
    """Count checked answers (``[(response_id, answers), …]``, e.g. paper questionnaires typed in)
    for the survey ``row``: its response count (refused when it closed or would go past its
    quota meanwhile), the responses, the counters, one event with the new count; closes it at
    its quota. Returns the positions."""
    session = uow.session
    count = len(responses_)
    last = session.execute(
        sa.update(surveys)
        .where(surveys.c.id == row.id, surveys.c.status == "published",
               sa.or_(surveys.c.quota.is_(None), surveys.c.response_count + count <= surveys.c.quota))
        .values(response_count=surveys.c.response_count + count)
        .returning(surveys.c.response_count)).scalar()
    if last is None:  # closed or full since it was read
        _refuse_unless_open(survey_domain.find_survey(session, row.id), now)
        raise Conflict("the survey takes no more responses")
    positions = list(range(last - count + 1, last + 1))
    session.execute(sa.insert(responses), [
        {"id": response_id, "survey_id": row.id, "seq": seq, "submitted_at": submitted_at, "answers": answers}
        for seq, (response_id, answers) in zip(positions, responses_)])
    totals: dict[tuple[str, str], int] = {}
    for _, answers in responses_:
        for key, added in counter_updates(row.questions, answers).items():
            totals[key] = totals.get(key, 0) + added
    add_to_counts(session, result_counts, ["survey_id", "question", "bucket"], [
        {"survey_id": row.id, "question": question, "bucket": bucket, "count": added}
        for (question, bucket), added in totals.items()])
    uow.emit("response.submitted", {"survey_id": row.id, "response_count": last})
    if row.quota is not None and last >= row.quota:
        survey_domain.close(uow, survey_domain.find_survey(session, row.id), "quota")
    return positions


def _hashes(key: str, body: dict) -> tuple[str, str]:
    if not isinstance(key, str) or not 1 <= len(key) <= 200:
        raise ValidationFailed("the Idempotency-Key must have 1 to 200 characters",
                               {"Idempotency-Key": ["1 to 200 characters"]})
    return (hashlib.sha256(key.encode()).hexdigest(),
            hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest())


# ====================================================================== results

def survey_results(uow, survey_id, query: dict, actor, settings: Settings) -> dict:
    """Staff: at any time, with texts and cross-tabulations. Public: once closed, if public."""
    staff = is_staff(actor)
    row = survey_domain.visible_survey(uow.session, survey_id, actor)
    if not staff and not (row.status == "closed" and row.results_public):
        raise Forbidden("the results of this survey are not public" if row.status == "closed"
                        else "results are shown after the survey closes")
    counters = uow.session.execute(sa.select(result_counts.c.question, result_counts.c.bucket, result_counts.c.count)
                                   .where(result_counts.c.survey_id == row.id)).all()
    cross = tuple(query["cross"].split(",")) if query.get("cross") else None
    if cross and not staff:
        raise Forbidden("cross-tabulations are for staff")
    result = summarise(row.questions, counters, row.response_count, staff=staff, min_group=settings.min_group,
                       language=query.get("language", "de"), cross=cross)
    if staff:
        _add_texts(uow.session, row, result)
    return {"survey_id": row.id, "status": row.status, **result}


def _add_texts(session, row, result: dict) -> None:
    text_ids = [q["id"] for q in row.questions if q["type"] == "text"]
    if not text_ids:
        return
    recent = session.execute(sa.select(responses.c.answers).where(responses.c.survey_id == row.id)
                             .order_by(responses.c.seq.desc()).limit(TEXT_SAMPLE * 5)).scalars()
    texts = {qid: [] for qid in text_ids}
    for answers in recent:
        for qid in text_ids:
            if qid in answers and len(texts[qid]) < TEXT_SAMPLE:
                texts[qid].append(answers[qid])
    for item in result["questions"]:
        if item["id"] in texts:
            item["texts"] = texts[item["id"]]


# ====================================================================== export

def export_page(uow, survey_id, actor, after: int, limit: int) -> dict:
    """Staff: the responses after position ``after``, oldest first: ``{survey, responses, next}``."""
    require_staff(actor)
    row = survey_domain.find_survey(uow.session, survey_id)
    if row is None:
        raise NotFound("survey not found")
    rows = uow.session.execute(sa.select(responses.c.id, responses.c.seq, responses.c.submitted_at, responses.c.answers)
                               .where(responses.c.survey_id == row.id, responses.c.seq > after)
                               .order_by(responses.c.seq).limit(limit)).all()
    items = [{"id": item.id, "position": item.seq, "submitted_at": aware(item.submitted_at).isoformat(),
              "answers": item.answers} for item in rows]
    return {"survey": {"id": row.id, "title": row.title, "questions": row.questions,
                       "response_count": row.response_count},
            "responses": items, "next": items[-1]["position"] if len(items) == limit else None}


# ====================================================================== retention

def prune(make_uow, settings: Settings, now=None) -> dict:
    """Forget idempotency keys after ``idempotency_hours`` and used tokens once expired (an
    expired token is refused by its signature anyway)."""
    now = now or utcnow()
    with make_uow() as uow:
        keys = uow.session.execute(sa.delete(idempotency_keys).where(
            idempotency_keys.c.created_at < now - timedelta(hours=settings.idempotency_hours))).rowcount
        used = uow.session.execute(sa.delete(used_tokens).where(used_tokens.c.expires_at < now)).rowcount
        uow.commit()
    return {"idempotency_keys": keys, "used_tokens": used}
