"""The store's contract: a reader half and a writer half, over domain objects only.

Implementations live beside this module (SQLAlchemy 2 on SQLite and PostgreSQL). No ORM
object and no SQLAlchemy exception leaves the store: errors are :mod:`cairn.errors`
(``NotFoundError``, ``ConflictError``). Every writer method is one transaction: it is
committed when the method returns, or nothing of it is.

The engine is built on the compare-and-set writers (:meth:`Writer.claim_tasks`,
:meth:`Writer.complete_task`, :meth:`Writer.set_execution_status`): a write that finds the
row no longer in the expected state changes nothing and answers ``False`` (or nothing), so
two workers, or a worker and a restarted manager, can never both act on the same task.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cairn import errors
from cairn.model import executions, filters, groups, runtime, sites
from cairn.model import rollouts as rollout_model
from cairn.model.plan import JSON


@dataclass(frozen=True, kw_only=True)
class InstanceUpdate:
    """A change to a node instance, applied together with a task's completion."""

    instance_id: str
    state: runtime.InstanceState | None = None
    runtime_properties: Mapping[str, JSON] | None = None  # replaces the whole mapping
    system_properties: Mapping[str, JSON] | None = None  # merged key by key into the stored ones
    relationships: Sequence[Mapping[str, JSON]] | None = None  # replaces the whole list (scale)
    # an attempt's runtime properties at its start and its end: their differences are merged
    # key by key into the stored ones, in the completion's transaction
    # (:func:`cairn.model.runtime.merge_runtime_properties`)
    runtime_changes: RuntimeChanges | None = None
    # a check_drift result, merged into the drift record stored on the instance by the
    # completion's own transaction (:func:`cairn.model.drift.merged`)
    drift_check: DriftCheck | None = None


@dataclass(frozen=True, kw_only=True)
class DriftCheck:
    execution_id: str
    checked_at: datetime.datetime
    entry: Mapping[str, JSON]  # :func:`cairn.model.drift.check`
    relationship: Mapping[str, JSON] | None = None  # side, source, target; None: the instance's


@dataclass(frozen=True, kw_only=True)
class DriftClaim:
    deployment_id: str
    expected: datetime.datetime  # the ``drift_next_at`` as read
    next_at: datetime.datetime | None  # None: no more scheduled checks


@dataclass(frozen=True, kw_only=True)
class RuntimeChanges:
    before: Mapping[str, JSON] | None  # None: ``after`` replaces the stored mapping
    after: Mapping[str, JSON]


@dataclass(frozen=True, kw_only=True)
class ExecutionEnd:
    """An execution's move to an ended status, as :meth:`Writer.end_executions` takes it."""

    execution_id: str
    expected: Collection[executions.ExecutionStatus]
    status: executions.ExecutionStatus
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Completion:
    """The end of one attempt, as :meth:`Writer.complete_task` takes it."""

    task_id: int
    attempt: int
    state: executions.TaskState
    run_after: datetime.datetime | None = None
    result: JSON = None
    error: str | None = None
    instance_updates: Sequence[InstanceUpdate] = ()


# what ends a claimed task at once (its instance updates), or None: it runs
EndAtOnce = Callable[[executions.Task], Sequence[InstanceUpdate] | None]


