"""The rollout runner: the thread of a manager that moves every live rollout along, a tick at
a time, from what the database says (see :mod:`cairn.services.rollouts`).

At each tick it follows the members' executions, starts the next members of the current
wave (at most ``concurrency`` at once), opens the next wave once the current one is done and
has soaked, and acts on the failure threshold. A member's execution id is stored (status
``starting``) before its execution is created, with that id: after a crash in between, the
runner finds the id without an execution and creates it then, so a member never gets two
executions. Each rollout is leased to one runner at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from cairn import errors
from cairn.engine import executor
from cairn.model import executions, sites
from cairn.model import rollouts as model
from cairn.services import executions as execution_service
from cairn.services import rollouts, updates
from cairn.services.manager import Manager
from cairn.store import interface

log = logging.getLogger(__name__)

ES = executions.ExecutionStatus
MS = model.MemberStatus
RS = model.Status
TICK = 0.5  # seconds between the runner's looks at the live rollouts
LEASE = datetime.timedelta(seconds=5)
SITES_FRESH = 1.0  # seconds a read of the sites' statuses is used for
Change = interface.MemberChange
_STARTING = frozenset({RS.RUNNING, RS.CONVERGING})  # the statuses in which members start


def _runner_gone(owner: str) -> bool:
    """A runner of a manager process on this machine that no longer exists (killed, then
    restarted): its leases are taken over at once instead of when they run out."""
    return owner.startswith("runner:") and executor.process_gone(owner.removeprefix("runner:"))


class Runner:
    """Moves every live rollout along, a tick at a time, on a thread of the manager."""

    def __init__(self, manager: Manager, *, tick: float = TICK) -> None:
        self.manager = manager
        self.tick = tick
        self.owner = f"runner:{executor.owner_id()}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._sites: dict[str, tuple[float, sites.SiteStatus]] = {}  # by name: when read, status

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="rollouts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.manager.store.release_rollouts(owner=self.owner)
        except errors.CairnError:
            log.warning("could not release the rollouts' leases", exc_info=True)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the runner must outlive a bad tick; the next one retries
                log.exception("rollout runner tick failed")
            self._wake.wait(self.tick)
            self._wake.clear()

    def step(self) -> None:
        """One look at every live rollout."""
        now = self.manager.clock.now()
        claimed = self.manager.store.claim_live_rollouts(
            owner=self.owner, now=now, until=now + LEASE, gone=_runner_gone
        )
        for rollout in claimed:
            if self._stop.is_set():
                return
            try:
                _Tick(self, rollout).run()
            except errors.CairnError:
                log.exception("rollout %s: tick failed", rollout.id)

    def know_sites(self, names: Iterable[str]) -> None:
        """Reads, in one query, the statuses of those of ``names`` not read within
        :data:`SITES_FRESH` seconds: a tick asks about its members' sites only, not about
        every site (10,000 of them every second took 3 to 8% of the manager)."""
        clock = time.monotonic()
        stale = {
            name
            for name in names
            if name not in self._sites or clock - self._sites[name][0] > SITES_FRESH
        }
        if not stale:
            return
        now = self.manager.clock.now()
        window = self.manager.offline_after
        found = self.manager.store.get_sites(stale)
        for name in stale:
            site = found.get(name)
            status = (
                sites.SiteStatus.NEVER_SEEN
                if site is None
                else sites.status(site, now=now, window=window)
            )
            self._sites[name] = (clock, status)

    def site_status(self, name: str) -> sites.SiteStatus:
        """The site's status, read at most :data:`SITES_FRESH` seconds ago."""
        self.know_sites([name])
        return self._sites[name][1]

    def site_online(self, name: str) -> bool:
        return self.site_status(name) in {sites.SiteStatus.ONLINE, sites.SiteStatus.LOCAL}


