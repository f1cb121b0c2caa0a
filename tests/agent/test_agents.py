"""Sites' agents as real processes against a real manager over real HTTP.

Operations of instances contained in a host run at the deployment's site, through its
agent; the scripts record each run in a file, so a test counts how often an operation ran.
"""

from __future__ import annotations

import os
import pathlib
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from agent_support import ES, Fleet, runs, wait_for, write_blueprint

from cairn.model import sites as site_model
from cairn.services import executions as execution_service
from cairn.services import sites
from http_serving import self_signed

pytestmark = pytest.mark.integration


@pytest.fixture
def fleet(tmp_path: pathlib.Path) -> Iterator[Fleet]:
    started = Fleet(tmp_path)
    started.start_manager()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def marks(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "marks"
    folder.mkdir()
    return folder


def _install(fleet: Fleet, dep: str, site: str, marks: pathlib.Path, **inputs: object) -> str:
    fleet.deploy(dep, "web", site=site, inputs={"marks": str(marks), **inputs})
    return fleet.start(dep).id


def test_operations_of_hosted_instances_run_at_the_site_agent(
    fleet: Fleet, marks: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fleet.upload("web", write_blueprint(tmp_path / "bp"))
    fleet.add_site("edge-1")
    agent = fleet.start_agent("edge-1")
    execution = _install(fleet, "d1", "edge-1", marks)
    ended = fleet.wait_ended(execution)
    assert ended.status is ES.SUCCEEDED, (ended.error, fleet.agent_log("edge-1"))
    # each operation ran once, and in the agent's process tree (not the manager's)
    assert sorted(op for op, _ in runs(marks)) == ["configure", "create", "start"]
    app = next(i for i in fleet.m.store.list_instances("d1") if i.node_id == "app")
    assert app.state == "started"
    assert app.runtime_properties == {"create": "done", "configure": "done", "start": "done"}
    # the scripts' logs reached the manager as events, marked with the site
    logs = [e for e in fleet.events(execution) if e.type == "log"]
    assert any(e.message == "did create at the site" for e in logs)
    assert any(e.context.get("stream") == "stdout" and "stdout of start" in e.message for e in logs)
    assert all(e.context.get("site") == "edge-1" for e in logs)
    # the journal: three attempts, each reported once and accepted
    journal = fleet.journal("edge-1")
    assert sorted(e["operation"].rsplit(".", 1)[1] for e in journal) == [
        "configure",
        "create",
        "start",
    ]
    assert {(e["state"], e["outcome"], e["verdict"]) for e in journal} == {
        ("reported", "succeeded", "accepted")
    }
    # every attempt was acknowledged (by the agent's next poll, or its report if that came first)
    attempts = fleet.m.store.list_site_attempts("edge-1")
    assert len(attempts) == 3 and all(a.acknowledged_at is not None for a in attempts)
    # the site is online, with the agent's version
    seen = sites.get(fleet.m, "edge-1")
    assert seen.status is site_model.SiteStatus.ONLINE
    assert seen.site.agent_version
    assert agent.poll() is None


def test_an_offline_site_does_not_hold_up_other_sites_and_a_cancel_withdraws_its_work(
    fleet: Fleet, marks: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fleet.upload("web", write_blueprint(tmp_path / "bp"))
    fleet.add_site("dark")  # no agent ever connects
    fleet.add_site("edge-1")
    fleet.start_agent("edge-1")
    waiting = _install(fleet, "d-dark", "dark", marks)
    wait_for(lambda: fleet.m.store.list_site_attempts("dark"), what="an attempt queued for 'dark'")
    # far more executions than the engine's capacity could hold if 'dark' took slots
    others = [_install(fleet, f"d{i}", "edge-1", marks) for i in range(3)]
    for execution in others:
        assert fleet.wait_ended(execution).status is ES.SUCCEEDED
    assert fleet.m.store.get_execution(waiting).status is ES.STARTED
    assert sites.get(fleet.m, "dark").status is site_model.SiteStatus.NEVER_SEEN
    execution_service.cancel(fleet.m, waiting)
    assert fleet.wait_ended(waiting, timeout=20).status is ES.CANCELLED
    [attempt] = fleet.m.store.list_site_attempts("dark")
    assert attempt.state is site_model.AttemptState.ABANDONED
    assert len(runs(marks)) == 9  # the three others' operations; none of the dark site's


def test_kill_9_of_the_agent_mid_operation_runs_nothing_twice(
    fleet: Fleet, marks: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fleet.upload("web", write_blueprint(tmp_path / "bp"))
    fleet.add_site("edge-1")
    fleet.start_agent("edge-1")
    execution = _install(fleet, "d1", "edge-1", marks, pause=3)
    wait_for(lambda: runs(marks), what="create to start at the site")
    fleet.kill_agent("edge-1", signal.SIGKILL)
    time.sleep(1.0)
    fleet.start_agent("edge-1")
    ended = fleet.wait_ended(execution)
    assert ended.status is ES.SUCCEEDED, (ended.error, fleet.agent_log("edge-1"))
    assert sorted(op for op, _ in runs(marks)) == ["configure", "create", "start"]
    create = next(e for e in fleet.journal("edge-1") if e["operation"].endswith("create"))
    assert create["state"] == "reported" and create["outcome"] == "succeeded"
    assert "resuming attempt" in fleet.agent_log("edge-1")


def test_results_made_while_the_manager_is_down_arrive_when_it_is_back(
    fleet: Fleet, marks: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fleet.upload("web", write_blueprint(tmp_path / "bp"))
    fleet.add_site("edge-1")
    fleet.start_agent("edge-1")
    execution = _install(fleet, "d1", "edge-1", marks, pause=3)
    wait_for(lambda: runs(marks), what="create to start at the site")
    fleet.stop_manager()  # the agent finishes create with nobody to tell
    wait_for(
        lambda: any(e["state"] == "finished" for e in fleet.journal("edge-1")),
        timeout=20,
        what="create to finish at the site",
    )
    fleet.start_manager()  # same data directory, same port
    ended = fleet.wait_ended(execution)
    assert ended.status is ES.SUCCEEDED, (ended.error, fleet.agent_log("edge-1"))
    assert sorted(op for op, _ in runs(marks)) == ["configure", "create", "start"]


def test_an_agent_away_past_the_timeout_fails_the_attempt_and_its_late_result_is_only_noted(
    fleet: Fleet, marks: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fleet.upload("web", write_blueprint(tmp_path / "bp", "create", "configure", "start", timeout=3))
    fleet.add_site("edge-1")
    agent = fleet.start_agent("edge-1")
    execution = _install(fleet, "d1", "edge-1", marks, pause=2)
    wait_for(lambda: runs(marks), what="create to start at the site")
    os.kill(agent.pid, signal.SIGSTOP)  # away: no heartbeat, no report
    try:
        wait_for(
            lambda: any(e.type == "task_rescheduled" for e in fleet.events(execution)),
            timeout=30,
            what="the manager to give the attempt up",
        )
    finally:
        os.kill(agent.pid, signal.SIGCONT)
    ended = fleet.wait_ended(execution)
    assert ended.status is ES.SUCCEEDED, (ended.error, fleet.agent_log("edge-1"))
    late = [e for e in fleet.events(execution) if e.type == "task_late"]
    assert late and "given up before" in late[0].message
    # create ran twice: the first attempt (late), and its retry; the rest once
    assert sorted(op for op, _ in runs(marks)) == ["configure", "create", "create", "start"]


def test_an_agent_token_opens_only_its_own_site(
    fleet: Fleet, marks: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fleet.upload("web", write_blueprint(tmp_path / "bp"))
    token_a = fleet.add_site("site-a").read_text().strip()
    fleet.add_site("site-b")
    execution = _install(fleet, "db", "site-b", marks)
    [attempt] = wait_for(lambda: fleet.m.store.list_site_attempts("site-b"), what="B's work")
    bearer = {"Authorization": f"Bearer {token_a}"}
    with httpx.Client(base_url=f"{fleet.url}/api/v1", timeout=10) as http:
        poll = {"agent_version": "x", "wait": 0}
        assert http.post("/sites/site-b/agent/poll", json=poll, headers=bearer).status_code == 403
        assert http.post("/sites/site-a/agent/poll", json=poll, headers=bearer).json() == {
            "attempts": [],
            "kill": [],
        }
        report = {"reports": [{"key": attempt.key, "outcome": {"kind": "succeeded"}}]}
        answer = http.post("/sites/site-a/agent/reports", json=report, headers=bearer)
        assert answer.status_code == 403, answer.text
        acks = {"keys": [attempt.key]}
        assert http.post("/sites/site-a/agent/acks", json=acks, headers=bearer).status_code == 403
        # nor acknowledged through a poll: refused whole
        poll_ack = {**poll, "acknowledge": [attempt.key]}
        answer = http.post("/sites/site-a/agent/poll", json=poll_ack, headers=bearer)
        assert answer.status_code == 403, answer.text
        assert http.get("/sites/site-a/agent/blueprints/web", headers=bearer).status_code == 403
        # user tokens are not agent tokens, even an admin's
        admin = {"Authorization": f"Bearer {_admin(fleet)}"}
        assert http.post("/sites/site-b/agent/poll", json=poll, headers=admin).status_code == 403
        # a rotated token is revoked
        fleet.new_token("site-a")
        assert http.post("/sites/site-a/agent/poll", json=poll, headers=bearer).status_code == 401
    # nothing moved: B's attempt is still queued and its execution still waits
    assert fleet.m.store.get_site_attempt(attempt.key).state is site_model.AttemptState.QUEUED  # type: ignore[union-attr]
    assert fleet.m.store.get_execution(execution).status is ES.STARTED


def _admin(fleet: Fleet) -> str:
    from cairn.model import runtime
    from cairn.services import auth

    return auth.create(fleet.m, role=runtime.Role.ADMIN, description="test").value


def test_an_agent_reaches_a_manager_over_https_with_its_ca(
    tmp_path: pathlib.Path, marks: pathlib.Path
) -> None:
    cert, key = self_signed(tmp_path)
    fleet = Fleet(tmp_path / "tls", tls=(cert, key))
    (tmp_path / "tls").mkdir()
    fleet.start_manager()
    try:
        assert str(fleet.url).startswith("https://")
        fleet.upload("web", write_blueprint(tmp_path / "bp"))
        fleet.add_site("edge-1")
        fleet.start_agent("edge-1", extra=("--ca-file", cert))
        ended = fleet.wait_ended(_install(fleet, "d1", "edge-1", marks))
        assert ended.status is ES.SUCCEEDED, (ended.error, fleet.agent_log("edge-1"))
        # without the CA, the agent refuses the manager's certificate and gets nowhere
        fleet.add_site("edge-2")
        fleet.start_agent("edge-2")
        wait_for(
            lambda: "CERTIFICATE_VERIFY_FAILED" in fleet.agent_log("edge-2"),
            timeout=20,
            what="the agent to refuse the certificate",
        )
        assert sites.get(fleet.m, "edge-2").status is site_model.SiteStatus.NEVER_SEEN
    finally:
        fleet.close()


def test_an_attempt_delivered_again_is_answered_from_the_journal(
    fleet: Fleet, marks: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    fleet.upload("web", write_blueprint(tmp_path / "bp", "create"))
    fleet.add_site("edge-1")
    fleet.start_agent("edge-1")
    assert fleet.wait_ended(_install(fleet, "d1", "edge-1", marks)).status is ES.SUCCEEDED
    [attempt] = fleet.m.store.list_site_attempts("edge-1")
    wait_for(
        lambda: (
            fleet.m.store.get_site_attempt(attempt.key).state  # type: ignore[union-attr]
            is site_model.AttemptState.DONE
        ),
        what="the attempt to be marked done",
    )
    # as if the manager had lost track of the delivery (a restored backup, a lost answer)
    engine = sa.create_engine(f"sqlite:///{fleet.root / 'manager' / 'cairn.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE site_attempts SET state = 'queued' WHERE key = :key"),
            {"key": attempt.key},
        )
    engine.dispose()
    fleet.m.doorbell.ring("edge-1")
    wait_for(
        lambda: fleet.journal("edge-1")[0]["deliveries"] == 2,
        timeout=20,
        what="the agent to receive the attempt again",
    )
    wait_for(
        lambda: (
            fleet.m.store.get_site_attempt(attempt.key).state  # type: ignore[union-attr]
            is site_model.AttemptState.REPORTED
        ),
        timeout=20,
        what="the journaled report to be sent again",
    )
    assert runs(marks) == [("create", runs(marks)[0][1])]  # ran once
    assert "delivered again: answering from the journal" in fleet.agent_log("edge-1")


def test_an_update_of_a_deployment_on_a_site_runs_at_its_agent(
    fleet: Fleet, marks: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    from cairn.services import updates

    fleet.upload("web", write_blueprint(tmp_path / "bp"))
    # revision 2 gives app an update operation: app is modified and updated in place
    fleet.upload(
        "web2", write_blueprint(tmp_path / "bp2", "create", "configure", "start", "update")
    )
    fleet.add_site("edge-1")
    fleet.start_agent("edge-1")
    installed = fleet.wait_ended(_install(fleet, "d1", "edge-1", marks))
    assert installed.status is ES.SUCCEEDED, (installed.error, fleet.agent_log("edge-1"))
    started = updates.update(fleet.m, deployment_id="d1", blueprint_id="web2")
    ended = fleet.wait_ended(started.execution.id)
    assert ended.status is ES.SUCCEEDED, (ended.error, fleet.agent_log("edge-1"))
    app = next(i for i in fleet.m.store.list_instances("d1") if i.node_id == "app")
    assert runs(marks)[3:] == [("update", app.id)]  # only the update ran, once
    logs = [e for e in fleet.events(started.execution.id) if e.type == "log"]
    assert any(e.message == "did update at the site" for e in logs)
    assert all(e.context.get("site") == "edge-1" for e in logs)
    assert fleet.m.store.get_deployment("d1").revision == 2
    assert any(e["operation"].endswith(".update") for e in fleet.journal("edge-1"))
