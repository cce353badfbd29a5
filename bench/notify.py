"""``make bench`` (fourth part): alert matching per published item with 10,000 and with 100,000
confirmed subscribers.

Subscribers get realistic criteria: one to three themes of the 15, often a district of the 14,
sometimes a kind, a bounding box around a town (a quarter of them), or everything (2 %). Each
published item is matched in one transaction (``alerts.record_and_match``: the indexed lookup
plus the insert of its alerts) that is rolled back, so every item meets the same subscribers.
The items are the same at both sizes; the number of subscribers they match grows with the
size (printed), the cost of finding them should not. Targets: per item at 100,000 ≤ 3 × per item
at 10,000, and ≤ 100 ms. PostgreSQL, a fresh database of our own, dropped afterwards. Measures
and prints; asserts nothing.

Every matching subscriber gets an alert row, so the work grows with the alerts an item makes,
which grow with the subscribers (7.8 % of them match the average item here): the printed cost
per alert written, and the lookup, say whether anything else grows.
"""
import random
import statistics
import time
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from bench.infra import drop_database
from kernel.db import create_db_engine
from kernel.migrations import upgrade
from services.notify import alerts, preferences
from services.notify.models import alert_keys, interests, subscribers

DATABASE_NAME = "kosi_bench_notify"
THEMES = ["arbeit", "alter", "gesundheit", "sozialer-zusammenhalt", "digitale-arbeitswelten", "wohnen", "inklusion",
          "gesundheitliche-versorgung-laendlich", "bildung", "buergerschaftliches-engagement", "genossenschaften",
          "soziales-unternehmertum", "mobilitaet", "klima", "kultur"]
REGIONS = ["15001", "15002", "15003", "15081", "15082", "15083", "15084", "15085", "15086", "15087", "15088",
           "15089", "15090", "15091"]
KINDS = ["project", "idea", "initiative", "event"]
ITEMS = 40
SCHEDULE = alerts.Schedule()


def criteria(rng: random.Random) -> dict:
    if rng.random() < 0.02:
        return {"themes": [], "regions": [], "kinds": [], "bbox": None}
    lat, lon = rng.uniform(51.0, 52.9), rng.uniform(10.7, 13.1)
    return {"themes": sorted(rng.sample(THEMES, rng.randint(1, 3))),
            "regions": [rng.choice(REGIONS)] if rng.random() < 0.6 else [],
            "kinds": [rng.choice(KINDS)] if rng.random() < 0.2 else [],
            "bbox": [lon - 0.2, lat - 0.15, lon + 0.2, lat + 0.15] if rng.random() < 0.25 else None}


def fill(engine, count: int, rng: random.Random) -> None:
    now = datetime.now(timezone.utc)
    people, index, keys = [], [], []
    for number in range(count):
        prefs = {"newsletter": True, "alerts": criteria(rng), "frequency": "immediately"}
        pairs, combinations, columns = preferences.index_rows(prefs)
        subscriber_id = str(uuid.uuid4())
        people.append({"id": subscriber_id, "email": f"s{number}-{subscriber_id[:8]}@example.org",
                       "status": "confirmed", "language": "de", "preferences": prefs, "created_at": now,
                       "confirmed_at": now, "version": 1, **columns})
        index += [{"facet": facet, "value": value, "subscriber_id": subscriber_id} for facet, value in pairs]
        keys += preferences.alert_key_rows(subscriber_id, prefs, combinations, columns)
    with engine.begin() as conn:
        for start in range(0, len(people), 5000):
            conn.execute(sa.insert(subscribers), people[start:start + 5000])
        for start in range(0, len(index), 20000):
            conn.execute(sa.insert(interests), index[start:start + 20000])
        for start in range(0, len(keys), 20000):
            conn.execute(sa.insert(alert_keys), keys[start:start + 20000])
    vacuum(engine)


def vacuum(engine) -> None:
    """What autovacuum does to a table that took many rows: statistics, and the visibility map
    that lets the key lookup read the index alone."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


def items(rng: random.Random) -> list[dict]:
    made = []
    for number in range(ITEMS):
        located = rng.random() < 0.8
        made.append({"key": f"entry:bench-{number}", "type": "entry", "kind": rng.choice(KINDS),
                     "title": f"Eintrag {number}", "summary": None, "path": f"/api/v1/entries/bench-{number}",
                     "themes": rng.sample(THEMES, rng.randint(1, 2)), "regions": [rng.choice(REGIONS)],
                     "lat": rng.uniform(51.0, 52.9) if located else None,
                     "lon": rng.uniform(10.7, 13.1) if located else None,
                     "published_at": datetime.now(timezone.utc)})
    return made


def lookup_ms(engine, published: list[dict]) -> float:
    """Median ms of finding the matching subscribers alone (counted, nothing inserted)."""
    times = []
    with engine.connect() as conn:
        for item in published * 2:
            started = time.perf_counter()
            conn.execute(sa.select(sa.func.count()).select_from(alerts.matching_subscribers(item))).scalar()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[len(published):])


def measure(engine, published: list[dict]) -> tuple[float, float, float]:
    """(median ms per item, mean alerts per item, median ms of the same item published again);
    each item's transaction is rolled back."""
    for _round in range(2):  # the first round warms the caches
        times, matched, again = [], [], []
        for item in published:
            with engine.connect() as conn:
                transaction = conn.begin()
                session = sa.orm.Session(bind=conn)
                started = time.perf_counter()
                matched.append(alerts.record_and_match(session, item, SCHEDULE))
                times.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                assert alerts.record_and_match(session, item, SCHEDULE) == 0  # once per item ever
                again.append((time.perf_counter() - started) * 1000)
                session.close()
                transaction.rollback()
    return statistics.median(times), statistics.mean(matched), statistics.median(again)


def main() -> None:
    from tests.databases import fresh_database

    rng = random.Random(9)
    published = items(random.Random(10))
    url = fresh_database(DATABASE_NAME)
    try:
        upgrade("notify", url)
        engine = create_db_engine(url)
        results = {}
        filled = 0
        for size in (10_000, 100_000):
            fill(engine, size - filled, rng)
            filled = size
            per_item, matched, again = measure(engine, published)
            lookup = lookup_ms(engine, published)
            results[size] = (per_item, matched)
            print(f"alert matching, {size:>7,} subscribers: {per_item:6.1f} ms per item (median of {ITEMS}), "
                  f"{matched:7.1f} alerts per item; the lookup alone {lookup:5.1f} ms, "
                  f"{(per_item - lookup) / matched * 1000:4.1f} us per alert written; published again "
                  f"{again:5.1f} ms", flush=True)
        (small, few), (large, many) = results[10_000], results[100_000]
        print(f"alert matching: 100,000 / 10,000 = {large / small:.2f}x (target <= 3x) while the alerts to write "
              f"grow {many / few:.1f}x; {large:.1f} ms per item at 100,000 (target <= 100 ms)")
        engine.dispose()
    finally:
        drop_database(DATABASE_NAME)


if __name__ == "__main__":
    main()
