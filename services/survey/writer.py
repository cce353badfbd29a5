"""Group commit of responses: the responses that arrive together are counted in one
transaction per survey (nameko glue; the counting is ``responses.submit_responses``).

Every response to one survey updates the same row (its count) and the same counters, so they
are counted one after another anyway; one transaction for the ones waiting at that moment
shares the row update, the counters' upsert, the commit and the ``response.submitted`` event
among them. Alone, a response is a batch of one (no waiting for company). The worker that
received the RPC waits for its own outcome: a receipt, or its error.
"""
import logging

import eventlet
from eventlet.event import Event
from eventlet.greenpool import GreenPool
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider

from kernel import metrics
from kernel.db import HandledCall
from kernel.dependencies import Database
from kernel.rpc import CALL_KEY, REDELIVERED_KEY
from kernel.tracing import REQUEST_ID_KEY
from services.survey.responses import Submission, submit_responses

log = logging.getLogger(__name__)
MOST_PER_BATCH = 64


class ResponseWriter(DependencyProvider):
    """Injects ``submit(survey_id, body, idempotency_key, settings)`` → receipt (or raises)."""

    def setup(self):
        self.queue = LightQueue()
        self.pool = GreenPool(8)
        self._thread = None

    def start(self):
        self.database = next(dependency for dependency in self.container.dependencies
                             if isinstance(dependency, Database))
        self._thread = self.container.spawn_managed_thread(self._run, identifier="response-writer")

    def stop(self):
        # workers have finished when dependencies stop: nothing waits in the queue any more
        self.queue.put(None)

    def kill(self):
        if self._thread is not None:
            self._thread.kill()

    def get_dependency(self, worker_ctx):
        call_id = worker_ctx.context_data.get(CALL_KEY)
        call_key = HandledCall(call_id).first_key if call_id else None
        redelivered = bool(worker_ctx.context_data.get(REDELIVERED_KEY))

        def submit(survey_id, body: dict, idempotency_key, settings):
            done = Event()
            self.queue.put((survey_id, Submission(body, idempotency_key, call_key, redelivered), settings, done,
                            worker_ctx.context_data.get(REQUEST_ID_KEY)))
            outcome = done.wait()
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return submit

    def _run(self):
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MOST_PER_BATCH:
                try:
                    item = self.queue.get_nowait()
                except Empty:
                    break
                if item is None:
                    self.queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            # surveys apart, at once: one waiting for its row lock holds up no other
            groups = [[item for item in batch if item[0] == survey_id]
                      for survey_id in dict.fromkeys(item[0] for item in batch)]
            list(self.pool.imap(self._count, groups))
            eventlet.sleep(0)  # let the workers of this batch answer before the next one starts

    def _count(self, items) -> None:
        """One transaction for ``items`` (of one survey; its events carry the first one's request
        id). When it fails, each is tried alone, so one response cannot fail the others."""
        survey_id, settings, request_id = items[0][0], items[0][2], items[0][4]
        try:
            with self.database.make_uow(request_id) as uow:
                outcomes = submit_responses(uow, survey_id, [item[1] for item in items], settings)
        except Exception as error:  # none of them was counted
            if len(items) > 1:
                for item in items:
                    self._count([item])
                return
            # the class only: a database error's text holds the statement's parameters (answers)
            log.warning("could not count a response: %s", type(error).__name__)
            outcomes = [error]
        for item, outcome in zip(items, outcomes):
            metrics.SURVEY_RESPONSES.labels(type(outcome).__name__ if isinstance(outcome, BaseException)
                                            else "accepted").inc()
            item[3].send(outcome)
