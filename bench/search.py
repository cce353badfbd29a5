"""``make bench`` (second part): the search service on 100,000 entries, against its targets.

Four measurements, one run:

1. ``indexing``      documents/s of the embedded backend (``TantivyBackend`` on disk in a
                     temporary folder), filled the way a rebuild fills it: ``start_rebuild()``,
                     pages of ``REBUILD_PAGE_SIZE`` (500) documents, ``finish()``.
2. ``service``       time of ``backend.search(query)`` — the call the ``search.search`` RPC
                     handler makes (via ``Indexer.search``) — in this process, one query at
                     a time, over a fixed mix of queries; the queries are loaded with the
                     service's own ``SearchQuerySchema`` first (not timed).
3. ``gateway``       ``GET /api/v1/search`` with the same mix, 16 closed-loop clients
                     (``bench.load``): gateway → RabbitMQ → search process → tantivy.
   ``floor``         the gateway's answers to the same mix, served by nameko ``@http`` after
                     one RPC hop with no search behind it (``bench/bare.py``): the part of 3
                     that is not search.
4. ``publication``   staff ``POST /api/v1/entries`` (the real catalog, outbox relay on) until
                     the entry is among the results of ``GET /api/v1/search`` for a word only
                     it contains, polled every few milliseconds; the index holds the 100,000.

The documents are synthetic but German and deterministic (``--seed``): sentences, titles,
tags, places, regions and coordinates of the demo records (``services/catalog/demo``)
recombined, with dates and publication times spread over several years.

Setup for 3 and 4: a fresh PostgreSQL database (catalog, migrated on start), a RabbitMQ
vhost of our own, the index folder of step 1 (the backend of this process is closed
first: one writer per index folder), and ``kosi serve catalog|search|gateway`` as
processes. Only 127.0.0.1; everything is removed again, also on errors and Ctrl-C.

This process never imports ``cli.main`` (no eventlet monkey-patching). It measures,
prints each number against its target, and asserts nothing.
"""
import argparse
import gc
import json
import math
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections import defaultdict
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import requests

from bench.infra import (LOAD_FROM_ONE_ADDRESS, Processes, create_vhost, delete_vhost, drop_database, json_list, measured_load,
                         platform_environment, staff_token, start_bare, wait_until_answers)
from bench.load import run_load

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "services" / "catalog" / "demo"
DATABASE_NAME = "kosi_bench_search"
VHOST = "kosi_bench_search"
REBUILD_PAGE_SIZE = 500          # the rebuild's catalog page (services/search/config.yaml)
TARGETS = {"indexing_per_s": 5000, "service_p95_ms": 20, "gateway_p95_ms": 60, "publication_p95_ms": 300,
           "search_vs_floor": 0.6, "hostile_ratio": 10}
KINDS = (("project", 45), ("initiative", 25), ("idea", 15), ("event", 15))
# Saxony-Anhalt, roughly; jittered demo coordinates are kept inside it
LAT_RANGE, LON_RANGE = (50.95, 53.03), (10.57, 13.18)
START_TIMEOUT = 120.0
PUBLICATION_TIMEOUT = 5.0        # seconds one publication may take to appear before it counts as missed
POLL_PAUSE = 0.005               # seconds between two polls of /search


# ============================================================== synthetic German documents

class Corpus:
    """Building blocks taken from the demo records."""

    def __init__(self):
        entries = json_list(DEMO / "entries.json")
        organisations = json_list(DEMO / "organisations.json")
        if not entries:
            raise RuntimeError(f"no demo entries in {DEMO}: the synthetic data is made from them")
        self.entries = entries
        self.sentences, self.summaries, self.heads = [], [], []
        for record in entries:
            for sentence in re.split(r"(?<=[.!?])\s+", record.get("description") or ""):
                if len(sentence) > 20:
                    self.sentences.append(sentence.strip())
            if record.get("summary"):
                self.summaries.append(record["summary"].strip())
            title = record.get("title") or ""
            head = re.split(r" in | am | an der | auf der |: | – ", title)[0].strip(" „“")
            if len(head) > 3:
                self.heads.append(head)
        self.tags = sorted({tag for record in entries for tag in record.get("tags") or []})
        self.themes = sorted({theme for record in entries for theme in record.get("themes") or []})
        self.places = sorted({((record.get("address") or {}).get("locality"), record["region"],
                               record["lat"], record["lon"])
                              for record in entries
                              if (record.get("address") or {}).get("locality") and record.get("region")
                              and record.get("lat") is not None})  # whole tuples: the same order in every run
        self.organisations = sorted({o["name"] for o in organisations if o.get("name")})
        self.words = sorted({word for text in self.sentences + self.heads
                             for word in re.findall(r"[A-Za-zÄÖÜäöüß]{6,}", text)})


CONNECTORS = ("in", "für", "rund um", "im Raum", "mit Menschen aus")
QUALIFIERS = ("", "", "", " – Auftakt", " 2.0", " (Pilot)", " – zweite Runde", ": offenes Treffen",
              " für Jung und Alt", " im Quartier")


