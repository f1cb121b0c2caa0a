"""The boundary where an operation attempt leaves the engine.

The engine hands a :class:`Dispatch` to a connector and later collects :class:`Report`
objects. Today the connector is local (operations run on the manager's machine); with
sites, an agent connector carries the same dispatches to a site's agent over HTTP and
brings the same reports back. The contract is built for that second case:

* a dispatch is named by its idempotency key (``execution:task:attempt``); submitting the
  same key twice never runs the operation twice;
* the connector journals every outcome under that key before it reports it, so after a
  crash of the manager :meth:`Connector.recover` answers from the journal instead of
  running the operation again;
* an attempt for a site other than ``local`` may wait for its agent for a long time, and
  holds none of the engine's capacity meanwhile;
* reports carry log lines as they appear (scripts' stdout and stderr, ``ctx logger``),
  and the outcome once the attempt has ended.

Everything in a dispatch is JSON-compatible, so it can cross a network unchanged.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from cairn.model import executions
from cairn.model.plan import JSON


@dataclass(frozen=True, kw_only=True)
class Dispatch:
    """One operation attempt, with everything needed to run it (and nothing secret in logs).

    ``context`` is the operation's context as scripts see it through ``ctx``:

    ``{"deployment": {"id", "blueprint_id", "inputs"}, "blueprint": {"id", "resources"},
       "execution": {"id", "workflow_id"}, "operation": {"name", "retry_number",
       "max_retries"}, "node": {"id", "name", "type", "type_hierarchy", "properties"},
       "instance": {"id", "runtime_properties", "host_ip", "relationships"},
       "source": {"node": ..., "instance": ...} | None,
       "target": {"node": ..., "instance": ...} | None}``

    where ``blueprint.resources`` is the folder holding the blueprint's files (for
    ``download-resource``) and ``source``/``target`` are set for relationship operations
    (``node``/``instance`` then describe the end whose operation runs, as in Cloudify).
    """

    key: str  # idempotency key: execution:task:attempt
    task_id: int
    attempt: int
    plugin: str  # "script", "cairn", ...
    operation: str  # the plugin's task: "script_runner.tasks.run", "cairn.noop", ...
    implementation: str  # as written in the blueprint
    inputs: Mapping[str, JSON]  # runtime functions already evaluated
    context: Mapping[str, JSON]
    timeout: float | None = None  # seconds; None: no limit
    timeout_recoverable: bool = True
    executor: str | None = None
    site: str = "local"
    secrets: Sequence[str] = ()  # plain secret values, to mask in logs and events


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)
class LogLine:
    timestamp: datetime.datetime
    level: LogLevel
    message: str
    stream: str = "ctx"  # "stdout", "stderr" or "ctx"


@dataclass(frozen=True, kw_only=True)
class Report:
    """News about one dispatch: new log lines, and the outcome once it has ended."""

    key: str
    logs: Sequence[LogLine] = ()
    outcome: executions.Outcome | None = None


class Recovery(StrEnum):
    RUNNING = "running"  # still running somewhere: keep waiting for its report
    UNKNOWN = "unknown"  # never started, or lost without an outcome: safe to run again


@dataclass(frozen=True, kw_only=True)
class Recovered:
    state: Recovery | None = None
    report: Report | None = None  # set when the journal holds the outcome
    site: str | None = None  # the site whose agent holds it, for a site's attempt


class Connector(Protocol):
    def submit(self, dispatch: Dispatch) -> None:
        """Start the attempt and return at once. A key already journaled is not run again:
        its recorded outcome is reported instead."""
        ...

    def submit_all(self, dispatches: Sequence[Dispatch]) -> None:
        """:meth:`submit` for each, in one go where the connector can (one transaction)."""
        ...

    def poll(self, *, timeout: float = 0.0) -> list[Report]:
        """Reports since the last poll, waiting up to ``timeout`` seconds for the first."""
        ...

    def recover(self, key: str) -> Recovered:
        """After a restart: what became of an attempt dispatched by an earlier process."""
        ...

    def forget(self, key: str) -> None:
        """The outcome of ``key`` is committed: its journal entry may go."""
        ...

    def kill(self, key: str) -> None:
        """Stop a running attempt now (``cancel --kill``); it then reports NON_RECOVERABLE."""
        ...

    def withdraw(self, key: str) -> bool:
        """Take back an attempt that has not started (a site's agent has not fetched it):
        True if it was, and it then reports NON_RECOVERABLE; False if it runs already."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Capacity:
    """How many attempts a connector runs at once."""

    max_running: int = 32
    extra: Mapping[str, JSON] = field(default_factory=dict)
