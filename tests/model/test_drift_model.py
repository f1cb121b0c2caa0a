"""Drift records, summaries and policies: pure functions."""

from __future__ import annotations

import datetime

import pytest

from cairn.model import drift

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("result", "drifted", "differences"),
    [
        (
            {"drifted": True, "differences": {"a": {"expected": 1, "actual": 2}}},
            True,
            {"a": {"expected": 1, "actual": 2}},
        ),
        ({"drifted": False, "differences": {}}, False, {}),
        ({"size": {"actual": 1, "requested": 2}}, True, {"size": {"actual": 1, "requested": 2}}),
        ({}, False, {}),
        (None, False, {}),
        ("", False, {}),
        ("changed", True, {}),
        (True, True, {}),
    ],
)
def test_a_result_is_read_as_cairn_or_cloudify_says(
    result: drift.JSON, drifted: bool, differences: dict[str, object]
) -> None:
    found = drift.check(ok=True, result=result, error=None)
    assert (found["drifted"], found["differences"]) == (drifted, differences)


def test_records_merge_within_an_execution_and_restart_with_a_new_one() -> None:
    drifted = drift.check(ok=True, result={"x": 1}, error=None)
    clean = drift.check(ok=True, result={}, error=None)
    end = {"side": "target", "source": "a_1", "target": "b_1"}
    first = drift.merged(None, execution_id="e1", checked_at=T0, entry=clean)
    first = drift.merged(first, execution_id="e1", checked_at=T0, entry=drifted, relationship=end)
    assert first["drifted"] is True and len(first["relationships"]) == 1
    # a resumed run checks the same end again: replaced, not added
    again = drift.merged(first, execution_id="e1", checked_at=T0, entry=clean, relationship=end)
    assert again["drifted"] is False and len(again["relationships"]) == 1
    fresh = drift.merged(again, execution_id="e2", checked_at=T0, entry=clean)
    assert fresh["relationships"] == [] and fresh["execution"] == "e2"
    failed = drift.merged(
        None,
        execution_id="e3",
        checked_at=T0,
        entry=drift.check(ok=False, result=None, error="boom"),
    )
    assert failed["drifted"] is False and failed["instance"]["error"] == "boom"  # type: ignore[index]


def test_summary_of_a_deployment() -> None:
    record = drift.merged(
        None, execution_id="e1", checked_at=T0, entry=drift.check(ok=True, result=True, error=None)
    )
    found = drift.summarize(
        "dep",
        [("a", {"drift": record}), ("b", {"status": {"ok": False}}), ("c", {})],
    )
    assert found.drifted and found.drifted_instances == ("a",)
    assert found.status_failed == ("b",) and found.checked_at == T0
    assert drift.summarize("dep", [("c", {})]).checked_at is None


def test_intervals_and_modes() -> None:
    assert drift.parse_interval("90") == 90 and drift.parse_interval("5m") == 300
    assert drift.parse_interval("1d") == 86400 and drift.parse_interval(3600) == 3600
    for bad in ("soon", "5", "-1m", "1w", "400d", True):
        assert isinstance(drift.parse_interval(bad), str)
    assert drift.parse_mode("Detect") is drift.Mode.DETECT
    assert not isinstance(drift.parse_mode("sometimes"), drift.Mode)
    assert drift.policy_of({"mode": "bogus"}) == drift.Policy()
    assert drift.next_check(drift.Policy(), T0) is None


def test_next_slot_keeps_to_fixed_slots_and_skips_missed_ones() -> None:
    policy = drift.Policy(mode=drift.Mode.DETECT, interval=60)
    due = T0
    late = T0 + datetime.timedelta(seconds=7)
    assert drift.next_slot(policy, due, late) == T0 + datetime.timedelta(seconds=60)
    very_late = T0 + datetime.timedelta(seconds=150)
    assert drift.next_slot(policy, due, very_late) == T0 + datetime.timedelta(seconds=180)
    exactly = T0 + datetime.timedelta(seconds=60)
    assert drift.next_slot(policy, due, exactly) == T0 + datetime.timedelta(seconds=120)
    assert drift.next_slot(drift.Policy(), due, late) is None
