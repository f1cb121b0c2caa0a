"""The local connector: operations run on the manager's machine, journaled under their key.

Script operations run as subprocesses under a wrapper that outlives the manager
(:mod:`.processes`, :mod:`.attempts`); built-in operations (``cairn.*``), Cloudify's agent
installer and unknown plugins are answered in-process (:mod:`cairn.plugins.builtin`).
A script's outcome is journaled (:mod:`.journal`) before it is reported, so a key is never
run twice: ``submit`` of a journaled key reports the journal, and after a crash ``recover``
reads the journal, finds a still-running wrapper again, or says the attempt is lost
(UNKNOWN). Built-in resource types run in worker threads and are journaled like scripts
(:mod:`.resource_runs`). Other in-process answers are not journaled: they end within the engine's step and are
idempotent, so an attempt lost with its manager simply runs again.

No decision lives only in memory: the deadline of a timeout, a kill in progress, the
secrets to mask and the runtime properties an attempt started from are in the journal, so
a new connector on the same data directory carries on with attempts an old one started.
Only attempts waiting for capacity are held in memory; after a crash they were never
started, and ``recover`` says so (UNKNOWN).

Timeouts use the real clock (scripts run in real time); log lines are stamped with the
injected ``clock``, or with the time ``ctx logger`` was called. Log lines may be reported
again after a restart (``recover`` reports an attempt's whole log): at least once, never lost.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from cairn.connectors import (
    attempts,
    background,
    interface,
    journal,
    masking,
    processes,
    resource_runs,
)
from cairn.model import executions
from cairn.plugins import builtin, registry
from cairn.plugins.script import outcome

Clock = Callable[[], datetime.datetime]
WAIT_SLICE = 0.05  # seconds between looks at running attempts' logs while poll() waits
KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
Kind = executions.OutcomeKind


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class LocalConnector:
    """Runs operations on this machine. Thread-safe; ``poll`` may wait while others submit."""

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str],
        capacity: interface.Capacity | None = None,
        clock: Clock | None = None,
        python: str | None = None,
        kill_grace: float = KILL_GRACE,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = os.path.abspath(os.fspath(data_dir))
        self.journal_dir = os.path.join(self.data_dir, "journal")
        self.capacity = capacity or interface.Capacity()
        self.clock = clock or _utc_now
        self.kill_grace = kill_grace
        self.machine = attempts.Machine(
            bin_dir=os.path.join(self.data_dir, "bin"),
            python=python or sys.executable,
            environ=dict(os.environ if environ is None else environ),
        )
        os.makedirs(self.journal_dir, mode=0o700, exist_ok=True)
        attempts.install_ctx(self.machine.bin_dir, self.machine.python)
        self._lock = threading.RLock()
        self._running: dict[str, attempts.Running] = {}
        # handed to the starter thread, not yet watched; True once a kill was asked for
        self._starting: dict[str, bool] = {}
        self._queued: collections.OrderedDict[str, interface.Dispatch] = collections.OrderedDict()
        self._ready: list[interface.Report] = []
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._closed = False
        self._cleaner = background.Worker("cairn-cleanup")
        self._starter = background.Worker("cairn-starter")
        self._resources = resource_runs.ResourceRuns(
            data_dir=self.data_dir, lock=self._lock, deliver=self._deliver, clock=self.clock
        )

    # -- the Connector protocol -----------------------------------------------------------

    def submit_all(self, dispatches: Sequence[interface.Dispatch]) -> None:
        for dispatch in dispatches:
            self.submit(dispatch)

    def submit(self, dispatch: interface.Dispatch) -> None:
        with self._lock:
            key = dispatch.key
            if (
                key in self._running
                or key in self._queued
                or key in self._starting
                or self._resources.holds(key)
            ):
                return
            entry = self._entry(key)
            if entry.exists():
                report = self._settled(entry)
                if report is not None:
                    self._deliver(report)
                    return
                if self._adopt(entry) is not None:
                    return
            kind = registry.kind_of(dispatch.plugin)
            if kind is registry.PluginKind.RESOURCE:
                self._resources.start(entry, dispatch)
            elif kind is not registry.PluginKind.SCRIPT:
                self._run_in_process(entry, dispatch)
            elif self._busy() >= self.capacity.max_running:
                self._queued[key] = dispatch
            else:
                self._start(entry, dispatch)

    def poll(self, *, timeout: float = 0.0) -> list[interface.Report]:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            reports = self._collect()
            remaining = deadline - time.monotonic()
            if reports or remaining <= 0:
                return reports
            self._wait(remaining)

    def recover(self, key: str) -> interface.Recovered:
        with self._lock:
            if (
                key in self._running
                or key in self._queued
                or key in self._starting
                or self._resources.holds(key)
            ):
                return interface.Recovered(state=interface.Recovery.RUNNING)
            entry = self._entry(key)
            if not entry.exists():
                return interface.Recovered(state=interface.Recovery.UNKNOWN)
            report = self._settled(entry)
            if report is not None:
                return interface.Recovered(report=report)
            if self._adopt(entry) is not None:
                return interface.Recovered(state=interface.Recovery.RUNNING)
            attempts.clean_orphans(entry)
            return interface.Recovered(state=interface.Recovery.UNKNOWN)

    def kill(self, key: str) -> None:
        with self._lock:
            dispatch = self._queued.pop(key, None)
            if dispatch is not None:
                error = f"{dispatch.implementation or dispatch.operation}: killed before it started"
                killed = executions.Outcome(
                    kind=Kind.NON_RECOVERABLE, error=masking.Masker(dispatch.secrets).mask(error)
                )
                self._journal(self._entry(key), killed, [])
                return
            if key in self._starting:
                self._starting[key] = True  # stopped as soon as it has started
                return
            if self._resources.kill(key):
                return
            running = self._running.get(key)
            if running is None:
                entry = self._entry(key)
                if not entry.exists() or entry.has_outcome():
                    return
                running = self._adopt(entry)
            if running is not None:
                self._stop(running, outcome.KILLED)

    def close(self) -> None:
        """Stop watching. Running scripts go on; a new connector can ``recover`` them."""
        self._starter.close()  # attempts being started start (and are left running)
        self._cleaner.close()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._resources.close()
            for running in self._running.values():
                attempts.close_fd(running.pidfd)
                running.tails.close()
            self._running.clear()
            self._queued.clear()
            attempts.close_fd(self._wake_r)
            attempts.close_fd(self._wake_w)

    def withdraw(self, key: str) -> bool:
        """Attempts start when submitted (or wait only for capacity): nothing to take back."""
        return False

    def forget(self, key: str) -> None:
        """Delete a finished attempt's journal entry, once its outcome is safely recorded
        (on the clean-up thread: nothing reads it any more)."""
        with self._lock:
            entry = self._entry(key)
            if key not in self._running and key not in self._starting and entry.has_outcome():
                self._cleaner.put(entry.remove)

    def settle(self) -> None:
        """Wait for the deletions handed to the clean-up thread so far (for tests)."""
        self._cleaner.settle()

    # -- starting -------------------------------------------------------------------------

    def _entry(self, key: str) -> journal.Entry:
        return journal.Entry(self.journal_dir, key)

    def _run_in_process(self, entry: journal.Entry, dispatch: interface.Dispatch) -> None:
        result = builtin.run(
            plugin=dispatch.plugin,
            operation=dispatch.operation,
            inputs=dispatch.inputs,
            context=dispatch.context,
        )
        masker = masking.Masker(dispatch.secrets)
        now = self.clock()
        logs = [
            interface.LogLine(
                timestamp=now, level=interface.LogLevel(level), message=masker.mask(message)
            )
            for level, message in result.logs
        ]
        # Built-in operations run inside the engine's own step and are idempotent: a crash
        # before the engine records their outcome reruns them, which is safe. Journaling them
        # (a file write and delete each) was a third of the engine's time on such operations.
        ended = attempts.masked(result.outcome, masker)
        self._deliver(interface.Report(key=entry.key, logs=tuple(logs), outcome=ended))

    def _journal(
        self, entry: journal.Entry, ended: executions.Outcome, logs: list[interface.LogLine]
    ) -> None:
        entry.write_outcome(ended, logs)
        self._deliver(interface.Report(key=entry.key, logs=tuple(logs), outcome=ended))

    def _busy(self) -> int:
        return len(self._running) + len(self._starting)

    def _start(self, entry: journal.Entry, dispatch: interface.Dispatch) -> None:
        """Hand the attempt to the starter thread (called with the lock held)."""
        self._starting[entry.key] = False
        self._starter.put(lambda: self._start_now(entry, dispatch))

    def _start_now(self, entry: journal.Entry, dispatch: interface.Dispatch) -> None:
        """On the starter thread: fill the folder and spawn without the lock, then watch."""
        try:
            started: attempts.Started | executions.Outcome = attempts.start(
                entry, dispatch, self.machine
            )
        except Exception as exc:  # the folder could not be reset: retry later, say so
            error = f"{dispatch.implementation or dispatch.operation}: could not start: {exc}"
            started = executions.Outcome(
                kind=Kind.RECOVERABLE, error=masking.Masker(dispatch.secrets).mask(error)
            )
        with self._lock:
            kill = self._starting.pop(entry.key, False)
            if isinstance(started, executions.Outcome):
                self._journal(entry, started, [])
                return
            wrapper, meta, warnings = started
            if self._closed:  # the wrapper runs on; a new connector recovers it
                return
            running = self._started(entry, wrapper, meta, warnings)
            if kill:
                self._stop(running, outcome.KILLED)

    def _started(
        self,
        entry: journal.Entry,
        wrapper: processes.Wrapper,
        meta: Mapping[str, object],
        warnings: tuple[str, ...],
    ) -> attempts.Running:
        running = self._track(attempts.watch(entry, wrapper, meta, clock=self.clock))
        now = self.clock()
        for warning in warnings:
            line = interface.LogLine(
                timestamp=now,
                level=interface.LogLevel.WARNING,
                message=running.masker.mask(warning),
            )
            running.logs.append(line)
            self._deliver(interface.Report(key=entry.key, logs=(line,)))
        return running

    def _track(self, running: attempts.Running) -> attempts.Running:
        self._running[running.key] = running
        self._wake()
        return running

    def _start_queued(self) -> None:
        while self._queued and self._busy() < self.capacity.max_running:
            key, dispatch = self._queued.popitem(last=False)
            self._start(self._entry(key), dispatch)

    # -- finding attempts again -----------------------------------------------------------

    def _settled(self, entry: journal.Entry) -> interface.Report | None:
        """The journaled report (with the whole log), finishing the attempt first if its
        wrapper ended while nobody watched."""
        if entry.has_outcome():
            return entry.read_report()
        meta = attempts.meta_of(entry)
        if meta is None or not attempts.ended_unobserved(entry):
            return None
        wrapper = attempts.recorded_wrapper(entry) or processes.Wrapper(pid=-1, start_time=-1)
        running = attempts.watch(entry, wrapper, meta, clock=self.clock, open_pidfd=False)
        report = attempts.finish(running)
        entry.forget_sensitive()  # rare (found after a restart): no need to hand it over
        return interface.Report(key=entry.key, logs=tuple(running.logs), outcome=report.outcome)

    def _adopt(self, entry: journal.Entry) -> attempts.Running | None:
        """Watch a wrapper started by an earlier connector, if it still runs."""
        meta = attempts.meta_of(entry)
        if meta is None:
            return None
        wrapper = attempts.recorded_wrapper(entry) or processes.find(entry.folder)
        if wrapper is None or not processes.alive(wrapper):
            return None
        if not processes.is_wrapper_of(wrapper.pid, entry.folder):
            return None
        return self._track(attempts.watch(entry, wrapper, meta, clock=self.clock))

    # -- watching -------------------------------------------------------------------------

    def _collect(self) -> list[interface.Report]:
        with self._lock:
            if self._closed:
                return []
            self._drain_wake()
            reports, self._ready = self._ready, []
            exited = self._exited_pidfds()
            for running in list(self._running.values()):
                if self._ended(running, exited):
                    del self._running[running.key]
                    reports.append(attempts.finish(running))
                    self._cleaner.put(running.entry.forget_sensitive)
                    continue
                self._enforce_timeout(running)
                lines = running.tails.read()
                if lines:
                    running.logs.extend(lines)
                    reports.append(interface.Report(key=running.key, logs=tuple(lines)))
            self._start_queued()
            self._resources.enforce_timeouts()
            reports.extend(self._ready)
            self._ready = []
            return reports

    def _exited_pidfds(self) -> set[int]:
        poller = select.poll()
        for running in self._running.values():
            if running.pidfd is not None:
                poller.register(running.pidfd, select.POLLIN)
        return {fd for fd, _ in poller.poll(0)}

    def _ended(self, running: attempts.Running, exited: set[int]) -> bool:
        if running.pidfd is not None and running.stopping is None:
            if running.pidfd not in exited:
                return False
        elif processes.alive(running.wrapper):
            return False
        processes.reap(running.wrapper.pid)
        if running.stopping is None:
            return True
        # a stopped attempt ends when nothing of its group is left, or at the SIGKILL
        if not processes.group_alive(running.wrapper.pid):
            return True
        if running.kill_at is not None and time.monotonic() >= running.kill_at:
            processes.signal_group(running.wrapper.pid, signal.SIGKILL)
            return True
        return False

    def _enforce_timeout(self, running: attempts.Running) -> None:
        if running.stopping is not None:
            if running.kill_at is not None and time.monotonic() >= running.kill_at:
                processes.signal_group(running.wrapper.pid, signal.SIGKILL)
            return
        deadline = running.meta.get("deadline")
        if deadline is not None and time.time() >= float(deadline):
            self._stop(running, outcome.TIMEOUT)

    def _stop(self, running: attempts.Running, reason: str) -> None:
        if running.stopping is not None:
            return
        running.entry.write_stop(reason)  # journaled first: a restart still knows why
        running.stopping = reason
        running.kill_at = time.monotonic() + self.kill_grace
        processes.signal_group(running.wrapper.pid, signal.SIGTERM)
        self._wake()

    # -- waiting --------------------------------------------------------------------------

    def _deliver(self, report: interface.Report) -> None:
        self._ready.append(report)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._wake_r, 4096):
                pass

    def _wait(self, remaining: float) -> None:
        with self._lock:
            if self._closed:
                time.sleep(min(remaining, WAIT_SLICE))
                return
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            for running in self._running.values():
                if running.pidfd is not None and running.stopping is None:
                    poller.register(running.pidfd, select.POLLIN)
            busy = bool(self._running) or self._resources.busy()
        wait = min(remaining, WAIT_SLICE) if busy else remaining
        poller.poll(max(0.0, wait) * 1000)
