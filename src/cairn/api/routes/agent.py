"""``/sites/{name}/agent``: where a site's agent fetches its work and reports on it.

Only the agent token of site ``name`` may call these routes (``cairn sites token NAME``):
another site's token, a revoked one, or any user token is refused. ``poll`` is a long-poll:
it answers as soon as work is queued for the site, or after ``wait`` seconds with nothing;
each poll is also the agent's heartbeat.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from cairn.api import security
from cairn.api.agent_schemas import AckIn, AckOut, PollIn, ReportsIn, ReportsOut, WorkOut
from cairn.model import runtime
from cairn.services import agents, auth

router = APIRouter(prefix="/sites/{name}/agent", tags=["agents"])


class AgentOf(security.Require):
    """The caller, once known to hold the agent token of the site in the path.

    Its one parameter is the request: the token is read from its header here, not by a
    sub-dependency, and the routes take the manager from the request too. Agents' polls are
    the manager's most frequent requests (10,000 agents make hundreds a second even when
    idle), and FastAPI solves every dependency anew for each of them."""

    def __init__(self) -> None:
        super().__init__(runtime.Role.AGENT)

    async def __call__(self, request: Request) -> auth.Caller:  # type: ignore[override]
        caller = await security.caller(request, security.bearer_token(request))
        auth.require_agent(caller, request.path_params["name"])
        return caller


Agent = Annotated[auth.Caller, Depends(AgentOf())]


@router.post(
    "/poll",
    summary="Fetch the site's work (long-poll; heartbeat)",
    description="Acknowledges the attempts named in `acknowledge` (refused, 403, if one is "
    "another site's), records the agent's heartbeat (version, address, the attempts it "
    "still runs), then answers with the attempts queued for the site and the keys to kill, "
    "waiting up to `wait` seconds for some. Attempts not acknowledged within 15 s are sent "
    "again.",
    response_model=WorkOut,
)
async def poll(name: str, body: PollIn, request: Request, _caller: Agent) -> Response:
    manager = security.manager_of(request)
    if body.acknowledge:
        await manager.acks((name, body.acknowledge, manager.clock.now()))
    address = request.client.host if request.client else None
    beat = functools.partial(
        agents.heartbeat,
        manager,
        name,
        agent_version=body.agent_version,
        address=address,
        running=body.running,
    )
    if body.running:  # deadlines to move: a write
        await run_in_threadpool(beat)
    else:  # noted in memory, written in a batch
        beat()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body.wait
    with manager.doorbell.listening(name) as bell:
        while True:
            work = await manager.deliveries((name, body.limit))
            remaining = deadline - loop.time()
            if work.attempts or work.kill or remaining <= 0:
                return _work(work.attempts, work.kill)
            try:
                await asyncio.wait_for(bell.wait(), remaining)
            except TimeoutError:
                # nothing rang: the answer is empty without looking again (work another
                # replica queued meanwhile is fetched by the agent's next poll, at once)
                return _work([], [])
            bell.clear()


def _work(attempts: list[str], kill: list[str]) -> Response:
    """A :class:`WorkOut`, each attempt's dispatch written as the store keeps it: the JSON
    the connector stored, not parsed, validated and written again."""
    body = '{"attempts":[' + ",".join(attempts) + '],"kill":' + json.dumps(kill) + "}"
    return Response(content=body, media_type="application/json")


@router.post(
    "/acks",
    summary="Acknowledge attempts",
    description="The agent has journaled these attempts: the manager stops sending them "
    "again. Refused (403) whole if one is another site's.",
)
async def acknowledge(name: str, body: AckIn, request: Request, _caller: Agent) -> AckOut:
    manager = security.manager_of(request)
    # written with the other acknowledgements arriving meanwhile, each at its own time
    acknowledged = await manager.acks((name, body.keys, manager.clock.now()))
    return AckOut(acknowledged=acknowledged)


@router.post(
    "/reports",
    summary="Report log lines and outcomes",
    description="Log lines become events; outcomes are applied by the engine. Per key: "
    "`accepted`, `late` (the attempt was given up before: noted, not applied) or `unknown`. "
    "Sending a report again is harmless. Refused (403) whole if one key is another site's.",
)
async def report(name: str, body: ReportsIn, request: Request, _caller: Agent) -> ReportsOut:
    manager = security.manager_of(request)
    # written with the other reports arriving meanwhile (group commit)
    verdicts = await manager.reports((name, [r.to_report() for r in body.reports]))
    return ReportsOut(verdicts=verdicts)


@router.get(
    "/blueprints/{blueprint_id}",
    summary="Download a blueprint's files",
    description="The files of a blueprint used by a deployment on this site, as a tar.gz.",
    response_class=Response,
    responses={200: {"content": {"application/gzip": {}}}},
)
def blueprint_files(
    name: str, blueprint_id: str, manager: security.Manager, _caller: Agent
) -> Response:
    data = agents.blueprint_archive(manager, name, blueprint_id)
    return Response(content=data, media_type="application/gzip")
