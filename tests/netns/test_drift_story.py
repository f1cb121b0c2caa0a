"""Issue 5's story across a real (namespaced) network: drift at three sites, put right, then a
new revision and back.

``examples/web-drift`` (a folder, an HTML page, ``python3 -m http.server`` as a
``cairn.nodes.Service``, a ``cairn.nodes.HttpCheck`` of the page) is deployed to three sites,
each with its agent in its own network namespace (``conftest.net``). Each site's page is
served on the same port of its own loopback. Then each site drifts in its own way:

- s1: the page is edited (the agents' files are on the host's file system: written directly);
- s2: the server is killed (its pid is the ``web`` instance's runtime property ``pid``);
- s3: nftables in s3's namespace rejects the port on ``lo`` (the checks connect from the
  agent's own namespace, over its loopback).

check_drift and check_status report exactly those three problems and nothing else. Correction
is what the ``correct`` drift policy does: Cairn's update with no blueprint (the drifted
instances reapplied), then ``heal`` (the instances whose status check failed reinstalled).
At s3 the firewall rule is not Cairn's to manage: correcting s3 means removing the rule first
(an operator's act), then the same update and heal, which restart the server and check it.
A second check finds nothing. Then ``examples/web-drift-v2`` (the page changed, a second file
added): the preview shows exactly that delta, the update runs exactly the previewed operations
at each site, and a revert brings revision 1 back (the page as it was, the second file gone).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import pathlib
import signal
import subprocess
import time
from typing import Any

import pytest
from agent_support import wait_for
from netns_support import NetFleet

pytestmark = [pytest.mark.netns, pytest.mark.integration]

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"
PORT = 8080
GREETING = "Hello from Cairn"
NODES = {"site_root", "page", "web", "check"}
LIFECYCLE = "cloudify.interfaces.lifecycle."


def _clean() -> dict[str, dict[str, Any]]:
    """Every node checked, no differences."""
    return {node: {} for node in NODES}


def _root(tmp_path: pathlib.Path, site: str) -> pathlib.Path:
    return tmp_path / "www" / site


def _page(root: pathlib.Path, *, revision: int) -> str:
    extra = "<p>revision 2</p>" if revision == 2 else ""
    body = f"<h1>{GREETING}</h1><p>served from {root}</p>{extra}"
    return f"<!doctype html>\n<html><body>{body}</body></html>\n"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _run(net: NetFleet, deployment: str, workflow: str, **params: Any) -> dict[str, Any]:
    body = {"deployment_id": deployment, "workflow_id": workflow, "parameters": params}
    started = net.call("POST", "/executions", json=body)
    return net.wait_ended(str(started["id"]), timeout=120)


def _instances(net: NetFleet, deployment: str) -> dict[str, dict[str, Any]]:
    found = net.call("GET", "/node-instances", params={"deployment_id": deployment})
    return {i["node_id"]: i for i in found}


def _drift(net: NetFleet, deployment: str) -> dict[str, dict[str, Any]]:
    """Per node: the differences its last drift check found ({} when none)."""
    detail = net.call("GET", f"/deployments/{deployment}/drift")
    assert {i["node_id"] for i in detail["instances"]} == NODES, detail
    for instance in detail["instances"]:
        assert instance["drifted"] == bool(instance["differences"]), instance
        assert instance["record"] is not None and instance["record"]["instance"]["error"] is None
    return {i["node_id"]: i["differences"] for i in detail["instances"]}


def _status_failed(net: NetFleet, deployment: str) -> dict[str, Any]:
    """Per node whose last status check failed: what it said."""
    detail = net.call("GET", f"/deployments/{deployment}/drift")
    for instance in detail["instances"]:
        assert instance["status"] is not None, instance  # every instance was checked
    failed = {
        i["node_id"]: i["status"]["result"] for i in detail["instances"] if not i["status"]["ok"]
    }
    ids = {i["id"] for i in detail["instances"] if i["node_id"] in failed}
    assert set(detail["status_failed"]) == ids, detail
    return failed


def _nft(net: NetFleet, site: str, *command: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", net.topo.ns(site), "nft", *command],
        check=True,
        capture_output=True,
        timeout=30,
    )


def _get_in(net: NetFleet, site: str, path: str) -> str:
    """GET http://127.0.0.1:PORT/path from inside the site's namespace: the body, or an error."""
    code = (
        "import sys, urllib.request\n"
        "try:\n"
        "    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end='')\n"
        "except Exception as error:\n"
        "    print(f'ERROR {error}', end='')\n"
    )
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            net.topo.ns(site),
            "python3",
            "-c",
            code,
            f"http://127.0.0.1:{PORT}/{path}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
    )
    return done.stdout


