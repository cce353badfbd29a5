"""The faults, one at a time, each lasting about ``OUTAGE_SECONDS`` before it is healed."""
import subprocess
import time

from tests.resilience.test_store_outage import postgresql

OUTAGE_SECONDS = 5.0


def rabbitmqctl(*args) -> str:
    return subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=120).stdout


def restart_rabbitmq(deployment) -> None:
    rabbitmqctl("stop_app")
    time.sleep(OUTAGE_SECONDS)
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")


def restart_postgresql(deployment) -> None:
    postgresql("stop")
    time.sleep(OUTAGE_SECONDS)
    postgresql("start")


def killed(*names):
    """SIGKILL the named processes, start them again after the outage."""
    def fault(deployment):
        for name in names:
            deployment.kill(name)
        time.sleep(OUTAGE_SECONDS)
        deployment.start(*names)
    return fault


def alarm(read_limit: str, set_limit: str, alarming_value: str):
    """A broker resource alarm: every publisher blocked while the limit says the resource is full."""
    def fault(deployment):
        before = rabbitmqctl("eval", read_limit).strip()
        rabbitmqctl(set_limit, alarming_value)
        try:
            time.sleep(OUTAGE_SECONDS)
        finally:
            rabbitmqctl(set_limit, before)
    return fault


memory_alarm = alarm("vm_memory_monitor:get_vm_memory_high_watermark().", "set_vm_memory_high_watermark", "0.000001")
disk_alarm = alarm("rabbit_disk_monitor:get_disk_free_limit().", "set_disk_free_limit", "100000GB")


def partitioned(service: str):
    """The service's broker connections are cut, again and again while the outage lasts (as a
    network partition between it and the broker would)."""
    def fault(deployment):
        user = deployment.broker_users[service]
        ends = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < ends:
            for line in rabbitmqctl("list_connections", "-q", "--no-table-headers", "name", "user").splitlines():
                name, _, owner = line.rpartition("\t")
                if owner == user:
                    subprocess.run(["rabbitmqctl", "close_connection", name, "fault test: partitioned"],
                                   capture_output=True, timeout=60)
            time.sleep(0.5)
    return fault


FAULTS = {
    "rabbitmq restarted": restart_rabbitmq,
    "catalog killed": killed("catalog"),
    "search killed": killed("search"),
    "survey killed": killed("survey"),
    "notify killed": killed("notify"),
    "gateway killed": killed("gateway"),
    "postgresql restarted": restart_postgresql,
    "broker memory alarm": memory_alarm,
    "broker disk alarm": disk_alarm,
    "notify partitioned from the broker": partitioned("notify"),
    "search partitioned from the broker": partitioned("search"),
}
# the part of the suite `make test` runs (`make faults` runs all)
SMOKE = ("catalog killed", "rabbitmq restarted")
