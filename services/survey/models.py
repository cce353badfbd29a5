"""Tables of the survey service (SQLAlchemy Core), with its outbox, inbox and handled calls.

Anonymity is a property of the tables: a response row has its answers, its survey, its
place in the order of responses and the minute it came in, nothing about who sent it. A
used participation token is kept only as a hash (to refuse it a second time), unlinked
from the response; an idempotency key keeps the receipt it answered, so a retry gets it
again.
"""
import sqlalchemy as sa

from kernel.outbox import handled_calls_table, inbox_table, outbox_table

metadata = sa.MetaData()

ID = sa.String(36)  # UUID as text
TIMESTAMP = sa.DateTime(timezone=True)

surveys = sa.Table(
    "surveys", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),  # survey | poll
    sa.Column("status", sa.String(10), nullable=False, index=True),  # draft | scheduled | published | closed
    sa.Column("title", sa.JSON, nullable=False),  # {de, en}
    sa.Column("description", sa.JSON, nullable=True),
    sa.Column("questions", sa.JSON, nullable=False),  # the normalised definition
    sa.Column("opens_at", TIMESTAMP, nullable=True),
    sa.Column("closes_at", TIMESTAMP, nullable=True),
    sa.Column("quota", sa.Integer, nullable=True),
    sa.Column("results_public", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("access", sa.String(10), nullable=False, server_default="open"),  # open | invitation
    sa.Column("link", sa.JSON, nullable=True),  # {type: entry|theme, ref}
    sa.Column("response_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_by", sa.String(200), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("published_at", TIMESTAMP, nullable=True),
    sa.Column("closed_at", TIMESTAMP, nullable=True),
    sa.Column("close_reason", sa.String(10), nullable=True),  # time | quota | staff
)

responses = sa.Table(
    "responses", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("survey_id", ID, sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),  # 1, 2, … in the order counted
    sa.Column("submitted_at", TIMESTAMP, nullable=False),  # to the minute
    sa.Column("answers", sa.JSON, nullable=False),
    sa.UniqueConstraint("survey_id", "seq", name="uq_responses_survey_seq"),
)

# the aggregated results, updated in the transaction of each response
result_counts = sa.Table(
    "result_counts", metadata,
    sa.Column("survey_id", ID, sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("question", sa.String(81), primary_key=True),  # a question id, or "a|b" for a cross-tabulation
    sa.Column("bucket", sa.String(100), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

used_tokens = sa.Table(
    "used_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("survey_id", ID, sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
    sa.Column("expires_at", TIMESTAMP, nullable=False, index=True),  # kept until then, no longer needed after
)

idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("survey_id", ID, sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("receipt", sa.JSON, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False, index=True),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
handled_calls = handled_calls_table(metadata)