def _planned(preview: dict[str, Any]) -> list[tuple[str, str]]:
    """(instance, operation) of each operation step of an update's answer, in order."""
    found = []
    for step in preview["steps"]:
        if step["kind"] == "operation":
            operation, _, instance = str(step["description"]).partition(" on ")
            found.append((instance, operation))
    return found


def _by_node(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The steps with each instance id replaced by its node's name (``page_x1y2z3``: page)."""
    return [(instance.rpartition("_")[0], operation) for instance, operation in steps]


def _operations_run(net: NetFleet, execution: str) -> collections.Counter[tuple[str, str]]:
    """(instance, operation) of every operation task that succeeded in the execution."""
    return collections.Counter(
        (str(e["node_instance_id"]), str(e["operation"]))
        for e in net.events(execution)
        if e["type"] == "task_succeeded" and e["operation"]
    )


def _end_services(under: pathlib.Path) -> None:
    """Kill the processes working in ``under``: the sites' web servers. A Service outlives
    the agent that started it (its own session), and the namespaces' removal does not end it."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cwd = os.readlink(f"/proc/{name}/cwd")
            except OSError:
                continue
            if cwd.startswith(f"{under}/"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(name), signal.SIGKILL)


@pytest.mark.timeout(300)
def test_three_sites_drift_are_corrected_updated_and_reverted(
    net: NetFleet, tmp_path: pathlib.Path
) -> None:
    try:
        _story(net, tmp_path)
    finally:
        _end_services(tmp_path / "www")


def _story(net: NetFleet, tmp_path: pathlib.Path) -> None:
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = now - clock
        clock = now

    sites = net.topo.sites
    deployments = {site: f"web-{site}" for site in sites}
    net.upload("web-drift", EXAMPLES / "web-drift")
    for site in sites:
        net.add_site(site)
        net.start_agent(site)
    installs = {}
    for site, dep in deployments.items():
        inputs = {"root": str(_root(tmp_path, site)), "port": PORT, "greeting": GREETING}
        installs[site] = net.install(dep, "web-drift", site=site, inputs=inputs)
    for site, execution in installs.items():
        ended = net.wait_ended(execution, timeout=120)
        assert ended["status"] == "succeeded", (ended["error"], net.agent_log(site))
    for site in sites:
        assert _get_in(net, site, "index.html") == _page(_root(tmp_path, site), revision=1)
    lap("install at three sites")

    # -- a clean first check: nothing drifted, every status ok --------------------------------
    for dep in deployments.values():
        assert _run(net, dep, "check_drift")["status"] == "succeeded"
        assert _run(net, dep, "check_status")["status"] == "succeeded"
        assert _drift(net, dep) == _clean()
        assert _status_failed(net, dep) == {}
    lap("first check (clean)")

    # -- three sites drift -------------------------------------------------------------------
    root1 = _root(tmp_path, "s1")
    (root1 / "index.html").write_text("<h1>defaced</h1>\n")
    web2 = _instances(net, deployments["s2"])["web"]
    pid = web2["runtime_properties"]["pid"]
    os.killpg(pid, signal.SIGKILL)
    _nft(net, "s3", "add", "table", "inet", "story")
    _nft(net, "s3", "add chain inet story out { type filter hook output priority 0; }")
    _nft(net, "s3", f"add rule inet story out oifname lo tcp dport {PORT} reject with tcp reset")
    assert _get_in(net, "s3", "index.html").startswith("ERROR")
    wait_for(
        lambda: _get_in(net, "s2", "index.html").startswith("ERROR"),
        timeout=20,
        what="the killed server to stop answering",
    )

    checks = {}
    for site, dep in deployments.items():
        checks[site] = (_run(net, dep, "check_drift"), _run(net, dep, "check_status"))
    lap("check of three drifted sites")
    for site, (drift, _status) in checks.items():
        assert drift["status"] == "succeeded", (site, drift["error"])
    listening = f"listening on 127.0.0.1:{PORT}"
    drift = {site: _drift(net, dep) for site, dep in deployments.items()}
    # s1: the page's content, and so the body the check reads; nothing else
    assert set(drift["s1"]["page"]) == {"content_sha256"}, drift["s1"]
    assert drift["s1"]["page"]["content_sha256"] == {
        "expected": _sha(_page(root1, revision=1)),
        "actual": _sha("<h1>defaced</h1>\n"),
    }
    assert set(drift["s1"]["check"]) == {"body"}, drift["s1"]
    assert drift["s1"]["site_root"] == drift["s1"]["web"] == {}, drift["s1"]
    # s2: the process and its port, and the check cannot reach it
    assert drift["s2"]["web"]["process"]["expected"] == "running", drift["s2"]
    assert set(drift["s2"]["web"]) == {"process", "port"}, drift["s2"]
    assert drift["s2"]["web"]["port"] == {"expected": listening, "actual": "not listening"}
    assert set(drift["s2"]["check"]) == {"status"}, drift["s2"]
    assert str(drift["s2"]["check"]["status"]["actual"]).startswith("unreachable"), drift["s2"]
    assert drift["s2"]["site_root"] == drift["s2"]["page"] == {}, drift["s2"]
    # s3: the process runs, but its port does not answer (from the site's own namespace)
    assert drift["s3"]["web"] == {"port": {"expected": listening, "actual": "not listening"}}
    assert set(drift["s3"]["check"]) == {"status"}, drift["s3"]
    assert str(drift["s3"]["check"]["status"]["actual"]).startswith("unreachable"), drift["s3"]
    assert drift["s3"]["site_root"] == drift["s3"]["page"] == {}, drift["s3"]

    failed = {site: _status_failed(net, dep) for site, dep in deployments.items()}
    assert set(failed["s1"]) == {"check"}, failed["s1"]
    assert set(failed["s2"]) == {"web", "check"}, failed["s2"]
    assert set(failed["s3"]) == {"web", "check"}, failed["s3"]
    for site, (_drift_run, status) in checks.items():
        assert status["status"] == "failed", (site, status)  # a failed status check fails it

    listed = {d["deployment_id"]: d for d in net.call("GET", "/drift")}
    for site, dep in deployments.items():
        instances = _instances(net, dep)
        drifted_ids = {instances[node]["id"] for node in drift[site] if drift[site][node]}
        assert listed[dep]["drifted"] is True
        assert set(listed[dep]["drifted_instances"]) == drifted_ids, listed[dep]
        assert listed[dep]["site"] == site

    # -- correction ------------------------------------------------------------------------------
    _nft(net, "s3", "delete", "table", "inet", "story")  # not Cairn's rule: the operator's fix
    for site, dep in deployments.items():
        update = net.call("POST", f"/deployments/{dep}/updates", json={})
        assert update["execution"] is not None
        ended = net.wait_ended(update["execution"]["id"], timeout=120)
        assert ended["status"] == "succeeded", (site, ended["error"], net.agent_log(site))
        # the drifted instances, and only they, were reapplied in place
        ran = _operations_run(net, update["execution"]["id"])
        drifted = {node for node, differences in drift[site].items() if differences}
        assert sorted(_by_node(list(ran))) == sorted(
            (node, LIFECYCLE + "update") for node in drifted
        ), (site, ran)
        assert set(ran.values()) == {1}
        healed = _run(net, dep, "heal")
        assert healed["status"] == "succeeded", (site, healed["error"], net.agent_log(site))
        # heal reinstalled the instances whose status check had failed, and only they
        reinstalled = {node for node, _ in _by_node(list(_operations_run(net, healed["id"])))}
        assert reinstalled == set(failed[site]), (site, reinstalled)
    lap("correction (update, heal) at three sites")
    for site, dep in deployments.items():
        assert _run(net, dep, "check_drift")["status"] == "succeeded"
        assert _run(net, dep, "check_status")["status"] == "succeeded", site
        assert _drift(net, dep) == _clean(), site
        assert _status_failed(net, dep) == {}, site
        assert _get_in(net, site, "index.html") == _page(_root(tmp_path, site), revision=1)
    assert not any(d["drifted"] for d in net.call("GET", "/drift"))
    lap("second check (clean)")

    # -- a new revision ----------------------------------------------------------------------------
    net.upload("web-drift-v2", EXAMPLES / "web-drift-v2")
    body = {"blueprint_id": "web-drift-v2", "preview": True}
    previews = {
        site: net.call("POST", f"/deployments/{dep}/updates", json=body)
        for site, dep in deployments.items()
    }
    for site, preview in previews.items():
        assert preview["execution"] is None
        assert (preview["from_revision"], preview["to_revision"]) == (2, 3)  # 2: the correction
        old_page, new_page = (
            f"<!doctype html>\n<html><body><h1>${{greeting}}</h1><p>served from ${{root}}</p>{extra}"
            "</body></html>\n"
            for extra in ("", "<p>revision 2</p>")
        )
        assert preview["changes"] == [
            {"what": "node", "name": "notes", "change": "added"},
            {
                "what": "property",
                "name": "template",
                "change": "modified",
                "node": "page",
                "old": old_page,
                "new": new_page,
            },
        ]
        page = _instances(net, deployments[site])["page"]["id"]
        [notes] = preview["instances"]["added"]
        assert notes["node"] == "notes"
        assert preview["instances"]["removed"] == preview["instances"]["reinstalled"] == []
        assert preview["instances"]["modified"] == [{"id": page, "reasons": ["node page changed"]}]
        assert preview["instances"]["updated_in_place"] == [page]
        assert preview["instances"]["relationships"] == {"gained": {}, "lost": {}}
        assert _planned(preview) == [
            (notes["id"], LIFECYCLE + "create"),
            (notes["id"], LIFECYCLE + "configure"),
            (notes["id"], LIFECYCLE + "start"),
            (page, LIFECYCLE + "update"),
        ]
        assert preview["steps"][-1]["kind"] == "apply_revision"
    assert _instances(net, deployments["s1"])["page"]  # the preview ran nothing
    for site in sites:
        assert not (_root(tmp_path, site) / "notes.txt").exists()

    updates = {}
    for site, dep in deployments.items():
        update = net.call(
            "POST", f"/deployments/{dep}/updates", json={"blueprint_id": "web-drift-v2"}
        )
        updates[site] = update
    for site, update in updates.items():
        ended = net.wait_ended(update["execution"]["id"], timeout=120)
        assert ended["status"] == "succeeded", (site, ended["error"], net.agent_log(site))
    lap("update to revision 2 at three sites")
    for site, update in updates.items():
        ran = _operations_run(net, update["execution"]["id"])
        assert ran == collections.Counter(_planned(update)), (site, ran, update["steps"])
        # the preview named the new instance by an id of its own (a preview makes none)
        assert _by_node(_planned(update)) == _by_node(_planned(previews[site]))
        root = _root(tmp_path, site)
        assert _get_in(net, site, "index.html") == _page(root, revision=2)
        assert (root / "notes.txt").read_text() == "Revision 2 adds this file.\n"

    # -- revert ------------------------------------------------------------------------------------
    reverts = {
        site: net.call("POST", f"/deployments/{dep}/revert", json={"to": 1})
        for site, dep in deployments.items()
    }
    for site, revert in reverts.items():
        assert (revert["from_revision"], revert["to_revision"]) == (3, 4)
        assert revert["blueprint_id"] == "web-drift"
        removed = revert["instances"]["removed"]
        assert [str(i).rpartition("_")[0] for i in removed] == ["notes"], revert
        assert revert["instances"]["added"] == [], revert
        assert [i["id"].rpartition("_")[0] for i in revert["instances"]["modified"]] == ["page"]
        ended = net.wait_ended(revert["execution"]["id"], timeout=120)
        assert ended["status"] == "succeeded", (site, ended["error"], net.agent_log(site))
        ran = _operations_run(net, revert["execution"]["id"])
        assert ran == collections.Counter(_planned(revert)), (site, ran, revert["steps"])
        assert {op.rsplit(".", 1)[1] for _, op in ran} <= {"stop", "delete", "update"}, ran
    lap("revert at three sites")
    for site, dep in deployments.items():
        root = _root(tmp_path, site)
        assert _get_in(net, site, "index.html") == _page(root, revision=1)
        assert not (root / "notes.txt").exists()
        assert set(_instances(net, dep)) == NODES
        revisions = net.call("GET", f"/deployments/{dep}/revisions")
        assert [(r["revision"], r["blueprint_id"], r["status"]) for r in revisions] == [
            (1, "web-drift", "applied"),
            (2, "web-drift", "applied"),  # the correction
            (3, "web-drift-v2", "applied"),
            (4, "web-drift", "applied"),
        ]
        assert _run(net, dep, "check_drift")["status"] == "succeeded"
        assert _drift(net, dep) == _clean(), site
    lap("check after revert (clean)")
    print("timings: " + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))