@dataclasses.dataclass
class _Todo:
    """What a look at the live members found to do."""

    changes: list[Change] = dataclasses.field(default_factory=list)
    restart: list[model.Member] = dataclasses.field(default_factory=list)
    resume: list[model.Member] = dataclasses.field(default_factory=list)
    cancel: list[str] = dataclasses.field(default_factory=list)


class _Tick:
    """One step of one rollout."""

    def __init__(self, runner: Runner, rollout: model.Rollout) -> None:
        self.runner = runner
        self.manager = runner.manager
        self.store = runner.manager.store
        self.rollout = rollout
        self.settings = rollout.settings
        self.now = self.manager.clock.now()

    def run(self) -> None:
        live = self.store.live_rollout_members(self.rollout.id)
        self._follow(live)
        rollout = self.store.get_rollout(self.rollout.id)  # with counts after the changes
        self.rollout = rollout
        if rollout.status in {RS.RUNNING, RS.CONVERGING} and self._threshold_passed(rollout):
            return
        match rollout.status:
            case RS.RUNNING | RS.CONVERGING:
                self._advance(rollout)
            case RS.STOPPING | RS.CANCELLING:
                self._wind_down(rollout)
            case RS.ROLLING_BACK:
                self._roll_back(rollout)
            case _:
                pass

    # following members ---------------------------------------------------------------------

    def _follow(self, live: Sequence[interface.LiveMember]) -> None:
        self.runner.know_sites(found.member.site for found in live)
        todo = _Todo()
        for found in live:
            self._look(found, todo)
        self.store.set_rollout_members(self.rollout.id, todo.changes, now=self.now)
        for execution_id in todo.cancel:
            self._cancel(execution_id, mode="kill")
        if todo.restart:
            self._launch(todo.restart, again=True)
        for m in todo.resume:
            self._resume(m)

    def _look(self, found: interface.LiveMember, todo: _Todo) -> None:
        m, x = found.member, found.execution_status
        accepting = self.rollout.status in {RS.RUNNING, RS.CONVERGING}
        if m.status is MS.STARTING:
            if x is not None:  # created before a crash: what the runner did not record
                todo.changes.append(
                    self._change(m, status=MS.RUNNING, **self._revisions(m.execution_id))
                )
            elif accepting:
                todo.restart.append(m)
            else:
                todo.changes.append(self._change(m, status=MS.PENDING, execution_id=None))
        elif m.status is MS.RUNNING or (m.status is MS.OFFLINE and m.execution_id):
            self._look_running(m, x, found.execution_error, todo)
        elif m.status is MS.RETRYING:
            if x in executions.RESUMABLE:
                todo.resume.append(m)
            elif x is ES.SUCCEEDED:
                todo.changes.append(self._ended(m, x, None))
            elif x is None:
                todo.changes.append(self._change(m, status=MS.PENDING, execution_id=None))
        elif m.status in {MS.OFFLINE, MS.WAITING}:
            # not started: started once the site is back (_bring_back), unless it stopped
            if not accepting:
                todo.changes.append(self._change(m, status=MS.PENDING, error=None))
        elif m.status is MS.ROLLING_BACK:
            rb = found.rollback_status
            if rb is ES.SUCCEEDED:
                todo.changes.append(self._change(m, status=MS.ROLLED_BACK, ended_at=self.now))
            elif rb is None or rb in executions.ENDED:
                error = model.first_line(found.rollback_error) or f"rollback {rb or 'lost'}"
                todo.changes.append(
                    self._change(m, status=MS.ROLLBACK_FAILED, ended_at=self.now, error=error)
                )

    def _look_running(self, m: model.Member, x: ES | None, error: str | None, todo: _Todo) -> None:
        if x is None or x in executions.ENDED:
            todo.changes.append(self._ended(m, x, error))
        elif not self.runner.site_online(m.site):
            offline = self.settings.offline
            if offline is model.Offline.SKIP and m.status is MS.RUNNING:
                todo.changes.append(self._change(m, status=MS.OFFLINE, error=self._away(m)))
            elif offline is model.Offline.FAIL:
                todo.changes.append(
                    self._change(m, status=MS.FAILED, error=self._away(m), ended_at=self.now)
                )
                if x not in executions.CANCELLING and m.execution_id:
                    todo.cancel.append(m.execution_id)
        elif m.status is MS.OFFLINE:
            todo.changes.append(self._change(m, status=MS.RUNNING, error=None))

    def _revisions(self, execution_id: str | None) -> dict[str, Any]:
        """from_revision and to_revision of an update execution, from its stored revision."""
        if self.rollout.workflow_id != executions.UPDATE_WORKFLOW or execution_id is None:
            return {}
        execution = self.store.get_execution(execution_id)
        number = execution.parameters.get("revision")
        if not isinstance(number, int):
            return {}
        summary = self.store.get_revision(execution.deployment_id, number).summary
        return {"from_revision": summary.get("from_revision"), "to_revision": number}

    def _change(self, m: model.Member, **values: Any) -> Change:
        return Change(deployment_id=m.deployment_id, expected=[m.status], values=values)

    def _ended(self, m: model.Member, x: ES | None, error: str | None) -> Change:
        if x is ES.SUCCEEDED:
            return self._change(m, status=MS.SUCCEEDED, ended_at=self.now, error=None)
        if x is ES.CANCELLED and self.rollout.status is RS.CANCELLING:
            return self._change(m, status=MS.CANCELLED, ended_at=self.now)
        line = model.first_line(error) or (
            f"execution {m.execution_id} {x.value if x else 'was not found'}"
        )
        return self._change(m, status=MS.FAILED, ended_at=self.now, error=line)

    def _away(self, m: model.Member) -> str:
        return f"site {m.site} is {self.runner.site_status(m.site).value}"

    def _cancel(self, execution_id: str, *, mode: execution_service.CancelMode) -> None:
        with contextlib.suppress(errors.ConflictError):  # it ended meanwhile
            execution_service.cancel(self.manager, execution_id, mode=mode)

    def _resume(self, m: model.Member) -> None:
        try:
            execution_service.resume(self.manager, m.execution_id or "")
            values: dict[str, Any] = {"status": MS.RUNNING, "attempts": m.attempts + 1}
        except errors.CairnError as exc:
            values = {
                "status": MS.FAILED,
                "error": model.first_line(str(exc)),
                "ended_at": self.now,
            }
        self.store.set_rollout_members(
            self.rollout.id,
            [Change(deployment_id=m.deployment_id, expected=[MS.RETRYING], values=values)],
            now=self.now,
        )

    # the threshold ---------------------------------------------------------------------

    def _threshold_passed(self, rollout: model.Rollout) -> bool:
        total = sum(rollout.counts.values())
        failed = rollout.counts.get(MS.FAILED.value, 0) - rollout.failure_base
        limit = model.failure_limit(self.settings.max_failures, total)
        if failed < limit:
            return False
        reason = f"{failed} member(s) failed, reaching --max-failures {self.settings.max_failures}"
        act = self.settings.on_failure
        if act is model.OnFailure.PAUSE:
            status = RS.PAUSED
        elif act is model.OnFailure.ROLLBACK and rollout.workflow_id in model.INVERSE:
            status = RS.ROLLING_BACK
        else:
            status = RS.STOPPING
        self.store.update_rollout(
            rollout.id,
            expected=[rollout.status],
            version=rollout.version,
            status=status,
            reason=reason,
        )
        log.warning("rollout %s: %s; %s", rollout.id, reason, status.value)
        return True

    # starting members ------------------------------------------------------------------

    def _advance(self, rollout: model.Rollout) -> None:
        busy = sum(rollout.counts.get(s.value, 0) for s in model.MEMBER_BUSY)
        room = self.settings.concurrency - busy
        if room > 0:
            self._bring_back(room)
            busy = sum(
                self.store.get_rollout(rollout.id).counts.get(s.value, 0) for s in model.MEMBER_BUSY
            )
            room = self.settings.concurrency - busy
        if room > 0 and rollout.status is RS.RUNNING:
            candidates = self.store.startable_rollout_members(
                rollout.id, up_to_wave=rollout.wave, limit=room
            )
            self._launch(candidates, again=False)
        self._next_wave(self.store.get_rollout(rollout.id))

    def _bring_back(self, room: int) -> None:
        """Members waiting for their site (offline or waiting, not started) whose site is back."""
        away = [MS.OFFLINE.value, MS.WAITING.value]
        waiting = [
            m
            for m in self.store.list_rollout_members(self.rollout.id, statuses=away)
            if not m.execution_id
        ]
        self.runner.know_sites(m.site for m in waiting)
        back = [m for m in waiting if self.runner.site_online(m.site)][:room]
        if back:
            self._launch(back, again=False)

    def _launch(self, candidates: Sequence[model.Member], *, again: bool) -> None:
        """Starts the members' executions: ids stored first (``starting``), then created."""
        if not candidates:
            return
        busy = self.store.busy_deployments([m.deployment_id for m in candidates if not again])
        self.runner.know_sites(m.site for m in candidates)
        marks: list[Change] = []
        chosen: list[tuple[model.Member, str]] = []
        for m in candidates:
            if m.deployment_id in busy:
                continue  # another execution of it is active: tried again at a later tick
            if not again and not self.runner.site_online(m.site):
                marks.append(self._offline(m))
                continue
            execution_id = m.execution_id if again and m.execution_id else str(uuid.uuid4())
            if not again:
                marks.append(
                    self._change(
                        m,
                        status=MS.STARTING,
                        execution_id=execution_id,
                        attempts=m.attempts + 1,
                        started_at=self.now,
                        ended_at=None,
                        error=None,
                    )
                )
            chosen.append((m, execution_id))
        stored = self.store.set_rollout_members(
            self.rollout.id, marks, now=self.now, while_status=_STARTING
        )
        outcomes: list[Change] = []
        for m, execution_id in chosen:
            if not again and m.deployment_id not in stored:
                continue  # it moved meanwhile
            outcomes.append(self._create(m, execution_id))
        self.store.set_rollout_members(self.rollout.id, outcomes, now=self.now)

    def _offline(self, m: model.Member) -> Change:
        error = self._away(m)
        match self.settings.offline:
            case model.Offline.SKIP:
                return self._change(m, status=MS.OFFLINE, error=error)
            case model.Offline.WAIT:
                return self._change(m, status=MS.WAITING, error=error)
            case _:
                return self._change(m, status=MS.FAILED, error=error, ended_at=self.now)

    def _create(self, m: model.Member, execution_id: str) -> Change:
        rollout = self.rollout
        values: dict[str, Any]
        try:
            if rollout.workflow_id == executions.UPDATE_WORKFLOW:
                planned = updates.preview(
                    self.manager,
                    deployment_id=m.deployment_id,
                    blueprint_id=rollout.parameters.get("blueprint_id"),
                    inputs=rollout.parameters.get("inputs") or {},
                )
                if planned.plan.empty and planned.blueprint_id == self._blueprint_of(m):
                    # already there: nothing to run, no new revision
                    return Change(
                        deployment_id=m.deployment_id,
                        expected=[MS.STARTING],
                        values={
                            "status": MS.SUCCEEDED,
                            "execution_id": None,
                            "from_revision": planned.from_revision,
                            "to_revision": planned.from_revision,
                            "ended_at": self.now,
                        },
                    )
                updates.start(
                    self.manager, planned, user=rollout.created_by, execution_id=execution_id
                )
                values = {
                    "status": MS.RUNNING,
                    "from_revision": planned.from_revision,
                    "to_revision": planned.to_revision,
                }
            else:
                execution_service.start(
                    self.manager,
                    deployment_id=m.deployment_id,
                    workflow_id=rollout.workflow_id,
                    parameters=rollout.parameters,
                    user=rollout.created_by,
                    execution_id=execution_id,
                )
                values = {"status": MS.RUNNING}
        except errors.CairnError as exc:
            if self._exists(execution_id):
                values = {"status": MS.RUNNING}
            else:
                values = {
                    "status": MS.FAILED,
                    "execution_id": None,
                    "error": model.first_line(str(exc)),
                    "ended_at": self.now,
                }
        return Change(deployment_id=m.deployment_id, expected=[MS.STARTING], values=values)

    def _blueprint_of(self, m: model.Member) -> str:
        return self.store.get_deployment(m.deployment_id).blueprint_id

    def _exists(self, execution_id: str) -> bool:
        try:
            self.store.get_execution(execution_id)
            return True
        except errors.NotFoundError:
            return False

    def _next_wave(self, rollout: model.Rollout) -> None:
        if self.store.rollout_wave_holders(rollout.id, rollout.wave):
            return
        if rollout.wave + 1 < rollout.waves:
            if rollout.next_wave_at is None and self.settings.soak > 0:
                soak_end = self.now + datetime.timedelta(seconds=self.settings.soak)
                self.store.update_rollout(
                    rollout.id, version=rollout.version, next_wave_at=soak_end
                )
            elif rollout.next_wave_at is None or self.now >= rollout.next_wave_at:
                self.store.update_rollout(
                    rollout.id, version=rollout.version, wave=rollout.wave + 1, next_wave_at=None
                )
                self.runner.wake()
            return
        left = sum(rollout.counts.get(s.value, 0) for s in model.MEMBER_LIVE)
        if left:
            if rollout.status is RS.RUNNING:
                self.store.update_rollout(rollout.id, version=rollout.version, status=RS.CONVERGING)
            return
        failed = rollout.counts.get(MS.FAILED.value, 0)
        self.store.update_rollout(
            rollout.id,
            version=rollout.version,
            status=RS.FAILED if failed else RS.SUCCEEDED,
            reason=f"{failed} member(s) failed" if failed else None,
            ended_at=self.now,
        )

    # stopping, cancelling, rolling back ---------------------------------------------------

    def _wind_down(self, rollout: model.Rollout) -> None:
        if rollout.status is RS.CANCELLING:
            for found in self.store.live_rollout_members(rollout.id):
                m = found.member
                x = found.execution_status
                if m.execution_id and x in executions.ACTIVE and x not in executions.CANCELLING:
                    self._cancel(m.execution_id, mode="cancel")
            pending = self.store.list_rollout_members(rollout.id, statuses=[MS.PENDING.value])
            self.store.set_rollout_members(
                rollout.id,
                [self._change(m, status=MS.CANCELLED, ended_at=self.now) for m in pending],
                now=self.now,
            )
        rollout = self.store.get_rollout(rollout.id)
        if sum(rollout.counts.get(s.value, 0) for s in model.MEMBER_BUSY):
            return
        final = RS.CANCELLED if rollout.status is RS.CANCELLING else RS.STOPPED
        self.store.update_rollout(
            rollout.id, expected=[rollout.status], status=final, ended_at=self.now
        )

    def _roll_back(self, rollout: model.Rollout) -> None:
        running = {MS.STARTING, MS.RUNNING, MS.RETRYING}
        if any(rollout.counts.get(s.value, 0) for s in running):
            return  # members still changing: undone once they have ended
        busy = rollout.counts.get(MS.ROLLING_BACK.value, 0)
        room = self.settings.concurrency - busy
        if room > 0:
            todo = [
                m
                for m in self.store.list_rollout_members(
                    rollout.id, statuses=[MS.SUCCEEDED.value, MS.FAILED.value]
                )
                if rollouts.undoable(m)
            ][:room]
            for m in todo:
                rollouts.start_rollback(self.manager, rollout, m, user=rollout.created_by)
            if todo:
                return
        if busy:
            return
        self.store.update_rollout(
            rollout.id, expected=[RS.ROLLING_BACK], status=RS.ROLLED_BACK, ended_at=self.now
        )
