"""``/events``: an execution's events and logs, by page, by long poll, or as a stream.

Both forms read the execution's status before its events: when the execution had ended
before the read and the read returned less than a full page, nothing can follow, so the
answer says ``complete`` (or the stream sends ``end``) and the client stops.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from cairn.api import schemas, security
from cairn.model import executions as model
from cairn.model import runtime
from cairn.services import executions
from cairn.services import manager as manager_mod

router = APIRouter(prefix="/events", tags=["events"])

POLL_SECONDS = 0.2
MAX_WAIT_SECONDS = 60.0
KEEPALIVE_SECONDS = 15.0

ExecutionId = Annotated[str, Query(description="The execution whose events to read.")]
AfterId = Annotated[int, Query(ge=0, description="Only events with a greater id.")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="At most this many events.")]


def _read(
    manager: manager_mod.Manager, execution_id: str, after_id: int, limit: int
) -> tuple[model.ExecutionStatus, list[runtime.Event]]:
    status = executions.get(manager, execution_id).status
    found = executions.events(manager, execution_id=execution_id, after_id=after_id, limit=limit)
    return status, found


@router.get(
    "",
    summary="List an execution's events",
    description="Events and log lines with an id greater than `after_id`, oldest first. With "
    "`wait`, a long poll: when there is nothing new the answer waits up to `wait` seconds for "
    "an event or the end of the execution. `complete` is true once the execution has ended "
    "and every event was sent.",
)
async def list_events(
    manager: security.Manager,
    _caller: security.Viewer,
    execution_id: ExecutionId,
    after_id: AfterId = 0,
    limit: Limit = 1000,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for news.")
    ] = 0,
) -> schemas.EventPage:
    deadline = time.monotonic() + wait
    while True:
        status, found = await run_in_threadpool(_read, manager, execution_id, after_id, limit)
        ended = status in model.ENDED
        if found or ended or time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
    return schemas.EventPage(
        events=[schemas.event_out(e) for e in found],
        last_id=found[-1].id or after_id if found else after_id,
        execution_status=status,
        complete=ended and len(found) < limit,
    )


@router.get(
    "/stream",
    summary="Stream an execution's events",
    description="Server-Sent Events (`text/event-stream`): each event as `event: event` with "
    "its JSON as data and its id as the SSE id, a comment every 15 s to keep the connection "
    "open, and a final `event: end` with the execution's status. Reconnect with "
    "`Last-Event-ID` (or `after_id`) to continue where the stream stopped.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The event stream."}},
)
async def stream_events(
    request: Request,
    manager: security.Manager,
    _caller: security.Viewer,
    execution_id: ExecutionId,
    after_id: AfterId = 0,
    last_event_id: Annotated[str | None, Header(description="Resume after this id.")] = None,
) -> StreamingResponse:
    await run_in_threadpool(executions.get, manager, execution_id)  # 404 before streaming
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after_id
    return StreamingResponse(
        _stream(request, manager, execution_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request, manager: manager_mod.Manager, execution_id: str, after_id: int
) -> AsyncIterator[str]:
    limit = 1000
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        status, found = await run_in_threadpool(_read, manager, execution_id, after_id, limit)
        for event in found:
            after_id = event.id or after_id
            data = schemas.event_out(event).model_dump_json()
            yield f"id: {after_id}\nevent: event\ndata: {data}\n\n"
        if status in model.ENDED and len(found) < limit:
            yield f"event: end\ndata: {json.dumps({'status': status.value})}\n\n"
            return
        if found:
            quiet_since = time.monotonic()
            continue
        if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keepalive\n\n"
        await asyncio.sleep(POLL_SECONDS)
