"""``make bench`` (third part): survey responses through the gateway beside their floor, and
reading results at 1,000 and at 100,000 responses.

1. ``responses``  ``POST /api/v1/surveys/{id}/responses``, 16 closed-loop clients (``bench.load``):
                  gateway → RabbitMQ → survey → PostgreSQL, the outbox relay on (each response's
                  event is published). Every request carries a participation token of its own
                  (pre-issued here with the service's secret, as ``POST …/participation`` issues
                  them: ``kernel.tokens.issue``), an ``Idempotency-Key`` and a random, realistic
                  answer set for six questions (single and multiple choice, rating, number,
                  yes/no, short text). Afterwards the survey's ``response_count``, its stored
                  responses and the 201 answers must be the same number.
   ``floor``      the same bodies POSTed to nameko ``@http`` + one RPC hop answering a small
                  receipt (``bench/bare.py``, ``/bare-post``). Target: responses/s ≥ 0.6 × floor.
2. ``results``    ``GET /api/v1/surveys/{id}/results`` with a staff token, one at a time, on
                  surveys holding 1,000 and 100,000 responses, filled through the domain
                  (``checked_answers`` + ``record_responses``, 1,000 per unit of work), and the
                  domain call ``survey_results`` in this process. Target: median at 100,000
                  ≤ 2 × median at 1,000.

Setup: a fresh PostgreSQL database (migrated, the three surveys created, published and the two
filled before any service starts; the fill's events are removed from the outbox, they are not
news), a RabbitMQ vhost of our own, ``kosi serve survey|gateway`` and the bare services as
processes. Only 127.0.0.1; everything is removed again, also on errors and Ctrl-C.

This process never imports ``cli.main`` (no eventlet monkey-patching). It measures, prints each
number beside its floor or target, and asserts nothing.
"""
import argparse
import json
import math
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import requests

from bench.infra import (LOAD_FROM_ONE_ADDRESS, REPO_ROOT, Processes, create_vhost, delete_vhost, drop_database, measured_load,
                         platform_environment, staff_token, start_bare, wait_until_answers)
from bench.load import Request, run_load

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

DATABASE_NAME = "kosi_bench_survey"
VHOST = "kosi_bench_survey"
STAFF = {"sub": "bench@kosi", "roles": ["editor"]}
TARGETS = {"responses_vs_floor": 0.6, "results_ratio": 2.0}
TOKEN_TTL_SECONDS = 3600
FLOOR_BODIES = 500        # distinct bodies the floor cycles through
FILL_SPAN = timedelta(days=30)  # filled responses came in over the last month

QUESTIONS = [
    {"id": "wohnort", "type": "single_choice", "required": True, "label": "Wo wohnen Sie?",
     "options": [{"value": "dorf", "label": "In einem Dorf"}, {"value": "kleinstadt", "label": "In einer Kleinstadt"},
                 {"value": "stadt", "label": "In einer Stadt"}]},
    {"id": "wege", "type": "multiple_choice", "max_choices": 3, "label": "Wie sind Sie meistens unterwegs?",
     "options": [{"value": "auto", "label": "Auto"}, {"value": "bus", "label": "Bus oder Rufbus"},
                 {"value": "bahn", "label": "Bahn"}, {"value": "rad", "label": "Fahrrad"},
                 {"value": "zu_fuss", "label": "Zu Fuß"}, {"value": "mitfahren", "label": "Ich werde mitgenommen"}]},
    {"id": "nahverkehr", "type": "rating", "label": "Wie zufrieden sind Sie mit dem Nahverkehr?",
     "scale": {"min": 1, "max": 5, "min_label": "gar nicht", "max_label": "sehr"}},
    {"id": "alter", "type": "number", "label": "Wie alt sind Sie?", "min": 16, "max": 99, "unit": "Jahre"},
    {"id": "ehrenamt", "type": "yes_no", "label": "Engagieren Sie sich ehrenamtlich?"},
    {"id": "idee", "type": "text", "max_length": 300, "label": "Was würde Ihnen den Alltag erleichtern?"},
]
IDEAS = ("Ein Rufbus am Wochenende.", "Mehr Bänke an der Hauptstraße", "Ein Dorfladen mit Café",
         "Mitfahrbank zum Arzt in die Stadt", "Schnelles Internet für alle Ortsteile.",
         "Ein Bürgerbus, der auch abends fährt", "Sichere Radwege zwischen den Dörfern",
         "Eine Gemeindeschwester, die Hausbesuche macht", "Treffpunkt für Jung und Alt im alten Bahnhof",
         "Bessere Anschlüsse an die Regionalbahn")


