"""What the script runner starts: the script, its command, its environment, its context."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

from cairn import errors
from cairn.plugins import script
from cairn.plugins.script import launching

TASK = {"task_name": "script_runner.tasks.run", "task_id": 1, "plugin": "script"}


def context(resources: pathlib.Path) -> dict[str, object]:
    return {
        "blueprint": {"id": "bp", "resources": str(resources)},
        "operation": {"name": "cloudify.interfaces.lifecycle.create"},
        "node": {"name": "web", "properties": {}},
        "instance": {"id": "web_1", "runtime_properties": {"k": "v"}},
        "source": None,
        "target": None,
    }


def prepare(
    tmp_path: pathlib.Path, inputs: dict[str, object], implementation: str = ""
) -> launching.Launch:
    attempt = launching.Attempt(
        folder=str(tmp_path / "attempt"),
        bin_dir="/opt/bin",
        python=sys.executable,
        environ={"PATH": "/usr/bin:/bin", "HOME": "/root", "CAIRN_DATABASE_URL": "secret"},
    )
    return launching.prepare(
        attempt=attempt,
        inputs=inputs,
        context=context(tmp_path / "bp"),
        implementation=implementation,
        task=TASK,
    )


@pytest.fixture
def blueprint(tmp_path: pathlib.Path) -> pathlib.Path:
    scripts = tmp_path / "bp" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "run.sh").write_text("#!/bin/bash\necho hi\n")
    (scripts / "tool.py").write_text("print('hi')\n")
    (scripts / "shebang").write_text("#!/usr/bin/env python3\nprint('hi')\n")
    return tmp_path / "bp"


def test_inputs_become_environment_variables_as_cloudify_does(
    tmp_path: pathlib.Path, blueprint: pathlib.Path
) -> None:
    launch = prepare(
        tmp_path,
        {
            "script_path": "scripts/run.sh",
            "port": 8080,
            "name": "web",
            "flags": {"a": [1, True]},
            "on": True,
            "nothing": None,
            "process": {"env": {"EXTRA": "1"}},
        },
    )
    env = launch.env
    assert env["port"] == "8080"
    assert env["name"] == "web"
    assert json.loads(env["flags"]) == {"a": [1, True]}
    assert env["on"] == "true"
    assert env["nothing"] == "None"
    assert env["EXTRA"] == "1"
    assert "script_path" not in env and "process" not in env
    assert "CAIRN_DATABASE_URL" not in env  # the manager's own settings stay out
    assert env["CAIRN_CTX_FILE"] == str(tmp_path / "attempt" / "ctx.json")
    assert env["CAIRN_CTX_SETS"] == str(tmp_path / "attempt" / "ctx.sets")  # a node operation
    assert env["PATH"].split(":")[0] == "/opt/bin"
    assert env["PYTHONPATH"].split(":")[0] == str(script.COMPAT_DIR)
    assert launch.command == (str(tmp_path / "attempt" / "script" / "run.sh"),)
    assert launch.cwd == str(tmp_path / "attempt" / "work")
    assert launch.script == b"#!/bin/bash\necho hi\n"


def test_python_scripts_run_with_the_managers_interpreter(
    tmp_path: pathlib.Path, blueprint: pathlib.Path
) -> None:
    by_suffix = prepare(tmp_path, {"script_path": "scripts/tool.py"})
    assert by_suffix.command[0] == sys.executable
    assert by_suffix.env["PYTHONUNBUFFERED"] == "1"
    by_shebang = prepare(tmp_path, {}, implementation="scripts/shebang")
    assert by_shebang.command[0] == sys.executable
    forced_shell = prepare(
        tmp_path, {"script_path": "scripts/tool.py", "process": {"eval_python": False}}
    )
    assert forced_shell.command[0].endswith("tool.py")


def test_args_and_command_prefix_go_through_the_shell(
    tmp_path: pathlib.Path, blueprint: pathlib.Path
) -> None:
    launch = prepare(
        tmp_path,
        {
            "script_path": "scripts/run.sh",
            "process": {"command_prefix": "bash", "args": ["-x", "1"]},
        },
    )
    assert launch.command[:2] == ("/bin/sh", "-c")
    assert launch.command[2].startswith("bash ") and launch.command[2].endswith(" -x 1")


def test_inline_sources_get_a_shebang_or_are_detected_as_python(tmp_path: pathlib.Path) -> None:
    shell = prepare(tmp_path, {"script_source": "  echo hello\n  ctx logger info hi\n"})
    assert shell.script.startswith(b"#!/bin/sh\necho hello\n")
    assert shell.script_file.endswith("script.sh")
    python = prepare(tmp_path, {"script_source": "from cloudify import ctx\nx = 1\n"})
    assert python.command[0] == sys.executable
    assert python.script_file.endswith("script.py")
    own = prepare(tmp_path, {"script_source": "#!/bin/bash\necho $BASH_VERSION\n"})
    assert own.script.startswith(b"#!/bin/bash\n")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "Either script_path or script_source must be provided"),
        ({"script_path": "a.sh", "script_source": "echo"}, "not both"),
        ({"script_path": "scripts/missing.sh"}, "scripts/missing.sh not found"),
        ({"script_path": "https://example.com/x.sh"}, "not supported"),
        ({"script_path": "scripts/run.sh", "process": "bad"}, "'process' input must be a mapping"),
    ],
)
def test_bad_inputs_fail_for_good(
    tmp_path: pathlib.Path, blueprint: pathlib.Path, inputs: dict[str, object], message: str
) -> None:
    with pytest.raises(errors.NonRecoverableError, match=message):
        prepare(tmp_path, inputs)


def test_invalid_variable_names_are_left_out_with_a_warning(
    tmp_path: pathlib.Path, blueprint: pathlib.Path
) -> None:
    launch = prepare(tmp_path, {"script_path": "scripts/run.sh", "a=b": 1})
    assert "a=b" not in launch.env
    assert launch.warnings == ("input 'a=b' cannot be an environment variable; left out",)


def test_relationship_documents_keep_each_instance_once() -> None:
    ctx = {
        "node": {"name": "db"},
        "instance": {"id": "db_1", "runtime_properties": {}},
        "source": {"node": {"name": "app"}, "instance": {"id": "app_1", "runtime_properties": {}}},
        "target": {
            "node": {"name": "db"},
            "instance": {"id": "db_1", "runtime_properties": {"p": 1}},
        },
    }
    document = launching.document(inputs={}, context=ctx, task=TASK)
    assert document["side"] == "target"
    assert "instance" not in document["context"] and "node" not in document["context"]
    assert launching.instance_properties(document) == {"source": {}, "target": {"p": 1}}
    assert ctx["instance"] == {"id": "db_1", "runtime_properties": {}}  # not changed in place


def test_only_node_operations_let_ctx_skip_python(tmp_path: pathlib.Path) -> None:
    """``ctx instance runtime-properties`` of a relationship operation must reach Python,
    which resolves ``instance`` to the end that runs."""
    source = {"node": {"name": "app"}, "instance": {"id": "app_1", "runtime_properties": {}}}
    target = {"node": {"name": "db"}, "instance": {"id": "db_1", "runtime_properties": {}}}
    attempt = launching.Attempt(
        folder=str(tmp_path / "attempt"), bin_dir="/opt/bin", python=sys.executable, environ={}
    )
    relationship = {**context(tmp_path), **source, "source": source, "target": target}
    deployment = {"blueprint": {"id": "bp"}, "source": None, "target": None}
    for ctx in (relationship, deployment):
        launch = launching.prepare(
            attempt=attempt,
            inputs={"script_source": "true"},
            context=ctx,
            implementation="",
            task=TASK,
        )
        assert "CAIRN_CTX_SETS" not in launch.env


def test_sets_apply_in_order_and_an_unfinished_record_waits() -> None:
    document: dict[str, object] = {"context": {"instance": {"runtime_properties": {"a": 1}}}}
    data = b"b\0one\0a\0two\0b\0three\0c\0unfinish"
    launching.apply_sets(document, data)
    assert document["context"] == {"instance": {"runtime_properties": {"a": "two", "b": "three"}}}
    assert document["sets_applied"] == len(b"b\0one\0a\0two\0b\0three\0")
    launching.apply_sets(document, data + b"ed\0")
    properties = launching.instance_properties(document)["instance"]
    assert properties == {"a": "two", "b": "three", "c": "unfinished"}
