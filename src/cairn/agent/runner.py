"""A site's agent: fetches the site's operation attempts, runs them here, reports back.

Three threads, each with its own loop and backoff, so a long-poll never delays a report:

* the **poller** long-polls the manager (the poll is the heartbeat and names the attempts
  still running, which keeps their leases), journals every attempt it receives *before*
  starting it, starts it, and acknowledges it with the next poll, which follows at once;
  an attempt delivered again is answered from the journal: still running, nothing to do;
  finished, its report is sent again;
* the **runner** collects what the local connector reports (log lines, outcomes) into the
  journal;
* the **sender** delivers what the journal holds to the manager, oldest first, and marks
  it delivered only once the manager answered.

Operations run through :class:`~cairn.connectors.local.LocalConnector`, whose own journal
keeps a running script's process findable: an agent killed with -9 and started again
adopts its scripts still running, and reads the outcome of those that ended meanwhile.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cairn
from cairn import errors
from cairn.agent import client as client_mod
from cairn.agent import journal as journal_mod
from cairn.connectors import interface, local, wire
from cairn.model import executions
from cairn.plugins import registry
from cairn.services import archives

log = logging.getLogger("cairn.agent")


class Agent:
    def __init__(
        self,
        *,
        client: client_mod.ManagerClient,
        data_dir: Path,
        poll_wait: float = 20.0,
        backoff_cap: float = 30.0,
        capacity: int = 32,
    ) -> None:
        self.client = client
        self.data_dir = data_dir
        self.poll_wait = poll_wait
        self.backoff_cap = backoff_cap
        self.journal = journal_mod.Journal(data_dir)
        self.connector = local.LocalConnector(
            data_dir=data_dir / "runner", capacity=interface.Capacity(max_running=capacity)
        )
        self.blueprints_dir = data_dir / "blueprints"
        self.online = threading.Event()
        self._stop = threading.Event()
        self._news = threading.Event()  # something for the sender
        self._lock = threading.Lock()
        self._waiting: dict[str, Mapping[str, Any]] = {}  # received, files not fetched yet
        self._unacknowledged: list[str] = []  # journaled, acknowledged by the next poll
        self._threads: list[threading.Thread] = []

    # -- lifetime -----------------------------------------------------------------------

    def start(self) -> None:
        self._resume()
        for name, target in (
            ("poller", self._poll_loop),
            ("runner", self._run_loop),
            ("sender", self._send_loop),
        ):
            thread = threading.Thread(target=target, name=f"cairn-agent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._news.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        self.connector.close()
        self.client.close()
        self.journal.close()

    def wait(self) -> None:
        while not self._stop.wait(1.0):
            pass

    def _resume(self) -> None:
        """After a restart: attempts journaled but unfinished are handed to the connector
        again, which adopts a script still running, reads the outcome of one that ended, or
        starts one that never did."""
        for entry in self.journal.in_states([journal_mod.RECEIVED, journal_mod.RUNNING]):
            log.info("resuming attempt %s (%s)", entry.key, entry.state)
            self._start(entry.payload)

    # -- poller -------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        backoff = client_mod.Backoff(cap=self.backoff_cap)
        while not self._stop.is_set():
            running = [
                e.key for e in self.journal.in_states([journal_mod.RECEIVED, journal_mod.RUNNING])
            ]
            try:
                attempts, kill = self.client.poll(
                    version=cairn.__version__,
                    running=running,
                    wait=self.poll_wait,
                    acknowledge=self._unacknowledged,
                )
            except client_mod.Unreachable as exc:
                self._offline(exc, backoff)  # the acknowledgements go with the next poll
                continue
            except client_mod.Refused as exc:
                # not kept: a refused acknowledgement would refuse every poll after it; the
                # manager sends those attempts again and the journal answers for them
                self._unacknowledged = []
                self._offline(exc, backoff)
                continue
            self._unacknowledged = []
            if not self.online.is_set():
                log.info("connected to the manager")
            self.online.set()
            backoff.reset()
            self._retry_waiting()
            self._receive(attempts)
            for key in kill:
                log.info("killing attempt %s at the manager's request", key)
                self.connector.kill(key)

    def _offline(self, exc: Exception, backoff: client_mod.Backoff) -> None:
        if self.online.is_set() or backoff.failures == 0:
            level = logging.ERROR if isinstance(exc, client_mod.Refused) else logging.WARNING
            log.log(level, "manager unreachable or refusing: %s", exc)
        self.online.clear()
        self._stop.wait(backoff.next())

    def _receive(self, attempts: list[Mapping[str, Any]]) -> None:
        keys = []
        for payload in attempts:
            try:
                entry, new = self.journal.receive(payload)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("ignoring a malformed attempt: %r", exc)
                continue
            keys.append(entry.key)
            if new:
                self._start(entry.payload)
            elif entry.state == journal_mod.REPORTED:
                log.info("attempt %s delivered again: answering from the journal", entry.key)
                self.journal.report_again(entry.key)
                self._news.set()
            else:
                log.info("attempt %s delivered again: already %s", entry.key, entry.state)
        # acknowledged by the next poll, which follows at once (no request of their own)
        self._unacknowledged.extend(k for k in keys if k not in self._unacknowledged)

    def _start(self, payload: Mapping[str, Any]) -> None:
        try:
            dispatch = self._localize(wire.dispatch_from_json(payload))
        except client_mod.Unreachable as exc:
            # the blueprint's files could not be fetched: stays "received", tried again
            log.warning("attempt %s waits for the blueprint's files: %s", payload.get("key"), exc)
            with self._lock:
                self._waiting[str(payload.get("key"))] = payload
            return
        except (errors.CairnError, client_mod.Refused) as exc:
            # answered as a recoverable failure: the manager retries it per its policy
            self.journal.finish(
                interface.Report(
                    key=str(payload.get("key")),
                    outcome=executions.Outcome(
                        kind=executions.OutcomeKind.RECOVERABLE,
                        error=f"the agent could not prepare the attempt: {exc}",
                    ),
                )
            )
            self._news.set()
            return
        with self._lock:
            self._waiting.pop(dispatch.key, None)
        self.journal.started(dispatch.key)
        self.connector.submit(dispatch)

    def _retry_waiting(self) -> None:
        with self._lock:
            waiting = list(self._waiting.values())
        for payload in waiting:
            self._start(payload)

    def _localize(self, dispatch: interface.Dispatch) -> interface.Dispatch:
        """Scripts need the blueprint's files: fetched once per blueprint, kept here."""
        if registry.kind_of(dispatch.plugin) is not registry.PluginKind.SCRIPT:
            return dispatch
        context = dict(dispatch.context)
        blueprint = dict(context.get("blueprint") or {})
        blueprint_id = str(blueprint.get("id") or "")
        if not blueprint_id:
            return dispatch
        folder = self.blueprints_dir / blueprint_id
        if not folder.is_dir():
            data = self.client.blueprint(blueprint_id)
            partial = self.blueprints_dir / f".{blueprint_id}.partial"
            if partial.exists():
                shutil.rmtree(partial)
            archives.unpack(data, partial)
            partial.rename(folder)
        blueprint["resources"] = str(folder)
        context["blueprint"] = blueprint
        return _replace(dispatch, context=context)

    # -- runner -------------------------------------------------------------------------

    def _run_loop(self) -> None:
        while not self._stop.is_set():
            try:
                reports = self.connector.poll(timeout=0.5)
            except Exception:  # never let the runner die; the journal stays consistent
                log.exception("collecting reports failed")
                self._stop.wait(1.0)
                continue
            for report in reports:
                self.journal.finish(report)
                if report.outcome is not None:
                    self.connector.forget(report.key)
                self._news.set()

    # -- sender -------------------------------------------------------------------------

    def _send_loop(self) -> None:
        backoff = client_mod.Backoff(cap=self.backoff_cap)
        while not self._stop.is_set():
            pending = self.journal.pending()
            if not pending.reports:
                self._news.wait(1.0)
                self._news.clear()
                continue
            try:
                verdicts = self.client.report(pending.reports)
            except (client_mod.Unreachable, client_mod.Refused) as exc:
                log.warning("reports kept for later (%s)", exc)
                self._stop.wait(backoff.next())
                continue
            backoff.reset()
            self.journal.sent(pending, verdicts)
            for key, verdict in verdicts.items():
                if verdict != "accepted":
                    log.warning("the manager took the report of %s as %s", key, verdict)


def _replace(dispatch: interface.Dispatch, **changes: Any) -> interface.Dispatch:
    return dataclasses.replace(dispatch, **changes)
