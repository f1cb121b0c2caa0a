"""Issue 6's story across a real (namespaced) network: ten sites, an update rolled out in
waves, three sites cut off after the canary, retried once back; one site rolled back; a
second rollout converging on reconnection; a failing revision stopped at the canary and
reverted.

Ten site namespaces, each with its agent (``conftest``'s topology, built here with ten
sites). A group ``prod`` is made of one new deployment of ``examples/web-drift`` per site
(``POST /groups`` with a row per site), installed by a rollout of ``install``. The manager
counts a site offline after 10 s without its agent (``CAIRN_SITE_OFFLINE_AFTER``; agents
poll every 2 s here), so a cut link shows within seconds.

1. Update to ``examples/web-drift-v2`` in waves ``1,30%,100%`` (1, 2, then 7 members) with
   ``--offline fail`` and a 15 s soak. Once the canary succeeded, the links of three sites
   of the last wave are cut: those three fail ("site ... is offline") without running
   anything, the seven others succeed, the ledger says so. Links restored, ``retry-failed``
   updates exactly those three.
2. ``rollback --members`` returns one site to revision 1: its page as it was, notes.txt gone.
3. An inputs-only update (a new greeting) with ``--offline skip``: two sites cut after the
   canary are recorded offline, the rollout converges; once their links are back, they are
   updated without anyone asking, and the rollout succeeds.
4. A failing revision (a migration step that exits 3) with ``--max-failures 1 --on-failure
   rollback``: the canary fails, nothing else starts, and the canary is put back to the
   revision it was at.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pathlib
import shutil
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import netns_support
import pytest
from agent_support import wait_for
from netns_support import NetFleet

pytestmark = [pytest.mark.netns, pytest.mark.integration]

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"
PORT = 8080
SITES = tuple(f"s{n}" for n in range(1, 11))
CUT = ("s7", "s8", "s9")  # in the last wave (members go by deployment id: s1, s10, s2, ...)
GREETING = "Hello from Cairn"


@pytest.fixture
def fleet(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NetFleet]:
    netns_support.require_netns()
    monkeypatch.setenv("CAIRN_SITE_OFFLINE_AFTER", "10")
    with netns_support.topology(SITES) as topo:
        net = NetFleet(topo, tmp_path)
        try:
            assert topo.default_routes() == [], "a namespace has a default route"
            net.start_manager()
            yield net
        finally:
            net.close()
            _end_services(tmp_path / "www")


def _end_services(under: pathlib.Path) -> None:
    """The sites' web servers outlive their agents (their own sessions): end them."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            continue
        if cwd.startswith(f"{under}/"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(name), signal.SIGKILL)


def _broken(tmp_path: pathlib.Path) -> pathlib.Path:
    """web-drift-v2 plus a migration step that fails."""
    folder = tmp_path / "web-drift-broken"
    shutil.copytree(EXAMPLES / "web-drift-v2", folder)
    text = (folder / "blueprint.yaml").read_text()
    head, sep, outputs = text.partition("\noutputs:\n")
    assert sep, "web-drift-v2 has an outputs section"
    migrate = (
        "  migrate:\n"
        "    type: cairn.nodes.Command\n"
        "    properties:\n"
        "      command: echo migrated\n"
        "      apply: echo 'schema migration failed' >&2; exit 3\n"
        "    relationships:\n"
        "      - type: cloudify.relationships.depends_on\n"
        "        target: page\n"
    )
    (folder / "blueprint.yaml").write_text(head.rstrip("\n") + "\n\n" + migrate + sep + outputs)
    return folder


def _get_in(net: NetFleet, site: str, path: str) -> str:
    """GET http://127.0.0.1:PORT/path from inside the site's namespace: the body, or an error."""
    code = (
        "import sys, urllib.request\n"
        "try:\n"
        "    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end='')\n"
        "except Exception as error:\n"
        "    print(f'ERROR {error}', end='')\n"
    )
    url = f"http://127.0.0.1:{PORT}/{path}"
    done = subprocess.run(
        ["ip", "netns", "exec", net.topo.ns(site), "python3", "-c", code, url],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env=netns_support.environ_without_proxies(),
    )
    return done.stdout


