"""``kosi survey``: export a survey's responses, hand out invitations, close a survey (as the operator)."""
import json
import sys

import click
from nameko.exceptions import UnknownService

from cli.operator import operator_rpc
from kernel.errors import KosiError


def _calling(action):
    try:
        with operator_rpc() as rpc:
            return action(rpc.survey)
    except KosiError as error:
        raise click.ClickException(f"{type(error).__name__}: {error}") from None
    except UnknownService:
        raise click.ClickException("the survey service is not running") from None


def export_survey(survey_id: str, fmt: str, output, delimiter: str) -> int:
    """Write every response (CSV: UTF-8 with BOM; JSON) to ``output`` or stdout; returns the count."""
    def pages(survey):
        after, chunks, items, head, rows = 0, [], [], None, 0
        while after is not None:
            query = {"format": fmt, "after": after, **({"delimiter": delimiter} if fmt == "csv" else {})}
            page = survey.export_responses(survey_id, query)
            if fmt == "csv":
                chunks.append(page["content"])
                rows += page["rows"]
            else:
                head = page["survey"]
                items.extend(page["responses"])
            after = page["next"]
        if fmt == "csv":
            return "".join(chunks), rows
        return json.dumps({"survey": head, "responses": items}, ensure_ascii=False, indent=2) + "\n", len(items)

    text, count = _calling(pages)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8", newline="")
    click.echo(f"{count} responses exported", err=True)
    return count


def invite(survey_id: str, count: int, output) -> list[str]:
    issued = _calling(lambda survey: survey.issue_invitations(survey_id, {"count": count}))
    text = "".join(token + "\n" for token in issued["tokens"])
    if output is None:
        sys.stdout.write(text)
    else:
        output.touch(mode=0o600)
        output.write_text(text, encoding="utf-8")
    click.echo(f"{count} invitation tokens, valid until {issued['expires_at']}", err=True)
    return issued["tokens"]


def close_survey(survey_id: str) -> dict:
    survey = _calling(lambda rpc: rpc.close_survey(survey_id))
    click.echo(f"closed: {survey['title']['de']} ({survey['response_count']} responses)")
    return survey
