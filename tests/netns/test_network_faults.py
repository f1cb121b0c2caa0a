"""Sites' agents across a real (namespaced) network that fails: cut links, killed processes,
a restarted manager, a slow and lossy network, and tokens used from another site.

Each test builds its own topology (``conftest.net``): a manager namespace and three site
namespaces on a bridge, no default route anywhere. The manager (``cairn up``) and the agents
are real processes in their namespaces; the scripts record each run in ``runs.log`` (see
``tests/agent/agent_support.py``), so a test counts how often each operation ran.
"""

from __future__ import annotations

import datetime
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from agent_support import runs, wait_for, write_blueprint
from netns_support import SLOW_PORT, NetFleet, wait_quietly

pytestmark = [pytest.mark.netns, pytest.mark.integration]

OPS = ["configure", "create", "start"]
LIFECYCLE = "cloudify.interfaces.lifecycle."


def _marks(tmp_path: pathlib.Path, deployment: str) -> pathlib.Path:
    folder = tmp_path / "marks" / deployment
    folder.mkdir(parents=True)
    return folder


def _journal_state(net: NetFleet, site: str, op: str) -> str | None:
    found = [e for e in net.journal(site) if (e["operation"] or "").endswith(f".{op}")]
    return found[-1]["state"] if found else None


def _op_events(events: list[dict[str, object]], op: str, kind: str) -> list[dict[str, object]]:
    return [e for e in events if e["operation"] == LIFECYCLE + op and e["type"] == kind]


def _at(event: dict[str, object]) -> datetime.datetime:
    return datetime.datetime.fromisoformat(str(event["timestamp"]))


def _assert_all_events(net: NetFleet, execution: str, site: str) -> None:
    """Each operation: started, its ctx log line and its stdout, succeeded; each once."""
    events = net.events(execution)
    for op in OPS:
        logs = _op_events(events, op, "log")
        assert [e["message"] for e in logs if e["context"].get("stream") != "stdout"] == [  # type: ignore[union-attr]
            f"did {op} at the site"
        ], (op, logs)
        assert [e["message"] for e in logs if e["context"].get("stream") == "stdout"] == [  # type: ignore[union-attr]
            f"stdout of {op}"
        ], (op, logs)
        assert all(e["context"].get("site") == site for e in logs)  # type: ignore[union-attr]
        assert len(_op_events(events, op, "task_succeeded")) == 1, (op, events)
        assert _op_events(events, op, "task_started"), (op, events)
        assert not _op_events(events, op, "task_rescheduled"), (op, events)


def test_a_cut_link_holds_the_result_back_until_it_is_restored(
    net: NetFleet, tmp_path: pathlib.Path
) -> None:
    net.upload("web", write_blueprint(tmp_path / "bp"))
    net.add_site("s1")
    net.start_agent("s1")
    marks = _marks(tmp_path, "d1")
    execution = net.install("d1", "web", site="s1", inputs={"marks": str(marks), "pause": 6})
    wait_for(lambda: runs(marks), timeout=60, what="create to start at the site")
    net.topo.cut("s1")
    try:
        wait_for(
            lambda: _journal_state(net, "s1", "create") == "finished",
            timeout=30,
            what="create to finish at the site while its link is cut",
        )
        wait_quietly(2.0)  # the agent tries to report, and cannot
        assert net.execution(execution)["status"] == "started"
        assert _journal_state(net, "s1", "create") == "finished"
    finally:
        restored = datetime.datetime.now(datetime.UTC)
        net.topo.restore("s1")
    ended = net.wait_ended(execution, timeout=120)
    assert ended["status"] == "succeeded", (ended["error"], net.agent_log("s1"))
    assert sorted(op for op, _ in runs(marks)) == OPS
    [succeeded] = _op_events(net.events(execution), "create", "task_succeeded")
    assert _at(succeeded) > restored  # the result came once the link was back
    assert {e["state"] for e in net.journal("s1")} == {"reported"}
    _assert_all_events(net, execution, "s1")


def test_an_agent_killed_mid_operation_adopts_it_when_started_again(
    net: NetFleet, tmp_path: pathlib.Path
) -> None:
    net.upload("web", write_blueprint(tmp_path / "bp"))
    net.add_site("s2")
    net.start_agent("s2")
    marks = _marks(tmp_path, "d2")
    execution = net.install("d2", "web", site="s2", inputs={"marks": str(marks), "pause": 4})
    wait_for(lambda: runs(marks), timeout=60, what="create to start at the site")
    net.kill_agent("s2", signal.SIGKILL)
    assert _journal_state(net, "s2", "create") == "running"
    wait_quietly(1.0)
    net.start_agent("s2")
    ended = net.wait_ended(execution, timeout=120)
    assert ended["status"] == "succeeded", (ended["error"], net.agent_log("s2"))
    assert sorted(op for op, _ in runs(marks)) == OPS
    journal = net.journal("s2")
    assert sorted(e["operation"].rsplit(".", 1)[1] for e in journal) == OPS
    assert {(e["state"], e["outcome"], e["verdict"]) for e in journal} == {
        ("reported", "succeeded", "accepted")
    }
    assert "resuming attempt" in net.agent_log("s2")
    _assert_all_events(net, execution, "s2")


