"""Concurrent claimers and completers never act on the same task twice."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

import pytest
import store_samples as s

from cairn.model import executions
from cairn.store import interface, open_store

TASKS = 120
WORKERS = 4


def _run_threads(count: int, target: Callable[[int], None]) -> None:
    failures: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            target(n)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


def _drain(store: interface.Store, owner: str, claims: dict[int, list[str]]) -> None:
    """Claims and completes until nothing is left, recording who claimed what."""
    idle = 0
    while idle < 3:
        claimed = store.claim_tasks(owner=owner, now=s.T0, lease_seconds=60, limit=3)
        if not claimed:
            idle += 1
            continue
        idle = 0
        for task in claimed:
            claims[task.id].append(owner)
            s.succeed(store, task)


def _graph() -> list[executions.TaskSpec]:
    """Independent tasks, and a chain that forces claimers to wait on each other."""
    specs = [s.spec(f"free{n}") for n in range(TASKS - 20)]
    specs += [s.spec("chain0")] + [s.spec(f"chain{n}", f"chain{n - 1}") for n in range(1, 20)]
    return specs


@pytest.mark.parametrize("connections", ["shared", "separate"])
def test_concurrent_claimers_never_share_a_task(store_url: str, connections: str) -> None:
    """Threads on one store (its pool), or on one store each (separate engines)."""
    stores = [open_store(store_url) for _ in range(WORKERS if connections == "separate" else 1)]
    try:
        s.setup_deployment(stores[0])
        ids = s.started_execution(stores[0], "e1", _graph())
        claims: dict[int, list[str]] = collections.defaultdict(list)
        _run_threads(WORKERS, lambda n: _drain(stores[n % len(stores)], f"w{n}", claims))
        assert sorted(claims) == sorted(ids.values())
        assert {task_id: len(owners) for task_id, owners in claims.items() if len(owners) > 1} == {}
        states = stores[0].task_states("e1")
        assert set(states.values()) == {executions.TaskState.SUCCEEDED}
    finally:
        for store in stores:
            store.close()


def test_concurrent_completions_of_one_attempt(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(WORKERS)]
    try:
        s.setup_deployment(stores[0])
        s.started_execution(stores[0], "e1", [s.spec("a"), s.spec("b", "a")])
        (a,) = stores[0].claim_tasks(owner="w", now=s.T0, lease_seconds=60, limit=1)
        won: list[int] = []

        def complete(n: int) -> None:
            if stores[n].complete_task(
                a.id, attempt=a.attempt, state=executions.TaskState.SUCCEEDED, now=s.T0, result=n
            ):
                won.append(n)

        _run_threads(WORKERS, complete)
        assert len(won) == 1
        assert stores[0].get_task(a.id).result == won[0]
        # b's count dropped exactly once: it is claimable, and only once.
        (b,) = stores[0].claim_tasks(owner="w", now=s.T0, lease_seconds=60, limit=5)
        assert b.key == "b"
    finally:
        for store in stores:
            store.close()


def test_concurrent_execution_creation_keeps_one_active(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(WORKERS)]
    try:
        s.setup_deployment(stores[0])
        statuses: dict[str, executions.ExecutionStatus] = {}

        def create(n: int) -> None:
            stored = stores[n].create_execution(s.execution(f"e{n}"), [s.spec("a")], queue=True)
            statuses[stored.id] = stored.status

        _run_threads(WORKERS, create)
        counted = collections.Counter(statuses.values())
        assert counted == {
            executions.ExecutionStatus.PENDING: 1,
            executions.ExecutionStatus.QUEUED: WORKERS - 1,
        }
    finally:
        for store in stores:
            store.close()
