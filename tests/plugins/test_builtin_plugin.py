"""The in-process operations: cairn.*, Cloudify's agent installer, and missing plugins."""

from __future__ import annotations

from cairn.model import executions
from cairn.plugins import builtin, registry

Kind = executions.OutcomeKind
CONTEXT = {
    "operation": {"name": "cloudify.interfaces.lifecycle.create"},
    "instance": {"id": "vm_1", "runtime_properties": {"a": 1}},
    "source": None,
    "target": None,
}


def test_routing_by_plugin_name_with_namespaces() -> None:
    assert registry.kind_of("script") is registry.PluginKind.SCRIPT
    assert registry.kind_of("ns--script") is registry.PluginKind.SCRIPT
    assert registry.kind_of("cairn") is registry.PluginKind.BUILTIN
    assert registry.kind_of("agent") is registry.PluginKind.AGENT
    assert registry.kind_of("openstack") is registry.PluginKind.MISSING


def test_noop_succeeds_with_either_spelling() -> None:
    for operation in ("cairn.noop", "noop"):
        result = builtin.run(plugin="cairn", operation=operation, inputs={}, context=CONTEXT)
        assert result.outcome == executions.Outcome(kind=Kind.SUCCEEDED)
        assert result.logs == ()


def test_agent_operations_succeed_and_say_why() -> None:
    result = builtin.run(
        plugin="agent",
        operation="cloudify_agent.installer.operations.create",
        inputs={},
        context=CONTEXT,
    )
    assert result.outcome.kind is Kind.SUCCEEDED
    [(level, message)] = result.logs
    assert level == "info"
    assert "Cairn runs its own agents" in message


def test_missing_plugin_fails_for_good_naming_the_operation() -> None:
    result = builtin.run(
        plugin="openstack", operation="nova_plugin.server.create", inputs={}, context=CONTEXT
    )
    assert result.outcome.kind is Kind.NON_RECOVERABLE
    assert result.outcome.error == (
        "plugin 'openstack' is not available in Cairn "
        "(operation cloudify.interfaces.lifecycle.create: nova_plugin.server.create)"
    )


def test_unknown_builtin_lists_the_known_ones() -> None:
    result = builtin.run(plugin="cairn", operation="cairn.nope", inputs={}, context=CONTEXT)
    assert result.outcome.kind is Kind.NON_RECOVERABLE
    assert "cairn.noop" in (result.outcome.error or "")


def test_fail_log_and_set_runtime_properties() -> None:
    failed = builtin.run(
        plugin="cairn",
        operation="cairn.fail",
        inputs={"recoverable": True, "retry_after": 2, "message": "later"},
        context=CONTEXT,
    )
    assert failed.outcome == executions.Outcome(
        kind=Kind.RECOVERABLE, error="later", retry_after=2.0
    )
    logged = builtin.run(
        plugin="cairn", operation="log", inputs={"message": "hi", "level": "warning"}, context={}
    )
    assert logged.logs == (("warning", "hi"),)
    merged = builtin.run(
        plugin="cairn",
        operation="set_runtime_properties",
        inputs={"properties": {"b": 2}},
        context=CONTEXT,
    )
    assert merged.outcome.runtime_properties == {"a": 1, "b": 2}
