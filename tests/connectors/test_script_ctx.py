"""Every ctx sub-command through real scripts: a shell script using the ``ctx`` command and
a Python script using ``from cloudify import ctx``, run by the local connector."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable

import connector_support as support
import pytest

from cairn.connectors import interface, local
from cairn.model import executions
from conftest import write_script

pytestmark = pytest.mark.integration
Kind = executions.OutcomeKind
Make = Callable[..., local.LocalConnector]

SHELL = r"""#!/bin/sh
set -e
out() { printf '%s=%s\n' "$1" "$2" >> "$RESULTS"; }
out node_id "$(ctx node id)"
out node_name "$(ctx node name)"
out node_type "$(ctx node type)"
out port "$(ctx node properties port)"
out deep "$(ctx node properties conf.a.b)"
out host1 "$(ctx node properties 'hosts[1]')"
out instance_id "$(ctx instance id)"
out host_ip "$(ctx instance host-ip)"
out before "$(ctx instance runtime-properties before)"
out deployment_id "$(ctx deployment id)"
out region "$(ctx deployment inputs region)"
out operation "$(ctx operation name)"
out retry_number "$(ctx -j operation retry-number)"
out execution "$(ctx execution-id)"
ctx instance runtime-properties made.by sh
ctx instance runtime-properties count @3
ctx logger debug "debug line"
ctx logger info "info line"
ctx logger warning "warning line"
ctx logger error "error line"
out rendered "$(cat "$(ctx download-resource-and-render templates/app.conf)")"
out downloaded "$(cat "$(ctx download-resource templates/app.conf)")"
echo "to stdout"
echo "to stderr" >&2
ctx returns @'{"done": true}'
"""

PYTHON = r"""
import json
import os
import subprocess

from cloudify import ctx
from cloudify.exceptions import NonRecoverableError
from cloudify.state import ctx_parameters

results = {
    "node_id": ctx.node.id,
    "node_name": ctx.node.name,
    "node_type": ctx.node.type,
    "port": ctx.node.properties["port"],
    "deep": ctx.node.properties["conf"]["a"]["b"],
    "instance_id": ctx.instance.id,
    "host_ip": ctx.instance.host_ip,
    "before": ctx.instance.runtime_properties["before"],
    "deployment_id": ctx.deployment.id,
    "region": ctx.deployment.inputs["region"],
    "operation": ctx.operation.name,
    "retry_number": ctx.operation.retry_number,
    "execution": ctx.execution_id,
    "param": ctx_parameters["color"],
    "param_attr": ctx_parameters.color,
    "env": os.environ["color"],
    "type": ctx.type,
}
ctx.instance.runtime_properties["made"] = {"by": "python"}
ctx.instance.runtime_properties["made"]["nested"] = True  # written back when the script ends
ctx.logger.debug("debug line")
ctx.logger.info("info %s", "line")
ctx.logger.warning("warning line")
ctx.logger.error("error line")
path = ctx.download_resource_and_render("templates/app.conf")
results["rendered"] = open(path).read().strip()
results["downloaded"] = open(ctx.download_resource("templates/app.conf")).read().strip()
try:
    ctx.node.properties["port"] = 1
except NonRecoverableError as error:
    results["read_only"] = str(error)
# the ctx command works from Python scripts too, and sees what Python wrote
results["cli"] = subprocess.check_output(["ctx", "instance", "runtime-properties", "made.by"]).decode()
with open(os.environ["RESULTS"], "w") as handle:
    json.dump(results, handle)
