"""Rollouts on a real manager (store, engine, runner, local connector, real scripts): waves,
concurrency, the failure threshold, rollback, retry of the failed members, pause, cancel,
and a manager restart in the middle."""

from __future__ import annotations

import pathlib
import shutil
import sys
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import engine_support as support

from cairn import errors
from cairn.dsl import parser
from cairn.engine import executor
from cairn.model import executions, plan, runtime
from cairn.model import rollouts as model
from cairn.services import groups, rollouts, updates
from cairn.services.manager import Manager

MS = model.MemberStatus
RS = model.Status


def web(
    folder: pathlib.Path, log: pathlib.Path, *, version: int, broken: bool = False
) -> pathlib.Path:
    """A web server on a host: v2 changes the server's version (reinstalled). Each deployment
    has its own control folder (an input), so one deployment can be told to fail; a broken
    revision reads its control files from the folder's ``broken`` subfolder."""
    control = "{concat: [{get_input: control}, /broken]}" if broken else "{get_input: control}"
    record = "      cloudify.interfaces.lifecycle:\n" + "".join(
        f"        {op}:\n"
        "          implementation: scripts/record.sh\n"
        f"          inputs: {{LOG: '{log}', CONTROL: {control}}}\n"
        for op in ("create", "configure", "delete")
    )
    return support.write_blueprint(
        folder,
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "inputs:\n  control: {}\n"
        "node_types:\n"
        "  t.Web: {derived_from: cloudify.nodes.Root, properties: {version: {}}}\n"
        "node_templates:\n"
        "  host:\n    type: cloudify.nodes.Root\n"
        f"  server:\n    type: t.Web\n    properties: {{version: {version}}}\n"
        f"    interfaces:\n{record}"
        "    relationships: [{type: cloudify.relationships.contained_in, target: host}]\n",
    )


@pytest.fixture
def manager(tmp_path: pathlib.Path) -> Iterator[Manager]:
    settings = executor.Settings(
        idle_wait=0.05, defaults=executions.RetryPolicy(max_retries=0, retry_interval=0)
    )
    with Manager.open(tmp_path / "data", settings=settings) as opened:
        opened.rollouts.tick = 0.05
        yield opened


def upload(manager: Manager, path: pathlib.Path, blueprint_id: str) -> None:
    shutil.copytree(path.parent, manager.blueprint_dir(blueprint_id))
    manager.store.put_blueprint(
        runtime.Blueprint(
            id=blueprint_id,
            main_file=path.name,
            plan=plan.to_json(parser.parse_path(path)),
            created_at=manager.clock.now(),
        )
    )


def make_group(manager: Manager, group_id: str, members: list[str]) -> None:
    groups.create(manager, group_id=group_id, deployment_ids=members)


@pytest.fixture
def fleet(manager: Manager, tmp_path: pathlib.Path) -> list[str]:
    """Five installed deployments of v1 in group 'prod'; v2 (and v2-broken, whose server
    fails to configure) uploaded."""
    log = tmp_path / "ops.log"
    v1 = web(tmp_path / "v1", log, version=1)
    names = [f"web-{n}" for n in range(1, 6)]
    for name in names:
        control = tmp_path / "control" / name
        (control / "broken").mkdir(parents=True)
        (control / "broken" / "fail-server-configure").write_text("")
        support.deploy(manager, v1, deployment_id=name, inputs={"control": str(control)})
        assert support.run(manager, "install", deployment_id=name).status.value == "succeeded"
    upload(manager, web(tmp_path / "v2", log, version=2), "v2")
    upload(manager, web(tmp_path / "v2-broken", log, version=2, broken=True), "v2-broken")
    make_group(manager, "prod", names)
    return names


def fail_at(tmp_path: pathlib.Path, name: str, op: str = "configure") -> pathlib.Path:
    marker = tmp_path / "control" / name / f"fail-server-{op}"
    marker.write_text("")
    return marker


def wait_until(
    manager: Manager, rollout_id: str, done: Callable[[model.Rollout], bool], seconds: float = 60
) -> model.Rollout:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = rollouts.get(manager, rollout_id)
        if done(found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"rollout {rollout_id} still {found.status}: {dict(found.counts)}")


def ended(manager: Manager, rollout_id: str, seconds: float = 60) -> model.Rollout:
    return wait_until(manager, rollout_id, lambda r: r.status in model.ENDED, seconds)


def ledger(manager: Manager, rollout_id: str) -> dict[str, model.Member]:
    return {m.deployment_id: m for m in rollouts.members(manager, rollout_id)}


def settings(**given: object) -> model.Settings:
    chosen, problems = model.settings_from(**given)  # type: ignore[arg-type]
    assert chosen is not None, problems
    return chosen


def update_rollout(manager: Manager, to: str = "v2", **given: object) -> model.Rollout:
    return rollouts.start(
        manager,
        workflow_id="update",
        group_id="prod",
        parameters={"blueprint_id": to},
        settings=settings(**given),
    )


