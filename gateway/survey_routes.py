"""The survey routes of the gateway (a part of ``GatewayService``): thin, like all routes.

Participation (a token, a response) is open to the public, limited per client address and
survey (``gateway.ratelimit.ParticipationLimit``), and its access log lines carry no client
address (``gateway.web``). Everything else about a survey's definition is staff work.
"""
from werkzeug.wrappers import Response

from contracts.survey import api as schemas
from gateway.inputs import etag, expected_version, json_body, query_args, resource_id, validate
from gateway.openapi import AUTH_OPTIONAL, AUTH_STAFF, documented
from gateway.ratelimit import ParticipationLimit
from gateway.responses import json_response
from gateway.schemas import NoQuery
from gateway.rpc import TimedRpc
from gateway.web import route as gateway_route
from kernel.roles import STAFF_ROLES

API = "/api/v1"


def route(method: str, path: str):
    return gateway_route(method, API + path)


class SurveyRoutes:
    survey = TimedRpc("survey")
    participation_limit = ParticipationLimit()

    @route("GET", "/surveys")
    @documented(summary="List surveys and polls", tag="surveys", auth=AUTH_OPTIONAL, query=schemas.SurveyQuerySchema,
                response=schemas.SurveyPageSchema, description="The public sees every survey but drafts, without the staff fields.")
    def list_surveys(self, request):
        self.auth.optional(request)
        query = validate(schemas.SurveyQuerySchema, query_args(request), "query")
        return json_response(self.survey.list_surveys(query))

    @route("POST", "/surveys")
    @documented(summary="Create a survey or poll (draft)", tag="surveys", auth=AUTH_STAFF,
                body=schemas.SurveyCreateSchema, response=schemas.SurveyStaffSchema, status=201,
                headers={"Location": "URL of the new survey", "ETag": "its version"}, errors=(503,),
                description="Question types: single_choice, multiple_choice (min_choices, max_choices), rating "
                            "(scale), ranking, yes_no, number (min, max, decimals, unit), text (max_length), "
                            "matrix (rows, scale). show_if makes a question conditional on earlier answers: "
                            "{question, equals|in|answered|at_least|at_most} combined with all/any/not. "
                            "A poll is one question: kind poll with options (and max_choices for several).")
    def create_survey(self, request):
        self.auth.require(request, *STAFF_ROLES)
        data = validate(schemas.SurveyCreateSchema, json_body(request), "survey")
        survey = self.survey.create_survey(data)
        return json_response(survey, status=201, headers={"Location": f"{API}/surveys/{survey['id']}",
                                                          "ETag": etag(survey["version"])})

    @route("GET", "/surveys/<survey_id>")
    @documented(summary="Get a survey", tag="surveys", auth=AUTH_OPTIONAL, response=schemas.SurveyStaffSchema,
                headers={"ETag": "the survey's version, for If-Match"})
    def get_survey(self, request, survey_id):
        self.auth.optional(request)
        survey = self.survey.get_survey(resource_id(survey_id))
        return json_response(survey, headers={"ETag": etag(survey["version"])})

    @route("PATCH", "/surveys/<survey_id>")
    @documented(summary="Change a survey", tag="surveys", auth=AUTH_STAFF, body=schemas.SurveyUpdateSchema,
                response=schemas.SurveyStaffSchema, errors=(409, 503), headers={"ETag": "the new version"},
                request_headers={"If-Match": "the ETag of the version you edited (or send version in the body)"},
                description="Send the version you edited (body or If-Match). Questions cannot change once a "
                            "response was counted (409); a closed survey only changes title, description "
                            "and results_public.")
    def update_survey(self, request, survey_id):
        self.auth.require(request, *STAFF_ROLES)
        survey_id = resource_id(survey_id)
        changes = json_body(request)
        version = expected_version(request, changes)
        validate(schemas.SurveyUpdateSchema, {**changes, "version": version}, "change")
        survey = self.survey.update_survey(survey_id, changes, version)
        return json_response(survey, headers={"ETag": etag(survey["version"])})

    @route("POST", "/surveys/<survey_id>/publish")
    @documented(summary="Publish a draft", tag="surveys", auth=AUTH_STAFF, response=schemas.SurveyStaffSchema,
                errors=(409, 422), description="It opens now, or at opens_at (status scheduled until then).")
    def publish_survey(self, request, survey_id):
        self.auth.require(request, *STAFF_ROLES)
        return json_response(self.survey.publish_survey(resource_id(survey_id)))

    @route("POST", "/surveys/<survey_id>/close")
    @documented(summary="Close a survey now", tag="surveys", auth=AUTH_STAFF, response=schemas.SurveyStaffSchema,
                errors=(409,))
    def close_survey(self, request, survey_id):
        self.auth.require(request, *STAFF_ROLES)
        return json_response(self.survey.close_survey(resource_id(survey_id)))

    @route("POST", "/surveys/<survey_id>/participation")
    @documented(summary="Get a participation token", tag="surveys", response=schemas.ParticipationSchema,
                status=201, errors=(403, 409, 429),
                description="One token is good for one response to this survey, until expires_at. Nothing "
                            "about the participant is stored. Limited per client address and survey.")
    def issue_participation(self, request, survey_id):
        survey_id = resource_id(survey_id)
        self.participation_limit(request, survey_id)
        return json_response(self.survey.issue_participation(survey_id), status=201)

    @route("POST", "/surveys/<survey_id>/invitations")
    @documented(summary="Invitation tokens for a survey", tag="surveys", auth=AUTH_STAFF,
                body=schemas.InvitationRequestSchema, response=schemas.InvitationsSchema, status=201, errors=(409,),
                description="For a survey with access invitation: only these tokens let people answer it. "
                            "They are shown once and not stored; hand each to one person.")
    def issue_invitations(self, request, survey_id):
        self.auth.require(request, *STAFF_ROLES)
        body = validate(schemas.InvitationRequestSchema, json_body(request), "request")
        return json_response(self.survey.issue_invitations(resource_id(survey_id), body), status=201)

    @route("POST", "/surveys/<survey_id>/responses")
    @documented(summary="Answer a survey", tag="surveys", body=schemas.ResponseCreateSchema,
                response=schemas.ResponseReceiptSchema, status=201, errors=(409, 429),
                headers={"Location": "the survey's results"},
                request_headers={"Idempotency-Key": "a string of your choice, new for each response; a retry "
                                                    "with it answers the first receipt and counts nothing twice"},
                description="Every answer is checked against the survey: 422 names each question and what "
                            "is wrong. 409 when the survey is not open (yet), is full, or the token was used. "
                            "Send an Idempotency-Key header to retry safely: a retry answers the first "
                            "receipt and counts nothing twice (the same key with another body: 422). "
                            "Anonymous: no address, agent or identity is stored or logged with a response.")
    def submit_response(self, request, survey_id):
        survey_id = resource_id(survey_id)
        self.participation_limit(request, survey_id)
        body = validate(schemas.ResponseCreateSchema, json_body(request), "response")
        receipt = self.survey.submit_response(survey_id, body, request.headers.get("Idempotency-Key"))
        return json_response(receipt, status=201, headers={"Location": f"{API}/surveys/{survey_id}/results"})

    @route("GET", "/surveys/<survey_id>/results")
    @documented(summary="Results of a survey", tag="surveys", auth=AUTH_OPTIONAL, query=schemas.ResultsQuerySchema,
                response=schemas.ResultsSchema, errors=(403,),
                description="Per question: counts and shares; mean, median and distribution of ratings and "
                            "numbers; Borda scores of rankings. Public once the survey is closed, if it says "
                            "so; groups smaller than min_group show as fewer_than. Staff see them any time, "
                            "with free-text answers and ?cross=a,b cross-tabulations.")
    def survey_results(self, request, survey_id):
        self.auth.optional(request)
        query = validate(schemas.ResultsQuerySchema, query_args(request), "query")
        return json_response(self.survey.survey_results(resource_id(survey_id), query))

    @route("GET", "/surveys/<survey_id>/responses.csv")
    @documented(summary="Export the responses as CSV", tag="surveys", auth=AUTH_STAFF,
                query=schemas.ExportQuerySchema, content_type="text/csv",
                description="One row per response, one column per question (multiple choice, ranking and "
                            "matrix: one per option or row). UTF-8 with BOM, ; by default.")
    def export_csv(self, request, survey_id):
        self.auth.require(request, *STAFF_ROLES)
        query = validate(schemas.ExportQuerySchema, query_args(request), "query")
        survey_id = resource_id(survey_id)
        chunks, after = [], 0
        while after is not None:
            page = self.survey.export_responses(survey_id, {**query, "format": "csv", "after": after})
            chunks.append(page["content"])
            after = page["next"]
        return Response("".join(chunks), content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="survey-{survey_id}.csv"'})

    @route("GET", "/surveys/<survey_id>/responses.json")
    @documented(summary="Export the responses as JSON", tag="surveys", auth=AUTH_STAFF,
                description="{survey, responses[{id, position, submitted_at, answers}]}, oldest first.")
    def export_json(self, request, survey_id):
        self.auth.require(request, *STAFF_ROLES)
        validate(NoQuery, query_args(request), "query")
        survey_id = resource_id(survey_id)
        items, after, survey = [], 0, None
        while after is not None:
            page = self.survey.export_responses(survey_id, {"format": "json", "after": after})
            survey, after = page["survey"], page["next"]
            items.extend(page["responses"])
        return json_response({"survey": survey, "responses": items})
