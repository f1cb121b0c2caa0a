"""From a claimed task to a :class:`~cairn.connectors.interface.Dispatch`.

The engine knows tasks by their spec: an instance, an operation name, maybe a relationship
and a side. This module finds the operation in the deployment's plan, evaluates the runtime
functions of its inputs (``get_attribute``, ``get_secret``, ...) against the instances as they
are now, and assembles the context that ``ctx`` shows to scripts. A task whose operation
turns out to be a no-op needs no dispatch; one whose inputs cannot be evaluated fails
without being dispatched.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cairn import errors
from cairn.connectors import interface
from cairn.dsl import functions, runtime
from cairn.model import executions
from cairn.model import runtime as model
from cairn.model.sites import LOCAL
from cairn.planner import topology
from cairn.store.interface import Reader

JSON = Any
SCRIPT_WORKFLOW_TASK = "script_runner.tasks.execute_workflow"
WORKFLOW_PREFIX = "workflow:"
DEFAULT_POLICY = executions.RetryPolicy()


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """A dispatch ready to submit, or an outcome decided without one."""

    dispatch: interface.Dispatch | None = None
    outcome: executions.Outcome | None = None
    policy: executions.RetryPolicy = DEFAULT_POLICY
    # the runtime properties the attempt started from, to apply only its changes later
    before: Mapping[str, Mapping[str, JSON]] | None = None


@dataclass(frozen=True, kw_only=True)
class _Deployment:
    record: model.Deployment
    nodes: Mapping[str, Mapping[str, JSON]]


class Dispatcher:
    """Builds dispatches; caches each deployment's plan while its executions run."""

    def __init__(
        self,
        store: Reader,
        *,
        blueprints_dir: pathlib.Path,
        secret: Callable[[str], str] | None = None,
        defaults: executions.RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.store = store
        self.blueprints_dir = blueprints_dir
        self.secret = secret
        self.defaults = defaults
        # by deployment, then by the revision a task names (None: the one in force)
        self._deployments: dict[str, dict[int | None, _Deployment]] = {}

    def forget(self, deployment_id: str) -> None:
        self._deployments.pop(deployment_id, None)

    def _deployment(self, deployment_id: str, revision: int | None = None) -> _Deployment:
        """The deployment as a task sees it: by the plan in force, or, for an update's task,
        by the plan (blueprint, inputs) of the revision it names."""
        found = self._deployments.get(deployment_id, {}).get(revision)
        if found is None:
            record = self.store.get_deployment(deployment_id)
            if revision is not None and revision != record.revision:
                named = self.store.get_revision(deployment_id, revision)
                record = dataclasses.replace(
                    record,
                    blueprint_id=named.blueprint_id,
                    inputs=named.inputs,
                    plan=named.plan,
                    revision=revision,
                )
            nodes = {node["id"]: node for node in record.plan.get("nodes", [])}
            found = _Deployment(record=record, nodes=nodes)
            self._deployments.setdefault(deployment_id, {})[revision] = found
        return found

    def prepare(
        self,
        task: executions.Task,
        execution: executions.Execution,
        *,
        instances: Mapping[str, model.NodeInstance] | None = None,
    ) -> Prepared:
        """``instances``: the task's instances as just read (the engine reads those of a
        whole claim at once); any missing there is read here."""
        try:
            return self._prepare(task, execution, instances or {})
        except (errors.CairnError, KeyError, IndexError) as exc:
            message = exc.message if isinstance(exc, errors.CairnError) else f"missing {exc}"
            return Prepared(
                outcome=executions.Outcome(
                    kind=executions.OutcomeKind.NON_RECOVERABLE,
                    error=f"cannot prepare {task.spec.operation or task.key}: {message}",
                )
            )

    def _prepare(
        self,
        task: executions.Task,
        execution: executions.Execution,
        instances: Mapping[str, model.NodeInstance],
    ) -> Prepared:
        spec = task.spec
        deployment = self._deployment(execution.deployment_id, spec.revision)
        if spec.operation and spec.operation.startswith(WORKFLOW_PREFIX):
            return self._workflow_script(task, execution, deployment)
        assert spec.node_instance_id is not None and spec.operation is not None
        instance = self._instance(spec.node_instance_id, instances)
        node = deployment.nodes[instance.node_id]
        operation, runs_on, source, target = self._operation(
            spec, node, instance, deployment, instances
        )
        if operation is None:
            return Prepared(outcome=executions.Outcome(kind=executions.OutcomeKind.SUCCEEDED))
        policy = self._policy(operation)
        if spec.records_status and operation.get("max_retries") is None:
            policy = executions.RetryPolicy(max_retries=0, retry_interval=0)
        used_secrets: list[str] = []
        inputs = self._inputs(
            {**operation.get("inputs", {}), **spec.inputs},
            deployment,
            self_id=runs_on[1].id,
            source=source,
            target=target,
            secrets=used_secrets,
        )
        context = self._context(
            task,
            execution,
            deployment,
            policy=policy,
            runs_on=runs_on,
            source=source,
            target=target,
            instances=instances,
        )
        before = {
            end[1].id: dict(end[1].runtime_properties) for end in (runs_on, source, target) if end
        }
        dispatch = interface.Dispatch(
            key=task.idempotency_key,
            task_id=task.id,
            attempt=task.attempt,
            plugin=str(operation.get("plugin") or ""),
            operation=str(operation.get("operation") or ""),
            implementation=str(operation.get("implementation") or ""),
            inputs=inputs,
            context=context,
            timeout=operation.get("timeout"),
            # Cloudify's default: a timed-out operation fails for good
            timeout_recoverable=operation.get("timeout_recoverable") is True,
            executor=operation.get("executor"),
            site=runs_at(deployment.record.site, operation.get("executor"), runs_on[1]),
            secrets=tuple(used_secrets),
        )
        return Prepared(dispatch=dispatch, policy=policy, before=before)

    def _operation(
        self,
        spec: executions.TaskSpec,
        node: Mapping[str, JSON],
        instance: model.NodeInstance,
        deployment: _Deployment,
        instances: Mapping[str, model.NodeInstance],
    ) -> tuple[Mapping[str, JSON] | None, tuple[Mapping[str, JSON], model.NodeInstance], Any, Any]:
        """The operation's plan entry, the (node, instance) it runs for, and the two ends."""
        assert spec.operation is not None
        if spec.relationship_index is None:
            return node["operations"].get(spec.operation), (node, instance), None, None
        relationship = _planned_relationship(node, instance, spec.relationship_index)
        assert spec.target_instance_id is not None
        target_instance = self._instance(spec.target_instance_id, instances)
        target_node = deployment.nodes[target_instance.node_id]
        source_end = (node, instance)
        target_end = (target_node, target_instance)
        if spec.side is executions.Side.TARGET:
            operations = relationship.get("target_operations", {})
            runs_on = target_end
        else:
            operations = relationship.get("source_operations", {})
            runs_on = source_end
        return operations.get(spec.operation), runs_on, source_end, target_end

    def _instance(
        self, instance_id: str, instances: Mapping[str, model.NodeInstance]
    ) -> model.NodeInstance:
        found = instances.get(instance_id)
        return found if found is not None else self.store.get_instance(instance_id)

    def policy(
        self, task: executions.Task, execution: executions.Execution
    ) -> executions.RetryPolicy:
        """The retry policy of a task's operation (for attempts recovered after a restart)."""
        try:
            prepared = self._prepare(task, execution, {})
        except (errors.CairnError, KeyError, IndexError):
            return self.defaults
        return prepared.policy

    def _policy(self, operation: Mapping[str, JSON]) -> executions.RetryPolicy:
        retries = operation.get("max_retries")
        interval = operation.get("retry_interval")
        return executions.RetryPolicy(
            max_retries=self.defaults.max_retries if retries is None else int(retries),
            retry_interval=self.defaults.retry_interval if interval is None else float(interval),
        )

    def _inputs(
        self,
        inputs: Mapping[str, JSON],
        deployment: _Deployment,
        *,
        self_id: str,
        source: Any,
        target: Any,
        secrets: list[str],
    ) -> dict[str, JSON]:
        if not functions.contains_function(inputs):
            return dict(inputs)

        def secret(name: str) -> str:
            if self.secret is None:
                raise errors.NotFoundError(f"secret {name!r} not found")
            value = self.secret(name)
            secrets.append(value)
            return value

        instances = self.store.list_instances(deployment.record.id)
        evaluated = runtime.evaluate(
            dict(inputs),
            deployment_plan=deployment.record.plan,
            instances=instances,
            secret=secret,
            self_instance=self_id,
            source_instance=source[1].id if source else None,
            target_instance=target[1].id if target else None,
        )
        return dict(evaluated)

    def _context(
        self,
        task: executions.Task,
        execution: executions.Execution,
        deployment: _Deployment,
        *,
        policy: executions.RetryPolicy,
        runs_on: tuple[Mapping[str, JSON], model.NodeInstance],
        source: Any,
        target: Any,
        instances: Mapping[str, model.NodeInstance],
    ) -> dict[str, JSON]:
        record = deployment.record

        def lookup(instance_id: str) -> model.NodeInstance:
            return self._instance(instance_id, instances)

        context: dict[str, JSON] = {
            "deployment": {
                "id": record.id,
                "blueprint_id": record.blueprint_id,
                "inputs": dict(record.inputs),
            },
            "blueprint": {
                "id": record.blueprint_id,
                "resources": str(self.blueprints_dir / record.blueprint_id),
            },
            "execution": {"id": execution.id, "workflow_id": execution.workflow_id},
            "operation": {
                "name": task.spec.operation,
                "retry_number": task.attempt - 1,
                "max_retries": policy.max_retries,
            },
            **_end(runs_on, lookup, deployment.nodes),
            "source": None,
            "target": None,
        }
        if source and target:
            context["source"] = _end(source, lookup, deployment.nodes)
            context["target"] = _end(target, lookup, deployment.nodes)
        return context

    def _workflow_script(
        self, task: executions.Task, execution: executions.Execution, deployment: _Deployment
    ) -> Prepared:
        assert task.spec.operation is not None
        name = task.spec.operation[len(WORKFLOW_PREFIX) :]
        workflow = deployment.record.plan.get("workflows", {})[name]
        parameters = workflow.get("parameters", {})
        script = (parameters.get("script_path") or {}).get("default", "")
        record = deployment.record
        dispatch = interface.Dispatch(
            key=task.idempotency_key,
            task_id=task.id,
            attempt=task.attempt,
            plugin=str(workflow.get("plugin") or ""),
            operation=str(workflow.get("operation") or SCRIPT_WORKFLOW_TASK),
            implementation=str(script),
            inputs={k: v for k, v in task.spec.inputs.items() if k != "script_path"},
            context={
                "deployment": {
                    "id": record.id,
                    "blueprint_id": record.blueprint_id,
                    "inputs": dict(record.inputs),
                },
                "blueprint": {
                    "id": record.blueprint_id,
                    "resources": str(self.blueprints_dir / record.blueprint_id),
                },
                "execution": {"id": execution.id, "workflow_id": execution.workflow_id},
                "operation": {
                    "name": task.spec.operation,
                    "retry_number": task.attempt - 1,
                    "max_retries": 0,
                },
                "node": None,
                "instance": None,
                "source": None,
                "target": None,
            },
            site=LOCAL,  # workflows run on the manager, as in Cloudify
        )
        return Prepared(dispatch=dispatch, policy=executions.RetryPolicy(max_retries=0))


def runs_at(site: str, executor: JSON, instance: model.NodeInstance) -> str:
    """Where an operation runs: ``local`` (the manager) or the deployment's ``site``, whose
    agent runs it. ``central_deployment_agent`` runs on the manager; ``host_agent`` and
    Cairn's ``site_agent`` at the site; scripts without an executor (``auto``) where their
    node lives: at the site when the instance is contained in a host, else on the manager."""
    if site == LOCAL or executor == "central_deployment_agent":
        return LOCAL
    if executor in ("host_agent", "site_agent"):
        return site
    return site if instance.host_id is not None else LOCAL


def _end(
    end: tuple[Mapping[str, JSON], model.NodeInstance],
    lookup: Callable[[str], model.NodeInstance],
    nodes: Mapping[str, Mapping[str, JSON]],
) -> dict[str, JSON]:
    node, instance = end
    return {
        "node": {
            "id": node["id"],
            "name": node["id"],
            "type": node["type"],
            "type_hierarchy": list(node.get("type_hierarchy", [])),
            "properties": dict(node.get("properties", {})),
        },
        "instance": {
            "id": instance.id,
            "runtime_properties": dict(instance.runtime_properties),
            "host_ip": _host_ip(instance, lookup, nodes),
            "relationships": [dict(r) for r in instance.relationships],
            # what the last check_drift found (cairn.model.drift), for update operations
            "drift": instance.system_properties.get("drift"),
        },
    }


def _host_ip(
    instance: model.NodeInstance,
    lookup: Callable[[str], model.NodeInstance],
    nodes: Mapping[str, Mapping[str, JSON]],
) -> str | None:
    """Cloudify's ``ctx instance host_ip``: the host instance's ``ip`` runtime property,
    else its node's ``ip`` property."""
    if instance.host_id is None:
        return None
    host = instance if instance.host_id == instance.id else lookup(instance.host_id)
    ip = host.runtime_properties.get("ip")
    if ip is None:
        ip = nodes.get(host.node_id, {}).get("properties", {}).get("ip")
    return None if ip is None else str(ip)


def _planned_relationship(
    node: Mapping[str, JSON], instance: model.NodeInstance, index: int
) -> Mapping[str, JSON]:
    """The plan's entry for the instance's relationship number ``index``: found by its target
    node and type (an update or a scale may append relationships to an instance, so the
    index need not be the one in the node's list)."""
    planned: list[Mapping[str, JSON]] = node.get("relationships") or []
    if index < len(instance.relationships):
        written = instance.relationships[index]
        found = topology.planned_relationship(
            planned, str(written.get("target_name") or ""), str(written.get("type") or "")
        )
        if found:
            return found
    return planned[index]