def _start(net: NetFleet, workflow: str, **body: Any) -> str:
    started = net.call(
        "POST", "/rollouts", json={"workflow_id": workflow, "group_id": "prod", **body}
    )
    return str(started["id"])


def _rollout(net: NetFleet, rollout_id: str) -> dict[str, Any]:
    return dict(net.call("GET", f"/rollouts/{rollout_id}"))


def _until(
    net: NetFleet, rollout_id: str, test: Any, *, timeout: float, what: str
) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def check() -> bool:
        nonlocal found
        found = _rollout(net, rollout_id)
        return bool(test(found))

    try:
        wait_for(check, timeout=timeout, what=what)
    except AssertionError as exc:
        members = net.call("GET", f"/rollouts/{rollout_id}/members")
        raise AssertionError(f"{exc}: {found}; members: {members}") from None
    return found


def _ledger(net: NetFleet, rollout_id: str) -> dict[str, dict[str, Any]]:
    members = net.call("GET", f"/rollouts/{rollout_id}/members")
    return {m["site"]: m for m in members}


def _site_status(net: NetFleet) -> dict[str, str]:
    return {s["name"]: s["status"] for s in net.call("GET", "/sites")}


def _cut(net: NetFleet, sites: tuple[str, ...]) -> None:
    for site in sites:
        net.topo.cut(site)
    wait_for(
        lambda: all(_site_status(net)[s] == "offline" for s in sites),
        timeout=60,
        what=f"{', '.join(sites)} to show offline",
    )


def _restore(net: NetFleet, sites: tuple[str, ...]) -> None:
    for site in sites:
        net.topo.restore(site)
    wait_for(
        lambda: all(_site_status(net)[s] == "online" for s in sites),
        timeout=60,
        what=f"{', '.join(sites)} to show online",
    )


def _revision(net: NetFleet, site: str) -> tuple[int, str]:
    found = net.call("GET", f"/deployments/prod-{site}")
    return int(found["revision"]), str(found["blueprint_id"])