def test_update_rollout_in_waves(manager: Manager, fleet: list[str]) -> None:
    started = update_rollout(manager, waves="1,60%,100%", concurrency=2)
    assert (started.status, started.waves) == (RS.RUNNING, 3)
    done = ended(manager, started.id)
    assert done.status is RS.SUCCEEDED, done.reason
    members = ledger(manager, started.id)
    assert [members[n].wave for n in fleet] == [0, 1, 1, 2, 2]
    assert {m.status for m in members.values()} == {MS.SUCCEEDED}
    for name in fleet:
        deployment = manager.store.get_deployment(name)
        assert (deployment.blueprint_id, deployment.revision) == ("v2", 2)
        assert (members[name].from_revision, members[name].to_revision) == (1, 2)
        assert members[name].attempts == 1
    # a wave starts only once the one before it has ended
    canary = members[fleet[0]]
    assert canary.ended_at is not None
    assert all(m.started_at and m.started_at >= canary.ended_at for m in members.values() if m.wave)
    last_of_second = max(members[n].ended_at for n in fleet[1:3])  # type: ignore[type-var]
    assert all(members[n].started_at >= last_of_second for n in fleet[3:])  # type: ignore[operator]


def test_failing_canary_rolls_back(
    manager: Manager, fleet: list[str], tmp_path: pathlib.Path
) -> None:
    started = update_rollout(
        manager, "v2-broken", waves="1,100%", max_failures="1", on_failure="rollback"
    )
    done = ended(manager, started.id)
    assert done.status is RS.ROLLED_BACK
    assert "1 member(s) failed" in (done.reason or "")
    members = ledger(manager, started.id)
    assert members[fleet[0]].status is MS.ROLLED_BACK, members[fleet[0]].error
    assert "failing on purpose" in (members[fleet[0]].error or "")  # why it was rolled back
    assert {members[n].status for n in fleet[1:]} == {MS.PENDING}
    canary = manager.store.get_deployment(fleet[0])
    assert canary.blueprint_id == f"{fleet[0]}-bp"
    assert canary.revision == 3  # 2 was the failed update, given up
    assert [(r.revision, r.status) for r in updates.history(manager, fleet[0])] == [
        (1, "applied"),
        (2, "abandoned"),
        (3, "applied"),
    ]
    assert {i.state.value for i in manager.store.list_instances(fleet[0])} == {"started"}
    for name in fleet[1:]:
        assert manager.store.get_deployment(name).revision == 1


def test_retry_failed_reruns_only_the_failed(
    manager: Manager, fleet: list[str], tmp_path: pathlib.Path
) -> None:
    marker = fail_at(tmp_path, fleet[2])
    started = update_rollout(manager, max_failures="3", concurrency=5)
    done = ended(manager, started.id)
    assert done.status is RS.FAILED and done.reason == "1 member(s) failed"
    failed = ledger(manager, started.id)[fleet[2]]
    assert failed.status is MS.FAILED and failed.execution_id
    marker.unlink()
    rollouts.retry_failed(manager, started.id)
    again = ended(manager, started.id)
    assert again.status is RS.SUCCEEDED
    members = ledger(manager, started.id)
    assert members[fleet[2]].execution_id == failed.execution_id  # resumed, not restarted
    assert members[fleet[2]].attempts == 2
    assert {members[n].attempts for n in fleet if n != fleet[2]} == {1}
    assert manager.store.get_deployment(fleet[2]).revision == 2
    with pytest.raises(errors.ConflictError, match="no failed member"):
        rollouts.retry_failed(manager, started.id)


def test_rollback_of_chosen_members(manager: Manager, fleet: list[str]) -> None:
    started = update_rollout(manager, concurrency=5)
    assert ended(manager, started.id).status is RS.SUCCEEDED
    with pytest.raises(errors.ConflictError) as refused:
        rollouts.rollback(manager, started.id, deployment_ids=[fleet[1], "nope"])
    assert "nope: not a member" in str(refused.value)
    assert manager.store.get_deployment(fleet[1]).revision == 2  # nothing started
    rollouts.rollback(manager, started.id, deployment_ids=[fleet[1]])
    wait_until(
        manager,
        started.id,
        lambda r: r.counts.get("rolled_back") == 1 and not r.counts.get("rolling_back"),
    )
    back = manager.store.get_deployment(fleet[1])
    assert (back.blueprint_id, back.revision) == (f"{fleet[1]}-bp", 3)
    assert {manager.store.get_deployment(n).revision for n in fleet if n != fleet[1]} == {2}


