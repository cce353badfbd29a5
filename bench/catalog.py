"""``make bench``: what the gateway costs for catalog reads, next to bare nameko baselines.

One run, four targets, each driven by the same closed-loop load (``bench.load``):

- ``bare-http``     ``GET /bare``: a nameko ``@http`` endpoint returning a constant
- ``bare-rpc-hop``  ``GET /bare-rpc``: ``@http`` plus one RPC round trip to a constant
- ``read``          ``GET /api/v1/entries/{id}`` through gateway → catalog → PostgreSQL
- ``list``          ``GET /api/v1/entries?per_page=20`` the same way

Setup: a fresh PostgreSQL database, migrated and seeded with published entries through
the catalog's own domain code; the catalog, the gateway and the bare services each run
as their own process on a RabbitMQ virtual host of their own (so no other catalog on
this broker answers our RPC, and nothing of ours reaches other consumers). Everything
listens on 127.0.0.1 only and is stopped at the end, also on errors and Ctrl-C.

This process never imports ``cli.main``: it must not be monkey-patched by eventlet.
It measures and prints; it asserts nothing.
"""
import argparse
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from pathlib import Path

import requests

from bench.infra import (LOAD_FROM_ONE_ADDRESS, REPO_ROOT, Processes, create_vhost, delete_vhost, drop_database, json_list,
                         measured_load, platform_environment, start_bare, wait_until_answers)
from bench.load import DEFAULT_CLIENTS, DEFAULT_SECONDS, LoadResult

DATABASE_NAME = "kosi_bench_catalog"
VHOST = "kosi_bench"
STAFF = {"sub": "bench@kosi", "roles": ["editor"]}
# kernel.db looks whether eventlet patched us (it did not); keep its deprecation notice quiet
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
TARGETS = ("bare-http", "bare-rpc-hop", "read", "list")
RATIOS = (("read", "bare-http"), ("read", "bare-rpc-hop"), ("list", "bare-rpc-hop"))


# ============================================================== database: fresh and seeded

def prepare_database(entry_count: int, say) -> tuple[str, list[str], dict]:
    """Create, migrate and seed the bench database; returns (url, published entry ids, seed info)."""
    from kernel.migrations import upgrade
    from tests.databases import fresh_database

    url = fresh_database(DATABASE_NAME)
    upgrade("catalog", url)
    say(f"database {DATABASE_NAME} migrated")
    ids, info = seed_entries(url, entry_count)
    say(f"seeded {len(ids)} published entries ({info['from_demo']} from demo records, "
        f"{info['synthetic']} synthetic, {info['organisations']} organisations) in {info['seconds']:.1f}s")
    return url, ids, info


def seed_entries(url: str, count: int) -> tuple[list[str], dict]:
    """``count`` published entries created by the catalog domain (as staff would create them).

    The demo records (``services/catalog/demo``) are cycled to look like real content;
    should none of them load, simple synthetic entries take their place.
    """
    import sqlalchemy as sa

    from kernel.db import create_db_engine, unit_of_work_factory
    from kernel.errors import KosiError
    from contracts.catalog import events  # noqa: F401  (registers the contracts)
    from services.catalog import entries, organisations
    from services.catalog.models import metadata, themes
    from contracts.catalog.api import EntryCreateSchema, OrganisationCreateSchema
    from kernel.schemas import load_input

    started = time.perf_counter()
    engine = create_db_engine(url)
    make_uow = unit_of_work_factory(engine, "catalog", metadata)
    demo = REPO_ROOT / "services" / "catalog" / "demo"

    try:  # demo organisations use German kinds; the catalog's demo loader maps them
        from services.catalog.demo import ORGANISATION_KINDS
    except ImportError:
        ORGANISATION_KINDS = {}
    organisation_ids = {}
    for record in json_list(demo / "organisations.json"):
        data = {key: record.get(key) for key in ("name", "description", "website", "region")}
        data["kind"] = ORGANISATION_KINDS.get(record.get("kind"), record.get("kind"))
        if record.get("lat") is not None and record.get("lon") is not None:
            data["location"] = {"lat": record["lat"], "lon": record["lon"]}
        try:
            with make_uow() as uow:
                created = organisations.create_organisation(
                    uow, load_input(OrganisationCreateSchema, data), STAFF)
            organisation_ids[record.get("slug")] = created["id"]
        except KosiError:
            continue

    templates = []
    for record in json_list(demo / "entries.json"):
        data = {key: value for key, value in record.items()
                if key not in ("slug", "status", "demo", "lat", "lon", "organisations")}
        if record.get("lat") is not None and record.get("lon") is not None:
            data["location"] = {"lat": record["lat"], "lon": record["lon"]}
        data["organisations"] = [organisation_ids[slug] for slug in record.get("organisations") or []
                                 if slug in organisation_ids]
        try:
            templates.append(load_input(EntryCreateSchema, data))
        except KosiError:
            continue

    with engine.connect() as conn:
        theme_slugs = list(conn.execute(sa.select(themes.c.slug).order_by(themes.c.slug)).scalars())
    ids, from_demo, synthetic = [], 0, 0
    for number in range(count):
        data = dict(templates[number % len(templates)]) if templates else None
        if data is not None and number >= len(templates):
            data["title"] = f"{data['title']} ({number // len(templates) + 1})"[:200]
        try:
            if data is None:
                raise KosiError("no demo record")
            with make_uow() as uow:
                ids.append(entries.create_entry(uow, data, STAFF)["id"])
            from_demo += 1
        except KosiError:
            with make_uow() as uow:
                ids.append(entries.create_entry(uow, _synthetic_entry(number, theme_slugs), STAFF)["id"])
            synthetic += 1
    engine.dispose()
    return ids, {"entries": len(ids), "from_demo": from_demo, "synthetic": synthetic,
                 "organisations": len(organisation_ids), "seconds": time.perf_counter() - started}


