"""A swarm of simulated site agents against one manager: latency, memory and CPU.

    .venv/bin/python benchmarks/agents.py [--agents 1000] [--workers 3] [--poll-wait 20]

N sites, each with its own agent token and one deployment of a blueprint whose node has
three operations (create, configure, start), each the built-in ``cairn.noop`` declared with
``executor: site_agent``: so each operation is handed to the site's agent, through the
store and the long-poll, like a script would be, but costs the agent nothing to run.

The agents themselves are in ``swarm.py`` (shared with ``drift.py``).

Set-up (untimed): the sites, tokens, blueprint and deployments are made with the services
on a fresh data directory, which is then closed. The manager is ``cairn up`` on loopback, in
its own process, on that data directory.

The agents: ``--workers`` processes (this script again, with ``--worker``), each running its
share of the N agents on one asyncio loop, each agent with its own ``httpx.AsyncClient``
(one HTTP connection, its own token). Like the real agent, an agent long-polls
(``POST /sites/{name}/agent/poll``, ``wait`` = ``--poll-wait``), acknowledges every attempt
it receives at once (``POST .../acks``) and reports it succeeded (``POST .../reports``),
then polls again.

The run: once every site has polled (so all N agents are connected and waiting), the
installs of all N deployments are started together (``POST /executions``, 16 at a time),
and the run ends when every execution has ended. Measured on the manager's side:

* **latency**, "operation ready" to "agent acknowledged": ``acknowledged_at - created_at``
  of every row of ``site_attempts`` (the store's own times, read from the SQLite file after
  the run), P50, P99 and the maximum, against the anchor: Karmada's P99 of 0.99 s in pull
  mode with 100 clusters;
* **memory**: the manager's RSS (``VmRSS``) idle before any agent connects, and with all N
  connected and waiting; the difference divided by N is the memory per connected site
  (target under 0.5 MiB); the peak (``VmHWM``) is printed too;
* **CPU**: the manager's user+system seconds (``/proc/PID/stat``) from the start of the
  installs to their end, and per operation.

File descriptors: this process raises its soft ``RLIMIT_NOFILE`` to the hard limit before it
starts the manager and the workers, which inherit it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from cairn.services import archives, blueprints, deployments, sites
from cairn.services import manager as manager_mod
from swarm import start_executions, swarm  # benchmarks/swarm.py

ANCHOR_P99 = 0.99  # seconds: Karmada, pull mode, 100 clusters
TARGET_MIB_PER_SITE = 0.5
OPS = ("create", "configure", "start")
LOCATION = sites.Location(latitude=48.1, longitude=11.6)


# -- set-up -------------------------------------------------------------------------------


def blueprint_folder(folder: Path) -> Path:
    body = {
        "tosca_definitions_version": "cloudify_dsl_1_4",
        "imports": ["cloudify/types/types.yaml"],
        "plugins": {"cairn": {"executor": "site_agent", "install": False}},
        "node_templates": {
            "app": {
                "type": "cloudify.nodes.Root",
                "interfaces": {"cloudify.interfaces.lifecycle": {op: "cairn.noop" for op in OPS}},
            }
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return folder


def prepare(data_dir: Path, count: int, work: Path) -> list[tuple[str, str]]:
    """Sites ``a0..``, their tokens and deployments, in ``data_dir``; (site, token) pairs."""
    pairs = []
    with manager_mod.Manager.open(data_dir) as manager:
        blueprints.upload(
            manager, blueprint_id="swarm", data=archives.pack(blueprint_folder(work / "bp"))
        )
        for i in range(count):
            name = f"a{i}"
            sites.create(manager, name=name, location=LOCATION)
            pairs.append((name, sites.token(manager, name).value))
            deployments.create(manager, deployment_id=f"d{i}", blueprint_id="swarm", site=name)
    return pairs


# -- the manager's process ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def proc_status(pid: int, field: str) -> float:
    """A ``kB`` field of /proc/PID/status, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(check: Any, *, timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        return list(db.execute(sql).fetchall())


# -- simulated agents (the workers) -------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    pairs = [tuple(p) for p in json.loads(Path(args.worker).read_text())]
    handled = asyncio.run(swarm(args.url, pairs, args.poll_wait))
    print(f"worker: {len(pairs)} agents, {handled} attempts handled", file=sys.stderr)
    return 0


# -- the run ------------------------------------------------------------------------------


def start_installs(url: str, admin: str, count: int) -> None:
    start_executions(url, admin, [f"d{i}" for i in range(count)], "install")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def raise_fd_limit() -> int:
    """As many open files as allowed (inherited by the manager and the agents' workers):
    10,000 agents hold up to two connections each. Root may raise the hard limit too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1 << 17:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 17, 1 << 17))
            return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        except (ValueError, OSError):  # not root: the hard limit stands
            pass
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run(args: argparse.Namespace) -> int:
    count = args.agents
    limit = raise_fd_limit()
    now = datetime.datetime.now().astimezone()
    print(f"# {now:%Y-%m-%d %H:%M %Z}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"# {count} agents in {args.workers} worker processes, poll wait {args.poll_wait:g} s")
    with tempfile.TemporaryDirectory(prefix="cairn-bench-agents-") as tmp:
        work = Path(tmp)
        data = work / "manager"
        begun = time.monotonic()
        pairs = prepare(data, count, work)
        print(f"# set-up: {count} sites, tokens, deployments in {time.monotonic() - begun:.1f} s")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        log = open(work / "manager.log", "wb")  # noqa: SIM115  # closed with the run
        manager = subprocess.Popen(
            [sys.executable, "-m", "cairn", "up", "--port", str(port), "--data-dir", str(data)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        workers: list[subprocess.Popen[bytes]] = []
        try:
            result = measure(
                args, manager, workers=workers, pairs=pairs, url=url, data=data, work=work, env=env
            )
        except BaseException:
            log.flush()
            errors = [
                line
                for line in (work / "manager.log").read_text(errors="replace").splitlines()
                if "ERROR" in line or "Error" in line
            ]
            print("# the manager's errors (last 20):", *errors[-20:], sep="\n", file=sys.stderr)
            raise
        finally:
            for process in [*workers, manager]:
                if process.poll() is None:
                    process.terminate()
            for process in [*workers, manager]:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
            log.close()
        rows = query(
            data / "cairn.db",
            "SELECT created_at, delivered_at, acknowledged_at, deliveries FROM site_attempts "
            "WHERE acknowledged_at IS NOT NULL",
        )
        latencies = [
            (_time(acked) - _time(created)).total_seconds() for created, _, acked, _ in rows
        ]
        # where the time goes: to the (last) delivery, then to the acknowledgement
        result["to_delivery"] = [
            (_time(delivered) - _time(created)).total_seconds() for created, delivered, _, _ in rows
        ]
        result["to_ack"] = [
            (_time(acked) - _time(delivered)).total_seconds() for _, delivered, acked, _ in rows
        ]
        result["redelivered"] = sum(1 for *_, deliveries in rows if deliveries > 1)
    report(args, result, latencies, limit)
    return 0


def measure(
    args: argparse.Namespace,
    manager: subprocess.Popen[bytes],
    *,
    workers: list[subprocess.Popen[bytes]],
    pairs: list[tuple[str, str]],
    url: str,
    data: Path,
    work: Path,
    env: dict[str, str],
) -> dict[str, Any]:
    count = len(pairs)
    wait_until(lambda: manager.poll() is not None or _healthy(url), timeout=120, what="the manager")
    if manager.poll() is not None:
        raise RuntimeError(f"the manager stopped: {(work / 'manager.log').read_text()[-2000:]}")
    time.sleep(2.0)  # settle: the engine's first steps, the first requests' allocations
    idle = proc_status(manager.pid, "VmRSS")
    database = data / "cairn.db"
    for w in range(args.workers):
        share = pairs[w :: args.workers]
        path = work / f"worker-{w}.json"
        path.write_text(json.dumps(share))
        command = [sys.executable, __file__, "--worker", str(path), "--url", url]
        command += ["--poll-wait", str(args.poll_wait)]
        workers.append(subprocess.Popen(command, env=env))
    connect = time.monotonic()
    wait_until(
        lambda: (
            query(database, "SELECT count(*) FROM sites WHERE last_seen IS NOT NULL")[0][0] >= count
        ),
        timeout=300,
        what="every agent to poll",
        every=0.5,
    )
    connected_in = time.monotonic() - connect
    time.sleep(3.0)  # all polls waiting
    connected = proc_status(manager.pid, "VmRSS")
    admin = (data / "admin.token").read_text().strip()
    cpu0, start = cpu_seconds(manager.pid), time.monotonic()
    start_installs(url, admin, count)
    started_in = time.monotonic() - start
    ended_sql = "SELECT count(*) FROM executions WHERE status IN ('succeeded','failed','cancelled')"
    wait_until(
        lambda: query(database, ended_sql)[0][0] >= count,
        timeout=args.timeout,
        what="every install to end",
        every=0.2,
    )
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(manager.pid) - cpu0
    failed = query(database, "SELECT count(*) FROM executions WHERE status != 'succeeded'")[0][0]
    return {
        "idle": idle,
        "connected": connected,
        "peak": proc_status(manager.pid, "VmHWM"),
        "connected_in": connected_in,
        "started_in": started_in,
        "elapsed": elapsed,
        "cpu": cpu,
        "failed": float(failed),
    }


def _time(stored: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stored)


def _healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200
    return False


def _pair(values: list[float]) -> str:
    return f"{percentile(values, 0.5):.2f}/{percentile(values, 0.99):.2f} s"


def report(args: argparse.Namespace, r: dict[str, Any], latencies: list[float], limit: int) -> None:
    count = args.agents
    ops = count * len(OPS)
    per_site = (r["connected"] - r["idle"]) / count
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"# fd limit {limit}; all {count} agents polled within {r['connected_in']:.1f} s; "
        f"{count} installs started in {r['started_in']:.1f} s, all ended after "
        f"{r['elapsed']:.1f} s; {int(r['failed'])} did not succeed"
    )
    print(f"{'measure':<44} {'value':>12} {'target':>10} {'vs anchor':>10}")
    rows = [
        ("attempts acknowledged", f"{len(latencies)}/{ops}", "", ""),
        ("ready -> acknowledged, P50", f"{p50:.3f} s", "", f"{p50 / ANCHOR_P99:.2f}x"),
        (
            "ready -> acknowledged, P99",
            f"{p99:.3f} s",
            "< 1 s " + ("ok" if p99 < 1.0 else "MISS"),
            f"{p99 / ANCHOR_P99:.2f}x",
        ),
        ("ready -> acknowledged, max", f"{max(latencies):.3f} s", "", ""),
        ("  ready -> delivered, P50 / P99", _pair(r["to_delivery"]), "", ""),
        ("  delivered -> acknowledged, P50 / P99", _pair(r["to_ack"]), "", ""),
        ("  attempts delivered more than once", f"{r['redelivered']}", "", ""),
        ("manager RSS, idle", f"{r['idle']:.1f} MiB", "", ""),
        (f"manager RSS, {count} agents connected", f"{r['connected']:.1f} MiB", "", ""),
        (
            "manager memory per connected site",
            f"{per_site * 1024:.0f} KiB",
            f"< 512 KiB {'ok' if per_site < TARGET_MIB_PER_SITE else 'MISS'}",
            "",
        ),
        ("manager RSS, peak (VmHWM)", f"{r['peak']:.1f} MiB", "", ""),
        ("manager CPU over the installs", f"{r['cpu']:.1f} s", "", ""),
        ("manager CPU per operation", f"{1000 * r['cpu'] / ops:.2f} ms", "", ""),
    ]
    for name, value, target, ratio in rows:
        print(f"{name:<44} {value:>12} {target:>10} {ratio:>10}")
    print(
        f"# anchor: Karmada P99 {ANCHOR_P99} s (pull mode, 100 clusters); 'vs anchor' is "
        f"Cairn / Karmada (below 1 is faster); mean {statistics.fmean(latencies):.3f} s; "
        f"load {os.getloadavg()}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--agents", type=int, default=1000, help="simulated agents (one site each)")
    ap.add_argument("--workers", type=int, default=3, help="processes running the agents")
    ap.add_argument("--poll-wait", type=float, default=20.0, help="long-poll wait, seconds")
    ap.add_argument("--timeout", type=float, default=600.0, help="longest run, seconds")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    return run(args)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
