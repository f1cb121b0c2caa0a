"""The ``ctx`` command, run for real against a context file, sub-command by sub-command."""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from cairn.plugins import script
from cairn.plugins.script import launching

pytestmark = pytest.mark.integration

NODE_CONTEXT: dict[str, Any] = {
    "deployment": {"id": "dep", "blueprint_id": "bp", "inputs": {"size": "small"}},
    "blueprint": {"id": "bp", "resources": ""},
    "execution": {"id": "ex1", "workflow_id": "install"},
    "operation": {
        "name": "cloudify.interfaces.lifecycle.create",
        "retry_number": 2,
        "max_retries": 5,
    },
    "node": {
        "id": "web",
        "name": "web",
        "type": "cloudify.nodes.WebServer",
        "type_hierarchy": ["cloudify.nodes.Root", "cloudify.nodes.WebServer"],
        "properties": {
            "port": 8080,
            "conf": {"a": {"b": "deep"}},
            "hosts": ["h0", "h1"],
            "off": False,
        },
    },
    "instance": {
        "id": "web_1",
        "runtime_properties": {"existing": "yes", "list": [1, 2]},
        "host_ip": "10.0.0.5",
        "relationships": [
            {
                "type": "cloudify.relationships.contained_in",
                "target_id": "vm_1",
                "target_name": "vm",
            }
        ],
    },
    "source": None,
    "target": None,
}