def random_answers(rng: random.Random) -> dict:
    """One respondent: the shares and the spread of ages roughly as a rural survey gets them."""
    answers = {"wohnort": rng.choices(("dorf", "kleinstadt", "stadt"), (45, 35, 20))[0],
               "wege": rng.sample(("auto", "bus", "bahn", "rad", "zu_fuss", "mitfahren"),
                                  rng.choices((1, 2, 3), (50, 35, 15))[0]),
               "alter": min(99, max(16, round(rng.gauss(52, 17))))}
    if rng.random() < 0.96:
        answers["nahverkehr"] = rng.choices((1, 2, 3, 4, 5), (12, 22, 30, 25, 11))[0]
    if rng.random() < 0.97:
        answers["ehrenamt"] = rng.random() < 0.32
    if rng.random() < 0.35:
        answers["idee"] = rng.choice(IDEAS)
    return answers


# ============================================================== database: surveys, filled through the domain

def prepare_database(sizes: list[int], batch: int, rng: random.Random, say) -> tuple[str, dict, list[dict]]:
    """Create and migrate the database, three published surveys (one for the load, one per
    size), fill them; returns (url, {"load"|size: survey id}, fill timings)."""
    import sqlalchemy as sa

    from contracts.survey.api import SurveyCreateSchema
    from kernel.db import create_db_engine, unit_of_work_factory
    from kernel.migrations import upgrade
    from kernel.schemas import load_input
    from services.survey import surveys
    from services.survey.models import metadata, outbox
    from tests.databases import fresh_database

    url = fresh_database(DATABASE_NAME)
    upgrade("survey", url)
    engine = create_db_engine(url)
    make_uow = unit_of_work_factory(engine, "survey", metadata)
    ids = {}
    for key in ["load", *sizes]:
        definition = load_input(SurveyCreateSchema, {"title": f"Mobil auf dem Land ({key})", "questions": QUESTIONS})
        with make_uow() as uow:
            survey_id = surveys.create_survey(uow, definition, STAFF, check_link=lambda link: None)["id"]
        with make_uow() as uow:
            surveys.publish_survey(uow, survey_id, STAFF)
        ids[key] = survey_id
    say(f"database {DATABASE_NAME} migrated, {len(ids)} surveys of {len(QUESTIONS)} questions published")
    fills = [fill(make_uow, ids[size], size, batch, rng, say) for size in sizes]
    with engine.begin() as conn:  # the fill's events are not news: the relay shall not publish them
        removed = conn.execute(sa.delete(outbox)).rowcount
    began = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE)"))  # as autovacuum would have by now; not in the middle of 1
    engine.dispose()
    say(f"{removed} events of the fill removed from the outbox; VACUUM (ANALYZE) {time.perf_counter() - began:.1f}s")
    return url, ids, fills


