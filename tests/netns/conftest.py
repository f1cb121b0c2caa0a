"""Fixtures of the network namespace tests: a topology and a fleet in it, per test.

The tests reuse the loopback agent tests' helpers (``tests/agent/agent_support.py``):
their folder is put on the import path here.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "agent"))

import netns_support


@pytest.fixture
def net(tmp_path: pathlib.Path) -> Iterator[netns_support.NetFleet]:
    """Three sites' namespaces and a manager's; the manager started, nothing else."""
    netns_support.require_netns()
    with netns_support.topology() as topo:
        fleet = netns_support.NetFleet(topo, tmp_path)
        try:
            assert topo.default_routes() == [], "a namespace has a default route"
            fleet.start_manager()
            yield fleet
        finally:
            fleet.close()
