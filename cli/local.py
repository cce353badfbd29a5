"""``kosi run``: the whole platform on one machine, each service its own process."""
import os
import signal
import subprocess
import sys
import time

import requests

from cli import registry
from cli.secrets import local_environment
from kernel.broker import ExchangeMismatch, declare_topology, is_reachable


def gateway_url() -> str:
    """Where the local gateway answers (its ``WEB_SERVER_ADDRESS``, ``0.0.0.0`` as localhost)."""
    host, _, port = str(registry.config_of("gateway")["WEB_SERVER_ADDRESS"]).rpartition(":")
    return f"http://{'localhost' if host in ('', '0.0.0.0') else host}:{port}"


def _broker_missing(amqp_uri: str) -> int:
    print(f"RabbitMQ is not reachable at {amqp_uri}.\n"
          "Install and start it (Debian/Ubuntu): apt-get install rabbitmq-server && rabbitmq-server -detached\n"
          "or point KOSI_OPERATOR_AMQP_URI and the services' CATALOG_/SEARCH_/GATEWAY_AMQP_URI at a running "
          "broker.", file=sys.stderr)
    return 2


MAIL_DIRECTORY = "var/mail"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _mail_sink(env: dict) -> subprocess.Popen | None:
    """The local SMTP sink (``var/mail/*.eml``) where notify sends, unless notify is pointed at
    a real SMTP server elsewhere."""
    notify = registry.config_of("notify")
    if str(notify["SMTP_HOST"]) not in LOCAL_HOSTS:
        return None
    return subprocess.Popen([sys.executable, "-m", "cli.mailsink", "--dir", MAIL_DIRECTORY,
                             "--host", "127.0.0.1", "--port", str(notify["SMTP_PORT"])], env=env)


def _wait_until_ready(processes, gateway: str, seconds=90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes.values()):
            return False
        try:
            if requests.get(f"{gateway}/api/v1/ready", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def run_platform(load_demo: bool = True) -> int:
    amqp_uri = registry.operator_config()["AMQP_URI"]
    if not is_reachable(amqp_uri):
        return _broker_missing(amqp_uri)
    try:
        declare_topology(amqp_uri, registry.PRODUCERS, registry.all_subscriptions(), registry.retry_delays())
    except ExchangeMismatch as error:  # a broker set up by an older release
        print(f"{error}", file=sys.stderr)
        return 2

    # the local secrets (JWT secret, signing keys) for whatever the environment does not set
    # log lines for a person at a console here; JSON (every value escaped) everywhere else
    env = dict(os.environ, LOAD_DEMO_DATA="true" if load_demo else "false", **local_environment())
    env.setdefault("LOG_JSON", "false")
    processes = {}
    sink = _mail_sink(env)
    if sink is not None:
        processes["mail-sink"] = sink
    processes.update({
        name: subprocess.Popen([sys.executable, "-m", "cli.main", "serve", name], env=env)
        for name in registry.SERVICES
    })
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        gateway = gateway_url()
        if _wait_until_ready(processes, gateway):
            mail = f"  mails: {MAIL_DIRECTORY}/*.eml" if sink is not None else ""
            print(f"\nKoSI is up: {gateway}/ (the web client)  API: {gateway}/api/v1  docs: {gateway}/api/v1/docs{mail}\n"
                  f"  editors ({gateway}/redaktion): a token from `kosi token --role editor`  (Ctrl-C stops)\n", flush=True)
        while not stopping:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                print(f"service(s) stopped: {', '.join(exited)}; shutting down", file=sys.stderr)
                break
            time.sleep(0.5)
    finally:
        stop_all(processes.values())
    return 0 if stopping else 1


def stop_all(processes, timeout: float = 15) -> None:
    """SIGTERM to each process still running, then wait; SIGKILL for any that does not end."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
