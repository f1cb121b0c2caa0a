"""The engine's store traffic on its hot path: one read of instances per claim and one commit
per poll's worth of outcomes, not a transaction each per operation (the engine overhead of
docs/benchmarks.md)."""

from __future__ import annotations

import collections
import datetime
import pathlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import engine_support as support

from cairn.model import executions
from cairn.services.manager import Manager
from cairn.store import db as store_db
from cairn.store import interface

NODES = 12


def noop_blueprint(tmp_path: pathlib.Path) -> pathlib.Path:
    """``NODES`` independent nodes whose lifecycle operations are the built-in no-op."""
    ops = "".join(f"          {op}: cairn.noop\n" for op in ("create", "configure", "start"))
    nodes = "".join(
        f"  n{i}:\n    type: cloudify.nodes.Root\n    interfaces:\n"
        f"      cloudify.interfaces.lifecycle:\n{ops}"
        for i in range(NODES)
    )
    body = (
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "plugins:\n  cairn: {executor: central_deployment_agent, install: false}\n"
        f"node_templates:\n{nodes}"
    )
    return support.write_blueprint(tmp_path / "bp", body)


def count_calls(
    monkeypatch: pytest.MonkeyPatch, target: object, names: tuple[str, ...]
) -> collections.Counter[str]:
    calls: collections.Counter[str] = collections.Counter()
    for name in names:
        method: Callable[..., Any] = getattr(target, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _method(*args, **kwargs)

        monkeypatch.setattr(target, name, counted)
    return calls


def test_operations_are_prepared_from_one_read_of_instances_per_claim(
    manager: Manager, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    support.deploy(manager, noop_blueprint(tmp_path))
    calls = count_calls(monkeypatch, manager.store, ("get_instance", "get_instances"))
    result = support.run(manager, "install")
    assert result.status is executions.ExecutionStatus.SUCCEEDED, result.error
    assert set(support.states(manager).values()) == {"started"}
    assert calls["get_instance"] == 0
    # every node's create can be claimed at once, and so on: far fewer reads than operations
    assert 1 <= calls["get_instances"] < NODES * 3


def test_hosts_of_the_claimed_operations_are_read_with_them(
    manager: Manager, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operation's context names its host's ``ip`` (``ctx instance host_ip``): the hosts
    of a claim's instances are read in one more query, not one each; and the no-op
    operations that end in the engine (the relationships' ones here) write no instance, so
    the rest of their claim is still prepared from those reads."""
    ops = "".join(f"          {op}: cairn.noop\n" for op in ("create", "configure", "start"))
    node = "    interfaces:\n      cloudify.interfaces.lifecycle:\n" + ops
    body = (
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "plugins:\n  cairn: {executor: central_deployment_agent, install: false}\n"
        "node_templates:\n"
        + "".join(
            f"  vm{i}:\n    type: cloudify.nodes.Compute\n"
            "    properties: {agent_config: {install_method: none}, ip: 10.0.0.1}\n"
            + node
            + f"  app{i}:\n    type: cloudify.nodes.Root\n"
            + node
            + f"    relationships:\n      - {{type: cloudify.relationships.contained_in, "
            f"target: vm{i}}}\n"
            for i in range(NODES // 2)
        )
    )
    support.deploy(manager, support.write_blueprint(tmp_path / "bp", body))
    calls = count_calls(monkeypatch, manager.store, ("get_instance", "get_instances"))
    result = support.run(manager, "install")
    assert result.status is executions.ExecutionStatus.SUCCEEDED, result.error
    assert set(support.states(manager).values()) == {"started"}
    assert calls["get_instance"] == 0
    assert 1 <= calls["get_instances"] < NODES * 3


def test_the_attempts_of_one_poll_end_with_one_commit(
    manager: Manager, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    support.deploy(manager, noop_blueprint(tmp_path))
    calls = count_calls(monkeypatch, manager.store, ("complete_task", "complete_tasks"))
    result = support.run(manager, "install")
    assert result.status is executions.ExecutionStatus.SUCCEEDED, result.error
    assert calls["complete_task"] == 0
    assert 1 <= calls["complete_tasks"] < NODES * 3


def test_a_refused_batch_of_completions_is_committed_one_by_one(
    manager: Manager, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    support.deploy(manager, noop_blueprint(tmp_path))
    complete_tasks = manager.store.complete_tasks
    sizes: list[int] = []

    def refuse_batches(
        completions: Sequence[interface.Completion], *, now: datetime.datetime
    ) -> list[bool]:
        sizes.append(len(completions))
        if len(completions) > 1:
            raise store_db.StoreError("deadlock detected")
        return complete_tasks(completions, now=now)

    monkeypatch.setattr(manager.store, "complete_tasks", refuse_batches)
    result = support.run(manager, "install")
    assert result.status is executions.ExecutionStatus.SUCCEEDED, result.error
    assert set(support.states(manager).values()) == {"started"}
    assert any(size > 1 for size in sizes)  # a batch was tried, then each on its own
    assert sizes.count(1) == NODES * 3


def test_the_end_of_an_execution_is_looked_for_once_its_claims_run_dry(
    manager: Manager, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    support.deploy(manager, noop_blueprint(tmp_path))
    calls = count_calls(monkeypatch, manager.store, ("claim_tasks", "executions_with_task_states"))
    result = support.run(manager, "install")
    assert result.status is executions.ExecutionStatus.SUCCEEDED, result.error
    # not after each of the steps that claimed some of its tasks (each look reads them all)
    assert calls["claim_tasks"] >= 4
    assert 1 <= calls["executions_with_task_states"] <= 2
