"""Where an operation runs: on the manager, or at its deployment's site."""

from __future__ import annotations

import pytest

from cairn.engine.dispatching import runs_at
from cairn.model import runtime


def _instance(host_id: str | None) -> runtime.NodeInstance:
    return runtime.NodeInstance(
        id="app_1",
        deployment_id="d",
        node_id="app",
        host_id=host_id,
        state=runtime.InstanceState.UNINITIALIZED,
        runtime_properties={},
        relationships=(),
    )


@pytest.mark.parametrize(
    ("site", "executor", "hosted", "where"),
    [
        ("local", "host_agent", True, "local"),  # the built-in site runs everything here
        ("edge", "central_deployment_agent", True, "local"),
        ("edge", "host_agent", True, "edge"),
        ("edge", "site_agent", False, "edge"),  # Cairn's: at the site, hosted or not
        ("edge", "auto", True, "edge"),  # scripts run where their node lives
        ("edge", "auto", False, "local"),
        ("edge", None, True, "edge"),
        ("edge", None, False, "local"),
    ],
)
def test_runs_at(site: str, executor: str | None, hosted: bool, where: str) -> None:
    assert runs_at(site, executor, _instance("host_1" if hosted else None)) == where