def fill(make_uow, survey_id: str, count: int, batch: int, rng: random.Random, say) -> dict:
    """``count`` responses counted by the domain, ``batch`` per unit of work (one transaction,
    ``record_responses``: as paper questionnaires are typed in)."""
    from kernel.rows import new_id, utcnow
    from services.survey.answers import checked_answers
    from services.survey.responses import record_responses
    from services.survey.surveys import find_survey

    with make_uow() as uow:
        row = find_survey(uow.session, survey_id)
    first_minute = utcnow() - FILL_SPAN
    started = time.perf_counter()
    report_every = max(batch, count // 5)
    for offset in range(0, count, batch):
        numbers = range(offset, min(count, offset + batch))
        submitted_at = (first_minute + FILL_SPAN * offset / count).replace(second=0, microsecond=0)
        with make_uow() as uow:
            record_responses(uow, row, [(new_id(), checked_answers(row.questions, random_answers(rng)))
                                        for _ in numbers], submitted_at, utcnow())
            uow.commit()
        done = numbers.stop
        if done % report_every < batch and done < count:
            say(f"  filling: {done:,}/{count:,} after {time.perf_counter() - started:.0f}s")
    seconds = time.perf_counter() - started
    say(f"filled {count:,} responses in {seconds:.1f}s ({count / seconds:.0f}/s, {batch} per unit of work)")
    return {"responses": count, "seconds": round(seconds, 1), "per_s": round(count / seconds), "batch": batch}


# ============================================================== 1: responses through the gateway vs the floor

def response_posts(url: str, survey_id: str, token_secret: str, count: int, rng: random.Random) -> list[Request]:
    """``count`` response requests, each with a participation token and an Idempotency-Key of its own."""
    from kernel import tokens
    from services.survey.responses import PARTICIPATION

    posts = []
    for _ in range(count):
        token, _ = tokens.issue(token_secret, PARTICIPATION, survey_id, TOKEN_TTL_SECONDS)
        body = json.dumps({"token": token, "answers": random_answers(rng)}, ensure_ascii=False).encode()
        posts.append(Request(url, "POST", body, {"Content-Type": "application/json",
                                                 "Idempotency-Key": str(uuid.uuid4())}))
    return posts


def send_one(post: Request) -> requests.Response:
    return requests.request(post.method, post.url, data=post.body, headers=post.headers, timeout=10)


def measure_responses(gateway: str, bare: str, survey_id: str, token_secret: str, database_url: str, args,
                      processes: Processes, staff: str, say) -> dict:
    rng = random.Random(args.seed + 1)
    url = f"http://{gateway}/api/v1/surveys/{survey_id}/responses"
    floor_posts = response_posts(f"http://{bare}/bare-post/{survey_id}", survey_id, token_secret, FLOOR_BODIES, rng)
    floor_answer = send_one(floor_posts[0])
    floor, floor_cpu = measured_load("floor", floor_posts, args.clients, args.seconds, args.warmup, processes,
                                     keys=("bare-http", "bare-rpc", "rabbitmq*"))
    say(f"floor (POST /bare-post, @http + 1 RPC hop): {floor.throughput:.0f}/s, p50 {floor.percentile(50):.1f} ms")

    # single-use tokens for twice the floor's rate (the real path cannot be faster than its floor)
    one_client_seconds = min(args.seconds, 4.0)
    needed = int(floor.throughput * (args.warmup + args.seconds + one_client_seconds) * 2) + 1000
    posts = response_posts(url, survey_id, token_secret, needed, rng)
    first = send_one(posts[0])  # the path works before we load it
    if first.status_code != 201:
        raise RuntimeError(f"POST {url} answered {first.status_code}: {first.text[:300]}")
    pending = iter(posts[1:])
    warm = run_load("responses-warmup", pending, args.clients, args.warmup)
    result, cpu = measured_load("responses", pending, args.clients, args.seconds, 0, processes,
                                keys=("gateway", "survey", "postgres*", "rabbitmq*"))
    say(f"responses: {result.ok} answered 2xx, {result.throughput:.0f}/s, p50 {result.percentile(50):.1f} ms"
        + (f", errors {dict(result.errors)}" if result.errors else ""))
    single = run_load("responses-1", pending, 1, one_client_seconds)  # the cost without queueing
    say(f"responses, 1 client: {single.throughput:.0f}/s, p50 {single.percentile(50):.1f} ms")

    # a benchmark that counted wrong is worthless: service, table and our 201s must agree
    survey = requests.get(f"http://{gateway}/api/v1/surveys/{survey_id}", timeout=10,
                          headers={"Authorization": f"Bearer {staff}"}).json()
    stored = count_rows(database_url, survey_id)
    runs = (warm, result, single)
    statuses = Counter({first.status_code: 1})
    for run in runs:
        statuses.update(run.statuses)
    check = {"answered_201": statuses[201], "response_count": survey["response_count"], **stored,
             "statuses": {str(status): number for status, number in sorted(statuses.items())},
             "errors": sum(run.error_count for run in runs), "ran_out": any(run.ran_out for run in runs)}
    check["consistent"] = (statuses[201] == survey["response_count"] == stored["response_rows"]
                           == stored["used_tokens"])
    return {**result.summary(), "cpu_ms_per_request": _rounded(cpu),
            "request_bytes": round(statistics.mean(len(post.body) for post in posts)),
            "answer_bytes": len(first.content), "tokens_issued": needed, "count": check,
            "one_client": {key: single.summary()[key] for key in ("requests", "throughput_rps", "p50_ms", "p95_ms")},
            "floor": {**floor.summary(), "cpu_ms_per_request": _rounded(floor_cpu),
                      "answer_bytes": len(floor_answer.content)}}


def count_rows(database_url: str, survey_id: str) -> dict:
    import sqlalchemy as sa

    from services.survey.models import responses, used_tokens

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            def rows(table):
                return conn.execute(sa.select(sa.func.count()).select_from(table)
                                    .where(table.c.survey_id == survey_id)).scalar_one()
            return {"response_rows": rows(responses), "used_tokens": rows(used_tokens)}
    finally:
        engine.dispose()


def _rounded(cpu: dict) -> dict:
    return {key: round(value, 2) for key, value in cpu.items()}


# ============================================================== 2: reading results at two sizes

def measure_results(gateway: str, ids: dict, sizes: list[int], staff: str, database_url: str, token_secret: str,
                    reads: int, say) -> dict:
    from kernel.db import create_db_engine, unit_of_work_factory
    from services.survey.models import metadata
    from services.survey.responses import Settings, survey_results

    engine = create_db_engine(database_url)
    make_uow = unit_of_work_factory(engine, "survey", metadata)
    settings = Settings(token_secret=token_secret)
    out = {}
    try:
        for size in sizes:
            read = Request(f"http://{gateway}/api/v1/surveys/{ids[size]}/results",
                           headers={"Authorization": f"Bearer {staff}"})
            answer = send_one(read)
            answer.raise_for_status()
            run_load(f"results-{size}-warmup", iter([read] * 5), 1, 60)
            result = run_load(f"results-{size}", iter([read] * reads), 1, 600)
            domain = []
            for _ in range(reads + 5):
                began = time.perf_counter()
                with make_uow() as uow:
                    survey_results(uow, ids[size], {}, STAFF, settings)
                domain.append((time.perf_counter() - began) * 1000)
            body = answer.json()
            out[str(size)] = {"reads": result.ok, "errors": result.error_count, "median_ms": round(result.percentile(50), 2),
                              "p95_ms": round(result.percentile(95), 2), "answer_bytes": len(answer.content),
                              "response_count": body["response_count"],
                              "domain_median_ms": round(statistics.median(domain[5:]), 2)}
            say(f"results at {size:,}: median {result.percentile(50):.1f} ms through the gateway, "
                f"{out[str(size)]['domain_median_ms']:.1f} ms in the domain; response_count {body['response_count']:,}")
    finally:
        engine.dispose()
    return out


# ============================================================== the run

def run(args) -> dict:
    from rich.console import Console

    console = Console(stderr=True, width=None if sys.stderr.isatty() else 110)

    def say(text):
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {text}")

    started = time.perf_counter()
    sizes = [args.small, args.large]
    report = {"benchmark": "survey", "cpus": os.cpu_count(), "clients": args.clients, "seconds": args.seconds,
              "sizes": sizes, "seed": args.seed}
    with ExitStack() as cleanup:
        log_dir = Path(tempfile.mkdtemp(prefix="kosi-bench-survey-"))
        amqp_uri = create_vhost(VHOST)
        cleanup.callback(delete_vhost, VHOST)
        say(f"RabbitMQ vhost {VHOST}; service logs in {log_dir} (removed after a good run)")
        if not args.keep_database:
            cleanup.callback(drop_database, DATABASE_NAME)
        database_url, ids, report["fill"] = prepare_database(sizes, args.fill_batch, random.Random(args.seed), say)

        processes = Processes(log_dir)
        cleanup.callback(processes.close)
        jwt_secret, token_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        gateway, bare = f"127.0.0.1:{args.gateway_port}", f"127.0.0.1:{args.bare_port}"
        common = {**platform_environment(amqp_uri, jwt_secret), "LOAD_DEMO_DATA": "false",
                  "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        serve = [sys.executable, "-m", "cli.main", "serve"]
        processes.start("survey", serve + ["survey"], {**common, "SURVEY_DATABASE_URL": database_url,
                                                      "KOSI_SURVEY_TOKEN_SECRET": token_secret})
        unlimited = str(10 ** 9)  # every request comes from 127.0.0.1: the abuse limits would stop the load
        processes.start("gateway", serve + ["gateway"], {**common, "GATEWAY_ADDRESS": gateway,
                                                        "GATEWAY_PARTICIPATION_PER_CLIENT": unlimited,
                                                        "GATEWAY_PARTICIPATION_PER_SURVEY": unlimited,
                                                        **LOAD_FROM_ONE_ADDRESS})
        start_bare(processes, amqp_uri, bare)
        wait_until_answers(f"http://{gateway}/api/v1/surveys/{ids['load']}", processes)
        wait_until_answers(f"http://{bare}/bare-rpc", processes)
        say(f"services answer after {time.perf_counter() - started:.1f}s; "
            f"{args.clients} clients, {args.warmup:g}s warm-up + {args.seconds:g}s per target")

        staff = staff_token(jwt_secret)
        report["responses"] = measure_responses(gateway, bare, ids["load"], token_secret, database_url, args,
                                                processes, staff, say)
        report["results"] = measure_results(gateway, ids, sizes, staff, database_url, token_secret, args.reads, say)
        processes.check_alive()
    shutil.rmtree(log_dir, ignore_errors=True)  # kept only when something went wrong
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["targets"] = verdicts(report)
    print_report(report)
    return report


def _ratio(top: float, bottom: float) -> float:
    return round(top / bottom, 3) if bottom and not math.isnan(bottom) and not math.isnan(top) else math.nan


def verdicts(report: dict) -> dict:
    responses = report["responses"]
    small, large = (report["results"][str(size)] for size in report["sizes"])
    throughput = _ratio(responses["throughput_rps"], responses["floor"]["throughput_rps"])
    results = _ratio(large["median_ms"], small["median_ms"])
    counted = responses["count"]["consistent"] and not responses["count"]["ran_out"]
    return {"responses_vs_floor": {"value": throughput, "target": TARGETS["responses_vs_floor"],
                                   "met": counted and throughput >= TARGETS["responses_vs_floor"]},
            "results_ratio": {"value": results, "target": TARGETS["results_ratio"],
                              "met": not large["errors"] and results <= TARGETS["results_ratio"]}}


def print_report(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120)
    targets, responses, floor = report["targets"], report["responses"], report["responses"]["floor"]
    small, large = report["sizes"]

    def mark(key):
        return "[green]met[/green]" if targets[key]["met"] else "[red]NOT MET[/red]"

    table = Table(title=f"surveys — {report['cpus']} CPUs, {report['clients']} clients, {report['seconds']:g}s")
    for column in ("measurement", "p50 ms", "p95 ms", "rate", "ratio", "target", "verdict"):
        table.add_column(column, justify="left" if column in ("measurement", "target", "verdict") else "right")
    table.add_row(f"1 POST …/responses ({responses['request_bytes']} B in, {responses['answer_bytes']} B out)",
                  f"{responses['p50_ms']:.1f}", f"{responses['p95_ms']:.1f}",
                  f"{responses['throughput_rps']:.0f} resp/s" + (f", {responses['errors']} errors" if responses["errors"] else ""),
                  f"{targets['responses_vs_floor']['value']:.2f}×", f"≥ {TARGETS['responses_vs_floor']} of the floor",
                  mark("responses_vs_floor"))
    table.add_row(f"  floor: the same bodies, @http + 1 RPC hop ({floor['answer_bytes']} B out)",
                  f"{floor['p50_ms']:.1f}", f"{floor['p95_ms']:.1f}", f"{floor['throughput_rps']:.0f} req/s", "", "", "")
    for size in (small, large):
        row = report["results"][str(size)]
        table.add_row(f"2 GET …/results at {size:,} responses, {row['reads']} reads, 1 client",
                      f"{row['median_ms']:.2f}", f"{row['p95_ms']:.2f}", "",
                      f"{targets['results_ratio']['value']:.2f}×" if size == large else "",
                      f"median ≤ {TARGETS['results_ratio']:g} × at {small:,}" if size == large else "",
                      mark("results_ratio") if size == large else "")
    console.print(table)

    count = responses["count"]
    console.print(("[green]counted right[/green]" if count["consistent"] else "[red]COUNTED WRONG[/red]")
                  + f": 201 answers {count['answered_201']:,}, the survey's response_count {count['response_count']:,}, "
                  f"stored responses {count['response_rows']:,}, used tokens {count['used_tokens']:,} "
                  f"(all statuses {count['statuses']}, {count['errors']} errors; {responses['tokens_issued']:,} tokens "
                  f"pre-issued" + (", [red]all used: a run was cut short[/red]" if count["ran_out"] else "") + ")")
    one = responses["one_client"]
    console.print(f"1 with 1 client (no queueing): {one['throughput_rps']:.0f} resp/s, p50 {one['p50_ms']:.1f} ms, "
                  f"p95 {one['p95_ms']:.1f} ms")
    console.print("1 CPU ms per response: " + ", ".join(f"{k} {v:.2f}" for k, v in responses["cpu_ms_per_request"].items())
                  + "; floor: " + ", ".join(f"{k} {v:.2f}" for k, v in floor["cpu_ms_per_request"].items())
                  + "  (* = every process of that server on this machine)")
    console.print("2 survey_results() in this process, median: "
                  + ", ".join(f"{size:,} → {report['results'][str(size)]['domain_median_ms']:.2f} ms" for size in (small, large))
                  + "; answers " + ", ".join(f"{report['results'][str(size)]['answer_bytes']:,} B" for size in (small, large)))
    console.print("fill through the domain: " + "; ".join(
        f"{item['responses']:,} in {item['seconds']:.1f}s ({item['per_s']}/s)" for item in report["fill"])
        + f", {report['fill'][0]['batch']} per unit of work; total run {report['total_seconds']}s")
    print(json.dumps(report, ensure_ascii=False))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark survey responses and results through the gateway.")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients sending responses")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds of responses and of the floor")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each")
    parser.add_argument("--small", type=int, default=1_000, help="responses of the first results survey")
    parser.add_argument("--large", type=int, default=100_000, help="responses of the second results survey")
    parser.add_argument("--reads", type=int, default=50, help="results reads at each size")
    parser.add_argument("--fill-batch", type=int, default=1000, help="responses per unit of work when filling")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--quick", action="store_true", help="10,000 instead of 100,000, 3s runs, 20 reads")
    parser.add_argument("--gateway-port", type=int, default=8130)
    parser.add_argument("--bare-port", type=int, default=8131)
    parser.add_argument("--keep-database", action="store_true", help=f"keep {DATABASE_NAME} afterwards")
    if "--quick" in (sys.argv[1:] if argv is None else argv):  # new defaults; options given still count
        parser.set_defaults(large=10_000, seconds=3.0, warmup=1.0, reads=20)
    args = parser.parse_args(argv)
    if min(args.clients, args.small, args.reads, args.fill_batch) < 1 or args.large <= args.small or args.seconds <= 0:
        parser.error("--clients, --small, --reads, --fill-batch and --seconds must be positive, --large above --small")
    try:
        run(args)
    except KeyboardInterrupt:
        print("interrupted; services stopped, vhost and database removed", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
