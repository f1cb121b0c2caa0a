"""``/events`` and ``/executions`` without an engine: paging, long poll, stream, cancel."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from api_support import Api, Role

from cairn.model import executions, runtime

ES = executions.ExecutionStatus
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def execution(api: Api) -> str:
    api.upload("bp")
    api.call("POST", "/secrets", json={"name": "db_password", "value": "pw"})
    api.deploy("d1", "bp")
    started = api.call(
        "POST",
        "/executions",
        json={"deployment_id": "d1", "workflow_id": "install"},
        role=Role.OPERATOR,
    )
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def _events(api: Api, execution_id: str, count: int, start: int = 0) -> None:
    api.manager.store.add_events(
        [
            runtime.Event(
                execution_id=execution_id,
                deployment_id="d1",
                timestamp=NOW,
                type="log",
                message=f"line {start + i}",
                node_instance_id="server_x",
                operation="cloudify.interfaces.lifecycle.create",
            )
            for i in range(count)
        ]
    )


def _end(api: Api, execution_id: str) -> None:
    assert api.manager.store.set_execution_status(
        execution_id, expected=executions.ACTIVE, status=ES.FAILED, now=NOW, error="boom"
    )


def test_executions_list_get_and_a_second_one_is_refused_or_queued(
    api: Api, execution: str
) -> None:
    listed = api.get("/executions", params={"deployment_id": "d1"}, role=Role.VIEWER).json()
    assert [e["id"] for e in listed] == [execution]
    got = api.get(f"/executions/{execution}").json()
    assert got["workflow_id"] == "install" and got["status"] == "pending" and not got["ended"]
    body = {"deployment_id": "d1", "workflow_id": "install"}
    refused = api.call("POST", "/executions", json=body)
    assert refused.status_code == 409
    assert execution in refused.json()["error"]["message"]
    queued = api.call("POST", "/executions", json={**body, "queue": True})
    assert queued.status_code == 201 and queued.json()["status"] == "queued"
    cancelled = api.call("POST", f"/executions/{queued.json()['id']}/cancel", json={"mode": "kill"})
    assert cancelled.json()["status"] == "cancelled"
    assert api.call("POST", f"/executions/{execution}/resume").status_code == 409
    unknown = api.call("POST", "/executions", json={**body, "workflow_id": "nope"})
    assert unknown.status_code in (404, 422)


def test_pages_after_id_and_complete(api: Api, execution: str) -> None:
    _events(api, execution, 5)
    first = api.get("/events", params={"execution_id": execution, "limit": 2}).json()
    assert [e["message"] for e in first["events"]] == ["line 0", "line 1"]
    rest = api.get(
        "/events", params={"execution_id": execution, "after_id": first["last_id"]}
    ).json()
    assert [e["message"] for e in rest["events"]] == ["line 2", "line 3", "line 4"]
    assert rest["complete"] is False
    _end(api, execution)
    last = api.get("/events", params={"execution_id": execution, "after_id": rest["last_id"]})
    assert last.json() == {
        "events": [],
        "last_id": rest["last_id"],
        "execution_status": "failed",
        "complete": True,
    }
    assert api.get("/events", params={"execution_id": "nope"}).status_code == 404


def test_long_poll_returns_when_an_event_arrives(api: Api, execution: str) -> None:
    timer = threading.Timer(0.5, _events, args=(api, execution, 1))
    timer.start()
    began = time.monotonic()
    page = api.get("/events", params={"execution_id": execution, "wait": 20}).json()
    timer.join()
    assert [e["message"] for e in page["events"]] == ["line 0"]
    assert time.monotonic() - began < 10


def test_long_poll_returns_at_the_end_of_the_execution(api: Api, execution: str) -> None:
    timer = threading.Timer(0.3, _end, args=(api, execution))
    timer.start()
    page = api.get("/events", params={"execution_id": execution, "wait": 20}).json()
    timer.join()
    assert page["complete"] is True and page["execution_status"] == "failed"


def test_stream_sends_events_then_end(api: Api, execution: str) -> None:
    _events(api, execution, 3)
    _end(api, execution)
    with api.client.stream(
        "GET",
        "/api/v1/events/stream",
        params={"execution_id": execution},
        headers={**api.headers(Role.VIEWER), "Last-Event-ID": "1"},
    ) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        text = "".join(answer.iter_text())
    blocks = [b for b in text.split("\n\n") if b]
    kinds = [next(line for line in b.split("\n") if line.startswith("event:")) for b in blocks]
    assert kinds == ["event: event", "event: event", "event: end"]
    assert blocks[0].startswith("id: 2\n")
    assert '"message":"line 1"' in blocks[0]
    assert blocks[-1].endswith('data: {"status": "failed"}')