def _synthetic_entry(number: int, theme_slugs: list[str]) -> dict:
    from contracts.catalog.api import EntryCreateSchema
    from kernel.schemas import load_input

    return load_input(EntryCreateSchema, {
        "kind": ("project", "idea", "initiative", "event")[number % 4],
        "title": f"Nachbarschaftsprojekt Nummer {number + 1}",
        "summary": "Menschen im Quartier organisieren gemeinsam Hilfe im Alltag.",
        "description": "Ein Eintrag für den Lasttest. " * 20,
        "themes": theme_slugs[number % len(theme_slugs):][:1] or theme_slugs[:1],
        "tags": ["nachbarschaft", "ehrenamt"],
    })


# ============================================================== the run

def measure(name: str, urls, args, processes: Processes, say) -> tuple[LoadResult, dict]:
    result, cpu_ms = measured_load(name, urls, args.clients, args.seconds, args.warmup, processes)
    say(f"{name}: {result.ok} requests, {result.throughput:.0f}/s, p50 {result.percentile(50):.2f} ms"
        + (f", {result.error_count} errors {dict(result.errors)}" if result.errors else ""))
    return result, cpu_ms


def run(args) -> dict:
    from rich.console import Console

    console = Console(stderr=True, width=None if sys.stderr.isatty() else 110)

    def say(text):
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {text}")

    started = time.perf_counter()
    with ExitStack() as cleanup:
        log_dir = Path(tempfile.mkdtemp(prefix="kosi-bench-"))
        amqp_uri = create_vhost(VHOST)
        cleanup.callback(delete_vhost, VHOST)
        say(f"RabbitMQ vhost {VHOST}; service logs in {log_dir} (removed after a good run)")

        database_url, entry_ids, seed_info = prepare_database(args.entries, say)
        if not args.keep_database:
            cleanup.callback(drop_database, DATABASE_NAME)

        processes = Processes(log_dir)
        cleanup.callback(processes.close)
        gateway = f"127.0.0.1:{args.gateway_port}"
        bare = f"127.0.0.1:{args.bare_port}"
        common = {**platform_environment(amqp_uri, secrets.token_urlsafe(32)),  # reads are public: no tokens
                  "LOAD_DEMO_DATA": "false", "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        # the outbox relay stays off: the seed's entry.published events are not ours to
        # announce, and reads do not write events anyway
        processes.start("catalog", [sys.executable, "-m", "cli.main", "serve", "catalog"],
                        {**common, "CATALOG_DATABASE_URL": database_url, "CATALOG_OUTBOX_RELAY": "false"})
        processes.start("gateway", [sys.executable, "-m", "cli.main", "serve", "gateway"],
                        {**common, "GATEWAY_ADDRESS": gateway, **LOAD_FROM_ONE_ADDRESS})
        start_bare(processes, amqp_uri, bare)

        urls = {
            "bare-http": [f"http://{bare}/bare"],
            "bare-rpc-hop": [f"http://{bare}/bare-rpc"],
            "read": [f"http://{gateway}/api/v1/entries/{entry_id}" for entry_id in entry_ids],
            "list": [f"http://{gateway}/api/v1/entries?per_page=20"],
        }
        for target in TARGETS:
            wait_until_answers(urls[target][0], processes)
        say(f"services answer after {time.perf_counter() - started:.1f}s; "
            f"{args.clients} clients, {args.warmup:g}s warm-up + {args.seconds:g}s per target")

        results, cpu = {}, {}
        for target in TARGETS:
            results[target], cpu[target] = measure(target, urls[target], args, processes, say)
        sizes = {target: len(requests.get(urls[target][0], timeout=10).content) for target in TARGETS}

    shutil.rmtree(log_dir, ignore_errors=True)  # kept only when something went wrong
    report = build_report(results, cpu, sizes, seed_info, args, time.perf_counter() - started)
    print_report(report)
    return report


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom and not math.isnan(bottom) and not math.isnan(top) else math.nan


def build_report(results: dict[str, LoadResult], cpu: dict, sizes: dict, seed_info: dict, args,
                 total_seconds: float) -> dict:
    targets = {}
    for name, result in results.items():
        targets[name] = {**result.summary(), "response_bytes": sizes.get(name),
                         "cpu_ms_per_request": {key: round(value, 3) for key, value in cpu[name].items()}}
    ratios = {}
    for top, bottom in RATIOS:
        ratios[f"{top}/{bottom}"] = {
            "throughput": round(_ratio(results[top].throughput, results[bottom].throughput), 3),
            "p50_latency": round(_ratio(results[top].percentile(50), results[bottom].percentile(50)), 3),
        }
    return {"benchmark": "catalog", "clients": args.clients, "seconds_per_target": args.seconds,
            "warmup_seconds": args.warmup, "entries": seed_info["entries"], "cpus": os.cpu_count(),
            "targets": targets, "ratios": ratios, "total_seconds": round(total_seconds, 1)}


def print_report(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 110)  # files and pipes get the full table
    table = Table(title=f"catalog through the gateway vs bare nameko — {report['clients']} clients, "
                        f"{report['seconds_per_target']:g}s each, {report['entries']} entries")
    for column in ("target", "req/s", "p50 ms", "p95 ms", "p99 ms", "requests", "errors", "bytes"):
        table.add_column(column, justify="left" if column == "target" else "right")
    for name, row in report["targets"].items():
        table.add_row(name, f"{row['throughput_rps']:.0f}", f"{row['p50_ms']:.2f}", f"{row['p95_ms']:.2f}",
                      f"{row['p99_ms']:.2f}", str(row["requests"]),
                      str(row["errors"]) if not row["errors"] else f"[red]{row['errors']}[/red]",
                      str(row["response_bytes"]))
    console.print(table)

    ratios = Table(title="ratios", caption="throughput < 1: fewer requests/s; p50 latency > 1: slower")
    for column in ("ratio", "throughput", "p50 latency"):
        ratios.add_column(column, justify="left" if column == "ratio" else "right")
    for name, row in report["ratios"].items():
        ratios.add_row(name, f"{row['throughput']:.2f}×", f"{row['p50_latency']:.2f}×")
    console.print(ratios)

    keys = list(next(iter(report["targets"].values()))["cpu_ms_per_request"])
    cpu = Table(title="CPU ms per request: where the time goes",
                caption=f"{report['cpus']} CPUs shared by all of these; * = every process of that server "
                        "on this machine (other users of it count too)")
    cpu.add_column("target")
    for key in keys:
        cpu.add_column(key, justify="right")
    for name, row in report["targets"].items():
        cpu.add_row(name, *(f"{row['cpu_ms_per_request'][key]:.2f}" for key in keys))
    console.print(cpu)
    for name, row in report["targets"].items():
        if row["errors"]:
            console.print(f"[red]{name}: errors {row['error_kinds']}[/red]")
    print(json.dumps(report, ensure_ascii=False, sort_keys=False))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark catalog reads through the gateway.")
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per target")
    parser.add_argument("--entries", type=int, default=300, help="published entries to seed")
    parser.add_argument("--gateway-port", type=int, default=8110)
    parser.add_argument("--bare-port", type=int, default=8111)
    parser.add_argument("--keep-database", action="store_true", help=f"keep {DATABASE_NAME} afterwards")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.entries < 1:
        parser.error("--clients, --seconds and --entries must be positive")
    try:
        run(args)
    except KeyboardInterrupt:
        print("interrupted; services stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