def synthetic_documents(count: int, seed: int, corpus: Corpus) -> list[dict]:
    """``count`` search documents (as ``documents.document_from_entry`` builds them)."""
    rng = random.Random(seed)
    kinds = [kind for kind, weight in KINDS for _ in range(weight)]
    published_from = datetime(2022, 1, 1, tzinfo=timezone.utc)
    published_span = int((datetime(2026, 1, 31, tzinfo=timezone.utc) - published_from).total_seconds())
    documents = []
    for number in range(count):
        locality, region, lat, lon = rng.choice(corpus.places)
        kind = rng.choice(kinds)
        title = f"{rng.choice(corpus.heads)} {rng.choice(CONNECTORS)} {locality}{rng.choice(QUALIFIERS)}"
        starts = date(2020, 1, 1) + timedelta(days=rng.randrange(7 * 365))
        ends = starts + timedelta(days=rng.randrange(0, 3) if kind == "event" else rng.randrange(30, 1100))
        has_location = rng.random() < 0.85
        documents.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "doc_type": "entry",
            "kind": kind,
            "slug": f"bench-{number:06d}",
            "title": title[:200],
            "summary": rng.choice(corpus.summaries),
            "body": " ".join(rng.sample(corpus.sentences, rng.randint(3, 6))),
            "themes": rng.sample(corpus.themes, rng.randint(1, 3)),
            "tags": rng.sample(corpus.tags, rng.randint(1, 4)),
            "regions": [region],
            "organisations": rng.sample(corpus.organisations, rng.randint(0, 2)),
            "location": ({"lat": round(min(max(lat + rng.uniform(-0.04, 0.04), LAT_RANGE[0]), LAT_RANGE[1]), 5),
                          "lon": round(min(max(lon + rng.uniform(-0.06, 0.06), LON_RANGE[0]), LON_RANGE[1]), 5)}
                         if has_location else None),
            "starts_on": starts.isoformat(),
            "ends_on": ends.isoformat(),
            "published_at": (published_from + timedelta(seconds=rng.randrange(published_span))).isoformat(),
            "version": 1,
            "deleted": False,
        })
    return documents


# ============================================================== the query mix

ZIPF_EXPONENT = 1.0      # query popularity falls as 1/rank^s (web search logs measure s ≈ 0.8–1.1)
DISTINCT_QUERIES = 4000  # the catalogue the requests are drawn from
DRAWS = 12_000           # requests drawn (cycled by the clients): more than a run sends
BACKEND_SAMPLE = 120     # distinct queries timed in process (measurement 2)


