"""``make bench`` (sixth part): how soon a change is read through the gateway's read cache.

The catalog (its outbox relay on: the change notices come from it) and the gateway run as
their own processes; 16 clients keep reading the entry and the first page of the list
anonymously (so both are the gateway's copies) while an editor changes the entry 40 times.
After each change's answer, the entry is read anonymously until it shows the new version:
the time from the editor's answer to that read, p50/p99/max (target p99 ≤ 1 s). Also checks
that no read after the new version showed the old one. Measures and prints; asserts nothing.
"""
import itertools
import math
import secrets
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests

from bench.catalog import DATABASE_NAME, prepare_database
from bench.infra import (LOAD_FROM_ONE_ADDRESS, REPO_ROOT, Processes, create_vhost, delete_vhost, drop_database, platform_environment,
                         staff_token, wait_until_answers)
from bench.load import run_load

VHOST = "kosi_bench_freshness"
EDITS = 40
READERS = 16


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def main() -> None:
    with ExitStack() as cleanup:
        log_dir = Path(tempfile.mkdtemp(prefix="kosi-bench-fresh-"))
        amqp_uri = create_vhost(VHOST)
        cleanup.callback(delete_vhost, VHOST)
        database_url, entry_ids, _ = prepare_database(20, lambda text: None)
        cleanup.callback(drop_database, DATABASE_NAME)
        processes = Processes(log_dir)
        cleanup.callback(processes.close)
        secret = secrets.token_urlsafe(32)
        common = {**platform_environment(amqp_uri, secret), "LOAD_DEMO_DATA": "false",
                  "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        processes.start("catalog", [sys.executable, "-m", "cli.main", "serve", "catalog"],
                        {**common, "CATALOG_DATABASE_URL": database_url})
        processes.start("gateway", [sys.executable, "-m", "cli.main", "serve", "gateway"],
                        {**common, "GATEWAY_ADDRESS": "127.0.0.1:8112", **LOAD_FROM_ONE_ADDRESS})
        base = "http://127.0.0.1:8112/api/v1"
        entry = f"{base}/entries/{entry_ids[0]}"
        wait_until_answers(entry, processes)
        staff = {"Authorization": f"Bearer {staff_token(secret)}"}

        stop = threading.Event()
        reads = itertools.takewhile(lambda _: not stop.is_set(), itertools.cycle([entry, f"{base}/entries?per_page=20"]))
        readers = threading.Thread(target=run_load, args=("readers", reads), kwargs={"clients": READERS,
                                                                                      "seconds": 600})
        readers.start()
        time.sleep(1)
        delays, went_back = [], 0
        session = requests.Session()
        for number in range(EDITS):
            version = session.get(entry, headers=staff, timeout=10).json()["version"]
            changed = session.patch(entry, json={"summary": f"Fassung {number}", "version": version},
                                    headers=staff, timeout=10)
            changed.raise_for_status()
            answered = time.perf_counter()
            seen_new = False
            while True:
                read = session.get(entry, timeout=10).json()["version"]
                if read == version + 1:
                    if not seen_new:
                        delays.append(time.perf_counter() - answered)
                    seen_new = True
                    if time.perf_counter() - answered > delays[-1] + 0.2:
                        break
                elif seen_new:
                    went_back += 1
                if time.perf_counter() - answered > 10:
                    delays.append(math.inf)
                    break
                time.sleep(0.005)
        stop.set()
        readers.join(timeout=30)
    milliseconds = [delay * 1000 for delay in delays]
    print(f"read freshness through the gateway ({READERS} readers, {EDITS} edits): p50 "
          f"{statistics.median(milliseconds):.0f} ms, p99 {percentile(milliseconds, 0.99):.0f} ms, max "
          f"{max(milliseconds):.0f} ms (target p99 <= 1000 ms); an old version after the new one: {went_back} times",
          flush=True)


if __name__ == "__main__":
    main()