print("to stdout")
ctx.returns({"done": True})
"""

EXPECTED = {
    "node_id": "web",
    "node_name": "web",
    "node_type": "cloudify.nodes.WebServer",
    "port": "8080",
    "deep": "deep",
    "host1": "h1",
    "instance_id": "web_1",
    "host_ip": "10.0.0.5",
    "before": "1",
    "deployment_id": "dep",
    "region": "north",
    "operation": "cloudify.interfaces.lifecycle.create",
    "retry_number": "0",
    "execution": "ex",
    "rendered": "listen 8080 on 10.0.0.5",
    "downloaded": "listen {{ ctx.node.properties.port }} on {{ ctx.instance.host_ip }}",
}
LEVELS = [
    (interface.LogLevel.DEBUG, "debug line"),
    (interface.LogLevel.INFO, "info line"),
    (interface.LogLevel.WARNING, "warning line"),
    (interface.LogLevel.ERROR, "error line"),
]


def test_every_sub_command_from_a_shell_script(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    results = tmp_path / "results"
    path = write_script(blueprint, "all.sh", SHELL)
    connector = make_connector()
    connector.submit(
        support.dispatch("s:1:1", blueprint, script_path=path, inputs={"RESULTS": str(results)})
    )
    outcome, logs = support.wait_for(connector, "s:1:1")
    assert outcome.kind is Kind.SUCCEEDED, outcome.error
    assert outcome.result == {"done": True}
    assert outcome.runtime_properties == {"before": 1, "made": {"by": "sh"}, "count": 3}
    found = dict(line.split("=", 1) for line in results.read_text().splitlines())
    assert found == EXPECTED
    assert [(line.level, line.message) for line in logs if line.stream == "ctx"] == LEVELS
    assert support.messages(logs, "stdout") == ["to stdout"]
    assert support.messages(logs, "stderr") == ["to stderr"]


def test_every_attribute_from_a_python_script(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    results = tmp_path / "results.json"
    path = write_script(blueprint, "all.py", PYTHON)
    connector = make_connector()
    connector.submit(
        support.dispatch(
            "s:2:1",
            blueprint,
            script_path=path,
            inputs={"RESULTS": str(results), "color": "blue"},
        )
    )
    outcome, logs = support.wait_for(connector, "s:2:1")
    assert outcome.kind is Kind.SUCCEEDED, (outcome.error, support.messages(logs))
    assert outcome.result == {"done": True}
    assert outcome.runtime_properties == {"before": 1, "made": {"by": "python", "nested": True}}
    found = json.loads(results.read_text())
    typed = {**EXPECTED, "port": 8080, "before": 1, "retry_number": 0}
    del typed["host1"]
    assert {k: found[k] for k in typed} == typed
    assert found["param"] == found["param_attr"] == found["env"] == "blue"
    assert found["type"] == "node-instance"
    assert found["read_only"] == "Cannot override read only properties"
    assert found["cli"] == "python"
    assert [(line.level, line.message) for line in logs if line.stream == "ctx"] == LEVELS
    assert support.messages(logs, "stdout") == ["to stdout"]


@pytest.mark.parametrize(
    "case",
    [
        (
            "from cloudify.exceptions import NonRecoverableError\n"
            "raise NonRecoverableError('bad config')",
            Kind.NON_RECOVERABLE,
            "NonRecoverableError: bad config",
            None,
        ),
        (
            "from cloudify.exceptions import RecoverableError\n"
            "raise RecoverableError('busy', retry_after=4)",
            Kind.RECOVERABLE,
            "RecoverableError: busy [retry_after=4]",
            4.0,
        ),
        ("raise ValueError('plain')", Kind.RECOVERABLE, None, None),
        (
            "from cloudify import ctx\nctx.operation.retry('not yet', retry_after=2)",
            Kind.RECOVERABLE,
            "not yet",
            2.0,
        ),
        (
            "from cloudify import ctx\nctx.abort_operation('give up')\nprint('goes on')",
            Kind.NON_RECOVERABLE,
            "give up",
            None,
        ),
        (
            "from cloudify import ctx\nctx.retry_operation('again', 3)",
            Kind.RECOVERABLE,
            "again",
            3.0,
        ),
    ],
)
def test_python_scripts_say_how_they_failed(
    make_connector: Make,
    blueprint: pathlib.Path,
    case: tuple[str, executions.OutcomeKind, str | None, float | None],
) -> None:
    body, kind, error, retry_after = case
    connector = make_connector()
    connector.submit(support.dispatch("s:3:1", blueprint, source=body))
    outcome, logs = support.wait_for(connector, "s:3:1")
    assert outcome.kind is kind
    if error is not None:
        assert outcome.error == error
    else:
        assert "ValueError: plain" in (outcome.error or "")
        assert any("Traceback" in m for m in support.messages(logs, "stderr"))
    assert outcome.retry_after == retry_after


def test_relationship_operations_change_both_ends(
    make_connector: Make, blueprint: pathlib.Path
) -> None:
    source = {
        "node": {"name": "app", "type": "App", "properties": {}},
        "instance": {"id": "app_1", "runtime_properties": {}},
    }
    target = {
        "node": {"name": "db", "type": "Db", "properties": {"port": 5432}},
        "instance": {"id": "db_1", "runtime_properties": {"users": 0}},
    }
    ctx = support.context(blueprint, node=target["node"], instance=target["instance"])
    ctx.update(source=source, target=target)
    script = (
        'ctx source instance runtime-properties db_port "$(ctx target node properties port)"\n'
        "ctx target instance runtime-properties users @1\n"
    )
    connector = make_connector()
    connector.submit(support.dispatch("s:4:1", blueprint, source=script, ctx=ctx))
    outcome, _ = support.wait_for(connector, "s:4:1")
    assert outcome.kind is Kind.SUCCEEDED
    assert outcome.runtime_properties == {"db_port": "5432"}
    assert outcome.target_runtime_properties == {"users": 1}
