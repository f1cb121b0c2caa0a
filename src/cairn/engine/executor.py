"""The durable executor: drives stored task graphs to their end.

Level-based, like a controller: every step rereads what it needs from the store and moves
things one committed write at a time. Nothing in memory decides anything a restart could
not decide again from the rows:

* PENDING executions start; CANCELLING ones stop starting tasks and end when nothing runs;
* runnable tasks are claimed under a lease (the claim is committed before anything runs);
  set-state and no-op tasks end in the claim's own transaction (which then claims what they
  released), operations go to the connector;
* reports come back: log lines become events, outcomes become the task's next state through
  :func:`cairn.model.executions.after_outcome` (retry later, fail, succeed) in one write
  with the instance changes they carry;
* a task that fails for good stops the execution from starting more; the execution ends
  ``failed`` once nothing of it runs;
* attempts whose lease ran out (a manager that died) are asked of the connector's journal:
  a recorded outcome is applied, a live attempt is adopted, a lost one runs again.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cairn import errors
from cairn.connectors import interface
from cairn.engine import clock as clocks
from cairn.engine import dispatching, drift_records, events, outcomes
from cairn.model import executions, runtime
from cairn.model.sites import LOCAL
from cairn.store.interface import ExecutionEnd, InstanceUpdate, Store

log = logging.getLogger(__name__)
ES = executions.ExecutionStatus
TS = executions.TaskState
END_BATCH = 25  # executions ended per transaction


@dataclass
class _Running:
    task: executions.Task
    execution: executions.Execution
    prepared: dispatching.Prepared
    cancelled: bool = False
    remote: bool = False  # with a site's agent: holds none of this engine's capacity


@dataclass
class Settings:
    capacity: int = 32  # operation attempts running at once
    lease_seconds: float = 30.0
    idle_wait: float = 0.5  # longest sleep when nothing happens
    poll_wait: float = 0.05  # longest wait for an attempt to end before looking for new work
    scan_interval: float = 0.25  # longest time before noticing executions started elsewhere
    defaults: executions.RetryPolicy = field(default_factory=executions.RetryPolicy)


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        connector: interface.Connector,
        dispatcher: dispatching.Dispatcher,
        clock: clocks.Clock | None = None,
        settings: Settings | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.dispatcher = dispatcher
        self.clock = clock or clocks.SystemClock()
        self.settings = settings or Settings()
        self.owner = owner or owner_id()
        self.events = events.Recorder(store, self.clock)
        self._running: dict[str, _Running] = {}  # by idempotency key
        self._dirty: set[str] = set()  # executions to check for their end
        # executions this step claimed tasks of: had work left, so their end is looked for
        # at a step that claims none (reading all task states each step cost a tenth)
        self._claimed: set[str] = set()
        self._checked_drift: set[str] = set()  # executions that recorded drift (for events)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_renewal = self.clock.now()
        self._recovered = False
        # New and cancelled executions are looked for when someone signals them (wake) and,
        # for writers in other processes, at least every ``scan_interval``: not every step,
        # where those two queries were a fifth of the engine's time during an install.
        self._signalled = threading.Event()
        self._last_scan: datetime.datetime | None = None

    # -- lifetime -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="cairn-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._signalled.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.step()
            except Exception:  # a step must never kill the engine; the rows stay consistent
                log.exception("engine step failed")
                busy = False
            # With attempts running, the step already waited in the connector's poll, which
            # returns the moment one ends; sleeping here too would delay every next step.
            if not busy and not self._running:
                self.clock.wait(self._wake, self._idle_wait())
                self._wake.clear()

    def _idle_wait(self) -> float:
        return 0.05 if self._running else self.settings.idle_wait

    # -- one step -----------------------------------------------------------------------

    def step(self) -> bool:
        """One pass over everything; True when something moved."""
        if not self._recovered:
            self._recover(self.store.running_tasks())
            self._dirty.update(e.id for e in self.store.list_executions(statuses=executions.ACTIVE))
            self._recovered = True
        busy = False
        if self._scan_due():
            busy = self._start_pending()
            busy = self._cancellations() or busy
        busy = self._claim() or busy
        busy = self._collect(timeout=0.0 if busy else self.settings.poll_wait) or busy
        busy = self._finish_executions() or busy
        self._leases()
        self.events.flush()
        return busy

    def _scan_due(self) -> bool:
        now = self.clock.now()
        recent = (
            self._last_scan is not None
            and (now - self._last_scan).total_seconds() < self.settings.scan_interval
        )
        if recent and not self._signalled.is_set():
            return False
        self._signalled.clear()
        self._last_scan = now
        return True

    def _start_pending(self) -> bool:
        started = self.store.start_pending_executions(now=self.clock.now())
        for execution in started:
            self.events.execution(
                execution,
                "workflow_started",
                f"Starting '{execution.workflow_id}' workflow execution",
            )
            self._dirty.add(execution.id)
        return bool(started)

    def _cancellations(self) -> bool:
        moved = False
        for execution in self.store.list_executions(statuses=executions.CANCELLING):
            if self.store.cancel_pending_tasks(execution.id):
                moved = True
            for key, running in list(self._running.items()):
                if running.execution.id != execution.id or running.cancelled:
                    continue
                running.cancelled = True
                if self.connector.withdraw(key):
                    pass  # never started: its report (cancelled) follows
                elif execution.status is ES.KILL_CANCELLING:
                    self.connector.kill(key)
                elif execution.status is ES.FORCE_CANCELLING:
                    self._abandon(key, running)
                moved = True
            self._dirty.add(execution.id)
        return moved

    def _abandon(self, key: str, running: _Running) -> None:
        """Force-cancel: stop waiting for a running attempt; a late report is ignored."""
        self._running.pop(key, None)
        self.store.complete_task(
            running.task.id,
            attempt=running.task.attempt,
            state=TS.CANCELLED,
            now=self.clock.now(),
            error="abandoned by a forced cancel",
        )
        self.events.task(
            running.task, running.execution, "task_cancelled", "Abandoned by a forced cancel"
        )

    def _claim(self) -> bool:
        self._claimed = set()
        local = sum(1 for running in self._running.values() if not running.remote)
        free = self.settings.capacity - local
        if free <= 0:
            return False
        claimed = self.store.claim_tasks(
            owner=self.owner,
            now=self.clock.now(),
            lease_seconds=self.settings.lease_seconds,
            limit=free,
            end_at_once=_end_at_once,
        )
        self._claimed = {task.execution_id for task in claimed}
        # their executions too, in one read
        to_run = {task.execution_id for task in claimed if task.state is not TS.SUCCEEDED}
        executions_by_id = self.store.get_executions(to_run) if to_run else {}
        # the instances of the claimed operations in one read, not one transaction each;
        # those a task that ends here writes are forgotten (read again when needed)
        wanted = _instance_ids(claimed)
        instances: Mapping[str, runtime.NodeInstance] = (
            self.store.get_instances(wanted) if wanted else {}
        )
        hosts = {i.host_id for i in instances.values() if i.host_id and i.host_id not in instances}
        if hosts:  # for their host_ip in the operations' context: a second read, not one each
            instances = {**instances, **self.store.get_instances(hosts)}
        dispatches: list[interface.Dispatch] = []
        try:
            for task in claimed:
                if task.state is TS.SUCCEEDED:  # ended by the claim itself
                    self._dirty.add(task.execution_id)
                    continue
                execution = executions_by_id.get(task.execution_id)
                if execution is None:
                    execution = self.store.get_execution(task.execution_id)
                    executions_by_id[task.execution_id] = execution
                dispatch = self._run(task, execution, instances)
                if isinstance(dispatch, interface.Dispatch):
                    dispatches.append(dispatch)
                else:  # it ended here, and wrote these
                    instances = {k: v for k, v in instances.items() if k not in dispatch}
        finally:
            # the attempts go together (a site connector stores them in one transaction),
            # and those prepared go even if a later task's preparation failed
            self.connector.submit_all(dispatches)
        return bool(claimed)

    def _run(
        self,
        task: executions.Task,
        execution: executions.Execution,
        instances: Mapping[str, runtime.NodeInstance],
    ) -> interface.Dispatch | frozenset[str]:
        """Prepares a claimed task: the dispatch to submit; or, when it ended here (written
        to the store), the ids among ``instances`` of those it may have written, stale now."""
        spec = task.spec
        if spec.kind is not executions.TaskKind.OPERATION:
            updates = []
            if spec.kind is executions.TaskKind.SET_STATE and spec.node_instance_id and spec.state:
                updates.append(InstanceUpdate(instance_id=spec.node_instance_id, state=spec.state))
            if spec.kind is executions.TaskKind.CHANGE_INSTANCES:
                updates = self._change_instances(spec)
            state, error = TS.SUCCEEDED, None
            if spec.kind is executions.TaskKind.APPLY_REVISION:
                error = self._apply_revision(spec, execution)
                state = TS.FAILED if error else TS.SUCCEEDED
            self.store.complete_task(
                task.id,
                attempt=task.attempt,
                state=state,
                now=self.clock.now(),
                error=error,
                instance_updates=updates,
            )
            self._dirty.add(execution.id)
            if spec.kind is executions.TaskKind.SET_STATE:
                return frozenset(u.instance_id for u in updates)
            # a revision applied, a scale-in: any instance of the deployment may have changed
            return frozenset(
                k for k, v in instances.items() if v.deployment_id == execution.deployment_id
            )
        prepared = self.dispatcher.prepare(task, execution, instances=instances)
        running = _Running(task=task, execution=execution, prepared=prepared)
        if prepared.dispatch is None:
            assert prepared.outcome is not None
            ending = self._ending(running, prepared.outcome)
            self._end([(running, ending)])
            return frozenset(u.instance_id for u in ending.completion.instance_updates)
        running.remote = prepared.dispatch.site != LOCAL
        self._running[task.idempotency_key] = running
        self.events.task(
            task, execution, "task_started", f"Starting '{spec.operation}' (attempt {task.attempt})"
        )
        return prepared.dispatch

    def _change_instances(self, spec: executions.TaskSpec) -> list[InstanceUpdate]:
        """Scale-in's last step. Removing is idempotent, so a rerun after a crash is harmless;
        the relationship rewrites commit with the task."""
        removed = [str(i) for i in spec.inputs.get("remove", [])]
        present = [i for i in removed if _exists(self.store, i)]
        if present:
            self.store.remove_instances(present)
        relationships = spec.inputs.get("relationships", {})
        return [
            InstanceUpdate(instance_id=instance_id, relationships=list(rels))
            for instance_id, rels in relationships.items()
            if instance_id not in removed
        ]

    def _apply_revision(
        self, spec: executions.TaskSpec, execution: executions.Execution
    ) -> str | None:
        """An update's last step, in one transaction of its own; it changes nothing when the
        deployment is at the revision already, so a rerun after a crash is harmless. The
        error, if the store refuses it (the task then fails; resume tries again)."""
        relationships = spec.inputs.get("relationships", {})
        try:
            self.store.apply_revision(
                execution.deployment_id,
                int(spec.inputs["revision"]),
                remove=[str(i) for i in spec.inputs.get("remove", [])],
                relationships={str(k): list(v) for k, v in relationships.items()},
            )
        except errors.CairnError as exc:
            return f"cannot move the deployment to revision {spec.inputs.get('revision')}: {exc}"
        finally:
            self.dispatcher.forget(execution.deployment_id)
        return None

    def _collect(self, *, timeout: float) -> bool:
        # polled even with nothing running here: attempts abandoned by a forced cancel still
        # report, and their late results are recorded
        reports = self.connector.poll(timeout=timeout if self._running else 0.0)
        # the attempts this poll brought back end with one commit, not one each (also when
        # one of them raises on the way: those before it are not left to their leases)
        endings: list[tuple[_Running, outcomes.Ending]] = []
        try:
            for report in reports:
                running = self._running.get(report.key)
                if running is None:
                    self._late(report)
                    continue
                self.events.logs(running.task, running.execution, report.logs)
                if report.outcome is None:
                    continue
                del self._running[report.key]
                endings.append((running, self._ending(running, report.outcome)))
        finally:
            self._end(endings)
        return bool(reports)

    def _late(self, report: interface.Report) -> None:
        """A report for an attempt no longer waited for (a forced cancel): kept as an event of
        its execution, never applied."""
        if report.outcome is None:
            return
        try:
            execution = self.store.get_execution(report.key.partition(":")[0])
        except errors.NotFoundError:
            return  # its deployment was deleted meanwhile
        self.events.execution(
            execution,
            "task_late",
            f"Late result of attempt {report.key} ignored: {report.outcome.kind}",
            "warning",
        )

    def _ending(self, running: _Running, outcome: executions.Outcome) -> outcomes.Ending:
        ending = outcomes.ending(
            running.task,
            outcome,
            prepared=running.prepared,
            cancelled=running.cancelled,
            now=self.clock.now(),
        )
        if ending.checked_drift:
            self._checked_drift.add(running.execution.id)
        return ending

    def _apply(self, running: _Running, outcome: executions.Outcome) -> None:
        self._end([(running, self._ending(running, outcome))])

    def _end(self, endings: Sequence[tuple[_Running, outcomes.Ending]]) -> None:
        """Commits the attempts' ends in one transaction, then acts on them. If the store
        refuses the batch (one completion it cannot apply, a deadlock on PostgreSQL), they
        are committed one by one instead, as each would have been on its own."""
        if not endings:
            return
        completions = [ending.completion for _, ending in endings]
        try:
            applied = self.store.complete_tasks(completions, now=self.clock.now())
        except errors.CairnError:
            if len(endings) == 1:
                raise
            for running, ending in endings:
                [one] = self.store.complete_tasks([ending.completion], now=self.clock.now())
                self._ended(running, ending, applied=one)
            return
        for (running, ending), one in zip(endings, applied, strict=True):
            self._ended(running, ending, applied=one)

    def _ended(self, running: _Running, ending: outcomes.Ending, *, applied: bool) -> None:
        task, execution, step = running.task, running.execution, ending.step
        # committed (or already moved on): the journal entry of this attempt is not needed
        self.connector.forget(task.idempotency_key)
        if not applied:
            self.events.task(
                task,
                execution,
                "task_late",
                f"Ignored a late result of attempt {task.attempt}: the task moved on",
            )
            return
        if ending.ignored:
            self.events.task(
                task,
                execution,
                "task_failure_ignored",
                f"'{task.spec.operation}' failed, ignored: {step.error}",
                "warning",
            )
        else:
            self.events.outcome(task, execution, step, ending.outcome)
        if step.state is TS.FAILED and not task.spec.records_status:
            # no new task of this execution starts; it ends failed once nothing runs
            self.store.cancel_pending_tasks(execution.id)
        self._dirty.add(execution.id)

    def _finish_executions(self) -> bool:
        if not self._dirty:
            return False
        # one pass over what runs, not one per execution: a thousand executions at once
        # (a rollout) made this step quadratic
        busy = {r.execution.id for r in self._running.values()}
        ready = [e for e in self._dirty if e not in busy and e not in self._claimed]
        if not ready:
            return False
        # all of them in one read, not two reads each: a sweep or a rollout ends hundreds
        found = self.store.executions_with_task_states(ready)
        self._dirty.difference_update(ready)
        ending: list[tuple[executions.Execution, ExecutionEnd]] = []
        for execution_id in ready:
            if execution_id not in found:
                continue  # deleted meanwhile (with its deployment)
            execution, states = found[execution_id]
            if execution.status not in (ES.STARTED, *executions.CANCELLING):
                continue
            result = executions.execution_result(states, execution.status)
            if result is None:
                continue
            error = self._first_error(execution_id) if result is ES.FAILED else None
            if result is not ES.SUCCEEDED:
                # before the execution ends: whoever sees it ended sees its revision failed
                self._revision_failed(execution)
            end = ExecutionEnd(
                execution_id=execution_id, expected=[execution.status], status=result, error=error
            )
            ending.append((execution, end))
        try:
            applied = self._end_executions([end for _, end in ending])
        except Exception:
            # looked at again next step, not forgotten with a failed write
            self._dirty.update(end.execution_id for _, end in ending)
            raise
        for (execution, end), done in zip(ending, applied, strict=True):
            if not done:
                continue
            if execution.id in self._checked_drift or execution.workflow_id == "check_drift":
                self._checked_drift.discard(execution.id)
                drift_records.report(self.store, self.events, execution)
            self.events.finished(execution, end.status, end.error)
            self.dispatcher.forget(execution.deployment_id)
            # the store may have promoted a queued execution of the deployment: look for it
            # at the next step rather than after ``scan_interval`` of the clock's time
            self._signalled.set()
        return any(applied)

    def _end_executions(self, ends: Sequence[ExecutionEnd]) -> list[bool]:
        """The ends, ``END_BATCH`` per transaction (fewer commits, while the agents' writes,
        which wait for the one writer, wait for no long transaction); one by one if the
        store refuses a batch (as each would have been on its own)."""
        applied: list[bool] = []
        for begin in range(0, len(ends), END_BATCH):
            batch = ends[begin : begin + END_BATCH]
            now = self.clock.now()
            try:
                applied += self.store.end_executions(batch, now=now)
            except errors.CairnError:
                if len(batch) <= 1:
                    raise
                applied += [self.store.end_executions([end], now=now)[0] for end in batch]
        return applied

    def _revision_failed(self, execution: executions.Execution) -> None:
        """A failed or cancelled update leaves its revision ``failed`` until a resume
        applies it."""
        if execution.workflow_id != executions.UPDATE_WORKFLOW:
            return
        for revision in self.store.list_revisions(execution.deployment_id):
            if revision.execution_id == execution.id and revision.status == "pending":
                self.store.set_revision_status(
                    execution.deployment_id, revision.revision, status="failed"
                )

    def _first_error(self, execution_id: str) -> str | None:
        for task in self.store.list_tasks(execution_id):
            if task.state is TS.FAILED:
                return f"{task.spec.operation or task.key} on {task.spec.node_instance_id}: {task.error}"
        return None

    # -- leases and recovery ------------------------------------------------------------

    def _leases(self) -> None:
        now = self.clock.now()
        period = self.settings.lease_seconds / 3
        if (now - self._last_renewal).total_seconds() < period:
            return
        self._last_renewal = now
        if self._running:
            until = now + _seconds(self.settings.lease_seconds)
            ids = [r.task.id for r in self._running.values()]
            self.store.renew_leases(owner=self.owner, task_ids=ids, until=until)
        self._recover(self.store.expired_leases(now=now))

    def _recover(self, tasks: Iterable[executions.Task]) -> None:
        """Attempts started by someone gone (an earlier manager): journal, adopt, or rerun."""
        for task in tasks:
            if task.idempotency_key in self._running or not _owner_gone(
                task, self.owner, self.clock
            ):
                continue
            execution = self.store.get_execution(task.execution_id)
            self._dirty.add(execution.id)
            if task.spec.kind is not executions.TaskKind.OPERATION:
                self.store.complete_task(
                    task.id, attempt=task.attempt, state=TS.PENDING, now=self.clock.now()
                )
                continue
            found = self.connector.recover(task.idempotency_key)
            prepared = dispatching.Prepared(policy=self.dispatcher.policy(task, execution))
            running = _Running(task=task, execution=execution, prepared=prepared)
            if found.report is not None and found.report.outcome is not None:
                self.events.logs(task, execution, found.report.logs)
                self._apply(running, found.report.outcome)
            elif found.state is interface.Recovery.RUNNING:
                # the lease moves to this engine, so its renewals keep it and no other
                # manager adopts the attempt too
                if not self.store.adopt_task(
                    task.id,
                    attempt=task.attempt,
                    previous_owner=task.lease_owner,
                    owner=self.owner,
                    until=self.clock.now() + _seconds(self.settings.lease_seconds),
                ):
                    continue  # adopted by another manager first, or ended meanwhile
                running.remote = found.site not in (None, LOCAL)
                self._running[task.idempotency_key] = running
                self.events.task(
                    task,
                    execution,
                    "task_adopted",
                    "Still running after a manager restart; waiting for it",
                )
            else:
                self.store.complete_task(
                    task.id, attempt=task.attempt, state=TS.PENDING, now=self.clock.now()
                )
                self.events.task(
                    task,
                    execution,
                    "task_rescheduled",
                    f"Attempt {task.attempt} was lost with its manager; running it again",
                )


def _end_at_once(task: executions.Task) -> list[InstanceUpdate] | None:
    """What a set-state or join task does, done in the transaction that claims it (one
    commit for the state changes between two operations, instead of a claim and a
    completion each); None for the tasks that run (operations, scale-in's last step)."""
    spec = task.spec
    if spec.kind is executions.TaskKind.SET_STATE:
        if spec.node_instance_id and spec.state:
            return [InstanceUpdate(instance_id=spec.node_instance_id, state=spec.state)]
        return []
    if spec.kind is executions.TaskKind.NOOP:
        return []
    return None


def _instance_ids(claimed: Iterable[executions.Task]) -> set[str]:
    """The instances that the claimed operations to run are prepared from."""
    found: set[str] = set()
    for task in claimed:
        spec = task.spec
        if task.state is TS.SUCCEEDED or spec.kind is not executions.TaskKind.OPERATION:
            continue
        found.update(i for i in (spec.node_instance_id, spec.target_instance_id) if i)
    return found


def _exists(store: Store, instance_id: str) -> bool:
    try:
        store.get_instance(instance_id)
    except errors.NotFoundError:
        return False
    return True


def _seconds(value: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=value)


def _owner_gone(task: executions.Task, me: str, clock: clocks.Clock) -> bool:
    """A running task belongs to someone gone when its lease ran out, or its owner was a
    process on this machine that no longer exists (a manager restarted here)."""
    if task.lease_owner == me:
        return False
    if task.lease_expires_at is not None and task.lease_expires_at <= clock.now():
        return True
    return process_gone(task.lease_owner or "")


def process_gone(owner: str) -> bool:
    """Whether ``owner`` (an :func:`owner_id`) was a process on this machine that no longer
    exists; False when it is another machine's, or not such an id."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not _alive(int(pid_text))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
