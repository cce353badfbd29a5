"""The survey service's RPC and HTTP contract: survey definitions, answers, outputs.

The survey service validates every RPC input with these, the gateway validates HTTP input
with the same classes, and the OpenAPI document is built from them. Rules that need the
whole definition (question ids, conditions naming earlier questions) are checked by the
service's ``definitions`` module; answers are checked against a survey's definition by its
``answers`` module. Event contracts are separate (``events.py``).

Labels are German, optionally with English: ``"Wie alt sind Sie?"`` or
``{"de": "Wie alt sind Sie?", "en": "How old are you?"}``.
"""
from marshmallow import ValidationError, fields, validate, validates_schema

from kernel.schemas import InputSchema, Instant, OutputSchema, Text, described, page_schema

QUESTION_TYPES = ("single_choice", "multiple_choice", "rating", "ranking", "yes_no", "number", "text", "matrix")
CHOICE_TYPES = ("single_choice", "multiple_choice", "ranking")
SURVEY_KINDS = ("survey", "poll")
ACCESS = ("open", "invitation")
SURVEY_STATUSES = ("draft", "scheduled", "published", "closed")
LINK_TYPES = ("entry", "theme")
MAX_QUESTIONS = 30
MAX_OPTIONS = 30
MAX_TEXT_LENGTH = 5000
KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$",
                      error="must be 1 to 40 lowercase letters, digits or _, starting with a letter")


