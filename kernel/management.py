"""RabbitMQ's management HTTP API: users, permissions, bindings and queue depths.

AMQP cannot create users or list bindings; the management plugin can. Used by
``kosi broker setup`` (as the broker's administrator), by the gateway's ``/metrics``
(queue depths, as a user with the ``monitoring`` tag) and by tests.
"""
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlparse

import requests

DEFAULT_MANAGEMENT_PORT = 15672


class ManagementError(RuntimeError):
    pass


@dataclass(frozen=True)
class Management:
    base_url: str       # http://host:15672
    user: str
    password: str
    vhost: str
    timeout: float = 5.0

    @classmethod
    def from_amqp_uri(cls, amqp_uri: str, management_url: str | None = None, timeout: float = 5.0) -> "Management":
        """The management API of the broker ``amqp_uri`` points at, with the same credentials and vhost."""
        parsed = urlparse(amqp_uri)
        vhost = unquote(parsed.path[1:]) if parsed.path not in ("", "/") else "/"
        base = (management_url or f"http://{parsed.hostname or 'localhost'}:{DEFAULT_MANAGEMENT_PORT}").rstrip("/")
        return cls(base, unquote(parsed.username or "guest"), unquote(parsed.password or "guest"), vhost, timeout)

    # ------------------------------------------------------------------ plumbing

    def _url(self, *parts: str) -> str:
        return self.base_url + "/api/" + "/".join(quote(part, safe="") for part in parts)

    def _request(self, method: str, *parts: str, json=None, params=None):
        try:
            response = requests.request(method, self._url(*parts), json=json, params=params,
                                        auth=(self.user, self.password), timeout=self.timeout)
        except requests.RequestException as error:
            raise ManagementError(f"RabbitMQ management API at {self.base_url} unreachable: {error}") from None
        if response.status_code >= 400:
            raise ManagementError(f"{method} {'/'.join(parts)}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    # ------------------------------------------------------------------ reads

    def queues(self) -> list[dict]:
        """Queues of the vhost with ``name``, ``messages_ready``, ``messages_unacknowledged``, ``consumers``."""
        return self._request("GET", "queues", self.vhost, params={
            "columns": "name,messages_ready,messages_unacknowledged,consumers"}) or []

    def bindings_from(self, exchange: str) -> list[dict]:
        """Bindings whose source is ``exchange`` (``destination``, ``routing_key``, ``arguments``)."""
        return self._request("GET", "exchanges", self.vhost, exchange, "bindings", "source") or []

    def permissions_of(self, user: str) -> dict | None:
        try:
            return self._request("GET", "permissions", self.vhost, user)
        except ManagementError as error:
            if " 404 " in str(error):
                return None
            raise

    # ------------------------------------------------------------------ writes

    def put_user(self, user: str, password: str, tags: str = "") -> None:
        self._request("PUT", "users", user, json={"password": password, "tags": tags})

    def put_permissions(self, user: str, configure: str, write: str, read: str) -> None:
        self._request("PUT", "permissions", self.vhost, user,
                      json={"configure": configure, "write": write, "read": read})

    def delete_user(self, user: str) -> None:
        self._request("DELETE", "users", user)
