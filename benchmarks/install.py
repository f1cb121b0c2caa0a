"""Install time of Cairn and of Cloudify's local mode on generated blueprints.

    .venv/bin/python benchmarks/install.py [--sizes 20,200] [--repeat 3] [--skip-cloudify]
                                           [--noop-size 200] [--cfy-threads N] [--overhead-only]

Each blueprint has N ``cloudify.nodes.Root`` node templates in a relationship tree (node
``i`` is contained_in or depends_on node ``(i - 1) // 3``, alternately), each with three
script operations (create, configure, start). Every script is a ``/bin/sh`` no-op making
exactly one ``ctx`` call (``ctx instance runtime-properties created true``, ...); after each
install every node instance must be ``started`` with the three properties set, on both sides.

Cairn: a fresh :class:`~cairn.services.manager.Manager` in a temporary data directory with
default settings, in this process; the blueprint is uploaded and the deployment created
through the services (untimed), then the time runs from ``executions.start`` to the
execution's ``ended_at`` (planning and storing the task graph included). Best and median of
``--repeat`` runs are printed, after an untimed 2-node install that warms imports up.

Cloudify: ``cloudify==7.0.5`` from ``$CAIRN_CFY_VENV`` or ``.venv-cfy`` (created here with
pip when missing). ``cfy init -b bench BLUEPRINT`` (untimed) then ``cfy executions start -b
bench install`` in a temporary ``CFY_WORKDIR``, with Cloudify's defaults: one task thread
(``--cfy-threads`` asks for more; with 8, Cloudify lost runtime properties and the check
failed). The time is the execution's own, from its first event ("Starting
'install' workflow execution") to its last ("... workflow execution succeeded"): the CLI's
start-up is left out. The blueprint and scripts are byte-for-byte Cairn's; Cloudify's copy
also holds ``cloudify/types/types.yaml`` (the corpus' ``types/types_1_4.yaml``) beside it,
so the same import resolves offline. Cloudify runs once per size (200 nodes take minutes).

Engine overhead: a blueprint of ``--noop-size`` nodes whose operations are the built-in
``cairn.noop`` (no subprocess), same tree; install wall time and CPU time of this process
per operation. Best and median of ``--repeat`` runs.

CPU columns: Cairn's is this process (engine threads included) plus its reaped children
(scripts and ``ctx``); Cloudify's is the ``cfy`` process tree (``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cairn.model import executions as model
from cairn.services import archives, blueprints, deployments, executions
from cairn.services import manager as manager_mod

REPO = Path(__file__).resolve().parents[1]
OPS = ("create", "configure", "start")
DONE = {"create": "created", "configure": "configured", "start": "started"}
FANOUT = 3
CLOUDIFY = "cloudify==7.0.5"
RATIO_TARGET = 20.0
OVERHEAD_TARGET_MS = 2.0
POLL = 0.05


@dataclass(frozen=True, kw_only=True)
class Run:
    seconds: float  # the install execution, start to end
    planning: float = 0.0  # of which in executions.start (planning, storing the graph)
    cpu: float  # CPU seconds spent on it (see the module's docstring)
    load: float  # one-minute load average when it ended


# -- blueprints ---------------------------------------------------------------------------


def _relationships(i: int) -> list[dict[str, str]]:
    if i == 0:
        return []
    kind = "contained_in" if i % 2 else "depends_on"
    return [{"type": f"cloudify.relationships.{kind}", "target": f"n{(i - 1) // FANOUT}"}]


def blueprint(size: int, *, noop: bool) -> dict[str, Any]:
    """N nodes in a tree; script operations, or ``cairn.noop`` ones with ``noop``."""
    nodes: dict[str, Any] = {}
    for i in range(size):
        ops = {op: ("cairn.noop" if noop else f"scripts/{op}.sh") for op in OPS}
        node: dict[str, Any] = {
            "type": "cloudify.nodes.Root",
            "interfaces": {"cloudify.interfaces.lifecycle": ops},
        }
        if i:
            node["relationships"] = _relationships(i)
        nodes[f"n{i}"] = node
    body: dict[str, Any] = {
        "tosca_definitions_version": "cloudify_dsl_1_4",
        "imports": ["cloudify/types/types.yaml"],
    }
    if noop:
        body["plugins"] = {"cairn": {"executor": "central_deployment_agent", "install": False}}
    body["node_templates"] = nodes
    return body


def write(folder: Path, size: int, *, noop: bool = False) -> Path:
    """The blueprint's folder: ``blueprint.yaml`` and, for scripts, ``scripts/<op>.sh``."""
    folder.mkdir(parents=True, exist_ok=True)
    if not noop:
        (folder / "scripts").mkdir(exist_ok=True)
        for op in OPS:
            script = folder / "scripts" / f"{op}.sh"
            script.write_text(f"#!/bin/sh\nctx instance runtime-properties {DONE[op]} true\n")
            script.chmod(0o755)
    text = yaml.safe_dump(blueprint(size, noop=noop), sort_keys=False)
    (folder / "blueprint.yaml").write_text(text, encoding="utf-8")
    return folder


