"""The simulated site agents shared by the benchmarks (``agents.py``, ``drift.py``).

An agent long-polls its site (``POST /sites/{name}/agent/poll``) and, as the real agent's
poller and sender threads do, at once polls again, acknowledging in that poll every attempt
the last one brought (``acknowledge``), while it reports an outcome for each beside it
(``POST .../reports``, sent again until the manager has it, as the real agent's journal
does). The outcome is "succeeded" with no result unless
the caller passes ``answer``: a function from the attempt (the dispatch as JSON, with
``operation``, ``context``, ``site``...) to the outcome to report (``{"kind": "succeeded",
"result": ...}``), so a benchmark can make its agents answer some operations (check_drift)
as a real site would.
"""

from __future__ import annotations

import asyncio
import random
import signal
import ssl
import sys
from collections.abc import Callable, Sequence
from typing import Any

import httpx

Answer = Callable[[dict[str, Any]], dict[str, Any]]
SUCCEEDED: dict[str, Any] = {"kind": "succeeded"}
# one TLS context for every agent of a worker: httpx otherwise builds one per client, loading
# the CA bundle each time (about 1 MiB and 10 ms per agent: thousands of agents took minutes
# to start and gigabytes of memory, on plain HTTP where none is used)
_TLS = ssl.create_default_context()


async def one_agent(
    url: str,
    site: str,
    token: str,
    wait: float,
    *,
    stop: asyncio.Event,
    handled: list[int],
    answer: Answer | None = None,
) -> None:
    """Poll (acknowledging what the last poll brought) while the last poll's reports go;
    again. Counts the attempts in ``handled``."""
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    base = f"{url}/api/v1/sites/{site}/agent"
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(wait + 60, connect=30)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=timeout, verify=_TLS
    ) as http:
        await asyncio.sleep(random.uniform(0, 2))  # not all in the same millisecond
        reporting: set[asyncio.Task[None]] = set()
        acknowledge: list[str] = []
        try:
            while not stop.is_set():
                try:
                    body = {
                        "agent_version": "swarm",
                        "running": [],
                        "acknowledge": acknowledge,
                        "wait": wait,
                    }
                    answer_ = await http.post("/poll", json=body)
                    answer_.raise_for_status()
                    acknowledge = []
                    attempts = answer_.json()["attempts"]
                    if not attempts:
                        continue
                    acknowledge = [a["key"] for a in attempts]
                    reports = [
                        {"key": a["key"], "outcome": SUCCEEDED if answer is None else answer(a)}
                        for a in attempts
                    ]
                    sending = asyncio.create_task(send_reports(http, reports, stop=stop, site=site))
                    reporting.add(sending)
                    sending.add_done_callback(reporting.discard)
                    handled[0] += len(attempts)
                except httpx.HTTPError as exc:
                    if not stop.is_set():
                        print(f"worker: {site}: {type(exc).__name__}: {exc}", file=sys.stderr)
                        await asyncio.sleep(random.uniform(0.5, 1.5))
        finally:
            for sending in list(reporting):
                sending.cancel()
            await asyncio.gather(*reporting, return_exceptions=True)


async def send_reports(
    http: httpx.AsyncClient, reports: list[dict[str, Any]], *, stop: asyncio.Event, site: str
) -> None:
    """Until the manager has them, as the real agent's sender does from its journal: an
    acknowledged attempt is reported by its agent and by nobody else, so a report lost to a
    manager's restart would leave its task running for ever."""
    while True:
        try:
            (await http.post("/reports", json={"reports": reports})).raise_for_status()
            return
        except httpx.HTTPError as exc:
            print(f"worker: {site}: report: {type(exc).__name__}: {exc}", file=sys.stderr)
            refused = isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code < 500
            if stop.is_set() or refused:
                return
            await asyncio.sleep(random.uniform(0.5, 1.5))


async def swarm(
    url: str, pairs: Sequence[tuple[str, str]], wait: float, answer: Answer | None = None
) -> int:
    """Runs one agent per (site, token) until SIGTERM; returns the attempts handled."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    handled = [0]
    tasks = [
        asyncio.create_task(one_agent(url, s, t, wait, stop=stop, handled=handled, answer=answer))
        for s, t in pairs
    ]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return handled[0]


def start_executions(
    url: str, admin: str, deployment_ids: Sequence[str], workflow_id: str, *, at_once: int = 16
) -> list[str]:
    """``POST /executions`` of ``workflow_id`` for every deployment, ``at_once`` at a time;
    the executions' ids."""

    async def go() -> list[str]:
        gate = asyncio.Semaphore(at_once)
        headers = {"Authorization": f"Bearer {admin}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:

            async def one(deployment_id: str) -> str:
                async with gate:
                    body = {"deployment_id": deployment_id, "workflow_id": workflow_id}
                    answer = await http.post("/api/v1/executions", json=body)
                    answer.raise_for_status()
                    return str(answer.json()["id"])

            return await asyncio.gather(*(one(d) for d in deployment_ids))

    return asyncio.run(go())