class Ctx:
    def __init__(
        self, folder: pathlib.Path, context: Mapping[str, Any], *, fast: bool = False
    ) -> None:
        self.folder = folder
        self.fast = fast  # the runner allows the shell fast path (a node operation)
        folder.mkdir(parents=True, exist_ok=True)
        bin_dir = folder / "bin"
        bin_dir.mkdir()
        (bin_dir / "ctx").write_text(script.ctx_launcher(sys.executable))
        (bin_dir / "ctx").chmod(0o755)
        self.command = str(bin_dir / "ctx")
        self.file = folder / "ctx.json"
        document = launching.document(
            inputs={"x": 1}, context=context, task={"task_name": "script_runner.tasks.run"}
        )
        self.file.write_text(json.dumps(document))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "CAIRN_CTX_FILE": str(self.file)}
        if self.fast:
            env["CAIRN_CTX_SETS"] = str(self.folder / "ctx.sets")
        done = subprocess.run(
            [self.command, *args], env=env, capture_output=True, text=True, check=False
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    def out(self, *args: str) -> str:
        return self.run(*args).stdout

    def document(self) -> dict[str, Any]:
        """The context file as the runner reads it at the end, sets file applied."""
        loaded: dict[str, Any] = json.loads(self.file.read_text())
        sets = self.folder / "ctx.sets"
        launching.apply_sets(loaded, sets.read_bytes() if sets.exists() else b"")
        return loaded

    def logs(self) -> list[dict[str, Any]]:
        path = self.folder / "ctx.log"
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(params=[False, True], ids=["python", "fast"])
def ctx(tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> Ctx:
    resources = tmp_path / "bp"
    resources.mkdir()
    (resources / "files").mkdir()
    (resources / "files" / "plain.txt").write_text("plain {{ not rendered }}\n")
    (resources / "files" / "app.conf").write_text(
        "{# a comment #}port={{ ctx.node.properties.port }} "
        "host={{ ctx.instance.host_ip }} first={{ ctx.node.properties.hosts[0] }} "
        "deep={{ ctx.node.properties['conf'].a.b }} v={{ version }} "
        "missing=[{{ ctx.node.properties.nope }}] rp={{ ctx.instance.runtime_properties.existing }}\n"
    )
    context = json.loads(json.dumps(NODE_CONTEXT))
    context["blueprint"]["resources"] = str(resources)
    return Ctx(tmp_path / "attempt", context, fast=request.param)


def test_node_sub_commands(ctx: Ctx) -> None:
    assert ctx.out("node", "id") == "web"
    assert ctx.out("node", "name") == "web"
    assert ctx.out("node", "type") == "cloudify.nodes.WebServer"
    assert json.loads(ctx.out("-j", "node", "type-hierarchy"))[-1] == "cloudify.nodes.WebServer"
    assert ctx.out("node", "properties", "port") == "8080"
    assert ctx.out("node", "properties", "conf.a.b") == "deep"
    assert ctx.out("node", "properties", "hosts[1]") == "h1"
    assert ctx.out("-j", "node", "properties", "port") == "8080"
    assert json.loads(ctx.out("node", "properties", "conf", "-j")) == {"a": {"b": "deep"}}
    # like Cloudify's client: str() of the answer, nothing for a false one
    assert ctx.out("node", "properties", "conf") == "{'a': {'b': 'deep'}}"
    assert ctx.out("node", "properties", "off") == ""
    assert ctx.out("-j", "node", "properties", "off") == "false"


def test_instance_and_deployment_sub_commands(ctx: Ctx) -> None:
    assert ctx.out("instance", "id") == "web_1"
    assert ctx.out("instance", "host-ip") == "10.0.0.5"
    assert ctx.out("instance", "host_ip") == "10.0.0.5"
    assert json.loads(ctx.out("-j", "instance", "relationships"))[0]["target_id"] == "vm_1"
    assert ctx.out("deployment", "id") == "dep"
    assert ctx.out("deployment", "inputs", "size") == "small"
    assert ctx.out("blueprint", "id") == "bp"
    assert ctx.out("execution-id") == "ex1"
    assert ctx.out("workflow-id") == "install"
    assert ctx.out("operation", "name") == "cloudify.interfaces.lifecycle.create"
    assert ctx.out("operation", "retry-number") == "2"
    assert ctx.out("operation", "max-retries") == "5"
    assert ctx.out("type") == "node-instance"
    assert ctx.out("task-name") == "script_runner.tasks.run"


def test_runtime_properties_get_and_set(ctx: Ctx) -> None:
    assert ctx.out("instance", "runtime-properties", "existing") == "yes"
    ctx.run("instance", "runtime-properties", "plain", "text")
    ctx.run("instance", "runtime_properties", "nested.a.b", "@42")
    ctx.run("instance", "runtime-properties", "obj", '@{"k": [1, "two"]}')
    ctx.run("instance", "runtime-properties", "list[1]", "@20")
    ctx.run("--json-arg-prefix", "%", "instance", "runtime-properties", "pct", "%true")
    assert ctx.out("instance", "runtime-properties", "nested.a.b") == "42"
    assert ctx.out("instance", "runtime-properties", "obj.k[1]") == "two"
    properties = ctx.document()["context"]["instance"]["runtime_properties"]
    assert properties == {
        "existing": "yes",
        "list": [1, 20],
        "plain": "text",
        "nested": {"a": {"b": 42}},
        "obj": {"k": [1, "two"]},
        "pct": True,
    }
    everything = json.loads(ctx.out("-j", "instance", "runtime-properties"))
    assert everything == properties


def test_fast_path_takes_plain_sets_only(ctx: Ctx) -> None:
    ctx.run("instance", "runtime-properties", "plain_key-1", "some text")
    ctx.run("instance", "runtime-properties", "dotted.key", "x")
    ctx.run("instance", "runtime-properties", "json", "@1")
    ctx.run("instance", "runtime-properties", "multi", "line\nvalue")
    sets = ctx.folder / "ctx.sets"
    written = sets.read_bytes() if sets.exists() else b""
    assert written == (b"plain_key-1\0some text\0multi\0line\nvalue\0" if ctx.fast else b"")
    # a later ctx call sees the fast path's writes, and in order with its own
    assert ctx.out("instance", "runtime-properties", "plain_key-1") == "some text"
    ctx.run("instance", "runtime-properties", "multi", "@2")
    ctx.run("instance", "runtime-properties", "dotted.key", "y")
    assert ctx.out("-j", "instance", "runtime-properties", "multi") == "2"
    properties = ctx.document()["context"]["instance"]["runtime_properties"]
    assert properties["plain_key-1"] == "some text"
    assert properties["multi"] == 2
    assert properties["dotted"] == {"key": "y"}
    assert properties["json"] == 1


def test_errors_say_what_went_wrong(ctx: Ctx) -> None:
    missing = ctx.run("node", "properties", "nope", check=False)
    assert missing.returncode == 1
    assert "illegal path: nope" in missing.stderr
    read_only = ctx.run("node", "properties", "port", "1", check=False)
    assert read_only.returncode == 1
    assert "Cannot override read only properties" in read_only.stderr
    unknown = ctx.run("node", "colour", check=False)
    assert "colour cannot be processed" in unknown.stderr
    too_many = ctx.run("instance", "runtime-properties", "a", "b", "c", check=False)
    assert "Illegal argument while accessing dict" in too_many.stderr
    not_relationship = ctx.run("source", "node", "id", check=False)
    assert "relationship-instance context" in not_relationship.stderr
    bad_option = ctx.run("--nope", check=False)
    assert bad_option.returncode == 2
    outside = subprocess.run(
        [ctx.command, "node", "id"],
        env={"PATH": "/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert outside.returncode == 1
    assert "CAIRN_CTX_FILE is not set" in outside.stderr


def test_logger_levels_are_recorded_with_timestamps(ctx: Ctx) -> None:
    for level in ("debug", "info", "warning", "warn", "error"):
        ctx.run("logger", level, f"a {level} line")
    ctx.run("logger", "info", "formatted %s and %s", "one", "@2")
    logs = ctx.logs()
    assert [(r["level"], r["message"]) for r in logs] == [
        ("debug", "a debug line"),
        ("info", "a info line"),
        ("warning", "a warning line"),
        ("warning", "a warn line"),
        ("error", "a error line"),
        ("info", "formatted one and 2"),
    ]
    assert all(isinstance(r["t"], float) for r in logs)


def test_returns_abort_and_retry(ctx: Ctx) -> None:
    ctx.run("returns", '@{"url": "http://x"}')
    assert ctx.document()["result"] == {"kind": "returns", "value": {"url": "http://x"}}
    twice = ctx.run("returns", "again", check=False)
    assert twice.returncode == 1
    assert ctx.document()["result"]["kind"] == "illegal"


def test_abort_operation_fails_the_call_with_its_message(ctx: Ctx) -> None:
    aborted = ctx.run("abort-operation", "cannot go on", check=False)
    assert (aborted.returncode, aborted.stderr) == (1, "cannot go on\n")
    assert ctx.document()["result"] == {"kind": "abort", "message": "cannot go on"}


def test_retry_operation_and_operation_retry(ctx: Ctx) -> None:
    assert ctx.out("operation", "retry", "not yet", "@5") == ""
    assert ctx.document()["retry"] == {"message": "not yet", "retry_after": 5}
    assert ctx.document()["result"] is None
    stopped = ctx.run("retry-operation", "later", check=False)
    assert (stopped.returncode, stopped.stderr) == (1, "later\n")
    assert ctx.document()["result"]["kind"] == "retry"


def test_resources_download_and_render(ctx: Ctx, tmp_path: pathlib.Path) -> None:
    plain = pathlib.Path(ctx.out("download-resource", "files/plain.txt"))
    assert plain.read_text() == "plain {{ not rendered }}\n"
    assert plain.is_relative_to(ctx.folder / "downloads")
    target = tmp_path / "out" / "app.conf"
    rendered = ctx.out(
        "download-resource-and-render",
        "files/app.conf",
        str(target),
        '@{"template_variables": {"version": "1.2"}}',
    )
    assert rendered == str(target)
    assert target.read_text() == (
        "port=8080 host=10.0.0.5 first=h0 deep=deep v=1.2 missing=[] rp=yes\n"
    )
    assert ctx.out("get-resource", "files/plain.txt") == "plain {{ not rendered }}\n"
    missing = ctx.run("download-resource", "files/none.txt", check=False)
    assert "resource 'files/none.txt' not found" in missing.stderr


def test_render_refuses_control_blocks(ctx: Ctx) -> None:
    resources = pathlib.Path(ctx.document()["context"]["blueprint"]["resources"])
    (resources / "loop.j2").write_text("{% for x in y %}{{ x }}{% endfor %}")
    refused = ctx.run("download-resource-and-render", "loop.j2", check=False)
    assert refused.returncode == 1
    assert "{% ... %} blocks" in refused.stderr


def test_relationship_ends(tmp_path: pathlib.Path) -> None:
    source = {
        "node": {"name": "app", "type": "App", "properties": {"role": "client"}},
        "instance": {"id": "app_1", "runtime_properties": {"s": 1}},
    }
    target = {
        "node": {"name": "db", "type": "Db", "properties": {"port": 5432}},
        "instance": {"id": "db_1", "runtime_properties": {"t": 1}, "host_ip": "10.1.1.1"},
    }
    context = {**NODE_CONTEXT, **source, "source": source, "target": target}
    ctx = Ctx(tmp_path / "rel", context)
    assert ctx.out("type") == "relationship-instance"
    assert ctx.out("target", "node", "properties", "port") == "5432"
    assert ctx.out("source", "node", "properties", "role") == "client"
    assert ctx.out("target", "instance", "host-ip") == "10.1.1.1"
    assert ctx.out("node", "name") == "app"  # the end whose operation runs
    ctx.run("source", "instance", "runtime-properties", "connected", "@true")
    ctx.run("target", "instance", "runtime-properties", "clients", "@1")
    ctx.run("instance", "runtime-properties", "via_alias", "x")
    properties = launching.instance_properties(ctx.document())
    assert properties == {
        "source": {"s": 1, "connected": True, "via_alias": "x"},
        "target": {"t": 1, "clients": 1},
    }


def test_concurrent_writes_are_not_lost(ctx: Ctx) -> None:
    def write(n: int) -> None:
        # JSON values take the Python path; plain ones the shell's when it is on
        ctx.run("instance", "runtime-properties", f"k{n}", f"@{n}" if n % 2 else str(n))

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(24)))
    properties = ctx.document()["context"]["instance"]["runtime_properties"]
    expected = {f"k{n}": n if n % 2 else str(n) for n in range(24)}
    assert expected.items() <= properties.items()
    leftovers = [p for p in os.listdir(ctx.folder) if p.endswith(".tmp")]
    assert leftovers == []
