"""An update rollout across N sites: site-updates per minute, the manager's CPU and memory
per site, and how soon a rollout goes on after ``kill -9`` of the manager.

    .venv/bin/python benchmarks/rollout.py [--sites 1000] [--workers 3] [--concurrency 200]
        [--waves 1,10%,100%] [--max-failures 5%] [--baseline-at-once 16] [--kill-at 0.3]
        [--poll-wait 20] [--install-batch 1000] [--timeout 1800] [--skip-baseline] [--skip-kill]

N sites, each with its own agent token and one deployment of a 3-node blueprint (``vm``, with
``app`` and ``db`` contained in it) whose lifecycle operations create, configure and start are
the built-in ``cairn.noop`` declared with ``executor: site_agent`` (``plugins: {cairn:
{executor: site_agent, install: false}}``): every operation is handed to the site's agent
through the store and the long-poll, as a script would be, but costs the agent nothing. The
agents are the swarm of ``agents.py`` (``swarm.py``): ``--workers`` processes, each running
its share of the N agents on one asyncio loop, answering every attempt "succeeded".

Blueprints ``rollout-v1``, ``-v2`` and ``-v3`` differ only in a property of every node
(``version``); the nodes define no update operation, so an update from one to another
reinstalls the three node instances: 9 operations at the site per site-update.

Set-up (untimed): sites, tokens, the three blueprints, the N deployments (on v1) and the group
of all N (:func:`make_group`) made with the services on a fresh data directory; the manager
runs as ``cairn up`` on loopback in its own process; once every agent has polled, the N
deployments are installed (``POST /executions``, 16 at a time, in batches of
``--install-batch``: the next starts once one has ended).

1. **Rollout.** ``POST /api/v1/rollouts`` {workflow_id: update, group_id, parameters:
   {blueprint_id: rollout-v2}, concurrency, waves, max_failures}, then ``GET
   /api/v1/rollouts/{id}`` every 0.5 s until it has ended. The rate is N / (the POST to the
   GET that says ``succeeded``), per minute; the manager's CPU seconds (``/proc/PID/stat``)
   over that time, and per site-update; its RSS sampled meanwhile, and the memory per site:
   (the highest RSS sampled during the rollout - the RSS of an empty manager, ``cairn up`` on
   a fresh data directory) / N; the members' durations (``started_at`` to ``ended_at`` in the
   ledger), P50 and P99.
2. **Baseline.** The same N updates without a rollout (to ``rollout-v3``): one ``POST
   /deployments/{id}/updates`` per deployment, ``--baseline-at-once`` at a time, until every
   update execution has ended. The rollout's rate is printed as a ratio against it.
3. **kill -9.** A second rollout (back to ``rollout-v1``); once ``--kill-at`` of its members
   have succeeded the manager is killed with SIGKILL and ``cairn up`` restarted on the same
   data directory and port. "Continuing within" is the time from the restart command to the
   first member newly succeeded (read from the SQLite file every 0.1 s); the time to the
   first member newly started is printed too ("-" when a member succeeded first). Then
   the rollout must end ``succeeded`` with every member at ``attempts`` 1, exactly one
   update execution per deployment since the rollout started, and each deployment at the
   member's ``to_revision``, applied, of ``rollout-v1``.

Anchor: Argo CD synced 50,000 applications across 500 clusters in 22 minutes on 24 vCPUs,
about 2,300 per minute. Targets on this 2-core machine: at least 3,000 site-updates per
minute, under 0.5 MiB of manager memory per site, continuing within 10 s of a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from agents import (  # benchmarks/agents.py
    LOCATION,
    _healthy,
    cpu_seconds,
    free_port,
    percentile,
    proc_status,
    query,
    raise_fd_limit,
    wait_until,
)
from cairn.services import archives, blueprints, deployments, groups, sites
from cairn.services import manager as manager_mod
from swarm import start_executions, swarm  # benchmarks/swarm.py

ANCHOR_RATE = 2300.0  # app syncs per minute: Argo CD, 50,000 apps / 22 min on 24 vCPUs
ANCHOR_VCPUS = 24
TARGET_RATE = 3000.0  # site-updates per minute on this 2-core machine
TARGET_MIB_PER_SITE = 0.5
TARGET_CONTINUE = 10.0  # seconds from the restart to the rollout going on
GROUP = "bench-all"
OPS = ("create", "configure", "start")
ENDED = ("succeeded", "failed", "cancelled")
ROLLOUT_ENDED = {"succeeded", "failed", "stopped", "cancelled", "rolled_back"}


# -- set-up -------------------------------------------------------------------------------


def blueprint_folder(folder: Path, version: int) -> Path:
    """Three nodes (``app`` and ``db`` contained in ``vm``); ``version`` sets their property."""
    node = {
        "type": "bench.Node",
        "properties": {"version": str(version)},
        "interfaces": {"cloudify.interfaces.lifecycle": {op: "cairn.noop" for op in OPS}},
    }
    contained = [{"type": "cloudify.relationships.contained_in", "target": "vm"}]
    body = {
        "tosca_definitions_version": "cloudify_dsl_1_4",
        "imports": ["cloudify/types/types.yaml"],
        "plugins": {"cairn": {"executor": "site_agent", "install": False}},
        "node_types": {
            "bench.Node": {
                "derived_from": "cloudify.nodes.Root",
                "properties": {"version": {"type": "string", "default": "0"}},
            }
        },
        "node_templates": {
            "vm": node,
            "app": {**node, "relationships": contained},
            "db": {**node, "relationships": contained},
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return folder


def make_group(manager: manager_mod.Manager, group_id: str, deployment_ids: list[str]) -> None:
    """The group of ``deployment_ids``, through the groups service."""
    groups.create(
        manager,
        group_id=group_id,
        deployment_ids=deployment_ids,
        description="benchmarks/rollout.py",
    )


def prepare(data_dir: Path, count: int, work: Path) -> list[tuple[str, str]]:
    """Sites ``a0..``, tokens, blueprints v1-v3, deployments ``d0..`` on v1, the group."""
    pairs = []
    with manager_mod.Manager.open(data_dir) as manager:
        for version in (1, 2, 3):
            folder = blueprint_folder(work / f"bp{version}", version)
            blueprints.upload(
                manager, blueprint_id=f"rollout-v{version}", data=archives.pack(folder)
            )
        for i in range(count):
            name = f"a{i}"
            sites.create(manager, name=name, location=LOCATION)
            pairs.append((name, sites.token(manager, name).value))
            deployments.create(manager, deployment_id=f"d{i}", blueprint_id="rollout-v1", site=name)
        make_group(manager, GROUP, [f"d{i}" for i in range(count)])
    return pairs


# -- the agents (workers) -----------------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    pairs = [(str(s), str(t)) for s, t in json.loads(Path(args.worker).read_text())]
    handled = asyncio.run(swarm(args.url, pairs, args.poll_wait))
    print(f"worker: {len(pairs)} agents, {handled} attempts handled", file=sys.stderr)
    return 0


# -- the manager's process ----------------------------------------------------------------


class ManagerProcess:
    """``cairn up`` on a data directory and port; started again after a kill."""

    def __init__(self, data: Path, port: int, log: Path, env: dict[str, str]) -> None:
        self.data, self.port, self.log, self.env = data, port, log, env
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        command = [sys.executable, "-m", "cairn", "up", "--port", str(self.port)]
        command += ["--data-dir", str(self.data)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    def wait_healthy(self) -> None:
        process = self.process
        assert process is not None
        wait_until(
            lambda: process.poll() is not None or _healthy(self.url),
            timeout=120,
            what="the manager",
            every=0.1,
        )
        if process.poll() is not None:
            raise RuntimeError(f"the manager stopped: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)


def empty_manager_rss(work: Path, env: dict[str, str]) -> float:
    """VmRSS of ``cairn up`` on a fresh, empty data directory, settled."""
    empty = ManagerProcess(work / "empty", free_port(), work / "empty.log", env)
    empty.start()
    try:
        empty.wait_healthy()
        time.sleep(3.0)
        return proc_status(empty.pid, "VmRSS")
    finally:
        empty.stop()


# -- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    count = args.sites
    raise_fd_limit()
    now = datetime.datetime.now().astimezone()
    print(f"# {now:%Y-%m-%d %H:%M %Z}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(
        f"# {count} sites, 3-node deployments, {count} agents in {args.workers} worker "
        f"processes; rollout concurrency {args.concurrency}, waves {args.waves}, "
        f"max failures {args.max_failures}"
    )
    with tempfile.TemporaryDirectory(prefix="cairn-bench-rollout-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        empty = empty_manager_rss(work, env)
        begun = time.monotonic()
        pairs = prepare(work / "manager", count, work)
        took = time.monotonic() - begun
        print(f"# set-up: {count} sites, tokens, deployments, group in {took:.1f} s")
        manager = ManagerProcess(work / "manager", free_port(), work / "manager.log", env)
        workers: list[subprocess.Popen[bytes]] = []
        try:
            results = measure(args, manager, workers=workers, pairs=pairs, work=work, env=env)
        except BaseException:
            text = manager.log.read_text(errors="replace").splitlines()
            errors = [line for line in text if "ERROR" in line or "Error" in line]
            print("# the manager's errors (last 20):", *errors[-20:], sep="\n", file=sys.stderr)
            raise
        finally:
            for process in workers:
                if process.poll() is None:
                    process.terminate()
            for process in workers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
            manager.stop()
        lines = [
            line
            for path in sorted(work.glob("worker-*.log"))
            for line in path.read_text(errors="replace").splitlines()
            if not line.endswith(" attempts handled")  # each worker's last word
        ]
        agent_errors = len(lines)
        if lines:
            print("# the agents' HTTP errors (first 5):", *lines[:5], sep="\n", file=sys.stderr)
    report(args, empty=empty, agent_errors=agent_errors, **results)
    return 0


def start_workers(
    args: argparse.Namespace,
    pairs: list[tuple[str, str]],
    *,
    url: str,
    work: Path,
    env: dict[str, str],
) -> list[subprocess.Popen[bytes]]:
    started = []
    for w in range(args.workers):
        path = work / f"worker-{w}.json"
        path.write_text(json.dumps(pairs[w :: args.workers]))
        command = [sys.executable, __file__, "--worker", str(path), "--url", url]
        command += ["--poll-wait", str(args.poll_wait)]
        with open(work / f"worker-{w}.log", "wb") as log:  # the agents' HTTP errors
            started.append(subprocess.Popen(command, env=env, stderr=log))
    return started


def measure(
    args: argparse.Namespace,
    manager: ManagerProcess,
    *,
    workers: list[subprocess.Popen[bytes]],
    pairs: list[tuple[str, str]],
    work: Path,
    env: dict[str, str],
) -> dict[str, Any]:
    count = len(pairs)
    database = manager.data / "cairn.db"
    manager.start()
    manager.wait_healthy()
    time.sleep(2.0)
    idle = proc_status(manager.pid, "VmRSS")
    workers.extend(start_workers(args, pairs, url=manager.url, work=work, env=env))
    connect = time.monotonic()
    wait_until(
        lambda: (
            query(database, "SELECT count(*) FROM sites WHERE last_seen IS NOT NULL")[0][0] >= count
        ),
        timeout=600,
        what="every agent to poll",
        every=0.5,
    )
    print(f"# all {count} agents polled within {time.monotonic() - connect:.1f} s")
    admin = (manager.data / "admin.token").read_text().strip()
    begun = time.monotonic()
    installs: list[str] = []
    for start in range(0, count, args.install_batch):  # set-up: not more at once than that
        batch = [f"d{i}" for i in range(start, min(count, start + args.install_batch))]
        started = start_executions(manager.url, admin, batch, "install")
        wait_ended(database, started, timeout=args.timeout, what="every install")
        installs += started
    failed = not_succeeded(database, installs)
    print(
        f"# {count} installs ({count * 9} site operations) ended in "
        f"{time.monotonic() - begun:.1f} s; {failed} did not succeed"
    )
    time.sleep(3.0)
    connected = proc_status(manager.pid, "VmRSS")
    results: dict[str, Any] = {"count": count, "idle": idle, "connected": connected}
    results["rollout"] = timed_rollout(
        args, manager, admin=admin, database=database, agents=[w.pid for w in workers]
    )
    if not args.skip_baseline:
        results["baseline"] = baseline(args, manager, admin=admin, database=database)
    results["peak"] = proc_status(manager.pid, "VmHWM")  # before the kill starts another
    if not args.skip_kill:
        results["kill"] = kill_test(args, manager, admin=admin, database=database)
    return results


def wait_ended(database: Path, execution_ids: list[str], *, timeout: float, what: str) -> None:
    wanted = set(execution_ids)
    marks = ",".join(f"'{e}'" for e in wanted)
    sql = f"SELECT count(*) FROM executions WHERE id IN ({marks}) AND status IN {ENDED}"
    wait_until(lambda: query(database, sql)[0][0] >= len(wanted), timeout=timeout, what=what)


def not_succeeded(database: Path, execution_ids: list[str]) -> int:
    marks = ",".join(f"'{e}'" for e in execution_ids)
    sql = f"SELECT count(*) FROM executions WHERE id IN ({marks}) AND status != 'succeeded'"
    return int(query(database, sql)[0][0])


# -- 1. the rollout -----------------------------------------------------------------------


def start_rollout(args: argparse.Namespace, url: str, admin: str, blueprint_id: str) -> str:
    body = {
        "workflow_id": "update",
        "group_id": GROUP,
        "parameters": {"blueprint_id": blueprint_id},
        "concurrency": args.concurrency,
        "waves": [w.strip() for w in args.waves.split(",")],
        "max_failures": args.max_failures,
    }
    answer = httpx.post(
        f"{url}/api/v1/rollouts",
        json=body,
        headers={"Authorization": f"Bearer {admin}"},
        timeout=120,
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


def follow(
    url: str,
    admin: str,
    rollout_id: str,
    *,
    timeout: float,
    every: float = 0.5,
    sample: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``GET /rollouts/{id}`` every ``every`` s until it has ended; its last answer."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                answer = http.get(f"/api/v1/rollouts/{rollout_id}")
                if answer.status_code == 200 and answer.json()["status"] in ROLLOUT_ENDED:
                    return dict(answer.json())
            if sample is not None:
                sample()
            if time.monotonic() > deadline:
                raise RuntimeError(f"rollout {rollout_id} did not end within {timeout:g} s")
            time.sleep(every)


def timed_rollout(
    args: argparse.Namespace,
    manager: ManagerProcess,
    *,
    admin: str,
    database: Path,
    agents: Sequence[int] = (),
) -> dict[str, Any]:
    """``agents``: the swarm's processes, whose CPU over the rollout is measured too (they
    share the machine with the manager: its two cores bound the two together)."""
    rss: list[float] = []
    load0 = os.getloadavg()[0]
    agents0 = sum(cpu_seconds(pid) for pid in agents)
    cpu0, start = cpu_seconds(manager.pid), time.monotonic()
    rollout_id = start_rollout(args, manager.url, admin, "rollout-v2")
    ended = follow(
        manager.url,
        admin,
        rollout_id,
        timeout=args.timeout,
        sample=lambda: rss.append(proc_status(manager.pid, "VmRSS")),
    )
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(manager.pid) - cpu0
    agents_cpu = sum(cpu_seconds(pid) for pid in agents) - agents0
    rss.append(proc_status(manager.pid, "VmRSS"))
    rows = query(
        database,
        "SELECT started_at, ended_at FROM rollout_members WHERE rollout_id = "
        f"'{rollout_id}' AND status = 'succeeded'",
    )
    durations = [(_utc(b) - _utc(a)).total_seconds() for a, b in rows]
    print(
        f"# rollout {rollout_id}: {ended['status']} in {elapsed:.1f} s, counts "
        f"{ended['counts']}; manager CPU {cpu:.1f} s, RSS up to {max(rss):.1f} MiB; members "
        f"P50 {percentile(durations, 0.5):.1f} s, P99 {percentile(durations, 0.99):.1f} s"
    )
    return {
        "id": rollout_id,
        "status": ended["status"],
        "counts": ended["counts"],
        "elapsed": elapsed,
        "cpu": cpu,
        "agents_cpu": agents_cpu,
        "rss_max": max(rss),
        "rss_end": rss[-1],
        "durations": durations,
        "loads": (load0, os.getloadavg()[0]),
    }


# -- 2. the baseline ----------------------------------------------------------------------


def post_updates(url: str, admin: str, count: int, blueprint_id: str, at_once: int) -> list[str]:
    """``POST /deployments/{id}/updates`` for every deployment, ``at_once`` at a time."""

    async def go() -> list[str]:
        gate = asyncio.Semaphore(at_once)
        headers = {"Authorization": f"Bearer {admin}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:

            async def one(i: int) -> str:
                async with gate:
                    body = {"blueprint_id": blueprint_id}
                    answer = await http.post(f"/api/v1/deployments/d{i}/updates", json=body)
                    answer.raise_for_status()
                    return str(answer.json()["execution"]["id"])

            return await asyncio.gather(*(one(i) for i in range(count)))

    return asyncio.run(go())


def baseline(
    args: argparse.Namespace, manager: ManagerProcess, *, admin: str, database: Path
) -> dict[str, Any]:
    count = args.sites
    time.sleep(2.0)
    load0 = os.getloadavg()[0]
    cpu0, start = cpu_seconds(manager.pid), time.monotonic()
    started = post_updates(manager.url, admin, count, "rollout-v3", args.baseline_at_once)
    posted = time.monotonic() - start
    wait_ended(database, started, timeout=args.timeout, what="every baseline update")
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(manager.pid) - cpu0
    failed = not_succeeded(database, started)
    print(
        f"# baseline: {count} updates posted in {posted:.1f} s, all ended in {elapsed:.1f} s; "
        f"{failed} did not succeed; manager CPU {cpu:.1f} s"
    )
    return {
        "elapsed": elapsed,
        "posted": posted,
        "cpu": cpu,
        "failed": failed,
        "loads": (load0, os.getloadavg()[0]),
    }


# -- 3. kill -9 ---------------------------------------------------------------------------


def member_count(database: Path, rollout_id: str, where: str) -> int:
    sql = f"SELECT count(*) FROM rollout_members WHERE rollout_id = '{rollout_id}' AND {where}"
    return int(query(database, sql)[0][0])


def kill_test(
    args: argparse.Namespace, manager: ManagerProcess, *, admin: str, database: Path
) -> dict[str, Any]:
    count = args.sites
    time.sleep(2.0)
    since = datetime.datetime.now(datetime.UTC)
    rollout_id = start_rollout(args, manager.url, admin, "rollout-v1")
    at = max(1, round(args.kill_at * count))
    succeeded = "status = 'succeeded'"
    wait_until(
        lambda: member_count(database, rollout_id, succeeded) >= at,
        timeout=args.timeout,
        what=f"{at} members succeeded",
        every=0.1,
    )
    manager.kill()
    before = member_count(database, rollout_id, succeeded)
    started_before = member_count(database, rollout_id, "status != 'pending'")
    restart = time.monotonic()
    manager.start()
    marks: dict[str, float] = {}
    while "succeeded" not in marks:
        now = time.monotonic()
        if now - restart > args.timeout:
            raise RuntimeError("no member succeeded after the restart")
        if "healthy" not in marks and _healthy(manager.url):
            marks["healthy"] = now - restart
        if "started" not in marks and (
            member_count(database, rollout_id, "status != 'pending'") > started_before
        ):
            marks["started"] = now - restart
        if member_count(database, rollout_id, succeeded) > before:
            marks["succeeded"] = now - restart
        time.sleep(0.1)
    print(
        f"# kill -9 at {before}/{count} members succeeded; restarted: "
        + ", ".join(f"{k} after {v:.1f} s" for k, v in marks.items())
    )
    manager.wait_healthy()
    ended = follow(manager.url, admin, rollout_id, timeout=args.timeout)
    checks = check_once(database, rollout_id, since=since, blueprint_id="rollout-v1")
    print(f"# kill -9 rollout {rollout_id}: {ended['status']}, counts {ended['counts']}; {checks}")
    return {"id": rollout_id, "status": ended["status"], "before": before, **marks, **checks}


def check_once(
    database: Path, rollout_id: str, *, since: datetime.datetime, blueprint_id: str
) -> dict[str, int]:
    """Members not at attempts 1, deployments with other than one update since ``since``,
    deployments not at their member's revision (applied, of ``blueprint_id``)."""
    stamp = since.replace(tzinfo=None).isoformat(sep=" ")
    retried = member_count(database, rollout_id, "attempts != 1")
    executions = query(
        database,
        "SELECT d.id, (SELECT count(*) FROM executions x WHERE x.deployment_id = d.id AND "
        f"x.workflow_id = 'update' AND x.created_at >= '{stamp}') FROM deployments d",
    )
    not_once = sum(1 for _, n in executions if n != 1)
    wrong = query(
        database,
        "SELECT count(*) FROM rollout_members m JOIN deployments d ON d.id = m.deployment_id "
        "LEFT JOIN deployment_revisions r ON r.deployment_id = d.id AND r.revision = d.revision "
        f"WHERE m.rollout_id = '{rollout_id}' AND (m.to_revision IS NULL OR "
        f"d.revision != m.to_revision OR r.status != 'applied' OR r.blueprint_id != "
        f"'{blueprint_id}')",
    )[0][0]
    return {"retried": retried, "not_once": not_once, "wrong_revision": int(wrong)}


