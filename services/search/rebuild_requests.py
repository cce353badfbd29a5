"""Rebuild requests and progress between the processes that share one tantivy index folder.

With ``SEARCH_ROLE=query`` a process answers queries but holds no writer, so it cannot
rebuild. ``kosi search reindex`` may reach any of them: a query process then leaves a
request in the index folder (``rebuild-requested``, created exclusively: two at once make
one rebuild), and the writing process (role ``index`` or ``all``) takes it on its next
tick. The writer writes its progress to ``rebuild-progress.json`` (replaced atomically)
for the query processes to answer ``reindex_status`` from.

The order makes a poller never miss a rebuild: the writer publishes ``running`` before it
removes the request, and a reader reports ``requested`` while the request file exists.
"""
import json
import os
from datetime import datetime, timezone

from kernel.errors import Conflict
from services.search.files import write_atomically

REQUEST_FILE = "rebuild-requested"
PROGRESS_FILE = "rebuild-progress.json"
IDLE = {"state": "idle", "done": 0, "total_hint": None, "started_at": None, "finished_at": None, "error": None}


class RebuildRequests:
    def __init__(self, folder: str):
        self.folder = folder
        self._request = os.path.join(folder, REQUEST_FILE)
        self._progress = os.path.join(folder, PROGRESS_FILE)
        self._published: dict | None = None

    # ----- query processes
    def request(self) -> dict:
        """Leave a request for the writer; ``Conflict`` while a rebuild runs or is requested."""
        state = self.progress()["state"]
        if state in ("running", "requested"):
            raise Conflict(f"a rebuild is already {state}", {"state": [state]})
        os.makedirs(self.folder, exist_ok=True)
        try:
            fd = os.open(self._request, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise Conflict("a rebuild is already requested", {"state": ["requested"]}) from None
        with os.fdopen(fd, "w") as handle:
            handle.write(datetime.now(timezone.utc).isoformat())
        return self.progress()

    def progress(self) -> dict:
        """The writer's last published progress, or ``requested`` while a request waits."""
        try:
            with open(self._progress, encoding="utf-8") as handle:
                progress = {**IDLE, **json.load(handle)}
        except (FileNotFoundError, ValueError):
            progress = dict(IDLE)
        if progress["state"] != "running" and os.path.exists(self._request):
            progress = {**IDLE, "state": "requested", "requested_at": self._requested_at()}
        return progress

    def _requested_at(self) -> str | None:
        try:
            with open(self._request, encoding="utf-8") as handle:
                return handle.read().strip() or None
        except FileNotFoundError:
            return None

    # ----- the writing process
    def pending(self) -> bool:
        return os.path.exists(self._request)

    def taken(self) -> None:
        """The writer started the requested rebuild (after publishing ``running``)."""
        try:
            os.remove(self._request)
        except FileNotFoundError:
            pass

    def publish(self, progress: dict) -> None:
        """Write the writer's progress for the readers, when it changed."""
        if progress == self._published:
            return
        os.makedirs(self.folder, exist_ok=True)
        write_atomically(self._progress, json.dumps(progress))
        self._published = dict(progress)
