"""The remote commands as a user runs them: the console script against a real ``cairn up``.

One manager (a subprocess on a free port, its own data directory) serves the module; each
test uses its own deployment ids. Scripts of the test blueprint record their runs in
``$MARKS`` and fail or sleep when a file in ``$CONTROL`` says so.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_support import REPO, Manager, free_port, one_line_error, running_manager, write_blueprint

pytestmark = pytest.mark.integration

EXAMPLE = "examples/hello-web"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    tmp = tmp_path_factory.mktemp("manager")
    (tmp / "control").mkdir()
    extra = {"MARKS": str(tmp / "marks"), "CONTROL": str(tmp / "control")}
    with running_manager(tmp, extra_env=extra) as manager:
        manager.extra = extra
        yield manager


@pytest.fixture
def blueprint(tmp_path: Path) -> Path:
    return write_blueprint(tmp_path / "bp")


def marks(manager: Manager) -> list[str]:
    path = Path(manager.extra["MARKS"])
    return path.read_text().splitlines() if path.exists() else []


def control(manager: Manager, name: str, value: str = "") -> Path:
    path = Path(manager.extra["CONTROL"]) / name
    path.write_text(value)
    return path


def as_json(result: object) -> object:
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def test_the_example_installs_answers_and_uninstalls(shared: Manager) -> None:
    port = free_port()
    installed = shared.cli("install", EXAMPLE, "-d", "web", "-i", f"port={port}")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    lines = installed.stdout.splitlines()
    assert lines[:2] == ["blueprint web uploaded", "deployment web created"]
    assert any("lifecycle.start" in line and "web_server_" in line for line in lines)
    assert lines[-1].endswith("(install on web) succeeded")
    outputs = as_json(shared.cli("deployments", "outputs", "web", "-o", "json"))
    url = outputs["values"]["url"]["value"]  # type: ignore[index]
    assert url == f"http://127.0.0.1:{port}/"
    assert "Hello from Cairn" in httpx.get(url, timeout=5).text
    instances = as_json(shared.cli("node-instances", "list", "-d", "web", "-o", "json"))
    assert {i["state"] for i in instances} == {"started"}  # type: ignore[union-attr]
    table = shared.cli("node-instances", "list", "-d", "web")
    assert "web_server" in table.stdout and "started" in table.stdout
    executions = as_json(shared.cli("executions", "list", "-d", "web", "-o", "json"))
    (install,) = executions  # type: ignore[misc]
    events = as_json(shared.cli("events", "list", "-e", install["id"], "-o", "json"))
    assert any(e["type"] == "workflow_succeeded" or "succeeded" in e["message"] for e in events)  # type: ignore[union-attr]
    listed = shared.cli("events", "list", "-e", install["id"])
    assert "lifecycle.create" in listed.stdout
    removed = shared.cli("uninstall", "web")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert removed.stdout.splitlines()[-2:] == ["deployment web deleted", "blueprint web deleted"]
    assert as_json(shared.cli("deployments", "list", "-o", "json")) == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, timeout=2)


def test_a_failed_install_exits_1_and_resume_finishes_it(shared: Manager, blueprint: Path) -> None:
    failing = control(shared, "fail-app-start")
    result = shared.cli("install", str(blueprint), "-d", "res", "-i", "greeting=hi")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed" in result.stdout.splitlines()[-1]
    assert "failing on purpose" in result.stdout
    (execution,) = as_json(shared.cli("executions", "list", "-d", "res", "-o", "json"))  # type: ignore[misc]
    assert execution["status"] == "failed"
    before = marks(shared)
    failing.unlink()
    resumed = shared.cli("executions", "resume", execution["id"], "--wait")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    rerun = marks(shared)[len(before) :]
    assert rerun == ["app start"]  # what had succeeded did not run again
    followed = shared.cli("events", "list", "-e", execution["id"], "--follow")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.splitlines()[-1].endswith("(install on res) succeeded")
    assert "failing on purpose" in followed.stdout  # the first attempt's events too
    lines = shared.cli("events", "list", "-e", execution["id"], "--follow", "-o", "json")
    assert all(
        json.loads(line)["execution_id"] == execution["id"] for line in lines.stdout.splitlines()
    )
    outputs = as_json(shared.cli("deployments", "outputs", "res", "-o", "json"))
    assert outputs["values"]["greeting"]["value"] == "hi"  # type: ignore[index]
    assert outputs["values"]["app_started"]["value"] == "true"  # type: ignore[index]
    waited = shared.cli("executions", "start", "uninstall", "-d", "res", "--wait", "-o", "json")
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["status"] == "succeeded"
    assert shared.cli("deployments", "delete", "res").returncode == 0
    assert shared.cli("blueprints", "delete", "res").returncode == 0


def test_invalid_blueprints_and_inputs_leave_nothing_behind(
    shared: Manager, blueprint: Path
) -> None:
    text = (blueprint / "blueprint.yaml").read_text()
    (blueprint / "blueprint.yaml").write_text(text.replace("cloudify.nodes.Root", "no.Such"))
    broken = shared.cli("install", str(blueprint), "-d", "bad1")
    assert broken.returncode == 1
    problems = broken.stderr.splitlines()
    assert len(problems) == 3  # two problems, then the summary
    where = problems[0].split(":", 1)[0]  # shown relative to the current directory
    assert (REPO / where).resolve() == (blueprint / "blueprint.yaml").resolve()
    assert "unknown-type" in problems[0]
    assert problems[-1] == "cairn: error: the blueprint is not valid (2 problems)"
    (blueprint / "blueprint.yaml").write_text(text)
    bad_inputs = shared.cli("install", str(blueprint), "-d", "bad2", "-i", "greeting=yo")
    assert bad_inputs.returncode == 1
    assert "invalid inputs" in one_line_error(bad_inputs)
    assert as_json(shared.cli("blueprints", "list", "-o", "json")) == []
    assert as_json(shared.cli("deployments", "list", "-o", "json")) == []


def test_one_execution_at_a_time_queue_and_cancel(shared: Manager, blueprint: Path) -> None:
    assert shared.cli("blueprints", "upload", str(blueprint), "-b", "q").returncode == 0
    assert shared.cli("deployments", "create", "q", "-b", "q").returncode == 0
    slow = control(shared, "sleep-db-create", "60")
    first = as_json(shared.cli("executions", "start", "install", "-d", "q", "-o", "json"))
    busy = shared.cli("executions", "start", "install", "-d", "q")
    assert busy.returncode == 1
    assert first["id"] in one_line_error(busy)  # type: ignore[index]
    queued = as_json(
        shared.cli("executions", "start", "install", "-d", "q", "--queue", "-o", "json")
    )
    assert queued["status"] == "queued"  # type: ignore[index]
    cancelled = shared.cli("executions", "cancel", queued["id"])  # type: ignore[index]
    assert cancelled.stdout.strip().endswith("cancelled")
    both = shared.cli("executions", "cancel", first["id"], "--force", "--kill")  # type: ignore[index]
    assert both.returncode == 2
    killed = shared.cli("executions", "cancel", first["id"], "--kill")  # type: ignore[index]
    assert killed.returncode == 0, killed.stderr
    began = time.monotonic()
    followed = shared.cli("executions", "follow", first["id"])  # type: ignore[index]
    assert followed.returncode == 1
    assert followed.stdout.splitlines()[-1].endswith("cancelled")
    assert time.monotonic() - began < 30
    slow.unlink()
    gone = shared.cli("deployments", "delete", "q", "--force")
    assert gone.returncode == 0, gone.stderr


def test_secrets_never_show_in_listings_events_or_logs(shared: Manager, tmp_path: Path) -> None:
    value = "s3cr3t-value-that-must-not-leak"
    body = """\
        tosca_definitions_version: cloudify_dsl_1_4
        imports: [cloudify/types/types.yaml]
        node_templates:
          n:
            type: cloudify.nodes.Root
            interfaces:
              cloudify.interfaces.lifecycle:
                create:
                  implementation: scripts/op.sh
                  inputs:
                    password: { get_secret: leak_test }
        """
    script = (
        '#!/bin/sh\n[ -n "$password" ] && ctx logger info "got a password of ${#password} chars"\n'
    )
    folder = write_blueprint(tmp_path / "s", body, script)
    assert shared.cli("secrets", "create", "leak_test", stdin=value).returncode == 0
    result = shared.cli("install", str(folder), "-d", "sec")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"got a password of {len(value)} chars" in result.stdout
    (execution,) = as_json(shared.cli("executions", "list", "-d", "sec", "-o", "json"))  # type: ignore[misc]
    seen = [
        result.stdout,
        shared.cli("events", "list", "-e", execution["id"], "-o", "json").stdout,
        shared.cli("secrets", "list", "-o", "json").stdout,
        shared.cli("secrets", "list").stdout,
        shared.cli("executions", "get", execution["id"], "-o", "json").stdout,
        shared.cli("node-instances", "list", "-d", "sec", "-o", "json").stdout,
        shared.cli("deployments", "get", "sec", "-o", "json").stdout,
        shared.output(),
    ]
    assert all(value not in text for text in seen)
    assert value not in (shared.data_dir / "cairn.db").read_bytes().decode("latin-1")
    got = as_json(shared.cli("secrets", "get", "leak_test", "-o", "json"))
    assert got["value"] == value  # type: ignore[index]
    assert shared.cli("uninstall", "sec").returncode == 0
    assert shared.cli("secrets", "delete", "leak_test").returncode == 0


def test_roles_and_tokens(shared: Manager, blueprint: Path) -> None:
    created = shared.cli("tokens", "create", "--role", "viewer", "--description", "ro")
    assert created.returncode == 0, created.stderr
    viewer = {"CAIRN_TOKEN": created.stdout.strip()}
    assert "shown only this once" in created.stderr
    assert shared.cli("deployments", "list", env=viewer).returncode == 0
    refused = shared.cli("blueprints", "upload", str(blueprint), "-b", "v", env=viewer)
    assert refused.returncode == 1
    assert "needs the operator role" in one_line_error(refused)
    assert shared.cli("tokens", "list", env=viewer).returncode == 1
    tokens = as_json(shared.cli("tokens", "list", "-o", "json"))
    (mine,) = [t for t in tokens if t["description"] == "ro"]  # type: ignore[union-attr]
    assert shared.cli("tokens", "revoke", mine["id"]).returncode == 0
    revoked = shared.cli("deployments", "list", env=viewer)
    assert "unknown or revoked" in one_line_error(revoked)
    nobody = shared.cli("deployments", "list", env={"CAIRN_DATA_DIR": str(Path("/nonexistent"))})
    assert nobody.returncode == 1
    assert "bearer token is required" in one_line_error(nobody)


def test_admin_token_file_is_private(shared: Manager) -> None:
    path = shared.data_dir / "admin.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((shared.data_dir / "secret.key").stat().st_mode) == 0o600


def test_every_read_command_speaks_json(shared: Manager, blueprint: Path) -> None:
    assert shared.cli("install", str(blueprint), "-d", "rd").returncode == 0
    (execution,) = as_json(shared.cli("executions", "list", "-d", "rd", "-o", "json"))  # type: ignore[misc]
    instances = as_json(shared.cli("node-instances", "list", "-d", "rd", "-o", "json"))
    reads = [
        ("blueprints", "list"),
        ("blueprints", "get", "rd"),
        ("deployments", "list"),
        ("deployments", "get", "rd"),
        ("deployments", "inputs", "rd"),
        ("deployments", "outputs", "rd"),
        ("deployments", "capabilities", "rd"),
        ("executions", "list"),
        ("executions", "get", execution["id"]),
        ("node-instances", "list", "-d", "rd"),
        ("node-instances", "get", instances[0]["id"]),  # type: ignore[index]
        ("events", "list", "-e", execution["id"]),
        ("secrets", "list"),
        ("tokens", "list"),
        ("profiles", "list"),
    ]
    for command in reads:
        as_json(shared.cli(*command, "-o", "json"))
        table = shared.cli(*command)
        assert table.returncode == 0 and table.stdout.strip(), command
    assert shared.cli("uninstall", "rd").returncode == 0


def test_errors_are_one_line_with_documented_exit_codes(shared: Manager) -> None:
    missing = shared.cli("deployments", "get", "nope")
    assert missing.returncode == 2
    assert one_line_error(missing) == "cairn: error: deployment 'nope' not found"
    bad = shared.cli("executions", "start", "install", "-d", "x", "-p", "garbage")
    assert bad.returncode == 2
    assert one_line_error(bad).startswith("cairn: error: -p garbage:")
    away = shared.cli(
        "deployments", "list", env={"CAIRN_MANAGER": f"http://127.0.0.1:{free_port()}"}
    )
    assert away.returncode == 1
    assert "cannot reach the manager" in one_line_error(away)


def test_profiles_pick_the_manager(shared: Manager) -> None:
    env = {"CAIRN_MANAGER": ""}
    assert shared.cli("profiles", "set", "here", "--manager", shared.url, env=env).returncode == 0
    assert (
        shared.cli("profiles", "set", "away", "--manager", "http://127.0.0.1:9", env=env).returncode
        == 0
    )
    assert shared.cli("deployments", "list", env=env).returncode == 0  # the first is current
    assert shared.cli("profiles", "use", "away", env=env).returncode == 0
    assert "cannot reach" in one_line_error(shared.cli("deployments", "list", env=env))
    listed = as_json(shared.cli("profiles", "list", "-o", "json", env=env))
    assert [(p["name"], p["current"]) for p in listed] == [("away", True), ("here", False)]  # type: ignore[union-attr]
    assert shared.cli("profiles", "delete", "away", env=env).returncode == 0
    assert shared.cli("profiles", "delete", "here", env=env).returncode == 0
