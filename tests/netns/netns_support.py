"""A network made only of namespaces, a manager process and agent processes inside it.

:class:`Topology` builds, for one test, a switch namespace holding a bridge, a manager
namespace and one namespace per site, each joined to the bridge by a veth pair, with
addresses in a private /24 that the host does not use. No namespace has a default route, so
nothing the test sends can leave them. Everything is removed by :meth:`Topology.down`, which
the fixture calls in a ``finally``.

:class:`NetFleet` runs the manager (``cairn up``) in the manager namespace and each site's
agent (``python -m cairn.agent run``) in its site's namespace. The test itself stays in the
host's namespace: it reaches the manager's API through a relay (``relay.py``) running in the
manager namespace that listens on a Unix socket, which any namespace can open. Sites,
tokens, blueprints, deployments and executions are all made through the manager's HTTP API.

Every wait is bounded in time (``agent_support.wait_for``), every process is ended by the
fixture, and a link cut or a loss rule lives in a namespace that the fixture deletes.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from agent_support import wait_for

from cairn.services import archives

RELAY = pathlib.Path(__file__).with_name("relay.py")
MANAGER_PORT = 8800
SLOW_PORT = 8801  # the delaying relay, when a test starts one
SITES = ("s1", "s2", "s3")
ENDED = {"succeeded", "failed", "cancelled"}


def environ_without_proxies() -> dict[str, str]:
    """This environment, less any HTTP proxy setting: nothing here may go through one."""
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def require_netns() -> None:
    """Skip (not fail) where namespaces cannot be built: not root, or tools missing."""
    if os.geteuid() != 0:
        pytest.skip("network namespace tests need root (CI runs them as root)")
    missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"network namespace tests need {' and '.join(missing)} (iproute2, nftables)")


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


def free_subnet() -> str:
    """The first of a few private /24 prefixes that no host address is in."""
    shown = subprocess.run(
        ["ip", "-br", "addr"], check=True, capture_output=True, text=True, timeout=10
    ).stdout
    for third in range(213, 233):
        prefix = f"10.{third}.0"
        if f" {prefix}." not in f" {shown}".replace("\t", " "):
            return prefix
    raise RuntimeError("no free 10.x.0.0/24 on this host")


class Topology:
    """Switch, manager and site namespaces; ``cut``/``restore`` a site's link; ``loss``."""

    def __init__(self, sites: tuple[str, ...] = SITES) -> None:
        self.tag = f"cn{os.getpid()}{secrets.token_hex(2)}"
        self.prefix = free_subnet()
        self.sites = sites
        self.created: list[str] = []

    def ns(self, who: str) -> str:
        """The namespace of ``sw``, ``mgr`` or a site."""
        return f"{self.tag}-{who}"

    @property
    def manager_address(self) -> str:
        return f"{self.prefix}.1"

    def up(self) -> None:
        sw = self.ns("sw")
        self._add(sw)
        run("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", sw, "link", "set", "br0", "up")
        run("ip", "-n", sw, "link", "set", "lo", "up")
        self._wire("mgr", self.manager_address)
        for i, site in enumerate(self.sites, start=1):
            self._wire(site, f"{self.prefix}.{10 + i}")

    def _add(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self.created.append(name)

    def _wire(self, who: str, address: str) -> None:
        sw, ns = self.ns("sw"), self.ns(who)
        self._add(ns)
        port = f"p-{who}"
        run(
            "ip",
            "link",
            "add",
            port,
            "netns",
            sw,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        )
        run("ip", "-n", sw, "link", "set", port, "master", "br0", "up")
        run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")

    def down(self) -> None:
        for name in reversed(self.created):
            subprocess.run(
                ["ip", "netns", "del", name], check=False, capture_output=True, timeout=30
            )
        self.created = []

    def cut(self, site: str) -> None:
        run("ip", "-n", self.ns("sw"), "link", "set", f"p-{site}", "down")

    def restore(self, site: str) -> None:
        run("ip", "-n", self.ns("sw"), "link", "set", f"p-{site}", "up")

    def loss(self, site: str, percent: int) -> None:
        """Drop ``percent`` % of the packets into and out of the site (nftables, in its ns)."""
        nft = ["ip", "netns", "exec", self.ns(site), "nft"]
        run(*nft, "add", "table", "inet", "impair")
        for chain, hook, match in (("in", "input", "iifname"), ("out", "output", "oifname")):
            run(*nft, f"add chain inet impair {chain} {{ type filter hook {hook} priority 0; }}")
            rule = f"add rule inet impair {chain} {match} eth0 numgen random mod 100 < {percent}"
            run(*nft, f"{rule} drop")

    def default_routes(self) -> list[str]:
        """Namespaces with a default route (none, unless something went wrong)."""
        found = []
        for name in self.created:
            shown = subprocess.run(
                ["ip", "-n", name, "route", "show", "default"],
                check=False,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            if shown.strip():
                found.append(name)
        return found


@contextlib.contextmanager
def topology(sites: tuple[str, ...] = SITES) -> Iterator[Topology]:
    built = Topology(sites)
    try:
        built.up()
        yield built
    finally:
        built.down()


class NetFleet:
    """The manager in its namespace, the sites' agents in theirs; the API over a relay."""

    def __init__(self, topo: Topology, root: pathlib.Path) -> None:
        self.topo = topo
        self.root = root
        self.data_dir = root / "manager"
        self.url = f"http://{topo.manager_address}:{MANAGER_PORT}"
        # short: a Unix socket's path has at most 107 bytes
        self.socket = pathlib.Path("/tmp") / f"{topo.tag}.sock"
        self.manager: subprocess.Popen[bytes] | None = None
        self.agents: dict[str, subprocess.Popen[bytes]] = {}
        self.helpers: list[subprocess.Popen[bytes]] = []
        self._api: httpx.Client | None = None

    # -- processes --------------------------------------------------------------------------

    def _spawn(self, who: str, command: list[str], log: str) -> subprocess.Popen[bytes]:
        """``command`` in ``who``'s namespace (``ip netns exec`` execs it: same pid)."""
        with open(self.root / log, "ab") as out:
            return subprocess.Popen(
                ["ip", "netns", "exec", self.topo.ns(who), *command],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=environ_without_proxies(),
            )

    def relay(self, who: str, *, listen: str, target: str, delay: float = 0.0) -> None:
        """A relay in ``who``'s namespace, waited for until it listens."""
        name = f"relay-{len(self.helpers)}.log"
        command = [sys.executable, str(RELAY), "--listen", listen, "--target", target]
        process = self._spawn(who, [*command, "--delay", str(delay)], name)
        self.helpers.append(process)
        wait_for(
            lambda: "ready" in (self.root / name).read_text() or process.poll() is not None,
            timeout=20,
            what="the relay to listen",
        )
        assert process.poll() is None, (self.root / name).read_text()

    def start_manager(self) -> None:
        if not self.helpers:
            target = f"{self.topo.manager_address}:{MANAGER_PORT}"
            self.relay("mgr", listen=f"unix:{self.socket}", target=target)
        command = [sys.executable, "-m", "cairn", "up", "--data-dir", str(self.data_dir)]
        command += ["--host", self.topo.manager_address, "--port", str(MANAGER_PORT)]
        self.manager = self._spawn("mgr", command, "manager.log")
        wait_for(self._healthy, timeout=60, what="the manager to answer")

    def _healthy(self) -> bool:
        assert self.manager is not None
        assert self.manager.poll() is None, self.manager_log()
        with contextlib.suppress(httpx.HTTPError), self._client(admin=False) as client:
            return client.get("/health").status_code == 200
        return False

    def kill_manager(self) -> None:
        assert self.manager is not None
        self.manager.kill()
        self.manager.wait(timeout=20)
        self.manager = None
        if self._api is not None:
            self._api.close()
            self._api = None

    def manager_log(self) -> str:
        return (self.root / "manager.log").read_text(errors="replace")

    def start_agent(self, site: str, *, url: str | None = None) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "cairn.agent", "run", "--manager", url or self.url]
        command += ["--site", site, "--token-file", str(self.root / f"{site}.token")]
        command += ["--data-dir", str(self.agent_dir(site))]
        command += ["--poll-wait", "2", "--backoff-max", "1"]
        process = self._spawn(site, command, f"agent-{site}.log")
        self.agents[site] = process
        return process

    def kill_agent(self, site: str, sig: int = signal.SIGKILL) -> None:
        process = self.agents.pop(site)
        process.send_signal(sig)
        process.wait(timeout=20)

    def agent_dir(self, site: str) -> pathlib.Path:
        return self.root / "agents" / site

    def agent_log(self, site: str) -> str:
        return (self.root / f"agent-{site}.log").read_text(errors="replace")

    def journal(self, site: str) -> list[dict[str, Any]]:
        command = [sys.executable, "-m", "cairn.agent", "journal", "-o", "json"]
        out = subprocess.run(
            [*command, "--data-dir", str(self.agent_dir(site))],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return list(json.loads(out.stdout))

    def close(self) -> None:
        for site in list(self.agents):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.kill_agent(site, signal.SIGTERM)
        if self.manager is not None:
            self.manager.terminate()
            try:
                self.manager.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_manager()
        for helper in self.helpers:
            helper.kill()
            helper.wait(timeout=20)
        if self._api is not None:
            self._api.close()
        self.socket.unlink(missing_ok=True)

    # -- the API ----------------------------------------------------------------------------

    def _client(self, *, admin: bool = True) -> httpx.Client:
        transport = httpx.HTTPTransport(uds=str(self.socket))
        headers = {}
        if admin:
            token = (self.data_dir / "admin.token").read_text().strip()
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(
            transport=transport, base_url="http://manager/api/v1", headers=headers, timeout=30
        )

    @property
    def api(self) -> httpx.Client:
        if self._api is None:
            self._api = self._client()
        return self._api

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.api.request(method, path, **kwargs)
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def add_site(self, site: str) -> str:
        location = {"latitude": 48.1, "longitude": 11.6}
        self.call("POST", "/sites", json={"name": site, "location": location})
        return self.add_site_token(site)

    def add_site_token(self, site: str) -> str:
        """Issues (rotates) the site's agent token, kept where :meth:`start_agent` reads it."""
        token = str(self.call("POST", f"/sites/{site}/token")["token"])
        (self.root / f"{site}.token").write_text(token + "\n")
        return token

    def upload(self, blueprint_id: str, folder: pathlib.Path) -> None:
        data = archives.pack(folder)
        headers = {"Content-Type": "application/gzip"}
        self.call("PUT", f"/blueprints/{blueprint_id}", content=data, headers=headers)

    def install(
        self, deployment: str, blueprint_id: str, *, site: str, inputs: Mapping[str, Any]
    ) -> str:
        """Creates the deployment on ``site`` and starts its install; the execution's id."""
        body = {"blueprint_id": blueprint_id, "inputs": dict(inputs), "site": site}
        self.call("PUT", f"/deployments/{deployment}", json=body)
        started = self.call(
            "POST", "/executions", json={"deployment_id": deployment, "workflow_id": "install"}
        )
        return str(started["id"])

    def execution(self, execution_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/executions/{execution_id}"))

    def wait_ended(self, execution_id: str, *, timeout: float = 90.0) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            with contextlib.suppress(httpx.HTTPError):
                found = self.execution(execution_id)
                return found if found["status"] in ENDED else None
            return None

        return wait_for(ended, timeout=timeout, what=f"execution {execution_id} to end")  # type: ignore[no-any-return]

    def events(self, execution_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after = 0
        for _ in range(1000):  # pages of 1000: far more than a test makes
            page = self.call(
                "GET", "/events", params={"execution_id": execution_id, "after_id": after}
            )
            found += page["events"]
            if not page["events"]:
                return found
            after = page["last_id"]
        raise AssertionError("too many events")


def wait_quietly(seconds: float) -> None:
    """A fixed pause, where a test must let time pass (a cut link stays cut this long)."""
    time.sleep(seconds)
