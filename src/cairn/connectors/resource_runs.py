"""Attempts of Cairn's built-in resource types, run by the local connector in worker threads.

Built-in operations (``cairn.noop``, ...) end at once and run inside ``submit``. Resource
operations may take seconds (an HTTP check, a service waiting for its port), so they run in
a small thread pool instead, and the connector's ``poll`` reports them like scripts:

* each outcome is journaled under the attempt's key (``outcome.json``, as for scripts)
  before it is reported, so a key delivered again is answered from the journal;
* the dispatch's timeout holds: an attempt past it is reported as timed out (recoverable
  unless the operation says otherwise) and whatever its thread returns later is dropped;
  ``kill`` does the same at once. A thread cannot be stopped from outside, but every
  operation bounds its own waits by the same deadline, so it ends soon after;
* an attempt lost with its process (no outcome journaled) is UNKNOWN to ``recover`` and
  runs again: resource operations make things so, running one twice is harmless.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cairn.connectors import attempts, interface, journal, masking
from cairn.model import executions
from cairn.plugins.resources import dispatcher

WORKERS = 4
Kind = executions.OutcomeKind


@dataclass(kw_only=True)
class _Run:
    dispatch: interface.Dispatch
    entry: journal.Entry
    deadline: float | None


class ResourceRuns:
    """Runs resource attempts in threads; settles each through ``deliver`` exactly once."""

    def __init__(
        self,
        *,
        data_dir: str,
        lock: threading.RLock,
        deliver: Callable[[interface.Report], None],
        clock: Callable[[], datetime.datetime],
        workers: int = WORKERS,
    ) -> None:
        self.data_dir = data_dir
        self._lock = lock
        self._deliver = deliver
        self._clock = clock
        self._workers = workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._runs: dict[str, _Run] = {}

    def holds(self, key: str) -> bool:
        return key in self._runs

    def busy(self) -> bool:
        return bool(self._runs)

    def start(self, entry: journal.Entry, dispatch: interface.Dispatch) -> None:
        """Called with the connector's lock held."""
        deadline = None if dispatch.timeout is None else time.monotonic() + dispatch.timeout
        self._runs[dispatch.key] = _Run(dispatch=dispatch, entry=entry, deadline=deadline)
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix="cairn-resource"
            )
        self._pool.submit(self._work, dispatch.key, dispatch)

    def _work(self, key: str, dispatch: interface.Dispatch) -> None:
        try:
            result = dispatcher.run(
                operation=dispatch.operation,
                context=dispatch.context,
                data_dir=self.data_dir,
                timeout=dispatch.timeout,
            )
            ended, logs = result.outcome, result.logs
        except Exception as exc:  # a bug in an operation fails the attempt, not the thread
            ended = executions.Outcome(
                kind=Kind.NON_RECOVERABLE, error=f"{dispatch.operation}: {exc!r}"
            )
            logs = ()
        with self._lock:
            run = self._runs.get(key)
            if run is not None and self._past(run) and ended.kind is not Kind.SUCCEEDED:
                ended = self._timed_out(run)  # cut short by the deadline: say so, as scripts do
        self._settle(key, ended, logs)

    @staticmethod
    def _past(run: _Run) -> bool:
        return run.deadline is not None and time.monotonic() >= run.deadline

    @staticmethod
    def _timed_out(run: _Run) -> executions.Outcome:
        kind = Kind.RECOVERABLE if run.dispatch.timeout_recoverable else Kind.NON_RECOVERABLE
        error = f"{run.dispatch.implementation}: timed out after {run.dispatch.timeout:g}s"
        return executions.Outcome(kind=kind, error=error)

    def _settle(
        self, key: str, ended: executions.Outcome, logs: tuple[tuple[str, str], ...]
    ) -> None:
        with self._lock:
            run = self._runs.pop(key, None)
            if run is None:  # killed or timed out meanwhile: that outcome stands
                return
            masker = masking.Masker(run.dispatch.secrets)
            now = self._clock()
            lines = [
                interface.LogLine(
                    timestamp=now, level=interface.LogLevel(level), message=masker.mask(text)
                )
                for level, text in logs
            ]
            ended = attempts.masked(ended, masker)
            run.entry.write_outcome(ended, lines)  # journaled before it is reported
            self._deliver(interface.Report(key=key, logs=tuple(lines), outcome=ended))

    def enforce_timeouts(self) -> None:
        """Called with the connector's lock held, at each collect."""
        for key, run in list(self._runs.items()):
            if self._past(run):
                self._settle(key, self._timed_out(run), ())

    def kill(self, key: str) -> bool:
        """Settle a running attempt as killed; False when it is not one of ours."""
        run = self._runs.get(key)
        if run is None:
            return False
        error = f"{run.dispatch.implementation}: killed"
        self._settle(key, executions.Outcome(kind=Kind.NON_RECOVERABLE, error=error), ())
        return True

    def close(self) -> None:
        """Stop taking work; threads end with the operation they run (bounded by its
        deadline). Attempts not reported are lost with this connector: UNKNOWN later."""
        self._runs.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