@pytest.mark.timeout(900)
def test_ten_sites_three_cut_off_retried_one_rolled_back(
    fleet: NetFleet, tmp_path: pathlib.Path
) -> None:
    net = fleet
    for blueprint_id, folder in (
        ("web-drift", EXAMPLES / "web-drift"),
        ("web-drift-v2", EXAMPLES / "web-drift-v2"),
        ("web-drift-broken", _broken(tmp_path)),
    ):
        net.upload(blueprint_id, folder)
    for site in SITES:
        net.add_site(site)
        net.start_agent(site)
    wait_for(
        lambda: set(_site_status(net).values()) <= {"online", "local"},
        timeout=60,
        what="every agent to connect",
    )
    rows = [{"site": s, "inputs": {"root": str(tmp_path / "www" / s)}} for s in SITES]
    created = net.call(
        "POST",
        "/groups",
        json={
            "id": "prod",
            "blueprint_id": "web-drift",
            "sites": rows,
            "inputs": {"port": PORT, "greeting": GREETING},
        },
    )
    assert sorted(created["created_deployments"]) == sorted(f"prod-{s}" for s in SITES)

    # -- install everywhere, in one rollout -----------------------------------------------
    install = _start(net, "install", concurrency=10)
    done = _until(net, install, lambda r: r["status"] not in _LIVE, timeout=240, what="install")
    assert done["status"] == "succeeded", done
    for site in SITES:
        assert "revision 2" not in _get_in(net, site, "index.html")

    # -- 1. the update; three sites cut off after the canary ------------------------------
    update = _start(
        net,
        "update",
        parameters={"blueprint_id": "web-drift-v2"},
        waves=["1", "30%", "100%"],
        soak="15s",
        concurrency=10,
        max_failures="50%",
        offline="fail",
    )
    _until(net, update, lambda r: r["counts"].get("succeeded") == 1, timeout=120, what="the canary")
    _cut(net, CUT)
    done = _until(net, update, lambda r: r["status"] not in _LIVE, timeout=300, what="the update")
    assert done["status"] == "failed" and done["reason"] == "3 member(s) failed", done
    ledger = _ledger(net, update)
    assert {s for s, m in ledger.items() if m["status"] == "succeeded"} == set(SITES) - set(CUT)
    for site in CUT:
        member = ledger[site]
        assert member["status"] == "failed" and member["execution_id"] is None, member
        assert member["error"] == f"site {site} is offline", member
    assert {m["wave"] for m in ledger.values()} == {0, 1, 2}
    assert ledger["s1"]["wave"] == 0
    for site in set(SITES) - set(CUT):
        assert "revision 2" in _get_in(net, site, "index.html")
        assert _revision(net, site) == (2, "web-drift-v2")
    for site in CUT:
        assert _revision(net, site) == (1, "web-drift")

    _restore(net, CUT)
    net.call("POST", f"/rollouts/{update}/retry-failed")
    done = _until(net, update, lambda r: r["status"] not in _LIVE, timeout=240, what="the retry")
    assert done["status"] == "succeeded", done
    ledger = _ledger(net, update)
    assert {site: m["attempts"] for site, m in ledger.items()} == {site: 1 for site in SITES}
    for site in CUT:
        assert "revision 2" in _get_in(net, site, "index.html")
        assert "Revision 2 adds this file." in _get_in(net, site, "notes.txt")

    # -- 2. one site back to its previous revision -----------------------------------------
    net.call("POST", f"/rollouts/{update}/rollback", json={"members": ["prod-s4"]})
    _until(
        net,
        update,
        lambda r: r["counts"].get("rolled_back") == 1 and not r["counts"].get("rolling_back"),
        timeout=120,
        what="the rollback of s4",
    )
    assert _revision(net, "s4") == (3, "web-drift")
    assert "revision 2" not in _get_in(net, "s4", "index.html")
    assert _get_in(net, "s4", "notes.txt").startswith("ERROR")
    assert _revision(net, "s5") == (2, "web-drift-v2")

    # -- 3. a new greeting; two sites away: recorded offline, converged on return ---------
    away = ("s6", "s7")
    greet = _start(
        net,
        "update",
        parameters={"inputs": {"greeting": "Hello again"}},
        waves=["1", "100%"],
        soak="8s",
        concurrency=10,
        offline="skip",
    )
    _until(net, greet, lambda r: r["counts"].get("succeeded") == 1, timeout=120, what="canary")
    _cut(net, away)
    converging = _until(
        net,
        greet,
        lambda r: r["status"] == "converging" and r["counts"].get("succeeded") == 8,
        timeout=240,
        what="the others to be updated",
    )
    assert converging["counts"].get("offline") == 2, converging
    ledger = _ledger(net, greet)
    assert {s for s, m in ledger.items() if m["status"] == "offline"} == set(away)
    _restore(net, away)
    done = _until(net, greet, lambda r: r["status"] not in _LIVE, timeout=240, what="convergence")
    assert done["status"] == "succeeded", done
    for site in SITES:
        assert "Hello again" in _get_in(net, site, "index.html")

    # -- 4. a failing revision: stopped at the canary, reverted ----------------------------
    before = {site: _revision(net, site) for site in SITES}
    broken = _start(
        net,
        "update",
        parameters={"blueprint_id": "web-drift-broken"},
        waves=["1", "50%", "100%"],
        max_failures="1",
        on_failure="rollback",
    )
    done = _until(net, broken, lambda r: r["status"] not in _LIVE, timeout=240, what="rollback")
    assert done["status"] == "rolled_back", done
    ledger = _ledger(net, broken)
    statuses = collections.Counter(m["status"] for m in ledger.values())
    assert statuses == {"rolled_back": 1, "pending": 9}, statuses
    assert "schema migration failed" in ledger["s1"]["error"] or "exited 3" in ledger["s1"]["error"]
    revision, blueprint = _revision(net, "s1")
    assert blueprint == before["s1"][1] and revision == before["s1"][0] + 2  # failed, then back
    history = net.call("GET", "/deployments/prod-s1/revisions")
    assert [r["status"] for r in history[-2:]] == ["abandoned", "applied"]
    assert "Hello again" in _get_in(net, "s1", "index.html")
    for site in SITES[1:]:
        assert _revision(net, site) == before[site]


_LIVE = {"running", "paused", "converging", "stopping", "cancelling", "rolling_back"}
