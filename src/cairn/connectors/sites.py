"""The site connector: operation attempts for a site's agent, handed over through the store.

The manager never calls a site. ``submit`` stores the attempt (table ``site_attempts``) and
rings the site's doorbell, which wakes the agent's waiting long-poll; the agent fetches it
(under a lease), acknowledges it once journaled, and later reports log lines (stored as
events at once) and the outcome, which the store keeps until the engine applied it. The
store is the only shared state, so a restarted manager, or another replica, carries on:

* ``recover`` answers from the row: an outcome reported meanwhile, or "still running";
* an agent that stays silent past the operation's timeout (no acknowledgement, no
  heartbeat naming the attempt) makes it fail as recoverable, and the engine retries it
  under a new key as its policy says; the agent's late report is noted, never applied;
* an attempt no agent fetched yet waits for as long as the site is away: an offline site
  is a state, not a failure. It holds no capacity of the engine's, so other sites' work
  goes on. Cancelling withdraws it.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Sequence

from cairn.connectors import interface, wire
from cairn.model import executions, sites
from cairn.store.interface import SiteWork

Kind = executions.OutcomeKind
CHECK_INTERVAL = 0.25  # seconds between looks at the store for reports and overdue attempts


class SiteConnector:
    """Thread-safe; ``poll`` waits on reports that the API thread announces with ``wake``.
    ``clock`` gives the times stored and compared with deadlines (injected: tests move it)."""

    def __init__(
        self,
        *,
        store: SiteWork,
        clock: Callable[[], datetime.datetime],
        doorbell: Callable[[str], None] | None = None,
        check_interval: float = CHECK_INTERVAL,
    ) -> None:
        self.store = store
        self.clock = clock
        self.doorbell = doorbell or (lambda site: None)
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._mine: set[str] = set()  # keys this engine waits for
        self._finished: set[str] = set()  # applied, to mark done
        self._ready: list[interface.Report] = []
        self._wake = threading.Event()
        self._last_check: float | None = None

    # -- the connector contract ---------------------------------------------------------

    def submit(self, dispatch: interface.Dispatch) -> None:
        self.submit_all([dispatch])

    def submit_all(self, dispatches: Sequence[interface.Dispatch]) -> None:
        """One transaction stores them all; then each site's doorbell rings once."""
        if not dispatches:
            return
        now = self.clock()
        stored = self.store.queue_site_attempts(
            [
                sites.SiteAttempt(
                    key=dispatch.key,
                    site=dispatch.site,
                    execution_id=dispatch.key.partition(":")[0],
                    task_id=dispatch.task_id,
                    payload=wire.dispatch_to_json(dispatch),
                    created_at=now,
                    timeout=dispatch.timeout,
                )
                for dispatch in dispatches
            ]
        )
        with self._lock:
            self._mine.update(d.key for d in dispatches)
        for attempt in stored:
            if attempt.state is sites.AttemptState.ABANDONED:
                self._give(self._abandoned_report(attempt))
            elif attempt.state is sites.AttemptState.REPORTED:
                self._wake.set()
        for site in dict.fromkeys(d.site for d in dispatches):
            self.doorbell(site)

    def poll(self, *, timeout: float = 0.0) -> list[interface.Report]:
        deadline = time.monotonic() + timeout
        while True:
            if self._check_due():
                self._check()
            with self._lock:
                ready, self._ready = self._ready, []
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return ready
            self._wake.wait(min(remaining, self.check_interval))

    def recover(self, key: str) -> interface.Recovered:
        attempt = self.store.get_site_attempt(key)
        if attempt is None:
            return interface.Recovered()  # not a site's attempt
        with self._lock:
            self._mine.add(key)
        if attempt.state in (sites.AttemptState.REPORTED, sites.AttemptState.DONE):
            assert attempt.outcome is not None
            return interface.Recovered(
                report=interface.Report(key=key, outcome=wire.outcome_from_json(attempt.outcome))
            )
        if attempt.state is sites.AttemptState.ABANDONED:
            return interface.Recovered(report=self._abandoned_report(attempt))
        return interface.Recovered(state=interface.Recovery.RUNNING, site=attempt.site)

    def forget(self, key: str) -> None:
        """The outcome is committed: the row is marked done with the next check, in one
        transaction for all the attempts forgotten meanwhile (a write per attempt less)."""
        with self._lock:
            self._mine.discard(key)
            self._finished.add(key)

    def kill(self, key: str) -> None:
        self._stop(key, kill=True)

    def withdraw(self, key: str) -> bool:
        return self._stop(key, kill=False)

    def close(self) -> None:
        with self._lock:
            finished, self._finished = self._finished, set()
        if finished:
            self.store.finish_site_attempts(finished)
        self._wake.set()

    # -- for the API side ---------------------------------------------------------------

    def wake(self) -> None:
        """Reports were stored: look at once instead of at the next check."""
        self._wake.set()

    def holds(self, key: str) -> bool:
        with self._lock:
            return key in self._mine

    # -- inside -------------------------------------------------------------------------

    def _stop(self, key: str, *, kill: bool) -> bool:
        done = self.store.withdraw_site_attempt(key, kill=kill)
        if done == "withdrawn":
            self._give(
                interface.Report(
                    key=key,
                    outcome=executions.Outcome(
                        kind=Kind.NON_RECOVERABLE,
                        error="withdrawn before the site's agent fetched it",
                    ),
                )
            )
            return True
        if done == "kill_requested":
            attempt = self.store.get_site_attempt(key)
            if attempt is not None:
                self.doorbell(attempt.site)
        return False

    def _give(self, report: interface.Report) -> None:
        with self._lock:
            self._ready.append(report)
        self._wake.set()

    def _check_due(self) -> bool:
        now = time.monotonic()
        if self._wake.is_set() or self._last_check is None:
            self._wake.clear()
            self._last_check = now
            return True
        if now - self._last_check >= self.check_interval:
            self._last_check = now
            return True
        return False

    def _check(self) -> None:
        with self._lock:
            finished, self._finished = self._finished, set()
        if finished:
            self.store.finish_site_attempts(finished)
        with self._lock:
            if not self._mine:
                return
        reports = []
        for attempt in self.store.abandon_overdue_site_attempts(now=self.clock()):
            if self.holds(attempt.key):
                reports.append(self._abandoned_report(attempt))
        for key, reported in self.store.reported_site_attempts().items():
            if self.holds(key) and reported is not None:
                outcome = wire.outcome_from_json(reported)
                reports.append(interface.Report(key=key, outcome=outcome))
        if reports:
            with self._lock:
                known = {r.key for r in self._ready}
                self._ready.extend(r for r in reports if r.key not in known)

    @staticmethod
    def _abandoned_report(attempt: sites.SiteAttempt) -> interface.Report:
        return interface.Report(
            key=attempt.key,
            outcome=executions.Outcome(
                kind=Kind.RECOVERABLE,
                error=(
                    f"the agent of site '{attempt.site}' stayed away past the operation's "
                    f"timeout ({attempt.timeout:g} s) without reporting"
                    if attempt.timeout is not None
                    else f"given up while the agent of site '{attempt.site}' was away"
                ),
            ),
        )
