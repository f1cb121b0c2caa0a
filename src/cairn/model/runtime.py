"""What the manager keeps on record: blueprints, deployments, node instances, events.

Frozen, keyword-only dataclasses; the store converts them to and from rows. Times are
timezone-aware UTC datetimes given by the injected clock, never read from the system here.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cairn.model import plan

JSON = plan.JSON


class InstanceState(StrEnum):
    """Cloudify's node instance lifecycle states, in install order."""

    UNINITIALIZED = "uninitialized"
    CREATING = "creating"
    CREATED = "created"
    CONFIGURING = "configuring"
    CONFIGURED = "configured"
    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    STOPPED = "stopped"
    DELETING = "deleting"
    DELETED = "deleted"


INSTALL_ORDER = (
    InstanceState.UNINITIALIZED,
    InstanceState.CREATING,
    InstanceState.CREATED,
    InstanceState.CONFIGURING,
    InstanceState.CONFIGURED,
    InstanceState.STARTING,
    InstanceState.STARTED,
)


def install_progress(state: InstanceState) -> int:
    """How far an instance got in install: 0 (nothing) .. 6 (started); -1 once torn down."""
    if state in INSTALL_ORDER:
        return INSTALL_ORDER.index(state)
    return -1


def merge_runtime_properties(
    current: Mapping[str, Any], before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> dict[str, Any]:
    """An attempt's changes (``before`` -> ``after``) applied to ``current``, key by key, so
    concurrent attempts on one instance do not undo each other's writes; without
    ``before``, ``after`` replaces everything."""
    if before is None:
        return dict(after)
    merged = dict(current)
    for key, value in after.items():
        if key not in before or before[key] != value:
            merged[key] = value
    for key in before:
        if key not in after:
            merged.pop(key, None)
    return merged


@dataclass(frozen=True, kw_only=True)
class Blueprint:
    """An uploaded blueprint. Its files are kept under ``<data_dir>/blueprints/<id>/``
    (``services.manager.Manager.blueprint_dir``); ``main_file`` is relative to that folder."""

    id: str
    main_file: str
    plan: Mapping[str, JSON]  # model.plan.to_json of the parsed blueprint
    created_at: datetime.datetime
    description: str | None = None
    created_by: str = "admin"


@dataclass(frozen=True, kw_only=True)
class Deployment:
    id: str
    blueprint_id: str
    inputs: Mapping[str, JSON]
    plan: Mapping[str, JSON]  # model.deployment.to_json of the deployment plan
    created_at: datetime.datetime
    site: str = "local"
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    created_by: str = "admin"
    revision: int = 1  # the revision now in force (deployment_revisions keeps them all)
    # {"mode": "off" | "detect" | "correct", "interval": seconds}; None: off
    drift_policy: Mapping[str, JSON] | None = None
    drift_next_at: datetime.datetime | None = None  # when the next scheduled check is due


@dataclass(frozen=True, kw_only=True)
class NodeInstance:
    """A node instance as it is now. ``version`` grows with every write (optimistic locking)."""

    id: str
    deployment_id: str
    node_id: str
    host_id: str | None
    state: InstanceState
    runtime_properties: Mapping[str, JSON]
    relationships: tuple[Mapping[str, JSON], ...]  # [{type, target_id, target_name}]
    scaling_groups: tuple[Mapping[str, JSON], ...] = ()
    # what workflows learn about the instance: {"status": {...}} from check_status,
    # {"drift": {...}} from check_drift, ...
    system_properties: Mapping[str, JSON] = field(default_factory=dict)
    version: int = 1


@dataclass(frozen=True, kw_only=True)
class Event:
    """One event or log line of an execution. ``id`` is given by the store, increasing."""

    execution_id: str
    deployment_id: str
    timestamp: datetime.datetime
    type: str  # workflow_started, task_started, task_succeeded, task_failed, log, ...
    message: str
    level: str = "info"  # log level for log lines
    node_instance_id: str | None = None
    operation: str | None = None
    task_id: int | None = None
    attempt: int | None = None
    context: Mapping[str, JSON] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Secret:
    """A secret's metadata and its value encrypted at rest (never the plain value)."""

    name: str
    ciphertext: bytes
    created_at: datetime.datetime
    updated_at: datetime.datetime
    created_by: str = "admin"


@dataclass(frozen=True, kw_only=True)
class Revision:
    """One revision of a deployment: the blueprint and inputs it was made from, and how
    applying it went. Revision 1 is the deployment as created."""

    deployment_id: str
    revision: int
    blueprint_id: str
    inputs: Mapping[str, JSON]
    plan: Mapping[str, JSON]  # the deployment plan of this revision
    created_at: datetime.datetime
    created_by: str = "admin"
    status: str = "applied"  # pending, applied, failed
    execution_id: str | None = None  # the update execution that applied it
    summary: Mapping[str, JSON] = field(default_factory=dict)  # the delta from the one before


class Role(StrEnum):
    ADMIN = "admin"  # everything, tokens and secrets included
    OPERATOR = "operator"  # reads, runs workflows, manages blueprints and deployments
    VIEWER = "viewer"  # reads
    AGENT = "agent"  # a site's agent: fetches and reports its own site's work, nothing else


@dataclass(frozen=True, kw_only=True)
class Token:
    """An API token; only its SHA-256 digest is stored."""

    id: str
    digest: str
    role: Role
    description: str
    created_at: datetime.datetime
    revoked: bool = False
    site: str | None = None  # the site an agent token belongs to (role agent only)
