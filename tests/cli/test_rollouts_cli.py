"""``cairn rollouts ...`` against a real ``cairn up``: hello-web on three ports of the local
site, installed by a rollout, updated to hello-web-v2 in waves, one member rolled back, and
the refusals (one line on stderr, a non-zero exit, nothing started)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from cli_support import Manager, free_port, one_line_error, running_manager

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    with running_manager(tmp_path_factory.mktemp("manager")) as manager:
        yield manager


def ok(result: object) -> str:
    assert result.returncode == 0, result.stdout + result.stderr  # type: ignore[attr-defined]
    return str(result.stdout)  # type: ignore[attr-defined]


def test_install_update_rollback_through_rollouts(shared: Manager) -> None:
    ports = {f"web-{n}": free_port() for n in (1, 2, 3)}
    ok(shared.cli("blueprints", "upload", "examples/hello-web", "-b", "hello-web"))
    ok(shared.cli("blueprints", "upload", "examples/hello-web-v2", "-b", "hello-web-v2"))
    for name, port in ports.items():
        ok(shared.cli("deployments", "create", name, "-b", "hello-web", "-i", f"port={port}"))
    ok(shared.cli("groups", "create", "web", "-d", ",".join(ports)))

    installed = ok(shared.cli("rollouts", "start", "install", "-g", "web", "--follow"))
    lines = installed.splitlines()
    assert lines[0].startswith("rollout ") and "install on 3 member(s) of web" in lines[0]
    assert "succeeded" in lines[-1] and "succeeded 3" in lines[-1], installed
    for port in ports.values():
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200

    started = json.loads(
        ok(
            shared.cli(
                "rollouts",
                "start",
                "update",
                "-g",
                "web",
                "-p",
                "blueprint_id=hello-web-v2",
                "--waves",
                "1,100%",
                "--max-failures",
                "1",
                "--on-failure",
                "rollback",
                "-o",
                "json",
            )
        )
    )
    assert started["waves"] == 2 and started["settings"]["on_failure"] == "rollback"
    rollout = started["id"]
    followed = shared.cli("rollouts", "follow", rollout)
    assert followed.returncode == 0, followed.stdout + followed.stderr
    for port in ports.values():
        assert httpx.get(f"http://127.0.0.1:{port}/about.html", timeout=5).status_code == 200
    shown = ok(shared.cli("rollouts", "get", rollout))
    assert "succeeded" in shown and "Waves" in shown
    ledger = json.loads(ok(shared.cli("rollouts", "members", rollout, "-o", "json")))
    assert [(m["deployment_id"], m["wave"], m["status"]) for m in ledger] == [
        ("web-1", 0, "succeeded"),
        ("web-2", 1, "succeeded"),
        ("web-3", 1, "succeeded"),
    ]
    table = ok(shared.cli("rollouts", "members", rollout))
    assert "1 -> 2" in table
    listed = json.loads(ok(shared.cli("rollouts", "list", "-o", "json")))
    assert [r["id"] for r in listed][-1] == rollout

    back = ok(shared.cli("rollouts", "rollback", rollout, "--members", "web-2"))
    assert back.startswith("web-2: rolling back (execution ")
    followed = shared.cli("rollouts", "follow", rollout)
    assert followed.returncode == 0
    ledger = json.loads(ok(shared.cli("rollouts", "members", rollout, "-o", "json")))
    web2 = next(m for m in ledger if m["deployment_id"] == "web-2")
    assert web2["status"] in {"rolling_back", "rolled_back"}
    history = json.loads(ok(shared.cli("deployments", "history", "web-2", "-o", "json")))
    assert history[-1]["blueprint_id"] == "hello-web"

    # refusals: one line, a non-zero exit, nothing started
    before = len(json.loads(ok(shared.cli("rollouts", "list", "-o", "json"))))
    for args, said in (
        (("install", "-g", "nope"), "group 'nope' not found"),
        (("install", "-g", "web", "--waves", "1,x"), "each wave must be"),
        (("install", "-g", "web", "--max-failures", "0"), "max-failures must be at least 1"),
        (("heal", "-g", "web", "--on-failure", "rollback"), "undo"),
    ):
        refused = shared.cli("rollouts", "start", *args)
        assert refused.returncode in {1, 2}, refused.stdout + refused.stderr
        assert said in one_line_error(refused)
    assert len(json.loads(ok(shared.cli("rollouts", "list", "-o", "json")))) == before
    missing = shared.cli("rollouts", "pause", "nope")
    assert missing.returncode != 0 and "not found" in one_line_error(missing)

    removed = ok(shared.cli("rollouts", "start", "uninstall", "-g", "web", "--follow"))
    assert "succeeded 3" in removed.splitlines()[-1]


def test_help_explains_waves_and_thresholds(shared: Manager) -> None:
    shown = ok(shared.cli("rollouts", "start", "--help"))
    for word in ("--waves", "--max-failures", "--on-failure", "--offline", "canary"):
        assert word in shown
