"""Request ids: made at the edge (or taken from the client's ``X-Request-Id``), carried
in nameko's context data through RPC calls and in outbox events' AMQP headers
(``kernel.topology.REQUEST_ID_HEADER``), and bound into every structured log line."""
import re
import uuid

REQUEST_ID_KEY = "request_id"  # worker context data key
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # nothing that could forge a log line


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """The client's request id if it is a safe token, else a new one."""
    return value if isinstance(value, str) and _ACCEPTABLE.match(value) else new_request_id()
