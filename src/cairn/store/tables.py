"""The schema, as SQLAlchemy Core tables: the single source the migrations must match.

Enumerations are stored as their string values (checked in Python, not by the database), so
a new state never needs a migration. Times are stored in UTC (:class:`UtcDateTime`): SQLite
keeps them as fixed-width text, which compares in time order, and PostgreSQL as
``timestamptz``. Open-ended values (plans, inputs, runtime properties) are JSON.

A task counts its unfinished dependencies in ``pending_deps``; the edges are kept in
``task_dependencies`` so that a task's success can lower its dependents' counts in one
statement, and a claim only has to walk ``ix_tasks_claim`` (state, pending_deps, id) from
``('pending', 0)`` in id order; ``run_after`` is checked on the rows it meets, since the
few tasks that wait for a retry would otherwise cost every claim a sort.
The partial unique index ``uq_executions_one_active`` is what finally guarantees one active
execution per deployment, even between two manager replicas.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterator
from typing import Any

import sqlalchemy as sa

from cairn.model import executions as execution_model

# Statuses in which an execution holds its deployment; uq_executions_one_active covers them.
# ids per IN (...) list in one statement: well under SQLite's limit on bound parameters
IN_CHUNK = 500


def in_chunks(keys: Collection[str]) -> Iterator[list[str]]:
    """``keys`` sorted, without repeats, in lists of at most :data:`IN_CHUNK`: one
    ``IN (...)`` statement each."""
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start : start + IN_CHUNK]


ACTIVE_STATUSES = tuple(sorted(status.value for status in execution_model.ACTIVE))

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime.datetime]):
    """An aware datetime in, an aware UTC datetime out; naive datetimes are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime.datetime | None, dialect: sa.Dialect
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} (the store needs aware UTC times)"
            )
        value = value.astimezone(datetime.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self, value: datetime.datetime | None, dialect: sa.Dialect
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)


# Integer keys that count up by themselves: BIGINT on PostgreSQL, and on SQLite the INTEGER
# PRIMARY KEY that aliases the rowid (a BIGINT column there would not count up).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id(name: str = "id") -> sa.Column[Any]:
    return sa.Column(name, sa.String, primary_key=True)


def _required(name: str, type_: Any) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=False)


def _optional(name: str, type_: Any, *, index: bool = False) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=True, index=index)


blueprints = sa.Table(
    "blueprints",
    metadata,
    _id(),
    _required("main_file", sa.String),
    _required("plan", sa.JSON),
    _optional("description", sa.Text),
    _required("created_at", UtcDateTime),
    _required("created_by", sa.String),
)

