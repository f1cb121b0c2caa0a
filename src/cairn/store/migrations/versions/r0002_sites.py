"""Sites, agent tokens, and the operation attempts handed to site agents with their outcomes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("site", sa.String(), nullable=True))
    op.create_table(
        "sites",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("agent_version", sa.String(), nullable=True),
        sa.Column("agent_address", sa.String(), nullable=True),
        sa.Column("last_seen", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_sites"),
    )
    op.create_table(
        "site_attempts",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("delivered_at", _TIME, nullable=True),
        sa.Column("acknowledged_at", _TIME, nullable=True),
        sa.Column("confirmed_at", _TIME, nullable=True),
        sa.Column("deadline", _TIME, nullable=True),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("kill_requested", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("reported_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_site_attempts_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name="pk_site_attempts"),
    )
    op.create_index("ix_site_attempts_execution_id", "site_attempts", ["execution_id"])
    op.create_index("ix_site_attempts_site_state", "site_attempts", ["site", "state"])
    op.create_index("ix_site_attempts_state_deadline", "site_attempts", ["state", "deadline"])


def downgrade() -> None:
    op.drop_table("site_attempts")
    op.drop_table("sites")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("site")