def _seconds(value: float | None) -> str:
    """A duration, or "-" for a mark the run did not reach (the first success came first)."""
    return "-" if value is None else f"{value:.1f} s"


def _utc(stored: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stored).replace(tzinfo=datetime.UTC)


# -- the report ---------------------------------------------------------------------------


def report(args: argparse.Namespace, **r: Any) -> None:
    count, rollout = r["count"], r["rollout"]
    rate = 60.0 * count / rollout["elapsed"]
    per_site = (rollout["rss_max"] - r["empty"]) / count
    durations = rollout["durations"] or [float("nan")]
    rows = [
        (f"rollout: {count} site-updates, {rollout['status']}", f"{rollout['elapsed']:.1f} s", ""),
        (
            "rollout: site-updates per minute",
            f"{rate:.0f}",
            f">= {TARGET_RATE:g} {'ok' if rate >= TARGET_RATE else 'MISS'}",
        ),
        ("rollout: vs the anchor (Argo CD 2,300/min)", f"{rate / ANCHOR_RATE:.2f}x", ""),
        (
            "rollout: vs the anchor per vCPU (2 vs 24)",
            f"{rate / 2 / (ANCHOR_RATE / ANCHOR_VCPUS):.1f}x",
            "",
        ),
        ("rollout: manager CPU", f"{rollout['cpu']:.1f} s", ""),
        ("rollout: manager CPU per site-update", f"{1000 * rollout['cpu'] / count:.0f} ms", ""),
        (
            "rollout: simulated agents' CPU per site-update (same machine)",
            f"{1000 * rollout.get('agents_cpu', 0.0) / count:.0f} ms",
            "",
        ),
        ("rollout: member duration P50", f"{percentile(durations, 0.5):.1f} s", ""),
        ("rollout: member duration P99", f"{percentile(durations, 0.99):.1f} s", ""),
        ("manager RSS: empty manager", f"{r['empty']:.1f} MiB", ""),
        (
            "manager RSS: idle on the data, agents connected",
            f"{r['idle']:.1f} / {r['connected']:.1f} MiB",
            "",
        ),
        ("manager RSS: highest during the rollout", f"{rollout['rss_max']:.1f} MiB", ""),
        (
            "manager memory per site (rollout - empty) / N",
            f"{per_site * 1024:.0f} KiB",
            f"< 512 KiB {'ok' if per_site < TARGET_MIB_PER_SITE else 'MISS'}",
        ),
    ]
    if "baseline" in r:
        b = r["baseline"]
        base_rate = 60.0 * count / b["elapsed"]
        rows += [
            (
                f"baseline: {count} direct updates ({b['failed']} failed)",
                f"{b['elapsed']:.1f} s",
                "",
            ),
            ("baseline: updates per minute", f"{base_rate:.0f}", ""),
            ("baseline: manager CPU per update", f"{1000 * b['cpu'] / count:.0f} ms", ""),
            ("rollout rate / baseline rate", f"{rate / base_rate:.2f}x", ""),
        ]
    if "kill" in r:
        k = r["kill"]
        cont = k["succeeded"]
        rows += [
            (
                f"kill -9: at {k['before']} succeeded; restart -> healthy",
                _seconds(k.get("healthy")),
                "",
            ),
            ("kill -9: restart -> a member newly started", _seconds(k.get("started")), ""),
            (
                "kill -9: continuing within (-> a member succeeded)",
                f"{cont:.1f} s",
                f"< {TARGET_CONTINUE:g} s {'ok' if cont < TARGET_CONTINUE else 'MISS'}",
            ),
            (
                "kill -9: rollout ended / retried / not once / wrong rev",
                f"{k['status']} / {k['retried']} / {k['not_once']} / {k['wrong_revision']}",
                "succeeded / 0 / 0 / 0",
            ),
        ]
    rows.append(("manager RSS, peak before the kill (VmHWM)", f"{r['peak']:.1f} MiB", ""))
    print(f"{'measure':<58} {'value':>22} {'target':>16}")
    for name, value, target in rows:
        print(f"{name:<58} {value:>22} {target:>16}")
    loads = [rollout["loads"]] + ([r["baseline"]["loads"]] if "baseline" in r else [])
    shown = "; ".join(f"{a:.1f} -> {b:.1f}" for a, b in loads)
    print(
        f"# load (1 min) over the rollout{' and the baseline' if 'baseline' in r else ''}: "
        f"{shown}; now {os.getloadavg()}; agents' HTTP errors {r['agent_errors']} (expected "
        f"while the manager is down)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        epilog="Set-up is untimed; see the module's docstring for what each phase measures.",
    )
    ap.add_argument("--sites", type=int, default=1000, help="sites, each with one deployment")
    ap.add_argument("--workers", type=int, default=3, help="processes running the agents")
    ap.add_argument(
        "--concurrency", type=int, default=200, help="the rollouts' members running at once"
    )
    ap.add_argument(
        "--waves", default="1,10%,100%", help="the rollouts' cumulative wave marks, comma-separated"
    )
    ap.add_argument("--max-failures", default="5%", help="the rollouts' failure threshold")
    ap.add_argument(
        "--baseline-at-once",
        type=int,
        default=16,
        help="baseline: POST /deployments/{id}/updates requests in flight at once",
    )
    ap.add_argument(
        "--kill-at",
        type=float,
        default=0.3,
        help="kill -9 the manager once this share of the second rollout's members succeeded",
    )
    ap.add_argument("--poll-wait", type=float, default=20.0, help="agents' long-poll wait, s")
    ap.add_argument(
        "--install-batch",
        type=int,
        default=1000,
        help="set-up: installs started at once, the next batch once they ended",
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="longest wait per phase, s")
    ap.add_argument("--skip-baseline", action="store_true", help="no baseline updates")
    ap.add_argument("--skip-kill", action="store_true", help="no kill -9 rollout")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    return run(args)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
