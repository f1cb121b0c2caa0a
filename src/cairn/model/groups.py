"""Groups of deployments and saved filters, as the store keeps them.

A group's membership is stored, not recomputed: a filter given when a group is created or
extended adds the deployments that match at that moment. A rollout takes the member list
when it starts. Deleting a deployment takes it out of every group; deleting a group leaves
its deployments alone.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cairn.model import filters


@dataclass(frozen=True, kw_only=True)
class Group:
    id: str
    created_at: datetime.datetime
    description: str | None = None
    created_by: str = "admin"
    member_count: int = 0  # as read; the store fills it in


@dataclass(frozen=True, kw_only=True)
class SavedFilter:
    """A named rule list that picks deployments or sites."""

    name: str
    kind: filters.Kind
    rules: tuple[filters.Rule, ...]
    created_at: datetime.datetime
    description: str | None = None
    created_by: str = "admin"
