"""Drift use cases: a deployment's drift policy, what the last checks found, and the
scheduler that runs checks (and corrections) on the manager.

A policy is ``off`` (no scheduled checks), ``detect`` (check_drift, then check_status, every
``interval``) or ``correct`` (the same, then, once both ended: the ``update`` workflow when an
instance drifted, ``heal`` when a status check failed). The schedule lives in the database
(``deployments.drift_next_at``); each due check is claimed with a compare-and-set on it, so a
check runs once however many schedulers look. A correction waits for its checks durably too:
the policy remembers the check it waits for (``awaiting``) until a scheduler swaps it out.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from cairn import errors
from cairn.model import drift, executions, runtime
from cairn.services import executions as execution_service
from cairn.services import ids, updates
from cairn.services.manager import Manager
from cairn.store.interface import DriftClaim

log = logging.getLogger(__name__)
SCHEDULER = "drift-scheduler"  # created_by of the executions the scheduler starts
BUSY_RETRY = 30.0  # seconds before a check skipped for a busy deployment is tried again
AWAITING = "awaiting"
STATUS_WORKFLOW = "check_status"


def policy_from(mode: str | None, interval: str | float | None) -> drift.Policy:
    """A policy from user input; a :class:`~cairn.services.ids.FieldError` naming the field."""
    parsed_mode = drift.parse_mode(mode or drift.Mode.OFF.value)
    if not isinstance(parsed_mode, drift.Mode):
        raise ids.FieldError(parsed_mode, field="mode")
    seconds: float | str = drift.DEFAULT_INTERVAL
    if interval is not None and interval != "":
        seconds = drift.parse_interval(interval)
    if isinstance(seconds, str):
        raise ids.FieldError(seconds, field="interval")
    return drift.Policy(mode=parsed_mode, interval=seconds)


def set_policy(manager: Manager, deployment_id: str, policy: drift.Policy) -> runtime.Deployment:
    """Stores ``policy``; the first scheduled check is one interval from now."""
    manager.store.get_deployment(deployment_id)
    return manager.store.set_drift_policy(
        deployment_id,
        policy=None if policy.mode is drift.Mode.OFF else policy.to_json(),
        next_at=drift.next_check(policy, manager.clock.now()),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeploymentDrift:
    deployment: runtime.Deployment
    summary: drift.Summary

    @property
    def policy(self) -> drift.Policy:
        return drift.policy_of(self.deployment.drift_policy)


def summaries(
    manager: Manager, deployment_ids: Sequence[str] | None = None
) -> list[DeploymentDrift]:
    """Every deployment's drift (or those named), in one read of the instances."""
    deployments = manager.store.list_deployments()
    if deployment_ids is not None:
        wanted = set(deployment_ids)
        deployments = [d for d in deployments if d.id in wanted]
    props = manager.store.instance_system_properties(
        None if deployment_ids is None else list(deployment_ids)
    )
    return [
        DeploymentDrift(deployment=d, summary=drift.summarize(d.id, props.get(d.id, [])))
        for d in deployments
    ]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Checks:
    """What ``check_now`` did: per deployment, the check_drift execution started (or
    queued behind the deployment's running one), or why none was."""

    started: list[executions.Execution]
    refused: list[tuple[str, str]]  # (deployment id, reason)


def check_now(
    manager: Manager,
    *,
    deployment_ids: Sequence[str] = (),
    group_id: str | None = None,
    every: bool = False,
    user: str = "admin",
) -> Checks:
    """A check_drift sweep now, over the deployments named, a group's members, or ``every``
    deployment: all the executions stored in one transaction. A busy deployment's check is
    queued behind its running execution. UsageError when nothing is chosen; NotFoundError
    for an unknown group (nothing started then). An unknown deployment is refused alone."""
    chosen = list(dict.fromkeys(deployment_ids))
    if group_id is not None:
        manager.store.get_group(group_id)  # NotFoundError for an unknown one
        chosen += [d for d in manager.store.group_member_ids(group_id) if d not in chosen]
    if every:
        named = set(chosen)
        chosen += [d.id for d in manager.store.list_deployments() if d.id not in named]
    if not chosen:
        raise errors.UsageError("name deployments, a group or all of them to check")
    answers = execution_service.start_many(
        manager, deployment_ids=chosen, workflow_id=drift.WORKFLOW, queue=True, user=user
    )
    started = [a for a in answers if isinstance(a, executions.Execution)]
    refused = [
        (d, str(a)) for d, a in zip(chosen, answers, strict=True) if isinstance(a, Exception)
    ]
    return Checks(started=started, refused=refused)


