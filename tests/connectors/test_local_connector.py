"""The local connector running real scripts: outcomes, logs, timeouts, kills and secrets."""

from __future__ import annotations

import json
import pathlib
import time
from collections.abc import Callable

import connector_support as support
import pytest

from cairn.connectors import interface, local
from cairn.model import executions
from conftest import write_script

pytestmark = pytest.mark.integration
Kind = executions.OutcomeKind
Make = Callable[..., local.LocalConnector]


def test_a_shell_script_succeeds_with_its_output_and_result(
    make_connector: Make, blueprint: pathlib.Path
) -> None:
    path = write_script(
        blueprint,
        "create.sh",
        '#!/bin/sh\necho "hello $name"\necho oops >&2\nctx logger info from-ctx\n'
        "ctx instance runtime-properties made @true\nctx returns @'{\"done\": 1}'\n",
    )
    connector = make_connector()
    connector.submit(support.dispatch("e:1:1", blueprint, script_path=path, inputs={"name": "web"}))
    outcome, logs = support.wait_for(connector, "e:1:1")
    assert outcome == executions.Outcome(
        kind=Kind.SUCCEEDED, result={"done": 1}, runtime_properties={"before": 1, "made": True}
    )
    assert support.messages(logs, "stdout") == ["hello web"]
    assert support.messages(logs, "stderr") == ["oops"]
    [ctx_line] = [line for line in logs if line.stream == "ctx"]
    assert (ctx_line.level, ctx_line.message) == (interface.LogLevel.INFO, "from-ctx")


def test_inline_scripts_and_inputs_in_the_environment(
    make_connector: Make, blueprint: pathlib.Path
) -> None:
    connector = make_connector()
    source = 'echo "port=$port conf=$conf flag=$flag cwd=$(basename "$PWD")"'
    connector.submit(
        support.dispatch(
            "e:2:1",
            blueprint,
            source=source,
            inputs={"port": 80, "conf": {"a": [1]}, "flag": False},
        )
    )
    outcome, logs = support.wait_for(connector, "e:2:1")
    assert outcome.kind is Kind.SUCCEEDED
    assert support.messages(logs, "stdout") == ['port=80 conf={"a": [1]} flag=false cwd=work']


def test_non_zero_exit_is_recoverable(make_connector: Make, blueprint: pathlib.Path) -> None:
    connector = make_connector()
    connector.submit(support.dispatch("e:3:1", blueprint, source="echo 'disk full' >&2\nexit 3"))
    outcome, _ = support.wait_for(connector, "e:3:1")
    assert outcome.kind is Kind.RECOVERABLE
    assert outcome.error == "<inline> failed with exit code 3: disk full"


def test_retry_and_abort_requests(make_connector: Make, blueprint: pathlib.Path) -> None:
    connector = make_connector()
    connector.submit(
        support.dispatch("e:4:1", blueprint, source='ctx operation retry "not ready" 12')
    )
    connector.submit(
        support.dispatch(
            "e:5:1", blueprint, source='ctx abort-operation "impossible" || echo "ctx said $?"'
        )
    )
    connector.submit(
        support.dispatch("e:6:1", blueprint, source="ctx retry-operation later; exit 1")
    )
    retried, _ = support.wait_for(connector, "e:4:1")
    assert (retried.kind, retried.error, retried.retry_after) == (
        Kind.RECOVERABLE,
        "not ready",
        12.0,
    )
    aborted, logs = support.wait_for(connector, "e:5:1")
    assert (aborted.kind, aborted.error) == (Kind.NON_RECOVERABLE, "impossible")
    assert support.messages(logs, "stdout") == ["ctx said 1"]
    stopped, _ = support.wait_for(connector, "e:6:1")
    assert (stopped.kind, stopped.error) == (Kind.RECOVERABLE, "later")


def _group_gone(pid_file: pathlib.Path) -> bool:
    pid = json.loads(pid_file.read_text())["pid"]
    support.wait_until(lambda: not support.live_group_members(pid), within=5)
    return True


