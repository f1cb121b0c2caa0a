"""``cairn blueprints ...`` as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import cairn

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/hello-web/blueprint.yaml"
EXAMPLE_INPUTS = "examples/hello-web/inputs.yaml"
PROBLEM_LINE = re.compile(
    r"^(?P<file>[^/:\s][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<code>\S+) \S.*$"
)
PLAN_KEYS = {
    "inputs",
    "outputs",
    "capabilities",
    "workflows",
    "groups",
    "policies",
    "scaling_groups",
    "labels",
    "nodes",
}
NODE_KEYS = {
    "id",
    "type",
    "type_hierarchy",
    "properties",
    "relationships",
    "operations",
    "plugins_to_install",
    "scalable",
}
RELATIONSHIP_KEYS = {
    "type",
    "target",
    "type_hierarchy",
    "properties",
    "source_operations",
    "target_operations",
}
OPERATION_KEYS = {
    "implementation",
    "inputs",
    "executor",
    "max_retries",
    "retry_interval",
    "timeout",
}


def cairn_script() -> str:
    found = shutil.which("cairn", path=os.path.dirname(sys.executable))
    assert found, f"no `cairn` console script next to {sys.executable}; run `pip install -e .`"
    return found


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CAIRN_PLUGIN_PATH", "CAIRN_DEBUG")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [cairn_script(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cairn: error: ")
    return lines[0]


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cairn {cairn.__version__}"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ((), "blueprints"),
        (("blueprints",), "validate"),
        (("blueprints", "validate"), "Examples"),
        (("blueprints", "plan"), "Examples"),
    ],
)
def test_help_on_every_command(command: tuple[str, ...], expected: str) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert expected in result.stdout


def test_plan_help_documents_formats_and_inputs() -> None:
    result = run("blueprints", "plan", "--help")
    for word in ("json", "yaml", "table", "--inputs", "--plugin-path", "NAME=VALUE"):
        assert word in result.stdout


def test_validate_a_valid_blueprint() -> None:
    result = run("blueprints", "validate", EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"{EXAMPLE}: valid (3 nodes)\n"
    assert result.stderr == ""


def test_validate_a_directory_uses_its_blueprint_yaml() -> None:
    result = run("blueprints", "validate", "examples/hello-web")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "examples/hello-web: valid (3 nodes)\n"


BAD_MAIN = """\
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - cloudify/types/types.yaml
  - extra.yaml
node_templates:
  web:
    type: no.such.Type
  app:
    type: cloudify.nodes.Root
    relationships:
      - type: cloudify.relationships.depends_on
        target: nowhere
"""
BAD_IMPORT = """\
tosca_definitions_version: cloudify_dsl_1_4
node_types:
  my.Type:
    derived_from: no.such.Base