def check_instances(
    found: Sequence[tuple[str, str, dict[str, Any]]], size: int, *, scripts: bool, who: str
) -> None:
    """Every (node id, state, runtime properties) started, with the scripts' properties."""
    expected = {DONE[op]: "true" for op in OPS} if scripts else {}
    bad = [f for f in found if f[1] != "started" or (scripts and f[2] != expected)]
    if len(found) != size or bad:
        raise RuntimeError(f"{who}: {len(found)} instances of {size}, not as expected: {bad[:3]}")


# -- Cairn --------------------------------------------------------------------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cairn(folder: Path, size: int, *, scripts: bool) -> Run:
    """Install ``folder``'s blueprint on a fresh in-process manager; time the execution."""
    with tempfile.TemporaryDirectory(prefix="cairn-bench-data-") as data:
        with manager_mod.Manager.open(Path(data)) as manager:
            blueprints.upload(
                manager,
                blueprint_id="bench",
                data=archives.pack(folder),
                main_file="blueprint.yaml",
            )
            deployments.create(manager, deployment_id="bench", blueprint_id="bench")
            cpu, kids = time.process_time(), _children_cpu()
            begun = manager.clock.now()
            execution = executions.start(manager, deployment_id="bench", workflow_id="install")
            planning = (manager.clock.now() - begun).total_seconds()
            while execution.status not in model.ENDED:
                time.sleep(POLL)
                execution = manager.store.get_execution(execution.id)
            cpu = time.process_time() - cpu + _children_cpu() - kids
            if execution.status is not model.ExecutionStatus.SUCCEEDED or not execution.ended_at:
                raise RuntimeError(f"Cairn's install ended {execution.status}: {execution.error}")
            found = [
                (i.node_id, str(i.state), dict(i.runtime_properties))
                for i in manager.store.list_instances("bench")
            ]
        check_instances(found, size, scripts=scripts, who="Cairn")
    seconds = (execution.ended_at - begun).total_seconds()
    return Run(seconds=seconds, planning=planning, cpu=cpu, load=os.getloadavg()[0])


# -- Cloudify -----------------------------------------------------------------------------


def corpus_types() -> Path | None:
    """The corpus' copy of Cloudify's types.yaml (found as tests/dsl/corpus.py finds it)."""
    env = os.environ.get("CAIRN_CORPUS")
    corpus = Path(env) if env else REPO.parent / "shared" / "corpus" / "cloudify-blueprints"
    path = corpus / "types" / "types_1_4.yaml"
    return path if path.is_file() else None


