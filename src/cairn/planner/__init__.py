"""The planner: turns one workflow run into a task graph. Pure: no I/O, no clock.

Public API::

    planner.plan_workflow(
        workflow_id,
        *,
        deployment,          # Mapping: model.deployment.to_json form (runtime.Deployment.plan)
        instances,           # Sequence[runtime.NodeInstance]: the instances as stored now
        parameters,          # Mapping: the parameters given by the user
        allow_custom_parameters=False,  # pass undeclared parameters on (Cloudify's flag)
        deployment_id=None,  # for new instances (scale); default: the instances'
        new_id=None,         # Callable[[node or group name], new id]; default: random
    ) -> planner.WorkflowPlan

:class:`WorkflowPlan` (frozen) has ``tasks`` (``model.executions.TaskSpec``, in dependency
order, each naming the keys it ``depends_on``), ``parameters`` (resolved: given values and
defaults), ``description``, ``ignore_failure_keys`` (tasks whose failure is passed over),
``status_check_keys`` (tasks whose outcome goes into ``system_properties["status"]``) and
``change`` (:class:`InstanceChange`, scale only; ``added_instances`` and
``removed_instance_ids`` are shortcuts to it).

Errors: :class:`cairn.errors.NotFoundError` for a workflow the deployment does not have;
:class:`cairn.errors.InputError` listing every problem with the parameters (missing, unknown,
wrong type, naming nodes or instances that do not exist, kwargs clashing with operation
inputs, impossible scale requests); :class:`cairn.errors.UsageError` for a workflow Cairn
cannot run (a plugin workflow) or relationships that form a cycle;
:class:`cairn.errors.ConflictError` when heal would need to reinstall but may not.

Workflows (Cloudify's semantics, cloudify-common 7.0.5 ``cloudify/plugins``): install,
uninstall, reinstall, start, stop, restart, execute_operation, heal, scale, rollback,
check_status, pull, and script workflows from the blueprint's ``workflows:`` section (one
OPERATION task ``workflow:<name>`` with the parameters as inputs, no instance). Keys are
readable and deterministic: ``web_x1y2z3/create``, ``web_x1y2z3/state/created``,
``web_x1y2z3/rel0/preconfigure/source``; in workflows of several phases each key starts with
its phase (``uninstall/web_x1y2z3/stop``) and phases are joined by ``<phase>/done`` NOOP tasks.

Updates are planned apart (they compare two deployment plans and are not in a blueprint's
``workflows:``): :func:`cairn.planner.updating.plan_update` gives an ``UpdatePlan`` with the
delta of :mod:`.delta` (``plan_changes``, ``instance_changes``) and the tasks.

Modules: :mod:`.workflows` (dispatch), :mod:`.standard` and :mod:`.healing` and
:mod:`.scaling` (the workflows), :mod:`.lifecycle` (phases, ordering between instances),
:mod:`.steps` (one instance's steps), :mod:`.operations` (one-operation workflows),
:mod:`.graph` (chains to tasks), :mod:`.parameters`, :mod:`.topology`, :mod:`.containment`.
"""

from cairn.planner.result import InstanceChange, WorkflowPlan
from cairn.planner.workflows import plan_workflow

__all__ = ["InstanceChange", "WorkflowPlan", "plan_workflow"]
