"""Sites and the work the manager hands to their agents.

A :class:`Site` is a place where deployments run. Its agent pulls work: each operation
attempt of a deployment on the site becomes a :class:`SiteAttempt`, stored before the agent
can see it, delivered under a lease when the agent asks, and closed by the agent's report.
Times are aware UTC datetimes from the injected clock.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cairn.model import plan

JSON = plan.JSON

LOCAL = "local"  # the built-in site: operations run on the manager's machine
# A site is online while its agent was seen this recently. Agents poll far more often (a long
# poll returns well within this window), so one late poll does not flip a site to offline.
ONLINE_WINDOW = datetime.timedelta(seconds=45)


class SiteStatus(StrEnum):
    ONLINE = "online"  # its agent is connected or was seen within the heartbeat window
    OFFLINE = "offline"  # its agent was seen before, but not lately
    NEVER_SEEN = "never_seen"  # no agent has connected yet
    LOCAL = "local"  # the built-in site, always there


@dataclass(frozen=True, kw_only=True)
class Site:
    name: str
    created_at: datetime.datetime
    latitude: float | None = None
    longitude: float | None = None
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    description: str | None = None
    created_by: str = "admin"
    # what the last agent heartbeat said
    agent_version: str | None = None
    agent_address: str | None = None
    last_seen: datetime.datetime | None = None


def status(
    site: Site, *, now: datetime.datetime, window: datetime.timedelta = ONLINE_WINDOW
) -> SiteStatus:
    """Where ``site`` stands at ``now``, from when its agent was last seen (online while
    seen within ``window``)."""
    if site.name == LOCAL:
        return SiteStatus.LOCAL
    if site.last_seen is None:
        return SiteStatus.NEVER_SEEN
    if now - site.last_seen <= window:
        return SiteStatus.ONLINE
    return SiteStatus.OFFLINE


class AttemptState(StrEnum):
    """Where an operation attempt for a site stands, as the manager sees it."""

    QUEUED = "queued"  # stored; the agent has not fetched it yet (or must fetch it again)
    DELIVERED = "delivered"  # sent in an answer to the agent; not acknowledged yet
    ACKNOWLEDGED = "acknowledged"  # the agent journaled it
    REPORTED = "reported"  # the agent's outcome is stored, waiting for the engine
    DONE = "done"  # the engine applied the outcome
    ABANDONED = "abandoned"  # given up (agent away past the timeout); a late report is only noted


OPEN_STATES = frozenset({AttemptState.QUEUED, AttemptState.DELIVERED, AttemptState.ACKNOWLEDGED})


@dataclass(frozen=True, kw_only=True)
class SiteAttempt:
    key: str  # the attempt's idempotency key, execution:task:attempt
    site: str
    execution_id: str
    task_id: int
    payload: Mapping[str, JSON]  # the dispatch, as the agent receives it
    created_at: datetime.datetime
    state: AttemptState = AttemptState.QUEUED
    timeout: float | None = None  # the operation's timeout, seconds
    delivered_at: datetime.datetime | None = None
    acknowledged_at: datetime.datetime | None = None
    # the last time the agent said it holds the attempt (acknowledgement or heartbeat);
    # the attempt is given up once the agent stays silent past ``timeout`` from here
    confirmed_at: datetime.datetime | None = None
    deadline: datetime.datetime | None = None
    deliveries: int = 0
    kill_requested: bool = False
    outcome: Mapping[str, JSON] | None = None  # the agent's report, as Outcome JSON
    reported_at: datetime.datetime | None = None

    @property
    def deployment_id(self) -> str:
        context: Any = self.payload["context"]
        return str(context["deployment"]["id"])
