"""Filter use cases: check rules, save them under a name, and pick the deployments or sites
they match.

Rules come from the command line as strings and from the API as JSON objects (or strings);
:mod:`cairn.model.filters` parses both. Every bad rule is reported at once, in one
:class:`~cairn.services.ids.FieldError`, before anything is read or changed.

A deployment's ``status`` and ``drifted`` attributes cost a read of every execution and of
every node instance's system properties; they are read only when a rule looks at them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cairn import errors
from cairn.model import filters as model
from cairn.model import groups, runtime
from cairn.services import ids
from cairn.services import sites as sites_service

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod


def parse(
    given: Iterable[Any], *, kind: model.Kind = model.Kind.DEPLOYMENTS, field: str = "filter"
) -> list[model.Rule]:
    """Rules from strings or JSON objects; a FieldError naming every bad one."""
    rules, problems = model.parse_all(given, kind=kind)
    if problems:
        raise ids.FieldError("; ".join(problems), field=field)
    return rules


def parse_kind(text: str, *, field: str = "kind") -> model.Kind:
    try:
        return model.Kind(text)
    except ValueError:
        raise ids.FieldError(
            f"kind {text!r}: expected {' or '.join(k.value for k in model.Kind)}", field=field
        ) from None


def create(
    manager: manager_mod.Manager,
    *,
    name: str,
    rules: Sequence[Any],
    kind: model.Kind = model.Kind.DEPLOYMENTS,
    description: str | None = None,
    user: str = "admin",
) -> groups.SavedFilter:
    """A saved filter. FieldError for a bad name or rule (or none), ConflictError if the
    name is taken."""
    ids.check(name, what="filter name", field="name")
    parsed = parse(rules, kind=kind, field="rules")
    if not parsed:
        raise ids.FieldError("a filter needs at least one rule", field="rules")
    saved = groups.SavedFilter(
        name=name,
        kind=kind,
        rules=tuple(parsed),
        created_at=manager.clock.now(),
        description=description or None,
        created_by=user,
    )
    manager.store.create_filter(saved)
    return saved


def get(manager: manager_mod.Manager, name: str) -> groups.SavedFilter:
    return manager.store.get_filter(name)


def list_(
    manager: manager_mod.Manager, *, kind: model.Kind | None = None
) -> list[groups.SavedFilter]:
    return manager.store.list_filters(kind=kind)


def delete(manager: manager_mod.Manager, name: str) -> None:
    manager.store.delete_filter(name)


def resolve(
    manager: manager_mod.Manager,
    *,
    rules: Iterable[Any] = (),
    filter_id: str | None = None,
    kind: model.Kind = model.Kind.DEPLOYMENTS,
    field: str = "filter",
) -> list[model.Rule]:
    """The given rules and those of the saved filter ``filter_id`` (all must hold).
    FieldError for a bad rule, an unknown saved filter or one for the other kind."""
    parsed = parse(rules, kind=kind, field=field)
    if filter_id:
        try:
            saved = manager.store.get_filter(filter_id)
        except errors.NotFoundError:
            raise ids.FieldError(
                f"filter {filter_id!r} does not exist (see `cairn filters list`)",
                field="filter_id",
            ) from None
        if saved.kind is not kind:
            raise ids.FieldError(
                f"filter {filter_id!r} picks {saved.kind.value}, not {kind.value}",
                field="filter_id",
            )
        parsed.extend(saved.rules)
    return parsed


_FEW = 20  # up to this many deployments, their executions are read one by one


def deployment_statuses(
    manager: manager_mod.Manager, deployment_ids: Iterable[str] | None = None
) -> dict[str, model.DeploymentStatus]:
    """Each deployment's status (:func:`cairn.model.filters.deployment_status`); every
    deployment when ``deployment_ids`` is None."""
    history: dict[str, list[Any]] = {}
    every = deployment_ids is None
    wanted = (
        [d.id for d in manager.store.list_deployments()] if every else list(deployment_ids or ())
    )
    if not every and len(wanted) <= _FEW:
        for deployment_id in wanted:
            history[deployment_id] = manager.store.list_executions(deployment_id=deployment_id)
    else:
        for execution in manager.store.list_executions():
            history.setdefault(execution.deployment_id, []).append(execution)
    return {d: model.deployment_status(history.get(d, [])) for d in wanted}


def select_deployments(
    manager: manager_mod.Manager,
    rules: Sequence[model.Rule],
    deployments: Sequence[runtime.Deployment] | None = None,
) -> list[runtime.Deployment]:
    """Those of ``deployments`` (default: all, oldest first) that every rule matches."""
    from cairn.services import drift

    if deployments is None:
        deployments = sorted(manager.store.list_deployments(), key=lambda d: (d.created_at, d.id))
    if not rules:
        return list(deployments)
    statuses: Mapping[str, model.DeploymentStatus] = {}
    drifted: Mapping[str, bool] = {}
    if model.uses(rules, "status"):
        statuses = deployment_statuses(manager)
    if model.uses(rules, "drifted"):
        drifted = {d.deployment.id: d.summary.drifted for d in drift.summaries(manager)}
    found = []
    for deployment in deployments:
        attributes = {"id": deployment.id, "blueprint": deployment.blueprint_id}
        attributes["site"] = deployment.site
        if deployment.id in statuses:
            attributes["status"] = statuses[deployment.id].value
        if deployment.id in drifted:
            attributes["drifted"] = "true" if drifted[deployment.id] else "false"
        subject = model.Subject(labels=deployment.labels, attributes=attributes)
        if model.matches(rules, subject):
            found.append(deployment)
    return found


def select_sites(
    manager: manager_mod.Manager, rules: Sequence[model.Rule]
) -> list[sites_service.SiteView]:
    """The sites (by name) that every rule matches."""
    found = []
    for view in sites_service.list_(manager):
        attributes = {"name": view.site.name, "status": view.status.value}
        if model.matches(rules, model.Subject(labels=view.site.labels, attributes=attributes)):
            found.append(view)
    return found
