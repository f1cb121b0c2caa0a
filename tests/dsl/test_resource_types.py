"""Cairn's built-in resource types (``cairn/types/resources.yaml``) parse like any types."""

from __future__ import annotations

import pathlib
import textwrap

import pytest
import yaml

from cairn import errors
from cairn.dsl import deployment as dsl_deployment
from cairn.dsl import parser, stdlib
from cairn.plugins import registry

LIFECYCLE = (
    "create",
    "configure",
    "start",
    "stop",
    "delete",
    "update",
    "check_drift",
    "check_status",
)
TYPES = {
    "cairn.nodes.File": ("file", {"path": "/tmp/x"}),
    "cairn.nodes.Directory": ("directory", {"path": "/tmp/d"}),
    "cairn.nodes.Service": ("service", {"command": "sleep 100"}),
    "cairn.nodes.HttpCheck": ("http_check", {"url": "http://127.0.0.1:1/"}),
    "cairn.nodes.Command": ("command", {"command": "echo hi"}),
}


def _write(tmp_path: pathlib.Path, body: str, version: str = "cloudify_dsl_1_4") -> pathlib.Path:
    path = tmp_path / "blueprint.yaml"
    head = f"tosca_definitions_version: {version}\n"
    head += "imports: [cloudify/types/types.yaml, cairn/types/resources.yaml]\n"
    path.write_text(head + textwrap.dedent(body))
    return path


def _templates() -> str:
    lines = ["node_templates:"]
    for index, (type_name, (_, properties)) in enumerate(TYPES.items()):
        lines.append(f"  n{index}:")
        lines.append(f"    type: {type_name}")
        lines.append(f"    properties: {properties!r}".replace("'", '"'))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("version", ["cloudify_dsl_1_3", "cloudify_dsl_1_4", "cloudify_dsl_1_5"])
def test_every_type_maps_its_whole_lifecycle_to_the_resources_plugin(
    tmp_path: pathlib.Path, version: str
) -> None:
    planned = parser.parse_path(_write(tmp_path, _templates(), version))
    nodes = {node.type: node for node in planned.nodes}
    assert set(nodes) == set(TYPES)
    for type_name, (key, _) in TYPES.items():
        node = nodes[type_name]
        assert node.type_hierarchy == ("cloudify.nodes.Root", type_name)
        for op in LIFECYCLE:
            operation = node.operations[f"cloudify.interfaces.lifecycle.{op}"]
            assert operation.plugin == registry.RESOURCES
            assert operation.operation == f"{key}.{op}"
            assert operation.executor == "site_agent"
            assert registry.kind_of(operation.plugin or "") is registry.PluginKind.RESOURCE


def test_declared_defaults_reach_the_plan(tmp_path: pathlib.Path) -> None:
    planned = parser.parse_path(_write(tmp_path, _templates()))
    nodes = {node.type: node for node in planned.nodes}
    assert nodes["cairn.nodes.File"].properties["mode"] == ""
    assert nodes["cairn.nodes.Service"].properties["port"] == 0
    assert nodes["cairn.nodes.Service"].properties["host"] == "127.0.0.1"
    assert nodes["cairn.nodes.HttpCheck"].properties["status"] == 200
    assert nodes["cairn.nodes.Command"].properties["timeout"] == 60
    listed = [*planned.deployment_plugins_to_install, *planned.host_agent_plugins_to_install]
    listed += [p for node in planned.nodes for p in node.plugins_to_install]
    assert not any(registry.RESOURCES in str(p) for p in listed)  # install: false


def test_a_missing_required_property_is_a_blueprint_error(tmp_path: pathlib.Path) -> None:
    body = """\
    node_templates:
      page: {type: cairn.nodes.File}
      web: {type: cairn.nodes.Service, properties: {port: 8080}}
    """
    with pytest.raises(errors.BlueprintError) as raised:
        parser.parse_path(_write(tmp_path, body))
    text = "\n".join(p.render() for p in raised.value.problems)
    assert "path" in text and "command" in text, text
    assert len(raised.value.problems) == 2


def test_a_property_of_the_wrong_type_is_a_blueprint_error(tmp_path: pathlib.Path) -> None:
    body = """\
    node_templates:
      web: {type: cairn.nodes.Service, properties: {command: x, port: eighty}}
    """
    with pytest.raises(errors.BlueprintError) as raised:
        parser.parse_path(_write(tmp_path, body))
    assert "port" in str(raised.value)


def test_the_types_need_the_standard_types(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "blueprint.yaml"
    path.write_text(
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cairn/types/resources.yaml]\n"
        "node_templates:\n  f: {type: cairn.nodes.File, properties: {path: /tmp/x}}\n"
    )
    with pytest.raises(errors.BlueprintError) as raised:
        parser.parse_path(path)
    text = "\n".join(p.render() for p in raised.value.problems)
    assert "cloudify.nodes.Root" in text, text


def test_the_standard_types_files_do_not_change() -> None:
    """Cairn's types stay in their own file: the Cloudify-compatible ones do not name them."""
    for version in ("1_3", "1_4", "1_5"):
        assert "cairn.nodes" not in stdlib.path_for(version).read_text()
    assert stdlib.resources_path().is_file()
    assert stdlib.RESOURCES_IMPORT == "cairn/types/resources.yaml"


def test_the_web_drift_example_parses_with_its_inputs() -> None:
    example = pathlib.Path(__file__).parents[2] / "examples" / "web-drift"
    planned = parser.parse_path(example / "blueprint.yaml")
    assert [node.type for node in planned.nodes] == [
        "cairn.nodes.Directory",
        "cairn.nodes.File",
        "cairn.nodes.Service",
        "cairn.nodes.HttpCheck",
    ]
    inputs = yaml.safe_load((example / "inputs.yaml").read_text())
    prepared = dsl_deployment.prepare(planned, inputs)
    assert prepared.inputs["port"] == 8181
    with pytest.raises(errors.InputError):
        dsl_deployment.prepare(planned, {**inputs, "greeting": "<script>"})