def cloudify_cli() -> Path:
    """``cfy`` of the venv ``$CAIRN_CFY_VENV`` or ``.venv-cfy``, created with pip if missing."""
    env = os.environ.get("CAIRN_CFY_VENV")
    venv = Path(env) if env else REPO / ".venv-cfy"
    cfy = venv / "bin" / "cfy"
    if cfy.is_file():
        return cfy
    print(f"# creating {venv} with {CLOUDIFY} (once)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, CLOUDIFY], check=True)
    return cfy


def _cfy(cfy: Path, args: Sequence[str], work: Path) -> str:
    env = {**os.environ, "CFY_WORKDIR": str(work)}
    proc = subprocess.run(
        [str(cfy), *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise RuntimeError(f"cfy {' '.join(args)} failed ({proc.returncode}):\n{tail}")
    return proc.stdout


def event_span(output: str) -> float:
    """Seconds from the first to the last event ``cfy executions start`` printed."""
    stamps = []
    for line in output.splitlines():
        try:
            stamps.append(datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f"))
        except ValueError:
            continue
    if "'install' workflow execution succeeded" not in output or len(stamps) < 2:
        raise RuntimeError(f"Cloudify's install did not succeed:\n{output[-3000:]}")
    return (stamps[-1] - stamps[0]).total_seconds()


def run_cloudify(folder: Path, size: int, *, cfy: Path, types: Path, threads: int | None) -> Run:
    """``cfy init`` (untimed) then ``cfy executions start install`` in a fresh workdir."""
    with tempfile.TemporaryDirectory(prefix="cairn-bench-cfy-") as tmp:
        copy = Path(tmp) / "blueprint"
        shutil.copytree(folder, copy)
        (copy / "cloudify" / "types").mkdir(parents=True)
        shutil.copyfile(types, copy / "cloudify" / "types" / "types.yaml")
        work = Path(tmp) / "work"
        work.mkdir()
        _cfy(cfy, ["init", "-b", "bench", str(copy / "blueprint.yaml")], work)
        extra = ["--task-thread-pool-size", str(threads)] if threads else []
        kids = _children_cpu()
        output = _cfy(cfy, ["executions", "start", "-b", "bench", *extra, "install"], work)
        cpu = _children_cpu() - kids
        seconds = event_span(output)
        stored = work / ".cloudify" / "profiles" / "local" / "deployments" / "bench"
        found = []
        for path in sorted((stored / "node-instances").glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            found.append((record["node_id"], record["state"], record["runtime_properties"]))
        check_instances(found, size, scripts=True, who="Cloudify")
    return Run(seconds=seconds, cpu=cpu, load=os.getloadavg()[0])


# -- report -------------------------------------------------------------------------------


def repeated(times: int, once: Callable[[], Run]) -> list[Run]:
    return [once() for _ in range(times)]


def _median(runs: Sequence[Run], attr: str) -> float:
    return float(statistics.median(float(getattr(r, attr)) for r in runs))


def compare(size: int, args: argparse.Namespace, cloudify: tuple[Path, Path] | None) -> None:
    with tempfile.TemporaryDirectory(prefix="cairn-bench-bp-") as tmp:
        folder = write(Path(tmp) / "bp", size)
        runs = repeated(args.repeat, lambda: run_cairn(folder, size, scripts=True))
        theirs = None
        if cloudify is not None:
            cfy, types = cloudify
            theirs = run_cloudify(folder, size, cfy=cfy, types=types, threads=args.cfy_threads)
    best = min(r.seconds for r in runs)
    median = _median(runs, "seconds")
    cells = [
        f"{size:6d}",
        f"{size * len(OPS):5d}",
        f"{best:8.2f}",
        f"{median:8.2f}",
        f"{_median(runs, 'cpu'):8.2f}",
    ]
    if theirs is None:
        cells += [f"{'-':>10}", f"{'-':>8}", f"{'-':>7}", f"{'-':>7}"]
    else:
        ratio = theirs.seconds / median
        mark = "ok" if ratio >= RATIO_TARGET else "MISS"
        cells += [f"{theirs.seconds:10.2f}", f"{theirs.cpu:8.2f}", f"{ratio:6.1f}x", f"{mark:>7}"]
    loads = [r.load for r in runs] + ([theirs.load] if theirs else [])
    cells.append(f"{min(loads):4.1f}-{max(loads):4.1f}")
    print(" ".join(cells), flush=True)


def overhead(size: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cairn-bench-noop-") as tmp:
        folder = write(Path(tmp) / "bp", size, noop=True)
        runs = repeated(repeat, lambda: run_cairn(folder, size, scripts=False))
    ops = size * len(OPS)
    best_ms = 1000 * min(r.seconds for r in runs) / ops
    median_ms = 1000 * _median(runs, "seconds") / ops
    cpu_ms = 1000 * _median(runs, "cpu") / ops
    mark = "ok" if median_ms < OVERHEAD_TARGET_MS else "MISS"
    print(
        f"engine overhead, {size} nodes x {len(OPS)} cairn.noop = {ops} operations: "
        f"{median_ms:.2f} ms/op wall (median; best {best_ms:.2f}), {cpu_ms:.2f} ms/op CPU; "
        f"target < {OVERHEAD_TARGET_MS:g} ms: {mark} "
        f"(install {_median(runs, 'seconds'):.2f} s, of which executions.start "
        f"{_median(runs, 'planning'):.2f} s; load {runs[-1].load:.1f})",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="20,200", help="node counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="Cairn runs per blueprint")
    ap.add_argument("--noop-size", type=int, default=200, help="nodes of the cairn.noop run")
    ap.add_argument("--skip-cloudify", action="store_true", help="time Cairn only")
    ap.add_argument("--cfy-threads", type=int, help="Cloudify's --task-thread-pool-size")
    ap.add_argument(
        "--overhead-only",
        action="store_true",
        help="only the engine overhead (no scripts, no Cloudify)",
    )
    args = ap.parse_args(argv)
    if args.overhead_only:
        args.sizes, args.skip_cloudify = "", True
    cloudify = None
    if not args.skip_cloudify:
        types = corpus_types()
        if types is None:
            print("# Cloudify column skipped: the corpus (types/types_1_4.yaml) is missing")
        else:
            cloudify = (cloudify_cli(), types)
    started = datetime.datetime.now().astimezone()
    print(f"# {started:%Y-%m-%d %H:%M %Z}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    if args.sizes:
        print(
            f"{'nodes':>6} {'ops':>5} {'cairn s':>8} {'median':>8} {'cpu s':>8} "
            f"{'cloudify s':>10} {'cpu s':>8} {'ratio':>7} {'>=20x':>7} {'load':>9}"
        )
    with tempfile.TemporaryDirectory(prefix="cairn-bench-warm-") as tmp:
        run_cairn(write(Path(tmp), 2), 2, scripts=True)  # imports and first-use caches
    for size in (int(s) for s in args.sizes.split(",") if s):
        compare(size, args, cloudify)
    if args.noop_size:
        overhead(args.noop_size, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