deployments = sa.Table(
    "deployments",
    metadata,
    _id(),
    sa.Column(
        "blueprint_id",
        sa.String,
        sa.ForeignKey("blueprints.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    _required("inputs", sa.JSON),
    _required("plan", sa.JSON),
    _required("site", sa.String),
    _required("labels", sa.JSON),
    _required("created_at", UtcDateTime),
    _required("created_by", sa.String),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    _optional("drift_policy", sa.JSON),
    _optional("drift_next_at", UtcDateTime, index=True),
)

# Every revision of every deployment: what it was made from, and how applying it went.
deployment_revisions = sa.Table(
    "deployment_revisions",
    metadata,
    sa.Column(
        "deployment_id",
        sa.String,
        sa.ForeignKey("deployments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("revision", sa.Integer, primary_key=True),
    _required("blueprint_id", sa.String),
    _required("inputs", sa.JSON),
    _required("plan", sa.JSON),
    _required("created_at", UtcDateTime),
    _required("created_by", sa.String),
    _required("status", sa.String),
    _optional("execution_id", sa.String),
    _required("summary", sa.JSON),
)

node_instances = sa.Table(
    "node_instances",
    metadata,
    _id(),
    sa.Column(
        "deployment_id",
        sa.String,
        sa.ForeignKey("deployments.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _required("node_id", sa.String),
    _optional("host_id", sa.String),
    _required("state", sa.String),
    _required("runtime_properties", sa.JSON),
    _required("relationships", sa.JSON),
    _required("scaling_groups", sa.JSON),
    _required("system_properties", sa.JSON),
    _required("version", sa.Integer),
)

executions = sa.Table(
    "executions",
    metadata,
    _id(),
    sa.Column(
        "deployment_id",
        sa.String,
        sa.ForeignKey("deployments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # Creation order, for FIFO among executions created in the same clock tick.
    _required("seq", sa.BigInteger),
    _required("workflow_id", sa.String),
    _required("parameters", sa.JSON),
    _required("status", sa.String),
    _required("created_at", UtcDateTime),
    _optional("started_at", UtcDateTime),
    _optional("ended_at", UtcDateTime),
    _optional("error", sa.Text),
    _required("created_by", sa.String),
    sa.Index("ix_executions_deployment_id_status", "deployment_id", "status"),
    sa.Index("ix_executions_created_at_seq", "created_at", "seq"),
    sa.Index("ix_executions_status", "status"),
    sa.Index(
        "uq_executions_one_active",
        "deployment_id",
        unique=True,
        sqlite_where=sa.column("status").in_(ACTIVE_STATUSES),
        postgresql_where=sa.column("status").in_(ACTIVE_STATUSES),
    ),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "execution_id",
        sa.String,
        sa.ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # The TaskSpec, one column per field.
    _required("key", sa.String),
    _required("kind", sa.String),
    _optional("node_instance_id", sa.String),
    _optional("operation", sa.String),
    _optional("instance_state", sa.String),
    _optional("relationship_index", sa.Integer),
    _optional("target_instance_id", sa.String),
    _optional("side", sa.String),
    _required("inputs", sa.JSON),
    _required("depends_on", sa.JSON),  # the keys, as planned; the edges are task_dependencies
    _required("description", sa.Text),
    _required("ignore_failure", sa.Boolean),
    _required("records_status", sa.Boolean),
    _optional("revision", sa.Integer),  # the deployment revision whose plan the task runs by
    # Where the task is now.
    _required("state", sa.String),
    _required("pending_deps", sa.Integer),
    _required("attempt", sa.Integer),
    _optional("run_after", UtcDateTime),
    _optional("lease_owner", sa.String),
    _optional("lease_expires_at", UtcDateTime),
    _optional("result", sa.JSON),
    _optional("error", sa.Text),
    sa.UniqueConstraint("execution_id", "key"),
    sa.Index("ix_tasks_claim", "state", "pending_deps", "id"),
    sa.Index("ix_tasks_lease", "state", "lease_expires_at"),
)

task_dependencies = sa.Table(
    "task_dependencies",
    metadata,
    sa.Column(
        "task_id",
        BigId,
        sa.ForeignKey("tasks.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "depends_on_id",
        BigId,
        sa.ForeignKey("tasks.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "execution_id",
        sa.String,
        sa.ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "deployment_id",
        sa.String,
        sa.ForeignKey("deployments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    _required("timestamp", UtcDateTime),
    _required("type", sa.String),
    _required("message", sa.Text),
    _required("level", sa.String),
    _optional("node_instance_id", sa.String),
    _optional("operation", sa.String),
    _optional("task_id", sa.BigInteger),
    _optional("attempt", sa.Integer),
    _required("context", sa.JSON),
    sa.Index("ix_events_execution_id_id", "execution_id", "id"),
    sa.Index("ix_events_deployment_id_id", "deployment_id", "id"),
)

secrets = sa.Table(
    "secrets",
    metadata,
    _id("name"),
    _required("ciphertext", sa.LargeBinary),
    _required("created_at", UtcDateTime),
    _required("updated_at", UtcDateTime),
    _required("created_by", sa.String),
)

tokens = sa.Table(
    "tokens",
    metadata,
    _id(),
    sa.Column("digest", sa.String, nullable=False, unique=True),
    _required("role", sa.String),
    _required("description", sa.Text),
    _required("created_at", UtcDateTime),
    _required("revoked", sa.Boolean),
    _optional("site", sa.String),
)

sites = sa.Table(
    "sites",
    metadata,
    _id("name"),
    _optional("latitude", sa.Float),
    _optional("longitude", sa.Float),
    _required("labels", sa.JSON),
    _optional("description", sa.Text),
    _required("created_at", UtcDateTime),
    _required("created_by", sa.String),
    _optional("agent_version", sa.String),
    _optional("agent_address", sa.String),
    _optional("last_seen", UtcDateTime),
)

# Operation attempts handed to site agents: stored before an agent can fetch them. ``payload``
# is the dispatch as the agent receives it; the rest is where the handover stands, and the
# outcome the agent reported, kept until the engine has applied it (state ``done``).
site_attempts = sa.Table(
    "site_attempts",
    metadata,
    _id("key"),
    _required("site", sa.String),
    sa.Column(
        "execution_id",
        sa.String,
        sa.ForeignKey("executions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _required("task_id", sa.BigInteger),
    _required("payload", sa.JSON),
    _required("state", sa.String),
    _optional("timeout", sa.Float),
    _required("created_at", UtcDateTime),
    _optional("delivered_at", UtcDateTime),
    _optional("acknowledged_at", UtcDateTime),
    _optional("confirmed_at", UtcDateTime),
    # given up unless the agent reports or confirms before this (set when a timeout applies)
    _optional("deadline", UtcDateTime),
    _required("deliveries", sa.Integer),
    _required("kill_requested", sa.Boolean),
    _optional("outcome", sa.JSON),  # the agent's report, once the attempt ended there
    _optional("reported_at", UtcDateTime),
    sa.Index("ix_site_attempts_site_state", "site", "state"),
    sa.Index("ix_site_attempts_state_deadline", "state", "deadline"),
)

# Saved filters: named rule lists (model.filters) that pick deployments or sites.
filters = sa.Table(
    "filters",
    metadata,
    _id("name"),
    _required("kind", sa.String),  # "deployments" | "sites"
    _required("rules", sa.JSON),
    _optional("description", sa.Text),
    _required("created_at", UtcDateTime),
    _required("created_by", sa.String),
)

# Groups of deployments: membership is stored (a filter adds what matches when it is used).
groups = sa.Table(
    "groups",
    metadata,
    _id(),
    _optional("description", sa.Text),
    _required("created_at", UtcDateTime),
    _required("created_by", sa.String),
)

group_members = sa.Table(
    "group_members",
    metadata,
    sa.Column(
        "group_id", sa.String, sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "deployment_id",
        sa.String,
        sa.ForeignKey("deployments.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    _required("added_at", UtcDateTime),
)

# Rollouts: one workflow across a group's deployments (snapshotted as members when it
# starts), in waves. The whole state is here: any manager process continues it; the one
# holding the lease (``lease_owner`` until ``lease_until``) is the one acting on it.
rollouts = sa.Table(
    "rollouts",
    metadata,
    _id(),
    _required("group_id", sa.String),
    _required("workflow_id", sa.String),
    _required("parameters", sa.JSON),
    _required("settings", sa.JSON),  # concurrency, waves, soak, max_failures, on_failure, offline
    _required("status", sa.String),
    _required("wave", sa.Integer),  # the wave now running (0-based)
    _required("waves", sa.Integer),  # how many waves
    _optional("next_wave_at", UtcDateTime),  # the wave ended: the next starts after the soak
    _required("failure_base", sa.Integer),  # failures already counted when it was last resumed
    _optional("reason", sa.Text),  # why it paused, stopped or rolled back
    _required("created_at", UtcDateTime),
    _required("created_by", sa.String),
    _optional("ended_at", UtcDateTime),
    _optional("lease_owner", sa.String),
    _optional("lease_until", UtcDateTime),
    _required("version", sa.Integer),
    sa.Index("ix_rollouts_status", "status"),
)

rollout_members = sa.Table(
    "rollout_members",
    metadata,
    sa.Column(
        "rollout_id",
        sa.String,
        sa.ForeignKey("rollouts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("deployment_id", sa.String, primary_key=True),
    _required("position", sa.Integer),
    _required("wave", sa.Integer),
    _required("site", sa.String),
    _required("status", sa.String),
    _optional("execution_id", sa.String),
    _required("attempts", sa.Integer),
    _optional("error", sa.Text),  # the first line of the last failure
    _optional("from_revision", sa.Integer),  # the deployment's revision before its update
    _optional("to_revision", sa.Integer),
    _optional("rollback_execution_id", sa.String),
    _optional("started_at", UtcDateTime),
    _optional("ended_at", UtcDateTime),
    _required("updated_at", UtcDateTime),
    sa.Index("ix_rollout_members_rollout_id_status", "rollout_id", "status"),
    sa.Index("ix_rollout_members_rollout_id_wave_position", "rollout_id", "wave", "position"),
)
