"""Per-task cost of the store's hot path: claim + complete.

Run: ``.venv/bin/python benchmarks/store.py [--tasks N] [--rounds R] [--postgresql]``.
The default is a SQLite file in a temporary directory; ``--postgresql`` uses a scratch
database on 127.0.0.1:5432 (created and dropped here). Each shape of work runs ``R`` times
on fresh tasks; the best and the median wall and CPU time per task are printed (CPU time is the
steadier figure on a busy machine), with, as a baseline
measured in the same run, one bare write transaction through the sqlite3 module.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import pathlib
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence

import psycopg

from cairn.model import executions, runtime
from cairn.store import interface, open_store

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
SUCCEEDED = executions.TaskState.SUCCEEDED
SHAPES = {
    # label: (claim batch, instance update per task, chain)
    "independent tasks, claim 1 + complete 1": (1, False, False),
    "independent tasks, claim 10 + complete each": (10, False, False),
    "claim 1 + complete 1 with an instance update": (1, True, False),
    "a chain: each success releases the next": (1, False, True),
}


def prepare(store: interface.Store, name: str, specs: Sequence[executions.TaskSpec]) -> None:
    store.create_deployment(
        runtime.Deployment(id=name, blueprint_id="bp", inputs={}, plan={}, created_at=T0),
        [
            runtime.NodeInstance(
                id=f"{name}_vm",
                deployment_id=name,
                node_id="vm",
                host_id=None,
                state=runtime.InstanceState.UNINITIALIZED,
                runtime_properties={},
                relationships=(),
            )
        ],
    )
    execution = executions.Execution(
        id=name,
        deployment_id=name,
        workflow_id="install",
        parameters={},
        status=executions.ExecutionStatus.PENDING,
        created_at=T0,
    )
    store.create_execution(execution, specs, queue=False)
    store.set_execution_status(
        name,
        expected={executions.ExecutionStatus.PENDING},
        status=executions.ExecutionStatus.STARTED,
        now=T0,
    )


def spec(key: str, *depends_on: str) -> executions.TaskSpec:
    return executions.TaskSpec(
        key=key,
        kind=executions.TaskKind.OPERATION,
        node_instance_id="vm",
        operation="cloudify.interfaces.lifecycle.create",
        depends_on=depends_on,
    )


def drain(store: interface.Store, *, batch: int, updates: bool, instance_id: str) -> int:
    done = 0
    while claimed := store.claim_tasks(owner="bench", now=T0, lease_seconds=60, limit=batch):
        for task in claimed:
            changes = [
                interface.InstanceUpdate(
                    instance_id=instance_id,
                    state=runtime.InstanceState.CREATED,
                    runtime_properties={"n": done},
                )
            ]
            store.complete_task(
                task.id,
                attempt=task.attempt,
                state=SUCCEEDED,
                now=T0,
                result={"ok": True},
                instance_updates=changes if updates else (),
            )
            done += 1
    return done


def run_shape(
    store: interface.Store, name: str, shape: tuple[int, bool, bool], n: int
) -> tuple[float, float]:
    """Wall and CPU seconds per task for one round of ``shape`` on ``n`` fresh tasks."""
    batch, updates, chain = shape
    if chain:
        specs = [spec("t0")] + [spec(f"t{i}", f"t{i - 1}") for i in range(1, n)]
    else:
        specs = [spec(f"t{i}") for i in range(n)]
    prepare(store, name, specs)
    started, cpu_started = time.perf_counter(), time.process_time()
    done = drain(store, batch=batch, updates=updates, instance_id=f"{name}_vm")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert done == n, (name, done, n)
    return elapsed / n, cpu / n


def bare_sqlite_baseline(path: pathlib.Path, count: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    conn.execute("INSERT INTO t VALUES (1, 0)")
    started = time.perf_counter()
    for _ in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE t SET n = n + 1 WHERE id = 1")
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed / count


@contextlib.contextmanager
def scratch_postgresql() -> Iterator[str]:
    server = "host=127.0.0.1 port=5432 user=postgres"
    name = f"cairn_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def benchmark(url: str | None, data_dir: pathlib.Path, *, tasks: int, rounds: int) -> None:
    store = open_store(url, data_dir=data_dir)
    try:
        store.put_blueprint(runtime.Blueprint(id="bp", main_file="b.yaml", plan={}, created_at=T0))
        print(f"store: {'PostgreSQL' if url else 'SQLite (WAL, synchronous=NORMAL)'}")
        print(f"  per task, {rounds} rounds of {tasks} tasks:")
        print(f"  {'':<48} {'wall best':>10} {'median':>8} {'CPU best':>10} {'median':>8}")
        for number, (label, shape) in enumerate(SHAPES.items()):
            costs = [run_shape(store, f"s{number}r{r}", shape, tasks) for r in range(rounds)]
            walls, cpus = [wall * 1e6 for wall, _ in costs], [cpu * 1e6 for _, cpu in costs]
            print(
                f"  {label:<48} {min(walls):8.0f}µs {statistics.median(walls):6.0f}µs"
                f" {min(cpus):8.0f}µs {statistics.median(cpus):6.0f}µs"
            )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.postgresql:
            with scratch_postgresql() as url:
                benchmark(url, pathlib.Path(scratch), tasks=args.tasks, rounds=args.rounds)
            return
        benchmark(None, pathlib.Path(scratch), tasks=args.tasks, rounds=args.rounds)
        baseline = bare_sqlite_baseline(pathlib.Path(scratch) / "baseline.db", args.tasks)
        print(f"  {'baseline: one bare sqlite3 write transaction':<48} {baseline * 1e6:8.0f}µs")


if __name__ == "__main__":
    main()
