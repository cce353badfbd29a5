"""deploy/prometheus and deploy/grafana, checked offline: promtool accepts the scrape config and
the alert rules, the rules' unit tests pass, every dashboard query parses, and every metric the
alerts and the dashboard use is one the code exports (a renamed metric fails here, not in an
operator's night)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from gateway import metrics as gateway_metrics
from kernel import metrics as service_metrics

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "kosi-platform.json"
PROMTOOL = Path(sys.executable).parent / "promtool"   # `make tools` puts it there
METRIC_NAME = re.compile(r"\b(kosi_[a-z0-9_]+|up)\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def promtool(*args, cwd=PROMETHEUS) -> subprocess.CompletedProcess:
    assert PROMTOOL.exists(), "promtool is missing: run `make tools`"
    return subprocess.run([str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for target in panel["targets"]]


def alert_queries() -> list[str]:
    return [rule["expr"] for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
            for rule in group["rules"]]


class _NoQueues:
    def queues(self):
        return []


def exported_series() -> set[str]:
    """Every series name the services and the gateway can export."""
    gateway_metrics.BROKER_QUEUES.source = _NoQueues()   # so that it names its families
    try:
        families = [*service_metrics.REGISTRY.collect(), *gateway_metrics.REGISTRY.collect()]
    finally:
        gateway_metrics.BROKER_QUEUES.source = None
    return {family.name + suffix for family in families for suffix in SUFFIXES.get(family.type, ("",))} | {"up"}


def test_promtool_accepts_the_scrape_config_and_its_rules():
    # (prometheus-kubernetes.yml: Debian's promtool is built without Kubernetes discovery, so
    # tests/deploy/test_manifests.py checks it against the rendered manifests instead)
    checked = promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout and "rules found" in checked.stdout


def test_the_alerts_fire_as_their_unit_tests_say():
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_dashboard_query_parses(tmp_path):
    queries = dashboard_queries()
    assert len(queries) >= 10
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{number}", "expr": expr} for number, expr in enumerate(queries)]}]}
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    checked = promtool("check", "rules", "queries.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alerts_and_dashboard_use_only_metrics_the_code_exports():
    exported = exported_series()
    assert {"kosi_worker_duration_seconds_bucket", "kosi_outbox_unpublished", "kosi_mails_total",
            "kosi_broker_dead_letters", "kosi_gateway_requests_total"} <= exported
    used = {name for expr in alert_queries() + dashboard_queries() for name in METRIC_NAME.findall(expr)}
    assert used - exported == set()
    # and every exported family is on the dashboard
    shown = {name for expr in dashboard_queries() for name in METRIC_NAME.findall(expr)}
    families = {name for name in exported if not name.endswith(("_count", "_sum")) and name != "kosi_broker_metrics_up"}
    assert families - shown == set()
