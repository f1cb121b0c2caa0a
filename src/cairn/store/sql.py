"""``SqlStore``: :class:`cairn.store.interface.Store` on SQLAlchemy Core.

Each method is one transaction, opened here; the statements live in :mod:`catalog`,
:mod:`runs`, :mod:`tasks` and :mod:`records`. Core rather than the ORM keeps the engine's
per-task cost to a few statements: a claim is one ``UPDATE ... RETURNING`` (two statements
on PostgreSQL), a completion one to three.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Collection, Mapping, Sequence

from cairn import errors
from cairn.model import executions, filters, groups, runtime, sites
from cairn.model import rollouts as rollout_model
from cairn.model.plan import JSON
from cairn.store import catalog, db, interface, records, revisions, runs, site_work, tasks
from cairn.store import drift as drift_rows
from cairn.store import groups as group_rows
from cairn.store import rollouts as rollout_rows
from cairn.store import sites as site_rows


class SqlStore:
    """The store on one database (SQLite file or PostgreSQL), shared by all threads."""

    def __init__(self, database: db.Database) -> None:
        self._db = database

    def close(self) -> None:
        self._db.close()

    # Attempts handed to site agents ----------------------------------------------------

    def queue_site_attempt(self, attempt: sites.SiteAttempt) -> sites.SiteAttempt:
        with self._db.write() as conn:
            return site_work.queue(conn, attempt)

    def queue_site_attempts(self, attempts: Sequence[sites.SiteAttempt]) -> list[sites.SiteAttempt]:
        if not attempts:
            return []
        with self._db.write() as conn:
            return site_work.queue_many(conn, attempts)

    def get_site_attempt(self, key: str) -> sites.SiteAttempt | None:
        with self._db.read() as conn:
            return site_work.get(conn, key)

    def list_site_attempts(
        self, site: str, *, states: Sequence[sites.AttemptState] | None = None
    ) -> list[sites.SiteAttempt]:
        with self._db.read() as conn:
            return site_work.list_for_site(conn, site, states=states)

    def deliver_site_attempts(
        self,
        site: str,
        *,
        now: datetime.datetime,
        redeliver_before: datetime.datetime,
        limit: int,
    ) -> tuple[list[sites.SiteAttempt], list[str]]:
        found = self.deliver_to_sites({site: limit}, now=now, redeliver_before=redeliver_before)
        return found.get(site, ([], []))

    def deliver_to_sites(
        self,
        wanted: Mapping[str, int],
        *,
        now: datetime.datetime,
        redeliver_before: datetime.datetime,
    ) -> dict[str, tuple[list[sites.SiteAttempt], list[str]]]:
        with self._db.read() as conn:  # a plain read first: idle agents' polls take no lock
            busy = site_work.sites_with_work(conn, wanted, redeliver_before=redeliver_before)
        if not busy:
            return {}
        with self._db.write() as conn:
            delivered = site_work.deliver(
                conn,
                {site: wanted[site] for site in busy},
                now=now,
                redeliver_before=redeliver_before,
            )
            kill = site_work.kill_requests(conn, busy)
        return {
            site: (delivered.get(site, []), kill.get(site, []))
            for site in sorted(busy)
            if delivered.get(site) or kill.get(site)
        }

    def acknowledge_site_attempts(
        self, batch: Sequence[tuple[str, Collection[str], datetime.datetime]]
    ) -> list[list[str] | errors.PermissionDenied]:
        with self._db.write() as conn:
            return site_work.confirm(conn, batch, acknowledge=True)

    def confirm_site_attempts(
        self, site: str, keys: Collection[str], *, now: datetime.datetime, acknowledge: bool
    ) -> list[str]:
        if not keys:
            return []
        with self._db.write() as conn:
            (moved,) = site_work.confirm(conn, [(site, keys, now)], acknowledge=acknowledge)
        if isinstance(moved, errors.PermissionDenied):
            raise moved
        return moved

    def report_site_attempts(
        self,
        site: str,
        outcomes: Mapping[str, Mapping[str, JSON]],
        *,
        now: datetime.datetime,
        events: Sequence[runtime.Event] = (),
    ) -> dict[str, str]:
        (verdicts,) = self.report_to_sites(
            [interface.SiteReport(site=site, outcomes=outcomes, now=now, events=events)]
        )
        if isinstance(verdicts, errors.PermissionDenied):
            raise verdicts
        return verdicts

    def report_to_sites(
        self, batch: Sequence[interface.SiteReport]
    ) -> list[dict[str, str] | errors.PermissionDenied]:
        with self._db.write() as conn:
            answers = site_work.report(conn, [(r.site, r.outcomes, r.now) for r in batch])
            records.add_events(
                conn,
                [
                    event
                    for item, answer in zip(batch, answers, strict=True)
                    if not isinstance(answer, errors.PermissionDenied)
                    for event in item.events
                ],
            )
        return answers

    def get_site_attempts(self, keys: Collection[str]) -> dict[str, sites.SiteAttempt]:
        with self._db.read() as conn:
            return site_work.get_many(conn, keys)

    def reported_site_attempts(self, *, limit: int = 1000) -> dict[str, Mapping[str, JSON]]:
        with self._db.read() as conn:
            return site_work.reported(conn, limit=limit)

    def finish_site_attempts(self, keys: Collection[str]) -> None:
        with self._db.write() as conn:
            site_work.finish(conn, keys)

    def abandon_overdue_site_attempts(self, *, now: datetime.datetime) -> list[sites.SiteAttempt]:
        with self._db.read() as conn:  # a plain read first: the engine looks four times a second
            if not site_work.has_overdue(conn, now=now):
                return []
        with self._db.write() as conn:
            return site_work.abandon_overdue(conn, now=now)

    def withdraw_site_attempt(self, key: str, *, kill: bool) -> str | None:
        with self._db.write() as conn:
            return site_work.withdraw(conn, key, kill=kill)

    # Drift policies and their schedule ---------------------------------------------------

    def set_drift_policy(
        self,
        deployment_id: str,
        *,
        policy: Mapping[str, JSON] | None,
        next_at: datetime.datetime | None,
    ) -> runtime.Deployment:
        with self._db.write() as conn:
            return drift_rows.set_policy(conn, deployment_id, policy=policy, next_at=next_at)

    def deployments_with_policy_key(self, key: str) -> list[runtime.Deployment]:
        with self._db.read() as conn:
            return drift_rows.with_policy_key(conn, key)

    def due_drift_checks(
        self, *, now: datetime.datetime, limit: int = 100
    ) -> list[runtime.Deployment]:
        with self._db.read() as conn:
            return drift_rows.due(conn, now=now, limit=limit)

    def claim_drift_checks(self, claims: Sequence[interface.DriftClaim]) -> set[str]:
        with self._db.write() as conn:
            return drift_rows.claim(conn, claims)

    def installed_deployments(self, deployment_ids: Collection[str]) -> set[str]:
        with self._db.read() as conn:
            return drift_rows.installed(conn, deployment_ids)

    def swap_drift_policy(
        self,
        deployment_id: str,
        *,
        expected: Mapping[str, JSON] | None,
        policy: Mapping[str, JSON] | None,
    ) -> bool:
        with self._db.write() as conn:
            return drift_rows.swap_policy(conn, deployment_id, expected=expected, policy=policy)

    def instance_system_properties(
        self, deployment_ids: list[str] | None = None
    ) -> dict[str, list[tuple[str, JSON]]]:
        with self._db.read() as conn:
            return drift_rows.system_properties(conn, deployment_ids)

    # Blueprints, deployments, node instances -------------------------------------------

    def get_blueprint(self, blueprint_id: str) -> runtime.Blueprint:
        with self._db.read() as conn:
            return catalog.get_blueprint(conn, blueprint_id)

    def list_blueprints(self) -> list[runtime.Blueprint]:
        with self._db.read() as conn:
            return catalog.list_blueprints(conn)

    def put_blueprint(self, blueprint: runtime.Blueprint) -> None:
        with self._db.write(conflict=f"blueprint {blueprint.id!r} already exists") as conn:
            catalog.put_blueprint(conn, blueprint)

    def delete_blueprint(self, blueprint_id: str) -> None:
        with self._db.write() as conn:
            catalog.delete_blueprint(conn, blueprint_id)

    def get_deployment(self, deployment_id: str) -> runtime.Deployment:
        with self._db.read() as conn:
            return catalog.get_deployment(conn, deployment_id)

    def list_deployments(self, *, blueprint_id: str | None = None) -> list[runtime.Deployment]:
        with self._db.read() as conn:
            return catalog.list_deployments(conn, blueprint_id=blueprint_id)

    def create_deployment(
        self, deployment: runtime.Deployment, instances: Sequence[runtime.NodeInstance]
    ) -> None:
        conflict = f"deployment {deployment.id!r}: a node instance id is already taken"
        with self._db.write(conflict=conflict) as conn:
            catalog.create_deployment(conn, deployment, instances)

    def delete_deployment(self, deployment_id: str) -> None:
        with self._db.write() as conn:
            catalog.delete_deployment(conn, deployment_id, busy=runs.BUSY)

    def list_instances(self, deployment_id: str) -> list[runtime.NodeInstance]:
        with self._db.read() as conn:
            return catalog.list_instances(conn, deployment_id)

    def get_instance(self, instance_id: str) -> runtime.NodeInstance:
        with self._db.read() as conn:
            return catalog.get_instance(conn, instance_id)

    def get_instances(self, instance_ids: Collection[str]) -> dict[str, runtime.NodeInstance]:
        with self._db.read() as conn:
            return catalog.get_instances(conn, instance_ids)

    def add_instances(self, instances: Sequence[runtime.NodeInstance]) -> None:
        ids = ", ".join(sorted(instance.id for instance in instances))
        with self._db.write(conflict=f"node instance ids already taken among: {ids}") as conn:
            catalog.add_instances(conn, instances)

    def remove_instances(self, instance_ids: Sequence[str]) -> None:
        with self._db.write() as conn:
            catalog.remove_instances(conn, instance_ids)

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
        with self._db.write() as conn:
            return catalog.update_instance(
                conn,
                instance_id,
                expected_version=expected_version,
                state=state,
                runtime_properties=runtime_properties,
                system_properties=system_properties,
                relationships=relationships,
            )

    # Revisions ------------------------------------------------------------------------

    def add_revision(self, revision: runtime.Revision) -> None:
        with self._db.write() as conn:
            revisions.add(conn, revision)

    def get_revision(self, deployment_id: str, revision: int) -> runtime.Revision:
        with self._db.read() as conn:
            return revisions.get(conn, deployment_id, revision)

    def list_revisions(self, deployment_id: str) -> list[runtime.Revision]:
        with self._db.read() as conn:
            return revisions.list_for(conn, deployment_id)

    def site_uses_blueprint(self, site: str, blueprint_id: str) -> bool:
        with self._db.read() as conn:
            return revisions.site_uses_blueprint(conn, site, blueprint_id)

    def set_revision_status(
        self, deployment_id: str, revision: int, *, status: str, execution_id: str | None = None
    ) -> runtime.Revision:
        with self._db.write() as conn:
            revisions.set_status(
                conn, deployment_id, revision, status=status, execution_id=execution_id
            )
            return revisions.get(conn, deployment_id, revision)

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
        conflict = f"deployment {revision.deployment_id!r}: a new node instance id is taken"
        with self._db.write(conflict=conflict) as conn:
            return revisions.begin_update(
                conn,
                revision,
                execution=execution,
                specs=specs,
                added=added,
                relationships=relationships,
                abandon=abandon,
            )

    def apply_revision(
        self,
        deployment_id: str,
        revision: int,
        *,
        remove: Sequence[str],
        relationships: Mapping[str, Sequence[Mapping[str, JSON]]],
    ) -> bool:
        with self._db.write() as conn:
            return revisions.apply(
                conn, deployment_id, revision, remove=remove, relationships=relationships
            )

    # Executions and tasks -------------------------------------------------------------

    def get_executions(self, ids: Collection[str]) -> dict[str, executions.Execution]:
        with self._db.read() as conn:
            return runs.get_executions(conn, ids)

    def get_execution(self, execution_id: str) -> executions.Execution:
        with self._db.read() as conn:
            return runs.get_execution(conn, execution_id)

    def list_executions(
        self,
        *,
        deployment_id: str | None = None,
        statuses: Collection[executions.ExecutionStatus] | None = None,
    ) -> list[executions.Execution]:
        with self._db.read() as conn:
            return runs.list_executions(conn, deployment_id=deployment_id, statuses=statuses)

    def create_execution(
        self,
        execution: executions.Execution,
        specs: Sequence[executions.TaskSpec],
        *,
        queue: bool,
    ) -> executions.Execution:
        conflict = f"execution {execution.id!r} conflicts with a stored execution"
        with self._db.write(conflict=conflict) as conn:
            return runs.create_execution(conn, execution, specs, queue=queue)

    def create_executions(
        self,
        batch: Sequence[tuple[executions.Execution, Sequence[executions.TaskSpec]]],
        *,
        queue: bool,
    ) -> list[executions.Execution | errors.ConflictError]:
        answers: list[executions.Execution | errors.ConflictError] = []
        with self._db.write(conflict="executions conflict with stored ones") as conn:
            for execution, specs in batch:
                try:  # refused before anything of it is written: the others go on
                    answers.append(runs.create_execution(conn, execution, specs, queue=queue))
                except errors.ConflictError as refused:
                    answers.append(refused)
        return answers

    def start_pending_executions(
        self, *, now: datetime.datetime, limit: int = 1000
    ) -> list[executions.Execution]:
        with self._db.read() as conn:  # a plain read first: most scans find none
            if not runs.has_pending(conn):
                return []
        with self._db.write() as conn:
            return runs.start_pending(conn, now=now, limit=limit)

    def end_executions(
        self, ends: Sequence[interface.ExecutionEnd], *, now: datetime.datetime
    ) -> list[bool]:
        if not ends:
            return []
        with self._db.write() as conn:
            return runs.end_executions(conn, ends, now=now)

    def set_execution_status(
        self,
        execution_id: str,
        *,
        expected: Collection[executions.ExecutionStatus],
        status: executions.ExecutionStatus,
        now: datetime.datetime,
        error: str | None = None,
    ) -> bool:
        conflict = (
            f"execution {execution_id!r} cannot become {status.value}: "
            "its deployment already has an active execution"
        )
        with self._db.write(conflict=conflict) as conn:
            return runs.set_execution_status(
                conn, execution_id, expected=expected, status=status, now=now, error=error
            )

    def list_tasks(self, execution_id: str) -> list[executions.Task]:
        with self._db.read() as conn:
            return tasks.list_tasks(conn, execution_id)

    def get_task(self, task_id: int) -> executions.Task:
        with self._db.read() as conn:
            return tasks.get_task(conn, task_id)

    def task_states(self, execution_id: str) -> dict[int, executions.TaskState]:
        with self._db.read() as conn:
            return tasks.task_states(conn, execution_id)

    def executions_with_task_states(
        self, execution_ids: Collection[str]
    ) -> dict[str, tuple[executions.Execution, frozenset[executions.TaskState]]]:
        with self._db.read() as conn:
            return tasks.executions_with_task_states(conn, execution_ids)

    def expired_leases(self, *, now: datetime.datetime) -> list[executions.Task]:
        with self._db.read() as conn:
            return tasks.expired_leases(conn, now=now)

    def running_tasks(self, *, owner: str | None = None) -> list[executions.Task]:
        with self._db.read() as conn:
            return tasks.running_tasks(conn, owner=owner)

    def claim_tasks(
        self,
        *,
        owner: str,
        now: datetime.datetime,
        lease_seconds: float,
        limit: int,
        end_at_once: interface.EndAtOnce | None = None,
    ) -> list[executions.Task]:
        with self._db.write() as conn:
            return tasks.claim_tasks(
                conn,
                owner=owner,
                now=now,
                lease_seconds=lease_seconds,
                limit=limit,
                end_at_once=end_at_once,
            )

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
        instance_updates: Sequence[interface.InstanceUpdate] = (),
    ) -> bool:
        del now  # the row keeps no completion time; events do
        with self._db.write() as conn:
            return tasks.complete_task(
                conn,
                task_id,
                attempt=attempt,
                state=state,
                run_after=run_after,
                result=result,
                error=error,
                instance_updates=instance_updates,
            )

    def complete_tasks(
        self, completions: Sequence[interface.Completion], *, now: datetime.datetime
    ) -> list[bool]:
        del now  # as in complete_task
        if not completions:
            return []
        with self._db.write() as conn:
            return tasks.complete_tasks(conn, completions)

    def finish_pending_task(
        self,
        task_id: int,
        *,
        state: executions.TaskState,
        instance_updates: Sequence[interface.InstanceUpdate] = (),
    ) -> bool:
        with self._db.write() as conn:
            return tasks.finish_pending_task(
                conn, task_id, state=state, instance_updates=instance_updates
            )

    def renew_leases(
        self, *, owner: str, task_ids: Sequence[int], until: datetime.datetime
    ) -> None:
        with self._db.write() as conn:
            tasks.renew_leases(conn, owner=owner, task_ids=task_ids, until=until)

    def adopt_task(
        self,
        task_id: int,
        *,
        attempt: int,
        previous_owner: str | None,
        owner: str,
        until: datetime.datetime,
    ) -> bool:
        with self._db.write() as conn:
            return tasks.adopt(
                conn,
                task_id,
                attempt=attempt,
                previous_owner=previous_owner,
                owner=owner,
                until=until,
            )

    def cancel_pending_tasks(self, execution_id: str) -> int:
        with self._db.write() as conn:
            return tasks.cancel_pending_tasks(conn, execution_id)

    def reset_for_resume(self, execution_id: str) -> int:
        with self._db.write() as conn:
            return tasks.reset_for_resume(conn, execution_id)

    # Events, secrets, tokens ----------------------------------------------------------

    def add_events(self, events: Sequence[runtime.Event]) -> None:
        conflict = "events name an execution or deployment that does not exist"
        with self._db.write(conflict=conflict) as conn:
            records.add_events(conn, events)

    def list_events(
        self,
        *,
        execution_id: str | None = None,
        deployment_id: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[runtime.Event]:
        with self._db.read() as conn:
            return records.list_events(
                conn,
                execution_id=execution_id,
                deployment_id=deployment_id,
                after_id=after_id,
                limit=limit,
            )

    def get_secret(self, name: str) -> runtime.Secret:
        with self._db.read() as conn:
            return records.get_secret(conn, name)

    def list_secrets(self) -> list[runtime.Secret]:
        with self._db.read() as conn:
            return records.list_secrets(conn)

    def put_secret(self, secret: runtime.Secret, *, create: bool) -> None:
        with self._db.write(conflict=f"secret {secret.name!r} already exists") as conn:
            records.put_secret(conn, secret, create=create)

    def delete_secret(self, name: str) -> None:
        with self._db.write() as conn:
            records.delete_secret(conn, name)

    def find_token(self, digest: str) -> runtime.Token | None:
        with self._db.read() as conn:
            return records.find_token(conn, digest)

    def find_tokens(self, digests: Collection[str]) -> dict[str, runtime.Token]:
        with self._db.read() as conn:
            return records.find_tokens(conn, digests)

    def list_tokens(self) -> list[runtime.Token]:
        with self._db.read() as conn:
            return records.list_tokens(conn)

    def put_token(self, token: runtime.Token) -> None:
        conflict = f"token {token.id!r} already exists, or its digest is taken"
        with self._db.write(conflict=conflict) as conn:
            records.put_token(conn, token)

    def revoke_token(self, token_id: str) -> None:
        with self._db.write() as conn:
            records.revoke_token(conn, token_id)

    # Sites ----------------------------------------------------------------------------

    def get_site(self, name: str) -> sites.Site:
        with self._db.read() as conn:
            return site_rows.get_site(conn, name)

    def get_sites(self, names: Collection[str]) -> dict[str, sites.Site]:
        with self._db.read() as conn:
            return site_rows.get_sites(conn, names)

    def list_sites(self) -> list[sites.Site]:
        with self._db.read() as conn:
            return site_rows.list_sites(conn)

    def site_deployment_counts(self) -> dict[str, int]:
        with self._db.read() as conn:
            return site_rows.deployment_counts(conn)

    def list_site_tokens(self, name: str) -> list[runtime.Token]:
        with self._db.read() as conn:
            return site_rows.list_site_tokens(conn, name)

    def create_site(self, site: sites.Site) -> None:
        with self._db.write(conflict=f"site {site.name!r} already exists") as conn:
            site_rows.create_site(conn, site)

    def ensure_site(self, site: sites.Site) -> None:
        with self._db.write() as conn:
            site_rows.ensure_site(conn, site)

    def update_site(self, site: sites.Site) -> sites.Site:
        with self._db.write() as conn:
            return site_rows.update_site(conn, site)

    def delete_site(self, name: str) -> None:
        with self._db.write() as conn:
            site_rows.delete_site(conn, name)

    def set_deployment_site(self, deployment_id: str, site: str) -> runtime.Deployment:
        with self._db.write() as conn:
            return site_rows.set_deployment_site(conn, deployment_id, site, busy=runs.BUSY)

    def site_seen(
        self,
        name: str,
        *,
        now: datetime.datetime,
        agent_version: str | None,
        agent_address: str | None,
    ) -> None:
        with self._db.write() as conn:
            site_rows.site_seen(
                conn, name, now=now, agent_version=agent_version, agent_address=agent_address
            )

    def sites_seen(self, seen: Sequence[interface.SiteSeen]) -> None:
        if not seen:
            return
        with self._db.write() as conn:
            for item in seen:
                with contextlib.suppress(errors.NotFoundError):  # a site deleted meanwhile
                    site_rows.site_seen(
                        conn,
                        item.name,
                        now=item.now,
                        agent_version=item.agent_version,
                        agent_address=item.agent_address,
                    )

    def rotate_site_token(self, name: str, token: runtime.Token) -> None:
        conflict = f"token {token.id!r} already exists, or its digest is taken"
        with self._db.write(conflict=conflict) as conn:
            site_rows.rotate_site_token(conn, name, token)

    # Rollouts and their members ----------------------------------------------------------

    def create_rollout(self, rollout: rollout_model.Rollout) -> rollout_model.Rollout:
        with self._db.write() as conn:
            return rollout_rows.create(conn, rollout)

    def get_rollout(self, rollout_id: str) -> rollout_model.Rollout:
        with self._db.read() as conn:
            return rollout_rows.get(conn, rollout_id)

    def rollout_wave_counts(self, rollout_id: str) -> dict[int, dict[str, int]]:
        with self._db.read() as conn:
            return rollout_rows.wave_counts(conn, rollout_id)

    def list_rollouts(
        self, *, statuses: Collection[str] | None = None
    ) -> list[rollout_model.Rollout]:
        with self._db.read() as conn:
            return rollout_rows.list_all(conn, statuses=statuses)

    def list_rollout_members(
        self,
        rollout_id: str,
        *,
        statuses: Collection[str] | None = None,
        deployment_ids: Collection[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[rollout_model.Member]:
        with self._db.read() as conn:
            return rollout_rows.members(
                conn,
                rollout_id,
                statuses=statuses,
                deployment_ids=deployment_ids,
                limit=limit,
                offset=offset,
            )

    def claim_live_rollouts(
        self,
        *,
        owner: str,
        now: datetime.datetime,
        until: datetime.datetime,
        gone: Callable[[str], bool] = lambda _owner: False,
    ) -> list[rollout_model.Rollout]:
        with self._db.write() as conn:
            return rollout_rows.claim_live(conn, owner=owner, now=now, until=until, gone=gone)

    def release_rollouts(self, *, owner: str) -> None:
        with self._db.write() as conn:
            rollout_rows.release(conn, owner=owner)

    def live_rollout_members(self, rollout_id: str) -> list[interface.LiveMember]:
        with self._db.read() as conn:
            return rollout_rows.live_members(conn, rollout_id)

    def startable_rollout_members(
        self, rollout_id: str, *, up_to_wave: int, limit: int
    ) -> list[rollout_model.Member]:
        with self._db.read() as conn:
            return rollout_rows.startable(conn, rollout_id, up_to_wave=up_to_wave, limit=limit)

    def rollout_wave_holders(self, rollout_id: str, wave: int) -> int:
        with self._db.read() as conn:
            return rollout_rows.wave_holders(conn, rollout_id, wave)

    def busy_deployments(self, deployment_ids: Collection[str]) -> set[str]:
        with self._db.read() as conn:
            return rollout_rows.busy_deployments(conn, deployment_ids)

    def set_rollout_members(
        self,
        rollout_id: str,
        changes: Sequence[interface.MemberChange],
        *,
        now: datetime.datetime,
        while_status: Collection[rollout_model.Status] | None = None,
    ) -> set[str]:
        if not changes:
            return set()
        with self._db.write() as conn:
            return rollout_rows.set_members(
                conn, rollout_id, changes, now=now, while_status=while_status
            )

    def update_rollout(
        self,
        rollout_id: str,
        *,
        expected: Collection[rollout_model.Status] | None = None,
        version: int | None = None,
        members: Sequence[interface.MemberChange] = (),
        now: datetime.datetime | None = None,
        **values: object,
    ) -> bool:
        with self._db.write() as conn:
            if not rollout_rows.update(
                conn, rollout_id, expected=expected, version=version, **values
            ):
                return False
            if members:
                assert now is not None, "member changes need the time"
                rollout_rows.set_members(conn, rollout_id, members, now=now)
            return True

    def delete_rollout(self, rollout_id: str) -> None:
        with self._db.write() as conn:
            rollout_rows.delete(conn, rollout_id)

    # Saved filters, groups, deployment labels ------------------------------------------

    def get_filter(self, name: str) -> groups.SavedFilter:
        with self._db.read() as conn:
            return group_rows.get_filter(conn, name)

    def list_filters(self, *, kind: filters.Kind | None = None) -> list[groups.SavedFilter]:
        with self._db.read() as conn:
            return group_rows.list_filters(conn, kind=kind)

    def create_filter(self, saved: groups.SavedFilter) -> None:
        with self._db.write(conflict=f"filter {saved.name!r} already exists") as conn:
            group_rows.create_filter(conn, saved)

    def delete_filter(self, name: str) -> None:
        with self._db.write() as conn:
            group_rows.delete_filter(conn, name)

    def get_group(self, group_id: str) -> groups.Group:
        with self._db.read() as conn:
            return group_rows.get_group(conn, group_id)

    def list_groups(self) -> list[groups.Group]:
        with self._db.read() as conn:
            return group_rows.list_groups(conn)

    def group_member_ids(self, group_id: str) -> list[str]:
        with self._db.read() as conn:
            return group_rows.member_ids(conn, group_id)

    def create_group(self, group: groups.Group, deployment_ids: Sequence[str]) -> groups.Group:
        conflict = f"group {group.id!r} already exists, or a deployment was deleted meanwhile"
        with self._db.write(conflict=conflict) as conn:
            return group_rows.create_group(conn, group, deployment_ids)

    def add_group_members(
        self, group_id: str, deployment_ids: Sequence[str], *, now: datetime.datetime
    ) -> list[str]:
        conflict = f"group {group_id!r} changed meanwhile; try again"
        with self._db.write(conflict=conflict) as conn:
            return group_rows.add_members(conn, group_id, deployment_ids, now=now)

    def remove_group_members(self, group_id: str, deployment_ids: Sequence[str]) -> list[str]:
        with self._db.write() as conn:
            return group_rows.remove_members(conn, group_id, deployment_ids)

    def delete_group(self, group_id: str) -> None:
        with self._db.write() as conn:
            group_rows.delete_group(conn, group_id)

    def set_deployment_labels(
        self, deployment_id: str, labels: Mapping[str, Sequence[str]]
    ) -> runtime.Deployment:
        with self._db.write() as conn:
            return group_rows.set_deployment_labels(conn, deployment_id, labels)