@pytest.mark.timeout(240)
def test_a_manager_killed_and_restarted_loses_nothing_and_runs_nothing_twice(
    net: NetFleet, tmp_path: pathlib.Path
) -> None:
    net.upload("web", write_blueprint(tmp_path / "bp"))
    marks = {}
    executions = {}
    for site in net.topo.sites:
        net.add_site(site)
        net.start_agent(site)
    for site in net.topo.sites:
        marks[site] = _marks(tmp_path, f"d-{site}")
        inputs = {"marks": str(marks[site]), "pause": 4}
        executions[site] = net.install(f"d-{site}", "web", site=site, inputs=inputs)
    for site in net.topo.sites:
        wait_for(lambda s=site: runs(marks[s]), timeout=60, what=f"create to start at {site}")
    net.kill_manager()
    wait_quietly(1.0)
    net.start_manager()  # same data directory, same address
    for site, execution in executions.items():
        ended = net.wait_ended(execution, timeout=150)
        assert ended["status"] == "succeeded", (ended["error"], net.agent_log(site))
    for site, execution in executions.items():
        assert sorted(op for op, _ in runs(marks[site])) == OPS, site
        assert {e["state"] for e in net.journal(site)} == {"reported"}
        _assert_all_events(net, execution, site)
        log = net.agent_log(site)  # it saw the manager go, and came back
        assert 0 <= log.rfind("unreachable") < log.rfind("connected to the manager"), log


@pytest.mark.timeout(300)
def test_ten_installs_succeed_over_a_slow_and_lossy_network(
    net: NetFleet, tmp_path: pathlib.Path
) -> None:
    address = net.topo.manager_address
    net.relay("mgr", listen=f"tcp:{address}:{SLOW_PORT}", target=f"{address}:8800", delay=0.2)
    for site in net.topo.sites:
        net.topo.loss(site, 5)
    net.upload("web", write_blueprint(tmp_path / "bp"))
    for site in net.topo.sites:
        net.add_site(site)
        net.start_agent(site, url=f"http://{address}:{SLOW_PORT}")
    begun = time.monotonic()
    placed = {}
    for i in range(10):
        site = net.topo.sites[i % 3]
        marks = _marks(tmp_path, f"d{i}")
        execution = net.install(f"d{i}", "web", site=site, inputs={"marks": str(marks)})
        placed[execution] = (site, marks)
    for execution, (site, _) in placed.items():
        ended = net.wait_ended(execution, timeout=max(10.0, 200 - (time.monotonic() - begun)))
        assert ended["status"] == "succeeded", (ended["error"], net.agent_log(site))
    for execution, (site, marks) in placed.items():
        assert sorted(op for op, _ in runs(marks)) == OPS
        _assert_all_events(net, execution, site)
    print(f"10 installs over 200 ms and 5 % loss: {time.monotonic() - begun:.1f} s")


PROBE = textwrap.dedent(
    """
    import sys, httpx
    url, site, token = sys.argv[1:4]
    answer = httpx.post(
        f"{url}/api/v1/sites/{site}/agent/poll",
        json={"agent_version": "probe", "wait": 0},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    print(answer.status_code)
    """
)


def _poll_from(net: NetFleet, where: str, site: str, token: str) -> int:
    command = ["ip", "netns", "exec", net.topo.ns(where), sys.executable, "-c", PROBE]
    done = subprocess.run(
        [*command, net.url, site, token], capture_output=True, text=True, timeout=60, check=True
    )
    return int(done.stdout.strip())


def test_a_site_token_opens_only_its_own_site_across_the_network(net: NetFleet) -> None:
    token_a = net.add_site("s1")
    token_b = net.add_site("s2")
    assert _poll_from(net, "s1", "s1", token_a) == 200
    assert _poll_from(net, "s1", "s2", token_a) == 403  # A's token, B's work
    assert _poll_from(net, "s2", "s1", token_b) == 403
    net.add_site_token("s1")  # rotated: the old one is revoked
    assert _poll_from(net, "s1", "s1", token_a) == 401
