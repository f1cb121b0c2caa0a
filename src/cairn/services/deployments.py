"""Deployment use cases: create one from a stored blueprint and inputs, read it, delete it.

Creating a deployment parses the blueprint from its folder on the manager, applies the
inputs (every problem reported at once), checks that the secrets it names exist, and
stores the deployment with its node instances, all uninitialized. Nothing runs until a
workflow is started (:mod:`cairn.services.executions`).

Outputs and capabilities are evaluated when they are asked for, against the node
instances as they are then (``get_attribute``, ``get_secret``, ``concat``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cairn import errors
from cairn.model import deployment as deployment_model
from cairn.model import plan as plan_model
from cairn.model import runtime, sites
from cairn.services import auth, blueprints, ids
from cairn.services import sites as sites_service

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod

HIDDEN = "<hidden: secret>"  # what a viewer sees in place of a get_secret value
LIVE_STATES = frozenset(runtime.InstanceState) - {
    runtime.InstanceState.UNINITIALIZED,
    runtime.InstanceState.DELETED,
}


def create(
    manager: manager_mod.Manager,
    *,
    deployment_id: str,
    blueprint_id: str,
    inputs: Mapping[str, Any] | None = None,
    labels: Mapping[str, Sequence[str]] | None = None,
    site: str = sites.LOCAL,
    user: str = "admin",
) -> runtime.Deployment:
    """A new deployment of blueprint ``blueprint_id`` with ``inputs``, placed on ``site``.

    Raises :class:`~cairn.errors.InputError` listing every problem with the inputs (and any
    secret the blueprint reads that does not exist), :class:`~cairn.errors.ConflictError`
    if the id is taken, :class:`~cairn.errors.NotFoundError` for an unknown blueprint, a
    :class:`~cairn.services.ids.FieldError` for an unknown site.
    """
    from cairn.dsl import deployment as dsl_deployment
    from cairn.dsl import parser

    ids.check(deployment_id, what="deployment id", field="deployment_id")
    _ensure_absent(manager, deployment_id)
    sites_service.require(manager, site)
    blueprint = manager.store.get_blueprint(blueprint_id)
    parsed = parser.parse_path(
        str(blueprints.main_path(manager, blueprint)), options=blueprints.parse_options()
    )
    # Node instance ids (``<node>_<6 random characters>``) are unique across deployments; with
    # very many deployments of one blueprint two can draw the same id. The store refuses the
    # second one whole, so drawing new ids and trying again is safe.
    for attempt in range(_ID_ATTEMPTS):
        prepared = dsl_deployment.prepare(parsed, dict(inputs or {}))
        check_secrets(manager, prepared.secrets)
        deployment = runtime.Deployment(
            id=deployment_id,
            blueprint_id=blueprint_id,
            inputs=dict(prepared.inputs),
            plan=deployment_model.to_json(prepared),
            created_at=manager.clock.now(),
            site=site,
            labels=_labels(prepared.labels, labels or {}),
            created_by=user,
        )
        instances = [_instance(deployment_id, i) for i in prepared.node_instances]
        try:
            manager.store.create_deployment(deployment, instances)
        except errors.ConflictError:
            _ensure_absent(manager, deployment_id)  # a same-named deployment won the race
            if attempt == _ID_ATTEMPTS - 1:
                raise
            continue
        return deployment
    raise AssertionError("unreachable")  # pragma: no cover


_ID_ATTEMPTS = 5


def _ensure_absent(manager: manager_mod.Manager, deployment_id: str) -> None:
    try:
        manager.store.get_deployment(deployment_id)
    except errors.NotFoundError:
        return
    raise errors.ConflictError(f"deployment '{deployment_id}' already exists")


def check_secrets(manager: manager_mod.Manager, names: Sequence[str]) -> None:
    """InputError naming every secret in ``names`` that does not exist."""
    if not names:
        return
    known = {s.name for s in manager.store.list_secrets()}
    missing = [name for name in names if name not in known]
    if missing:
        raise errors.InputError(
            [f"secret '{name}' does not exist (the blueprint reads it)" for name in missing]
        )


def _labels(
    declared: Mapping[str, Any], given: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """The blueprint's ``labels:`` ({key: {values: [...]}}) merged with the given ones."""
    merged: dict[str, list[str]] = {}
    for key, spec in declared.items():
        values = spec.get("values") if isinstance(spec, Mapping) else spec
        items = values if isinstance(values, list) else [values]
        merged.setdefault(str(key), []).extend(str(v) for v in items if v is not None)
    for key, values in ids.labels(given).items():
        merged.setdefault(key, []).extend(values)
    return {key: tuple(dict.fromkeys(values)) for key, values in merged.items()}


def _instance(deployment_id: str, planned: deployment_model.NodeInstance) -> runtime.NodeInstance:
    relationships: tuple[Mapping[str, plan_model.JSON], ...] = tuple(
        {"type": r.type, "target_id": r.target_id, "target_name": r.target_name}
        for r in planned.relationships
    )
    groups: tuple[Mapping[str, plan_model.JSON], ...] = tuple(
        {"name": g.name, "id": g.id} for g in planned.scaling_groups
    )
    return runtime.NodeInstance(
        id=planned.id,
        deployment_id=deployment_id,
        node_id=planned.node_id,
        host_id=planned.host_id,
        state=runtime.InstanceState.UNINITIALIZED,
        runtime_properties={},
        relationships=relationships,
        scaling_groups=groups,
    )


