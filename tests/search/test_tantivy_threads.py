"""The tantivy backend's locks between eventlet's thread pool (where the service runs index
writes) and the event loop (stop, starting or abandoning a rebuild): a pool thread that finds a
lock held by the loop waits until the loop lets go, then writes. With eventlet's green locks it
waited forever, and the process hung at exit joining that thread (seen once in make test: every
test passed, then pytest never ended). Run in a process of its own, which such a hang cannot
take down with it."""
import subprocess
import sys

from tests.platform.deployment import REPO

SCENARIO = """
import eventlet
eventlet.monkey_patch()
import tempfile
import eventlet.tpool
from services.search.tantivy_backend import TantivyBackend
from tests.search.behaviour import _doc

backend = TantivyBackend(tempfile.mkdtemp())
written = []
for lock in (backend._generation.lock, backend._switch_lock):
    lock.acquire()                      # the loop holds it (as stop() and start_rebuild() do) ...
    before = len(written)
    writer = eventlet.spawn(lambda: written.append(
        eventlet.tpool.execute(backend.upsert, [_doc(f"e{before}", "project", f"Dorfladen {before}")])))
    eventlet.sleep(0.3)                 # ... while a write in the pool waits for it
    assert len(written) == before, "the write did not wait for the lock"
    lock.release()
    with eventlet.Timeout(20):
        writer.wait()
backend.close()
eventlet.tpool.killall()
print("written", written)
"""


def test_a_write_in_the_thread_pool_waits_for_a_lock_the_event_loop_holds_and_then_goes_on():
    done = subprocess.run([sys.executable, "-c", SCENARIO], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "written [1, 1]"