"""


@pytest.fixture
def bad_blueprint(tmp_path: Path) -> Path:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "blueprint.yaml").write_text(BAD_MAIN)
    (folder / "extra.yaml").write_text(BAD_IMPORT)
    return folder / "blueprint.yaml"


def test_validate_lists_every_problem_located_and_relative(bad_blueprint: Path) -> None:
    cwd = bad_blueprint.parent.parent
    result = run("blueprints", "validate", "bad/blueprint.yaml", cwd=cwd)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    for line in lines:
        assert PROBLEM_LINE.match(line), line
    located = {(m["file"], int(m["line"])) for m in map(PROBLEM_LINE.match, lines) if m}
    assert ("bad/blueprint.yaml", 7) in located  # the unknown node type
    assert ("bad/extra.yaml", 4) in located  # the unknown base type, in the imported file
    assert "Traceback" not in result.stderr
    summary = result.stderr.splitlines()
    assert len(summary) == 1 and "not valid" in summary[0]


def test_validate_a_missing_file() -> None:
    result = run("blueprints", "validate", "no/such/blueprint.yaml")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no/such/blueprint.yaml" in assert_one_line_error(result)


def test_validate_with_a_missing_plugin_path() -> None:
    result = run("blueprints", "validate", EXAMPLE, "--plugin-path", "no/such/plugins")
    assert result.returncode == 2
    assert "--plugin-path" in assert_one_line_error(result)


def test_a_bad_option_is_a_usage_error() -> None:
    result = run("blueprints", "plan", EXAMPLE, "-o", "xml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def plan_json(*extra: str) -> dict[str, object]:
    result = run("blueprints", "plan", EXAMPLE, "-o", "json", *extra)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_plan_json_has_the_documented_shape() -> None:
    data = plan_json()
    assert set(data) >= PLAN_KEYS
    nodes = {node["id"]: node for node in data["nodes"]}  # type: ignore[attr-defined]
    assert set(nodes) == {"host", "web_server", "content"}
    for node in nodes.values():
        assert set(node) >= NODE_KEYS
        assert set(node["scalable"]) >= {"default_instances", "min_instances", "max_instances"}
    web = nodes["web_server"]
    assert "cloudify.nodes.WebServer" in web["type_hierarchy"]
    assert web["properties"]["port"] == {"get_input": "port"}  # functions stay as written
    create = web["operations"]["cloudify.interfaces.lifecycle.create"]
    assert set(create) >= OPERATION_KEYS
    assert create["implementation"] == "scripts/create.sh"
    assert web["operations"]["cloudify.interfaces.lifecycle.start"]["max_retries"] == 3
    (contained,) = web["relationships"]
    assert set(contained) >= RELATIONSHIP_KEYS
    assert contained["target"] == "host"
    assert "cloudify.relationships.contained_in" in contained["type_hierarchy"]
    (connected,) = nodes["content"]["relationships"]
    establish = connected["source_operations"][
        "cloudify.interfaces.relationship_lifecycle.establish"
    ]
    assert establish["implementation"] == "scripts/publish.sh"
    port = data["inputs"]["port"]  # type: ignore[index]
    assert port["default"] == 8080
    assert port["constraints"] == [{"in_range": [1024, 65535]}]
    assert "get_attribute" in json.dumps(data["outputs"])


def test_plan_yaml_is_the_same_plan() -> None:
    result = run("blueprints", "plan", EXAMPLE, "-o", "yaml")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == plan_json()


def test_plan_is_json_by_default() -> None:
    result = run("blueprints", "plan", EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == plan_json()


def test_plan_table() -> None:
    result = run("blueprints", "plan", EXAMPLE, "-o", "table")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for word in ("Nodes", "Inputs", "Outputs", "cloudify.nodes.WebServer", "contained_in -> host"):
        assert word in out
    web_row = next(line for line in out.splitlines() if line.strip().startswith("web_server"))
    assert web_row.split()[-1] == "5"  # create, configure, start, stop, delete
    assert "in_range" in out


def test_plan_with_inputs_prints_the_deployment_plan() -> None:
    data = plan_json("-i", EXAMPLE_INPUTS, "-i", "port=9090")
    assert data["inputs"]["port"] == 9090  # type: ignore[index]
    assert data["inputs"]["stage"] == "staging"  # type: ignore[index]
    instances = data["node_instances"]
    assert isinstance(instances, list)
    assert sorted(i["node_id"] for i in instances) == ["content", "host", "web_server"]


def test_plan_with_inputs_as_a_table() -> None:
    result = run("blueprints", "plan", EXAMPLE, "-o", "table", "-i", "stage=prod")
    assert result.returncode == 0, result.stderr
    assert "Node instances" in result.stdout
    assert "prod" in result.stdout


@pytest.mark.parametrize("spec", ["port=80", "stage=qa", "port=not-a-number", "unknown_input=1"])
def test_plan_with_invalid_inputs_fails(spec: str) -> None:
    result = run("blueprints", "plan", EXAMPLE, "-i", spec)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert "invalid inputs" in assert_one_line_error(result)


def test_plan_with_unreadable_inputs_is_a_usage_error() -> None:
    result = run("blueprints", "plan", EXAMPLE, "-i", "no-such-inputs.yaml")
    assert result.returncode == 2
    assert "no-such-inputs.yaml" in assert_one_line_error(result)


def test_plan_of_an_invalid_blueprint_lists_problems_on_stderr(bad_blueprint: Path) -> None:
    result = run("blueprints", "plan", "bad/blueprint.yaml", cwd=bad_blueprint.parent.parent)
    assert result.returncode == 1
    assert result.stdout == ""
    *problems, summary = result.stderr.splitlines()
    assert problems and all(PROBLEM_LINE.match(line) for line in problems)
    assert summary.startswith("cairn: error: ") and "not valid" in summary
