"""Deployment revisions (updates, history, revert) and per-deployment drift policies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("drift_policy", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("drift_next_at", _TIME, nullable=True))
        batch.create_index("ix_deployments_drift_next_at", ["drift_next_at"])
    with op.batch_alter_table("tasks") as batch:
        # an update's tasks run by the plan of the revision they belong to (old or new)
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=True))
    op.create_table(
        "deployment_revisions",
        sa.Column("deployment_id", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("blueprint_id", sa.String(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_deployment_revisions_deployment_id_deployments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deployment_id", "revision", name="pk_deployment_revisions"),
    )


def downgrade() -> None:
    op.drop_table("deployment_revisions")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("revision")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_index("ix_deployments_drift_next_at")
        batch.drop_column("drift_next_at")
        batch.drop_column("drift_policy")
        batch.drop_column("revision")
