"""Soak: the deployed platform under the fault suite's mixed workload at a steady rate, no faults.

``make soak`` runs it for ``SOAK_MINUTES`` (10 by default) and prints the rate, the 5xx count,
p50/p95/p99 per route group, the RSS of every process sampled every 10 s with its slope after
the warm-up, open file descriptors, and the queues at the end; it passes with zero 5xx, every
process's memory flat (slope under ``MAX_SLOPE_MB_PER_MINUTE``), queues and outboxes drained.
``make test`` runs half a minute of it (the same checks but the slope, which needs minutes).
"""
import os
import statistics
import time
from pathlib import Path

import eventlet
from rich.console import Console
from rich.table import Table

from tests.faults import checks
from tests.faults.test_faults import deployment, open_poll  # noqa: F401 (the fixture)
from tests.faults.workload import Workload

MINUTES = float(os.environ.get("SOAK_MINUTES", "0.5"))
SAMPLE_SECONDS = 10.0
WARM_UP_MINUTES = 2.0
MAX_SLOPE_MB_PER_MINUTE = 1.0


def resident_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per minute."""
    if len(samples) < 3:
        return 0.0
    return statistics.linear_regression([t for t, _ in samples], [mb for _, mb in samples]).slope * 60


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def test_a_steady_load_leaves_no_errors_no_growth_and_nothing_waiting(deployment, smtp_sink):  # noqa: F811
    workload = Workload(deployment.base, smtp_sink, open_poll(deployment.base), workers=4, pause=0.2)
    memory: dict[str, list] = {name: [] for name in deployment.processes}
    began = time.monotonic()
    workload.start()
    try:
        while time.monotonic() - began < MINUTES * 60:
            now = time.monotonic() - began
            for name, process in deployment.processes.items():
                memory[name].append((now, resident_megabytes(process.pid)))
            eventlet.sleep(min(SAMPLE_SECONDS, max(0.1, MINUTES * 60 - (time.monotonic() - began))))
    finally:
        workload.stop()
    elapsed = time.monotonic() - began
    settle_seconds = checks.settle(deployment)
    ledger = workload.ledger

    latency = Table("route group", "requests", "p50 ms", "p95 ms", "p99 ms", title="latency")
    for group, values in sorted(ledger.latencies.items()):
        latency.add_row(group, str(len(values)), *(f"{percentile(values, q) * 1000:.0f}" for q in (.5, .95, .99)))
    warm = WARM_UP_MINUTES * 60 if MINUTES > 2 * WARM_UP_MINUTES else 0.0
    slopes = {name: slope_per_minute([sample for sample in samples if sample[0] >= warm])
              for name, samples in memory.items()}
    processes = Table("process", "RSS start MB", "RSS end MB", "slope after warm-up MB/min", "open fds",
                      title="processes")
    for name, process in deployment.processes.items():
        processes.add_row(name, f"{memory[name][0][1]:.0f}", f"{memory[name][-1][1]:.0f}", f"{slopes[name]:+.2f}",
                          str(open_files(process.pid)))
    console = Console(width=140)
    console.print(f"soak: {elapsed / 60:.1f} min, {ledger.sent} requests ({ledger.sent / elapsed:.1f}/s), "
                  f"{ledger.server_errors} answered 5xx, {ledger.failed - ledger.server_errors} unanswered, "
                  f"settled {settle_seconds:.1f} s after; queues left: {checks.busy_queues(deployment) or 'none'}")
    console.print(latency)
    console.print(processes)

    assert not workload.errors, workload.errors[:10]
    assert ledger.sent > 0 and ledger.server_errors == 0 and ledger.failed == 0
    damage = checks.count_damage(deployment, ledger, smtp_sink, workload.survey_id)
    assert not damage, list(damage.values())[:20]
    if MINUTES > 2 * WARM_UP_MINUTES:   # a slope needs minutes past the warm-up to mean anything
        assert all(slope < MAX_SLOPE_MB_PER_MINUTE for slope in slopes.values()), slopes
