"""What the benchmarks share: a vhost and a database of their own, the services and the bare
baselines as processes, staff tokens, CPU accounting. Talks only to 127.0.0.1."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import jwt
import requests

from bench.load import run_load

REPO_ROOT = Path(__file__).resolve().parent.parent
RABBIT = {"host": "127.0.0.1", "port": 5672, "management": "http://127.0.0.1:15672", "user": "guest",
          "password": "guest"}
# every load client is 127.0.0.1: its gateway bound of requests at a time is lifted
LOAD_FROM_ONE_ADDRESS = {"GATEWAY_CONCURRENT_REQUESTS_PER_CLIENT": "100000"}
START_TIMEOUT = 60.0  # seconds a service may take to answer after it was started


# ============================================================== broker: a vhost of our own

def management(method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, RABBIT["management"] + path, auth=(RABBIT["user"], RABBIT["password"]),
                            timeout=10, **kwargs)


def create_vhost(vhost: str) -> str:
    """A fresh RabbitMQ vhost for this run; its AMQP URI."""
    name = quote(vhost, safe="")
    management("DELETE", f"/api/vhosts/{name}")
    management("PUT", f"/api/vhosts/{name}").raise_for_status()
    management("PUT", f"/api/permissions/{name}/{RABBIT['user']}",
               json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    return f"pyamqp://{RABBIT['user']}:{RABBIT['password']}@{RABBIT['host']}:{RABBIT['port']}/{name}"


def delete_vhost(vhost: str) -> None:
    try:
        management("DELETE", f"/api/vhosts/{quote(vhost, safe='')}")
    except requests.RequestException:
        pass


# ============================================================== database

def platform_environment(amqp_uri: str, jwt_secret: str) -> dict:
    """Environment of the platform's processes for one benchmark run: every service on the
    run's vhost, fresh signing keys, the broker topology declared as `kosi broker setup` would."""
    from cli import registry
    from kernel.broker import declare_topology
    from kernel.identity import generate_keypair

    gateway_private, gateway_public = generate_keypair()
    declare_topology(amqp_uri, registry.PRODUCERS, registry.all_subscriptions(), registry.retry_delays())
    return {"CATALOG_AMQP_URI": amqp_uri, "SEARCH_AMQP_URI": amqp_uri, "SURVEY_AMQP_URI": amqp_uri,
            "GATEWAY_AMQP_URI": amqp_uri,
            "KOSI_GATEWAY_SIGNING_KEY": gateway_private, "KOSI_TRUSTED_SIGNERS": f"gateway:{gateway_public}",
            "KOSI_JWT_SECRET": jwt_secret}


def staff_token(jwt_secret: str, roles=("editor",)) -> str:
    """A staff JWT for the gateway (as ``kosi token`` mints one), valid for an hour."""
    now = int(time.time())
    return jwt.encode({"sub": "bench@kosi", "roles": list(roles), "iss": "kosi", "aud": "kosi-api",
                       "iat": now, "exp": now + 3600}, jwt_secret, algorithm="HS256")


def drop_database(name: str) -> None:
    import sqlalchemy as sa

    from tests.databases import ADMIN_URL

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def json_list(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


# ============================================================== processes

class Processes:
    """The services under test, each its own process group; all stopped on ``close``."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")
        process = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)  # Ctrl-C reaches us; we stop them
        log.close()
        self.running[name] = process
        return process

    def check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = (self.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start_bare(processes: Processes, amqp_uri: str, address: str, **config) -> None:
    """The baselines of ``bench/bare.py`` on ``address``: two processes, like gateway and service
    (the hop crosses a process boundary either way); ``config`` goes into their nameko config."""
    import yaml

    path = processes.log_dir / "bare.yaml"
    path.write_text(yaml.safe_dump({"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": address, **config}))
    nameko = str(Path(sys.executable).parent / "nameko")
    env = {"PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    for name, service in (("bare-http", "BareHttp"), ("bare-rpc", "BareRpc")):
        processes.start(name, [nameko, "run", "--config", str(path), f"bench.bare:{service}"], env)


def wait_until_answers(url: str, processes: Processes, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        processes.check_alive()
        try:
            response = requests.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except requests.RequestException as error:
            last = type(error).__name__
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:g}s (last: {last})")


# ============================================================== CPU accounting

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process (its threads included)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _cpu_of_command(command_name: str) -> float:
    """CPU seconds of every process with this command name (e.g. all PostgreSQL backends)."""
    total = 0.0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/comm", encoding="utf-8") as handle:
                    if handle.read().strip() == command_name:
                        total += _cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


def cpu_snapshot(processes: Processes) -> dict[str, float]:
    snapshot = {name: _cpu_seconds(process.pid) for name, process in processes.running.items()}
    # machine-wide: backends of any database / any vhost count here
    snapshot["postgres*"] = _cpu_of_command("postgres")
    snapshot["rabbitmq*"] = _cpu_of_command("beam.smp")
    return snapshot


def measured_load(name: str, urls, clients: int, seconds: float, warmup: float,
                  processes: Processes, keys=None):
    """``run_load`` after a warm-up, with the CPU milliseconds per answered request of each
    process (``keys`` of ``cpu_snapshot``, default all) and of the load driver itself."""
    if warmup > 0:
        run_load(f"{name}-warmup", urls, clients, warmup)
    processes.check_alive()
    before = cpu_snapshot(processes)
    result = run_load(name, urls, clients, seconds)
    after = cpu_snapshot(processes)
    per_request = {key: (after[key] - before.get(key, 0.0)) * 1000 / result.ok if result.ok else math.nan
                   for key in (keys or after)}
    per_request["driver"] = result.driver_cpu * 1000 / result.ok if result.ok else math.nan
    return result, per_request
