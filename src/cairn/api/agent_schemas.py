"""Bodies of the agent routes (:mod:`cairn.api.routes.agent`)."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import Field

from cairn.api.schemas import Body
from cairn.connectors import interface, wire
from cairn.model import executions


class PollIn(Body):
    agent_version: str = Field(max_length=100, description="The agent's Cairn version.")
    running: list[str] = Field(
        default_factory=list, max_length=10000, description="Keys of the attempts it runs now."
    )
    acknowledge: list[str] = Field(
        default_factory=list,
        max_length=10000,
        description="Keys of the attempts received and journaled since the last poll: "
        "acknowledged before the answer, as `POST .../acks` does, without a request of "
        "their own.",
    )
    wait: float = Field(default=20.0, ge=0, le=30, description="Longest wait, seconds.")
    limit: int = Field(default=100, ge=1, le=100, description="Most attempts in one answer.")


class WorkOut(Body):
    attempts: list[dict[str, Any]] = Field(description="Dispatches to run, as JSON.")
    kill: list[str] = Field(description="Keys of running attempts to stop now.")


class AckIn(Body):
    keys: list[str] = Field(max_length=10000)


class AckOut(Body):
    acknowledged: list[str]


class LogIn(Body):
    t: datetime.datetime
    level: Literal["debug", "info", "warning", "error"]
    message: str = Field(max_length=1_000_000)
    stream: str = "ctx"


class OutcomeIn(Body):
    kind: executions.OutcomeKind
    result: Any = None
    error: str | None = None
    retry_after: float | None = None
    runtime_properties: dict[str, Any] | None = None
    target_runtime_properties: dict[str, Any] | None = None


class ReportIn(Body):
    key: str = Field(max_length=300)
    logs: list[LogIn] = Field(default_factory=list, max_length=10000)
    outcome: OutcomeIn | None = None

    def to_report(self) -> interface.Report:
        return wire.report_from_json(self.model_dump(mode="json"))


class ReportsIn(Body):
    reports: list[ReportIn] = Field(max_length=1000)


class ReportsOut(Body):
    verdicts: dict[str, str] = Field(description="Per key: accepted, late or unknown.")