def test_timeout_kills_the_process_group(
    make_connector: Make, blueprint: pathlib.Path, data_dir: pathlib.Path
) -> None:
    connector = make_connector()
    # the script's child sleeps too, and ignores nothing: both must be gone
    script = "sleep 30 &\nsleep 30\n"
    connector.submit(support.dispatch("e:7:1", blueprint, source=script, timeout=0.5))
    connector.submit(
        support.dispatch("e:8:1", blueprint, source=script, timeout=0.5, timeout_recoverable=False)
    )
    started = time.monotonic()
    lenient, _ = support.wait_for(connector, "e:7:1")
    strict, _ = support.wait_for(connector, "e:8:1")
    assert time.monotonic() - started < 10
    assert (lenient.kind, lenient.error) == (
        Kind.RECOVERABLE,
        "<inline>: timed out after 0.5 seconds",
    )
    assert strict.kind is Kind.NON_RECOVERABLE
    assert _group_gone(data_dir / "journal" / "e:7:1" / "pid.json")


def test_kill_escalates_to_sigkill(
    make_connector: Make, blueprint: pathlib.Path, data_dir: pathlib.Path
) -> None:
    connector = make_connector(kill_grace=0.3)
    stubborn = "trap '' TERM\necho started\nwhile :; do sleep 0.1; done\n"
    connector.submit(support.dispatch("e:9:1", blueprint, source=stubborn))
    support.wait_until(
        lambda: (
            (data_dir / "journal" / "e:9:1" / "stdout").exists()
            and b"started" in (data_dir / "journal" / "e:9:1" / "stdout").read_bytes()
        )
    )
    connector.kill("e:9:1")
    outcome, _ = support.wait_for(connector, "e:9:1", within=10)
    assert (outcome.kind, outcome.error) == (Kind.NON_RECOVERABLE, "<inline>: killed")
    assert _group_gone(data_dir / "journal" / "e:9:1" / "pid.json")


def test_a_kill_right_after_submit_stops_the_attempt_once_started(
    make_connector: Make, blueprint: pathlib.Path, data_dir: pathlib.Path
) -> None:
    connector = make_connector(kill_grace=0.3)
    connector.submit(support.dispatch("e:9:2", blueprint, source="sleep 30"))
    connector.kill("e:9:2")  # most likely still on the starter thread
    outcome, _ = support.wait_for(connector, "e:9:2", within=10)
    assert (outcome.kind, outcome.error) == (Kind.NON_RECOVERABLE, "<inline>: killed")
    assert _group_gone(data_dir / "journal" / "e:9:2" / "pid.json")


def test_secrets_are_masked_everywhere(
    make_connector: Make, blueprint: pathlib.Path, data_dir: pathlib.Path
) -> None:
    connector = make_connector()
    source = (
        'echo "password is $password"\necho "$password" >&2\n'
        'ctx logger info "logged $password"\necho "failing with $password" >&2\nexit 1'
    )
    connector.submit(
        support.dispatch(
            "e:10:1", blueprint, source=source, inputs={"password": "s3cr3t!"}, secrets=["s3cr3t!"]
        )
    )
    outcome, logs = support.wait_for(connector, "e:10:1")
    assert outcome.error is not None and "******" in outcome.error
    assert "s3cr3t" not in outcome.error
    assert sorted(support.messages(logs)) == sorted(
        ["logged ******", "password is ******", "******", "failing with ******"]
    )
    entry = data_dir / "journal" / "e:10:1"
    assert "s3cr3t" not in (entry / "outcome.json").read_text()
    # the files that held the secret go once the outcome is journaled (on the clean-up thread)
    connector.settle()
    assert not (entry / "ctx.json").exists()
    assert not (entry / "stdout").exists()
    assert not (entry / "attempt.json").exists()


