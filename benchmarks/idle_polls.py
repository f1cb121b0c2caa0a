"""What an idle agent costs the manager: CPU per long-poll that ends with nothing to do.

    .venv/bin/python benchmarks/idle_polls.py [--agents 2000] [--poll-wait 4] [--seconds 20]
        [--workers 3]

N sites with their tokens (and a deployment each, as ``agents.py`` makes them) on a fresh
data directory; the manager runs as ``cairn up`` on loopback; the agents are the swarm of
``swarm.py`` in ``--workers`` processes, polling with ``--poll-wait`` and never given work.
Once every site has been seen (``last_seen``) and three more waits have passed, the
manager's CPU seconds (``/proc/PID/stat``) are read over ``--seconds``. Printed: the cores
it used and its CPU per poll, counting N / wait polls a second (every agent keeping its
rhythm: the figure is an upper bound if the manager falls behind).

A fleet's idle cost follows: N agents at wait W make N / W polls a second; 10,000 agents at
30 s, 333 a second. No target: the figure explains the 10,000-site rollout (rollout.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from agents import cpu_seconds, free_port, prepare, query, raise_fd_limit, wait_until
from rollout import ManagerProcess, start_workers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=2000, help="sites, each with an agent")
    ap.add_argument("--poll-wait", type=float, default=4.0, help="agents' long-poll wait, s")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured time, s")
    ap.add_argument("--workers", type=int, default=3, help="processes running the agents")
    args = ap.parse_args(argv)
    raise_fd_limit()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with tempfile.TemporaryDirectory(prefix="cairn-bench-idle-") as tmp:
        work = Path(tmp)
        pairs = prepare(work / "manager", args.agents, work)
        manager = ManagerProcess(work / "manager", free_port(), work / "manager.log", env)
        workers = []
        try:
            manager.start()
            manager.wait_healthy()
            workers = start_workers(args, pairs, url=manager.url, work=work, env=env)
            database = work / "manager" / "cairn.db"
            seen = "SELECT count(*) FROM sites WHERE last_seen IS NOT NULL"
            wait_until(
                lambda: query(database, seen)[0][0] >= args.agents,
                timeout=600,
                what="every agent to poll",
                every=1.0,
            )
            time.sleep(3 * args.poll_wait)
            before, begun = cpu_seconds(manager.pid), time.monotonic()
            time.sleep(args.seconds)
            used, took = cpu_seconds(manager.pid) - before, time.monotonic() - begun
        finally:
            for process in workers:
                process.terminate()
            manager.stop()
    polls = args.agents / args.poll_wait * took
    print(
        f"{args.agents} idle agents polling every {args.poll_wait:g} s: the manager used "
        f"{used / took:.2f} of a core, {1000 * used / polls:.2f} ms of CPU per poll"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
