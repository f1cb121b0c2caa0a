"""How a script attempt's ending becomes an Outcome (Cloudify's script plugin rules)."""

from __future__ import annotations

from typing import Any

import pytest

from cairn.model import executions
from cairn.plugins.script import outcome

Kind = executions.OutcomeKind


def ending(exit_code: int | None = 0, **changes: Any) -> outcome.Ending:
    document = {
        "context": {"instance": {"id": "i", "runtime_properties": {"a": 1}}},
        "side": None,
        "result": None,
        "retry": None,
        "error": None,
    }
    document.update(changes.pop("document", {}))
    return outcome.Ending(
        script="scripts/x.sh",
        exit_code=exit_code,
        document=document,
        original={"instance": {"a": 1}},
        **changes,
    )


def test_exit_zero_succeeds_with_the_returned_value() -> None:
    done = outcome.decide(ending(document={"result": {"kind": "returns", "value": [1]}}))
    assert done == executions.Outcome(kind=Kind.SUCCEEDED, result=[1])


def test_non_zero_exit_is_recoverable_with_stderr_in_the_error() -> None:
    failed = outcome.decide(ending(3, stderr_tail="boom"))
    assert failed.kind is Kind.RECOVERABLE
    assert failed.error == "scripts/x.sh failed with exit code 3: boom"


@pytest.mark.parametrize("exit_code", [0, 1])
def test_abort_wins_over_the_exit_code(exit_code: int) -> None:
    aborted = outcome.decide(
        ending(exit_code, document={"result": {"kind": "abort", "message": "no"}})
    )
    assert (aborted.kind, aborted.error) == (Kind.NON_RECOVERABLE, "no")


def test_retry_requests_carry_retry_after() -> None:
    by_operation = outcome.decide(
        ending(document={"retry": {"message": "wait", "retry_after": "7"}})
    )
    assert (by_operation.kind, by_operation.error, by_operation.retry_after) == (
        Kind.RECOVERABLE,
        "wait",
        7.0,
    )
    slot = {"kind": "retry", "message": "again", "retry_after": None}
    by_script = outcome.decide(ending(1, document={"result": slot, "retry": slot}))
    assert (by_script.kind, by_script.retry_after) == (Kind.RECOVERABLE, None)


def test_second_return_is_illegal() -> None:
    spoiled = outcome.decide(
        ending(
            document={"result": {"kind": "illegal", "message": "ctx may only abort or return once"}}
        )
    )
    assert spoiled.kind is Kind.NON_RECOVERABLE
    assert "only abort or return once" in (spoiled.error or "")


def test_python_exceptions_are_told_apart() -> None:
    raised = {"kind": "non_recoverable", "type": "NonRecoverableError", "message": "bad"}
    assert outcome.decide(ending(1, document={"error": raised})).kind is Kind.NON_RECOVERABLE
    raised = {"kind": "recoverable", "type": "RecoverableError", "message": "x", "retry_after": 3}
    retried = outcome.decide(ending(1, document={"error": raised}))
    assert (retried.kind, retried.retry_after) == (Kind.RECOVERABLE, 3.0)


def test_stops_and_lost_wrappers() -> None:
    assert outcome.decide(ending(None, stopped=outcome.KILLED)).kind is Kind.NON_RECOVERABLE
    timed_out = outcome.decide(ending(None, stopped=outcome.TIMEOUT, timeout=2.5))
    assert (timed_out.kind, timed_out.error) == (
        Kind.RECOVERABLE,
        "scripts/x.sh: timed out after 2.5 seconds",
    )
    strict = outcome.decide(
        ending(None, stopped=outcome.TIMEOUT, timeout=1, timeout_recoverable=False)
    )
    assert strict.kind is Kind.NON_RECOVERABLE
    assert outcome.decide(ending(None)).kind is Kind.RECOVERABLE


def test_runtime_properties_only_when_changed_even_on_failure() -> None:
    unchanged = outcome.decide(ending())
    assert unchanged.runtime_properties is None
    changed_doc = {"context": {"instance": {"id": "i", "runtime_properties": {"a": 2}}}}
    failed = outcome.decide(ending(1, document=changed_doc))
    assert failed.kind is Kind.RECOVERABLE
    assert failed.runtime_properties == {"a": 2}


def test_relationship_changes_map_to_source_and_target() -> None:
    document = {
        "side": "target",
        "context": {
            "source": {"instance": {"id": "s", "runtime_properties": {"x": 1}}},
            "target": {"instance": {"id": "t", "runtime_properties": {"y": 2}}},
        },
    }
    done = outcome.decide(
        outcome.Ending(
            script="s.sh",
            exit_code=0,
            document=document,
            original={"source": {"x": 1}, "target": {}},
        )
    )
    assert done.runtime_properties is None
    assert done.target_runtime_properties == {"y": 2}