def test_logs_stream_while_the_script_runs(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    gate = tmp_path / "gate"
    connector = make_connector()
    connector.submit(
        support.dispatch(
            "e:11:1",
            blueprint,
            source=f'echo first\nwhile [ ! -f "{gate}" ]; do sleep 0.05; done\necho second',
        )
    )
    seen: list[str] = []
    deadline = time.monotonic() + 10
    while "first" not in seen and time.monotonic() < deadline:
        for report in connector.poll(timeout=0.5):
            assert report.outcome is None
            seen.extend(support.messages(report.logs))
    assert seen == ["first"]
    gate.touch()
    outcome, logs = support.wait_for(connector, "e:11:1")
    assert outcome.kind is Kind.SUCCEEDED
    assert support.messages(logs) == ["second"]


def test_capacity_queues_attempts(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    record = tmp_path / "record"
    source = f'echo "start $n" >> "{record}"\nsleep 0.3\necho "end $n" >> "{record}"'
    connector = make_connector(capacity=interface.Capacity(max_running=1))
    for n in range(3):
        connector.submit(support.dispatch(f"e:12:{n}", blueprint, source=source, inputs={"n": n}))
    for n in range(3):
        outcome, _ = support.wait_for(connector, f"e:12:{n}")
        assert outcome.kind is Kind.SUCCEEDED
    lines = record.read_text().splitlines()
    assert lines == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]


def test_in_process_operations_report_without_a_journal(
    make_connector: Make, blueprint: pathlib.Path, data_dir: pathlib.Path
) -> None:
    connector = make_connector()
    connector.submit(support.dispatch("b:1:1", blueprint, plugin="cairn", operation="cairn.noop"))
    connector.submit(
        support.dispatch(
            "b:2:1",
            blueprint,
            plugin="agent",
            operation="cloudify_agent.installer.operations.create",
        )
    )
    connector.submit(support.dispatch("b:3:1", blueprint, plugin="aws", operation="aws.ec2.create"))
    reports = {r.key: r for r in connector.poll()}
    assert reports["b:1:1"].outcome == executions.Outcome(kind=Kind.SUCCEEDED)
    assert reports["b:2:1"].outcome is not None
    assert reports["b:2:1"].outcome.kind is Kind.SUCCEEDED
    assert "Cairn runs its own agents" in reports["b:2:1"].logs[0].message
    assert reports["b:3:1"].outcome is not None
    assert reports["b:3:1"].outcome.kind is Kind.NON_RECOVERABLE
    assert "plugin 'aws' is not available in Cairn" in (reports["b:3:1"].outcome.error or "")
    # in-process operations are idempotent and end inside the engine's step: no journal entry,
    # and after a crash their key is unknown, so the engine simply runs them again
    assert not (data_dir / "journal" / "b:1:1").exists()
    assert make_connector().recover("b:1:1").state is interface.Recovery.UNKNOWN


def test_missing_scripts_fail_without_a_process(
    make_connector: Make, blueprint: pathlib.Path, data_dir: pathlib.Path
) -> None:
    connector = make_connector()
    connector.submit(support.dispatch("e:13:1", blueprint, script_path="scripts/none.sh"))
    [report] = connector.poll(timeout=5.0)  # attempts start on the connector's starter thread
    assert report.outcome is not None
    assert report.outcome.kind is Kind.NON_RECOVERABLE
    assert "scripts/none.sh not found" in (report.outcome.error or "")
    assert not (data_dir / "journal" / "e:13:1" / "pid.json").exists()


def test_poll_waits_for_the_first_report(make_connector: Make, blueprint: pathlib.Path) -> None:
    connector = make_connector()
    started = time.monotonic()
    assert connector.poll(timeout=0.2) == []
    assert time.monotonic() - started >= 0.19
    # a timeout of 0 means no limit, as in Cloudify
    connector.submit(support.dispatch("e:14:1", blueprint, source="sleep 0.2", timeout=0))
    outcome, _ = support.wait_for(connector, "e:14:1")
    assert outcome.kind is Kind.SUCCEEDED