def list_(
    manager: manager_mod.Manager, *, blueprint_id: str | None = None
) -> list[runtime.Deployment]:
    found = manager.store.list_deployments(blueprint_id=blueprint_id)
    return sorted(found, key=lambda d: (d.created_at, d.id))


def get(manager: manager_mod.Manager, deployment_id: str) -> runtime.Deployment:
    return manager.store.get_deployment(deployment_id)


def update_labels(
    manager: manager_mod.Manager,
    deployment_id: str,
    *,
    labels: Mapping[str, Sequence[str]] | None = None,
    remove_labels: Sequence[str] = (),
    replace_labels: bool = False,
) -> runtime.Deployment:
    """Changes a deployment's labels as :func:`cairn.services.sites.update` changes a
    site's: ``replace_labels`` drops them all first, then ``remove_labels`` (``KEY`` or
    ``KEY=VALUE``) are removed and ``labels`` added. NotFoundError for an unknown
    deployment, FieldError for a bad key or a removal of a label it does not have."""
    current = manager.store.get_deployment(deployment_id)
    kept = ids.edit_labels(
        current.labels,
        add=labels or {},
        remove=remove_labels,
        replace=replace_labels,
        owner="the deployment",
    )
    return manager.store.set_deployment_labels(deployment_id, kept)


def delete(manager: manager_mod.Manager, deployment_id: str, *, force: bool = False) -> None:
    """Delete a deployment with its instances, executions and events.

    Refused (:class:`~cairn.errors.ConflictError`) while an execution is active or queued,
    and, unless ``force``, while node instances are still installed (run uninstall first).
    """
    manager.store.get_deployment(deployment_id)
    if not force:
        live = [i for i in manager.store.list_instances(deployment_id) if i.state in LIVE_STATES]
        if live:
            raise errors.ConflictError(
                f"deployment '{deployment_id}' still has {len(live)} installed node "
                f"instance{'s' if len(live) != 1 else ''} (e.g. {live[0].id}: "
                f"{live[0].state.value}); run the uninstall workflow first, or force the deletion"
            )
    manager.store.delete_deployment(deployment_id)


def inputs(manager: manager_mod.Manager, deployment_id: str) -> dict[str, Any]:
    return dict(manager.store.get_deployment(deployment_id).inputs)


@dataclass(frozen=True, kw_only=True)
class Value:
    """One output or capability: its value now, and its description."""

    value: Any
    description: str | None = None


def outputs(
    manager: manager_mod.Manager, deployment_id: str, *, caller: auth.Caller
) -> dict[str, Value]:
    return _section(manager, deployment_id, "outputs", caller=caller)


def capabilities(
    manager: manager_mod.Manager, deployment_id: str, *, caller: auth.Caller
) -> dict[str, Value]:
    return _section(manager, deployment_id, "capabilities", caller=caller)


def _section(
    manager: manager_mod.Manager, deployment_id: str, name: str, *, caller: auth.Caller
) -> dict[str, Value]:
    from cairn.dsl import runtime as runtime_functions

    deployment = manager.store.get_deployment(deployment_id)
    section = deployment.plan.get(name) or {}
    if not isinstance(section, Mapping):
        return {}
    secret = _secret_reader(manager, caller)
    evaluated = runtime_functions.Evaluator(
        deployment_plan=deployment.plan,
        instances=manager.store.list_instances(deployment_id),
        secret=secret,
        capability=_capability_reader(manager, secret, depth=0),
        deployment=deployment,
    ).section(name)
    result: dict[str, Value] = {}
    for key, spec in section.items():
        description = spec.get("description") if isinstance(spec, Mapping) else None
        result[str(key)] = Value(
            value=plan_model.jsonable(evaluated.get(key)),
            description=description if isinstance(description, str) else None,
        )
    return result


def _secret_reader(manager: manager_mod.Manager, caller: auth.Caller) -> Callable[[str], str]:
    """``get_secret`` for outputs: the value for operators and admins, hidden for viewers."""
    if auth.allows(caller.role, runtime.Role.OPERATOR):
        return manager.secret_value
    return lambda _name: HIDDEN


MAX_CAPABILITY_DEPTH = 10


def _capability_reader(
    manager: manager_mod.Manager, secret: Callable[[str], str], *, depth: int
) -> Callable[[str, str], Any]:
    """``get_capability``: another deployment's capability, evaluated now."""
    from cairn.dsl import runtime as runtime_functions

    def read(deployment_id: str, name: str) -> Any:
        if depth >= MAX_CAPABILITY_DEPTH:
            raise errors.ConflictError(
                f"capabilities refer to each other more than {MAX_CAPABILITY_DEPTH} deep"
            )
        other = manager.store.get_deployment(deployment_id)
        found = runtime_functions.Evaluator(
            deployment_plan=other.plan,
            instances=manager.store.list_instances(deployment_id),
            secret=secret,
            capability=_capability_reader(manager, secret, depth=depth + 1),
            deployment=other,
        ).section("capabilities")
        if name not in found:
            raise errors.NotFoundError(f"deployment '{deployment_id}' has no capability '{name}'")
        return found[name]

    return read