def summary(manager: Manager, deployment_id: str) -> DeploymentDrift:
    deployment = manager.store.get_deployment(deployment_id)
    props = manager.store.instance_system_properties([deployment_id])
    return DeploymentDrift(
        deployment=deployment, summary=drift.summarize(deployment_id, props.get(deployment_id, []))
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceDrift:
    instance_id: str
    node_id: str
    drifted: bool
    checked_at: str | None
    execution: str | None
    differences: Mapping[str, Any]
    record: Mapping[str, Any] | None
    status: Mapping[str, Any] | None  # the last check_status result


def show(manager: Manager, deployment_id: str) -> tuple[DeploymentDrift, list[InstanceDrift]]:
    found = summary(manager, deployment_id)
    instances = []
    for instance in manager.store.list_instances(deployment_id):
        record = drift.record_of(instance.system_properties)
        status = instance.system_properties.get("status")
        instances.append(
            InstanceDrift(
                instance_id=instance.id,
                node_id=instance.node_id,
                drifted=bool(record and record.get("drifted")),
                checked_at=_text(record.get("checked_at")) if record else None,
                execution=_text(record.get("execution")) if record else None,
                differences=drift.differences(record) if record else {},
                record=record,
                status=status if isinstance(status, Mapping) else None,
            )
        )
    return found, instances


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# --- the scheduler --------------------------------------------------------------------------


class Scheduler:
    """Runs due drift checks and the corrections they call for; :meth:`tick` is one pass."""

    def __init__(self, manager: Manager, *, period: float = 1.0, batch: int = 500) -> None:
        self.manager = manager
        self.period = period
        self.batch = batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cairn-drift", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a pass must never kill the scheduler; the rows stay consistent
                log.exception("drift scheduler pass failed")
            self.manager.clock.wait(self._stop, self.period)

    def tick(self) -> list[executions.Execution]:
        """One pass: starts the due checks, then the corrections whose checks ended; returns
        the executions it started."""
        now = self.manager.clock.now()
        due = self.manager.store.due_drift_checks(now=now, limit=self.batch)
        started = self._check(due, now) if due else []
        for deployment in self.manager.store.deployments_with_policy_key(AWAITING):
            started += self._correct(deployment)
        return started

    def _check(
        self, due: Sequence[runtime.Deployment], now: datetime.datetime
    ) -> list[executions.Execution]:
        """The due checks, in bulk: one transaction claims them all, one stores the
        check_drift executions, one the check_status executions queued behind them (only
        where a node defines a status check). A busy deployment's check is tried again
        later; a deployment with nothing installed is not checked (Cloudify's rule)."""
        store = self.manager.store
        busy = store.busy_deployments([d.id for d in due])
        claims: list[DriftClaim] = []
        checked: list[runtime.Deployment] = []
        for deployment in due:
            policy = drift.policy_of(deployment.drift_policy)
            expected = deployment.drift_next_at
            assert expected is not None
            if policy.mode is drift.Mode.OFF:
                next_at = None
            elif deployment.id in busy:
                log.info("drift check of %s skipped: an execution is active", deployment.id)
                next_at = now + datetime.timedelta(seconds=min(policy.interval, BUSY_RETRY))
            else:
                next_at = drift.next_slot(policy, expected, now)
                checked.append(deployment)
            claims.append(
                DriftClaim(deployment_id=deployment.id, expected=expected, next_at=next_at)
            )
        claimed = store.claim_drift_checks(claims)  # another scheduler took the rest
        wanted = [d for d in checked if d.id in claimed]
        installed = store.installed_deployments([d.id for d in wanted]) if wanted else set()
        wanted = [d for d in wanted if d.id in installed]
        if not wanted:
            return []
        checks = self._start_all(wanted, drift.WORKFLOW, queue=False)
        wanted = [d for d in wanted if d.id in checks]
        # no status check defined anywhere: no empty execution behind every check
        statuses = self._start_all(wanted, STATUS_WORKFLOW, queue=True) if wanted else {}
        started: list[executions.Execution] = []
        for deployment in wanted:
            check, status = checks[deployment.id], statuses.get(deployment.id)
            started += [check] if status is None else [check, status]
            if drift.policy_of(deployment.drift_policy).mode is drift.Mode.CORRECT:
                stored = deployment.drift_policy
                last = status or check
                store.swap_drift_policy(
                    deployment.id, expected=stored, policy={**(stored or {}), AWAITING: last.id}
                )
        return started

    def _start_all(
        self, deployments: Sequence[runtime.Deployment], workflow_id: str, *, queue: bool
    ) -> dict[str, executions.Execution]:
        """``workflow_id`` on each deployment, stored together; the executions started, by
        deployment (one refused, say busy since the claim, is skipped and logged)."""
        answers = execution_service.start_many(
            self.manager,
            deployment_ids=[d.id for d in deployments],
            workflow_id=workflow_id,
            queue=queue,
            user=SCHEDULER,
            skip_empty=True,
        )
        started: dict[str, executions.Execution] = {}
        for deployment, answer in zip(deployments, answers, strict=True):
            if isinstance(answer, errors.CairnError):
                log.info("%s of %s skipped: %s", workflow_id, deployment.id, answer.message)
            elif answer is not None:
                started[deployment.id] = answer
        return started

    def _start(self, deployment_id: str, workflow_id: str, *, queue: bool) -> executions.Execution:
        if workflow_id == executions.UPDATE_WORKFLOW:
            # Cairn's update with no new blueprint or inputs: reapplies the drifted instances
            return updates.update(
                self.manager, deployment_id=deployment_id, user=SCHEDULER
            ).execution
        return execution_service.start(
            self.manager,
            deployment_id=deployment_id,
            workflow_id=workflow_id,
            queue=queue,
            user=SCHEDULER,
        )

    def _correct(self, deployment: runtime.Deployment) -> list[executions.Execution]:
        """Once the checks a correction waits for ended: update and heal as they call for."""
        store = self.manager.store
        stored = deployment.drift_policy or {}
        awaited = str(stored.get(AWAITING))
        try:
            checked = store.get_execution(awaited)
            ended = checked.status in executions.ENDED
        except errors.NotFoundError:
            checked, ended = None, True
        if not ended:
            return []
        rest = {k: v for k, v in stored.items() if k != AWAITING}
        if not store.swap_drift_policy(deployment.id, expected=stored, policy=rest):
            return []  # another scheduler took it
        if checked is None:
            return []
        found = summary(self.manager, deployment.id).summary
        started: list[executions.Execution] = []
        for workflow_id, needed, why in (
            (executions.UPDATE_WORKFLOW, found.drifted_instances, "drifted"),
            ("heal", found.status_failed, "failed their status check"),
        ):
            if not needed:
                continue
            try:
                started.append(self._start(deployment.id, workflow_id, queue=True))
            except errors.CairnError as exc:
                self._note(
                    checked,
                    f"cannot start {workflow_id} for {', '.join(needed)} ({why}): {exc.message}",
                    corrected=False,
                )
                continue
            self._note(
                checked, f"started {workflow_id} for {', '.join(needed)} ({why})", corrected=True
            )
        return started

    def _note(self, execution: executions.Execution, message: str, *, corrected: bool) -> None:
        self.manager.store.add_events(
            [
                runtime.Event(
                    execution_id=execution.id,
                    deployment_id=execution.deployment_id,
                    timestamp=self.manager.clock.now(),
                    type="drift_correction" if corrected else "drift_not_corrected",
                    message=message,
                    level="info" if corrected else "warning",
                )
            ]
        )
