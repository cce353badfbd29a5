"""nameko entrypoints of the survey service: validate with a schema, call the domain, return dicts.

Who is calling comes from the call's signed actor assertion (``self.caller.actor``); the
participation endpoints are public and carry nothing about the participant.
"""
import nameko
import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from nameko.rpc import ServiceRpc
from nameko.timer import timer

from contracts.survey import events  # noqa: F401 (registers the event contracts the domain emits)
from contracts.survey.api import (ExportQuerySchema, InvitationRequestSchema, ResponseCreateSchema, ResultsQuerySchema,
                                  SurveyCreateSchema,
                                  SurveyQuerySchema, SurveyUpdateSchema)
from kernel import tokens
from kernel.dependencies import CallerIdentity, Database, Tracing
from kernel.ops import OpsEndpoint
from kernel.errors import ValidationFailed
from kernel.roles import require_admin
from kernel.rpc import rpc
from kernel.schemas import load_input, with_expected_version
from services.survey import export, responses, surveys
from services.survey.catalog_link import link_checker
from services.survey.models import metadata
from services.survey.writer import ResponseWriter

SCHEDULE_SECONDS = 5  # how late a survey may open or close (answers check the times themselves)
EXPORT_PAGE_LIMIT = 2000


class SurveySettings(DependencyProvider):
    """``responses.Settings`` from the config; refuses to start without a token secret."""

    def setup(self):
        config = nameko.config
        self.settings = responses.Settings(
            token_secret=tokens.check_secret(config.get("SURVEY_TOKEN_SECRET"), "SURVEY_TOKEN_SECRET"),
            token_ttl_seconds=float(config.get("PARTICIPATION_TOKEN_TTL_SECONDS", 24 * 3600)),
            invitation_ttl_days=float(config.get("INVITATION_TTL_DAYS", 30)),
            min_group=int(config.get("RESULTS_MIN_GROUP", 5)),
            idempotency_hours=float(config.get("IDEMPOTENCY_KEY_TTL_HOURS", 24)))

    def get_dependency(self, worker_ctx):
        return self.settings


class SurveyService:
    name = "survey"

    db = Database(metadata, service="survey")
    caller = CallerIdentity()
    tracing = Tracing()
    ops = OpsEndpoint()
    settings = SurveySettings()
    catalog = ServiceRpc("catalog")
    writer = ResponseWriter()  # group commit of responses

    # ------------------------------------------------------------------ definitions
    @rpc
    def list_surveys(self, query=None):
        query = load_input(SurveyQuerySchema, query or {})
        with self.db() as uow:
            return surveys.list_surveys(uow, query, self.caller.actor)

    @rpc
    def get_survey(self, survey_id):
        with self.db() as uow:
            return surveys.get_survey(uow, survey_id, self.caller.actor)

    @rpc
    def create_survey(self, data):
        data = load_input(SurveyCreateSchema, data)
        with self.db() as uow:
            return surveys.create_survey(uow, data, self.caller.actor, link_checker(self.catalog))

    @rpc
    def update_survey(self, survey_id, changes, expected_version=None):
        changes = load_input(SurveyUpdateSchema, with_expected_version(changes, expected_version))
        with self.db() as uow:
            return surveys.update_survey(uow, survey_id, changes, changes["version"], self.caller.actor,
                                         link_checker(self.catalog))

    @rpc
    def publish_survey(self, survey_id):
        with self.db() as uow:
            return surveys.publish_survey(uow, survey_id, self.caller.actor)

    @rpc
    def close_survey(self, survey_id):
        with self.db() as uow:
            return surveys.close_survey(uow, survey_id, self.caller.actor)

    # ------------------------------------------------------------------ taking part
    @rpc
    def issue_participation(self, survey_id):
        with self.db() as uow:
            return responses.issue_participation(uow, survey_id, self.settings)

    @rpc
    def issue_invitations(self, survey_id, request):
        count = load_input(InvitationRequestSchema, request, what="request")["count"]
        with self.db() as uow:
            return responses.issue_invitations(uow, survey_id, count, self.caller.actor, self.settings)

    @rpc
    def submit_response(self, survey_id, body, idempotency_key=None):
        body = load_input(ResponseCreateSchema, body, what="response")
        return self.writer(survey_id, body, idempotency_key, self.settings)

    # ------------------------------------------------------------------ results
    @rpc
    def survey_results(self, survey_id, query=None):
        query = load_input(ResultsQuerySchema, query or {})
        with self.db() as uow:
            return responses.survey_results(uow, survey_id, query, self.caller.actor, self.settings)

    @rpc
    def export_responses(self, survey_id, query=None):
        """A page of the export: ``{content (CSV) | responses (JSON), survey, next}``; ask again
        with ``after=next`` until ``next`` is null."""
        query = dict(query or {})
        fmt, after = query.pop("format", "csv"), query.pop("after", 0)
        if fmt not in ("csv", "json") or isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValidationFailed("format must be csv or json, after a position", {"format": ["csv or json"]})
        options = load_input(ExportQuerySchema, query, what="query")
        with self.db() as uow:
            page = responses.export_page(uow, survey_id, self.caller.actor, after, EXPORT_PAGE_LIMIT)
        if fmt == "json":
            return page
        content = export.csv_text(page["survey"]["questions"], page["responses"], options["delimiter"],
                                  header=after == 0)
        return {"content": content, "rows": len(page["responses"]), "next": page["next"]}

    # ------------------------------------------------------------------ timers, ops
    # Not eager: see the note on the search service's refill timer
    @timer(interval=SCHEDULE_SECONDS)
    def keep_schedule(self):
        surveys.run_schedule(self.db)
        responses.prune(self.db, self.settings)

    @rpc
    def run_retention(self):
        """Admin (``kosi retention run``): apply the retention now; what was forgotten."""
        require_admin(self.caller.actor)
        return responses.prune(self.db, self.settings)

    @rpc
    def health(self):
        with self.db() as uow:
            uow.session.execute(sa.text("SELECT 1"))
        return {"status": "ok"}