class Reader(Protocol):
    def deployments_with_policy_key(self, key: str) -> list[runtime.Deployment]:
        """Deployments whose drift policy holds ``key`` (without reading every plan)."""
        ...

    def due_drift_checks(
        self, *, now: datetime.datetime, limit: int = 100
    ) -> list[runtime.Deployment]:
        """Deployments whose ``drift_next_at`` is at or before ``now``, oldest due first."""
        ...

    def installed_deployments(self, deployment_ids: Collection[str]) -> set[str]:
        """Those of ``deployment_ids`` with an instance neither uninitialized nor deleted."""
        ...

    def instance_system_properties(
        self, deployment_ids: list[str] | None = None
    ) -> dict[str, list[tuple[str, JSON]]]:
        """Per deployment, (instance id, system_properties) of its instances (all deployments
        when None), in one read."""
        ...

    def get_blueprint(self, blueprint_id: str) -> runtime.Blueprint: ...
    def list_blueprints(self) -> list[runtime.Blueprint]: ...
    def get_deployment(self, deployment_id: str) -> runtime.Deployment: ...
    def list_deployments(self, *, blueprint_id: str | None = None) -> list[runtime.Deployment]: ...
    def list_instances(self, deployment_id: str) -> list[runtime.NodeInstance]: ...
    def get_instance(self, instance_id: str) -> runtime.NodeInstance: ...
    def get_instances(self, instance_ids: Collection[str]) -> dict[str, runtime.NodeInstance]:
        """The instances among ``instance_ids`` that exist, by id, in one read (the engine
        reads those of a claim's operations at once instead of one transaction each)."""
        ...

    def get_execution(self, execution_id: str) -> executions.Execution: ...
    def get_executions(self, ids: Collection[str]) -> dict[str, executions.Execution]:
        """The known ones among ``ids``, by id, in one read."""
        ...

    def list_executions(
        self,
        *,
        deployment_id: str | None = None,
        statuses: Collection[executions.ExecutionStatus] | None = None,
    ) -> list[executions.Execution]:
        """Oldest first."""
        ...

    def list_tasks(self, execution_id: str) -> list[executions.Task]: ...
    def get_task(self, task_id: int) -> executions.Task: ...
    def task_states(self, execution_id: str) -> dict[int, executions.TaskState]: ...
    def executions_with_task_states(
        self, execution_ids: Collection[str]
    ) -> dict[str, tuple[executions.Execution, frozenset[executions.TaskState]]]:
        """Each execution found (those gone are left out) with the states its tasks are in,
        in one read: what the engine looks at to tell which executions have ended."""
        ...

    def expired_leases(self, *, now: datetime.datetime) -> list[executions.Task]:
        """RUNNING tasks whose lease ended before ``now``."""
        ...

    def running_tasks(self, *, owner: str | None = None) -> list[executions.Task]: ...
    def list_events(
        self,
        *,
        execution_id: str | None = None,
        deployment_id: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[runtime.Event]:
        """Events with ``id > after_id``, in id order."""
        ...

    def get_revision(self, deployment_id: str, revision: int) -> runtime.Revision:
        """NotFoundError for an unknown deployment or revision."""
        ...

    def list_revisions(self, deployment_id: str) -> list[runtime.Revision]:
        """Oldest first; NotFoundError for an unknown deployment."""
        ...

    def site_uses_blueprint(self, site: str, blueprint_id: str) -> bool:
        """Whether a deployment on ``site`` uses ``blueprint_id`` now or in any revision."""
        ...

    def get_secret(self, name: str) -> runtime.Secret: ...
    def list_secrets(self) -> list[runtime.Secret]: ...
    def find_token(self, digest: str) -> runtime.Token | None: ...
    def find_tokens(self, digests: Collection[str]) -> dict[str, runtime.Token]:
        """The known ones among ``digests`` (revoked ones too), by digest."""
        ...

    def list_tokens(self) -> list[runtime.Token]: ...
    def get_site(self, name: str) -> sites.Site:
        """NotFoundError if there is none."""
        ...

    def get_sites(self, names: Collection[str]) -> dict[str, sites.Site]:
        """The known ones among ``names``, by name."""
        ...

    def list_sites(self) -> list[sites.Site]:
        """By name."""
        ...

    def site_deployment_counts(self) -> dict[str, int]:
        """How many deployments each site has; sites without any are left out."""
        ...

    def list_site_tokens(self, name: str) -> list[runtime.Token]:
        """The site's agent tokens, revoked ones included, oldest first."""
        ...


class Writer(Protocol):
    def set_drift_policy(
        self,
        deployment_id: str,
        *,
        policy: Mapping[str, JSON] | None,
        next_at: datetime.datetime | None,
    ) -> runtime.Deployment:
        """Stores the deployment's drift policy and next scheduled check; NotFoundError."""
        ...

    def claim_drift_checks(self, claims: Sequence[DriftClaim]) -> set[str]:
        """Per claim, compare-and-set of the deployment's ``drift_next_at`` from
        ``expected`` to ``next_at``, all in one transaction: the ids of the deployments
        this caller moved (it runs their scheduled checks; another caller that read the
        same due time moves none of them)."""
        ...

    def swap_drift_policy(
        self,
        deployment_id: str,
        *,
        expected: Mapping[str, JSON] | None,
        policy: Mapping[str, JSON] | None,
    ) -> bool:
        """Compare-and-set of the whole drift policy; False when it was not ``expected``."""
        ...

    def put_blueprint(self, blueprint: runtime.Blueprint) -> None:
        """ConflictError if the id is taken."""
        ...

    def delete_blueprint(self, blueprint_id: str) -> None:
        """ConflictError while deployments use it."""
        ...

    def create_deployment(
        self, deployment: runtime.Deployment, instances: Sequence[runtime.NodeInstance]
    ) -> None:
        """ConflictError if the id is taken."""
        ...

    def delete_deployment(self, deployment_id: str) -> None:
        """Removes it with its instances, executions, tasks and events.

        ConflictError while it has an active or queued execution.
        """
        ...

    def add_revision(self, revision: runtime.Revision) -> None:
        """ConflictError if the deployment has that revision number already.

        (:meth:`create_deployment` stores revision 1 itself.)"""
        ...

    def set_revision_status(
        self, deployment_id: str, revision: int, *, status: str, execution_id: str | None = None
    ) -> runtime.Revision:
        """``status``: pending, applied or failed (InputError otherwise)."""
        ...

    def begin_update(
        self,
        revision: runtime.Revision,
        *,
        execution: executions.Execution,
        specs: Sequence[executions.TaskSpec],
        added: Sequence[runtime.NodeInstance],
        relationships: Mapping[str, Sequence[Mapping[str, JSON]]],
        abandon: int | None = None,
    ) -> executions.Execution:
        """One transaction: the pending revision, the update's execution and tasks, the new
        instances, and the whole relationship lists of existing instances that gain some.
        ConflictError (nothing stored) while the deployment has an active or queued
        execution, or when ``revision`` is not the next number."""
        ...

    def apply_revision(
        self,
        deployment_id: str,
        revision: int,
        *,
        remove: Sequence[str],
        relationships: Mapping[str, Sequence[Mapping[str, JSON]]],
    ) -> bool:
        """One transaction: the deployment takes the revision's blueprint, inputs and plan,
        the instances in ``remove`` go, ``relationships`` replace the named instances'
        lists, the revision becomes applied. False (no change) if it is in force already."""
        ...

    def add_instances(self, instances: Sequence[runtime.NodeInstance]) -> None: ...
    def remove_instances(self, instance_ids: Sequence[str]) -> None: ...
    def update_instance(
        self,
        instance_id: str,
        *,
        expected_version: int | None = None,
        state: runtime.InstanceState | None = None,
        runtime_properties: Mapping[str, JSON] | None = None,
        system_properties: Mapping[str, JSON] | None = None,
        relationships: Sequence[Mapping[str, JSON]] | None = None,
    ) -> runtime.NodeInstance:
        """Bumps ``version``; ConflictError when ``expected_version`` is not the current one."""
        ...

    def create_execution(
        self,
        execution: executions.Execution,
        specs: Sequence[executions.TaskSpec],
        *,
        queue: bool,
    ) -> executions.Execution:
        """Stores the execution and its whole task graph at once.

        When the deployment already has an active or queued execution, the new one is stored
        as QUEUED if ``queue``, else nothing is stored and ConflictError names the active one.
        Otherwise it is stored with the status it was given (normally PENDING).
        Tasks start PENDING, each counting its unfinished dependencies.
        """
        ...

    def create_executions(
        self,
        batch: Sequence[tuple[executions.Execution, Sequence[executions.TaskSpec]]],
        *,
        queue: bool,
    ) -> list[executions.Execution | errors.ConflictError]:
        """:meth:`create_execution` for each (execution, specs) in one transaction; per item
        the stored execution, or the ConflictError that refused that one alone (its
        deployment busy and ``queue`` false, or its id taken)."""
        ...

    def start_pending_executions(
        self, *, now: datetime.datetime, limit: int = 1000
    ) -> list[executions.Execution]:
        """Up to ``limit`` PENDING executions, oldest first, become STARTED in one
        transaction; returns those this call started, as they now are."""
        ...

    def set_execution_status(
        self,
        execution_id: str,
        *,
        expected: Collection[executions.ExecutionStatus],
        status: executions.ExecutionStatus,
        now: datetime.datetime,
        error: str | None = None,
    ) -> bool:
        """Compare-and-set; STARTED sets ``started_at``, an ended status sets ``ended_at``.

        When the new status is an ended one, the deployment's oldest QUEUED execution (if
        any) becomes PENDING in the same transaction (FIFO).
        """
        ...

    def end_executions(self, ends: Sequence[ExecutionEnd], *, now: datetime.datetime) -> list[bool]:
        """:meth:`set_execution_status` for many executions that end, in one transaction
        (their deployments locked in one order): per end, whether it applied."""
        ...

    def claim_tasks(
        self,
        *,
        owner: str,
        now: datetime.datetime,
        lease_seconds: float,
        limit: int,
        end_at_once: EndAtOnce | None = None,
    ) -> list[executions.Task]:
        """Takes up to ``limit`` runnable tasks: PENDING, no unfinished dependency,
        ``run_after`` unset or past, in a STARTED execution. Each becomes RUNNING with
        ``attempt + 1`` and a lease (``owner``, ``now + lease_seconds``). Safe against
        concurrent claimers (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).

        With ``end_at_once``, a claimed task for which it returns instance updates (not
        None) ends SUCCEEDED in the same transaction, with those updates, as
        :meth:`complete_task` would end it, and the claim goes on with the tasks that made
        runnable (a few rounds at most): a chain of tasks that do nothing but record a
        state costs one commit. Those tasks come back too, already SUCCEEDED."""
        ...

    def complete_task(
        self,
        task_id: int,
        *,
        attempt: int,
        state: executions.TaskState,
        now: datetime.datetime,
        run_after: datetime.datetime | None = None,
        result: JSON = None,
        error: str | None = None,
        instance_updates: Sequence[InstanceUpdate] = (),
    ) -> bool:
        """Ends attempt ``attempt`` of a RUNNING task (compare-and-set on state and attempt).

        ``state`` is SUCCEEDED, FAILED, CANCELLED, or PENDING (retry at ``run_after``). On
        SUCCEEDED the dependents' unfinished-dependency counts drop by one. The instance
        updates are applied in the same transaction. False (and no change) when the task is
        not RUNNING at that attempt any more.
        """
        ...

    def complete_tasks(
        self, completions: Sequence[Completion], *, now: datetime.datetime
    ) -> list[bool]:
        """Each as :meth:`complete_task`, in order, in one transaction: all of them are
        committed, or none (the engine ends the attempts one poll brought back with one
        commit). What each answered, in the same order."""
        ...

    def finish_pending_task(
        self,
        task_id: int,
        *,
        state: executions.TaskState,
        instance_updates: Sequence[InstanceUpdate] = (),
    ) -> bool:
        """A PENDING task that needs no dispatch (set-state, no-op, already done) ends
        directly as SUCCEEDED (or CANCELLED); same rules as :meth:`complete_task`."""
        ...

    def renew_leases(
        self, *, owner: str, task_ids: Sequence[int], until: datetime.datetime
    ) -> None: ...

    def adopt_task(
        self,
        task_id: int,
        *,
        attempt: int,
        previous_owner: str | None,
        owner: str,
        until: datetime.datetime,
    ) -> bool:
        """Takes the lease of a RUNNING attempt over from ``previous_owner`` (gone): True
        for the one caller that moved it, False when the attempt moved on or another
        manager adopted it first."""
        ...

    def cancel_pending_tasks(self, execution_id: str) -> int:
        """PENDING -> CANCELLED for the whole execution; how many."""
        ...

    def reset_for_resume(self, execution_id: str) -> int:
        """FAILED and CANCELLED tasks -> PENDING (attempts kept, run_after cleared,
        dependency counts recomputed); how many."""
        ...

    def add_events(self, events: Sequence[runtime.Event]) -> None: ...
    def put_secret(self, secret: runtime.Secret, *, create: bool) -> None:
        """``create``: ConflictError if it exists; else NotFoundError if it does not."""
        ...

    def delete_secret(self, name: str) -> None: ...
    def put_token(self, token: runtime.Token) -> None: ...
    def revoke_token(self, token_id: str) -> None: ...
    def create_site(self, site: sites.Site) -> None:
        """ConflictError if the name is taken."""
        ...

    def ensure_site(self, site: sites.Site) -> None:
        """Stores ``site`` unless one of that name exists (then changes nothing)."""
        ...

    def update_site(self, site: sites.Site) -> sites.Site:
        """Writes location, labels and description (not what the agent reported); the site
        as stored. NotFoundError if there is none."""
        ...

    def delete_site(self, name: str) -> None:
        """Deletes it and revokes its agent tokens. ConflictError for the built-in site and
        while deployments are placed on it; NotFoundError if there is none."""
        ...

    def set_deployment_site(self, deployment_id: str, site: str) -> runtime.Deployment:
        """Moves the deployment to ``site``: NotFoundError if either does not exist,
        ConflictError while the deployment has an active or queued execution."""
        ...

    def site_seen(
        self,
        name: str,
        *,
        now: datetime.datetime,
        agent_version: str | None,
        agent_address: str | None,
    ) -> None:
        """Records an agent's poll (one UPDATE); NotFoundError if the site is gone."""
        ...

    def sites_seen(self, seen: Sequence[SiteSeen]) -> None:
        """Many agents' polls in one transaction (sites deleted meanwhile are skipped)."""
        ...

    def rotate_site_token(self, name: str, token: runtime.Token) -> None:
        """Revokes every token of site ``name`` and stores ``token``, in one transaction.
        NotFoundError for an unknown site, ConflictError for the built-in one."""
        ...


@dataclass(frozen=True, kw_only=True)
class SiteSeen:
    name: str
    now: datetime.datetime
    agent_version: str | None
    agent_address: str | None


@dataclass(frozen=True, kw_only=True)
class SiteReport:
    """What one agent's report request brings: outcomes by key, and the log events made of
    the log lines that came with them."""

    site: str
    outcomes: Mapping[str, Mapping[str, JSON]]
    now: datetime.datetime
    events: Sequence[runtime.Event] = ()


class SiteWork(Protocol):
    """Operation attempts handed to site agents (:mod:`cairn.store.site_work` says how a row
    moves). Each method is one transaction."""

    def queue_site_attempt(self, attempt: sites.SiteAttempt) -> sites.SiteAttempt:
        """Stores ``attempt`` unless its key is there; the stored row either way."""
        ...

    def queue_site_attempts(self, attempts: Sequence[sites.SiteAttempt]) -> list[sites.SiteAttempt]:
        """:meth:`queue_site_attempt` for each, in one transaction; the stored rows, in order."""
        ...

    def get_site_attempt(self, key: str) -> sites.SiteAttempt | None: ...
    def list_site_attempts(
        self, site: str, *, states: Sequence[sites.AttemptState] | None = None
    ) -> list[sites.SiteAttempt]: ...
    def deliver_site_attempts(
        self,
        site: str,
        *,
        now: datetime.datetime,
        redeliver_before: datetime.datetime,
        limit: int,
    ) -> tuple[list[sites.SiteAttempt], list[str]]:
        """The attempts to send ``site``'s agent now (marked delivered), and the keys it must
        kill."""
        ...

    def deliver_to_sites(
        self,
        wanted: Mapping[str, int],
        *,
        now: datetime.datetime,
        redeliver_before: datetime.datetime,
    ) -> dict[str, tuple[list[sites.SiteAttempt], list[str]]]:
        """:meth:`deliver_site_attempts` for many sites (site -> limit) in one read and at
        most one transaction; sites with nothing to send are left out of the answer."""
        ...

    def confirm_site_attempts(
        self, site: str, keys: Collection[str], *, now: datetime.datetime, acknowledge: bool
    ) -> list[str]:
        """PermissionDenied if a key is another site's; else the keys that moved."""
        ...

    def acknowledge_site_attempts(
        self, batch: Sequence[tuple[str, Collection[str], datetime.datetime]]
    ) -> list[list[str] | errors.PermissionDenied]:
        """:meth:`confirm_site_attempts` with ``acknowledge`` for each (site, keys, time) in
        one transaction; per item the keys that moved, or the PermissionDenied that refused
        that item whole (the others are applied)."""
        ...

    def report_site_attempts(
        self,
        site: str,
        outcomes: Mapping[str, Mapping[str, JSON]],
        *,
        now: datetime.datetime,
        events: Sequence[runtime.Event] = (),
    ) -> dict[str, str]:
        """Stores outcomes (and the log events that came with them) in one transaction;
        PermissionDenied if a key is another site's. Per key: accepted, late or unknown."""
        ...

    def report_to_sites(
        self, batch: Sequence[SiteReport]
    ) -> list[dict[str, str] | errors.PermissionDenied]:
        """:meth:`report_site_attempts` for each report in one transaction; per item the
        verdicts, or the PermissionDenied that refused that item whole (its events are not
        stored; the others are)."""
        ...

    def get_site_attempts(self, keys: Collection[str]) -> dict[str, sites.SiteAttempt]:
        """The known ones among ``keys``, in one read."""
        ...

    def reported_site_attempts(self, *, limit: int = 1000) -> dict[str, Mapping[str, JSON]]:
        """The outcomes reported and not yet applied, by key (the oldest ``limit``)."""
        ...

    def finish_site_attempts(self, keys: Collection[str]) -> None: ...
    def abandon_overdue_site_attempts(
        self, *, now: datetime.datetime
    ) -> list[sites.SiteAttempt]: ...
    def withdraw_site_attempt(self, key: str, *, kill: bool) -> str | None: ...


@dataclass(frozen=True, kw_only=True)
class LiveMember:
    """A member the runner follows, with the state of its executions (None: not stored)."""

    member: rollout_model.Member
    execution_status: executions.ExecutionStatus | None
    execution_error: str | None
    rollback_status: executions.ExecutionStatus | None
    rollback_error: str | None


@dataclass(frozen=True, kw_only=True)
class MemberChange:
    """``values`` for a member, applied only while its status is one of ``expected``."""

    deployment_id: str
    expected: Collection[rollout_model.MemberStatus]
    values: Mapping[str, Any]


class Rollouts(Protocol):
    """Rollouts and their members (:mod:`cairn.store.rollouts`). Each method is one
    transaction."""

    def create_rollout(self, rollout: rollout_model.Rollout) -> rollout_model.Rollout:
        """Stores the rollout with its group's deployments, snapshotted, as members."""
        ...

    def get_rollout(self, rollout_id: str) -> rollout_model.Rollout: ...
    def rollout_wave_counts(self, rollout_id: str) -> dict[int, dict[str, int]]: ...
    def list_rollouts(
        self, *, statuses: Collection[str] | None = None
    ) -> list[rollout_model.Rollout]: ...
    def list_rollout_members(
        self,
        rollout_id: str,
        *,
        statuses: Collection[str] | None = None,
        deployment_ids: Collection[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[rollout_model.Member]: ...
    def claim_live_rollouts(
        self,
        *,
        owner: str,
        now: datetime.datetime,
        until: datetime.datetime,
        gone: Callable[[str], bool] = lambda _owner: False,
    ) -> list[rollout_model.Rollout]:
        """Live rollouts (or with live members) leased to ``owner`` until ``until``: those
        free, expired, already ``owner``'s, or held by an owner that is ``gone``."""
        ...

    def release_rollouts(self, *, owner: str) -> None: ...
    def live_rollout_members(self, rollout_id: str) -> list[LiveMember]: ...
    def startable_rollout_members(
        self, rollout_id: str, *, up_to_wave: int, limit: int
    ) -> list[rollout_model.Member]: ...
    def rollout_wave_holders(self, rollout_id: str, wave: int) -> int: ...
    def busy_deployments(self, deployment_ids: Collection[str]) -> set[str]: ...
    def set_rollout_members(
        self,
        rollout_id: str,
        changes: Sequence[MemberChange],
        *,
        now: datetime.datetime,
        while_status: Collection[rollout_model.Status] | None = None,
    ) -> set[str]:
        """Applies the changes whose member is still in an expected status (and, with
        ``while_status``, only while the rollout is in one of those)."""
        ...

    def update_rollout(
        self,
        rollout_id: str,
        *,
        expected: Collection[rollout_model.Status] | None = None,
        version: int | None = None,
        members: Sequence[MemberChange] = (),
        now: datetime.datetime | None = None,
        **values: object,
    ) -> bool:
        """Changes the rollout (compare-and-set on ``expected`` and ``version``) and, when it
        did, its ``members``, in one transaction."""
        ...

    def delete_rollout(self, rollout_id: str) -> None: ...


class Groups(Protocol):
    """Saved filters, groups of deployments, and deployment labels. Each method is one
    transaction; a write that names an unknown deployment stores nothing."""

    def get_filter(self, name: str) -> groups.SavedFilter:
        """NotFoundError if there is none."""
        ...

    def list_filters(self, *, kind: filters.Kind | None = None) -> list[groups.SavedFilter]:
        """By name."""
        ...

    def create_filter(self, saved: groups.SavedFilter) -> None:
        """ConflictError if the name is taken."""
        ...

    def delete_filter(self, name: str) -> None:
        """NotFoundError if there is none."""
        ...

    def get_group(self, group_id: str) -> groups.Group:
        """With its member count; NotFoundError if there is none."""
        ...

    def list_groups(self) -> list[groups.Group]:
        """By id, with member counts."""
        ...

    def group_member_ids(self, group_id: str) -> list[str]:
        """The members' deployment ids, sorted; NotFoundError for an unknown group."""
        ...

    def create_group(self, group: groups.Group, deployment_ids: Sequence[str]) -> groups.Group:
        """Stores the group with these members (added at ``group.created_at``); the group
        as stored. ConflictError if the id is taken, NotFoundError naming the deployments
        that do not exist (then nothing is stored)."""
        ...

    def add_group_members(
        self, group_id: str, deployment_ids: Sequence[str], *, now: datetime.datetime
    ) -> list[str]:
        """Adds the deployments not in the group yet; those added, sorted. NotFoundError for
        an unknown group or deployment (then nothing is added)."""
        ...

    def remove_group_members(self, group_id: str, deployment_ids: Sequence[str]) -> list[str]:
        """Removes those of the deployments that are members; those removed, sorted.
        NotFoundError for an unknown group."""
        ...

    def delete_group(self, group_id: str) -> None:
        """Deletes the group, not its deployments; NotFoundError if there is none."""
        ...

    def set_deployment_labels(
        self, deployment_id: str, labels: Mapping[str, Sequence[str]]
    ) -> runtime.Deployment:
        """Replaces the deployment's labels; NotFoundError if there is none."""
        ...


class Store(Reader, Writer, SiteWork, Groups, Rollouts, Protocol):
    """Both halves, plus lifetime."""

    def close(self) -> None: ...
