"""The local connector's work that the engine's thread need not wait for, on threads of its
own: starting attempts and deleting their files.

Creating and deleting files and folders is slow on the manager's disk (tenths of a
millisecond to several milliseconds each, more while it is busy), an attempt takes half a
dozen of each, and ``posix_spawn`` blocks its caller until the child has started. Done on
the engine's thread, that was half of its time during an install of many scripts, while it
had claims and completions to do. File-system calls and ``posix_spawn`` release the GIL, so
on another thread they overlap with the engine.

Deletions are safe to defer: once an outcome is journaled, or committed to the store, what
is left in the folder is never read again (``recover`` after a crash reads ``outcome.json``,
which is not deleted before the commit). Jobs of one worker run in order: a folder's
sensitive files go before the folder itself, and attempts start in the order submitted.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
# an idle worker's thread ends, and the next job starts a new one: a connector dropped
# without close() (a test's simulated crash) leaves no thread behind for long
IDLE_SECONDS = 0.5
Job = Callable[[], None]


class Worker:
    """Runs jobs in order on one thread, started by a job when none runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def put(self, job: Job) -> None:
        with self._lock:
            if not self._closed:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self._thread.start()
                self._jobs.put(job)
                return
        _run_one(job)  # closed: nobody else will

    def settle(self) -> None:
        """Wait until every job handed over so far has run."""
        self._jobs.join()

    def close(self) -> None:
        """Run what is queued, then stop the thread."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
            if thread is not None:
                self._jobs.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:  # puts happen under the lock: none is missed
                    if self._jobs.empty():
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                continue
            try:
                if job is None:
                    return
                _run_one(job)
            finally:
                self._jobs.task_done()


def _run_one(job: Job) -> None:
    try:
        job()
    except Exception:  # jobs handle their own failures; this is the last resort
        log.exception("background job of the local connector failed")