def test_pause_resume_and_cancel(
    manager: Manager, fleet: list[str], tmp_path: pathlib.Path
) -> None:
    for name in fleet:
        (tmp_path / "control" / name / "sleep-server-configure").write_text("0.3")
    started = update_rollout(manager, concurrency=1)
    wait_until(manager, started.id, lambda r: r.counts.get("succeeded", 0) >= 1)
    rollouts.pause(manager, started.id)
    busy = {s.value for s in model.MEMBER_BUSY}
    paused = wait_until(manager, started.id, lambda r: not busy & set(r.counts))
    assert paused.status is RS.PAUSED
    time.sleep(0.5)
    assert rollouts.get(manager, started.id).counts == paused.counts  # nothing started
    rollouts.resume(manager, started.id)
    wait_until(
        manager, started.id, lambda r: r.counts.get("succeeded", 0) > paused.counts["succeeded"]
    )
    rollouts.cancel(manager, started.id)
    done = ended(manager, started.id)
    assert done.status is RS.CANCELLED
    assert done.counts.get("cancelled", 0) >= 1 and not done.counts.get("pending")
    with pytest.raises(errors.ConflictError):
        rollouts.pause(manager, started.id)


def test_restart_of_the_manager_mid_rollout(
    tmp_path: pathlib.Path, fleet: list[str], manager: Manager
) -> None:
    for name in fleet:
        (tmp_path / "control" / name / "sleep-server-configure").write_text("0.2")
    started = update_rollout(manager, concurrency=1)
    wait_until(manager, started.id, lambda r: r.counts.get("succeeded", 0) >= 1)
    manager.close()
    with Manager.open(tmp_path / "data") as again:
        again.rollouts.tick = 0.05
        done = ended(again, started.id)
        assert done.status is RS.SUCCEEDED
        assert {m.attempts for m in rollouts.members(again, started.id)} == {1}


def test_bad_starts_change_nothing(manager: Manager, fleet: list[str]) -> None:
    with pytest.raises(errors.NotFoundError):
        rollouts.start(manager, workflow_id="install", group_id="nope")
    with pytest.raises(errors.NotFoundError):
        rollouts.start(
            manager, workflow_id="update", group_id="prod", parameters={"blueprint_id": "v9"}
        )
    with pytest.raises(errors.UsageError, match="undo"):
        rollouts.start(
            manager,
            workflow_id="heal",
            group_id="prod",
            settings=settings(on_failure="rollback"),
        )
    assert rollouts.list_(manager) == []
    chosen, problems = model.settings_from(
        concurrency=0, waves="1,x", soak="soon", max_failures="0", on_failure="cry", offline="?"
    )
    assert chosen is None
    assert set(problems) == {
        "concurrency",
        "waves",
        "soak",
        "max_failures",
        "on_failure",
        "offline",
    }


def test_members_already_there_succeed_without_running(manager: Manager, fleet: list[str]) -> None:
    first = update_rollout(manager, concurrency=5)
    assert ended(manager, first.id).status is RS.SUCCEEDED
    again = update_rollout(manager, concurrency=5)
    assert ended(manager, again.id).status is RS.SUCCEEDED
    for member in rollouts.members(manager, again.id):
        assert member.status is MS.SUCCEEDED and member.execution_id is None
        assert (member.from_revision, member.to_revision) == (2, 2)
    assert {manager.store.get_deployment(n).revision for n in fleet} == {2}
    assert len(updates.history(manager, fleet[0])) == 2  # no empty revision recorded


def test_the_runner_reads_only_the_sites_it_asks_about_in_one_read(tmp_path: pathlib.Path) -> None:
    """At 10,000 sites a read of every site each second was a fortieth of the manager: the
    runner reads the sites of the members a tick looks at, together, and again only once
    :data:`rollout_runner.SITES_FRESH` has passed."""
    from cairn.model.sites import SiteStatus
    from cairn.services import rollout_runner, sites
    from cairn.store.interface import SiteSeen

    with Manager.open(tmp_path / "data", start_engine=False) as m:
        for name in ("a", "b", "c"):
            sites.create(m, name=name, location=sites.Location(latitude=1.0, longitude=2.0))
        m.store.sites_seen(
            [SiteSeen(name="a", now=m.clock.now(), agent_version="t", agent_address=None)]
        )
        reads: list[set[str]] = []
        real = m.store.get_sites

        def counted(names: Collection[str]) -> dict[str, Any]:
            reads.append(set(names))
            return real(names)

        m.store.get_sites = counted  # type: ignore[method-assign]
        runner = rollout_runner.Runner(m)
        runner.know_sites(["a", "b", "gone"])
        assert reads == [{"a", "b", "gone"}]
        assert runner.site_online("a") and not runner.site_online("b")
        assert runner.site_status("gone") is SiteStatus.NEVER_SEEN
        assert runner.site_status("b") is SiteStatus.NEVER_SEEN
        assert reads == [{"a", "b", "gone"}]  # all three still fresh: no read
        runner.site_status("c")
        assert reads[-1] == {"c"}
        time.sleep(rollout_runner.SITES_FRESH + 0.1)
        runner.know_sites(["a", "c"])
        assert reads[-1] == {"a", "c"}