class Label(fields.Field):
    """A label in German (a string), or ``{"de": …, "en": …}``; loads as that object."""

    default_error_messages = {"invalid": "must be a text or an object {{de, en}}",
                              "length": "must have 1 to {max} characters"}

    def __init__(self, max_length: int = 500, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.metadata.setdefault("description", "German text, or {de, en}")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = {"de": value}
        if not isinstance(value, dict) or not set(value) <= {"de", "en"} or "de" not in value:
            raise self.make_error("invalid")
        label = {}
        for language, text in value.items():
            if text is None and language == "en":
                continue
            if not isinstance(text, str):
                raise self.make_error("invalid")
            text = text.strip()
            if not 1 <= len(text) <= self.max_length:
                raise self.make_error("length", max=self.max_length)
            label[language] = text
        return label


class OptionSchema(InputSchema):
    value = fields.String(required=True, validate=KEY, **described("stable key of the option (used in answers)"))
    label = Label(max_length=200, required=True)


class Option(fields.Field):
    """An option: ``{value, label}``, or only its German label (the value is then ``o1``, ``o2`` …)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return {"value": None, "label": Label(max_length=200).deserialize(value)}
        if not isinstance(value, dict):
            raise ValidationError("must be a text or an object {value, label}")
        return OptionSchema().load(value)


class ScaleSchema(InputSchema):
    min = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=-10, max=10))
    max = fields.Integer(load_default=5, strict=True, validate=validate.Range(min=-10, max=10))
    min_label = Label(max_length=100, allow_none=True)
    max_label = Label(max_length=100, allow_none=True)

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("max", 5) - data.get("min", 1) < 1 or data.get("max", 5) - data.get("min", 1) > 10:
            raise ValidationError("max must be 1 to 10 above min", "max")


class ConditionField(fields.Raw):
    """``{"question": id, "equals"|"in"|"answered"|"at_least"|"at_most": …}`` or ``{"all": […]}``,
    ``{"any": […]}``, ``{"not": …}``; checked against the questions before it by the service."""

    def __init__(self, **kwargs):
        super().__init__(**described("show the question only when this holds about earlier answers", **kwargs))


class QuestionSchema(InputSchema):
    id = fields.String(validate=KEY, **described("stable key (default q1, q2 …); answers are keyed by it"))
    type = fields.String(required=True, validate=validate.OneOf(QUESTION_TYPES))
    label = Label(required=True)
    help = Label(max_length=1000, allow_none=True)
    required = fields.Boolean(load_default=False)
    options = fields.List(Option(), validate=validate.Length(min=2, max=MAX_OPTIONS),
                          **described("single_choice, multiple_choice, ranking"))
    min_choices = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_OPTIONS),
                                 **described("multiple_choice: fewest selections (default 1)"))
    max_choices = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_OPTIONS),
                                 **described("multiple_choice: most selections (default: all)"))
    scale = fields.Nested(ScaleSchema, **described("rating and matrix: the range and its end labels"))
    rows = fields.List(Option(), validate=validate.Length(min=1, max=20), **described("matrix: the rated rows"))
    min = fields.Float(allow_nan=False, validate=validate.Range(min=-1e12, max=1e12), **described("number"))
    max = fields.Float(allow_nan=False, validate=validate.Range(min=-1e12, max=1e12), **described("number"))
    decimals = fields.Integer(strict=True, validate=validate.Range(min=0, max=3),
                              **described("number: decimal places allowed (default 0)"))
    unit = Text(validate=validate.Length(min=1, max=20), **described("number: shown beside the field"))
    max_length = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_TEXT_LENGTH),
                                **described("text: most characters (default 1000)"))
    show_if = ConditionField()

    _ALLOWED = {  # type-specific fields
        "single_choice": {"options"}, "multiple_choice": {"options", "min_choices", "max_choices"},
        "ranking": {"options"}, "rating": {"scale"}, "matrix": {"scale", "rows"}, "yes_no": set(),
        "number": {"min", "max", "decimals", "unit"}, "text": {"max_length"},
    }
    _REQUIRED = {"single_choice": {"options"}, "multiple_choice": {"options"}, "ranking": {"options"},
                 "matrix": {"rows"}}
    _SPECIFIC = {name for names in _ALLOWED.values() for name in names}

    @validates_schema
    def _fits_its_type(self, data, **kwargs):
        kind = data.get("type")
        if kind not in self._ALLOWED:
            return
        errors = {name: [f"not used by a {kind} question"] for name in self._SPECIFIC & set(data)
                  if name not in self._ALLOWED[kind]}
        errors.update({name: [f"a {kind} question needs it"] for name in self._REQUIRED.get(kind, ())
                       if name not in data})
        if kind == "multiple_choice" and "options" in data:
            low, high = data.get("min_choices", 1), data.get("max_choices", len(data["options"]))
            if high > len(data["options"]):
                errors["max_choices"] = ["must not exceed the number of options"]
            elif low > high:
                errors["min_choices"] = ["must not exceed max_choices"]
        if kind == "number" and "min" in data and "max" in data and data["min"] > data["max"]:
            errors["max"] = ["must not be below min"]
        if errors:
            raise ValidationError(errors)


class SurveyLinkSchema(InputSchema):
    type = fields.String(required=True, validate=validate.OneOf(LINK_TYPES))
    ref = Text(required=True, validate=validate.Length(min=1, max=220),
               **described("the entry's id or slug, or the theme's slug"))


def _survey_fields(update: bool) -> dict:
    optional = {"allow_none": True} if update else {}
    return {
        "title": Label(max_length=200, required=not update),
        "description": Label(max_length=5000, allow_none=True),
        "questions": fields.List(fields.Nested(QuestionSchema), validate=validate.Length(min=1, max=MAX_QUESTIONS),
                                 **described("survey: the questions, in order")),
        "opens_at": Instant(**optional,
                                         **described("answers are taken from then (default: on publishing)")),
        "closes_at": Instant(**optional, **described("closed automatically then")),
        "quota": fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000), **optional,
                                **described("closed automatically after this many responses")),
        "results_public": fields.Boolean(**described("results are public once closed (default false)")),
        "access": fields.String(validate=validate.OneOf(ACCESS), **described(
            "open: anyone gets a participation token; invitation: only tokens staff hand out (default open)")),
        "link": fields.Nested(SurveyLinkSchema, **optional, **described("a catalog entry or theme it belongs to")),
    }


_POLL_FIELDS = {
    "question": Label(**described("poll: the question (default: the title)")),
    "options": fields.List(Option(), validate=validate.Length(min=2, max=MAX_OPTIONS),
                           **described("poll: its options")),
    "max_choices": fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_OPTIONS),
                                  **described("poll: more than 1 allows several answers")),
}


class SurveyCreateSchema(InputSchema):
    """A survey (``questions``), or a poll: one question in compact form (``options``)."""
    kind = fields.String(load_default="survey", validate=validate.OneOf(SURVEY_KINDS))
    locals().update(_survey_fields(update=False))
    locals().update(_POLL_FIELDS)

    @validates_schema
    def _kind_fits(self, data, **kwargs):
        poll_fields = sorted(set(_POLL_FIELDS) & set(data))
        if data.get("kind", "survey") == "poll":
            errors = {} if "options" in data else {"options": ["a poll needs its options"]}
            if "questions" in data:
                errors["questions"] = ["a poll has options, not questions"]
        else:
            errors = {} if "questions" in data else {"questions": ["a survey needs questions"]}
            errors.update({name: ["only a poll has it (kind: poll)"] for name in poll_fields})
        if errors:
            raise ValidationError(errors)


class SurveyUpdateSchema(InputSchema):
    """Changes to a survey; ``questions`` only while it has no responses."""
    locals().update(_survey_fields(update=True))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class SurveyQuerySchema(InputSchema):
    status = fields.String(validate=validate.OneOf(SURVEY_STATUSES), **described("staff: any; public: not draft"))
    kind = fields.String(validate=validate.OneOf(SURVEY_KINDS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ResponseCreateSchema(InputSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                          **described("the participation token (POST …/participation)"))
    # an object; its keys and values are checked against the survey's questions by the service
    answers = fields.Dict(required=True, **described("question id → answer; leave out or null what is skipped"))


class ResultsQuerySchema(InputSchema):
    cross = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39},[a-z][a-z0-9_]{0,39}$",
                                                   error="must be two question ids: q1,q2"),
                          **described("staff: cross-tabulate two choice questions, e.g. q1,q2"))
    language = fields.String(validate=validate.OneOf(("de", "en")))


class InvitationRequestSchema(InputSchema):
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000),
                           **described("how many invitation tokens (each good for one response)"))


class ExportQuerySchema(InputSchema):
    delimiter = fields.String(load_default="semicolon", validate=validate.OneOf(("semicolon", "comma")),
                              **described("CSV: semicolon (German spreadsheets, default) or comma"))


# --------------------------------------------------------------------------- outputs

class QuestionOutSchema(OutputSchema):
    id = fields.String(required=True)
    type = fields.String(required=True)
    label = fields.Dict(required=True)
    help = fields.Dict(allow_none=True)
    required = fields.Boolean(required=True)
    options = fields.List(fields.Dict())
    min_choices = fields.Integer()
    max_choices = fields.Integer()
    scale = fields.Dict()
    rows = fields.List(fields.Dict())
    min = fields.Float()
    max = fields.Float()
    decimals = fields.Integer()
    unit = fields.String()
    max_length = fields.Integer()
    show_if = fields.Dict()


class SurveySchema(OutputSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True, **described("draft, scheduled (published, opens later), published, closed"))
    open = fields.Boolean(required=True, **described("answers are taken now"))
    title = fields.Dict(required=True)
    description = fields.Dict(allow_none=True)
    questions = fields.List(fields.Nested(QuestionOutSchema), required=True)
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    quota = fields.Integer(allow_none=True)
    results_public = fields.Boolean(required=True)
    access = fields.String(required=True, **described("open or invitation"))
    link = fields.Dict(allow_none=True)
    response_count = fields.Integer(required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    published_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True, **described("time, quota or staff"))
    demo = fields.Boolean(required=True)


class SurveyStaffSchema(SurveySchema):
    created_by = fields.String(allow_none=True)


# the page staff see; the public's items lack the staff fields (created_by)
SurveyPageSchema = page_schema(SurveyStaffSchema, "SurveyPageSchema")


class ParticipationSchema(OutputSchema):
    token = fields.String(required=True, **described("send it with the response; valid for one response"))
    survey_id = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class InvitationsSchema(OutputSchema):
    survey_id = fields.String(required=True)
    tokens = fields.List(fields.String(), required=True, **described("hand each to one person; not stored"))
    expires_at = fields.DateTime(required=True)


class ResponseReceiptSchema(OutputSchema):
    response_id = fields.String(required=True)
    survey_id = fields.String(required=True)
    submitted_at = fields.DateTime(required=True)


class ResultsSchema(OutputSchema):
    survey_id = fields.String(required=True)
    status = fields.String(required=True)
    response_count = fields.Integer(allow_none=True, **described("null when fewer than the minimum group"))
    min_group = fields.Integer(required=True, **described("smaller groups are shown as fewer_than, never counted"))
    questions = fields.List(fields.Dict(), required=True)
    cross = fields.Dict(**described("staff, with ?cross=a,b"))