def handcrafted_queries(corpus: Corpus) -> list[tuple[str, dict]]:
    """One of each kind of query people send: words, phrases, typos, filters, map, pages."""
    region_a, region_b = corpus.places[0][1], corpus.places[len(corpus.places) // 2][1]
    theme_a, theme_b = corpus.themes[0], corpus.themes[len(corpus.themes) // 2]
    return [
        ("word", {"q": "Pflege"}),
        ("word", {"q": "Genossenschaften"}),
        ("word", {"q": "Aerzte"}),
        ("word", {"q": "Ehrenamt Senioren"}),
        ("word", {"q": "ambulante Pflege Nachbarschaft"}),
        ("phrase", {"q": "\"ältere Menschen\""}),
        ("phrase", {"q": "\"Sachsen-Anhalt\" Nachbarschaft"}),
        ("typo", {"q": "Genosenschaft"}),
        ("typo", {"q": "Nachbarschaftshilfe Digitalotsen"}),
        ("typo", {"q": "Begegnugsstätte"}),
        ("compound", {"q": "Wohn"}),
        ("compound", {"q": "Arbeit"}),
        ("filter", {"q": "Pflege", "kind": "project"}),
        ("filter", {"q": "Ehrenamt", "theme": theme_a, "region": region_a}),
        ("filter", {"q": "Werkstatt", "date_from": "2024-01-01", "date_to": "2024-12-31"}),
        ("filter", {"theme": theme_b}),                                 # empty q: newest first
        ("filter", {"region": f"{region_a},{region_b}", "kind": "event,idea", "type": "entry"}),
        ("bbox", {"q": "Quartier", "bbox": "11.0,51.0,12.5,52.5"}),
        ("bbox", {"bbox": "11.5,51.9,11.8,52.2"}),
        ("near", {"q": "Beratung", "near": "52.12,11.63", "radius_km": "25"}),
        ("near", {"near": "51.48,11.97", "radius_km": "10", "sort": "distance"}),
        ("near", {"q": "Garten", "near": "51.84,12.24", "sort": "distance"}),
        ("newest", {"q": "Ehrenamt", "sort": "newest"}),
        ("newest", {"q": "Bildung", "sort": "newest", "theme": theme_a}),
        ("page", {"q": "Projekt", "page": "3"}),
        ("page", {"q": "Menschen", "page": "20", "per_page": "50"}),
    ]


def query_catalogue(corpus: Corpus, seed: int, size: int = DISTINCT_QUERIES) -> list[tuple[str, dict]]:
    """``size`` distinct (category, query-string parameters), the handcrafted ones among
    them, in the order of their popularity (rank 1 first): categories are mixed over the
    ranks, as in a real query log."""
    rng = random.Random(seed + 1)
    kinds = [kind for kind, _ in KINDS]
    words = corpus.words

    def a_word():
        return rng.choice(words)

    def some_place():
        return rng.choice(corpus.places)

    makers = (  # (category, weight, make)
        ("word", 34, lambda: {"q": a_word()}),
        ("words", 18, lambda: {"q": f"{a_word()} {a_word()}"}),
        ("filter", 14, lambda: {"q": a_word(), rng.choice(("kind", "theme", "region")): None}),
        ("facets", 8, lambda: {"theme": rng.choice(corpus.themes), "region": some_place()[1],
                               **({"kind": rng.choice(kinds)} if rng.random() < 0.5 else {})}),
        ("bbox", 6, lambda: _bbox_params(rng, some_place(), a_word() if rng.random() < 0.5 else None)),
        ("near", 8, lambda: _near_params(rng, some_place(), a_word() if rng.random() < 0.6 else None)),
        ("newest", 5, lambda: {"q": a_word(), "sort": "newest"}),
        ("page", 7, lambda: {"q": a_word(), "page": str(rng.randint(2, 5))}),
    )
    choices = [(category, make) for category, weight, make in makers for _ in range(weight)]
    seen = set()
    catalogue = []

    def add(category, params):
        key = json.dumps(params, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            catalogue.append((category, params))

    for category, params in handcrafted_queries(corpus):
        add(category, params)
    while len(catalogue) < size:
        category, make = rng.choice(choices)
        params = make()
        if category == "filter":  # the facet named by make(), with a value of the data
            facet = next(name for name, value in params.items() if value is None)
            params[facet] = {"kind": lambda: rng.choice(kinds), "theme": lambda: rng.choice(corpus.themes),
                             "region": lambda: some_place()[1]}[facet]()
        add(category, params)
    rng.shuffle(catalogue)
    return catalogue


def _bbox_params(rng: random.Random, place, word: str | None) -> dict:
    _, _, lat, lon = place
    half = rng.choice((0.05, 0.15, 0.4))
    params = {"bbox": f"{lon - half * 1.6:.2f},{lat - half:.2f},{lon + half * 1.6:.2f},{lat + half:.2f}"}
    return {"q": word, **params} if word else params


def _near_params(rng: random.Random, place, word: str | None) -> dict:
    _, _, lat, lon = place
    params = {"near": f"{lat:.2f},{lon:.2f}"}
    if rng.random() < 0.6:
        params["radius_km"] = str(rng.choice((5, 10, 25, 50)))
    if word:
        params["q"] = word
    if not word or rng.random() < 0.4:
        params["sort"] = "distance"
    return params


def zipf_draws(count: int, ranks: int, seed: int, exponent: float = ZIPF_EXPONENT) -> list[int]:
    """``count`` positions in ``range(ranks)``, position r drawn with weight 1/(r+1)^exponent."""
    rng = random.Random(seed + 3)
    weights = [1 / (rank + 1) ** exponent for rank in range(ranks)]
    return rng.choices(range(ranks), weights=weights, k=count)


def backend_sample(catalogue: list[tuple[str, dict]], corpus: Corpus, seed: int,
                   size: int = BACKEND_SAMPLE) -> list[tuple[str, dict]]:
    """The handcrafted queries and others of the catalogue, for the in-process timing."""
    handcrafted = {json.dumps(params, sort_keys=True) for _, params in handcrafted_queries(corpus)}
    rest = [item for item in catalogue if json.dumps(item[1], sort_keys=True) not in handcrafted]
    sample = handcrafted_queries(corpus) + random.Random(seed + 4).sample(rest, max(0, size - len(handcrafted)))
    return sample


# ============================================================== 1 + 2: the backend in this process

def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[max(1, math.ceil(p / 100 * len(sorted_values))) - 1]


def latency_summary(values: list[float]) -> dict:
    values = sorted(values)
    return {"count": len(values), "p50_ms": round(percentile(values, 50), 3),
            "p95_ms": round(percentile(values, 95), 3), "p99_ms": round(percentile(values, 99), 3),
            "max_ms": round(values[-1], 3) if values else math.nan}


def index_documents(index_path: Path, documents: list[dict], say) -> dict:
    """Fill a fresh on-disk index the way a rebuild does; returns the timing."""
    from services.search.tantivy_backend import TantivyBackend

    backend = TantivyBackend(str(index_path))
    try:
        started = time.perf_counter()
        rebuild = backend.start_rebuild()
        for offset in range(0, len(documents), REBUILD_PAGE_SIZE):
            rebuild.upsert(documents[offset:offset + REBUILD_PAGE_SIZE])
        upserted = time.perf_counter()
        rebuild.finish()
        finished = time.perf_counter()
        searchable = backend.count()
    finally:
        backend.close()
        del backend
        gc.collect()  # drops the IndexWriter and with it the index folder's writer lock
    seconds = finished - started
    result = {"documents": len(documents), "batch_size": REBUILD_PAGE_SIZE, "seconds": round(seconds, 3),
              "upsert_seconds": round(upserted - started, 3), "finish_seconds": round(finished - upserted, 3),
              "per_s": round(len(documents) / seconds, 1), "searchable": searchable,
              "index_mb": round(sum(f.stat().st_size for f in index_path.rglob("*") if f.is_file()) / 1e6, 1)}
    say(f"indexed {len(documents)} documents in {seconds:.1f}s ({result['per_s']:.0f}/s), "
        f"{searchable} searchable, index {result['index_mb']} MB")
    return result


def hostile_queries(corpus: Corpus, seed: int) -> list[tuple[str, str]]:
    """(kind, q) as dear as the caps allow (``backend.MAX_QUERY_WORDS``): many rare words,
    typos in every word, short beginnings, long words, phrases, exclusions, repetition."""
    from services.search.backend import MAX_QUERY_WORDS

    rng = random.Random(seed + 5)
    n = MAX_QUERY_WORDS
    long_words = sorted(corpus.words, key=len)[-n:]
    queries = [(f"{n} rare words", " ".join(rng.sample(corpus.words, n))) for _ in range(5)]
    queries += [(f"{n} words, each with a typo", " ".join(w[:2] + w[3:] + "x" for w in rng.sample(corpus.words, n)))
                for _ in range(3)]
    queries += [(f"{n} beginnings of 4 letters", " ".join(w[:4] for w in rng.sample(corpus.words, n))),
                (f"the {n} longest words", " ".join(long_words)),
                (f"a phrase of {n} words", '"' + " ".join(rng.sample(corpus.words, n)) + '"'),
                (f"{n // 2} words, {n - n // 2} excluded",
                 " ".join(rng.sample(corpus.words, n // 2)) + " " + " ".join("-" + w for w in rng.sample(corpus.words, n - n // 2))),
                ("500 characters of one word again and again", (rng.choice(corpus.words) + " ") * 40),
                (f"{n} words and 300 characters of punctuation", " ".join(rng.sample(corpus.words, n)) + " ()*~^\"-" * 40)]
    return [(kind, text[:500]) for kind, text in queries]


def first_sight_ms(backend, query) -> float:
    """A search as if nobody had asked anything like it: no kept clause, no kept answer."""
    from services.search import tantivy_backend

    tantivy_backend._word_clause.cache_clear()
    tantivy_backend._terms_clause.cache_clear()
    began = time.perf_counter()
    backend.search(query)
    return (time.perf_counter() - began) * 1000


def measure_backend(index_path: Path, mix: list[tuple[str, dict]], rounds: int, say,
                    hostile: list[tuple[str, str]] = ()) -> dict:
    """``backend.search`` times over ``rounds`` passes of the mix (after one warm-up pass),
    every one computed: the result cache is off here (the gateway run has it on)."""
    from contracts.search.api import SearchQuerySchema
    from kernel.schemas import load_input
    from services.search.backend import SearchQuery
    from services.search.tantivy_backend import TantivyBackend

    opened = time.perf_counter()
    backend = TantivyBackend(str(index_path), result_cache_size=0)  # as the search process opens it
    open_seconds = time.perf_counter() - opened
    try:
        queries = [(category, SearchQuery.from_loaded(load_input(SearchQuerySchema, dict(params), what="query"))) for category, params in mix]
        totals = {}
        first_sight = [first_sight_ms(backend, query) for _, query in queries]   # also the warm-up
        dear = []
        for kind, text in hostile:
            query = SearchQuery.from_loaded(load_input(SearchQuerySchema, {"q": text}, what="query"))
            dear.append((max(first_sight_ms(backend, query) for _ in range(2)), kind))
        times, by_category = [], defaultdict(list)
        for _ in range(rounds):
            for (category, query), (_, params) in zip(queries, mix):
                began = time.perf_counter()
                result = backend.search(query)
                took = (time.perf_counter() - began) * 1000
                times.append(took)
                by_category[category].append(took)
                totals[json.dumps(params, ensure_ascii=False)] = result.total
    finally:
        backend.close()
        del backend
        gc.collect()
    summary = latency_summary(times)
    summary["open_seconds"] = round(open_seconds, 3)
    summary["by_category"] = {category: latency_summary(values) for category, values in by_category.items()}
    say(f"backend.search: {len(times)} queries, p50 {summary['p50_ms']:.1f} ms, p95 {summary['p95_ms']:.1f} ms")
    empty = [q for q, total in totals.items() if total == 0]
    if empty:
        say(f"[yellow]queries of the mix without results: {empty}[/yellow]")
    summary["queries_without_results"] = empty
    if dear:
        worst_ms, worst_kind = max(dear)
        typical = statistics.median(first_sight)
        summary["hostile"] = {"worst_ms": round(worst_ms, 2), "worst": worst_kind, "typical_first_sight_ms": round(typical, 2),
                              "ratio": round(worst_ms / typical, 1),
                              "each_ms": {kind: round(ms, 2) for ms, kind in sorted(dear, reverse=True)}}
        say(f"hostile queries: the dearest ({worst_kind}) {worst_ms:.1f} ms on first sight, "
            f"{worst_ms / typical:.1f} × a typical query's {typical:.1f} ms")
    return summary


# ============================================================== 3 + 4: the real processes

def search_url(gateway: str, params: dict) -> str:
    return f"http://{gateway}/api/v1/search?{urlencode(params)}"


def measure_gateway(gateway: str, catalogue, draws: list[int], clients: int, seconds: float, warmup: float,
                    processes: Processes, say) -> dict:
    urls = [search_url(gateway, catalogue[rank][1]) for rank in draws]
    result, cpu_ms = measured_load("search", urls, clients, seconds, warmup, processes)
    summary = result.summary()
    summary["cpu_ms_per_request"] = {key: round(value, 2) for key, value in cpu_ms.items()}
    say(f"gateway: {result.ok} searches, {result.throughput:.0f}/s, p95 {result.percentile(95):.1f} ms"
        + (f", errors {dict(result.errors)}" if result.errors else ""))
    # the same mix one request at a time: the cost of the path without queueing
    single = run_load("search-1", urls, 1, min(seconds, 4.0))
    summary["one_client"] = {key: single.summary()[key] for key in ("requests", "throughput_rps", "p50_ms", "p95_ms", "p99_ms")}
    say(f"gateway, 1 client: {single.throughput:.0f}/s, p50 {single.percentile(50):.1f} ms, "
        f"p95 {single.percentile(95):.1f} ms")
    return summary


def measure_floor(gateway: str, catalogue, draws: list[int], clients: int, seconds: float, warmup: float,
                  work: Path, amqp_uri: str, bare_port: int, processes: Processes, say) -> dict:
    """The same answers, byte for byte, in the same order, through nameko ``@http`` and one
    RPC hop with no search behind it (``bench/bare.py``): what measurement 3 cannot go
    below on this machine. The answers of the queries drawn are fetched once beforehand."""
    drawn = sorted(set(draws))
    position = {rank: number for number, rank in enumerate(drawn)}
    answers = [None] * len(drawn)

    def fetch(numbers):
        with requests.Session() as session:
            for number in numbers:
                response = session.get(search_url(gateway, catalogue[drawn[number]][1]), timeout=30)
                response.raise_for_status()
                answers[number] = response.json()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fetch, [range(start, len(drawn), 4) for start in range(4)]))
    payloads = work / "payloads.json"
    payloads.write_bytes(json.dumps(answers, ensure_ascii=False).encode())
    bare = f"127.0.0.1:{bare_port}"
    start_bare(processes, amqp_uri, bare, BENCH_PAYLOADS=str(payloads))
    urls = [f"http://{bare}/bare-payload/{position[rank]}" for rank in draws]
    wait_until_answers(urls[0], processes, START_TIMEOUT)
    result, cpu_ms = measured_load("floor", urls, clients, seconds, warmup, processes,
                                   keys=("bare-http", "bare-rpc", "rabbitmq*"))
    summary = result.summary()
    sizes = [len(json.dumps(a, ensure_ascii=False).encode()) for a in answers]
    summary["mean_answer_bytes"] = round(sum(sizes[position[rank]] for rank in draws) / len(draws))
    summary["cpu_ms_per_request"] = {key: round(value, 2) for key, value in cpu_ms.items()}
    say(f"floor (same answers, no search): {result.throughput:.0f}/s, p95 {result.percentile(95):.1f} ms")
    return summary


def new_entry(rng: random.Random, corpus: Corpus, marker: str) -> dict:
    record = rng.choice([r for r in corpus.entries if r.get("lat") is not None and r.get("region")])
    return {
        "kind": record["kind"],
        "title": f"{rng.choice(corpus.heads)} {marker} in {(record.get('address') or {}).get('locality', '')}"[:200],
        "summary": rng.choice(corpus.summaries),
        "description": " ".join(rng.sample(corpus.sentences, 4)),
        "themes": list(record.get("themes") or corpus.themes[:1])[:5],
        "tags": list(record.get("tags") or [])[:5],
        "location": {"lat": record["lat"], "lon": record["lon"]},
        "region": record["region"],
    }


def marker_word(rng: random.Random) -> str:
    """A made-up word no document contains (and far from every other marker)."""
    return "Kosimark" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))


def measure_publication(gateway: str, token: str, corpus: Corpus, count: int, seed: int,
                        processes: Processes, say) -> dict:
    rng = random.Random(seed + 2)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    from_request, from_answer, create_ms, polls, missed, failed = [], [], [], [], 0, []
    try:
        for _ in range(count):
            processes.check_alive()
            marker = marker_word(rng)
            body = new_entry(rng, corpus, marker)
            sent = time.perf_counter()
            response = session.post(f"http://{gateway}/api/v1/entries", data=json.dumps(body),
                                    headers=headers, timeout=10)
            answered = time.perf_counter()
            if response.status_code != 201:
                failed.append(f"HTTP {response.status_code}: {response.text[:200]}")
                continue
            entry_id = response.json()["id"]
            url = search_url(gateway, {"q": marker, "per_page": "5"})
            tries, seen = 0, None
            while time.perf_counter() - sent < PUBLICATION_TIMEOUT:
                tries += 1
                found = session.get(url, timeout=10)
                if found.status_code == 200 and any(item["id"] == entry_id for item in found.json()["items"]):
                    seen = time.perf_counter()
                    break
                time.sleep(POLL_PAUSE)
            polls.append(tries)
            if seen is None:
                missed += 1
                continue
            create_ms.append((answered - sent) * 1000)
            from_request.append((seen - sent) * 1000)
            from_answer.append((seen - answered) * 1000)
    finally:
        session.close()
    summary = latency_summary(from_request)
    summary.update(publications=count, appeared=len(from_request), missed=missed,
                   failed=len(failed), failures=failed[:3],
                   after_201=latency_summary(from_answer), create_request=latency_summary(create_ms),
                   mean_polls=round(sum(polls) / len(polls), 1) if polls else math.nan)
    say(f"publication → searchable: {len(from_request)}/{count} appeared, p50 {summary['p50_ms']:.0f} ms, "
        f"p95 {summary['p95_ms']:.0f} ms" + (f", {missed} missed" if missed else "")
        + (f", {len(failed)} failed: {failed[:1]}" if failed else ""))
    return summary


# ============================================================== the run

def run(args) -> dict:
    from rich.console import Console

    console = Console(stderr=True, width=None if sys.stderr.isatty() else 110)

    def say(text):
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {text}")

    started = time.perf_counter()
    report = {"benchmark": "search", "entries": args.entries, "cpus": os.cpu_count(), "seed": args.seed}
    with ExitStack() as cleanup:
        work = Path(tempfile.mkdtemp(prefix="kosi-bench-search-"))
        log_dir = work / "logs"
        log_dir.mkdir()
        def remove_work(exc_type, exc, traceback):
            if exc_type is not None and not issubclass(exc_type, KeyboardInterrupt):
                shutil.rmtree(work / "index", ignore_errors=True)  # keep the logs of a failed run
                say(f"service logs kept in {log_dir}")
            else:
                shutil.rmtree(work, ignore_errors=True)
            return False

        cleanup.push(remove_work)
        index_path = work / "index"

        corpus = Corpus()
        began = time.perf_counter()
        documents = synthetic_documents(args.entries, args.seed, corpus)
        say(f"{len(documents)} synthetic documents generated in {time.perf_counter() - began:.1f}s "
            f"({len(corpus.sentences)} sentences, {len(corpus.heads)} title heads, {len(corpus.places)} places "
            f"from the demo data)")
        catalogue = query_catalogue(corpus, args.seed)
        draws = zipf_draws(DRAWS, len(catalogue), args.seed)
        mix = backend_sample(catalogue, corpus, args.seed)
        say(f"{len(catalogue)} distinct queries, {DRAWS} requests drawn from them by Zipf (s = {ZIPF_EXPONENT}): "
            f"{len(set(draws))} distinct among the draws, the most popular {draws.count(0)} times")

        report["indexing"] = index_documents(index_path, documents, say)
        del documents
        gc.collect()
        report["service"] = measure_backend(index_path, mix, args.rounds, say, hostile_queries(corpus, args.seed))

        if not args.backend_only:
            amqp_uri = create_vhost(VHOST)
            cleanup.callback(delete_vhost, VHOST)
            from tests.databases import fresh_database

            database_url = fresh_database(DATABASE_NAME)
            cleanup.callback(drop_database, DATABASE_NAME)
            say(f"RabbitMQ vhost {VHOST}, database {DATABASE_NAME}, logs in {log_dir}")

            processes = Processes(log_dir)
            cleanup.callback(processes.close)
            secret = secrets.token_urlsafe(32)
            gateway = f"127.0.0.1:{args.gateway_port}"
            common = {**platform_environment(amqp_uri, secret), "LOAD_DEMO_DATA": "false",
                      "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
            serve = [sys.executable, "-m", "cli.main", "serve"]
            processes.start("catalog", serve + ["catalog"], {**common, "CATALOG_DATABASE_URL": database_url})
            search_env = {**common, "SEARCH_INDEX_PATH": str(index_path), "SEARCH_BACKEND": "tantivy"}
            if args.query_processes:
                processes.start("search-index", serve + ["search", "--role", "index"], search_env)
                for number in range(1, args.query_processes + 1):
                    processes.start(f"search-query-{number}", serve + ["search", "--role", "query"], search_env)
            else:
                processes.start("search", serve + ["search"], search_env)
            # every load client is 127.0.0.1: the per-client search limits would cut the load
            # off as the flood it looks like; they are measured (and tested) on their own
            unlimited = str(10 ** 9)
            processes.start("gateway", serve + ["gateway"], {**common, "GATEWAY_ADDRESS": gateway,
                                                            "GATEWAY_SEARCHES_PER_WINDOW": unlimited,
                                                            "GATEWAY_SUGGESTIONS_PER_WINDOW": unlimited,
                                                            **LOAD_FROM_ONE_ADDRESS})
            wait_until_answers(f"http://{gateway}/api/v1/entries?per_page=1", processes, START_TIMEOUT)
            wait_until_answers(search_url(gateway, {"q": "Pflege"}), processes, START_TIMEOUT)
            total = requests.get(search_url(gateway, {"theme": corpus.themes[0], "per_page": 1}), timeout=10)
            say(f"services answer after {time.perf_counter() - started:.1f}s "
                f"(search over the gateway sees the index: theme {corpus.themes[0]} total {total.json()['total']})")

            report["gateway"] = measure_gateway(gateway, catalogue, draws, args.clients, args.seconds, args.warmup,
                                                processes, say)
            report["floor"] = measure_floor(gateway, catalogue, draws, args.clients, args.seconds, args.warmup,
                                            work, amqp_uri, args.bare_port, processes, say)
            report["publication"] = measure_publication(gateway, staff_token(secret), corpus, args.publications, args.seed,
                                                        processes, say)
            processes.check_alive()
    report["query_mix"] = {"distinct": len(catalogue), "zipf_exponent": ZIPF_EXPONENT, "draws": DRAWS,
                           "distinct_drawn": len(set(draws)), "query_processes": args.query_processes,
                           "most_popular": [{"category": category, **params} for category, params in catalogue[:20]],
                           "timed_in_process": [{"category": category, **params} for category, params in mix]}
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["targets"] = verdicts(report)
    print_report(report, args)
    return report


def verdicts(report: dict) -> dict:
    def verdict(value, target, higher_is_better=False):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return {"value": None, "target": target, "met": False}
        met = value >= target if higher_is_better else value <= target
        return {"value": value, "target": target, "met": met}

    out = {"indexing_per_s": verdict(report["indexing"]["per_s"], TARGETS["indexing_per_s"], True),
           "service_p95_ms": verdict(report["service"]["p95_ms"], TARGETS["service_p95_ms"])}
    if "hostile" in report["service"]:
        out["hostile_ratio"] = verdict(report["service"]["hostile"]["ratio"], TARGETS["hostile_ratio"])
    if "gateway" in report:
        gateway = report["gateway"]
        out["gateway_p95_ms"] = verdict(gateway["p95_ms"] if gateway["requests"] else None,
                                        TARGETS["gateway_p95_ms"])
    if "floor" in report and report["floor"]["throughput_rps"]:
        ratio = round(report["gateway"]["throughput_rps"] / report["floor"]["throughput_rps"], 2)
        out["search_vs_floor"] = verdict(ratio, TARGETS["search_vs_floor"], True)
    if "publication" in report:
        publication = report["publication"]
        ok = publication["appeared"] >= 50 and not publication["missed"] and not publication["failed"]
        out["publication_p95_ms"] = verdict(publication["p95_ms"] if ok else None, TARGETS["publication_p95_ms"])
    return out


def print_report(report: dict, args) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120)
    targets = report["targets"]

    def mark(key):
        verdict = targets.get(key)
        if verdict is None:
            return "—"
        return "[green]met[/green]" if verdict["met"] else "[red]NOT MET[/red]"

    table = Table(title=f"search on {report['entries']} entries — {report['cpus']} CPUs")
    for column in ("measurement", "p50 ms", "p95 ms", "p99 ms", "rate", "target", "verdict"):
        table.add_column(column, justify="left" if column in ("measurement", "target", "verdict") else "right")
    indexing = report["indexing"]
    table.add_row(f"1 indexing (rebuild, batches of {indexing['batch_size']})", "", "", "",
                  f"{indexing['per_s']:.0f} docs/s", f"≥ {TARGETS['indexing_per_s']} docs/s", mark("indexing_per_s"))
    service = report["service"]
    table.add_row(f"2 backend.search() in-process, {service['count']} queries", f"{service['p50_ms']:.2f}",
                  f"{service['p95_ms']:.2f}", f"{service['p99_ms']:.2f}", "",
                  f"p95 ≤ {TARGETS['service_p95_ms']} ms", mark("service_p95_ms"))
    if "hostile" in service:
        hostile = service["hostile"]
        table.add_row(f"2 the dearest hostile query ({hostile['worst']}), first sight", f"{hostile['worst_ms']:.2f}",
                      "", "", f"{hostile['ratio']} × typical {hostile['typical_first_sight_ms']:.1f} ms",
                      f"≤ {TARGETS['hostile_ratio']} × typical", mark("hostile_ratio"))
    if "gateway" in report:
        gateway = report["gateway"]
        table.add_row(f"3 GET /api/v1/search, {gateway['clients']} clients, {gateway['seconds']:.0f}s",
                      f"{gateway['p50_ms']:.2f}", f"{gateway['p95_ms']:.2f}", f"{gateway['p99_ms']:.2f}",
                      f"{gateway['throughput_rps']:.0f} req/s" + (f", {gateway['errors']} errors" if gateway["errors"] else ""),
                      f"p95 ≤ {TARGETS['gateway_p95_ms']} ms", mark("gateway_p95_ms"))
    if "search_vs_floor" in targets:
        table.add_row("3 ÷ floor (the same answers, one RPC hop, no search)", "", "", "",
                      f"{targets['search_vs_floor']['value']:.2f} of its rate", f"≥ {TARGETS['search_vs_floor']}",
                      mark("search_vs_floor"))
    if "publication" in report:
        publication = report["publication"]
        table.add_row(f"4 POST entry → in /search ({publication['appeared']}/{publication['publications']})",
                      f"{publication['p50_ms']:.0f}", f"{publication['p95_ms']:.0f}", f"{publication['p99_ms']:.0f}",
                      f"{publication['mean_polls']} polls each", f"p95 ≤ {TARGETS['publication_p95_ms']} ms",
                      mark("publication_p95_ms"))
    console.print(table)

    detail = Table(title="2 by query category: backend.search() ms (in-process, sequential)")
    for column in ("category", "queries", "p50", "p95", "max"):
        detail.add_column(column, justify="left" if column == "category" else "right")
    for category, row in service["by_category"].items():
        detail.add_row(category, str(row["count"]), f"{row['p50_ms']:.2f}", f"{row['p95_ms']:.2f}",
                       f"{row['max_ms']:.2f}")
    console.print(detail)
    if "gateway" in report:
        cpu = report["gateway"]["cpu_ms_per_request"]
        one = report["gateway"]["one_client"]
        console.print(f"3 the same mix with 1 client: {one['throughput_rps']:.0f} req/s, p50 {one['p50_ms']:.1f} ms, "
                      f"p95 {one['p95_ms']:.1f} ms, p99 {one['p99_ms']:.1f} ms (no queueing)")
        console.print("3 CPU ms per search request: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
                      + "  (* = every process of that server on this machine)")
    if "floor" in report:
        floor = report["floor"]
        console.print(f"3 floor — the same answers (mean {floor['mean_answer_bytes']} bytes) through nameko @http + "
                      f"one RPC hop, no search, {floor['clients']} clients: {floor['throughput_rps']:.0f} req/s, "
                      f"p50 {floor['p50_ms']:.1f} ms, p95 {floor['p95_ms']:.1f} ms; CPU ms per request: "
                      + ", ".join(f"{k} {v:.2f}" for k, v in floor["cpu_ms_per_request"].items()))
    if "publication" in report:
        publication = report["publication"]
        console.print(f"4 measured from sending the POST; from its 201 answer: p50 "
                      f"{publication['after_201']['p50_ms']:.0f} ms, p95 {publication['after_201']['p95_ms']:.0f} ms; "
                      f"the POST itself p50 {publication['create_request']['p50_ms']:.0f} ms. Poll pause "
                      f"{POLL_PAUSE * 1000:.0f} ms + one search round trip = the resolution.")
    console.print(f"indexing: upserts {indexing['upsert_seconds']}s + finish {indexing['finish_seconds']}s, "
                  f"index {indexing['index_mb']} MB; opening the 100k index took {service['open_seconds']}s; "
                  f"total run {report['total_seconds']}s")
    print(json.dumps(report, ensure_ascii=False))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the search service against its targets.")
    parser.add_argument("--entries", type=int, default=100_000, help="synthetic entries in the index")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--rounds", type=int, default=5, help="passes of the query mix for the in-process latency")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients through the gateway")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds through the gateway")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds through the gateway")
    parser.add_argument("--publications", type=int, default=60, help="entries published and waited for")
    parser.add_argument("--gateway-port", type=int, default=8120)
    parser.add_argument("--bare-port", type=int, default=8121, help="the bare baseline services (floor of 3)")
    parser.add_argument("--backend-only", action="store_true", help="only measurements 1 and 2")
    parser.add_argument("--query-processes", type=int, default=2,
                        help="search processes of role query beside one of role index (0: one process, role all)")
    args = parser.parse_args(argv)
    if min(args.entries, args.rounds, args.clients, args.publications) < 1 or args.seconds <= 0:
        parser.error("--entries, --rounds, --clients, --publications and --seconds must be positive")
    try:
        run(args)
    except KeyboardInterrupt:
        print("interrupted; services stopped, vhost, database and temporary files removed", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
